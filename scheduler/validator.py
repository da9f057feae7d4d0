"""The independent schedule validator: checks every hard shift rule on any schedule frame and
recomputes coverage against the requirements.

It shares no code with the scheduler's model (a check that shares code with what it checks is
no check): it imports only the standard library, numpy, pandas and the leaf layer, and must
stay that way (``tests/test_validator.py`` parses its imports).

Definitions
-----------
- A *segment* is one schedule row ``[start, end)``. Activities ``work``, ``lunch``, ``break``
  and ``training`` make up shifts; ``off`` rows are ignored.
- A *shift* is an agent's maximal run of segments that touch (next start == previous end).
  Its *day* is the local calendar date of its start; its *week* the ISO week (Mon–Sun) of
  that date. Lengths are real elapsed time (tz-aware instants), so a 22:00–06:00 shift on
  the autumn fall-back night lasts 9 h and on the spring-forward night 7 h.
- *Paid* time = shift length minus lunch (breaks and training are paid). Contract hours
  (``min_hours_week``/``max_hours_week``) and the break count use paid time.
- A work segment with an empty ``project`` may be on any of the agent's projects; the
  validator books it on the agent's *preferred* project (first skill) everywhere: opening
  hours, project blocks and coverage.
- Segment boundaries lie on the local grid of ``gcd(start_grid_min, shift_step_min,
  break_min, lunch_min_min, lunch_max_min)`` minutes; shift starts on ``start_grid_min``.
- ``earliest_start``/``latest_end`` are local wall times on the shift's day; when both are
  given and ``latest_end <= earliest_start`` the latest end is on the next day (night work).
- ``days_off``: no part of a shift may lie on a day off.
- Weekly rules are checked for every ISO week in which any shift of the schedule starts, for
  every agent passed (an agent without shifts that week has 0 paid hours).
- Rest and consecutive days count the ``previous`` schedule (usually last week); only
  violations involving a shift of ``schedule`` are reported.
- Coverage: per project and interval, ``scheduled`` = agents at work on the project, the
  time-weighted share of the interval (a 15-min work segment in a 30-min interval counts
  0.5). Only ``work`` counts. ``under``/``over`` are the positive parts of
  ``required - scheduled``; ``under_h``/``over_h`` sum them times the interval length in hours.
  Intervals with scheduled work but no requirement row appear with ``required`` 0.

Rule names (``Violation.rule``): see ``RULES``.

Frames that cannot be read (missing columns, naive or unparsable timestamps) raise
``FrameError``; broken rules are reported, never raised.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from wfm.contracts import ACTIVITIES
from wfm.domain import Agent, OpeningHours, ShiftRules
from wfm.errors import FrameError, InputError
from wfm.grid import INTERVAL_MINUTES, Grid, check_tz

__all__ = ["RULES", "ValidationReport", "Violation", "validate_schedule"]

RULES: dict[str, str] = {
    "segment": "a segment ends after it starts, on the segment grid, with a known activity",
    "overlap": "an agent's segments do not overlap",
    "unknown_agent": "every scheduled agent is in the agent list",
    "skill": "work is only on projects the agent holds",
    "opening": "no work on a project while it is closed",
    "day_off": "no shift on an agent's day off",
    "earliest_start": "shifts start no earlier than the agent's earliest start",
    "latest_end": "shifts end no later than the agent's latest end",
    "min_hours_week": "paid hours per week reach the contract minimum",
    "max_hours_week": "paid hours per week stay within the contract maximum",
    "max_days_week": "working days per week stay within the limit",
    "shift_length": "shift length within min_shift_h … max_shift_h",
    "shift_step": "shift length is a multiple of shift_step_min",
    "start_grid": "shifts start on the start_grid_min grid",
    "max_shifts_per_day": "at most max_shifts_per_day shifts per local day",
    "min_rest": "at least min_rest_h between shifts",
    "max_consecutive_days": "at most max_consecutive_days working days in a row",
    "lunch": "shifts over lunch_over_h have one lunch of allowed length in the allowed window",
    "break": "one break of break_min per full break_every_h paid hours, not next to lunch",
    "shift_edge": "a shift neither starts nor ends with a lunch or break",
    "project_block": "each block of work on one project lasts at least min_project_block_h",
}
"""Every rule the validator checks, by the name violations carry."""

_SHIFT_ACTIVITIES = frozenset({"work", "lunch", "break", "training"})
_EPS_S = 1e-6


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: its name (a key of ``RULES``), the agent, where it happens (a
    tz-aware instant, ``None`` when it has no place in time) and a readable detail."""

    rule: str
    agent: str
    start: pd.Timestamp | None
    detail: str

    def __str__(self) -> str:
        return f"{self.rule} [{self.agent}]: {self.detail}"


