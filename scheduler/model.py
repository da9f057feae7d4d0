"""The week's shift optimizer: ``solve_week`` runs a four-stage decomposition.

1. *Counts* (``_counts``): shifts per type for each group of agents with the same skills, with
   implicit lunches and breaks and per-slot project split — minimises under-coverage first
   (its bound, raised by the per-agent Lagrangian bound at its dual prices, ``_bound``, and
   by the master LP's best Lagrangian bound where stage 2 runs it, is the reported lower
   bound), then weighted under/over-coverage.
2. *Assignment*: each named agent's week. When stage 1 proves under-coverage, there is no
   previous plan or pin and over-coverage costs at most ``MASTER_MAX_OVER_SHARE`` of
   under-coverage, from the week-pattern master LP (``_master``: column generation over every
   agent's own relaxed weeks at the weighted under- and over-coverage — over-coverage left out
   where it costs at most ``MASTER_FREE_OVER`` of under-coverage — then each agent's week of
   largest weight). Otherwise — and when a master week
   breaks the consecutive-days rule — by search (``_assign``): named agents
   onto candidate shifts derived from stage 1, with every per-agent hard rule and the soft
   rules on people (preferred start, stability, fairness, changes against a previous plan).
3. *Placement* (``_intraday``): lunch, breaks and projects inside each shift, one model per
   day, minimising the real weighted coverage and project switches. After the master LP,
   the quick placement alone (``quick_day``): the polish re-plans every shift anyway, and
   the time goes to the master's rounds.
4. *Polish* (``_polish``): each agent's week in turn re-planned exactly against the others'
   coverage (insides by dynamic programming, small moves of starts and lengths, pairs of
   shifts jointly, every hard rule kept) — it only ever lowers the objective.
   ``POLISH_SHARE`` of the limit is kept for it.

Every stage runs with ``solver.parameters`` (time share of ``time_limit_s``, ``num_workers``,
``random_seed``). Agents whose hard rules cannot hold are explained in words
(``_explain``) and raised as ``InfeasibleError``.

Soft rules and how the result measures them (``ScheduleSolution.penalties``):

===================  =====================================================================
under_coverage       agent-hours required but not at work, per project and slot
over_coverage        agent-hours at work above the requirement
project_switches     changes of project inside a shift
preferred_start      hours between a shift's start and the agent's preferred start
start_instability    per agent, hours between its earliest and latest start time of day
weekend_spread       most minus fewest weekend shifts over agents
late_spread          most minus fewest late shifts (ending after 20:00) over agents
hours_spread         most minus fewest paid hours above contract minimum over agents
changes              agent-shifts that differ from the previous plan (with ``previous``)
===================  =====================================================================
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scheduler._agents import Candidate, History, feasible
from scheduler._assign import LATE_END_MIN, AssignCosts, Assignment, assign, candidates
from scheduler._bound import AgentBound, agent_bound, gap_shares
from scheduler._counts import REQ_SCALE, Counts, Unsolved, solve_counts
from scheduler._explain import explain_agent
from scheduler._instance import SLOT_S, FloatArray, Instance, IntArray, build_instance
from scheduler._intraday import (
    BREAK,
    LUNCH,
    WORK,
    PlacedShift,
    place_day,
    quick_day,
    work_cover,
)
from scheduler._master import heaviest_weeks, week_shifts
from scheduler._polish import PolishCosts, consecutive_ok, count_switches, polish
from scheduler._solve import SolverLimits
from scheduler._types import GapSplit, Penalty, ScheduleSolution, SolveParams, StageReport, Weights
from wfm.domain import Agent, ShiftRules
from wfm.errors import FrameError, InfeasibleError, InputError

__all__ = ["solve_week"]

COST_SCALE = 4000  # objective units per cost unit
POLISH_SHARE = 0.2  # of the time limit, kept for stage 4 (300 agents: 0.1, 0.2, 0.3, 0.4 gave
# 545.1, 543.2–544.8, 545.5–549.2 and 549.4 agent-h of under-coverage)
FINISH_SHARE = 0.02  # of the time limit, kept after stage 4 to build the result …
FINISH_MAX_S = 2.0  # … at most this (without it, 300 agents ran 0.1 s past a 120-s limit)
POLISH_KICKS = 100  # at most this many kicks once the polish settles (time allows fewer)
POLISH_EVALS_PER_S = 20_000  # stage 4's deterministic limit: shift insides per second of share
MASTER_AGENT_ROUNDS_PER_S = 100  # stage 2's deterministic limit: agents priced per second of share
MASTER_MAX_ROUNDS = 200
# Where over-coverage costs at most this share of under-coverage, the master LP leaves it out
# (the polish still weighs it): without its rows the LP re-solves faster — at 300 agents (the
# default weights, 1 against 10) 37 rounds fit into stage 2 instead of 16, and the schedule
# ends at 562.3 agent-h under-covered instead of 571.0.
MASTER_FREE_OVER = 0.1
# Stage 2 uses the master only where over-coverage costs at most this share of under-coverage
# on every project. With over at half of under (150 agents, bench_schedule.py's week) the
# master's schedule cost 3,138.8 against the search's 3,460.6; with under = over on one project
# (bank, 8.5-h shifts, 60 agents) the master's LP converged in 1.7 s at 138.4 agent-h of under-
# plus over-coverage, but its heaviest weeks ended at 178.5 against the search's 154.0.
MASTER_MAX_OVER_SHARE = 0.5
# of the time before the polish's reserve: after the master, stage 3 is the quick placement
# (300 agents: 546.0 agent-h of under-coverage; CP-SAT per day and 0.85 of the time, 549.9)
MASTER_SHARE_OF_LEFT = 0.97
ACTIVITY_NAMES = {WORK: "work", LUNCH: "lunch", BREAK: "break"}
Progress = Callable[[str, float], None]


@dataclass(frozen=True, slots=True)
class _Known:
    """A shift read from a schedule frame (previous plan or pins), in slots."""

    agent: int
    start: int
    end: int
    placed: PlacedShift | None  # per-slot activities when on the slot grid
    segments: tuple[tuple[int, int, str, str], ...]  # epoch start, end, activity, project


def _read_shifts(frame: pd.DataFrame, inst: Instance, name: str) -> list[_Known]:
    for column in ("agent", "start", "end", "activity"):
        if column not in frame.columns:
            raise FrameError(
                f"{name}: column {column!r} is missing",
                field=column,
                expected="columns agent, start, end, activity, project",
            )
    index = {a.agent: i for i, a in enumerate(inst.agents)}
    rows: dict[int, list[tuple[int, int, str, str]]] = defaultdict(list)
    projects = frame["project"] if "project" in frame.columns else [""] * len(frame)
    columns = zip(
        frame["agent"], frame["activity"], frame["start"], frame["end"], projects, strict=True
    )
    for i, (rec_agent, rec_activity, rec_start, rec_end, project) in enumerate(columns):
        agent = str(rec_agent)
        activity = str(rec_activity)
        if activity == "off":
            continue
        if agent not in index:
            raise FrameError(
                f"{name}: row {i} names agent {agent}, who is not in the agent list",
                field="agent",
                row=i,
                expected="an agent of the agents file",
            )
        try:
            start = pd.Timestamp(rec_start)
            end = pd.Timestamp(rec_end)
        except (ValueError, TypeError) as exc:
            raise FrameError(
                f"{name}: row {i} has an unreadable start/end ({exc})", field="start", row=i
            ) from exc
        if start.tzinfo is None or end.tzinfo is None:
            raise FrameError(
                f"{name}: row {i} has a naive timestamp",
                field="start",
                row=i,
                expected="tz-aware ISO 8601 timestamps",
            )
        if end <= start:
            raise FrameError(f"{name}: row {i} ends before it starts", field="end", row=i)
        project = (
            ""
            if project is None or (isinstance(project, float) and math.isnan(project))
            else str(project)
        )
        rows[index[agent]].append((start.value // 10**9, end.value // 10**9, activity, project))
    out: list[_Known] = []
    for a, segs in rows.items():
        segs.sort()
        group: list[tuple[int, int, str, str]] = []
        for seg in [*segs, None]:
            if seg is not None and group and seg[0] == group[-1][1]:
                group.append(seg)
                continue
            if group:
                out.append(_known(inst, a, tuple(group)))
            group = [seg] if seg is not None else []
    return out


def _known(inst: Instance, a: int, segs: tuple[tuple[int, int, str, str], ...]) -> _Known:
    start_s, end_s = segs[0][0], segs[-1][1]
    start = (start_s - inst.t0_s) / SLOT_S
    end = (end_s - inst.t0_s) / SLOT_S
    placed = None
    on_grid = all(
        (s - inst.t0_s) % SLOT_S == 0 and (e - inst.t0_s) % SLOT_S == 0 for s, e, _, _ in segs
    )
    if on_grid and start >= 0:
        activity: list[int] = []
        project: list[int] = []
        codes = {"work": WORK, "lunch": LUNCH, "break": BREAK, "training": WORK}
        for s, e, act, proj in segs:
            n = (e - s) // SLOT_S
            code = codes.get(act, WORK)
            pidx = inst.projects.index(proj) if proj in inst.projects else -1
            if code == WORK and pidx < 0:
                pidx = (
                    inst.pidx(inst.agents[a].projects[0])
                    if inst.agents[a].projects[0] in inst.projects
                    else -1
                )
            activity += [code] * n
            project += [pidx if code == WORK else -1] * n
        day = (pd.Timestamp(start_s * 10**9, tz="UTC").tz_convert(inst.tz).date() - inst.week).days
        placed = PlacedShift(a, day, int(start), tuple(activity), tuple(project))
    return _Known(a, math.floor(start), math.ceil(end), placed, segs)


def _local_day(inst: Instance, epoch_s: int) -> int:
    return (pd.Timestamp(epoch_s * 10**9, tz="UTC").tz_convert(inst.tz).date() - inst.week).days


def _as_candidate(inst: Instance, k: _Known) -> Candidate:
    assert k.placed is not None
    start_local = pd.Timestamp(k.segments[0][0] * 10**9, tz="UTC").tz_convert(inst.tz)
    lunch = sum(1 for x in k.placed.activity if x == LUNCH)
    return Candidate(
        day=k.placed.day,
        start=k.start,
        length=k.end - k.start,
        paid=(k.end - k.start) - lunch,
        start_min=start_local.hour * 60 + start_local.minute,
    )


def _costs(inst: Instance, weights: Weights) -> tuple[np.ndarray, np.ndarray]:
    slot_h = SLOT_S / 3600
    under = np.array([weights.under(p) * slot_h / REQ_SCALE * COST_SCALE for p in inst.projects])
    over = np.array([weights.over(p) * slot_h / REQ_SCALE * COST_SCALE for p in inst.projects])
    return np.maximum(1, np.rint(under)).astype(np.int64), np.rint(over).astype(np.int64)


class _Clock:
    """The solve's time budget. With one worker (deterministic) every stage gets a fixed
    share of the limit; with several, what earlier stages leave is passed on."""

    def __init__(self, budget_s: float, deterministic: bool) -> None:
        self.start = time.perf_counter()
        self.budget = budget_s
        self.deterministic = deterministic

    def share(self, fixed: float, of_left: float) -> float:
        """A stage's time: ``fixed`` × the budget when deterministic, else ``of_left`` × what
        is left before the polish's reserve."""
        if self.deterministic:
            return max(0.1, fixed * self.budget)
        left = self.budget * (1 - POLISH_SHARE) - (time.perf_counter() - self.start)
        return max(0.1, of_left * left)

    def deadline(self) -> float:
        """The end of the budget less the time to write the result (``FINISH_SHARE``, at most
        ``FINISH_MAX_S``), at least a second from now."""
        finish = min(FINISH_MAX_S, FINISH_SHARE * self.budget)
        return max(time.perf_counter() + 1.0, self.start + self.budget - finish)


