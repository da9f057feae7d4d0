"""Where a batch runs (private): serially, on a LocalCluster, or on an existing scheduler."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from wfm.errors import InputError

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["SCHEDULER_ENV", "batch_client"]

SCHEDULER_ENV = "WFM_DASK_SCHEDULER"
"""Environment variable with the address of a running Dask scheduler (``tcp://HOST:PORT``)."""

# one thread per worker process, and no nested thread pools inside it: the engines are
# single-threaded numba/numpy/OR-Tools code, and 2 cores are 2 workers
_WORKER_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}

# the workers copy this process's Dask config when they start. Measured with
# bench/bench_sweep.py on 2 cores, a task took 15-20 % longer in a worker than in the serial
# run; these settings brought that to about 10 % (before the malloc change below, which
# took it to about 0): no statistical profiler sampling the tasks,
# the event loop's health tick and system monitor less often, and a longer GIL switch
# interval (wfm.batch._worker) so the worker's event loop thread interrupts the task less.
#
# Dask's nannies also start each worker with MALLOC_TRIM_THRESHOLD_=65536, so that glibc hands
# freed memory back to the system at once. Setting it turns off glibc's adaptive thresholds:
# every numpy array over 128 KiB is then mapped and unmapped anew, and these tasks allocate
# many. Measured on 2 cores with a 50-scenario sweep of the samples, a worker's tasks took
# 7-11 % more CPU than the same tasks in the serial run with it, -1 to +4 % without it; the
# sweep on 2 workers ran 1.92x faster than serially instead of 1.72-1.83x (1.76-1.77x
# instead of 1.61-1.65x with a Dask task per simulation). The tasks' results are small, so
# the memory glibc keeps is not a concern here. None unsets it (Dask's own convention).
_WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.preload": ["wfm.batch._worker"],
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
}


@contextmanager
def batch_client(
    workers: int | None = None, scheduler: str | None = None, *, timeout_s: float = 30.0
) -> Iterator[Client | None]:
    """The Dask client a batch runs on, closed at the end:

    - ``scheduler`` (or ``$WFM_DASK_SCHEDULER``): connect to that running scheduler;
    - else ``workers`` ≥ 1: start an in-process ``LocalCluster`` of that many worker
      processes (one thread each), stopped at the end;
    - else (``workers`` 0 or None): no Dask — ``None``, and ``run_graph`` runs serially.
    """
    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if workers is not None and workers < 0:
        raise InputError(
            f"workers: {workers} is negative", field="workers", expected="0 (serial) or more"
        )
    if address is None and not workers:
        yield None
        return
    try:
        import dask
        from distributed import Client, LocalCluster  # loads distributed's config defaults
    except ImportError as exc:  # pragma: no cover - a dependency of wfm
        raise InputError(
            "workers: Dask is not installed", field="workers", expected="pip install distributed"
        ) from exc
    if address is not None:
        try:
            client = Client(address, timeout=f"{timeout_s}s")
        except (OSError, TimeoutError) as exc:
            raise InputError(
                f"scheduler: cannot reach the Dask scheduler at {address} ({exc})",
                field="scheduler",
                expected="the address of a running scheduler, tcp://HOST:PORT",
            ) from exc
        try:
            yield client
        finally:
            client.close()
        return
    logging.getLogger("distributed").setLevel(logging.WARNING)
    with (
        dask.config.set(_WORKER_CONFIG),
        LocalCluster(
            n_workers=int(workers or 1),
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: several clusters may run at once
            env=_WORKER_ENV,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
