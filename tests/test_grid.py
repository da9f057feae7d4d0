"""Tests of wfm.grid: DST days, cross-midnight spans, floors in odd offsets, parsing.

Reference counts are elapsed UTC time between local midnights computed here with zoneinfo
and datetime, independently of the code under test.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from wfm.errors import InputError
from wfm.grid import INTERVAL_MINUTES, Grid, check_interval_min, parse_hhmm, to_site_time

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
KOLKATA = "Asia/Kolkata"


def utc_midnight(tz: str, day: dt.date) -> dt.datetime:
    """Local midnight of ``day`` in ``tz`` as a UTC datetime (zoneinfo, not wfm)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(tz)).astimezone(dt.UTC)


def elapsed_intervals(tz: str, start: dt.datetime, end: dt.datetime, minutes: int) -> int:
    """Whole intervals of real (UTC) time between two aware datetimes."""
    assert start.tzinfo is not None
    assert end.tzinfo is not None
    return (end.astimezone(dt.UTC) - start.astimezone(dt.UTC)) // dt.timedelta(minutes=minutes)


def reference_day_count(tz: str, day: dt.date, minutes: int) -> int:
    start = utc_midnight(tz, day)
    end = utc_midnight(tz, day + dt.timedelta(days=1))
    return elapsed_intervals(tz, start, end, minutes)


