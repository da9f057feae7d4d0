"""Stage 2 — named agents onto the week's shifts.

Each agent chooses at most one shift per day among *candidates*: the shift types stage 1 uses
for the agent's group that day, their neighbours (±1–2 length steps, ±1–2 start-grid steps),
the agent's shift in the previous plan and any pinned shift — a few dozen per day instead of
thousands, which is what makes named assignment fast. Hard rules per agent come from
``_agents.add_agent``. The objective follows stage 1's on-duty profile per group (short
agents cost like under-coverage, extra ones like over-coverage) plus the named soft rules:
preferred start, start-time instability, spread of weekend and late shifts and of hours above
contract minimum across agents, and changes against the previous plan.

Order: a greedy week per agent, the one-agent-at-a-time search of ``_search.improve``, and —
only when that search settles (a pass without a move) with ``MIN_GLOBAL_S`` left — the global
model above, hinted with its result. At a few hundred agents the search alone fills the share.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from scheduler._agents import AgentVars, Candidate, Expr, History, add_agent
from scheduler._counts import Counts
from scheduler._instance import FloatArray, Instance
from scheduler._search import improve
from scheduler._solve import SolverLimits, run

SCALE = 100  # the work target is fractional (an LP's): centi-agents
LATE_END_MIN = 20 * 60  # a shift is "late" when it ends after 20:00 local (or past midnight)


@dataclass(frozen=True, slots=True)
class AssignCosts:
    """Objective units per unit (all integers)."""

    under: Sequence[int]  # per project: one centi-agent-slot under-covered
    over: Sequence[int]  # per project: one centi-agent-slot over-covered
    preferred_per_slot: int  # one slot of deviation from the preferred start
    instability_per_slot: int  # one slot of spread of an agent's start times
    weekend_spread: int
    late_spread: int
    hours_spread_per_slot: int
    change: int


@dataclass(frozen=True, eq=False)
class Assignment:
    shifts: dict[tuple[int, int], Candidate]  # (agent, day) -> shift
    report: tuple[str, str, float, float, float]


def candidate_of(inst: Instance, k: int) -> Candidate:
    length = int(inst.type_len[k])
    return Candidate(
        day=int(inst.type_day[k]),
        start=int(inst.type_start[k]),
        length=length,
        paid=inst.layout.paid(length),
        start_min=int(inst.type_start_min[k]),
    )


def candidates(
    inst: Instance,
    a: int,
    shape: Counts | None,
    prior: Mapping[int, Candidate],
    *,
    wide: bool = False,
) -> list[Candidate]:
    """Agent ``a``'s candidate shifts per day: the ``TOP`` types that best fill stage 1's
    target for the agent's group (value of a slot = target on duty ÷ agents available) and
    every allowed length at the best start; ``wide``: every type the agent may work."""
    g = int(inst.agent_group[a])
    ok = inst.agent_type_ok[a] & inst.type_chunk_ok[g]
    if wide or shape is None:
        chosen = np.flatnonzero(ok).tolist()
    else:
        fill = shape.on_duty[g] / np.maximum(shape.available[g], 1.0)
        gain = np.where(fill > 0.02, np.minimum(fill, 1.0), -0.25)
        prefix = np.concatenate(([0.0], np.cumsum(gain)))
        value = prefix[inst.type_start + inst.type_len] - prefix[inst.type_start]
        chosen = []
        for d in range(7):
            day = np.flatnonzero(ok & (inst.type_day == d))
            if not day.size:
                continue
            order = day[np.argsort(-value[day], kind="stable")]
            chosen += order[:TOP].tolist()
            best_start = inst.type_start[order[0]]
            chosen += day[inst.type_start[day] == best_start].tolist()
    out = {candidate_of(inst, int(k)) for k in chosen}
    allowed = {candidate_of(inst, int(k)) for k in np.flatnonzero(ok)} if prior else set()
    out.update(c for c in prior.values() if c in allowed)
    return sorted(out, key=lambda c: (c.day, c.start, c.length))


TOP = 8
MIN_GLOBAL_S = 2.0  # the global model runs only when the LNS settles with this much time left


def _late(c: Candidate) -> bool:
    end_min = c.start_min + c.length * 15
    return end_min > LATE_END_MIN


def _preferred_dev(inst: Instance, a: int, c: Candidate) -> int:
    pref = inst.agents[a].preferred_start
    if pref is None:
        return 0
    diff = abs(c.start_min - (pref.hour * 60 + pref.minute))
    return min(diff, 1440 - diff) // 15


def greedy(
    inst: Instance,
    cands: Sequence[Sequence[Candidate]],
    on_target: FloatArray,
    *,
    histories: Sequence[History],
    pinned: Sequence[Sequence[Candidate]],
    prior: Sequence[Mapping[int, Candidate]],
) -> dict[tuple[int, int], Candidate]:
    """A complete feasible assignment to start stage 2 from: agents one at a time (fewest
    candidates first), each choosing by a small CP-SAT model the week that covers the most of
    what is left of its group's on-duty target (the previous plan, when given, counts extra)."""
    remaining = on_target.astype(float).copy()
    out: dict[tuple[int, int], Candidate] = {}
    order = sorted(range(len(inst.agents)), key=lambda a: (len(cands[a]), a))
    for a in order:
        g = int(inst.agent_group[a])
        model = cp_model.CpModel()
        av = add_agent(model, inst, a, cands[a], histories[a], pinned[a])
        gain = np.where(remaining[g] > 1e-9, np.minimum(remaining[g], 1.0), -0.3)
        prefix = np.concatenate(([0.0], np.cumsum(gain)))
        terms = []
        for c, v in av.y.items():
            value = prefix[min(c.end, len(prefix) - 1)] - prefix[c.start]
            if prior[a].get(c.day) == c:
                value += 4.0
            terms.append(round(100 * value) * v)
        model.maximize(sum(terms))
        status = cp_model.UNKNOWN
        for limit in (0.2, 5.0):
            solver = cp_model.CpSolver()
            solver.parameters.num_workers = 1
            solver.parameters.max_time_in_seconds = limit
            status = solver.solve(model)
            if status in (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.INFEASIBLE):
                break
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            continue
        for c, v in av.y.items():
            if solver.value(v):
                out[a, c.day] = c
                remaining[g, c.start : c.end] -= 1.0
    return out