def solve_week(
    requirements: pd.DataFrame,
    agents: Sequence[Agent],
    rules: ShiftRules,
    *,
    tz: str,
    week: dt.date,
    weights: Weights | None = None,
    params: SolveParams | None = None,
    previous: pd.DataFrame | None = None,
    pins: pd.DataFrame | None = None,
    progress: Progress | None = None,
) -> ScheduleSolution:
    """Plan the week starting on Monday ``week`` (local, in ``tz``).

    ``requirements``: ``project, ts, agents`` (fractional agents allowed) on a 15/30/60-min
    grid. ``previous``: a schedule frame; its shifts before the week feed rest and
    consecutive-day rules, its shifts inside the week are the plan to change as little as
    possible (hint + ``changes`` penalty). ``pins``: schedule rows of whole shifts to keep
    exactly. Raises ``InputError`` for bad input and ``InfeasibleError`` (with the agents and
    rules in words) when hard rules cannot hold."""
    weights = weights or Weights()
    params = params or SolveParams()
    clock = _Clock(params.time_limit_s, deterministic=params.workers == 1)
    limits = SolverLimits(workers=params.workers, seed=params.seed)

    def tick(label: str, fraction: float) -> None:
        if progress is not None:
            progress(label, fraction)

    tick("preparing", 0.0)
    inst = build_instance(requirements, agents, rules, tz=tz, week=week)
    n_a = len(inst.agents)
    week_end = int(inst.day_slot[7])

    histories: list[History] = [History() for _ in range(n_a)]
    prior: list[dict[int, Candidate]] = [{} for _ in range(n_a)]
    prior_placed: dict[tuple[int, int], PlacedShift] = {}
    if previous is not None:
        last_end: dict[int, int] = {}
        worked: dict[int, set[int]] = defaultdict(set)
        for k in _read_shifts(previous, inst, "previous"):
            if k.start < 0:
                last_end[k.agent] = max(last_end.get(k.agent, -(10**9)), k.end)
                worked[k.agent].add(_local_day(inst, k.segments[0][0]))
            elif k.start < week_end and k.placed is not None:
                prior[k.agent][k.placed.day] = _as_candidate(inst, k)
                prior_placed[k.agent, k.placed.day] = k.placed
        for a in range(n_a):
            histories[a] = History(
                last_end=last_end.get(a), worked_days=frozenset(d for d in worked[a] if d < 0)
            )
    has_prior = any(prior)

    pinned: list[list[Candidate]] = [[] for _ in range(n_a)]
    pinned_placed: list[PlacedShift] = []
    pinned_days: set[tuple[int, int]] = set()
    if pins is not None:
        for k in _read_shifts(pins, inst, "pins"):
            if k.start < 0 or k.start >= week_end:
                continue
            if k.placed is None:
                raise InputError(
                    f"pins: agent {inst.agents[k.agent].agent}'s pinned shift is not on the "
                    "15-min grid",
                    field="start",
                    row=inst.agents[k.agent].agent,
                    expected="segment boundaries on the 15-min grid",
                )
            cand = _as_candidate(inst, k)
            pinned[k.agent].append(cand)
            pinned_placed.append(k.placed)
            pinned_days.add((k.agent, k.placed.day))

    under_cost, over_cost = _costs(inst, weights)
    # per-agent feasibility before anything else: explain what cannot hold
    reasons: list[tuple[str, tuple[str, ...]]] = []
    paid_of_type = np.array(
        [inst.layout.paid(n) for n in range(int(inst.type_len.max(initial=0)) + 1)]
    )[inst.type_len]
    for a in range(n_a):
        if not pinned[a] and _types_reach_minimum(inst, a, paid_of_type):
            continue
        wide = candidates(inst, a, None, prior[a], wide=True) + [c for c in pinned[a] if c.day >= 0]
        if (not _quick_ok(inst, a, wide) or pinned[a]) and not feasible(
            inst, a, wide, histories[a], pinned[a]
        ):
            why = explain_agent(inst, a, histories[a], pinned[a])
            if why is not None:
                reasons.append(why)
    if reasons:
        _raise_infeasible(reasons)

    tick("stage 1: shift counts", 0.05)
    try:
        counts = solve_counts(
            inst,
            under_cost=under_cost,
            over_cost=over_cost,
            time_s=clock.share(0.25, 0.3),
        )
    except Unsolved as exc:
        raise InfeasibleError(
            f"the week's shift counts have no solution ({exc}); check the agents' contract "
            "hours against their availability",
            rules=("counts",),
        ) from exc
    reports = [StageReport(*r) for r in counts.reports]
    under_lb_slots = counts.under_lb_slots
    per_agent: AgentBound | None = None
    if under_lb_slots > 0 and not pinned_placed:  # stage 1's proven bound: its prices
        tick("bound: per agent", 0.35)
        start_bound = time.perf_counter()
        per_agent = agent_bound(inst, counts.under_prices)
        under_lb_slots = max(under_lb_slots, per_agent.slots)
        reports.append(
            StageReport(
                "bound: per agent at stage 1's prices",
                "OPTIMAL",
                per_agent.slots,
                per_agent.slots,
                time.perf_counter() - start_bound,
            )
        )

    tick("stage 2: named agents", 0.4)
    assignment: Assignment | None = None
    fresh = not has_prior and all(h == History() for h in histories)
    master_ok = all(
        weights.over(p) <= MASTER_MAX_OVER_SHARE * weights.under(p) for p in inst.projects
    )
    if per_agent is not None and fresh and master_ok:  # agents are short: the master LP
        threads = min(params.workers, os.cpu_count() or 1)  # pricing's threads
        assignment, master_lb_slots = _master_weeks(inst, weights, histories, clock, threads, tick)
        under_lb_slots = max(under_lb_slots, master_lb_slots)
    from_master = assignment is not None
    if assignment is None:
        assignment = _search_weeks(
            inst, counts, prior, pinned, histories, weights, under_cost, over_cost, has_prior,
            limits, clock,
        )  # fmt: skip
    reports.append(StageReport(*assignment.report))
    if not assignment.shifts and assignment.report[1] not in ("OPTIMAL", "FEASIBLE"):
        raise InfeasibleError(
            f"named assignment found no solution ({assignment.report[1]}); raise --time-limit",
            rules=("time_limit",),
        )

    # stage 3 day by day
    placed_days: list[PlacedShift] = []
    fixed_cover = work_cover(inst, pinned_placed)
    for d in range(7):
        tick(f"stage 3: {inst.days[d]:%a %d %b}", 0.6 + 0.05 * d)
        todo = [
            (a, c.start, c.length)
            for (a, day), c in sorted(assignment.shifts.items())
            if day == d and (a, d) not in pinned_days
        ]
        if not todo:
            continue
        if from_master:  # the quick placement alone: the polish re-plans every shift
            start_day = time.perf_counter()
            placed = quick_day(inst, d, todo, fixed_cover)[0]
            name = f"place: {inst.days[d].isoformat()} (quick placement)"
            report = (name, "FEASIBLE", 0.0, 0.0, time.perf_counter() - start_day)
        else:
            placed, report = place_day(
                inst,
                d,
                todo,
                fixed_cover,
                under_cost=under_cost,
                over_cost=over_cost,
                switch_cost=round(weights.switch_per_switch * COST_SCALE),
                hints=prior_placed,
                change_cost=round(weights.change_per_shift * COST_SCALE) if has_prior else 0,
                limits=limits,
                time_s=clock.share(0.035, 0.3 / (7 - d)),
            )
        reports.append(StageReport(*report))
        fixed_cover = fixed_cover + work_cover(inst, placed)
        placed_days += placed

    # stage 4: each agent's week re-planned against the others (pinned shifts stay as they are;
    # when replanning, so do the shifts of the previous plan)
    tick("stage 4: polish", 0.97)
    slot_h = SLOT_S / 3600
    start_polish = time.perf_counter()
    polished, n_polished, passes = polish(
        inst,
        placed_days,
        pinned_placed,
        histories=histories,
        costs=PolishCosts(
            under=np.array([weights.under(p) * slot_h for p in inst.projects]),
            over=np.array([weights.over(p) * slot_h for p in inst.projects]),
            switch=weights.switch_per_switch,
            preferred_per_slot=weights.preferred_start_per_h * slot_h,
            instability_per_slot=weights.start_instability_per_h * slot_h,
        ),
        deadline=None if clock.deterministic else clock.deadline(),
        max_evals=(
            int(POLISH_SHARE * clock.budget * POLISH_EVALS_PER_S) if clock.deterministic else None
        ),
        seed=params.seed,
        keep=frozenset(prior_placed) if has_prior else frozenset(),
        kicks=POLISH_KICKS,
    )
    placed_all = list(pinned_placed) + polished
    switches = count_switches(placed_all)
    reports.append(
        StageReport(
            f"polish: {n_polished} shifts improved, {passes} passes",
            "FEASIBLE",
            0.0,
            0.0,
            time.perf_counter() - start_polish,
        )
    )
    tick("done", 1.0)

    schedule = _frame(inst, placed_all)
    return _solution(
        inst,
        placed_all,
        schedule,
        weights,
        under_lb_slots,
        reports,
        clock,
        prior_placed if has_prior else None,
        switches,
        per_agent,
    )


