"""The interval grid and time zones (leaf layer).

Every frame in wfm is indexed by interval starts on one grid: a site's IANA time zone and an
interval length of 15, 30 or 60 minutes. Interval starts are the instants whose *local wall
time* is a multiple of the interval length (plus each local day's first instant, should local
midnight not exist). The grid is built from UTC instants, never by adding wall-clock offsets,
so DST days come out right: in Europe/Berlin the spring-forward day has 92 quarter-hours
(23 h), the fall-back day 100 (25 h, the repeated hour twice with different UTC offsets), and
a 60-minute grid in Asia/Kolkata (UTC+05:30) starts at local ``:00``.

Assumption: UTC offsets differ by multiples of 15 minutes (true of every zone in use since the
1980s); candidates are generated on a 15-minute UTC lattice anchored at local midnight.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
import pandas as pd

from wfm.errors import InputError

__all__ = [
    "INTERVAL_MINUTES",
    "Grid",
    "check_interval_min",
    "check_tz",
    "parse_hhmm",
    "to_site_time",
]

INTERVAL_MINUTES: tuple[int, ...] = (15, 30, 60)
"""The interval lengths wfm plans on, in minutes."""

_LATTICE_MIN = 15  # candidate step in UTC; every interval length is a multiple of it
_Unit = Literal["s", "ms", "us", "ns"]
_UNITS: tuple[_Unit, ...] = ("s", "ms", "us", "ns")  # coarse to fine
# The resolution pandas gives parsed timestamps ("us" on pandas 3, "ns" on pandas 2).
_DEFAULT_UNIT: _Unit = pd.DatetimeIndex(pd.to_datetime(["2000-01-01T00:00"])).unit
_EXPECTED_AWARE = "tz-aware timestamps (ISO-8601 with a UTC offset, e.g. 2026-03-02T09:15+01:00)"
# A time of day followed by a UTC offset at the end of an ISO-8601 string.
_OFFSET_RE = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$")
_HHMM_RE = re.compile(r"(\d{2}):(\d{2})")


def check_interval_min(m: int) -> int:
    """Return ``m`` as an ``int`` if it is an allowed interval length (15, 30 or 60 minutes).

    Raises ``InputError`` (field ``interval_min``) otherwise.
    """
    ok = isinstance(m, int | np.integer) and not isinstance(m, bool) and int(m) in INTERVAL_MINUTES
    if not ok:
        raise InputError(
            f"interval_min: {m!r} is not an allowed interval length",
            field="interval_min",
            expected="one of 15, 30, 60 (minutes)",
        )
    return int(m)


def check_tz(tz: str, *, field: str = "tz") -> ZoneInfo:
    """Return the ``ZoneInfo`` for an IANA zone name; ``InputError`` if there is none."""
    try:
        if not isinstance(tz, str) or not tz:
            raise ValueError(tz)
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(
            f"{field}: unknown time zone {tz!r}",
            field=field,
            expected="an IANA time zone, e.g. Europe/Berlin",
        ) from exc


def parse_hhmm(s: str) -> dt.time:
    """Parse a local time of day written ``HH:MM`` (``00:00`` … ``23:59``; ``24:00`` is not a
    time of day). Raises ``InputError`` (field ``time``) otherwise."""
    match = _HHMM_RE.fullmatch(s.strip()) if isinstance(s, str) else None
    if match is not None:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour < 24 and minute < 60:
            return dt.time(hour, minute)
    raise InputError(
        f"time: {s!r} is not a time of day",
        field="time",
        expected="HH:MM between 00:00 and 23:59",
    )


# --------------------------------------------------------------------------------------------
# helpers on DatetimeIndex


def _finest(units: Sequence[_Unit]) -> _Unit:
    return max(units, key=_UNITS.index) if units else _DEFAULT_UNIT


def _as_index(ts: pd.DatetimeIndex | pd.Series[Any], *, field: str) -> pd.DatetimeIndex:
    """A tz-aware DatetimeIndex view of ``ts``; ``InputError`` for naive or non-datetime values."""
    try:
        idx = pd.DatetimeIndex(ts)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{field}: values are not timestamps", field=field, expected=_EXPECTED_AWARE
        ) from exc
    if idx.tz is None:
        notna = np.flatnonzero(idx.notna())
        row = int(notna[0]) if notna.size else 0
        raise InputError(
            f"{field}: row {row}: naive timestamp (no time zone)",
            field=field,
            row=row,
            expected="tz-aware timestamps",
        )
    return idx


def _scalar_index(ts: dt.datetime, *, field: str) -> pd.DatetimeIndex:
    if not isinstance(ts, dt.datetime):
        raise InputError(
            f"{field}: {ts!r} is not a timestamp", field=field, expected=_EXPECTED_AWARE
        )
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise InputError(
            f"{field}: {ts} is a naive timestamp (no time zone)",
            field=field,
            expected="tz-aware timestamps",
        )
    return pd.DatetimeIndex([pd.Timestamp(ts)])


def _from_utc_i8(values: npt.NDArray[np.int64], unit: str, tz: str) -> pd.DatetimeIndex:
    """A DatetimeIndex in ``tz`` from epoch integers in ``unit`` (``NaT`` stays ``NaT``)."""
    naive = pd.DatetimeIndex(values.view(f"M8[{unit}]"))
    return naive.tz_localize("UTC").tz_convert(tz)


@dataclass(frozen=True)
class Grid:
    """An interval grid: a site's IANA time zone and an interval length in minutes."""

    tz: str
    interval_min: int = 15

    def __post_init__(self) -> None:
        check_tz(self.tz)
        object.__setattr__(self, "interval_min", check_interval_min(self.interval_min))

    @property
    def zone(self) -> ZoneInfo:
        """The grid's time zone."""
        return ZoneInfo(self.tz)

    @property
    def interval_s(self) -> int:
        """The interval length in seconds."""
        return self.interval_min * 60

    @property
    def interval(self) -> pd.Timedelta:
        """The nominal interval length (a DST day's interval may be longer, see ``day``)."""
        return pd.Timedelta(minutes=self.interval_min)

    # ---------------------------------------------------------------------------- days

    def _as_date(self, d: dt.date | str, *, field: str) -> dt.date:
        if isinstance(d, dt.datetime):
            ts = pd.Timestamp(d)
            return (ts.tz_convert(self.tz) if ts.tz is not None else ts).date()
        if isinstance(d, dt.date):
            return d
        if isinstance(d, str):
            try:
                return dt.date.fromisoformat(d.strip())
            except ValueError:
                pass
        raise InputError(
            f"{field}: {d!r} is not a calendar date", field=field, expected="a date (YYYY-MM-DD)"
        )

    def _midnight_utc(self, d: dt.date) -> pd.Timestamp:
        """The first instant of local day ``d`` in UTC (the earlier one if midnight repeats,
        the first existing one if a DST change skips midnight)."""
        local = pd.Timestamp(d.year, d.month, d.day).tz_localize(
            self.tz, ambiguous=True, nonexistent="shift_forward"
        )
        return local.tz_convert("UTC")

    def _starts(self, first: dt.date, last: dt.date) -> pd.DatetimeIndex:
        """Interval starts of local days ``first`` … ``last`` (inclusive), in the grid's zone."""
        begin = self._midnight_utc(first)
        end = self._midnight_utc(last + dt.timedelta(days=1))
        utc = pd.date_range(begin, end, freq=f"{_LATTICE_MIN}min", inclusive="left")
        local = utc.tz_convert(self.tz)
        if len(local) == 0:
            return local
        wall = local.tz_localize(None)
        minute = np.asarray(wall.hour * 60 + wall.minute)
        day_i8 = np.asarray(wall.normalize().asi8)
        day_start = np.ones(len(local), dtype=bool)
        day_start[1:] = day_i8[1:] != day_i8[:-1]
        keep = (minute % self.interval_min == 0) | day_start
        return pd.DatetimeIndex(local[keep])

    def day(self, date: dt.date | str) -> pd.DatetimeIndex:
        """All interval starts of one local calendar day, tz-aware in the grid's zone.

        96 quarter-hours on a normal day; a DST day has fewer or more (Europe/Berlin: 92 on
        the spring-forward day, 100 on the fall-back day, where the repeated hour appears twice
        with different UTC offsets)."""
        d = self._as_date(date, field="date")
        return self._starts(d, d)

    def range(self, start_date: dt.date | str, end_date: dt.date | str) -> pd.DatetimeIndex:
        """Interval starts of the local days ``start_date`` … ``end_date``, both inclusive."""
        first = self._as_date(start_date, field="start_date")
        last = self._as_date(end_date, field="end_date")
        if last < first:
            raise InputError(
                f"end_date: {last} is before start_date {first}",
                field="end_date",
                expected="end_date >= start_date",
            )
        return self._starts(first, last)

    def intervals_per_day(self, date: dt.date | str) -> int:
        """How many intervals the local day has (96 quarter-hours, 92 or 100 on DST days)."""
        return len(self.day(date))

    # ---------------------------------------------------------------------------- instants

    def _floor_index(self, idx: pd.DatetimeIndex) -> pd.DatetimeIndex:
        valid = np.asarray(idx.notna())
        unit = idx.unit
        if not valid.any():
            return _from_utc_i8(np.asarray(idx.asi8, dtype=np.int64), unit, self.tz)
        wall = idx.tz_convert(self.tz).tz_localize(None)[valid]
        grid = self._starts(wall.min().date(), wall.max().date()).as_unit(unit)
        grid_i8 = np.asarray(grid.asi8, dtype=np.int64)
        ts_i8 = np.asarray(idx.asi8, dtype=np.int64)
        pos = np.searchsorted(grid_i8, ts_i8, side="right") - 1
        out = np.where(valid, grid_i8[np.clip(pos, 0, None)], ts_i8)
        return _from_utc_i8(out, unit, self.tz)

    @overload
    def floor(self, ts: dt.datetime) -> pd.Timestamp: ...
    @overload
    def floor(self, ts: pd.DatetimeIndex) -> pd.DatetimeIndex: ...
    @overload
    def floor(self, ts: pd.Series[Any]) -> pd.Series[pd.Timestamp]: ...
    def floor(
        self, ts: dt.datetime | pd.DatetimeIndex | pd.Series[Any]
    ) -> pd.Timestamp | pd.DatetimeIndex | pd.Series[pd.Timestamp]:
        """The start of the interval holding each tz-aware timestamp, in the grid's zone.

        Floors on local wall time (a 60-minute grid in Asia/Kolkata floors 10:20+05:30 to
        10:00+05:30), correct around DST changes. ``NaT`` stays ``NaT``; naive input raises
        ``InputError`` (field ``ts``)."""
        if isinstance(ts, pd.Series):
            floored = self._floor_index(_as_index(ts, field="ts"))
            return pd.Series(floored, index=ts.index, name=ts.name)
        if isinstance(ts, pd.DatetimeIndex):
            return self._floor_index(_as_index(ts, field="ts"))
        floored_one: pd.Timestamp = self._floor_index(_scalar_index(ts, field="ts"))[0]
        return floored_one

    @overload
    def on_grid(self, ts: dt.datetime) -> bool: ...
    @overload
    def on_grid(self, ts: pd.DatetimeIndex | pd.Series[Any]) -> npt.NDArray[np.bool_]: ...
    def on_grid(
        self, ts: dt.datetime | pd.DatetimeIndex | pd.Series[Any]
    ) -> bool | npt.NDArray[np.bool_]:
        """Whether each tz-aware timestamp is exactly an interval start (``NaT`` → False)."""
        if isinstance(ts, pd.Series | pd.DatetimeIndex):
            idx = _as_index(ts, field="ts")
        else:
            idx = _scalar_index(ts, field="ts")
        floored = self._floor_index(idx)
        result = np.asarray(idx.notna()) & (
            np.asarray(floored.asi8, dtype=np.int64) == np.asarray(idx.asi8, dtype=np.int64)
        )
        if isinstance(ts, pd.Series | pd.DatetimeIndex):
            return np.asarray(result, dtype=np.bool_)
        return bool(result[0])

    @overload
    def local_date(self, ts: dt.datetime) -> dt.date: ...
    @overload
    def local_date(self, ts: pd.DatetimeIndex) -> npt.NDArray[np.object_]: ...
    @overload
    def local_date(self, ts: pd.Series[Any]) -> pd.Series[Any]: ...
    def local_date(
        self, ts: dt.datetime | pd.DatetimeIndex | pd.Series[Any]
    ) -> dt.date | npt.NDArray[np.object_] | pd.Series[Any]:
        """The local calendar date (``datetime.date``) each interval belongs to: the date of
        its start in the grid's zone, so an interval crossing midnight belongs to the day it
        starts. Naive input raises ``InputError``."""
        if isinstance(ts, pd.Series):
            dates = self._dates(_as_index(ts, field="ts"))
            return pd.Series(dates, index=ts.index, name=ts.name, dtype=object)
        if isinstance(ts, pd.DatetimeIndex):
            return self._dates(_as_index(ts, field="ts"))
        one: dt.date = _scalar_index(ts, field="ts").tz_convert(self.tz)[0].date()
        return one

    def _dates(self, index: pd.DatetimeIndex) -> npt.NDArray[np.object_]:
        """Local dates as ``datetime.date`` objects, made once per distinct day."""
        codes, days = pd.factorize(index.tz_convert(self.tz).normalize())
        lookup = np.asarray(pd.DatetimeIndex(days).date, dtype=object)
        result: npt.NDArray[np.object_] = lookup[codes]
        return result

    def span(self, start: dt.datetime, end: dt.datetime) -> pd.DatetimeIndex:
        """The interval starts covering ``[start, end)`` (tz-aware), in the grid's zone.

        The first is the interval holding ``start``; the last starts before ``end``. Spans may
        cross midnight and DST changes: a 22:00→06:00 shift on Berlin's fall-back night covers
        9 h (36 quarter-hours), on the spring-forward night 7 h (28)."""
        first = _scalar_index(start, field="start")
        last = _scalar_index(end, field="end")
        if last[0] < first[0]:
            raise InputError(
                f"end: {end} is before start {start}", field="end", expected="end >= start"
            )
        lo = self._floor_index(first)[0]
        grid = self._starts(self.local_date(start), self.local_date(end))
        return grid[(grid >= lo) & (grid < last[0])]


