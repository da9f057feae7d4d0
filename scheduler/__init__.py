"""The shift optimizer (engine layer): a three-stage OR-Tools CP-SAT decomposition that plans
a week of shifts, lunches, breaks and projects for named multi-skilled agents
(``scheduler.model``), and the independent validator that checks any schedule
(``scheduler.validator``, which shares no code with the model).

Imports only the leaf layer, numpy, pandas and OR-Tools; never ``wfm.sim``, the simulator
that checks it.
"""

from scheduler._types import GapSplit, Penalty, ScheduleSolution, SolveParams, StageReport, Weights
from scheduler.model import solve_week
from scheduler.validator import RULES, ValidationReport, Violation, validate_schedule

__all__ = [
    "RULES",
    "GapSplit",
    "Penalty",
    "ScheduleSolution",
    "SolveParams",
    "StageReport",
    "ValidationReport",
    "Violation",
    "Weights",
    "solve_week",
    "validate_schedule",
]
