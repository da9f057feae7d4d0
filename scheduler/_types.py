"""Public value types of the shift optimizer: weights, solver limits and the typed result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from wfm.errors import InputError

__all__ = ["Penalty", "ScheduleSolution", "SolveParams", "StageReport", "Weights"]


@dataclass(frozen=True, slots=True)
class Weights:
    """Weights of the soft rules (cost units per unit of the penalty named in the field).

    ``under_by_project`` overrides ``under_per_agent_h`` per project (the service derives it
    from each contract's penalty per SL point); ``over_by_project`` likewise."""

    under_per_agent_h: float = 10.0
    over_per_agent_h: float = 1.0
    under_by_project: Mapping[str, float] = field(default_factory=dict)
    over_by_project: Mapping[str, float] = field(default_factory=dict)
    switch_per_switch: float = 0.5
    preferred_start_per_h: float = 0.25
    weekend_spread_per_shift: float = 1.0
    late_spread_per_shift: float = 1.0
    hours_spread_per_h: float = 0.1
    start_instability_per_h: float = 0.1
    change_per_shift: float = 20.0

    def __post_init__(self) -> None:
        for name in (
            "under_per_agent_h",
            "over_per_agent_h",
            "switch_per_switch",
            "preferred_start_per_h",
            "weekend_spread_per_shift",
            "late_spread_per_shift",
            "hours_spread_per_h",
            "start_instability_per_h",
            "change_per_shift",
        ):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise InputError(
                    f"weights.{name}: {value!r} is not a number >= 0",
                    field=name,
                    expected="a number >= 0",
                )
        for name in ("under_by_project", "over_by_project"):
            for project, value in getattr(self, name).items():
                if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                    raise InputError(
                        f"weights.{name}[{project}]: {value!r} is not a number >= 0",
                        field=name,
                        row=project,
                        expected="a number >= 0",
                    )

    def under(self, project: str) -> float:
        """Cost of one agent-hour of under-coverage on ``project``."""
        return float(self.under_by_project.get(project, self.under_per_agent_h))

    def over(self, project: str) -> float:
        """Cost of one agent-hour of over-coverage on ``project``."""
        return float(self.over_by_project.get(project, self.over_per_agent_h))


@dataclass(frozen=True, slots=True)
class SolveParams:
    """Solver limits, passed to every CP-SAT stage through ``solver.parameters``.

    ``time_limit_s`` is the budget of the whole solve, shared between the stages;
    with ``workers=1`` and a fixed ``seed`` the result is deterministic."""

    time_limit_s: float = 120.0
    workers: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.time_limit_s, int | float) or self.time_limit_s <= 0:
            raise InputError(
                f"time_limit_s: {self.time_limit_s!r} is not positive",
                field="time_limit_s",
                expected="seconds > 0",
            )
        if not isinstance(self.workers, int) or self.workers < 1:
            raise InputError(
                f"workers: {self.workers!r} is not a positive integer",
                field="workers",
                expected="an integer >= 1",
            )
        if not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(
                f"seed: {self.seed!r} is not an integer >= 0",
                field="seed",
                expected="an integer >= 0",
            )


@dataclass(frozen=True, slots=True)
class Penalty:
    """One soft rule's part of the objective: its measured ``value`` in ``unit``, the
    ``weight`` per unit and the resulting ``cost`` (= value × weight, summed per project
    where weights differ)."""

    name: str
    value: float
    unit: str
    weight: float
    cost: float


@dataclass(frozen=True, slots=True)
class StageReport:
    """One CP-SAT solve of the decomposition: its status, objective, best bound (in the
    stage's own integer units) and wall time."""

    name: str
    status: str
    objective: float
    bound: float
    wall_s: float


@dataclass(frozen=True, slots=True)
class GapSplit:
    """Where the under-coverage above the per-agent bound comes from, exactly:
    ``under_h = bound_h + agents_h + slots_h`` (agent-hours), at the bound's prices ``pi``
    (stage 1's duals, in [0, 1] per project and slot).

    - ``bound_h``: the per-agent Lagrangian bound;
    - ``agents_h``: per agent, what its best relaxed week collects at ``pi`` less what its
      own week collects (``pi`` of the project worked, per work slot), summed. It is the
      agents' part: weeks that work fewer priced slots than their contract, availability
      and rest allow — more breaks than the most break-efficient week, fewer hours than
      reachable, work where little or nothing is required;
    - ``slots_h``: per project and slot, the coverage's cost beyond the bound's term
      (``max(0, r - y) + pi·y - min over whole y' of the same``), summed. It is the
      coverage's part: over-coverage, and agents missing where the price is below 1;
    - ``agents``: each agent's share (agent-hours) where above 0, largest first.

    Both parts are at least 0 for any schedule of the optimizer's shift types that keeps
    the hard rules."""

    bound_h: float
    agents_h: float
    slots_h: float
    agents: tuple[tuple[str, float], ...]


@dataclass(frozen=True, eq=False)
class ScheduleSolution:
    """The optimizer's answer for one week.

    - ``schedule``: the schedule frame (``agent, start, end, activity, project``; tz-aware
      in the site's zone; activities ``work``, ``lunch``, ``break``).
    - ``status``: ``OPTIMAL`` when every stage proved optimality, else ``FEASIBLE``.
    - ``objective``: the sum of the penalties' costs; ``bound``: a true lower bound on it
      (the bound on under-coverage times the smallest under weight); ``gap`` =
      ``(objective - bound) / objective`` (0 when the objective is 0).
    - ``under_h``/``over_h``: under/over-coverage in agent-hours; ``under_lower_bound_h``:
      a true lower bound on under-coverage for *any* schedule keeping the hard rules
      (from the relaxed counts model); ``under_gap`` = ``(under_h - bound) / under_h``.
    - ``changed_shifts``: agent-shifts that differ from ``previous`` (``None`` without one).
    - ``gap_split``: the under-coverage above the per-agent bound split into the agents'
      part and the coverage's part (``GapSplit``); ``None`` when that bound was not computed
      (pinned shifts, or stage 1 proves no under-coverage) or is 0.
    """

    schedule: pd.DataFrame
    status: str
    objective: float
    bound: float
    gap: float
    under_h: float
    over_h: float
    under_lower_bound_h: float
    under_gap: float
    penalties: tuple[Penalty, ...]
    stages: tuple[StageReport, ...]
    wall_s: float
    changed_shifts: int | None = None
    notes: tuple[str, ...] = ()
    gap_split: GapSplit | None = None

    def penalty(self, name: str) -> Penalty:
        """The penalty called ``name`` (KeyError when there is none)."""
        for p in self.penalties:
            if p.name == name:
                return p
        raise KeyError(name)