def _search_weeks(
    inst: Instance,
    counts: Counts,
    prior: list[dict[int, Candidate]],
    pinned: list[list[Candidate]],
    histories: list[History],
    weights: Weights,
    under_cost: np.ndarray,
    over_cost: np.ndarray,
    has_prior: bool,
    limits: SolverLimits,
    clock: _Clock,
) -> Assignment:
    """Stage 2 by search: named agents onto candidates around stage 1's shift types."""
    n_a = len(inst.agents)
    cands: list[list[Candidate]] = []
    wide_all: list[list[Candidate]] = []
    for a in range(n_a):
        wide_all.append(candidates(inst, a, counts, prior[a], wide=True))
        narrow = candidates(inst, a, counts, prior[a])
        narrow = sorted(set(narrow) | set(pinned[a]), key=lambda c: (c.day, c.start, c.length))
        if not _quick_ok(inst, a, narrow) or not feasible(inst, a, narrow, histories[a], pinned[a]):
            wide = wide_all[a]
            narrow = sorted(set(wide) | set(pinned[a]), key=lambda c: (c.day, c.start, c.length))
        cands.append(narrow)
    slot_h = SLOT_S / 3600
    assign_costs = AssignCosts(
        under=[int(c) for c in under_cost],
        over=[int(c) for c in over_cost],
        preferred_per_slot=round(weights.preferred_start_per_h * slot_h * COST_SCALE),
        instability_per_slot=round(weights.start_instability_per_h * slot_h * COST_SCALE),
        weekend_spread=round(weights.weekend_spread_per_shift * COST_SCALE),
        late_spread=round(weights.late_spread_per_shift * COST_SCALE),
        hours_spread_per_slot=round(weights.hours_spread_per_h * slot_h * COST_SCALE),
        change=round(weights.change_per_shift * COST_SCALE) if has_prior else 0,
    )
    assignment = assign(
        inst,
        cands,
        counts.on_duty,
        histories=histories,
        prior=prior if has_prior else [{} for _ in range(n_a)],
        pinned=pinned,
        costs=assign_costs,
        limits=limits,
        time_s=clock.share(0.35, 0.75),
        wide=wide_all,
        has_prior=has_prior,
    )
    return assignment


