"""Stage 1 — the week's shape per group of agents with the same skills, and a true lower bound
on under-coverage: a linear programme (OR-Tools GLOP).

Per group ``g`` (agents with the same skills), project ``p`` and 15-min slot ``t``: ``w[g, p,
t]`` agents of the group at work on the project. It may not exceed the agents of the group
available at ``t`` (some shift they may work covers ``t``: days off, windows, opening hours);
per local day, work is at most what one shift per agent allows in a day (``max(max_shift,
day − min_rest)`` each); per week, at most the most work its contracts allow (a small
knapsack per contract: at most ``max_days`` shifts of allowed lengths within the maximum paid
hours, less their breaks), and at least its minimum paid hours less the most breaks. Coverage
against the requirements gives under- and over-coverage.

Every real schedule gives a feasible point of this LP, so "minimise under-coverage" is a true
lower bound on the under-coverage of any schedule that keeps the hard rules. It ignores that a
shift is one contiguous block of 4–10 h, so on instances where that shape matters the bound is
loose — the result reports the gap, it does not hide it. A second solve minimises weighted
under/over-coverage; its work per group and slot is the target of stage 2.

A linear programme rather than CP-SAT, deliberately: an earlier exact shift-type model was
an integer programme where CP-SAT's 2-worker portfolio found no first solution in minutes,
and its LP relaxation took minutes in GLOP at 150 agents (measured); this one solves in
seconds. All integer decisions are CP-SAT's, in stages 2 and 3.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.linear_solver import pywraplp  # type: ignore[import-untyped]

from scheduler._instance import FloatArray, Instance, IntArray

REQ_SCALE = 100  # requirements in centi-agents (integer CP-SAT coefficients downstream)
_EPS = 1e-6

Var = Any  # pywraplp.Variable (the module has no type information)


@dataclass(frozen=True, eq=False)
class Counts:
    """Stage 1's answer: per group and slot the agents to have on duty (target of stage 2),
    the agents available, and the lower bound on under-coverage (agent-slots)."""

    on_duty: FloatArray  # (G, T) agents at work (target of stage 2)
    available: FloatArray  # (G, T)
    under_lb_slots: float
    reports: tuple[tuple[str, str, float, float, float], ...]


def scaled_requirements(inst: Instance) -> IntArray:
    return np.rint(inst.required * REQ_SCALE).astype(np.int64)


class Unsolved(RuntimeError):
    """The LP did not reach optimality (its status is the message)."""


_STATUS = {
    pywraplp.Solver.OPTIMAL: "OPTIMAL",
    pywraplp.Solver.FEASIBLE: "FEASIBLE",
    pywraplp.Solver.INFEASIBLE: "INFEASIBLE",
    pywraplp.Solver.UNBOUNDED: "UNBOUNDED",
    pywraplp.Solver.ABNORMAL: "ABNORMAL",
    pywraplp.Solver.NOT_SOLVED: "NOT_SOLVED",
}


def _solve(
    lp: Any, label: str, deadline: float
) -> tuple[tuple[str, str, float, float, float], bool]:
    """Solve within the deadline: (report, optimal?). Raises ``Unsolved`` when the LP has
    no usable point."""
    start = time.perf_counter()
    lp.SetTimeLimit(int(max(0.5, deadline - start) * 1000))
    status = lp.Solve()
    wall = time.perf_counter() - start
    name = _STATUS.get(status, str(status))
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        raise Unsolved(f"{label}: {name}")
    value = float(lp.Objective().Value())
    optimal = status == pywraplp.Solver.OPTIMAL
    return (label, name, value, value if optimal else 0.0, wall), optimal


def most_breaks_per_paid(inst: Instance) -> float:
    """The largest share of paid time spent on breaks over the allowed shift lengths."""
    lay = inst.layout
    return max(lay.breaks(n) * lay.break_len / max(1, lay.paid(n)) for n in lay.lengths())


def max_work_slots(inst: Instance, max_paid: int, max_days: int) -> int:
    """The most work (paid time less breaks) an agent can do in a week: a knapsack over at
    most ``max_days`` shifts of allowed lengths whose paid time fits ``max_paid`` slots."""
    lay = inst.layout
    key = (id(lay), max_paid, max_days)
    if key in _WORK_CACHE:
        return _WORK_CACHE[key]
    options = [(lay.paid(n), lay.work(n)) for n in lay.lengths()]
    best = [0] * (max_paid + 1)  # best[p]: most work with paid time <= p, so far
    for _ in range(max_days):
        nxt = best[:]
        for p in range(max_paid + 1):
            for paid, work in options:
                if paid <= p and best[p - paid] + work > nxt[p]:
                    nxt[p] = best[p - paid] + work
        best = nxt
    _WORK_CACHE[key] = best[max_paid]
    return best[max_paid]


_WORK_CACHE: dict[tuple[int, int, int], int] = {}


def available_agents(inst: Instance) -> FloatArray:
    """(G, T): agents of each group with some allowed shift covering the slot."""
    n_t = inst.n_slots
    out = np.zeros((len(inst.groups), n_t))
    for a in range(len(inst.agents)):
        g = int(inst.agent_group[a])
        ok = np.flatnonzero(inst.agent_type_ok[a] & inst.type_chunk_ok[g])
        if not ok.size:
            continue
        diff = np.zeros(n_t + 1)
        np.add.at(diff, inst.type_start[ok], 1)
        np.add.at(diff, inst.type_start[ok] + inst.type_len[ok], -1)
        out[g] += np.cumsum(diff)[:n_t] > 0
    return out


def solve_counts(
    inst: Instance,
    *,
    under_cost: FloatArray,  # per project: objective units per centi-agent-slot under
    over_cost: FloatArray,
    time_s: float,
) -> Counts:
    lay = inst.layout
    n_g, n_t, n_p = len(inst.groups), inst.n_slots, len(inst.projects)
    req = inst.required
    lp = pywraplp.Solver.CreateSolver("GLOP")
    deadline = time.perf_counter() + max(1.0, time_s)
    inf = lp.infinity()
    most = most_breaks_per_paid(inst)
    avail = available_agents(inst)
    day_cap = [
        max(lay.max_len, int(inst.day_slot[d + 1] - inst.day_slot[d]) - lay.rest) for d in range(7)
    ]
    work: dict[tuple[int, int, int], Var] = {}
    by_group: list[list[Var]] = []
    for g in range(n_g):
        members = np.flatnonzero(inst.agent_group == g).tolist()
        skills = [inst.pidx(p) for p in inst.groups[g]]
        per_slot: list[list[Var]] = [[] for _ in range(n_t)]
        for t in range(n_t):
            if avail[g, t] <= 0:
                continue
            for p in skills:
                if inst.open_[p, t]:
                    var = lp.NumVar(0.0, float(avail[g, t]), f"w[{g},{p},{t}]")
                    work[g, p, t] = var
                    per_slot[t].append(var)
            if len(per_slot[t]) > 1:
                lp.Add(sum(per_slot[t]) <= float(avail[g, t]))
        # per local day: one shift per agent (and the rest before the next one)
        for d in range(7):
            lo, hi = int(inst.day_slot[d]), int(inst.day_slot[d + 1])
            in_day = [v for t in range(lo, hi) for v in per_slot[t]]
            if in_day:
                able = float(avail[g, lo:hi].max())
                lp.Add(sum(in_day) <= able * day_cap[d])
        everything = [v for row in per_slot for v in row]
        by_group.append(everything)
        if not everything:
            continue
        min_paid = sum(inst.agents[a].min_hours_week * 4 for a in members)
        max_work = 0
        for a in members:
            agent = inst.agents[a]
            max_work += max_work_slots(
                inst,
                int(agent.max_hours_week * 4 + 1e-6),
                min(agent.max_days_week, inst.max_days_week),
            )
        lp.Add(sum(everything) <= max_work + _EPS)
        lp.Add(sum(everything) >= min_paid * (1 - most) - _EPS)

    cover: dict[tuple[int, int], list[Var]] = defaultdict(list)
    for (_, p, t), var in work.items():
        cover[p, t].append(var)
    under: dict[tuple[int, int], Var] = {}
    over: dict[tuple[int, int], Var] = {}
    for p in range(n_p):
        for t in range(n_t):
            r = float(req[p, t])
            parts = cover.get((p, t), [])
            if r > 0:
                u = lp.NumVar(0.0, r, f"u[{p},{t}]")
                lp.Add(u >= r - sum(parts))
                under[p, t] = u
            if parts:
                ov = lp.NumVar(0.0, inf, f"o[{p},{t}]")
                lp.Add(ov >= sum(parts) - r)
                over[p, t] = ov
    lp.Minimize(sum(under.values()))
    report, optimal = _solve(lp, "shape LP: under-coverage bound", deadline - 0.4 * time_s)
    reports = [report]
    # only a proven optimum is a bound; a time-limited LP point is not
    under_lb = max(0.0, report[2] * (1 - 1e-9) - 1e-6) if optimal else 0.0
    values = {key: float(v.solution_value()) for key, v in work.items()}
    lp.Minimize(
        sum(float(under_cost[p]) * REQ_SCALE * u for (p, _), u in under.items())
        + sum(float(over_cost[p]) * REQ_SCALE * ov for (p, _), ov in over.items())
    )
    try:
        reports.append(_solve(lp, "shape LP: weighted coverage", deadline)[0])
        values = {key: float(v.solution_value()) for key, v in work.items()}
    except Unsolved as exc:  # keep the first solve's point
        reports.append((str(exc), "NOT_SOLVED", 0.0, 0.0, 0.0))
    on_duty = np.zeros((n_g, n_t))
    for (g, _, t), value in values.items():
        on_duty[g, t] += value
    return Counts(
        on_duty=on_duty,
        available=avail,
        under_lb_slots=under_lb,
        reports=tuple(reports),
    )
