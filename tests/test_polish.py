"""Stage 4 of the scheduler: the per-shift dynamic programme against brute force, and the polish
against the independent validator on a week it must improve."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest

from scheduler._agents import History
from scheduler._instance import Instance, build_instance
from scheduler._intraday import BREAK, LUNCH, WORK, PlacedShift, work_cover
from scheduler._polish import PolishCosts, polish
from scheduler._shiftdp import NEG, best_shift
from scheduler.validator import validate_schedule
from wfm.domain import Agent, ShiftRules, Skill

TZ = "Europe/Berlin"
WEEK = dt.date(2026, 4, 27)


def _desk_costs() -> PolishCosts:
    """One project: 10 per agent-hour under, 1 over, 0.5 per switch, nothing else."""
    return PolishCosts(
        under=np.array([10.0 * 0.25]),
        over=np.array([1.0 * 0.25]),
        switch=0.5,
        preferred_per_slot=0.0,
        instability_per_slot=0.0,
    )


def _brute_force(
    gain: np.ndarray,
    lunch: tuple[int, int, int] | None,
    windows: list[tuple[int, int]],
    blen: int,
    block: int,
    switch_w: float,
) -> float:
    """Every lunch start, break start and project sequence, checked rule by rule."""
    n_s, n = gain.shape
    lunch_starts = [None] if lunch is None else list(range(lunch[1], lunch[2] + 1))
    best = NEG
    for lunch_at in lunch_starts:
        for breaks in itertools.product(*[range(lo, hi + 1) for lo, hi in windows]):
            periods = [(b, b + blen) for b in breaks]
            if lunch_at is not None and lunch is not None:
                periods.append((lunch_at, lunch_at + lunch[0]))
            periods.sort()
            if any(e > n for _, e in periods) or any(s == 0 for s, _ in periods):
                continue
            # apart: at least one work slot between two of them, and after the last
            if any(b[0] <= a[1] for a, b in itertools.pairwise(periods)):
                continue
            if periods and periods[-1][1] >= n:
                continue
            off = np.zeros(n, dtype=bool)
            for s, e in periods:
                off[s:e] = True
            work = np.flatnonzero(~off).tolist()
            for seq in itertools.product(range(n_s), repeat=len(work)):
                values = [gain[j, t] for j, t in zip(seq, work, strict=True)]
                if any(v <= NEG for v in values):
                    continue
                runs = [len(list(g)) for _, g in itertools.groupby(seq)]
                if len(runs) > 1 and min(runs) < block:
                    continue
                best = max(best, float(sum(values)) - switch_w * (len(runs) - 1))
    return best


@pytest.mark.parametrize("seed", range(24))
def test_best_shift_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 13))
    n_s = int(rng.integers(1, 3))
    gain = rng.normal(0.0, 1.0, size=(n_s, n)).round(2)
    gain[rng.random(size=gain.shape) < 0.1] = NEG  # some closed slots
    lunch = None
    if rng.random() < 0.7:
        length = int(rng.integers(1, 3))
        lo = int(rng.integers(2, 5))
        lunch = (length, lo, min(lo + 2, n - 1 - length))
    n_b = int(rng.integers(0, 3))
    blen = 1
    windows = []
    span = n - 2 - blen + 1
    for j in range(n_b):
        windows.append((1 + span * j // n_b, 1 + span * (j + 1) // n_b - 1))
    block = int(rng.integers(2, 4))
    switch_w = float(rng.choice([0.0, 0.3, 1.5]))
    activity = np.zeros(n, dtype=np.int64)
    project = np.full(n, -1, dtype=np.int64)
    win_lo = np.array([w[0] for w in windows], dtype=np.int64)
    win_hi = np.array([w[1] for w in windows], dtype=np.int64)
    got = best_shift(
        np.ascontiguousarray(gain),
        0 if lunch is None else lunch[0],
        0 if lunch is None else lunch[1],
        0 if lunch is None else lunch[2],
        win_lo,
        win_hi,
        blen,
        block,
        switch_w,
        activity,
        project,
    )
    expected = _brute_force(gain, lunch, windows, blen, block, switch_w)
    if expected <= NEG:
        assert got <= NEG
        return
    assert got == pytest.approx(expected, abs=1e-9)
    # the returned inside has the value it claims
    work = [i for i in range(n) if activity[i] == 0]
    value = sum(gain[project[i], i] for i in work)
    seq = [int(project[i]) for i in work]
    switches = sum(1 for a, b in itertools.pairwise(seq) if a != b)
    assert value - switch_w * switches == pytest.approx(got, abs=1e-9)


def _frame(inst_slot_ts: pd.DatetimeIndex, shifts: list[PlacedShift], agent: str) -> pd.DataFrame:
    names = {WORK: "work", LUNCH: "lunch", BREAK: "break"}
    rows = []
    for sh in shifts:
        for i, act in enumerate(sh.activity):
            t = inst_slot_ts[sh.start + i]
            rows.append(
                (agent, t, t + pd.Timedelta(minutes=15), names[act], "desk" if act == WORK else "")
            )
    return pd.DataFrame(rows, columns=["agent", "start", "end", "activity", "project"])


def test_polish_moves_lunch_and_breaks_out_of_the_peak() -> None:
    """One agent, one 8.5-h shift 08:00–16:30; one agent needed all day except 12:00–13:00
    and 14:00–14:15. A placement with lunch at 11:00 and breaks at the start of each part is
    re-placed: lunch inside the quiet hour, and a break in the quiet quarter."""
    rules = ShiftRules()
    agent = Agent("A1", (Skill("desk"),), min_hours_week=0.0, max_hours_week=40.0)
    day = pd.Timestamp("2026-04-27 08:00", tz=TZ)
    ts = pd.date_range(day, periods=34, freq="15min")
    need = [0.0 if (t.hour == 12 or (t.hour == 14 and t.minute == 0)) else 1.0 for t in ts]
    req = pd.DataFrame({"project": "desk", "ts": ts, "agents": need})
    inst = build_instance(req, [agent], rules, tz=TZ, week=WEEK)
    lay = inst.layout
    start = int(np.flatnonzero(inst.slot_local == day)[0])
    length = 34
    n_lunch = lay.lunch_slots(length)
    activity = [WORK] * length
    activity[lay.lunch_lo : lay.lunch_lo + n_lunch] = [LUNCH] * n_lunch
    activity[1] = BREAK
    activity[length - 3] = BREAK
    bad = PlacedShift(0, 0, start, tuple(activity), tuple(0 if a == WORK else -1 for a in activity))
    costs = _desk_costs()
    (good,), changed, _ = polish(
        inst, [bad], [], histories=[History()], costs=costs, deadline=None, seed=0
    )
    assert changed == 1
    before = np.clip(inst.required - work_cover(inst, [bad]), 0, None).sum()
    after = np.clip(inst.required - work_cover(inst, [good]), 0, None).sum()
    assert after < before
    # lunch and both breaks fall in quiet time (5 quiet quarter-hours for 4 off ones)
    off = [i for i, a in enumerate(good.activity) if a != WORK]
    assert len(off) == 4
    assert all(need[i] == 0.0 for i in off), [str(ts[i]) for i in off]
    frame = _frame(inst.slot_local, [good], "A1")
    report = validate_schedule(frame, [agent], rules, tz=TZ, requirements=req)
    assert report.ok, report.violations


def test_polish_moves_hours_between_days_within_the_contract() -> None:
    """An agent paid exactly 16 h a week works two 8-h (paid) shifts, Monday and Tuesday from
    08:00. Monday needs one agent 08:00–19:00, Tuesday only 08:00–12:00: only a joint move
    (Monday longer, Tuesday shorter, still 16 h paid) lowers under-coverage."""
    rules = ShiftRules()
    agent = Agent("A1", (Skill("desk"),), min_hours_week=16.0, max_hours_week=16.0)
    monday = pd.date_range(pd.Timestamp("2026-04-27 08:00", tz=TZ), periods=12 * 4, freq="15min")
    ts = pd.DatetimeIndex([*monday, *(monday + pd.Timedelta(days=1))])
    need = [
        1.0 if (t.day == 27 and t.hour < 19) or (t.day == 28 and t.hour < 12) else 0.0 for t in ts
    ]
    req = pd.DataFrame({"project": "desk", "ts": ts, "agents": need})
    inst = build_instance(req, [agent], rules, tz=TZ, week=WEEK)
    lay = inst.layout
    length = 34  # 8.5 h: 30-min lunch, 8 h paid
    shifts = []
    for day in (0, 1):
        start = int(np.flatnonzero(inst.slot_local == ts[0] + pd.Timedelta(days=day))[0])
        activity = [WORK] * length
        activity[lay.lunch_lo : lay.lunch_lo + lay.lunch_slots(length)] = [LUNCH] * 2
        activity[5] = BREAK
        activity[length - 5] = BREAK
        project = tuple(0 if a == WORK else -1 for a in activity)
        shifts.append(PlacedShift(0, day, start, tuple(activity), project))
    costs = _desk_costs()
    better, changed, _ = polish(
        inst, shifts, [], histories=[History()], costs=costs, deadline=None, seed=0
    )
    assert changed >= 1
    paid = [sh.length - sum(1 for a in sh.activity if a == LUNCH) for sh in better]
    assert sum(paid) == 16 * 4  # the contract, exactly
    assert paid[0] > paid[1]  # hours moved to Monday
    before = np.clip(inst.required - work_cover(inst, shifts), 0, None).sum()
    after = np.clip(inst.required - work_cover(inst, better), 0, None).sum()
    assert after < before
    report = validate_schedule(_frame(inst.slot_local, better, "A1"), [agent], rules, tz=TZ)
    assert report.ok, report.violations


def _desk_shift(inst: Instance, day: pd.Timestamp, d: int, length: int) -> PlacedShift:
    lay = inst.layout
    start = int(np.flatnonzero(inst.slot_local == day)[0])
    activity = [WORK] * length
    n_lunch = lay.lunch_slots(length)
    activity[lay.lunch_lo : lay.lunch_lo + n_lunch] = [LUNCH] * n_lunch
    activity[5] = BREAK
    activity[length - 5] = BREAK
    project = tuple(0 if a == WORK else -1 for a in activity)
    return PlacedShift(0, d, start, tuple(activity), project)


def _monday_and_wednesday(
    needed: int,
) -> tuple[ShiftRules, Agent, list[pd.Timestamp], pd.DataFrame, Instance]:
    """An agent paid exactly 8 h a week; requirement rows Monday 27 and Wednesday 29 April
    08:00–16:30, one agent needed on day ``needed`` of the month, none on the other."""
    rules = ShiftRules()
    agent = Agent("A1", (Skill("desk"),), min_hours_week=8.0, max_hours_week=8.0)
    days = [pd.Timestamp(f"2026-04-{d} 08:00", tz=TZ) for d in (27, 29)]
    ts = pd.DatetimeIndex([t for day in days for t in pd.date_range(day, periods=34, freq="15min")])
    need = [1.0 if t.day == needed else 0.0 for t in ts]
    req = pd.DataFrame({"project": "desk", "ts": ts, "agents": need})
    return rules, agent, days, req, build_instance(req, [agent], rules, tz=TZ, week=WEEK)


def test_whole_week_move_puts_the_shift_on_the_day_that_needs_it() -> None:
    """One 8-h (paid) shift a week on Monday, where nobody is needed; Wednesday needs one agent
    08:00–16:30. Moves inside a day cannot help; the whole-week move puts the shift on
    Wednesday, and the validator accepts the week."""
    rules, agent, days, req, inst = _monday_and_wednesday(needed=29)
    monday = _desk_shift(inst, days[0], 0, 34)
    costs = _desk_costs()
    kept, changed, _ = polish(
        inst,
        [monday],
        [],
        histories=[History()],
        costs=costs,
        deadline=None,
        seed=0,
        week_moves=False,
    )
    assert [sh.day for sh in kept] == [0]  # the moves inside a day keep Monday
    (moved,), changed, _ = polish(
        inst, [monday], [], histories=[History()], costs=costs, deadline=None, seed=0
    )
    assert changed == 1 and moved.day == 2
    under = np.clip(inst.required - work_cover(inst, [moved]), 0, None).sum() / 4
    # 8.5 h required; a 34-slot shift works 8 h paid less two 15-min breaks: 7.5 h
    assert under == pytest.approx(1.0)
    report = validate_schedule(
        _frame(inst.slot_local, [moved], "A1"), [agent], rules, tz=TZ, requirements=req
    )
    assert report.ok, report.violations
    assert report.under_h == pytest.approx(1.0)


def test_whole_week_move_keeps_rest_after_last_week() -> None:
    """Last week's shift ended Sunday 23:00; Monday needs one agent from 08:00. With 11 h rest
    the week may not start before Monday 10:00, whatever the coverage says."""
    _, _, days, _, inst = _monday_and_wednesday(needed=27)
    wednesday = _desk_shift(inst, days[1], 2, 34)
    last_end = int(np.flatnonzero(inst.slot_local == pd.Timestamp("2026-04-27 00:00", tz=TZ))[0])
    last_end -= 4  # Sunday 23:00
    costs = _desk_costs()
    moved, _, _ = polish(
        inst,
        [wednesday],
        [],
        histories=[History(last_end=last_end)],
        costs=costs,
        deadline=None,
        seed=0,
    )
    assert 0 in [sh.day for sh in moved]  # the week moved to Monday …
    assert all(sh.start >= last_end + inst.layout.rest for sh in moved)  # … after the rest
    paid = [sh.length - sum(1 for a in sh.activity if a == LUNCH) for sh in moved]
    assert sum(paid) == 8 * 4
