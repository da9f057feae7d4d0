"""The optimizer's view of one week: 15-minute slots in real time, requirements and opening per
project and slot, shift types per day, agent groups and who may work which shift type.

Time is counted in *slots* of 15 real minutes from the local Monday 00:00 of the week (so a
23-hour DST day has 92 slots and a 25-hour day 100); the horizon runs ``max_shift_h`` past the
next Monday so Sunday-night shifts fit. A shift *type* is (day, start slot, length in slots):
it starts on the local ``start_grid_min`` grid of its day and lasts a real length between
``min_shift_h`` and ``max_shift_h`` in ``shift_step_min`` steps.

Inside a shift, positions are fixed by rule: a lunch of ``lunch_slots(L)`` slots starting
``lunch_lo … lunch_hi`` slots in (shifts longer than ``lunch_over_h`` only), ``breaks(L)``
breaks of ``break_slots`` each, and, for agents with several skills, the project is chosen per
*chunk* of ``chunk_slots`` consecutive slots from the shift's start (the last chunk absorbs the
remainder) so that every block on one project keeps ``min_project_block_h`` of work.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd

from wfm.domain import Agent, ShiftRules
from wfm.errors import FrameError, InputError

SLOT_MIN = 15
SLOT_S = SLOT_MIN * 60

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


def _slots(minutes: float, name: str) -> int:
    if abs(minutes / SLOT_MIN - round(minutes / SLOT_MIN)) > 1e-9:
        raise InputError(
            f"rules: {name} is {minutes:g} min, not a multiple of {SLOT_MIN} min",
            field=name,
            expected=f"a multiple of {SLOT_MIN} min (the optimizer plans in {SLOT_MIN}-min slots)",
        )
    return round(minutes / SLOT_MIN)


@dataclass(frozen=True, slots=True)
class Layout:
    """Slot counts derived from the rules (every duration a whole number of slots)."""

    min_len: int
    max_len: int
    step: int
    grid: int
    lunch_over: int
    lunch_lo: int
    lunch_hi: int
    lunch_min: int
    lunch_max: int
    break_len: int
    break_every: int
    block: int
    rest: int

    @staticmethod
    def from_rules(rules: ShiftRules) -> Layout:
        block = _slots(rules.min_project_block_h * 60, "min_project_block_h")
        lunch_min = _slots(rules.lunch_min_min, "lunch_min_min")
        break_len = _slots(rules.break_min, "break_min")
        return Layout(
            min_len=_slots(rules.min_shift_h * 60, "min_shift_h"),
            max_len=_slots(rules.max_shift_h * 60, "max_shift_h"),
            step=_slots(rules.shift_step_min, "shift_step_min"),
            grid=_slots(rules.start_grid_min, "start_grid_min"),
            lunch_over=_slots(rules.lunch_over_h * 60, "lunch_over_h"),
            lunch_lo=_slots(rules.lunch_start_after_h * 60, "lunch_start_after_h"),
            lunch_hi=_slots(rules.lunch_start_before_h * 60, "lunch_start_before_h"),
            lunch_min=lunch_min,
            lunch_max=_slots(rules.lunch_max_min, "lunch_max_min"),
            break_len=break_len,
            break_every=_slots(rules.break_every_h * 60, "break_every_h"),
            block=block,
            rest=math.ceil(rules.min_rest_h * 60 / SLOT_MIN - 1e-9),
        )

    def lengths(self) -> list[int]:
        """Allowed shift lengths in slots."""
        first = -(-self.min_len // self.step) * self.step
        return list(range(first, self.max_len + 1, self.step))

    def has_lunch(self, length: int) -> bool:
        return length > self.lunch_over

    def lunch_slots(self, length: int) -> int:
        """The lunch length used for a shift: the allowed length that leaves the most work
        (a longer lunch can save a break; ties go to the shorter lunch); 0 without lunch."""
        if not self.has_lunch(length):
            return 0
        best, best_off = self.lunch_min, 10**9
        for lunch in range(self.lunch_min, self.lunch_max + 1):
            off = lunch + self.breaks_for(length - lunch) * self.break_len
            if off < best_off:
                best, best_off = lunch, off
        return best

    def breaks_for(self, paid: int) -> int:
        return paid // self.break_every if self.break_every > 0 else 0

    def breaks(self, length: int) -> int:
        """Breaks in a shift of ``length`` slots (one per full break_every of paid time)."""
        return self.breaks_for(length - self.lunch_slots(length))

    def paid(self, length: int) -> int:
        """Paid slots of a shift (length minus lunch)."""
        return length - self.lunch_slots(length)

    def work(self, length: int) -> int:
        """Slots at work (paid minus breaks)."""
        return self.paid(length) - self.breaks(length) * self.break_len

    def chunk_len(self, length: int) -> int:
        """Slots per project chunk of a shift: a block of work plus room for the shift's
        lunch and one break (a shift without them switches on the block itself)."""
        extra = self.lunch_slots(length) + (self.break_len if self.breaks(length) else 0)
        return max(1, self.block + extra)

    def chunks(self, length: int) -> list[tuple[int, int]]:
        """Project chunks of a shift as (first offset, end offset); the last absorbs the
        remainder."""
        size = self.chunk_len(length)
        n = max(1, length // size)
        bounds = [i * size for i in range(n)] + [length]
        return [(bounds[i], bounds[i + 1]) for i in range(n)]


@dataclass(frozen=True, eq=False)
class Instance:
    """Everything the stages need, in slot units (see the module docstring)."""

    tz: str
    week: dt.date
    days: tuple[dt.date, ...]
    t0_s: int  # epoch seconds of slot 0 (local Monday 00:00)
    n_slots: int
    day_slot: IntArray  # slot of each local midnight, days 0..7 (7 = next Monday)
    slot_local: pd.DatetimeIndex
    projects: tuple[str, ...]
    required: FloatArray  # (P, T) agents required
    has_row: BoolArray  # (P, T)
    open_: BoolArray  # (P, T)
    agents: tuple[Agent, ...]
    layout: Layout
    max_days_week: int
    max_consecutive_days: int
    # shift types
    type_day: IntArray
    type_start: IntArray
    type_len: IntArray
    type_start_min: IntArray  # local minute of day of the start
    type_end_day: IntArray  # day index of the local date of the shift's last slot
    # groups of agents with the same skill set
    groups: tuple[tuple[str, ...], ...]
    agent_group: IntArray
    group_type_ok: BoolArray  # (G, K): every slot has an open project of the group
    agent_type_ok: BoolArray  # (A, K): available (days off, earliest start, latest end)
    type_chunk_ok: BoolArray  # (G, K): every project chunk has a project open throughout

    @property
    def n_types(self) -> int:
        return len(self.type_day)

    def pidx(self, project: str) -> int:
        return self.projects.index(project)

    def ts(self, slot: int) -> pd.Timestamp:
        return pd.Timestamp((self.t0_s + slot * SLOT_S) * 10**9, tz="UTC").tz_convert(self.tz)


def _local_epoch(day: dt.date, minute: int, zone: ZoneInfo) -> int | None:
    """Epoch seconds of local ``day`` + ``minute``; None when that wall time does not exist."""
    naive = dt.datetime.combine(day, dt.time(minute // 60, minute % 60))
    aware = naive.replace(tzinfo=zone)
    back = aware.astimezone(dt.UTC).astimezone(zone)
    if back.replace(tzinfo=None) != naive:
        return None
    return int(aware.timestamp())


def _midnight(day: dt.date, zone: ZoneInfo) -> int:
    for minute in range(0, 180, SLOT_MIN):  # a zone may skip midnight itself
        epoch = _local_epoch(day, minute, zone)
        if epoch is not None:
            return epoch
    raise InputError(f"no local midnight on {day}", field="tz")


def _requirements(
    frame: pd.DataFrame, tz: str, t0_s: int, n_slots: int
) -> tuple[tuple[str, ...], dict[str, FloatArray], dict[str, BoolArray]]:
    for column in ("project", "ts", "agents"):
        if column not in frame.columns:
            raise FrameError(
                f"requirements: column {column!r} is missing",
                field=column,
                expected="columns project, ts, agents",
            )
    ts = frame["ts"]
    if not isinstance(ts.dtype, pd.DatetimeTZDtype):
        try:
            parsed = pd.to_datetime(ts, utc=True, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise FrameError(
                f"requirements: ts is not tz-aware ISO 8601 ({exc})",
                field="ts",
                expected="tz-aware ISO 8601 timestamps",
            ) from exc
    else:
        parsed = ts.dt.tz_convert("UTC")
    epoch = ((parsed - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(np.int64)
    agents = pd.to_numeric(frame["agents"], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(agents) | (agents < 0))
    if bad.size:
        row = int(bad[0])
        raise FrameError(
            f"requirements: agents in row {row} is {frame['agents'].iloc[row]!r}",
            field="agents",
            row=row,
            expected="a number of agents >= 0",
        )
    projects_col = frame["project"].astype(str).to_numpy()
    projects = tuple(sorted(set(projects_col.tolist())))
    # interval length: gcd of the gaps between a project's interval starts (15/30/60 min)
    gcd = 0
    for project in projects:
        gaps = np.diff(np.unique(epoch[projects_col == project]))
        for gap in np.unique(gaps):
            gcd = math.gcd(gcd, int(gap))
    interval_s = SLOT_S if gcd == 0 else gcd
    if interval_s % SLOT_S or interval_s > 3600:
        raise FrameError(
            f"requirements: interval starts are {interval_s / 60:g} min apart; expected a "
            "15, 30 or 60-min grid",
            field="ts",
            expected="interval starts on a 15, 30 or 60-min grid",
        )
    per = interval_s // SLOT_S
    required: dict[str, FloatArray] = {p: np.zeros(n_slots) for p in projects}
    has_row: dict[str, BoolArray] = {p: np.zeros(n_slots, dtype=bool) for p in projects}
    offsets = (epoch - t0_s) / SLOT_S
    off_grid = np.flatnonzero(offsets != np.round(offsets))
    if off_grid.size:
        row = int(off_grid[0])
        raise FrameError(
            f"requirements: ts in row {row} is not on the {SLOT_MIN}-min grid",
            field="ts",
            row=row,
            expected=f"interval starts on the {SLOT_MIN}-min grid",
        )
    first = offsets.astype(np.int64)
    for i in np.flatnonzero((first + per > 0) & (first < n_slots)):
        lo, hi = max(0, int(first[i])), min(n_slots, int(first[i]) + per)
        project = str(projects_col[i])
        if has_row[project][lo:hi].any():
            raise FrameError(
                f"requirements: row {int(i)} repeats project {project} at {ts.iloc[int(i)]}",
                field="ts",
                row=int(i),
                expected="one row per project and interval",
            )
        required[project][lo:hi] = agents[i]
        has_row[project][lo:hi] = True
    return projects, required, has_row


def _prefix(mask: BoolArray) -> IntArray:
    return np.concatenate(([0], np.cumsum(mask, dtype=np.int64)))


def build_instance(
    requirements: pd.DataFrame,
    agents: Sequence[Agent],
    rules: ShiftRules,
    *,
    tz: str,
    week: dt.date,
) -> Instance:
    """The week's instance; raises ``InputError`` for inputs the optimizer cannot plan."""
    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError) as exc:
        raise InputError(
            f"tz: unknown time zone {tz!r}", field="tz", expected="an IANA zone"
        ) from exc
    if week.weekday() != 0:
        raise InputError(
            f"week: {week.isoformat()} is a {week:%A}, not a Monday",
            field="week",
            expected="the Monday that starts the week",
        )
    if not agents:
        raise InputError("agents: the list is empty", field="agents", expected="at least one agent")
    names = [a.agent for a in agents]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise InputError(f"agents: agent {dup} is listed twice", field="agent", row=dup)
    layout = Layout.from_rules(rules)
    if not layout.lengths():
        raise InputError(
            "rules: no shift length between min_shift_h and max_shift_h is a multiple of "
            "shift_step_min",
            field="shift_step_min",
        )
    days = tuple(week + dt.timedelta(days=d) for d in range(8))
    midnights = [_midnight(d, zone) for d in days]
    t0_s = midnights[0]
    day_slot = np.array([(m - t0_s) // SLOT_S for m in midnights], dtype=np.int64)
    if any((m - t0_s) % SLOT_S for m in midnights):
        raise InputError(
            f"tz: {tz} has offsets that are not whole quarter hours",
            field="tz",
            expected="a zone with offsets in whole quarter hours",
        )
    n_slots = int(day_slot[7]) + layout.max_len
    slot_local = pd.DatetimeIndex(
        pd.to_datetime((t0_s + np.arange(n_slots) * SLOT_S) * 10**9, utc=True)
    ).tz_convert(tz)

    req_projects, req, rows = _requirements(requirements, tz, t0_s, n_slots)
    skill_projects = {p for a in agents for p in a.projects}
    projects = tuple(sorted(set(req_projects) | skill_projects))
    n_p = len(projects)
    required = np.zeros((n_p, n_slots))
    has_row = np.zeros((n_p, n_slots), dtype=bool)
    open_ = np.zeros((n_p, n_slots), dtype=bool)
    for i, p in enumerate(projects):
        if p in req:
            required[i] = req[p]
            has_row[i] = rows[p]
        hours = rules.opening_for(p)
        if hours is None:
            open_[i] = has_row[i]
        else:
            open_[i] = np.fromiter(
                (hours.is_open(t.to_pydatetime()) for t in slot_local), dtype=bool, count=n_slots
            )

    # shift types
    t_day, t_start, t_len, t_min = [], [], [], []
    lengths = layout.lengths()
    for d in range(7):
        for minute in range(0, 1440, layout.grid * SLOT_MIN):
            epoch = _local_epoch(days[d], minute, zone)
            if epoch is None:
                continue
            s = (epoch - t0_s) // SLOT_S
            for length in lengths:
                t_day.append(d)
                t_start.append(s)
                t_len.append(length)
                t_min.append(minute)
    type_day = np.array(t_day, dtype=np.int64)
    type_start = np.array(t_start, dtype=np.int64)
    type_len = np.array(t_len, dtype=np.int64)
    type_start_min = np.array(t_min, dtype=np.int64)
    type_end = type_start + type_len

    # groups by skill set
    group_of: dict[tuple[str, ...], int] = {}
    agent_group = np.zeros(len(agents), dtype=np.int64)
    for i, a in enumerate(agents):
        key = tuple(sorted(a.projects))
        agent_group[i] = group_of.setdefault(key, len(group_of))
    groups = tuple(sorted(group_of, key=group_of.__getitem__))

    n_g, n_k = len(groups), len(type_day)
    group_type_ok = np.zeros((n_g, n_k), dtype=bool)
    type_chunk_ok = np.zeros((n_g, n_k), dtype=bool)
    open_prefix = {p: _prefix(open_[i]) for i, p in enumerate(projects)}
    for g, skills in enumerate(groups):
        workable = np.zeros(n_slots, dtype=bool)
        for p in skills:
            workable |= open_[projects.index(p)]
        pre = _prefix(workable)
        group_type_ok[g] = (pre[type_end] - pre[type_start]) == type_len
        chunk_ok = np.ones(n_k, dtype=bool)
        for length in lengths:
            sel = np.flatnonzero(type_len == length)
            for c_lo, c_hi in layout.chunks(length):
                lo, hi = type_start[sel] + c_lo, type_start[sel] + c_hi
                any_open = np.zeros(len(sel), dtype=bool)
                for p in skills:
                    pp = open_prefix[p]
                    any_open |= (pp[hi] - pp[lo]) == (c_hi - c_lo)
                chunk_ok[sel] &= any_open
        type_chunk_ok[g] = chunk_ok & group_type_ok[g]

    # availability per agent and type
    end_local = slot_local[np.minimum(type_end - 1, n_slots - 1)]
    end_date_idx = np.array([(d.date() - week).days for d in end_local], dtype=np.int64)
    agent_type_ok = np.ones((len(agents), n_k), dtype=bool)
    for i, a in enumerate(agents):
        masks = availability_masks(
            a, week, days, tz, t0_s, type_day, type_start_min, type_end, end_date_idx
        )
        for mask in masks.values():
            agent_type_ok[i] &= mask
    return Instance(
        tz=tz,
        week=week,
        days=days,
        t0_s=t0_s,
        n_slots=n_slots,
        day_slot=day_slot,
        slot_local=slot_local,
        projects=projects,
        required=required,
        has_row=has_row,
        open_=open_,
        agents=tuple(agents),
        layout=layout,
        max_days_week=rules.max_days_week,
        max_consecutive_days=rules.max_consecutive_days,
        type_day=type_day,
        type_start=type_start,
        type_len=type_len,
        type_start_min=type_start_min,
        type_end_day=end_date_idx,
        groups=groups,
        agent_group=agent_group,
        group_type_ok=group_type_ok,
        agent_type_ok=agent_type_ok,
        type_chunk_ok=type_chunk_ok,
    )


def availability_masks(
    agent: Agent,
    week: dt.date,
    days: Sequence[dt.date],
    tz: str,
    t0_s: int,
    type_day: IntArray,
    type_start_min: IntArray,
    type_end: IntArray,
    end_date_idx: IntArray,
) -> dict[str, BoolArray]:
    """Which shift types the agent may work, per availability rule (``days_off``,
    ``earliest_start``, ``latest_end``): True = allowed."""
    n_k = len(type_day)
    off_ok = np.ones(n_k, dtype=bool)
    for off in agent.days_off:
        idx = (off - week).days
        off_ok &= ~((type_day <= idx) & (end_date_idx >= idx))
    early_ok = np.ones(n_k, dtype=bool)
    if agent.earliest_start is not None:
        early_ok = type_start_min >= agent.earliest_start.hour * 60 + agent.earliest_start.minute
    late_ok = np.ones(n_k, dtype=bool)
    if agent.latest_end is not None:
        next_day = agent.earliest_start is not None and agent.latest_end <= agent.earliest_start
        deadlines = []
        for d in range(7):
            day = days[d] + dt.timedelta(days=1 if next_day else 0)
            stamp = pd.Timestamp(dt.datetime.combine(day, agent.latest_end)).tz_localize(
                tz, ambiguous=False, nonexistent="shift_forward"
            )
            deadlines.append((stamp.value // 10**9 - t0_s) // SLOT_S)
        late_ok = type_end <= np.array(deadlines, dtype=np.int64)[type_day]
    return {"days_off": off_ok, "earliest_start": early_ok, "latest_end": late_ok}
