"""Set up each local Dask worker process (private; loaded by ``batch_client`` as a preload)."""

from __future__ import annotations

import sys
from typing import Any

SWITCH_INTERVAL_S = 0.05


def dask_setup(worker: Any) -> None:
    """A longer GIL switch interval: the worker's event loop thread then interrupts the task
    thread less often (the tasks are single-threaded compute)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
