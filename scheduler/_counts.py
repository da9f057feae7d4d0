"""Stage 1 — the week's shape per group of agents with the same skills, and a true lower bound
on under-coverage: a linear programme (OR-Tools GLOP).

Per group ``g`` (agents with the same skills), project ``p`` and 15-min slot ``t``: ``w[g, p,
t]`` agents of the group at work on the project. It may not exceed the agents of the group
available at ``t`` (some shift they may work covers ``t``: days off, windows, opening hours);
per local day, work is at most what one shift per agent allows in a day (``max(max_shift,
day − min_rest)`` each); per week, at most the most work each agent can do (a small
knapsack per agent over the days: at most one shift a day among the lengths its availability
allows that day, at most ``max_days`` shifts within the maximum paid hours, less their
breaks), and at least the minimum paid hours less the most breaks. Coverage
against the requirements gives under- and over-coverage.

Every schedule of the optimizer's shift types (each slot, and each chunk of a multi-skill
shift, has an open project of the agent) that keeps the hard rules gives a feasible point of
this LP, so "minimise under-coverage" is a true lower bound on the under-coverage of any such
schedule. It ignores that a shift is one contiguous block, but that costs little: the same LP
over contiguous shift types per group (flow formulation, HiGHS) gave the same optimum on the
150-agent benchmark week (219.51 h, measured once, 87 s). What it relaxes is per agent: rest,
and the exact placement of lunch and breaks. The result reports the gap; it does not hide it.
A second solve minimises weighted under/over-coverage; its work per group and slot is the
target of stage 2.

A linear programme rather than CP-SAT, deliberately: an earlier exact shift-type model was
an integer programme where CP-SAT's 2-worker portfolio found no first solution in minutes,
and its LP relaxation took minutes in GLOP at 150 agents (measured); this one solves in
seconds. The integer decisions are made by CP-SAT (stages 2 and 3) and by exact per-shift
dynamic programming (stage 4).
"""

from __future__ import annotations

import math
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
    under_prices: FloatArray  # (P, T) duals of the coverage rows of the bound's solve


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


def max_work_slots(inst: Instance, a: int) -> int:
    """The most work (paid time less breaks) agent ``a`` can do in the week: at most one shift
    a day among the lengths its availability allows that day, at most ``max_days`` shifts,
    paid time within the contract (a knapsack over the days; rest is ignored, so this is an
    upper bound)."""
    lay = inst.layout
    g = int(inst.agent_group[a])
    agent = inst.agents[a]
    min_paid = math.ceil(agent.min_hours_week * 4 - 1e-6)
    max_paid = math.floor(agent.max_hours_week * 4 + 1e-6)
    max_days = min(agent.max_days_week, inst.max_days_week)
    ok = inst.agent_type_ok[a] & inst.type_chunk_ok[g]
    per_day = tuple(
        tuple(sorted(set(inst.type_len[ok & (inst.type_day == d)].tolist()))) for d in range(7)
    )
    key = (id(lay), per_day, min_paid, max_paid, max_days)
    if key in _WORK_CACHE:
        return _WORK_CACHE[key]
    none = -(10**9)
    best = np.full((max_days + 1, max_paid + 1), none, dtype=np.int64)  # [shifts, paid]
    best[0, 0] = 0
    for lengths in per_day:
        nxt = best.copy()
        for length in lengths:
            paid, work = lay.paid(length), lay.work(length)
            if paid > max_paid:
                continue
            moved = np.full_like(best, none)
            moved[1:, paid:] = best[:-1, : max_paid + 1 - paid] + work
            np.maximum(nxt, moved, out=nxt)
        best = nxt
    value = int(best[:, min(min_paid, max_paid) :].max())
    _WORK_CACHE[key] = max(0, value)
    return _WORK_CACHE[key]


_WORK_CACHE: dict[tuple[object, ...], int] = {}


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
        max_work = sum(max_work_slots(inst, a) for a in members)
        lp.Add(sum(everything) <= max_work + _EPS)
        lp.Add(sum(everything) >= min_paid * (1 - most) - _EPS)

    cover: dict[tuple[int, int], list[Var]] = defaultdict(list)
    for (_, p, t), var in work.items():
        cover[p, t].append(var)
    under: dict[tuple[int, int], Var] = {}
    rows: dict[tuple[int, int], Any] = {}
    over: dict[tuple[int, int], Var] = {}
    for p in range(n_p):
        for t in range(n_t):
            r = float(req[p, t])
            parts = cover.get((p, t), [])
            if r > 0:
                u = lp.NumVar(0.0, r, f"u[{p},{t}]")
                rows[p, t] = lp.Add(u >= r - sum(parts))
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
    prices = np.zeros((n_p, n_t))
    if optimal:
        for (p, t), row in rows.items():
            prices[p, t] = float(row.dual_value())
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
        under_prices=prices,
    )
