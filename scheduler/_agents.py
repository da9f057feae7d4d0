"""Per-agent hard rules of a week (shared by stage 2, the feasibility checks and the
infeasibility explanation): one shift per day, contract hours and days, rest (also after last
week's shift), consecutive days across the week boundary, pinned shifts.

Each rule can be guarded by an assumption literal so that CP-SAT can name the rules that
cannot hold together (``sufficient_assumptions_for_infeasibility``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from ortools.sat.python import cp_model

from scheduler._instance import Instance


@dataclass(frozen=True, slots=True)
class Candidate:
    """A shift an agent may work: day, start slot, length, paid slots, minute of day."""

    day: int
    start: int
    length: int
    paid: int
    start_min: int

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(frozen=True, slots=True)
class History:
    """What the previous schedule says about an agent before this week."""

    last_end: int | None = None  # slot (relative to this week's slot 0) of the last shift end
    worked_days: frozenset[int] = field(default_factory=frozenset)  # day indices < 0


# a CP-SAT linear expression or a plain int (``sum`` of no variables is 0)
Expr: TypeAlias = cp_model.LinearExpr | int


@dataclass(eq=False)
class AgentVars:
    y: dict[Candidate, cp_model.IntVar]
    works: list[Expr]
    paid: Expr


def limits_of(inst: Instance, a: int) -> tuple[int, int, int]:
    """(min paid slots, max paid slots, max days) of agent ``a``."""
    agent = inst.agents[a]
    return (
        math.ceil(agent.min_hours_week * 4 - 1e-6),
        math.floor(agent.max_hours_week * 4 + 1e-6),
        min(agent.max_days_week, inst.max_days_week),
    )


def add_agent(
    model: cp_model.CpModel,
    inst: Instance,
    a: int,
    cands: Sequence[Candidate],
    history: History,
    pinned: Sequence[Candidate],
    *,
    guard: Mapping[str, cp_model.IntVar] | None = None,
    name: str = "",
) -> AgentVars:
    """Variables and hard rules of agent ``a`` choosing among ``cands``; with ``guard``,
    rule ``r`` holds only when ``guard[r]`` is true (for explanations)."""

    def enforce(ct: cp_model.Constraint, rule: str) -> None:
        if guard is not None and rule in guard:
            ct.only_enforce_if(guard[rule])

    lay = inst.layout
    min_paid, max_paid, max_days = limits_of(inst, a)
    y: dict[Candidate, cp_model.IntVar] = {}
    for c in cands:
        y[c] = model.new_bool_var(f"y{name}[{a},{c.day},{c.start},{c.length}]")
    by_day: list[list[Candidate]] = [[] for _ in range(7)]
    for c in cands:
        by_day[c.day].append(c)
    works: list[Expr] = []
    for d in range(7):
        day_vars = [y[c] for c in by_day[d]]
        if day_vars:
            model.add_at_most_one(day_vars)
        works.append(sum(day_vars))
    paid = sum(c.paid * y[c] for c in cands)
    enforce(model.add(paid >= min_paid), "min_hours_week")
    enforce(model.add(paid <= max_paid), "max_hours_week")
    enforce(model.add(sum(works) <= max_days), "max_days_week")
    # rest between this week's shifts (days d and d + gap)
    rest = lay.rest
    big = inst.n_slots + rest + 1  # covers end_d when day e is not worked
    for d in range(7):
        for gap in (1, 2):
            e = d + gap
            if e > 6 or not by_day[d] or not by_day[e]:
                continue
            if gap == 2 and lay.max_len + rest <= 96:
                continue
            end_d = sum(c.end * y[c] for c in by_day[d])
            start_e = sum(c.start * y[c] for c in by_day[e])
            ct = model.add(start_e - end_d >= rest - big * (2 - works[d] - works[e]))
            enforce(ct, "min_rest")
    # rest after last week's last shift
    if history.last_end is not None:
        for c in cands:
            if c.start < history.last_end + rest:
                enforce(model.add(y[c] == 0), "min_rest")
    # consecutive days across the week boundary
    limit = inst.max_consecutive_days
    if limit < 7 or history.worked_days:
        for first in range(-limit, 7 - limit):
            window = range(first, first + limit + 1)
            before = sum(1 for d in window if d < 0 and d in history.worked_days)
            now = [works[d] for d in window if d >= 0]
            if before + len(now) > limit:
                enforce(model.add(sum(now) <= limit - before), "max_consecutive_days")
    for c in pinned:
        enforce(model.add(y[c] == 1), "pinned")
    return AgentVars(y=y, works=works, paid=paid)


def feasible(
    inst: Instance,
    a: int,
    cands: Sequence[Candidate],
    history: History,
    pinned: Sequence[Candidate],
) -> bool:
    """Whether agent ``a`` can keep every hard rule with these candidates."""
    min_paid, _max_paid, max_days = limits_of(inst, a)
    best = sorted(
        (max((c.paid for c in cands if c.day == d), default=0) for d in range(7)), reverse=True
    )
    if not pinned and sum(best[:max_days]) < min_paid:
        return False
    model = cp_model.CpModel()
    add_agent(model, inst, a, cands, history, pinned)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 5.0
    status = solver.solve(model)
    return status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
