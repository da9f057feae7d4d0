"""Stage 4 — polish: each agent's week re-planned exactly against the others' coverage.

Stages 2 and 3 work with approximations that keep their CP-SAT models small: stage 2 counts a
shift's work as spread evenly over its slots, stage 3 picks projects per *chunk* (a 1-h block
plus room for lunch and a break). The rules themselves are looser. Here one agent at a time is
taken out of the coverage; each of its shifts gets options on the same day — as it is, and its
start moved by up to ``MOVE_SLOTS`` slots and its length by up to ``MOVE_STEPS`` length steps
where the agent may work that shift type — each with its best inside
(``_shiftdp.best_shift``: lunch in its window, break ``j`` in window ``j``, none adjacent,
a project per work slot with every run on one project at least ``min_project_block_h``),
valued exactly by the weighted under- and over-coverage it removes less a cost per project
switch. The agent's shifts cover disjoint slots, so their values add up; pairs of shifts are
then re-chosen jointly (the others held) while that helps, keeping the contract's paid hours,
rest between the agent's shifts (and to last week's last one), and the agent's paid hours above
minimum and late shifts inside their current spread over agents; preferred-start and
start-instability penalties count in the value. This is how hours move between days (one
shift grows while another shrinks) and how shift lengths with fewer breaks per paid hour are
found.

Before that, an agent none of whose week is fixed gets a whole-week move: its best week from
scratch by dynamic programming over the days (``_bound.best_week``: one shift a day, rest,
contract hours and days), each shift type valued by its relaxed inside against the others'
coverage, then the chosen shifts' exact insides; the new week replaces the old one only when
its exact value (less preferred-start and instability penalties) is higher. This moves shifts
between days and adds or drops shifts, which the moves above cannot.

Passes over the agents in a seeded order repeat until one changes nothing, ``MAX_PASSES``, the
deadline, or (deterministic) a number of evaluated shift insides. A settled polish is a local
optimum of one agent's moves; while time is left, up to ``kicks`` kicks follow: one pass
against a shaken requirement (half an agent more on every required cell, so that weeks working
more of them win; every other kick, noise of that size), then passes until nothing changes,
kept only if the objective fell and undone otherwise, until ``KICK_PATIENCE`` in a row were
undone (from the 300-agent benchmark's stage 3: settled at 550.4 agent-h of under-coverage in
27 s, 548.6 and 550.0 after 90 s in two runs; 150 agents: 292.9 in 9 s, 292.1 after 24 s;
small gains, as the settled week is robust: of 2,332 swaps of whole weeks between agents of
different skill sets, 2 lowered the objective, and single-shift moves of up to 2 h instead of
1 h ended at 550.7). A week only changes when that strictly lowers the objective
(a kick's pass excepted, and then the kick is undone unless the whole is lower), so the stage
never makes a schedule worse. Pinned shifts and, when replanning, the previous plan's shifts
do not move.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scheduler._agents import History, limits_of
from scheduler._assign import LATE_END_MIN
from scheduler._bound import WeekTables, WeekWork, agent_types, best_week, shift_values
from scheduler._instance import FloatArray, Instance, IntArray
from scheduler._intraday import LUNCH, WORK, PlacedShift, _break_windows, work_cover
from scheduler._shiftdp import NEG, best_shifts

_EPS = 1e-9
MAX_PASSES = 20
MOVE_SLOTS = 4  # a shift may move up to this many slots earlier or later per step
MOVE_STEPS = 2  # … and grow or shrink by up to this many length steps
WEEKEND = (5, 6)  # day indices of Saturday and Sunday (the weekend-spread penalty's days)
WEEK_EVALS = 8  # a whole-week move counts as this many shift insides (deterministic limit)
KICK_AGENTS = 0.5  # a kick's shake of the requirement, in agents per cell
KICK_PATIENCE = 3  # kicks stop after this many in a row were undone


@dataclass(frozen=True, slots=True)
class PolishCosts:
    """Costs in the objective's units (per agent-slot, per switch, per slot of deviation)."""

    under: FloatArray  # per project
    over: FloatArray  # per project
    switch: float
    preferred_per_slot: float
    instability_per_slot: float