def _master_weeks(
    inst: Instance,
    weights: Weights,
    histories: list[History],
    clock: _Clock,
    threads: int,
    tick: Callable[[str, float], None],
) -> tuple[Assignment | None, float]:
    """Stage 2 from the master LP: every agent's week of largest weight (``_master``), or
    None when a week breaks the consecutive-days rule, which the master does not see; and the
    master's best Lagrangian bound on under-coverage (agent-slots; 0 where it prices
    over-coverage too, as its bound is then on the weighted sum)."""
    start = time.perf_counter()
    share = clock.share(0.35, MASTER_SHARE_OF_LEFT)
    n_a = len(inst.agents)
    rounds = MASTER_MAX_ROUNDS
    deadline: float | None = start + share
    if clock.deterministic:
        rounds = max(1, min(rounds, int(share * MASTER_AGENT_ROUNDS_PER_S / max(n_a, 1))))
        deadline = None
    slot_h = SLOT_S / 3600
    under_w = np.array([weights.under(p) * slot_h for p in inst.projects])
    over_w = np.array(
        [
            weights.over(p) * slot_h
            if weights.over(p) > MASTER_FREE_OVER * weights.under(p)
            else 0.0
            for p in inst.projects
        ]
    )
    result = heaviest_weeks(
        inst,
        under_w=under_w,
        over_w=over_w,
        max_rounds=rounds,
        deadline=deadline,
        threads=threads,
        tick=lambda r, _v, _b: tick(f"stage 2: master LP, round {r}", 0.4 + 0.2 * r / rounds),
    )
    # the bound is on sum_p under_w[p] * under[p] <= max(under_w) * under; the relaxed weeks
    # drop the consecutive days across the week's start, so it holds without them too
    lb_slots = 0.0 if over_w.any() else result.bound / float(under_w.max())
    shifts: dict[tuple[int, int], Candidate] = {}
    for a, week in result.weeks.items():
        by_day = week_shifts(inst, week)
        if not consecutive_ok(list(by_day), histories[a], inst.max_consecutive_days):
            return None, lb_slots
        shifts.update({(a, d): c for d, c in by_day.items()})
    report = (
        f"assign: master LP's heaviest weeks ({result.rounds} rounds)",
        "FEASIBLE",
        result.master,
        result.bound,
        time.perf_counter() - start,
    )
    return Assignment(shifts=shifts, report=report), lb_slots


