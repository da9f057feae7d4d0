"""History → per-project arrays on the site's local clock (private).

Everything is keyed by timestamp: a row's local date, weekday and minute of the day come from
its tz-aware ``ts`` converted to the site zone, never from its position, so missing days,
holidays absent from the file and DST days (92 or 100 quarter-hours) need no special case.
The repeated hour of a fall-back day maps to the same minutes of the day as the first one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from forecasting._calendar import Calendar, DayInfo
from wfm.errors import InputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

__all__ = ["ProjectHistory", "Slots", "horizon_at", "local_slots", "prepare"]


@dataclass(frozen=True)
class Slots:
    """Local date, weekday (0 = Monday) and minute of the day of interval starts."""

    dates: npt.NDArray[np.object_]
    day_number: IntArray  # proleptic ordinal of the local date
    weekday: IntArray
    minute: IntArray


def local_slots(ts: pd.Series | pd.DatetimeIndex, tz: str) -> Slots:
    """Site-local date, weekday and minute of the day of tz-aware timestamps."""
    index = pd.DatetimeIndex(ts)
    if index.tz is None:
        raise InputError("ts: naive timestamps", field="ts", expected="tz-aware timestamps")
    local = index.tz_convert(tz)
    midnight = local.normalize()
    codes, uniques = pd.factorize(midnight)
    unique_dates = np.asarray(pd.DatetimeIndex(uniques).date, dtype=object)
    ordinals = np.array([d.toordinal() for d in unique_dates], dtype=np.int64)
    minute = (local.hour * 60 + local.minute).to_numpy().astype(np.int64)
    weekday = np.array([d.weekday() for d in unique_dates], dtype=np.int64)
    return Slots(
        dates=unique_dates[codes],
        day_number=ordinals[codes],
        weekday=weekday[codes],
        minute=minute,
    )


@dataclass(frozen=True)
class ProjectHistory:
    """One project's history, interval- and day-level, with the calendar's view of its days."""

    project: str
    tz: str
    interval_min: int
    slots: Slots
    ts: pd.DatetimeIndex  # the rows' tz-aware interval starts
    calls: FloatArray
    aht_s: FloatArray | None
    # day level (sorted by date)
    day_number: IntArray
    day_total: FloatArray
    day_weekday: IntArray
    day_info: tuple[DayInfo, ...]
    normal: BoolArray  # a day to learn the regular pattern from
    open_weekdays: frozenset[int]
    open_minutes: dict[int, frozenset[int]]  # weekday → minutes of the day seen open
    gap_days: frozenset[int]  # ordinals of usual open weekdays absent from the history
    closed_holidays: frozenset[str]  # holidays (by name) the project closed on, never opened
    open_holidays: frozenset[str]  # holidays (by name) the project worked

    def closed_on(self, info: DayInfo) -> bool:
        """Whether the project is closed on a day: a declared closure, or a holiday it closed
        on before (by name). A holiday it has never seen is forecast open (its learned
        holiday effect applies); declare a closure event to close it."""
        return info.closed or (
            info.holiday and not info.declared and info.holiday_name in self.closed_holidays
        )

    def likely_closed(self, info: DayInfo) -> bool:
        """For planning days ahead: ``closed_on``, and a holiday never seen before follows
        what the project did on most holidays it has seen (closed if it closed on more)."""
        if self.closed_on(info):
            return True
        if info.holiday and not info.declared and info.holiday_name not in self.open_holidays:
            return len(self.closed_holidays) > len(self.open_holidays)
        # a declared uplift multiplies a day the project works; it does not open a weekday
        # the project never works (ask for those intervals explicitly)
        return info.date.weekday() not in self.open_weekdays

    @property
    def last_day(self) -> int:
        return int(self.day_number[-1])

    def until(self, day_number: int) -> ProjectHistory:
        """The history strictly before local day ``day_number`` (for rolling origins)."""
        keep = self.slots.day_number < day_number
        sub = _Rows(
            slots=Slots(
                dates=self.slots.dates[keep],
                day_number=self.slots.day_number[keep],
                weekday=self.slots.weekday[keep],
                minute=self.slots.minute[keep],
            ),
            ts=self.ts[keep],
            calls=self.calls[keep],
            aht_s=None if self.aht_s is None else self.aht_s[keep],
        )
        return _build(self.project, self.tz, self.interval_min, sub, self._calendar)

    _calendar: Calendar = field(default_factory=Calendar)


@dataclass(frozen=True)
class _Rows:
    slots: Slots
    ts: pd.DatetimeIndex
    calls: FloatArray
    aht_s: FloatArray | None


def prepare(
    history: pd.DataFrame, *, tz: str, calendar: Calendar, interval_min: int | None = None
) -> dict[str, ProjectHistory]:
    """Split a validated history frame (``project, ts, calls[, aht_s]``) by project."""
    if history.empty:
        raise InputError("history: no rows", field="history", expected="at least one row")
    minutes = interval_min or infer_interval_min(history)
    out: dict[str, ProjectHistory] = {}
    for project, rows in history.sort_values(["project", "ts"]).groupby("project", sort=True):
        slots = local_slots(rows["ts"], tz)
        calls = rows["calls"].to_numpy(dtype=np.float64)
        aht = rows["aht_s"].to_numpy(dtype=np.float64) if "aht_s" in rows else None
        if aht is not None and np.isnan(aht).all():
            aht = None
        ts = pd.DatetimeIndex(rows["ts"])
        out[str(project)] = _build(
            str(project), tz, minutes, _Rows(slots, ts, calls, aht), calendar
        )
    return out


def infer_interval_min(history: pd.DataFrame) -> int:
    """The smallest step between a project's consecutive rows: 15, 30 or 60 minutes."""
    best: pd.Timedelta | None = None
    for _, rows in history.groupby("project", sort=False):
        diffs = pd.Series(pd.DatetimeIndex(rows["ts"]).sort_values()).diff().dropna()
        diffs = diffs[diffs > pd.Timedelta(0)]
        if len(diffs):
            step = diffs.min()
            best = step if best is None or step < best else best
    if best is None:
        raise InputError(
            "ts: cannot tell the interval length from fewer than two rows per project",
            field="ts",
            expected="at least two intervals of one project",
        )
    minutes = best.total_seconds() / 60.0
    if minutes not in (15.0, 30.0, 60.0):
        raise InputError(
            f"ts: rows are {minutes:g} minutes apart; expected a 15, 30 or 60-minute grid",
            field="ts",
            expected="15, 30 or 60-minute intervals",
        )
    return int(minutes)


