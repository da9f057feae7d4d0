"""Erlang staffing engine: Erlang B, C and A, required agents, FTE and outbound workload.

Pure functions over numpy arrays (scalars broadcast); compiled kernels do the per-interval
work. See ``wfm.staffing._erlang`` for the definitions of every metric.
"""

import contextlib

from wfm.staffing._erlang import (
    Model,
    StaffingResult,
    erlang_b,
    erlang_c,
    fte,
    required_agents,
    service_level,
)
from wfm.staffing._outbound import OutboundWorkload, outbound_agents, outbound_workload

__all__ = [
    "Model",
    "OutboundWorkload",
    "StaffingResult",
    "erlang_b",
    "erlang_c",
    "fte",
    "outbound_agents",
    "outbound_workload",
    "required_agents",
    "service_level",
]

for _name in __all__:
    _obj = globals()[_name]
    with contextlib.suppress(AttributeError, TypeError):
        _obj.__module__ = __name__
del _name, _obj