def _quick_ok(inst: Instance, a: int, cands: Sequence[Candidate]) -> bool:
    """Arithmetic check of the hours: the longest shifts on the best days reach the minimum."""
    return _reaches_minimum(
        inst, a, [max((c.paid for c in cands if c.day == d), default=0) for d in range(7)]
    )


def _types_reach_minimum(inst: Instance, a: int, paid_of_type: IntArray) -> bool:
    """``_quick_ok`` over every shift type agent ``a`` may work, without building them as
    candidates (300 agents: 1.2 million candidates, 4 s, before this)."""
    ok = inst.agent_type_ok[a] & inst.type_chunk_ok[int(inst.agent_group[a])]
    best = np.zeros(7, dtype=np.int64)
    np.maximum.at(best, inst.type_day[ok], paid_of_type[ok])
    return _reaches_minimum(inst, a, best.tolist())


def _reaches_minimum(inst: Instance, a: int, best_per_day: Sequence[int]) -> bool:
    """The most paid slots on each day's best shift, summed over the agent's best days, reach
    its contract minimum."""
    min_paid = math.ceil(inst.agents[a].min_hours_week * 4 - 1e-6)
    max_days = min(inst.agents[a].max_days_week, inst.max_days_week)
    return sum(sorted(best_per_day, reverse=True)[:max_days]) >= min_paid