def local(tz: str, text: str) -> dt.datetime:
    """An aware datetime from a local wall time (fold=0: the first of a repeated time)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


# ------------------------------------------------------------------------------------ days


@pytest.mark.parametrize(
    ("tz", "day", "counts"),
    [
        (BERLIN, dt.date(2026, 3, 29), (92, 46, 23)),  # spring forward
        (BERLIN, dt.date(2026, 10, 25), (100, 50, 25)),  # fall back
        (BERLIN, dt.date(2026, 6, 15), (96, 48, 24)),
        (NEW_YORK, dt.date(2026, 3, 8), (92, 46, 23)),
        (NEW_YORK, dt.date(2026, 11, 1), (100, 50, 25)),
        (NEW_YORK, dt.date(2026, 1, 14), (96, 48, 24)),
        (KOLKATA, dt.date(2026, 3, 29), (96, 48, 24)),
    ],
)
def test_intervals_per_day_match_elapsed_utc_time(
    tz: str, day: dt.date, counts: tuple[int, int, int]
) -> None:
    for minutes, expected in zip(INTERVAL_MINUTES, counts, strict=True):
        grid = Grid(tz, minutes)
        assert expected == reference_day_count(tz, day, minutes)
        assert grid.intervals_per_day(day) == expected
        assert len(grid.day(day)) == expected


def test_day_accepts_iso_string() -> None:
    grid = Grid(BERLIN)
    assert grid.day("2026-03-29").equals(grid.day(dt.date(2026, 3, 29)))


def test_fall_back_day_is_unique_and_strictly_increasing_in_utc() -> None:
    day = dt.date(2026, 10, 25)
    starts = Grid(BERLIN).day(day)
    utc = starts.tz_convert("UTC")
    assert str(starts.tz) == BERLIN
    assert utc.is_unique
    assert utc.is_monotonic_increasing
    assert (np.diff(utc.asi8) > 0).all()
    # contiguous quarter-hours of real time from local midnight to the next
    assert utc[0] == pd.Timestamp(utc_midnight(BERLIN, day))
    assert (utc[1:] - utc[:-1] == pd.Timedelta(minutes=15)).all()
    assert utc[-1] + pd.Timedelta(minutes=15) == pd.Timestamp(
        utc_midnight(BERLIN, day + dt.timedelta(days=1))
    )
    # the repeated hour appears twice, with different UTC offsets
    repeated = starts[(starts.hour == 2) & (starts.minute == 15)]
    assert len(repeated) == 2
    assert [t.utcoffset() for t in repeated] == [dt.timedelta(hours=2), dt.timedelta(hours=1)]
    # every start is on a local quarter-hour of the day
    assert set(starts.minute) == {0, 15, 30, 45}
    assert {t.date() for t in starts} == {day}


def test_spring_forward_day_skips_the_missing_hour() -> None:
    starts = Grid(BERLIN).day(dt.date(2026, 3, 29))
    assert not (starts.hour == 2).any()
    i = int(np.flatnonzero((starts.hour == 1) & (starts.minute == 45))[0])
    assert starts[i + 1].hour == 3
    assert starts[i + 1] - starts[i] == pd.Timedelta(minutes=15)


def test_hourly_grid_in_half_hour_offset_zone_starts_on_local_hours() -> None:
    starts = Grid(KOLKATA, 60).day(dt.date(2026, 5, 4))
    assert len(starts) == 24
    assert set(starts.minute) == {0}
    assert starts[0] == pd.Timestamp(local(KOLKATA, "2026-05-04T00:00"))
    assert starts.tz_convert("UTC")[0].minute == 30


def test_range_is_inclusive_concatenation_of_days() -> None:
    grid = Grid(BERLIN, 30)
    days = [dt.date(2026, 3, 28), dt.date(2026, 3, 29), dt.date(2026, 3, 30)]
    starts = grid.range(days[0], days[-1])
    expected = sum(reference_day_count(BERLIN, d, 30) for d in days)
    assert len(starts) == expected == 48 + 46 + 48
    assert starts.equals(grid.day(days[0]).append([grid.day(d) for d in days[1:]]))
    assert len(grid.range(days[0], days[0])) == 48


def test_range_end_before_start_raises() -> None:
    with pytest.raises(InputError) as info:
        Grid(BERLIN).range(dt.date(2026, 3, 2), dt.date(2026, 3, 1))
    assert info.value.field == "end_date"


# ----------------------------------------------------------------------------------- spans


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-06-14T22:00", "2026-06-15T06:00", 32),  # normal night: 8 h
        ("2026-10-24T22:00", "2026-10-25T06:00", 36),  # fall-back night: 9 h
        ("2026-03-28T22:00", "2026-03-29T06:00", 28),  # spring-forward night: 7 h
        ("2026-06-15T09:00", "2026-06-15T17:30", 34),
    ],
)
def test_span_counts_follow_elapsed_time(start: str, end: str, expected: int) -> None:
    begin, finish = local(BERLIN, start), local(BERLIN, end)
    assert elapsed_intervals(BERLIN, begin, finish, 15) == expected
    covered = Grid(BERLIN).span(begin, finish)
    assert len(covered) == expected
    assert covered[0] == pd.Timestamp(begin)
    assert covered[-1] + pd.Timedelta(minutes=15) == pd.Timestamp(finish)
    assert covered.tz_convert("UTC").is_monotonic_increasing


def test_span_starts_with_interval_holding_start() -> None:
    grid = Grid(BERLIN, 30)
    covered = grid.span(local(BERLIN, "2026-06-15T09:10"), local(BERLIN, "2026-06-15T10:05"))
    assert [t.strftime("%H:%M") for t in covered] == ["09:00", "09:30", "10:00"]


def test_span_accepts_other_zones_and_empty_span() -> None:
    grid = Grid(BERLIN)
    start = pd.Timestamp("2026-06-15T07:00Z")
    covered = grid.span(start, start + pd.Timedelta(hours=1))
    assert covered[0] == pd.Timestamp(local(BERLIN, "2026-06-15T09:00"))
    assert len(covered) == 4
    assert len(grid.span(start, start)) == 0


def test_span_rejects_naive_and_reversed() -> None:
    grid = Grid(BERLIN)
    with pytest.raises(InputError) as info:
        grid.span(dt.datetime(2026, 6, 15, 9), local(BERLIN, "2026-06-15T10:00"))
    assert info.value.field == "start"
    with pytest.raises(InputError) as info:
        grid.span(local(BERLIN, "2026-06-15T10:00"), local(BERLIN, "2026-06-15T09:00"))
    assert info.value.field == "end"


# ---------------------------------------------------------------------------------- floors


@pytest.mark.parametrize(
    ("minutes", "ts", "expected"),
    [
        (60, "2026-01-10T10:20+05:30", "2026-01-10T10:00+05:30"),
        (60, "2026-01-10T04:50Z", "2026-01-10T10:00+05:30"),  # 10:20 local
        (30, "2026-01-10T10:20+05:30", "2026-01-10T10:00+05:30"),
        (30, "2026-01-10T10:40+05:30", "2026-01-10T10:30+05:30"),
        (15, "2026-01-10T00:14:59+05:30", "2026-01-10T00:00+05:30"),
        (60, "2026-01-10T23:59+05:30", "2026-01-10T23:00+05:30"),
    ],
)
def test_floor_in_half_hour_offset_zone(minutes: int, ts: str, expected: str) -> None:
    floored = Grid(KOLKATA, minutes).floor(pd.Timestamp(ts))
    assert floored == pd.Timestamp(expected)
    assert str(floored.tz) == KOLKATA


def test_floor_on_fall_back_keeps_the_occurrence() -> None:
    grid = Grid(BERLIN, 60)
    values = pd.Series(
        [pd.Timestamp("2026-10-25T00:10Z"), pd.Timestamp("2026-10-25T01:10Z"), pd.NaT],
        index=[10, 11, 12],
    )
    floored = grid.floor(values)
    assert list(floored.index) == [10, 11, 12]
    assert floored.iloc[0] == pd.Timestamp("2026-10-25T02:00+02:00")
    assert floored.iloc[1] == pd.Timestamp("2026-10-25T02:00+01:00")
    assert pd.isna(floored.iloc[2])


def test_floor_sweep_over_dst_days_lands_on_grid() -> None:
    grid = Grid(BERLIN, 30)
    for day in (dt.date(2026, 3, 29), dt.date(2026, 10, 25)):
        begin = utc_midnight(BERLIN, day)
        end = utc_midnight(BERLIN, day + dt.timedelta(days=1))
        utc = pd.date_range(begin, end, freq="7min", inclusive="left")
        floored = grid.floor(utc)
        lag = utc - floored
        assert (lag >= pd.Timedelta(0)).all()
        assert (lag < pd.Timedelta(minutes=30)).all()
        assert pd.Index(floored).isin(grid.day(day)).all()


def test_floor_rejects_naive_timestamps() -> None:
    grid = Grid(BERLIN)
    with pytest.raises(InputError) as info:
        grid.floor(pd.Timestamp("2026-03-02T09:10"))
    assert info.value.field == "ts"
    assert info.value.expected == "tz-aware timestamps"
    with pytest.raises(InputError) as info:
        grid.floor(pd.DatetimeIndex([pd.NaT, pd.Timestamp("2026-03-02T09:10")]))
    assert info.value.field == "ts"
    assert info.value.row == 1


def test_on_grid() -> None:
    grid = Grid(KOLKATA, 60)
    values = pd.DatetimeIndex(
        [pd.Timestamp("2026-01-10T04:30Z"), pd.Timestamp("2026-01-10T05:00Z"), pd.NaT]
    )
    assert grid.on_grid(values).tolist() == [True, False, False]
    assert grid.on_grid(pd.Timestamp("2026-01-10T11:00+05:30")) is True
    assert grid.on_grid(pd.Timestamp("2026-01-10T11:01+05:30")) is False


def test_local_date_of_cross_midnight_interval() -> None:
    grid = Grid(BERLIN)
    assert grid.local_date(local(BERLIN, "2026-06-15T23:45")) == dt.date(2026, 6, 15)
    assert grid.local_date(pd.Timestamp("2026-06-15T22:30Z")) == dt.date(2026, 6, 16)
    values = pd.Series(grid.day(dt.date(2026, 10, 25)))
    assert set(grid.local_date(values)) == {dt.date(2026, 10, 25)}
    index_dates = grid.local_date(pd.DatetimeIndex(values))
    assert index_dates.tolist() == [dt.date(2026, 10, 25)] * 100
    with pytest.raises(InputError):
        grid.local_date(dt.datetime(2026, 6, 15))


# ----------------------------------------------------------------------------- validation


def test_grid_validation() -> None:
    assert Grid(BERLIN).interval_s == 900
    assert Grid(BERLIN, 60).interval_s == 3600
    with pytest.raises(InputError) as info:
        Grid(BERLIN, 20)
    assert info.value.field == "interval_min"
    with pytest.raises(InputError) as info:
        Grid("Mars/Olympus_Mons")
    assert info.value.field == "tz"


@pytest.mark.parametrize("minutes", [15, 30, 60])
def test_check_interval_min_accepts(minutes: int) -> None:
    assert check_interval_min(minutes) == minutes


@pytest.mark.parametrize("minutes", [0, 10, 45, 120, -15])
def test_check_interval_min_rejects(minutes: int) -> None:
    with pytest.raises(InputError) as info:
        check_interval_min(minutes)
    assert info.value.field == "interval_min"


def test_check_interval_min_rejects_non_integers() -> None:
    with pytest.raises(InputError):
        check_interval_min(True)
    with pytest.raises(InputError):
        check_interval_min(15.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("00:00", dt.time(0, 0)), ("09:30", dt.time(9, 30)), ("23:59", dt.time(23, 59))],
)
def test_parse_hhmm(text: str, expected: dt.time) -> None:
    assert parse_hhmm(text) == expected


@pytest.mark.parametrize("text", ["24:00", "12:60", "9:30", "09:30:00", "noon", "", "-1:00"])
def test_parse_hhmm_rejects(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_hhmm(text)
    assert info.value.field == "time"
    assert info.value.expected is not None
    assert "HH:MM" in info.value.expected


# ------------------------------------------------------------------------------ to_site_time


def test_to_site_time_mixed_offsets_across_dst() -> None:
    raw = pd.Series(
        ["2026-03-29T01:45:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T01:00:00Z"],
        index=["a", "b", "c"],
    )
    parsed = to_site_time(raw, BERLIN)
    assert list(parsed.index) == ["a", "b", "c"]
    assert str(parsed.dt.tz) == BERLIN
    assert parsed.iloc[1] - parsed.iloc[0] == pd.Timedelta(minutes=15)
    assert parsed.iloc[2] == pd.Timestamp(local(BERLIN, "2026-03-29T03:00"))


def test_to_site_time_naive_needs_naive_tz() -> None:
    raw = ["2026-03-02T09:00+01:00", None, "2026-03-02 09:15"]
    with pytest.raises(InputError) as info:
        to_site_time(raw, BERLIN, field="start")
    assert info.value.field == "start"
    assert info.value.row == 2
    assert "row 2" in str(info.value)
    parsed = to_site_time(raw, BERLIN, naive_tz=BERLIN)
    assert parsed.isna().tolist() == [False, True, False]
    assert parsed[0] == pd.Timestamp("2026-03-02T09:00+01:00")
    assert parsed[2] == pd.Timestamp("2026-03-02T09:15+01:00")


def test_to_site_time_nonexistent_local_time_raises() -> None:
    with pytest.raises(InputError) as info:
        to_site_time(["2026-03-29 01:45", "2026-03-29 02:30"], BERLIN, naive_tz=BERLIN)
    assert info.value.row == 1
    assert "does not exist" in str(info.value)


def test_to_site_time_infers_repeated_hour_from_order() -> None:
    wall = ["01:45", "02:00", "02:30", "02:00", "02:30", "03:00"]
    parsed = to_site_time([f"2026-10-25 {w}" for w in wall], BERLIN, naive_tz=BERLIN)
    utc = parsed.tz_convert("UTC")
    assert utc.is_monotonic_increasing
    assert utc.is_unique
    assert parsed[1].utcoffset() == dt.timedelta(hours=2)
    assert parsed[3].utcoffset() == dt.timedelta(hours=1)


def test_to_site_time_single_ambiguous_time_raises() -> None:
    with pytest.raises(InputError) as info:
        to_site_time(["2026-10-24 12:00", "2026-10-25 02:15"], BERLIN, naive_tz=BERLIN)
    assert info.value.row == 1
    assert "ambiguous" in str(info.value)


def test_to_site_time_unparsable_raises() -> None:
    with pytest.raises(InputError) as info:
        to_site_time(["2026-03-02T09:00+01:00", "yesterday"], BERLIN)
    assert info.value.row == 1
    assert "'yesterday'" in str(info.value)


def test_to_site_time_converts_aware_values() -> None:
    utc = pd.Series(pd.to_datetime(["2026-10-25T00:30Z", "2026-10-25T01:30Z"], utc=True))
    parsed = to_site_time(utc, BERLIN)
    assert [t.utcoffset() for t in parsed] == [dt.timedelta(hours=2), dt.timedelta(hours=1)]
    objects = [local(NEW_YORK, "2026-03-02T09:00"), pd.Timestamp("2026-03-02T15:00+01:00")]
    assert list(to_site_time(objects, BERLIN)) == [
        pd.Timestamp("2026-03-02T15:00+01:00"),
        pd.Timestamp("2026-03-02T15:00+01:00"),
    ]