def _build(
    project: str, tz: str, interval_min: int, rows: _Rows, calendar: Calendar
) -> ProjectHistory:
    slots = rows.slots
    if slots.day_number.size == 0:
        raise InputError(
            f"history: project {project} has no rows before the origin",
            field="history",
            expected="some history for every project",
        )
    days, inverse = np.unique(slots.day_number, return_inverse=True)
    totals = np.bincount(inverse, weights=rows.calls, minlength=days.size)
    dates = [dt.date.fromordinal(int(d)) for d in days]
    weekdays = np.array([d.weekday() for d in dates], dtype=np.int64)
    info = tuple(calendar.days(project, dates))
    # weekdays the project opens: seen on at least a third of the weeks spanned
    weeks = max((int(days[-1]) - int(days[0])) / 7.0, 1.0)
    counts = np.bincount(weekdays, minlength=7)
    open_weekdays = frozenset(int(w) for w in range(7) if counts[w] >= max(1.0, weeks / 3.0))
    # minutes of the day seen open per weekday, over the last eight weeks of each weekday
    open_minutes: dict[int, frozenset[int]] = {}
    recent = slots.day_number >= int(days[-1]) - 56
    for w in range(7):
        sel = recent & (slots.weekday == w)
        if not sel.any():
            sel = slots.weekday == w
        open_minutes[w] = frozenset(int(m) for m in np.unique(slots.minute[sel]))
    # usual open weekdays with no rows at all inside the span: closed or lost days
    present = {int(d) for d in days}
    gaps = frozenset(
        d
        for d in range(int(days[0]), int(days[-1]) + 1)
        if d not in present and dt.date.fromordinal(d).weekday() in open_weekdays
    )
    hol_in_span = calendar.public_holidays(range(dates[0].year, dates[-1].year + 1))
    open_names = {n for d, n in hol_in_span.items() if d.toordinal() in present}
    closed_names = frozenset(
        n for d, n in hol_in_span.items() if d.toordinal() in gaps and n not in open_names
    )
    normal = np.array(
        [not (i.holiday or i.closed or i.anomaly or i.declared) for i in info], dtype=bool
    )
    if not normal.any():
        normal = np.ones(days.size, dtype=bool)
    return ProjectHistory(
        project=project,
        tz=tz,
        interval_min=interval_min,
        slots=slots,
        ts=rows.ts,
        calls=rows.calls,
        aht_s=rows.aht_s,
        day_number=days.astype(np.int64),
        day_total=totals.astype(np.float64),
        day_weekday=weekdays,
        day_info=info,
        normal=normal,
        open_weekdays=open_weekdays,
        open_minutes=open_minutes,
        gap_days=gaps,
        closed_holidays=closed_names,
        open_holidays=frozenset(open_names),
        _calendar=calendar,
    )


def horizon_at(
    projects: dict[str, ProjectHistory], *, calendar: Calendar, horizon_days: int
) -> pd.DataFrame:
    """The (project, ts) intervals of the ``horizon_days`` local days after the history (the
    day after its last day, the same days for every project): on the interval grid of the
    history, on the weekdays and minutes of the day each project opens (as its recent history
    shows), leaving out days the calendar closes."""
    from wfm.grid import Grid

    if horizon_days < 1:
        raise InputError(
            f"horizon_days: {horizon_days} is below 1",
            field="horizon_days",
            expected="a positive whole number of days",
        )
    parts: list[pd.DataFrame] = []
    if not projects:
        return pd.DataFrame({"project": pd.Series(dtype=str), "ts": pd.Series(dtype="object")})
    first = dt.date.fromordinal(max(ph.last_day for ph in projects.values()) + 1)
    dates = [first + dt.timedelta(days=i) for i in range(horizon_days)]
    for project, ph in projects.items():
        grid = Grid(tz=ph.tz, interval_min=ph.interval_min)
        for info in calendar.days(project, dates):
            if ph.likely_closed(info):
                continue
            starts = grid.day(info.date)
            local = starts.tz_convert(ph.tz)
            minutes = local.hour * 60 + local.minute
            weekday = info.date.weekday()
            allowed = ph.open_minutes.get(weekday, frozenset())
            keep = np.fromiter((int(m) in allowed for m in minutes), dtype=bool, count=len(starts))
            if keep.any():
                parts.append(pd.DataFrame({"project": project, "ts": starts[keep]}))
    if not parts:
        return pd.DataFrame({"project": pd.Series(dtype=str), "ts": pd.Series(dtype="object")})
    return pd.concat(parts, ignore_index=True)