def _raise_infeasible(reasons: list[tuple[str, tuple[str, ...]]]) -> None:
    shown = [text for text, _ in reasons[:5]]
    more = f"; and {len(reasons) - 5} more agents" if len(reasons) > 5 else ""
    rules = tuple(sorted({r for _, names in reasons for r in names}))
    raise InfeasibleError("infeasible: " + "; ".join(shown) + more, rules=rules)


def _frame(inst: Instance, placed: Sequence[PlacedShift]) -> pd.DataFrame:
    rows: list[tuple[str, int, int, str, str]] = []
    for sh in placed:
        agent = inst.agents[sh.agent].agent
        i = 0
        while i < sh.length:
            j = i
            while (
                j + 1 < sh.length
                and sh.activity[j + 1] == sh.activity[i]
                and sh.project[j + 1] == sh.project[i]
            ):
                j += 1
            act = ACTIVITY_NAMES[sh.activity[i]]
            project = inst.projects[sh.project[i]] if sh.activity[i] == WORK else ""
            rows.append((agent, sh.start + i, sh.start + j + 1, act, project))
            i = j + 1
    rows.sort(key=lambda r: (r[0], r[1]))
    start = pd.to_datetime([(inst.t0_s + r[1] * SLOT_S) * 10**9 for r in rows], utc=True)
    end = pd.to_datetime([(inst.t0_s + r[2] * SLOT_S) * 10**9 for r in rows], utc=True)
    return pd.DataFrame(
        {
            "agent": pd.Series([r[0] for r in rows], dtype=object),
            "start": pd.DatetimeIndex(start).tz_convert(inst.tz),
            "end": pd.DatetimeIndex(end).tz_convert(inst.tz),
            "activity": pd.Series([r[3] for r in rows], dtype=object),
            "project": pd.Series([r[4] for r in rows], dtype=object),
        }
    )


