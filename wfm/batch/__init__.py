"""Batches of independent tasks — multi-site replans and what-if sweeps — run serially or on
Dask (services layer, beside ``wfm.services``).

``run_graph`` runs a list of ``Task`` s in this process or on a ``distributed.Client`` (one
code path: the same tasks, the same seeds, the same results); ``batch_client`` gives that
client: an existing scheduler (``--scheduler`` / ``$WFM_DASK_SCHEDULER``), an in-process
``LocalCluster`` (``--workers N``) or none (serial).
"""

from wfm.batch._client import SCHEDULER_ENV, batch_client
from wfm.batch._graph import (
    BatchProgress,
    BatchResult,
    Ref,
    Shared,
    Task,
    TaskFailure,
    run_graph,
    seed_for,
)

__all__ = [
    "SCHEDULER_ENV",
    "BatchProgress",
    "BatchResult",
    "Ref",
    "Shared",
    "Task",
    "TaskFailure",
    "batch_client",
    "run_graph",
    "seed_for",
]