@dataclass(frozen=True, eq=False)
class ValidationReport:
    """The validator's verdict: violations (sorted by agent and time) and, when requirements
    were given, the recomputed coverage frame (``project, ts, required, scheduled, under,
    over``) with total under/over coverage in agent-hours."""

    violations: tuple[Violation, ...]
    coverage: pd.DataFrame | None = None
    under_h: float = 0.0
    over_h: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no rule is broken."""
        return not self.violations

    def by_rule(self) -> dict[str, int]:
        """How many violations each broken rule has, by rule name."""
        return dict(Counter(v.rule for v in self.violations))

    def __str__(self) -> str:
        if self.ok:
            return "schedule valid: no violations"
        lines = [f"{len(self.violations)} violations"]
        lines += [f"  {v}" for v in self.violations]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# segments and shifts


@dataclass(frozen=True, slots=True)
class _Seg:
    start: int  # epoch seconds
    end: int
    activity: str
    project: str  # "" when the row has none (resolved later for work)
    local_start: pd.Timestamp
    local_end: pd.Timestamp

    @property
    def seconds(self) -> int:
        return self.end - self.start


@dataclass(slots=True)
class _Shift:
    agent: str
    segs: list[_Seg] = field(default_factory=list)
    end: int = 0

    @property
    def start(self) -> int:
        return self.segs[0].start

    @property
    def local_start(self) -> pd.Timestamp:
        return self.segs[0].local_start

    @property
    def local_end(self) -> pd.Timestamp:
        return max(self.segs, key=lambda s: s.end).local_end

    @property
    def day(self) -> dt.date:
        return self.local_start.date()

    @property
    def seconds(self) -> int:
        return self.end - self.start

    @property
    def lunch_s(self) -> int:
        return sum(s.seconds for s in self.segs if s.activity == "lunch")

    @property
    def paid_s(self) -> int:
        return self.seconds - self.lunch_s

    @property
    def label(self) -> str:
        return f"shift {_span(self.local_start, self.local_end)}"


def _fmt(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d %H:%M")


def _span(a: pd.Timestamp, b: pd.Timestamp) -> str:
    return f"{_fmt(a)}–{b.strftime('%H:%M') if a.date() == b.date() else _fmt(b)}"


def _h(seconds: float) -> str:
    return f"{round(seconds / 3600, 2):g} h"


def _min(seconds: float) -> str:
    return f"{round(seconds / 60, 1):g} min"


def _times(frame: pd.DataFrame, column: str, tz: str, name: str) -> pd.DatetimeIndex:
    try:
        idx = pd.DatetimeIndex(frame[column])
    except (TypeError, ValueError) as exc:
        raise FrameError(
            f"{name}: column '{column}' does not hold timestamps",
            field=column,
            expected="tz-aware timestamps",
        ) from exc
    if idx.tz is None:
        raise FrameError(
            f"{name}: column '{column}' holds naive timestamps (no time zone)",
            field=column,
            expected="tz-aware timestamps",
        )
    if idx.hasnans:
        row = int(np.flatnonzero(np.asarray(idx.isna()))[0])
        raise FrameError(
            f"{name}: column '{column}' row {row} is missing",
            field=column,
            row=row,
            expected="a timestamp",
        )
    return idx.tz_convert(tz)


def _epoch_s(idx: pd.DatetimeIndex) -> npt.NDArray[np.int64]:
    ns = np.asarray(idx.as_unit("ns").asi8, dtype=np.int64)
    return ns // 1_000_000_000


def _wall_ns(idx: pd.DatetimeIndex) -> npt.NDArray[np.int64]:
    """Nanoseconds of local wall time since the epoch (for grid checks on wall time)."""
    return np.asarray(idx.tz_localize(None).as_unit("ns").asi8, dtype=np.int64)


def _need_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise FrameError(
            f"{name}: got {type(frame).__name__}, not a DataFrame",
            field=name,
            expected="a pandas DataFrame",
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise FrameError(
            f"{name}: missing required column '{missing[0]}'",
            field=missing[0],
            expected="columns " + ", ".join(columns),
        )


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value).strip()


def _read_segments(
    frame: pd.DataFrame, tz: str, seg_grid_min: int, name: str, out: list[Violation] | None
) -> dict[str, list[_Seg]]:
    """Segments per agent, sorted by start; malformed rows are reported into ``out`` (when
    given) and dropped."""
    _need_columns(frame, ("agent", "start", "end", "activity"), name)
    starts = _times(frame, "start", tz, name)
    ends = _times(frame, "end", tz, name)
    s0, s1 = _epoch_s(starts), _epoch_s(ends)
    step_ns = seg_grid_min * 60 * 1_000_000_000
    off_grid = (_wall_ns(starts) % step_ns != 0) | (_wall_ns(ends) % step_ns != 0)
    projects = frame["project"] if "project" in frame.columns else [None] * len(frame)
    by_agent: dict[str, list[_Seg]] = {}
    for i, (agent_v, activity_v, project_v) in enumerate(
        zip(frame["agent"], frame["activity"], projects, strict=True)
    ):
        agent, activity = _text(agent_v), _text(activity_v)
        seg = _Seg(int(s0[i]), int(s1[i]), activity, _text(project_v), starts[i], ends[i])
        problem = None
        if activity not in ACTIVITIES:
            problem = f"unknown activity {activity!r} (expected one of {', '.join(ACTIVITIES)})"
        elif seg.end <= seg.start:
            problem = f"ends at {_fmt(seg.local_end)}, not after its start"
        elif off_grid[i]:
            problem = f"a boundary is off the {seg_grid_min}-min grid"
        if problem is not None:
            if out is not None:
                where = f"segment {_fmt(seg.local_start)} ({activity or '?'}, row {i})"
                out.append(Violation("segment", agent, seg.local_start, f"{where}: {problem}"))
            continue
        if activity == "off":
            continue
        by_agent.setdefault(agent, []).append(seg)
    for segs in by_agent.values():
        segs.sort(key=lambda s: (s.start, s.end))
    return by_agent


def _shifts(agent: str, segs: Sequence[_Seg], out: list[Violation] | None) -> list[_Shift]:
    """Maximal runs of touching segments; overlaps are reported (when ``out``) and merged."""
    shifts: list[_Shift] = []
    for seg in segs:
        current = shifts[-1] if shifts else None
        if current is not None and seg.start < current.end and out is not None:
            prev = max(current.segs, key=lambda s: s.end)
            out.append(
                Violation(
                    "overlap",
                    agent,
                    seg.local_start,
                    f"{seg.activity} {_span(seg.local_start, seg.local_end)} overlaps "
                    f"{prev.activity} {_span(prev.local_start, prev.local_end)}",
                )
            )
        if current is not None and seg.start <= current.end:
            current.segs.append(seg)
            current.end = max(current.end, seg.end)
        else:
            shifts.append(_Shift(agent, [seg], seg.end))
    return shifts


def _runs(segs: Sequence[_Seg], activity: str) -> list[tuple[_Seg, _Seg]]:
    """Runs of touching segments of one activity, as (first, last) segment."""
    runs: list[tuple[_Seg, _Seg]] = []
    for seg in segs:
        if seg.activity != activity:
            continue
        if runs and runs[-1][1].end == seg.start:
            runs[-1] = (runs[-1][0], seg)
        else:
            runs.append((seg, seg))
    return runs


# --------------------------------------------------------------------------------------------
# per-shift rules


def _check_length(shift: _Shift, rules: ShiftRules) -> Iterable[Violation]:
    length = shift.seconds
    bound = None
    if length < rules.min_shift_h * 3600 - _EPS_S:
        bound = f"min_shift_h is {rules.min_shift_h:g}"
    elif length > rules.max_shift_h * 3600 + _EPS_S:
        bound = f"max_shift_h is {rules.max_shift_h:g}"
    if bound is not None:
        yield Violation(
            "shift_length",
            shift.agent,
            shift.local_start,
            f"{shift.label} lasts {_h(length)}; {bound}",
        )
    if length % (rules.shift_step_min * 60) != 0:
        yield Violation(
            "shift_step",
            shift.agent,
            shift.local_start,
            f"{shift.label} lasts {_h(length)}, not a multiple of shift_step_min "
            f"{rules.shift_step_min}",
        )
    wall = shift.local_start
    if (wall.hour * 60 + wall.minute) % rules.start_grid_min or wall.second or wall.microsecond:
        yield Violation(
            "start_grid",
            shift.agent,
            shift.local_start,
            f"{shift.label} starts off the {rules.start_grid_min}-min start grid",
        )


def _check_lunch_and_breaks(shift: _Shift, rules: ShiftRules) -> Iterable[Violation]:
    agent, where = shift.agent, shift.local_start
    lunches = _runs(shift.segs, "lunch")
    if shift.seconds > rules.lunch_over_h * 3600 + _EPS_S:
        if len(lunches) != 1:
            yield Violation(
                "lunch",
                agent,
                where,
                f"{shift.label} lasts {_h(shift.seconds)} (over lunch_over_h "
                f"{rules.lunch_over_h:g}) and has {len(lunches)} lunches; expected exactly 1",
            )
        for first, last in lunches:
            length = last.end - first.start
            if not rules.lunch_min_min * 60 <= length <= rules.lunch_max_min * 60:
                yield Violation(
                    "lunch",
                    agent,
                    first.local_start,
                    f"{shift.label}: lunch at {_fmt(first.local_start)} lasts {_min(length)}; "
                    f"allowed {rules.lunch_min_min}–{rules.lunch_max_min} min",
                )
            offset = first.start - shift.start
            lo, hi = rules.lunch_start_after_h * 3600, rules.lunch_start_before_h * 3600
            if not lo - _EPS_S <= offset <= hi + _EPS_S:
                yield Violation(
                    "lunch",
                    agent,
                    first.local_start,
                    f"{shift.label}: lunch starts {_h(offset)} into the shift; allowed "
                    f"{rules.lunch_start_after_h:g}–{rules.lunch_start_before_h:g} h",
                )
    elif lunches:
        yield Violation(
            "lunch",
            agent,
            where,
            f"{shift.label} lasts {_h(shift.seconds)} and has a lunch; only shifts over "
            f"lunch_over_h {rules.lunch_over_h:g} h have one",
        )

    breaks = _runs(shift.segs, "break")
    expected = math.floor((shift.paid_s + _EPS_S) / (rules.break_every_h * 3600))
    if len(breaks) != expected:
        yield Violation(
            "break",
            agent,
            where,
            f"{shift.label} has {len(breaks)} breaks; {_h(shift.paid_s)} paid needs {expected} "
            f"(one per full break_every_h {rules.break_every_h:g} h)",
        )
    lunch_edges = {s.start for s, _ in lunches} | {e.end for _, e in lunches}
    for first, last in breaks:
        length = last.end - first.start
        if length != rules.break_min * 60:
            yield Violation(
                "break",
                agent,
                first.local_start,
                f"{shift.label}: break at {_fmt(first.local_start)} lasts {_min(length)}; "
                f"break_min is {rules.break_min}",
            )
        if first.start in lunch_edges or last.end in lunch_edges:
            yield Violation(
                "break",
                agent,
                first.local_start,
                f"{shift.label}: break at {_fmt(first.local_start)} is next to the lunch",
            )

    ordered = sorted(shift.segs, key=lambda s: s.end)
    for seg, edge in ((shift.segs[0], "starts"), (ordered[-1], "ends")):
        if seg.activity in ("lunch", "break"):
            yield Violation(
                "shift_edge",
                agent,
                seg.local_start,
                f"{shift.label} {edge} with a {seg.activity}",
            )


def _check_blocks(shift: _Shift, rules: ShiftRules) -> Iterable[Violation]:
    """Work segments in order (lunch, breaks and training do not end a block)."""
    blocks: list[tuple[str, int, _Seg]] = []  # project, work seconds, first segment
    for seg in shift.segs:
        if seg.activity != "work":
            continue
        if blocks and blocks[-1][0] == seg.project:
            project, seconds, first = blocks[-1]
            blocks[-1] = (project, seconds + seg.seconds, first)
        else:
            blocks.append((seg.project, seg.seconds, seg))
    minimum = rules.min_project_block_h * 3600
    if sum(b[1] for b in blocks) < minimum - _EPS_S:
        return
    for project, seconds, first in blocks:
        if seconds < minimum - _EPS_S:
            yield Violation(
                "project_block",
                shift.agent,
                first.local_start,
                f"{shift.label}: work on {project} from {_fmt(first.local_start)} lasts "
                f"{_h(seconds)}; min_project_block_h is {rules.min_project_block_h:g}",
            )


def _local(day: dt.date, time: dt.time, tz: str) -> pd.Timestamp:
    naive = pd.Timestamp(dt.datetime.combine(day, time))
    return naive.tz_localize(tz, ambiguous=False, nonexistent="shift_forward")


def _check_availability(shift: _Shift, agent: Agent, tz: str) -> Iterable[Violation]:
    start, end = shift.local_start, shift.local_end
    last_day = (end - pd.Timedelta(seconds=1)).date()
    days = [shift.day + dt.timedelta(days=k) for k in range((last_day - shift.day).days + 1)]
    off = [d for d in days if d in agent.days_off]
    if off:
        yield Violation(
            "day_off",
            agent.agent,
            start,
            f"{shift.label} falls on day off {off[0].isoformat()}",
        )
    if agent.earliest_start is not None and start.time() < agent.earliest_start:
        yield Violation(
            "earliest_start",
            agent.agent,
            start,
            f"{shift.label} starts before earliest_start {agent.earliest_start:%H:%M}",
        )
    if agent.latest_end is not None:
        day = shift.day
        if agent.earliest_start is not None and agent.latest_end <= agent.earliest_start:
            day += dt.timedelta(days=1)
        deadline = _local(day, agent.latest_end, tz)
        if end > deadline:
            yield Violation(
                "latest_end",
                agent.agent,
                start,
                f"{shift.label} ends after latest_end {_fmt(deadline)}",
            )


# --------------------------------------------------------------------------------------------
# rules across shifts


def _check_sequence(
    agent: str, shifts: Sequence[_Shift], previous: Sequence[_Shift], rules: ShiftRules
) -> Iterable[Violation]:
    per_day = Counter(s.day for s in shifts)
    for shift in shifts:
        if per_day[shift.day] > rules.max_shifts_per_day:
            n = per_day.pop(shift.day)
            yield Violation(
                "max_shifts_per_day",
                agent,
                shift.local_start,
                f"{n} shifts start on {shift.day.isoformat()}; max_shifts_per_day is "
                f"{rules.max_shifts_per_day}",
            )
    first = shifts[0].start if shifts else 0
    earlier = [p for p in previous if p.start < first]
    combined = [*earlier, *shifts]
    for k, (a, b) in enumerate(itertools.pairwise(combined)):
        rest = b.start - a.end
        if rest < rules.min_rest_h * 3600 - _EPS_S:
            before = "previous week's " if k < len(earlier) else ""
            yield Violation(
                "min_rest",
                agent,
                b.local_start,
                f"{b.label} starts {_h(rest)} after {before}{a.label} ends; min_rest_h is "
                f"{rules.min_rest_h:g}",
            )
    current = {s.day for s in shifts}
    days = sorted({s.day for s in earlier} | current)
    run: list[dt.date] = []
    for day in [*days, None]:
        if day is not None and run and (day - run[-1]).days == 1:
            run.append(day)
            continue
        if len(run) > rules.max_consecutive_days and current.intersection(run):
            from_before = sum(1 for d in run if d not in current)
            yield Violation(
                "max_consecutive_days",
                agent,
                next(s.local_start for s in shifts if s.day == run[-1]),
                f"works {len(run)} days in a row, {run[0].isoformat()} – {run[-1].isoformat()}"
                f" ({from_before} before this schedule); max_consecutive_days is "
                f"{rules.max_consecutive_days}",
            )
        run = [day] if day is not None else []


def _check_weeks(
    agent: Agent, shifts: Sequence[_Shift], weeks: Iterable[dt.date], rules: ShiftRules, tz: str
) -> Iterable[Violation]:
    limit = min(rules.max_days_week, agent.max_days_week)
    for monday in sorted(weeks):
        mine = [s for s in shifts if s.day - dt.timedelta(days=s.day.weekday()) == monday]
        paid_h = sum(s.paid_s for s in mine) / 3600
        days = {s.day for s in mine}
        where = _local(monday, dt.time(0, 0), tz)
        week = f"week of {monday.isoformat()}"
        if paid_h < agent.min_hours_week - 1e-9:
            yield Violation(
                "min_hours_week",
                agent.agent,
                where,
                f"{week}: {paid_h:g} paid h; min_hours_week is {agent.min_hours_week:g}",
            )
        if paid_h > agent.max_hours_week + 1e-9:
            yield Violation(
                "max_hours_week",
                agent.agent,
                where,
                f"{week}: {paid_h:g} paid h; max_hours_week is {agent.max_hours_week:g}",
            )
        if len(days) > limit:
            yield Violation(
                "max_days_week",
                agent.agent,
                where,
                f"{week}: works {len(days)} days; max_days_week is {limit}",
            )


# --------------------------------------------------------------------------------------------
# requirements, opening and coverage


@dataclass(frozen=True, slots=True)
class _Requirements:
    grid_s: npt.NDArray[np.int64]  # interval starts (epoch s), one past the last needed
    grid_local: pd.DatetimeIndex
    required: dict[str, npt.NDArray[np.float64]]  # per project, per interval (nan = no row)


def _interval_min(ts_s: npt.NDArray[np.int64], projects: npt.NDArray[np.object_]) -> int:
    gcd = 0
    for project in pd.unique(projects):
        diffs = np.diff(np.unique(ts_s[projects == project]))
        for d in np.unique(diffs):
            gcd = math.gcd(gcd, int(d) // 60)
    if gcd == 0:
        return INTERVAL_MINUTES[0]
    for m in sorted(INTERVAL_MINUTES, reverse=True):
        if gcd % m == 0:
            return m
    raise FrameError(
        f"requirements: interval starts are {gcd} min apart, not on a 15/30/60-min grid",
        field="ts",
        expected="interval starts on one 15, 30 or 60-min grid",
    )


def _read_requirements(
    frame: pd.DataFrame, tz: str, interval_min: int | None, schedule_s: Sequence[int]
) -> _Requirements:
    _need_columns(frame, ("project", "ts", "agents"), "requirements")
    ts = _times(frame, "ts", tz, "requirements")
    ts_s = _epoch_s(ts)
    projects = np.asarray([_text(p) for p in frame["project"]], dtype=object)
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
    minutes = interval_min if interval_min is not None else _interval_min(ts_s, projects)
    grid = Grid(tz, minutes)
    all_s = [*ts_s.tolist(), *schedule_s]
    lo = pd.Timestamp(min(all_s), unit="s", tz="UTC").tz_convert(tz).date()
    hi = pd.Timestamp(max(all_s), unit="s", tz="UTC").tz_convert(tz).date()
    local = grid.range(lo - dt.timedelta(days=1), hi + dt.timedelta(days=1))
    grid_s = _epoch_s(local)
    pos = np.searchsorted(grid_s, ts_s)
    off = np.flatnonzero((pos >= len(grid_s)) | (grid_s[np.minimum(pos, len(grid_s) - 1)] != ts_s))
    if off.size:
        row = int(off[0])
        raise FrameError(
            f"requirements: ts in row {row} ({_fmt(ts[row])}) is not a {minutes}-min interval "
            "start",
            field="ts",
            row=row,
            expected=f"interval starts of the {minutes}-min grid in {tz}",
        )
    required: dict[str, npt.NDArray[np.float64]] = {}
    for i, (project, p) in enumerate(zip(projects, pos, strict=True)):
        values = required.setdefault(str(project), np.full(len(grid_s), np.nan))
        if not np.isnan(values[p]):
            raise FrameError(
                f"requirements: row {i} repeats project {project} at {_fmt(ts[i])}",
                field="ts",
                row=i,
                expected="one row per project and interval",
            )
        values[p] = agents[i]
    return _Requirements(grid_s, local, required)


def _work_time(
    starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64], grid_s: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Work seconds inside each grid interval ``[g_i, g_i+1)``, from segments ``[s, e)``.

    F(g) = Σ max(0, min(g, e) − s) = Σ_{s<g} (g − s) − Σ_{e<g} (g − e); an interval's work
    time is F(g_i+1) − F(g_i)."""

    def cumulative(points: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        points = np.sort(points)
        prefix = np.concatenate(([0], np.cumsum(points)))
        n = np.searchsorted(points, grid_s, side="left")
        return (grid_s * n - prefix[n]).astype(np.float64)

    f = cumulative(starts) - cumulative(ends)
    return np.diff(f)


def _check_opening(
    by_agent: Mapping[str, Sequence[_Seg]],
    rules: ShiftRules,
    reqs: _Requirements | None,
    tz: str,
    step_min: int,
) -> Iterable[Violation]:
    cache: dict[tuple[str, int, dt.time], bool] = {}
    for agent, segs in by_agent.items():
        for seg in segs:
            if seg.activity != "work" or not seg.project:
                continue
            hours: OpeningHours | None = rules.opening_for(seg.project)
            closed_at: pd.Timestamp | None = None
            if hours is not None:
                points = pd.date_range(
                    seg.local_start, seg.local_end, freq=f"{step_min}min", inclusive="left"
                ).tz_convert(tz)
                for t in points:
                    key = (seg.project, t.isoweekday(), t.time())
                    if key not in cache:
                        cache[key] = hours.is_open(t.to_pydatetime())
                    if not cache[key]:
                        closed_at = t
                        break
            elif reqs is not None:
                rows = reqs.required.get(seg.project)
                lo = int(np.searchsorted(reqs.grid_s, seg.start, side="right")) - 1
                hi = int(np.searchsorted(reqs.grid_s, seg.end, side="left"))
                for i in range(max(lo, 0), hi):
                    if rows is None or np.isnan(rows[i]):
                        closed_at = max(reqs.grid_local[i], seg.local_start)
                        break
            if closed_at is not None:
                why = "opening hours" if hours is not None else "no requirement row"
                yield Violation(
                    "opening",
                    agent,
                    seg.local_start,
                    f"work on {seg.project} {_span(seg.local_start, seg.local_end)} while it is "
                    f"closed at {_fmt(closed_at)} ({why})",
                )


def _coverage(
    by_agent: Mapping[str, Sequence[_Seg]], reqs: _Requirements
) -> tuple[pd.DataFrame, float, float]:
    grid_s = reqs.grid_s
    length_s = np.diff(grid_s).astype(np.float64)
    work: dict[str, tuple[list[int], list[int]]] = {}
    for segs in by_agent.values():
        for seg in segs:
            if seg.activity == "work" and seg.project:
                s, e = work.setdefault(seg.project, ([], []))
                s.append(seg.start)
                e.append(seg.end)
    parts: list[pd.DataFrame] = []
    for project in sorted(set(reqs.required) | set(work)):
        required = reqs.required.get(project, np.full(len(grid_s), np.nan))[:-1]
        s, e = work.get(project, ([], []))
        scheduled = (
            _work_time(np.asarray(s, dtype=np.int64), np.asarray(e, dtype=np.int64), grid_s)
            / length_s
        )
        keep = ~np.isnan(required) | (scheduled > 1e-12)
        req = np.nan_to_num(required[keep])
        sch = scheduled[keep]
        parts.append(
            pd.DataFrame(
                {
                    "project": project,
                    "ts": reqs.grid_local[:-1][keep],
                    "required": req,
                    "scheduled": sch,
                    "under": np.maximum(req - sch, 0.0),
                    "over": np.maximum(sch - req, 0.0),
                    "interval_h": length_s[keep] / 3600,
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if frame.empty:
        columns = ["project", "ts", "required", "scheduled", "under", "over"]
        return pd.DataFrame(columns=columns), 0.0, 0.0
    under_h = float((frame["under"] * frame["interval_h"]).sum())
    over_h = float((frame["over"] * frame["interval_h"]).sum())
    return frame.drop(columns="interval_h"), under_h, over_h


# --------------------------------------------------------------------------------------------
# the entry point


def _agent_map(agents: Mapping[str, Agent] | Sequence[Agent]) -> dict[str, Agent]:
    items = list(agents.values()) if isinstance(agents, Mapping) else list(agents)
    out: dict[str, Agent] = {}
    for a in items:
        if not isinstance(a, Agent):
            raise InputError(
                f"agents: {a!r} is not an Agent", field="agents", expected="Agent objects"
            )
        out[a.agent] = a
    return out


def validate_schedule(
    schedule: pd.DataFrame,
    agents: Mapping[str, Agent] | Sequence[Agent],
    rules: ShiftRules,
    *,
    tz: str,
    requirements: pd.DataFrame | None = None,
    previous: pd.DataFrame | None = None,
    interval_min: int | None = None,
) -> ValidationReport:
    """Check every hard rule of ``rules`` and the agents' contracts on a schedule frame
    (``agent, start, end, activity, project``) and, given the requirements frame (``project,
    ts, agents``), recompute coverage. ``previous`` (last week's schedule) counts for rest and
    consecutive days. ``interval_min`` is the requirements' interval length (inferred from
    their timestamps when ``None``). See the module docstring for the definitions."""
    check_tz(tz)
    if not isinstance(rules, ShiftRules):
        raise InputError("rules: not a ShiftRules", field="rules", expected="ShiftRules")
    staff = _agent_map(agents)
    seg_grid = math.gcd(
        rules.start_grid_min,
        rules.shift_step_min,
        rules.break_min,
        rules.lunch_min_min,
        rules.lunch_max_min,
    )
    found: list[Violation] = []
    by_agent = _read_segments(schedule, tz, seg_grid, "schedule", found)
    before = _read_segments(previous, tz, 1, "previous", None) if previous is not None else {}

    resolved: dict[str, list[_Seg]] = {}
    for name, segs in by_agent.items():
        agent = staff.get(name)
        if agent is None:
            found.append(
                Violation("unknown_agent", name, segs[0].local_start, "not in the agent list")
            )
            resolved[name] = segs
            continue
        preferred = agent.projects[0]
        own = []
        for seg in segs:
            if seg.activity == "work" and not seg.project:
                seg = _Seg(seg.start, seg.end, "work", preferred, seg.local_start, seg.local_end)
            elif seg.activity == "work" and seg.project not in agent.projects:
                found.append(
                    Violation(
                        "skill",
                        name,
                        seg.local_start,
                        f"work on {seg.project} {_span(seg.local_start, seg.local_end)}; "
                        f"{name} holds {', '.join(agent.projects)}",
                    )
                )
            own.append(seg)
        resolved[name] = own

    shifts = {name: _shifts(name, segs, found) for name, segs in resolved.items()}
    weeks = {s.day - dt.timedelta(days=s.day.weekday()) for ss in shifts.values() for s in ss}
    for name, agent in staff.items():
        mine = shifts.get(name, [])
        for shift in mine:
            found += _check_length(shift, rules)
            found += _check_lunch_and_breaks(shift, rules)
            found += _check_blocks(shift, rules)
            found += _check_availability(shift, agent, tz)
        earlier = _shifts(name, before.get(name, []), None)
        found += _check_sequence(name, mine, earlier, rules)
        found += _check_weeks(agent, mine, weeks, rules, tz)

    reqs = None
    coverage, under_h, over_h = None, 0.0, 0.0
    if requirements is not None:
        points = [t for segs in resolved.values() for s in segs for t in (s.start, s.end)]
        reqs = _read_requirements(requirements, tz, interval_min, points)
        coverage, under_h, over_h = _coverage(resolved, reqs)
    found += _check_opening(resolved, rules, reqs, tz, seg_grid)

    def order(v: Violation) -> tuple[str, int, str]:
        return (v.agent, v.start.value if v.start is not None else -1, v.rule)

    return ValidationReport(tuple(sorted(found, key=order)), coverage, under_h, over_h)