def _solution(
    inst: Instance,
    placed: Sequence[PlacedShift],
    schedule: pd.DataFrame,
    weights: Weights,
    under_lb_slots: float,
    reports: list[StageReport],
    clock: _Clock,
    prior: dict[tuple[int, int], PlacedShift] | None,
    switches: int,
    per_agent: AgentBound | None,
) -> ScheduleSolution:
    slot_h = SLOT_S / 3600
    cover = work_cover(inst, placed).astype(float)
    diff = inst.required - cover
    under_p = np.clip(diff, 0, None).sum(axis=1) * slot_h
    over_p = np.clip(-diff, 0, None).sum(axis=1) * slot_h
    penalties: list[Penalty] = []

    def add(name: str, value: float, unit: str, weight: float, cost: float | None = None) -> None:
        penalties.append(
            Penalty(
                name,
                float(value),
                unit,
                float(weight),
                float(value * weight if cost is None else cost),
            )
        )

    under_cost = float(
        sum(u * weights.under(p) for u, p in zip(under_p, inst.projects, strict=True))
    )
    over_cost = float(sum(o * weights.over(p) for o, p in zip(over_p, inst.projects, strict=True)))
    under_h, over_h = float(under_p.sum()), float(over_p.sum())
    add(
        "under_coverage",
        under_h,
        "agent-h",
        under_cost / under_h if under_h else weights.under_per_agent_h,
        under_cost,
    )
    add(
        "over_coverage",
        over_h,
        "agent-h",
        over_cost / over_h if over_h else weights.over_per_agent_h,
        over_cost,
    )
    add("project_switches", switches, "switches", weights.switch_per_switch)

    by_agent: dict[int, list[PlacedShift]] = defaultdict(list)
    for sh in placed:
        by_agent[sh.agent].append(sh)
    pref_h = 0.0
    instability_h = 0.0
    weekend, late, above = [], [], []
    for a, agent in enumerate(inst.agents):
        mine = by_agent.get(a, [])
        minutes = []
        for sh in mine:
            local = inst.slot_local[sh.start]
            m = local.hour * 60 + local.minute
            minutes.append(m)
            if agent.preferred_start is not None:
                p = agent.preferred_start.hour * 60 + agent.preferred_start.minute
                pref_h += min(abs(m - p), 1440 - abs(m - p)) / 60
        if len(minutes) >= 2:
            instability_h += (max(minutes) - min(minutes)) / 60
        weekend.append(sum(1 for sh in mine if sh.day in (5, 6)))
        late.append(
            sum(1 for sh, m in zip(mine, minutes, strict=True) if m + sh.length * 15 > LATE_END_MIN)
        )
        paid_h = sum(sh.length - sum(1 for x in sh.activity if x == LUNCH) for sh in mine) * slot_h
        above.append(paid_h - agent.min_hours_week)
    add("preferred_start", pref_h, "h", weights.preferred_start_per_h)
    add("start_instability", instability_h, "h", weights.start_instability_per_h)
    add("weekend_spread", max(weekend) - min(weekend), "shifts", weights.weekend_spread_per_shift)
    add("late_spread", max(late) - min(late), "shifts", weights.late_spread_per_shift)
    add("hours_spread", max(above) - min(above), "h", weights.hours_spread_per_h)
    changed: int | None = None
    if prior is not None:
        now = {(sh.agent, sh.day): sh for sh in placed}
        changed = 0
        for key in set(now) | set(prior):
            a_sh, b_sh = now.get(key), prior.get(key)
            if (
                a_sh is None
                or b_sh is None
                or (a_sh.start, a_sh.activity, a_sh.project)
                != (
                    b_sh.start,
                    b_sh.activity,
                    b_sh.project,
                )
            ):
                changed += 1
        add("changes", changed, "agent-shifts", weights.change_per_shift)
    objective = float(sum(p.cost for p in penalties))
    lb_h = max(0.0, under_lb_slots * slot_h)
    min_under_w = min(weights.under(p) for p in inst.projects)
    bound = min(objective, lb_h * min_under_w)
    gap = 0.0 if objective <= 1e-9 else (objective - bound) / objective
    under_gap = 0.0 if under_h <= 1e-9 else max(0.0, (under_h - lb_h) / under_h)
    status = "OPTIMAL" if gap <= 1e-6 else "FEASIBLE"
    return ScheduleSolution(
        schedule=schedule,
        status=status,
        objective=objective,
        bound=bound,
        gap=gap,
        under_h=under_h,
        over_h=over_h,
        under_lower_bound_h=min(lb_h, under_h),
        under_gap=under_gap,
        penalties=tuple(penalties),
        stages=tuple(reports),
        wall_s=time.perf_counter() - clock.start,
        changed_shifts=changed,
        gap_split=None if per_agent is None else _gap_split(inst, placed, cover, per_agent),
    )


def _gap_split(
    inst: Instance, placed: Sequence[PlacedShift], cover: FloatArray, bound: AgentBound
) -> GapSplit | None:
    """The under-coverage above the per-agent bound, split into the agents' part and the
    coverage's part (``_bound.gap_shares``); None when that bound is 0."""
    if bound.value <= 0:
        return None
    slot_h = SLOT_S / 3600
    collected = np.zeros(len(inst.agents))
    for sh in placed:
        for i, (act, p) in enumerate(zip(sh.activity, sh.project, strict=True)):
            if act == WORK and p >= 0 and sh.start + i < inst.n_slots:
                collected[sh.agent] += bound.prices[p, sh.start + i]
    by_agent, by_slot = gap_shares(inst, bound, cover, collected)
    order = np.argsort(-by_agent, kind="stable")
    return GapSplit(
        bound_h=bound.value * slot_h,
        agents_h=float(by_agent.sum()) * slot_h,
        slots_h=float(by_slot.sum()) * slot_h,
        agents=tuple(
            (inst.agents[a].agent, float(by_agent[a]) * slot_h)
            for a in order.tolist()
            if by_agent[a] > 1e-9
        ),
    )