# --------------------------------------------------------------------------------------------
# parsing


class _BadTime(Exception):
    """A value ``to_site_time`` cannot turn into an instant (internal; carries the position)."""

    def __init__(self, pos: int, problem: str, expected: str) -> None:
        super().__init__(problem)
        self.pos = pos
        self.problem = problem
        self.expected = expected


def _localize(
    naive: pd.DatetimeIndex, zone: str, positions: npt.NDArray[np.intp]
) -> pd.DatetimeIndex:
    """Localize naive wall times (no ``NaT``) in ``zone``; nonexistent times raise, ambiguous
    ones are inferred from their order (a run that goes back in wall time) or raise."""
    try:
        return naive.tz_localize(zone, ambiguous="raise", nonexistent="raise")
    except Exception:  # pandas < 3 raises pytz errors (not ValueError), pandas >= 3 ValueError
        pass
    resolved = naive.tz_localize(zone, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="NaT")
    missing = np.flatnonzero(np.asarray(resolved.isna()))
    if missing.size:
        i = int(missing[0])
        raise _BadTime(
            int(positions[i]),
            f"{naive[i]} does not exist in {zone} (skipped by a DST change)",
            "a local time that exists, or an explicit UTC offset",
        )
    try:
        return naive.tz_localize(zone, ambiguous="infer", nonexistent="raise")
    except Exception:  # as above: pytz.AmbiguousTimeError on pandas < 3
        unresolved = naive.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
        i = int(np.flatnonzero(np.asarray(unresolved.isna()))[0])
        raise _BadTime(
            int(positions[i]),
            f"{naive[i]} is ambiguous in {zone} (repeated by a DST change) and the order of "
            "the rows does not tell which occurrence is meant",
            "an explicit UTC offset, e.g. 2026-10-25T02:15+01:00",
        ) from None