def _gain(need: FloatArray, under_w: FloatArray, over_w: FloatArray) -> FloatArray:
    """Objective decrease from one more agent at work, per project and slot, given the agents
    still needed there (exact for the piecewise-linear under/over cost)."""
    short = np.clip(need, 0.0, 1.0)
    gain: FloatArray = under_w[:, None] * short - over_w[:, None] * (1.0 - short)
    return gain


@dataclass(frozen=True, slots=True)
class _InsideTables:
    """Per shift length what ``best_shift`` needs, computed once: lunch slots, the last lunch
    start offset, the number of breaks and each one's window of start offsets."""

    lunch: IntArray
    paid: IntArray
    lunch_hi: IntArray
    n_win: IntArray
    win_lo: IntArray  # (lengths, most breaks)
    win_hi: IntArray

    @staticmethod
    def of(inst: Instance, longest: int) -> _InsideTables:
        lay = inst.layout
        lunch = np.array([lay.lunch_slots(n) for n in range(longest + 1)], dtype=np.int64)
        windows = [
            _break_windows(n, int(lunch[n]), lay.breaks(n), lay.break_len)
            for n in range(longest + 1)
        ]
        most = max((len(w) for w in windows), default=0)
        win = np.zeros((2, longest + 1, max(most, 1)), dtype=np.int64)
        for n, w in enumerate(windows):
            for j, (lo, hi) in enumerate(w):
                win[0, n, j], win[1, n, j] = lo, hi
        return _InsideTables(
            lunch=lunch,
            paid=np.arange(longest + 1) - lunch,
            lunch_hi=np.minimum(lay.lunch_hi, np.arange(longest + 1) - 1 - lunch),
            n_win=np.array([len(w) for w in windows], dtype=np.int64),
            win_lo=win[0],
            win_hi=win[1],
        )


def _agent_gain(
    inst: Instance, skills: Sequence[int], need: FloatArray, costs: PolishCosts
) -> FloatArray:
    """What one more agent-slot of work is worth per skill and slot (``NEG`` where closed)."""
    gain = _gain(need[skills], costs.under[skills], costs.over[skills])
    out: FloatArray = np.ascontiguousarray(np.where(inst.open_[skills], gain, NEG))
    return out


def _insides(
    inst: Instance,
    tables: _InsideTables,
    gain: FloatArray,
    starts: IntArray,
    lens: IntArray,
    switch: float,
) -> tuple[FloatArray, IntArray, IntArray]:
    """The best inside of each (start, length) against ``gain`` (``_agent_gain``): values
    (``NEG``: none keeps the rules) and per shift and offset the activity and the skill
    index worked (-1 off work)."""
    lay = inst.layout
    n_c = len(starts)
    values = np.empty(n_c)
    longest = int(lens.max(initial=1))
    activity = np.zeros((n_c, longest), dtype=np.int64)
    project = np.full((n_c, longest), -1, dtype=np.int64)
    best_shifts(
        gain,
        starts,
        lens,
        tables.lunch,
        lay.lunch_lo,
        tables.lunch_hi,
        tables.n_win,
        tables.win_lo,
        tables.win_hi,
        lay.break_len,
        max(1, lay.block),
        switch,
        values,
        activity,
        project,
    )
    return values, activity, project


def _shift_of(
    a: int, day: int, start: int, activity: IntArray, project: IntArray, skills: IntArray
) -> PlacedShift:
    """A placed shift from one row of ``_insides`` (skill indices mapped to projects)."""
    projects = np.where(project >= 0, skills[np.maximum(project, 0)], -1)
    return PlacedShift(a, day, start, tuple(activity.tolist()), tuple(projects.tolist()))


def _is_late(start_min: IntArray | int, length: IntArray | int) -> npt.NDArray[np.bool_]:
    """Whether shifts starting at local minute ``start_min`` and ``length`` slots long end
    after ``LATE_END_MIN`` (elementwise)."""
    late: npt.NDArray[np.bool_] = np.asarray(start_min + length * 15 > LATE_END_MIN)
    return late