def assign(
    inst: Instance,
    cands: Sequence[Sequence[Candidate]],
    on_target: FloatArray,
    *,
    histories: Sequence[History],
    prior: Sequence[Mapping[int, Candidate]],
    pinned: Sequence[Sequence[Candidate]],
    costs: AssignCosts,
    limits: SolverLimits,
    time_s: float,
    wide: Sequence[Sequence[Candidate]],
    has_prior: bool = False,
) -> Assignment:
    n_a, n_t = len(inst.agents), inst.n_slots
    # a complete hint: the greedy week of every agent, improved one agent at a time (LNS),
    # then every helper variable's value
    clock = time.perf_counter()
    start_hint = greedy(inst, cands, on_target, histories=histories, pinned=pinned, prior=prior)
    start_hint, moves, converged = improve(
        inst,
        start_hint,
        wide,
        histories=histories,
        pinned=pinned,
        prior=prior,
        under_w=np.asarray(costs.under, dtype=float) * SCALE,
        over_w=np.asarray(costs.over, dtype=float) * SCALE,
        preferred_w=float(costs.preferred_per_slot),
        change_w=float(costs.change),
        has_prior=has_prior,
        deadline=clock + time_s,
        seed=limits.seed,
    )
    cands = [
        sorted(
            set(cands[a]) | {c for (b, _), c in start_hint.items() if b == a},
            key=lambda c: (c.day, c.start, c.length),
        )
        for a in range(n_a)
    ]
    greedy_s = time.perf_counter() - clock
    if not converged or time_s - greedy_s < MIN_GLOBAL_S:
        # the LNS used the whole share: a global model could not start from a settled hint
        report = (f"assign: named agents (LNS, {moves} moves)", "FEASIBLE", 0.0, 0.0, greedy_s)
        return Assignment(shifts=start_hint, report=report)
    chosen: list[list[Candidate]] = [[] for _ in range(n_a)]
    for (a, _), c in start_hint.items():
        chosen[a].append(c)
    model = cp_model.CpModel()
    vars_: list[AgentVars] = []
    for a in range(n_a):
        vars_.append(add_agent(model, inst, a, cands[a], histories[a], pinned[a]))
        for c, v in vars_[-1].y.items():
            model.add_hint(v, 1 if c in chosen[a] else 0)
    objective: list[cp_model.LinearExprT] = []

    # expected work per group and slot: a shift counts on each of its slots with its share
    # of work (length minus lunch and breaks, in centi-agents), split over open projects
    lay = inst.layout
    group_projects = [[inst.pidx(p) for p in skills] for skills in inst.groups]
    split: dict[tuple[int, int, int], cp_model.IntVar] = {}
    hinted_work: dict[int, npt.NDArray[np.int64]] = {}
    for g in range(len(inst.groups)):
        members = np.flatnonzero(inst.agent_group == g).tolist()
        starts: dict[int, list[Expr]] = defaultdict(list)
        ends: dict[int, list[Expr]] = defaultdict(list)
        delta = np.zeros(n_t + 1, dtype=np.int64)
        for a in members:
            for c, v in vars_[a].y.items():
                share = round(SCALE * lay.work(c.length) / c.length)
                starts[c.start].append(share * v)
                ends[c.end].append(share * v)
            for c in chosen[a]:
                share = round(SCALE * lay.work(c.length) / c.length)
                delta[c.start] += share
                delta[min(c.end, n_t)] -= share
        hinted = np.cumsum(delta)[:n_t]
        hinted_work[g] = hinted
        prev: Expr = 0
        for t in range(n_t):
            on = model.new_int_var(0, SCALE * len(members), f"work2[{g},{t}]")
            model.add(on == prev + sum(starts.get(t, [])) - sum(ends.get(t, [])))
            model.add_hint(on, int(hinted[t]))
            prev = on
            open_here = [p for p in group_projects[g] if inst.open_[p, t]]
            if not open_here:
                model.add(on == 0)
                continue
            parts = []
            for p in open_here:
                x = model.new_int_var(0, SCALE * len(members), f"x[{g},{p},{t}]")
                parts.append(x)
                split[g, p, t] = x
            model.add(sum(parts) == on)

    # coverage per project and slot: the real objective (expected lunch and breaks)
    req = np.rint(inst.required * SCALE).astype(np.int64)
    left = req.copy()
    hint_x: dict[tuple[int, int, int], int] = {}
    for g in sorted(range(len(inst.groups)), key=lambda g: len(group_projects[g])):
        for t in np.flatnonzero(hinted_work[g] > 0).tolist():
            amount = int(hinted_work[g][t])
            keys = [p for p in group_projects[g] if (g, p, t) in split]
            for p in sorted(keys, key=lambda p: -left[p, t]):
                take = min(amount, max(0, int(left[p, t])))
                hint_x[g, p, t] = hint_x.get((g, p, t), 0) + take
                left[p, t] -= take
                amount -= take
            if amount and keys:
                hint_x[g, keys[0], t] = hint_x.get((g, keys[0], t), 0) + amount
                left[keys[0], t] -= amount
    for key, x in split.items():
        model.add_hint(x, hint_x.get(key, 0))
    by_pt: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    for (_, p, t), x in split.items():
        by_pt[p, t].append(x)
    for p in range(len(inst.projects)):
        for t in range(n_t):
            r = int(req[p, t])
            parts = by_pt.get((p, t), [])
            if not parts and r == 0:
                continue
            cov = sum(parts)
            u = model.new_int_var(0, max(r, 0), f"u[{p},{t}]")
            o = model.new_int_var(0, SCALE * n_a, f"o[{p},{t}]")
            model.add(cov - r + u - o == 0)
            hint_cov = r - int(left[p, t])
            model.add_hint(u, max(0, r - hint_cov))
            model.add_hint(o, max(0, hint_cov - r))
            objective.append(int(costs.under[p]) * u + int(costs.over[p]) * o)

    weekend: list[cp_model.LinearExprT] = []
    late: list[cp_model.LinearExprT] = []
    above: list[cp_model.LinearExprT] = []
    big_min = 1440
    hint_values: dict[str, list[int]] = defaultdict(list)
    for a in range(n_a):
        av = vars_[a]
        # preferred start
        pref = sum(_preferred_dev(inst, a, c) * v for c, v in av.y.items())
        objective.append(costs.preferred_per_slot * pref)
        # start-time instability: spread of the start minute over worked days
        days = sorted({c.day for c in av.y})
        if len(days) >= 2 and costs.instability_per_slot:
            hi = model.new_int_var(0, 95, f"hi[{a}]")
            lo = model.new_int_var(0, 95, f"lo[{a}]")
            for d in days:
                sm = sum((c.start_min // 15) * v for c, v in av.y.items() if c.day == d)
                model.add(hi >= sm - big_min * (1 - av.works[d]))
                model.add(lo <= sm + big_min * (1 - av.works[d]))
            spread = model.new_int_var(0, 95, f"spread[{a}]")
            model.add(spread >= hi - lo)
            sms = [c.start_min // 15 for c in chosen[a]]
            model.add_hint(hi, max(sms, default=0))
            model.add_hint(lo, min(sms, default=0))
            model.add_hint(spread, max(sms, default=0) - min(sms, default=0))
            objective.append(costs.instability_per_slot * spread)
        weekend.append(sum(av.works[d] for d in (5, 6)))
        late.append(sum(v for c, v in av.y.items() if _late(c)))
        min_paid = int(np.ceil(inst.agents[a].min_hours_week * 4 - 1e-6))
        above.append(av.paid - min_paid)
        hint_values["weekend_spread"].append(sum(1 for c in chosen[a] if c.day in (5, 6)))
        hint_values["late_spread"].append(sum(1 for c in chosen[a] if _late(c)))
        hint_values["hours_spread"].append(sum(c.paid for c in chosen[a]) - min_paid)
        # changes against the previous plan
        for old in prior[a].values():
            keep = av.y.get(old)
            change = 1 - keep if keep is not None else 1
            objective.append(costs.change * change)
        for d in range(7):
            if has_prior and d not in prior[a]:
                objective.append(costs.change * av.works[d])

    for label, values, cost, ub in (
        ("weekend_spread", weekend, costs.weekend_spread, 2),
        ("late_spread", late, costs.late_spread, 7),
        ("hours_spread", above, costs.hours_spread_per_slot, 4 * 168),
    ):
        if not values or not cost:
            continue
        top = model.new_int_var(-4 * 168, ub, f"{label}_max")
        bottom = model.new_int_var(-4 * 168, ub, f"{label}_min")
        for value in values:
            model.add(top >= value)
            model.add(bottom <= value)
        model.add_hint(top, max(hint_values[label]))
        model.add_hint(bottom, min(hint_values[label]))
        objective.append(cost * (top - bottom))

    model.minimize(sum(objective))
    start = time.perf_counter()
    solver, status = run(model, limits, max(1.0, time_s - greedy_s))
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # the greedy week keeps every hard rule: use it rather than fail
        report = (f"assign: named agents (LNS, {moves} moves)", "FEASIBLE", 0.0, 0.0, greedy_s)
        return Assignment(shifts=start_hint, report=report)
    report = (
        f"assign: named agents (LNS {moves} moves, then CP-SAT)",
        solver.status_name(status),
        solver.objective_value,
        solver.best_objective_bound,
        time.perf_counter() - start + greedy_s,
    )
    shifts = {}
    for a in range(n_a):
        for c, v in vars_[a].y.items():
            if solver.value(v):
                shifts[a, c.day] = c
    return Assignment(shifts=shifts, report=report)