def _parse_texts(
    texts: list[str], positions: npt.NDArray[np.intp], *, utc: bool
) -> pd.DatetimeIndex:
    parsed = pd.DatetimeIndex(pd.to_datetime(texts, format="ISO8601", errors="coerce", utc=utc))
    bad = np.flatnonzero(np.asarray(parsed.isna()))
    if bad.size:
        i = int(bad[0])
        raise _BadTime(
            int(positions[i]), f"{texts[i]!r} is not an ISO-8601 timestamp", _EXPECTED_AWARE
        )
    return parsed


def _parse_site_time(values: pd.Series[Any], tz: str, naive_tz: str | None) -> pd.DatetimeIndex:
    """Parse ``values`` positionally into a DatetimeIndex in ``tz``; raises ``_BadTime``."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return pd.DatetimeIndex(values).tz_convert(tz)
    n = len(values)
    if values.dtype.kind == "M":
        idx = pd.DatetimeIndex(values)
        valid = np.flatnonzero(np.asarray(idx.notna()))
        if valid.size and naive_tz is None:
            i = int(valid[0])
            raise _BadTime(i, f"{idx[i]} has no UTC offset", _EXPECTED_AWARE)
        out_i8 = np.asarray(idx.asi8, dtype=np.int64).copy()
        if valid.size and naive_tz is not None:
            localized = _localize(idx[valid], naive_tz, valid).tz_convert("UTC")
            out_i8[valid] = np.asarray(localized.asi8, dtype=np.int64)
        return _from_utc_i8(out_i8, idx.unit, tz)

    raw = values.to_numpy(dtype=object)
    aware_txt: list[str] = []
    aware_txt_pos: list[int] = []
    naive_txt: list[str] = []
    naive_txt_pos: list[int] = []
    aware_obj: list[Any] = []
    aware_obj_pos: list[int] = []
    naive_obj: list[Any] = []
    naive_obj_pos: list[int] = []
    rest = raw
    if pd.api.types.infer_dtype(raw, skipna=False) == "string":
        # all text (the CSV case): classify vectorised instead of row by row
        stripped = pd.Series(raw, dtype=object).str.strip()
        present = (stripped != "").to_numpy()
        aware = stripped.str.contains(_OFFSET_RE.pattern, regex=True).to_numpy() & present
        naive = present & ~aware
        aware_txt_pos = np.flatnonzero(aware).tolist()
        aware_txt = stripped[aware].tolist()
        naive_txt_pos = np.flatnonzero(naive).tolist()
        naive_txt = stripped[naive].tolist()
        rest = raw[:0]
    for i, v in enumerate(rest):
        if isinstance(v, str):
            text = v.strip()
            if not text:
                continue
            if _OFFSET_RE.search(text):
                aware_txt.append(text)
                aware_txt_pos.append(i)
            else:
                naive_txt.append(text)
                naive_txt_pos.append(i)
        elif v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
            continue
        elif isinstance(v, dt.datetime):
            if v.tzinfo is not None and v.utcoffset() is not None:
                aware_obj.append(v)
                aware_obj_pos.append(i)
            else:
                naive_obj.append(v)
                naive_obj_pos.append(i)
        elif isinstance(v, np.datetime64):
            if not np.isnat(v):
                naive_obj.append(v)
                naive_obj_pos.append(i)
        else:
            raise _BadTime(i, f"{v!r} is not a timestamp", _EXPECTED_AWARE)

    parts: list[tuple[npt.NDArray[np.intp], pd.DatetimeIndex]] = []
    if aware_txt:
        pos = np.asarray(aware_txt_pos, dtype=np.intp)
        parts.append((pos, _parse_texts(aware_txt, pos, utc=True)))
    if aware_obj:
        pos = np.asarray(aware_obj_pos, dtype=np.intp)
        parts.append((pos, pd.DatetimeIndex(pd.to_datetime(aware_obj, utc=True))))
    naive_parts: list[tuple[npt.NDArray[np.intp], pd.DatetimeIndex]] = []
    if naive_txt:
        pos = np.asarray(naive_txt_pos, dtype=np.intp)
        parsed = _parse_texts(naive_txt, pos, utc=False)
        if parsed.tz is not None:  # an offset form the regex did not recognise
            parts.append((pos, parsed.tz_convert("UTC")))
        else:
            naive_parts.append((pos, parsed))
    if naive_obj:
        pos = np.asarray(naive_obj_pos, dtype=np.intp)
        naive_parts.append((pos, pd.DatetimeIndex(pd.to_datetime(naive_obj))))
    if naive_parts:
        pos = np.concatenate([p for p, _ in naive_parts])
        order = np.argsort(pos, kind="stable")  # localize in row order (ambiguity inference)
        unit = _finest([idx.unit for _, idx in naive_parts])
        wall_i8 = np.concatenate([np.asarray(idx.as_unit(unit).asi8) for _, idx in naive_parts])
        pos, wall_i8 = pos[order], wall_i8[order]
        if naive_tz is None:
            raise _BadTime(int(pos[0]), f"{raw[int(pos[0])]!r} has no UTC offset", _EXPECTED_AWARE)
        wall = pd.DatetimeIndex(wall_i8.view(f"M8[{unit}]"))
        parts.append((pos, _localize(wall, naive_tz, pos).tz_convert("UTC")))

    unit = _finest([idx.unit for _, idx in parts]) if parts else _DEFAULT_UNIT
    out_i8 = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)  # NaT
    for pos, idx in parts:
        out_i8[pos] = np.asarray(idx.as_unit(unit).asi8, dtype=np.int64)
    return _from_utc_i8(out_i8, unit, tz)


@overload
def to_site_time(
    values: pd.Series[Any], tz: str, *, naive_tz: str | None = ..., field: str = ...
) -> pd.Series[pd.Timestamp]: ...
@overload
def to_site_time(
    values: pd.Index[Any] | Sequence[object],
    tz: str,
    *,
    naive_tz: str | None = ...,
    field: str = ...,
) -> pd.DatetimeIndex: ...
def to_site_time(
    values: pd.Series[Any] | pd.Index[Any] | Sequence[object],
    tz: str,
    *,
    naive_tz: str | None = None,
    field: str = "ts",
) -> pd.Series[pd.Timestamp] | pd.DatetimeIndex:
    """Turn timestamps into tz-aware values in the site zone ``tz``.

    Accepts ISO-8601 strings with UTC offsets (offsets may differ row to row, as they do
    across a DST change), tz-aware datetimes, or tz-aware datetime64 values. Naive values
    (strings without an offset, naive datetimes) are localized in ``naive_tz`` if given —
    a nonexistent local time raises, an ambiguous one (the repeated DST hour) is resolved
    from the row order where the wall time visibly goes back, else raises — and otherwise
    raise ``InputError`` naming ``field`` and the first such row (0-based position).
    Missing values (``None``, ``NaN``, empty strings) become ``NaT``. A Series keeps its index.
    """
    check_tz(tz)
    if naive_tz is not None:
        check_tz(naive_tz, field="naive_tz")
    series: pd.Series[Any] = values if isinstance(values, pd.Series) else pd.Series(list(values))
    try:
        parsed = _parse_site_time(series.reset_index(drop=True), tz, naive_tz)
    except _BadTime as bad:
        raise InputError(
            f"{field}: row {bad.pos}: {bad.problem}; expected {bad.expected}",
            field=field,
            row=bad.pos,
            expected=bad.expected,
        ) from None
    if isinstance(values, pd.Series):
        return pd.Series(parsed, index=values.index, name=values.name)
    return pd.DatetimeIndex(parsed)
