"""One place that runs CP-SAT: limits go through ``solver.parameters`` only.

With one worker the budget is *deterministic* time (``max_deterministic_time``, about one
second of work each), so a fixed seed gives the same schedule on a busy or an idle machine;
a wall-clock limit of four times the budget stays as a safety net. With several workers the
portfolio is not deterministic anyway and the budget is wall-clock time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ortools.sat.python import cp_model


@dataclass(frozen=True, slots=True)
class SolverLimits:
    workers: int
    seed: int

    @property
    def deterministic(self) -> bool:
        return self.workers == 1


def run(
    model: cp_model.CpModel, limits: SolverLimits, time_s: float
) -> tuple[cp_model.CpSolver, Any]:
    """Solve ``model`` within ``time_s`` seconds with the given workers and seed."""
    solver = cp_model.CpSolver()
    budget = max(0.05, float(time_s))
    if limits.deterministic:
        solver.parameters.max_deterministic_time = budget
        solver.parameters.max_time_in_seconds = 4 * budget + 5
    else:
        solver.parameters.max_time_in_seconds = budget
    solver.parameters.num_workers = limits.workers
    solver.parameters.random_seed = limits.seed
    status = solver.solve(model)
    return solver, status