def _current_value(sh: PlacedShift, need: FloatArray, costs: PolishCosts) -> float:
    """The shift's value as it is (same units as ``_insides``)."""
    value = 0.0
    for o, (act, p) in enumerate(zip(sh.activity, sh.project, strict=True)):
        if act == WORK and p >= 0:
            short = min(1.0, max(0.0, float(need[p, sh.start + o])))
            value += costs.under[p] * short - costs.over[p] * (1.0 - short)
    return value - costs.switch * count_switches([sh])


def _book(need: FloatArray, sh: PlacedShift, sign: float) -> None:
    """Add (``sign`` −1) or remove (+1) the shift's work from the agents still needed."""
    for o, (act, p) in enumerate(zip(sh.activity, sh.project, strict=True)):
        if act == WORK and p >= 0:
            need[p, sh.start + o] += sign


def _minute_of_day(inst: Instance) -> IntArray:
    """Local minute of day of every slot."""
    local = inst.slot_local
    return np.asarray(local.hour * 60 + local.minute, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class _Spreads:
    """Current (lowest, highest) over agents of paid slots above the minimum, late shifts and
    weekend shifts (a week's days stay as they are except in whole-week moves)."""

    above: tuple[int, int]
    late: tuple[int, int]
    weekend: tuple[int, int] = (0, 7)


@dataclass(frozen=True, eq=False)
class _Options:
    """One movable shift's options (index 0: as it is) with their value and attributes;
    option ``c`` > 0 is row ``rows[c]`` of ``activity`` and ``project`` (from ``_insides``)."""

    current: PlacedShift
    rows: npt.NDArray[np.int64]
    activity: npt.NDArray[np.int64]
    project: npt.NDArray[np.int64]
    value: FloatArray  # coverage gain less switches
    paid: npt.NDArray[np.int64]
    late: npt.NDArray[np.int64]
    start: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    start_min: npt.NDArray[np.int64]

    def shift(self, c: int, skills: IntArray) -> PlacedShift:
        """Option ``c`` as a placed shift (``skills``: the agent's project per skill index)."""
        if c == 0:
            return self.current
        r, n = int(self.rows[c]), int(self.end[c] - self.start[c])
        sh = self.current
        return _shift_of(
            sh.agent, sh.day, int(self.start[c]), self.activity[r, :n], self.project[r, :n], skills
        )

    @staticmethod
    def of(
        minute_of: IntArray,
        current: PlacedShift,
        current_value: float,
        current_paid: int,
        found: tuple[FloatArray, IntArray, IntArray],  # ``_insides`` of ``starts``, ``lens``
        starts: IntArray,
        lens: IntArray,
        paid_of_len: IntArray,
    ) -> _Options:
        values, activity, project = found
        rows = np.flatnonzero(values > NEG)
        start = np.concatenate([[current.start], starts[rows]]).astype(np.int64)
        length = np.concatenate([[current.length], lens[rows]]).astype(np.int64)
        paid = np.concatenate([[current_paid], paid_of_len[lens[rows]]]).astype(np.int64)
        return _Options(
            current=current,
            rows=np.concatenate([[-1], rows]).astype(np.int64),
            activity=activity,
            project=project,
            value=np.concatenate([[current_value], values[rows]]),
            paid=paid,
            late=_is_late(minute_of[start], length).astype(np.int64),
            start=start,
            end=start + length,
            start_min=minute_of[start],
        )


def _rest_ok(start: int, end: int, spans: Sequence[tuple[int, int]], rest: int) -> bool:
    """Rest of at least ``rest`` slots between (start, end) and every span."""
    return all(end + rest <= s0 or e0 + rest <= start for s0, e0 in spans)


def _best_week(
    opts: Sequence[_Options],
    *,
    fixed_mins: Sequence[int],
    rest: int,
    paid_else: int,
    late_else: int,
    limits: tuple[int, int],
    spreads: _Spreads,
    now_above: int,
    now_late: int,
    pref: dt.time | None,
    costs: PolishCosts,
) -> list[int]:
    """One option per movable shift: pairs of choices are improved in turn (each pair
    exactly, the others held) until nothing improves. Keeps contract hours, rest between the
    agent's shifts, and the agent's hours above minimum and late shifts inside the spreads."""
    n = len(opts)
    choice = [0] * n
    min_p, max_p = limits
    lo_above = min(spreads.above[0], now_above)
    hi_above = max(spreads.above[1], now_above)
    lo_late, hi_late = min(spreads.late[0], now_late), max(spreads.late[1], now_late)
    adjusted = [o.value - costs.preferred_per_slot * _pref_slots(o.start_min, pref) for o in opts]

    def rest_mask(x: int, skip: int) -> npt.NDArray[np.bool_]:
        ok = np.ones(len(opts[x].start), dtype=bool)
        for z in range(n):
            if z in (x, skip):
                continue
            s0, e0 = opts[z].start[choice[z]], opts[z].end[choice[z]]
            ok &= (opts[x].end + rest <= s0) | (e0 + rest <= opts[x].start)
        return ok

    for _ in range(4):
        better = False
        for x in range(n):
            for y in range(x, n):
                ox, oy = opts[x], opts[y]
                current: tuple[int, ...]
                rest_ids = [z for z in range(n) if z not in (x, y)]
                paid_rest = paid_else + sum(int(opts[z].paid[choice[z]]) for z in rest_ids)
                late_rest = late_else + sum(int(opts[z].late[choice[z]]) for z in rest_ids)
                mins = list(fixed_mins) + [int(opts[z].start_min[choice[z]]) for z in rest_ids]
                if x == y:
                    total_paid = paid_rest + ox.paid
                    total_late = late_rest + ox.late
                    value = adjusted[x].copy()
                    ok = rest_mask(x, x)
                    hi_m = np.maximum(max(mins, default=-1), ox.start_min)
                    lo_m = np.minimum(min(mins, default=10**6), ox.start_min)
                    current = (choice[x],)
                else:
                    total_paid = paid_rest + ox.paid[:, None] + oy.paid[None, :]
                    total_late = late_rest + ox.late[:, None] + oy.late[None, :]
                    value = adjusted[x][:, None] + adjusted[y][None, :]
                    ok = rest_mask(x, y)[:, None] & rest_mask(y, x)[None, :]
                    ok &= (ox.end[:, None] + rest <= oy.start[None, :]) | (
                        oy.end[None, :] + rest <= ox.start[:, None]
                    )
                    hi_m = np.maximum(
                        np.maximum(max(mins, default=-1), ox.start_min[:, None]),
                        oy.start_min[None, :],
                    )
                    lo_m = np.minimum(
                        np.minimum(min(mins, default=10**6), ox.start_min[:, None]),
                        oy.start_min[None, :],
                    )
                    current = (choice[x], choice[y])
                spread = np.where(hi_m >= lo_m, (hi_m - lo_m) // 15, 0)
                if len(mins) + (1 if x == y else 2) >= 2:
                    value = value - costs.instability_per_slot * spread
                above = total_paid - min_p
                ok = ok & (total_paid >= min_p) & (total_paid <= max_p)
                ok &= (above >= lo_above) & (above <= hi_above)
                ok &= (total_late >= lo_late) & (total_late <= hi_late)
                if not ok[current]:
                    continue  # the agent's week as it is must stay reachable
                scored = np.where(ok, value, -np.inf)
                best = np.unravel_index(int(np.argmax(scored)), scored.shape)
                if scored[best] > scored[current] + _EPS:
                    if x == y:
                        choice[x] = int(best[0])
                    else:
                        choice[x], choice[y] = int(best[0]), int(best[1])
                    better = True
        if not better:
            break
    return choice


def consecutive_ok(days: Sequence[int], history: History, limit: int) -> bool:
    """At most ``limit`` worked days in a row, last week's included."""
    worked = set(days) | set(history.worked_days)
    return all(
        sum(1 for d in range(first, first + limit + 1) if d in worked) <= limit
        for first in range(-limit, 7 - limit)
    )


def _pref_slots(start_min: IntArray, pref: dt.time | None) -> IntArray:
    """Whole slots between each start (minute of day) and the preferred start, around the
    clock; zeros without a preference."""
    if pref is None:
        return np.zeros(np.shape(start_min), dtype=np.int64)
    dev = np.abs(np.asarray(start_min, dtype=np.int64) - (pref.hour * 60 + pref.minute))
    slots: IntArray = np.minimum(dev, 1440 - dev) // 15
    return slots


def _week_penalty(starts_min: Sequence[int], pref: dt.time | None, costs: PolishCosts) -> float:
    """Preferred-start and start-instability penalties of a week's start minutes."""
    value = costs.preferred_per_slot * float(_pref_slots(np.asarray(starts_min), pref).sum())
    if len(starts_min) >= 2:
        value += costs.instability_per_slot * ((max(starts_min) - min(starts_min)) // 15)
    return value


@dataclass(frozen=True, slots=True)
class _WeekRules:
    """What bounds one agent's new week: its allowed shift types (by day), its paid slots and
    late shifts (contract, and inside the current spreads over agents), last week."""

    types: IntArray
    paid_range: tuple[int, int]
    late_range: tuple[int, int]
    weekend_range: tuple[int, int]
    history: History


def _best_week_of(
    inst: Instance,
    a: int,
    rules: _WeekRules,
    gain: FloatArray,
    costs: PolishCosts,
    tools: WeekTables,
    tables: _InsideTables,
    minute_of: IntArray,
    late: Callable[[int, int], bool],
    work: WeekWork,
) -> tuple[list[PlacedShift], float] | None:
    """The agent's whole week chosen afresh against the others' coverage (``gain`` from
    ``_agent_gain`` without the agent): the best week by dynamic programming over the days
    with each shift's relaxed value (``_bound``), then each chosen shift's exact inside.
    Returns it with its exact value less its preferred-start and instability penalties, or
    None. Days, rest, contract
    hours and days are kept by the programme; late shifts and consecutive days are checked
    afterwards."""
    types = rules.types
    if not types.size:
        return None
    lay = inst.layout
    m = np.maximum(gain.max(axis=0), -1e9)
    start, length = inst.type_start[types], inst.type_len[types]
    values = np.empty(types.size)
    shift_values(
        np.ascontiguousarray(m),
        start,
        length,
        tools.lunch_of_len,
        lay.lunch_lo,
        lay.lunch_hi,
        tools.breaks_of_len,
        values,
        np.empty(types.size, dtype=np.int64),
    )
    pref = inst.agents[a].preferred_start
    values -= costs.preferred_per_slot * _pref_slots(minute_of[start], pref)
    chosen = np.full(8, -1, dtype=np.int64)
    found = best_week(
        np.searchsorted(inst.type_day[types], np.arange(8)).astype(np.int64),
        start,
        length,
        tools.paid_of_len[length],
        values,
        inst.day_slot,
        tools.width,
        tools.n_ends,
        lay.rest,
        limits_of(inst, a)[2],
        rules.paid_range[0],
        rules.paid_range[1],
        chosen,
        work,
    )
    if found <= NEG:
        return None
    ks = sorted(int(types[j]) for j in chosen if j >= 0)
    week: list[PlacedShift] = []
    value = 0.0
    if ks:
        inside, act, proj = _insides(
            inst, tables, gain, inst.type_start[ks], inst.type_len[ks], costs.switch
        )
        if inside.min() <= NEG:
            return None
        sk = np.array([inst.pidx(p) for p in inst.groups[int(inst.agent_group[a])]])
        for c, k in enumerate(ks):
            n = int(inst.type_len[k])
            day, s = int(inst.type_day[k]), int(inst.type_start[k])
            week.append(_shift_of(a, day, s, act[c, :n], proj[c, :n], sk))
        value = float(inside.sum())
    n_late = sum(late(sh.start, sh.length) for sh in week)
    if not rules.late_range[0] <= n_late <= rules.late_range[1]:
        return None
    n_weekend = sum(1 for sh in week if sh.day in WEEKEND)
    if not rules.weekend_range[0] <= n_weekend <= rules.weekend_range[1]:
        return None
    if not consecutive_ok([sh.day for sh in week], rules.history, inst.max_consecutive_days):
        return None
    value -= _week_penalty([int(minute_of[sh.start]) for sh in week], pref, costs)
    return week, value


def polish(
    inst: Instance,
    placed: Sequence[PlacedShift],
    fixed: Sequence[PlacedShift],
    *,
    histories: Sequence[History],
    costs: PolishCosts,
    deadline: float | None,  # wall clock (None: no time limit)
    max_evals: int | None = None,  # shift insides evaluated at most (a deterministic limit)
    seed: int,
    keep: frozenset[tuple[int, int]] = frozenset(),  # (agent, day) not to touch
    week_moves: bool = True,
    kicks: int = 0,
) -> tuple[list[PlacedShift], int, int]:
    """``placed`` improved shift by shift (``fixed`` shifts count in the coverage and the rest
    rule but never change); returns the shifts, the number changed and the passes made."""
    lay = inst.layout
    n_t = inst.n_slots
    out = list(placed)
    need = inst.required - (work_cover(inst, out) + work_cover(inst, fixed)).astype(float)
    type_of = {
        (int(d), int(s), int(n)): k
        for k, (d, s, n) in enumerate(
            zip(inst.type_day, inst.type_start, inst.type_len, strict=True)
        )
    }
    by_agent: dict[int, list[int]] = {}
    for i, sh in enumerate(out):
        by_agent.setdefault(sh.agent, []).append(i)
    fixed_by_agent: dict[int, list[PlacedShift]] = {}
    for sh in fixed:
        fixed_by_agent.setdefault(sh.agent, []).append(sh)

    def paid(sh: PlacedShift) -> int:
        return sh.length - sum(1 for x in sh.activity if x == LUNCH)

    minute_of = _minute_of_day(inst)

    def late(sh_start: int, length: int) -> bool:
        return bool(_is_late(int(minute_of[sh_start]), length))

    agents = sorted(by_agent)
    paid_of = {
        a: sum(paid(out[i]) for i in by_agent[a]) + sum(paid(f) for f in fixed_by_agent.get(a, []))
        for a in agents
    }
    # contract hours above the minimum: their spread over agents is a penalty
    above_of = {a: paid_of[a] - limits_of(inst, a)[0] for a in agents}
    late_of = {a: sum(late(out[i].start, out[i].length) for i in by_agent[a]) for a in agents}
    weekend_of = {a: sum(1 for i in by_agent[a] if out[i].day in WEEKEND) for a in agents}
    movable = {
        a: [i for i in by_agent[a] if (a, out[i].day) not in keep and out[i].end <= n_t]
        for a in agents
    }
    order = [a for a in agents if movable[a]]
    rng = np.random.default_rng(seed)
    changed: set[int] = set()
    dropped: set[int] = set()  # shifts a whole-week move removed
    tools = WeekTables.of(inst) if week_moves and inst.n_types else None
    work = WeekWork()
    longest = max([sh.length for sh in out] + [int(inst.type_len.max(initial=0)), lay.max_len])
    tables = _InsideTables.of(inst, longest)
    lengths = lay.lengths()

    evals = 0

    def past_deadline() -> bool:
        if max_evals is not None and evals >= max_evals:
            return True
        return deadline is not None and time.perf_counter() >= deadline

    def whole_week(a: int) -> bool:
        """Whether agent ``a``'s week may be replaced as a whole (nothing of it fixed)."""
        return (
            tools is not None
            and a not in fixed_by_agent
            and len(movable[a]) == len(by_agent[a])
            and bool(by_agent[a])
        )

    allowed: dict[int, IntArray] = {}

    def types_of(a: int) -> IntArray:
        """Agent ``a``'s shift types inside the horizon and after last week's rest, by day
        (computed once)."""
        if a not in allowed:
            ks = agent_types(inst, a)
            ok = inst.type_start[ks] + inst.type_len[ks] <= inst.n_slots
            last_end = histories[a].last_end
            if last_end is not None:
                ok &= inst.type_start[ks] >= last_end + inst.layout.rest
            allowed[a] = ks[ok]
        return allowed[a]

    def week_rules(a: int, bounds: _Spreads) -> _WeekRules:
        min_p, max_p, _ = limits_of(inst, a)
        lo_above = min(bounds.above[0], above_of[a])
        hi_above = max(bounds.above[1], above_of[a])
        return _WeekRules(
            types=types_of(a),
            paid_range=(max(min_p, min_p + lo_above), min(max_p, min_p + hi_above)),
            late_range=(min(bounds.late[0], late_of[a]), max(bounds.late[1], late_of[a])),
            weekend_range=(
                min(bounds.weekend[0], weekend_of[a]),
                max(bounds.weekend[1], weekend_of[a]),
            ),
            history=histories[a],
        )

    def replace_week(a: int, week: list[PlacedShift]) -> list[int]:
        """Put ``week`` in place of agent ``a``'s shifts; returns their indices by start."""
        mine = by_agent[a]
        slots = mine[: len(week)]
        while len(slots) < len(week):
            out.append(week[0])  # a placeholder, replaced below
            slots.append(len(out) - 1)
        for i in mine[len(week) :]:
            dropped.add(i)
            changed.discard(i)
        for i, sh in zip(slots, week, strict=True):
            if out[i] != sh:
                changed.add(i)
            out[i] = sh
        by_agent[a] = list(slots)
        movable[a] = list(slots)
        paid_of[a] = sum(paid(sh) for sh in week)
        late_of[a] = sum(late(sh.start, sh.length) for sh in week)
        weekend_of[a] = sum(1 for sh in week if sh.day in WEEKEND)
        above_of[a] = paid_of[a] - limits_of(inst, a)[0]
        return sorted(slots, key=lambda i: out[i].start)

    def run_pass() -> int:
        """One pass over the agents in a seeded order; returns the improvements made."""
        nonlocal evals
        improved = 0
        bounds = _Spreads(
            above=(min(above_of.values()), max(above_of.values())),
            late=(min(late_of.values()), max(late_of.values())),
            weekend=(min(weekend_of.values()), max(weekend_of.values())),
        )
        for a in rng.permutation(order).tolist():
            if past_deadline():
                break
            g = int(inst.agent_group[a])
            skills = [inst.pidx(p) for p in inst.groups[g]]
            sk = np.array(skills, dtype=np.int64)
            mine = sorted(movable[a], key=lambda i: out[i].start)
            for i in mine:
                _book(need, out[i], +1.0)
            gain = _agent_gain(inst, skills, need, costs)
            if whole_week(a):
                evals += WEEK_EVALS
                assert tools is not None
                found = _best_week_of(
                    inst,
                    a,
                    week_rules(a, bounds),
                    gain,
                    costs,
                    tools,
                    tables,
                    minute_of,
                    late,
                    work,
                )
                now = sum(_current_value(out[i], need, costs) for i in mine)
                now -= _week_penalty(
                    [int(minute_of[out[i].start]) for i in mine],
                    inst.agents[a].preferred_start,
                    costs,
                )
                if found is not None and found[1] > now + 1e-6:
                    mine = replace_week(a, found[0])
                    improved += 1
            # the agent's timeline: fixed shifts (pinned, kept) and the movable ones' options
            others = [out[j] for j in by_agent[a] if j not in mine] + fixed_by_agent.get(a, [])
            last_end = histories[a].last_end
            fixed_spans = [(o.start, o.end) for o in others]
            if last_end is not None:
                fixed_spans.append((-(10**9), last_end))
            opts: list[_Options] = []
            for i in mine:
                sh = out[i]
                cands: list[tuple[int, int]] = [(sh.start, sh.length)]
                li = lengths.index(sh.length) if sh.length in lengths else -1
                for ds in range(-MOVE_SLOTS, MOVE_SLOTS + 1):
                    for dl in range(-MOVE_STEPS, MOVE_STEPS + 1):
                        if (ds, dl) == (0, 0) or li < 0 or not 0 <= li + dl < len(lengths):
                            continue
                        start, length = sh.start + ds, lengths[li + dl]
                        k = type_of.get((sh.day, start, length))
                        if k is None or not (inst.agent_type_ok[a, k] and inst.type_chunk_ok[g, k]):
                            continue
                        if start + length > n_t:
                            continue
                        if not _rest_ok(start, start + length, fixed_spans, lay.rest):
                            continue
                        cands.append((start, length))
                # the same start and length with the best inside is always an option
                starts = np.array([c[0] for c in cands[1:]] + [sh.start], dtype=np.int64)
                lens = np.array([c[1] for c in cands[1:]] + [sh.length], dtype=np.int64)
                evals += len(starts)
                found_insides = _insides(inst, tables, gain, starts, lens, costs.switch)
                opts.append(
                    _Options.of(
                        minute_of,
                        sh,
                        _current_value(sh, need, costs),
                        paid(sh),
                        found_insides,
                        starts,
                        lens,
                        tables.paid,
                    )
                )
            choice = _best_week(
                opts,
                fixed_mins=[
                    int(minute_of[o.start]) for o in others if 0 <= o.start < int(inst.day_slot[7])
                ],
                rest=lay.rest,
                paid_else=paid_of[a] - sum(paid(out[i]) for i in mine),
                late_else=late_of[a] - sum(late(out[i].start, out[i].length) for i in mine),
                limits=limits_of(inst, a)[:2],
                spreads=bounds,
                now_above=above_of[a],
                now_late=late_of[a],
                pref=inst.agents[a].preferred_start,
                costs=costs,
            )
            for i, o, c in zip(mine, opts, choice, strict=True):
                new = o.shift(c, sk)
                if c != 0:
                    paid_of[a] += paid(new) - paid(out[i])
                    late_of[a] += late(new.start, new.length) - late(out[i].start, out[i].length)
                    out[i] = new
                    changed.add(i)
                    improved += 1
                _book(need, new, -1.0)
            above_of[a] = paid_of[a] - limits_of(inst, a)[0]
        return improved

    passes = 0

    def settle() -> bool:
        """Passes until one changes nothing (True), ``MAX_PASSES`` or the deadline."""
        nonlocal passes
        for _ in range(MAX_PASSES):
            if not order or past_deadline():
                return False
            passes += 1
            if not run_pass():
                return True
        return False

    week_end = int(inst.day_slot[7])

    def cost() -> float:
        """The objective's terms the passes change: coverage, switches, preferred start and
        start instability (the spreads over agents never grow in a pass)."""
        total = float((costs.under[:, None] * np.maximum(need, 0.0)).sum())
        total += float((costs.over[:, None] * np.maximum(-need, 0.0)).sum())
        live = [sh for i, sh in enumerate(out) if i not in dropped]
        total += costs.switch * count_switches(live)
        for a in agents:
            shifts = [out[i] for i in by_agent[a]] + fixed_by_agent.get(a, [])
            mins = [int(minute_of[sh.start]) for sh in shifts if 0 <= sh.start < week_end]
            total += _week_penalty(mins, inst.agents[a].preferred_start, costs)
        return total

    settled = settle()
    cells = inst.required > 0
    undone = 0  # kicks undone in a row
    for kick in range(kicks):
        if not settled or undone >= KICK_PATIENCE or past_deadline():
            break
        # what a pass changes, to undo the kick if it does not pay
        kept_out, kept_need = list(out), need.copy()
        kept_lists = [{a: list(v) for a, v in m.items()} for m in (by_agent, movable)]
        kept_counts = [dict(c) for c in (paid_of, above_of, late_of, weekend_of)]
        kept_sets = [set(s) for s in (dropped, changed)]
        before = cost()
        # every agent re-planned once against a shaken requirement: half an agent more on
        # every required cell (weeks that work more of them win), or noise of that size
        shake = KICK_AGENTS if kick % 2 == 0 else rng.normal(0.0, KICK_AGENTS, need.shape)
        need[cells] += np.broadcast_to(shake, need.shape)[cells]
        run_pass()
        need[cells] -= np.broadcast_to(shake, need.shape)[cells]
        settled = settle()
        if cost() < before - 1e-6:
            undone = 0
            continue
        undone += 1
        out[:] = kept_out
        need[...] = kept_need
        for mapping, old in zip((by_agent, movable), kept_lists, strict=True):
            mapping.clear()
            mapping.update(old)
        for counter, old_count in zip(
            (paid_of, above_of, late_of, weekend_of), kept_counts, strict=True
        ):
            counter.clear()
            counter.update(old_count)
        for group, old_set in zip((dropped, changed), kept_sets, strict=True):
            group.clear()
            group.update(old_set)
        settled = True
    return [sh for i, sh in enumerate(out) if i not in dropped], len(changed), passes


def count_switches(shifts: Sequence[PlacedShift]) -> int:
    """Project changes between consecutive work slots inside each shift."""
    total = 0
    for sh in shifts:
        last = -1
        for act, p in zip(sh.activity, sh.project, strict=True):
            if act != WORK or p < 0:
                continue
            if last >= 0 and p != last:
                total += 1
            last = p
    return total
