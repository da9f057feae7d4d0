"""Tests of the forecasting engine: synthetic series whose right answer is known.

Every series is built here (seeded numpy, pandas) on the site's local clock:

- a *pure weekly pattern* repeats the same value for the same weekday and minute of the day
  every week, so "same slot last week" and "same slot, mean of four weeks" must reproduce it
  exactly and every sensible model must come close;
- *Poisson* series draw each interval from a stable weekly mean, so the prediction intervals
  can be checked for coverage on held-out weeks;
- holidays, closures, campaigns and DST days come from a real calendar (Germany/Berlin) and
  the Europe/Berlin zone, checked against hand-made expectations (92 and 100 quarter-hours).

Tests named after a defect (DST slot tables, ridge on weekday terms, ETS weekday factors, a
campaign on a closed weekday) pin the fixes of bugs this file first found.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from forecasting import (
    AUTO_CANDIDATES,
    MODELS,
    AutoForecaster,
    BacktestResult,
    Calendar,
    CalendarRegression,
    Forecaster,
    backtest,
    horizon_at,
    make_model,
    origins_of,
    prepare,
)
from wfm import contracts
from wfm.errors import FrameError, InputError

BERLIN = "Europe/Berlin"
ALL_MODELS = (*MODELS, "auto")
BOUNDS = ("calls_lo_95", "calls_lo_80", "calls", "calls_hi_80", "calls_hi_95")
FloatArray = npt.NDArray[np.float64]


# ------------------------------------------------------------------------------ builders


def model_for(name: str, calendar: Calendar | None = None, tz: str = BERLIN) -> Forecaster:
    """A model by name, ``auto`` included."""
    if name == "auto":
        return AutoForecaster(tz=tz, calendar=calendar)
    return make_model(name, tz=tz, calendar=calendar)


def pattern(weekday: npt.ArrayLike, minute: npt.ArrayLike) -> FloatArray:
    """The deterministic weekly pattern: a weekday level times an intraday wave (always > 0)."""
    w = np.asarray(weekday, dtype=np.float64)
    m = np.asarray(minute, dtype=np.float64)
    return (20.0 + 4.0 * w) * (1.0 + 0.5 * np.sin(2.0 * np.pi * (m - 360.0) / 1440.0))


def office_slots(
    first: str,
    last: str,
    *,
    interval: int = 30,
    hours: tuple[int, int] = (8, 18),
    weekdays: Collection[int] = range(5),
    skip: Collection[dt.date] = (),
    tz: str = BERLIN,
) -> pd.DatetimeIndex:
    """Interval starts of a business-hours project: ``hours`` on ``weekdays``, local dates
    ``first`` … ``last`` (inclusive), leaving out the dates in ``skip``."""
    stamps: list[pd.Timestamp] = []
    for day in pd.date_range(first, last, freq="D"):
        if day.weekday() not in weekdays or day.date() in skip:
            continue
        stamps.extend(
            day + pd.Timedelta(minutes=m) for m in range(hours[0] * 60, hours[1] * 60, interval)
        )
    return pd.DatetimeIndex(stamps).tz_localize(tz)


def round_the_clock(
    first: str, last: str, *, interval: int = 15, tz: str = BERLIN
) -> pd.DatetimeIndex:
    """Every interval start of the local days ``first`` … ``last`` (real time: 92 quarter-hours
    on a spring-forward day, 100 on a fall-back day)."""
    start = pd.Timestamp(first).tz_localize(tz).tz_convert("UTC")
    end = (pd.Timestamp(last) + pd.Timedelta(days=1)).tz_localize(tz).tz_convert("UTC")
    utc = pd.date_range(start, end, freq=f"{interval}min", inclusive="left")
    return utc.tz_convert(tz)


def local_parts(ts: pd.DatetimeIndex | pd.Series[Any], tz: str = BERLIN) -> pd.DataFrame:
    """Local date, weekday and minute of the day of tz-aware timestamps."""
    local = pd.DatetimeIndex(ts).tz_convert(tz)
    return pd.DataFrame(
        {
            "date": local.date,
            "weekday": np.asarray(local.day_of_week, dtype=np.int64),
            "minute": np.asarray(local.hour * 60 + local.minute, dtype=np.int64),
        }
    )


def weekly_history(ts: pd.DatetimeIndex, project: str = "A") -> pd.DataFrame:
    """The pure weekly pattern on ``ts``."""
    parts = local_parts(ts)
    return pd.DataFrame(
        {"project": project, "ts": ts, "calls": pattern(parts["weekday"], parts["minute"])}
    )


def poisson_history(
    ts: pd.DatetimeIndex, rng: np.random.Generator, project: str = "A", scale: float = 1.0
) -> pd.DataFrame:
    """Poisson counts around ``scale`` × the weekly pattern."""
    parts = local_parts(ts)
    mu = scale * pattern(parts["weekday"], parts["minute"])
    return pd.DataFrame({"project": project, "ts": ts, "calls": rng.poisson(mu).astype(float)})


def expected_pattern(ts: pd.Series[Any] | pd.DatetimeIndex) -> FloatArray:
    parts = local_parts(ts)
    return pattern(parts["weekday"], parts["minute"])


def at_frame(project: str, ts: pd.DatetimeIndex) -> pd.DataFrame:
    return pd.DataFrame({"project": project, "ts": ts})


def local_dates(frame: pd.DataFrame, project: str | None = None) -> set[dt.date]:
    rows = frame if project is None else frame[frame["project"] == project]
    return set(pd.DatetimeIndex(rows["ts"]).tz_convert(BERLIN).date)


def day_sums(fc: pd.DataFrame, project: str) -> dict[dt.date, float]:
    rows = fc[fc["project"] == project]
    dates = pd.DatetimeIndex(rows["ts"]).tz_convert(BERLIN).date
    sums = rows["calls"].groupby(dates).sum()
    return {dt.date.fromisoformat(str(d)): float(v) for d, v in sums.items()}


def assert_demand(fc: pd.DataFrame, at: pd.DataFrame) -> None:
    """The demand contract, row order of ``at``, ordered non-negative bounds, no NaN."""
    contracts.validate(fc, contracts.DEMAND)
    assert list(fc.columns[:4]) == ["project", "ts", "calls", "aht_s"]
    assert len(fc) == len(at)
    assert (fc["project"].astype(str).to_numpy() == at["project"].astype(str).to_numpy()).all()
    assert (pd.DatetimeIndex(fc["ts"]) == pd.DatetimeIndex(at["ts"])).all()
    values = fc[[*BOUNDS, "aht_s"]].to_numpy(dtype=np.float64)
    assert np.isfinite(values).all()
    bounds = fc[list(BOUNDS)].to_numpy(dtype=np.float64)
    assert (bounds >= 0.0).all()
    assert (np.diff(bounds, axis=1) >= 0.0).all()


# ------------------------------------------------------------------------- shared series

#: 11 weeks of weekday business hours (Mon 2026-01-05 … Fri 2026-03-20): enough for ``auto``
#: to run its inner backtest (3 origins × 10 days + 21 days)
PROTOCOL_SLOTS = office_slots("2026-01-05", "2026-03-20")


@pytest.fixture(scope="module")
def two_projects() -> pd.DataFrame:
    """Two Poisson projects with a handle time, one three times the size of the other."""
    rng = np.random.default_rng(7)
    a = poisson_history(PROTOCOL_SLOTS, rng, "A")
    b = poisson_history(PROTOCOL_SLOTS, rng, "B", scale=3.0)
    frame = pd.concat([a, b], ignore_index=True)
    frame["aht_s"] = rng.normal(300.0, 20.0, len(frame)).round(1)
    return frame


# ------------------------------------------------------------------- 1. protocol conformance


@pytest.mark.parametrize("name", ALL_MODELS)
def test_protocol(name: str, two_projects: pd.DataFrame) -> None:
    model = model_for(name)
    assert model.fit(two_projects) is model
    prepared = prepare(two_projects, tz=BERLIN, calendar=Calendar())
    at = horizon_at(prepared, calendar=Calendar(), horizon_days=7)
    # ask in a scrambled order, with a stray closed slot (07:00) and a Saturday slot
    extra = pd.DataFrame(
        {
            "project": ["A", "B"],
            "ts": pd.DatetimeIndex(["2026-03-23 07:00", "2026-03-28 10:00"]).tz_localize(BERLIN),
        }
    )
    at = pd.concat([at, extra], ignore_index=True).sample(frac=1.0, random_state=3)
    fc = model.predict(at)
    assert_demand(fc, at)
    closed = (pd.DatetimeIndex(fc["ts"]).tz_convert(BERLIN).hour < 8) | (
        pd.DatetimeIndex(fc["ts"]).tz_convert(BERLIN).day_of_week >= 5
    )
    assert (fc.loc[closed, list(BOUNDS)].to_numpy() == 0.0).all()
    assert (fc.loc[~closed, "calls"] > 0.0).all()
    # one level only: only those bound columns
    one = model.predict(at, level=(90,))
    assert [c for c in one.columns if c.startswith("calls_")] == ["calls_lo_90", "calls_hi_90"]


def test_auto_runs_its_selection_and_records_it(two_projects: pd.DataFrame) -> None:
    model = AutoForecaster(tz=BERLIN).fit(two_projects)
    for project in ("A", "B"):
        scores = model.selection_[project]
        assert set(scores) == set(AUTO_CANDIDATES)
        assert model.chosen_[project] == min(scores, key=lambda m: scores[m])


def test_auto_falls_back_on_short_history() -> None:
    history = weekly_history(office_slots("2026-01-05", "2026-01-30"))
    model = AutoForecaster(tz=BERLIN).fit(history)
    assert model.chosen_ == {"A": "slot_mean_4"}
    assert model.selection_ == {"A": {}}


# ----------------------------------------------------------------- 2. a pure weekly pattern

WEEKLY_HISTORY = weekly_history(office_slots("2026-01-05", "2026-02-27"))  # 8 weeks
WEEKLY_NEXT = office_slots("2026-03-02", "2026-03-13")  # the next two weeks


@pytest.mark.parametrize(
    ("name", "rtol"),
    [
        ("seasonal_naive", 1e-9),
        ("slot_mean_4", 1e-9),
        # an estimate (time-weighted regression, level correction, mean profile)
        ("calendar_regression", 0.01),
        ("mstl", 0.015),
        ("combination", 0.02),
    ],
)
def test_pure_weekly_pattern_is_reproduced(name: str, rtol: float) -> None:
    prepared = prepare(WEEKLY_HISTORY, tz=BERLIN, calendar=Calendar())
    at = horizon_at(prepared, calendar=Calendar(), horizon_days=14)
    assert (pd.DatetimeIndex(at["ts"]) == WEEKLY_NEXT).all()
    fc = make_model(name, tz=BERLIN).fit(WEEKLY_HISTORY).predict(at)
    expected = expected_pattern(WEEKLY_NEXT)
    np.testing.assert_allclose(fc["calls"].to_numpy(), expected, rtol=rtol, atol=0.0)


def test_pure_weekly_pattern_deserves_tight_intervals() -> None:
    """No error at the inner origins: the dispersion is 0 and the bounds are Poisson."""
    model = make_model("slot_mean_4", tz=BERLIN).fit(WEEKLY_HISTORY)
    assert model.dispersion_ == {"A": 0.0}


def test_calendar_regression_within_one_percent_on_weekly_pattern() -> None:
    fc = CalendarRegression(tz=BERLIN).fit(WEEKLY_HISTORY).predict(at_frame("A", WEEKLY_NEXT))
    np.testing.assert_allclose(fc["calls"].to_numpy(), expected_pattern(WEEKLY_NEXT), rtol=0.01)


def test_ets_daily_profile_within_two_percent_on_weekly_pattern() -> None:
    model = make_model("ets_daily_profile", tz=BERLIN).fit(WEEKLY_HISTORY)
    fc = model.predict(at_frame("A", WEEKLY_NEXT))
    np.testing.assert_allclose(fc["calls"].to_numpy(), expected_pattern(WEEKLY_NEXT), rtol=0.02)


# -------------------------------------------------------------------------------- 3. holidays

HOLIDAYS_DE_BE = Calendar(country="DE", subdiv="BE")
#: public holidays of Berlin from March 2025 to the history's end (2026-04-02)
_BERLIN_DAYS_OFF = {
    d for d in HOLIDAYS_DE_BE.public_holidays([2025, 2026]) if d < dt.date(2026, 4, 3)
}
EASTER_MONDAY_2025 = dt.date(2025, 4, 21)
GOOD_FRIDAY_2026 = dt.date(2026, 4, 3)
EASTER_MONDAY_2026 = dt.date(2026, 4, 6)


def holiday_history() -> pd.DataFrame:
    """Mon 2025-03-03 … Thu 2026-04-02, hourly 08–18, weekly pattern. Project ``closes``
    has no rows on any public holiday; project ``works`` also worked Easter Monday 2025
    (a normal Monday's volume) and closed the other holidays."""
    closes = office_slots("2025-03-03", "2026-04-02", interval=60, skip=_BERLIN_DAYS_OFF)
    works = office_slots(
        "2025-03-03", "2026-04-02", interval=60, skip=_BERLIN_DAYS_OFF - {EASTER_MONDAY_2025}
    )
    return pd.concat(
        [weekly_history(closes, "closes"), weekly_history(works, "works")], ignore_index=True
    )


HOLIDAY_HISTORY = holiday_history()
#: the week after: Good Friday (Fri 3 April) … Thu 9 April 2026
EASTER_WEEK = office_slots("2026-04-03", "2026-04-09", interval=60)
MONDAY_TOTAL = float(pattern(0, np.arange(8, 18) * 60).sum())
EASTER_AT = pd.concat(
    [at_frame("closes", EASTER_WEEK), at_frame("works", EASTER_WEEK)], ignore_index=True
)


def events(*rows: tuple[dt.date, str | None, str, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["date", "project", "kind", "uplift"])


_FITTED: dict[tuple[str, str], Forecaster] = {}


def fitted_on_holidays(name: str, key: str, calendar: Calendar) -> Forecaster:
    """Fit once per (model, calendar) for the holiday tests."""
    if (name, key) not in _FITTED:
        _FITTED[(name, key)] = model_for(name, calendar).fit(HOLIDAY_HISTORY)
    return _FITTED[(name, key)]


def test_holiday_history_learns_closed_and_worked_holidays() -> None:
    prepared = prepare(HOLIDAY_HISTORY, tz=BERLIN, calendar=HOLIDAYS_DE_BE)
    assert {"Good Friday", "Easter Monday", "Christmas Day"} <= prepared["closes"].closed_holidays
    assert "Easter Monday" in prepared["works"].open_holidays
    assert "Easter Monday" not in prepared["works"].closed_holidays
    assert "Good Friday" in prepared["works"].closed_holidays


def test_horizon_leaves_out_closed_holidays() -> None:
    prepared = prepare(HOLIDAY_HISTORY, tz=BERLIN, calendar=HOLIDAYS_DE_BE)
    at = horizon_at(prepared, calendar=HOLIDAYS_DE_BE, horizon_days=7)
    week = {GOOD_FRIDAY_2026 + dt.timedelta(days=i) for i in range(7)}
    weekdays = {d for d in week if d.weekday() < 5}
    assert local_dates(at, "closes") == weekdays - {GOOD_FRIDAY_2026, EASTER_MONDAY_2026}
    assert local_dates(at, "works") == weekdays - {GOOD_FRIDAY_2026}
    # opening hours 08–18 on every day left
    hours = set(pd.DatetimeIndex(at["ts"]).tz_convert(BERLIN).hour)
    assert hours == set(range(8, 18))


@pytest.mark.parametrize("name", ALL_MODELS)
def test_holidays_closed_before_are_forecast_closed(name: str) -> None:
    fc = fitted_on_holidays(name, "plain", HOLIDAYS_DE_BE).predict(EASTER_AT)
    assert_demand(fc, EASTER_AT)
    closes, works = day_sums(fc, "closes"), day_sums(fc, "works")
    assert closes[GOOD_FRIDAY_2026] == 0.0
    assert closes[EASTER_MONDAY_2026] == 0.0
    assert works[GOOD_FRIDAY_2026] == 0.0
    # a holiday the project worked before is open, at about a normal Monday's volume
    assert works[EASTER_MONDAY_2026] == pytest.approx(MONDAY_TOTAL, rel=0.03)
    # the closed days carry no uncertainty either
    shut = fc[(fc["project"] == "closes") & (fc["calls"] == 0.0)]
    assert len(shut) == 20
    assert (shut[list(BOUNDS)].to_numpy() == 0.0).all()


@pytest.mark.parametrize("name", ["seasonal_naive", "slot_mean_4"])
def test_worked_holiday_is_forecast_like_a_normal_day(name: str) -> None:
    fc = fitted_on_holidays(name, "plain", HOLIDAYS_DE_BE).predict(EASTER_AT)
    monday = fc[
        (fc["project"] == "works")
        & (local_parts(fc["ts"])["date"] == EASTER_MONDAY_2026).to_numpy()
    ]
    np.testing.assert_allclose(
        monday["calls"].to_numpy(), expected_pattern(pd.DatetimeIndex(monday["ts"])), rtol=1e-9
    )


CLOSURE_DAY = dt.date(2026, 4, 8)
CAMPAIGN_DAY = dt.date(2026, 4, 9)
WITH_CLOSURE = Calendar(
    country="DE", subdiv="BE", events=events((CLOSURE_DAY, "closes", "closure", math.nan))
)
WITH_CAMPAIGN = Calendar(
    country="DE", subdiv="BE", events=events((CAMPAIGN_DAY, None, "campaign", 1.6))
)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_declared_closure_forces_zero(name: str) -> None:
    fc = fitted_on_holidays(name, "closure", WITH_CLOSURE).predict(EASTER_AT)
    assert day_sums(fc, "closes")[CLOSURE_DAY] == 0.0
    assert day_sums(fc, "works")[CLOSURE_DAY] > 0.0  # the event names one project
    prepared = prepare(HOLIDAY_HISTORY, tz=BERLIN, calendar=WITH_CLOSURE)
    at = horizon_at(prepared, calendar=WITH_CLOSURE, horizon_days=7)
    assert CLOSURE_DAY not in local_dates(at, "closes")
    assert CLOSURE_DAY in local_dates(at, "works")


@pytest.mark.parametrize("name", ALL_MODELS)
def test_campaign_uplift_multiplies_the_day(name: str) -> None:
    plain = fitted_on_holidays(name, "plain", HOLIDAYS_DE_BE).predict(EASTER_AT)
    uplifted = fitted_on_holidays(name, "campaign", WITH_CAMPAIGN).predict(EASTER_AT)
    on_day = (local_parts(plain["ts"])["date"] == CAMPAIGN_DAY).to_numpy()
    assert on_day.sum() == 20
    np.testing.assert_allclose(
        uplifted.loc[on_day, "calls"].to_numpy(),
        1.6 * plain.loc[on_day, "calls"].to_numpy(),
        rtol=1e-12,
    )
    np.testing.assert_array_equal(
        uplifted.loc[~on_day, "calls"].to_numpy(), plain.loc[~on_day, "calls"].to_numpy()
    )
    assert (uplifted.loc[on_day, "calls_hi_95"] >= plain.loc[on_day, "calls_hi_95"]).all()


def test_campaign_on_a_closed_weekday_is_consistent() -> None:
    saturday = dt.date(2026, 2, 28)  # the day after WEEKLY_HISTORY ends
    calendar = Calendar(events=events((saturday, "A", "campaign", 1.6)))
    prepared = prepare(WEEKLY_HISTORY, tz=BERLIN, calendar=calendar)
    at = horizon_at(prepared, calendar=calendar, horizon_days=7)
    fc = make_model("slot_mean_4", tz=BERLIN, calendar=calendar).fit(WEEKLY_HISTORY).predict(at)
    asked = saturday in local_dates(at)
    forecast = day_sums(fc, "A").get(saturday, 0.0) > 0.0
    assert asked == forecast


def test_calendar_rejects_an_unknown_event_kind() -> None:
    with pytest.raises(InputError, match="kind") as err:
        Calendar(events=events((dt.date(2026, 1, 1), None, "party", 2.0)))
    assert err.value.field == "kind"
    with pytest.raises(InputError, match="country") as err:
        Calendar(country="XX")
    assert err.value.field == "country"


# ------------------------------------------------------------------------------------- 4. DST


def dst_case(first: str, last: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    history = weekly_history(round_the_clock(first, last), "P")
    prepared = prepare(history, tz=BERLIN, calendar=Calendar())
    return history, horizon_at(prepared, calendar=Calendar(), horizon_days=2)


SPRING = dst_case("2026-03-08", "2026-03-28")  # ends the Saturday before 29 March
AUTUMN = dst_case("2026-10-04", "2026-10-24")  # ends the Saturday before 25 October


@pytest.mark.parametrize(
    ("case", "day", "count"),
    [(SPRING, dt.date(2026, 3, 29), 92), (AUTUMN, dt.date(2026, 10, 25), 100)],
    ids=["spring-forward", "fall-back"],
)
def test_dst_day_in_the_horizon(
    case: tuple[pd.DataFrame, pd.DataFrame], day: dt.date, count: int
) -> None:
    _, at = case
    dates = local_parts(at["ts"])["date"]
    assert int((dates == day).sum()) == count
    assert int((dates == day + dt.timedelta(days=1)).sum()) == 96
    ts = pd.DatetimeIndex(at["ts"])
    assert ts.is_unique
    assert ts.is_monotonic_increasing
    assert (ts.as_unit("s").asi8 % 900 == 0).all()
    assert (np.diff(ts.as_unit("s").asi8) == 900).all()  # contiguous in real time


@pytest.mark.parametrize("name", ALL_MODELS)
@pytest.mark.parametrize("case", [SPRING, AUTUMN], ids=["spring-forward", "fall-back"])
def test_dst_forecast(name: str, case: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    history, at = case
    fc = model_for(name).fit(history).predict(at)
    assert_demand(fc, at)
    parts = local_parts(fc["ts"])
    fc = fc.assign(date=parts["date"].to_numpy(), minute=parts["minute"].to_numpy())
    assert (fc["calls"] > 0).all()  # 24/7: no slot is closed
    # the repeated hour (02:00–02:59 twice) is forecast like the first one
    for _, group in fc.groupby(["date", "minute"]):
        assert (group["calls"].nunique(), group["calls_hi_95"].nunique()) == (1, 1)
    if name in ("seasonal_naive", "slot_mean_4"):
        np.testing.assert_allclose(fc["calls"].to_numpy(), expected_pattern(fc["ts"]), rtol=1e-9)


@pytest.mark.parametrize(
    "last", ["2026-04-01", "2026-10-28"], ids=["after-spring-forward", "after-fall-back"]
)
def test_history_across_a_dst_day(last: str) -> None:
    """A history through a 92- or 100-quarter-hour day: the next week has 96 quarter-hours a
    day and, outside the Sunday 02:00 hour (``test_sunday_after_a_dst_change``), the slot
    models still reproduce the weekly pattern."""
    first = (pd.Timestamp(last) - pd.Timedelta(days=35)).strftime("%Y-%m-%d")
    history = weekly_history(round_the_clock(first, last), "P")
    at = horizon_at(
        prepare(history, tz=BERLIN, calendar=Calendar()), calendar=Calendar(), horizon_days=7
    )
    parts = local_parts(at["ts"])
    assert set(parts.groupby("date").size()) == {96}
    assert len(set(parts["date"])) == 7
    sunday_2am = ((parts["weekday"] == 6) & (parts["minute"] // 60 == 2)).to_numpy()
    for name in ("seasonal_naive", "slot_mean_4"):
        fc = make_model(name, tz=BERLIN).fit(history).predict(at)
        np.testing.assert_allclose(
            fc["calls"].to_numpy()[~sunday_2am], expected_pattern(fc["ts"])[~sunday_2am], rtol=1e-9
        )


@pytest.mark.parametrize("name", ["seasonal_naive", "slot_mean_4"])
@pytest.mark.parametrize(
    "last", ["2026-04-01", "2026-10-28"], ids=["after-spring-forward", "after-fall-back"]
)
def test_sunday_after_a_dst_change(name: str, last: str) -> None:
    first = (pd.Timestamp(last) - pd.Timedelta(days=35)).strftime("%Y-%m-%d")
    history = weekly_history(round_the_clock(first, last), "P")
    sunday = pd.Timestamp(last) + pd.offsets.Week(weekday=6)
    at = at_frame("P", round_the_clock(f"{sunday:%Y-%m-%d}", f"{sunday:%Y-%m-%d}"))
    fc = make_model(name, tz=BERLIN).fit(history).predict(at)
    np.testing.assert_allclose(fc["calls"].to_numpy(), expected_pattern(fc["ts"]), rtol=1e-9)


# ---------------------------------------------------------------------------- 5. look-ahead

#: 13 weeks of hourly business hours, 65 open days: ``auto`` runs its own selection at
#: both origins (it needs 51 days before one)
LOOKAHEAD_SLOTS = office_slots("2026-01-05", "2026-04-03", interval=60)
ORIGINS = (dt.date(2026, 3, 23), dt.date(2026, 3, 30))


@dataclass(frozen=True)
class Spiked:
    history: pd.DataFrame
    base: BacktestResult  # the plain series
    spiked: BacktestResult  # × 50 on the whole first day of the last block (Mon 30 March)


@pytest.fixture(scope="module")
def spiked() -> Spiked:
    """A backtest (every model and auto, 2 origins × 5 days) of a Poisson series, and the same
    with a × 50 spike on the whole day the last block starts."""
    rng = np.random.default_rng(11)
    history = poisson_history(LOOKAHEAD_SLOTS, rng)
    assert origins_of(history, tz=BERLIN, origins=2, horizon_days=5) == list(ORIGINS)
    dates = local_parts(history["ts"])["date"].to_numpy()
    spike = history.copy()
    spike.loc[dates == ORIGINS[1], "calls"] *= 50.0
    base, spiked = (
        backtest(frame, tz=BERLIN, models=ALL_MODELS, origins=2, horizon_days=5)
        for frame in (history, spike)
    )
    return Spiked(history, base, spiked)


FORECAST_COLUMNS = ["project", "ts", "model", "origin", *BOUNDS, "aht_s"]


def test_spike_after_the_origin_changes_no_forecast(spiked: Spiked) -> None:
    base, spike = spiked.base.forecasts, spiked.spiked.forecasts
    assert len(base) == 2 * 5 * 10 * len(ALL_MODELS)
    # no forecast moves: not the earlier block's, not the spiked block's own (it is never seen)
    pd.testing.assert_frame_equal(base[FORECAST_COLUMNS], spike[FORECAST_COLUMNS])
    changed = (base["actual"] != spike["actual"]).to_numpy()
    assert changed.sum() == 10 * len(ALL_MODELS)  # only the actuals of the spiked day
    # the spike is scored, though: the backtest did not drop it
    both = spiked.base.table().merge(spiked.spiked.table(), on=["project", "model"])
    assert (both["wmape_y"] > both["wmape_x"]).all()


def test_spike_before_an_origin_does_change_its_forecast(spiked: Spiked) -> None:
    """The control: the same spike one block earlier is history for the last origin."""
    history = spiked.history.copy()
    dates = local_parts(history["ts"])["date"].to_numpy()
    history.loc[dates == ORIGINS[0], "calls"] *= 50.0
    models = ["slot_mean_4", "calendar_regression"]
    result = backtest(history, tz=BERLIN, models=models, origins=2, horizon_days=5)
    fc, base = result.forecasts, spiked.base.forecasts
    for name in models:
        mine = fc[(fc["model"] == name) & (fc["origin"] == ORIGINS[1])]["calls"].to_numpy()
        ref = base[(base["model"] == name) & (base["origin"] == ORIGINS[1])]["calls"].to_numpy()
        assert mine.sum() > 1.05 * ref.sum()
        first = fc[(fc["model"] == name) & (fc["origin"] == ORIGINS[0])]["calls"].to_numpy()
        before = base[(base["model"] == name) & (base["origin"] == ORIGINS[0])]["calls"]
        np.testing.assert_array_equal(first, before.to_numpy())


@pytest.mark.parametrize("name", ["seasonal_naive", "calendar_regression", "auto"])
def test_backtest_forecast_is_a_fit_on_the_truncated_history(spiked: Spiked, name: str) -> None:
    """At an origin, the backtest's forecast is what a model fitted on the rows strictly
    before the origin predicts."""
    history = spiked.history
    dates = local_parts(history["ts"])["date"].to_numpy()
    for origin in spiked.base.origins:
        fc = spiked.base.forecasts
        rows = fc[(fc["model"] == name) & (fc["origin"] == origin)].reset_index(drop=True)
        model = model_for(name).fit(history[dates < origin])
        again = model.predict(rows[["project", "ts"]])
        pd.testing.assert_frame_equal(
            again, rows[list(again.columns)], check_dtype=False, check_index_type=False
        )


# ----------------------------------------------------------------------------------- 6. gaps


@pytest.fixture(scope="module")
def poisson_eight_weeks() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    return poisson_history(office_slots("2026-01-05", "2026-02-27"), rng)


def test_a_missing_day_is_skipped_not_counted_as_zero(poisson_eight_weeks: pd.DataFrame) -> None:
    history = poisson_eight_weeks
    parts = local_parts(history["ts"])
    tuesdays = sorted({d for d in parts["date"] if d.weekday() == 1})
    rng = np.random.default_rng(4)
    lost = tuesdays[int(rng.integers(len(tuesdays) - 3, len(tuesdays)))]  # one of the last 3
    kept = history[(parts["date"] != lost).to_numpy()]
    next_tuesday = office_slots("2026-03-03", "2026-03-03")
    fc = make_model("slot_mean_4", tz=BERLIN).fit(kept).predict(at_frame("A", next_tuesday))
    # the mean of the four most recent Tuesdays that are present, slot by slot
    recent = [d for d in tuesdays if d != lost][-4:]
    kept_parts = local_parts(kept["ts"])
    rows = kept[kept_parts["date"].isin(recent).to_numpy()]
    expected = rows["calls"].groupby(local_parts(rows["ts"])["minute"].to_numpy()).mean()
    np.testing.assert_allclose(fc["calls"].to_numpy(), expected.to_numpy(), rtol=1e-12)
    # the missing day is no pattern change: seasonal naive takes the last Tuesday present
    naive = make_model("seasonal_naive", tz=BERLIN).fit(kept).predict(at_frame("A", next_tuesday))
    last = kept[(kept_parts["date"] == recent[-1]).to_numpy()]
    np.testing.assert_array_equal(naive["calls"].to_numpy(), last["calls"].to_numpy())


def test_a_missing_day_leaves_other_weekdays_alone(poisson_eight_weeks: pd.DataFrame) -> None:
    history = poisson_eight_weeks
    parts = local_parts(history["ts"])
    rng = np.random.default_rng(9)
    days = sorted(set(parts["date"]))
    lost = days[int(rng.integers(0, len(days)))]
    kept = history[(parts["date"] != lost).to_numpy()]
    next_week = office_slots("2026-03-02", "2026-03-06")
    other = (local_parts(next_week)["weekday"] != lost.weekday()).to_numpy()
    for name in ("seasonal_naive", "slot_mean_4"):
        full = make_model(name, tz=BERLIN).fit(history).predict(at_frame("A", next_week))
        gap = make_model(name, tz=BERLIN).fit(kept).predict(at_frame("A", next_week))
        np.testing.assert_array_equal(
            gap["calls"].to_numpy()[other], full["calls"].to_numpy()[other]
        )
    # the intraday profiles of the other weekdays do not move
    full_state = CalendarRegression(tz=BERLIN).fit(history).state_["A"]
    gap_state = CalendarRegression(tz=BERLIN).fit(kept).state_["A"]
    for w in range(5):
        if w != lost.weekday():
            assert gap_state.profiles[w] == full_state.profiles[w]


def test_a_missing_day_in_a_weekly_pattern_changes_nothing() -> None:
    lost = dt.date(2026, 2, 17)  # a Tuesday, 10 days before the end
    kept = weekly_history(office_slots("2026-01-05", "2026-02-27", skip={lost}))
    for name in ("seasonal_naive", "slot_mean_4"):
        fc = make_model(name, tz=BERLIN).fit(kept).predict(at_frame("A", WEEKLY_NEXT))
        np.testing.assert_allclose(fc["calls"].to_numpy(), expected_pattern(WEEKLY_NEXT), rtol=1e-9)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_row_order_and_index_do_not_matter(name: str, two_projects: pd.DataFrame) -> None:
    at = horizon_at(
        prepare(two_projects, tz=BERLIN, calendar=Calendar()), calendar=Calendar(), horizon_days=5
    )
    model = model_for(name).fit(two_projects)
    ref = model.predict(at)
    shuffled = two_projects.sample(frac=1.0, random_state=1)
    shuffled.index = np.zeros(len(shuffled), dtype=np.int64)  # repeated index labels
    fc = model_for(name).fit(shuffled).predict(at)
    pd.testing.assert_frame_equal(fc, ref)
    # a scrambled ``at`` gets the same values, in its own order
    order = np.random.default_rng(0).permutation(len(at))
    scrambled = model.predict(at.iloc[order])
    pd.testing.assert_frame_equal(scrambled, ref.iloc[order].reset_index(drop=True))


# ---------------------------------------------------------------------------- 7. calibration


def test_calendar_regression_intervals_are_calibrated() -> None:
    """Six Poisson projects, 14 weeks; fit on 12, score the 80 % and 95 % intervals on the
    last 2 (6 × 200 held-out intervals, so one percentage point is about one standard error)."""
    rng = np.random.default_rng(2026)
    slots = office_slots("2026-01-05", "2026-04-10")
    frames = [poisson_history(slots, rng, f"P{i}", scale=0.5 + 0.5 * i) for i in range(6)]
    history = pd.concat(frames, ignore_index=True)
    cut = pd.DatetimeIndex(history["ts"]) < pd.Timestamp("2026-03-30", tz=BERLIN)
    train, test = history[cut], history[~cut]
    assert len(test) == 6 * 10 * 20
    fc = CalendarRegression(tz=BERLIN).fit(train).predict(test[["project", "ts"]])
    y = test["calls"].to_numpy()
    cover_80 = float(np.mean((y >= fc["calls_lo_80"]) & (y <= fc["calls_hi_80"])))
    cover_95 = float(np.mean((y >= fc["calls_lo_95"]) & (y <= fc["calls_hi_95"])))
    assert 0.75 <= cover_80 <= 0.85, cover_80
    assert 0.91 <= cover_95 <= 0.98, cover_95


# ------------------------------------------------------------------------------------ 8. AHT


def test_constant_aht_is_forecast_as_is() -> None:
    history = WEEKLY_HISTORY.assign(aht_s=240.0)
    for name in ("slot_mean_4", "calendar_regression"):
        fc = make_model(name, tz=BERLIN).fit(history).predict(at_frame("A", WEEKLY_NEXT))
        np.testing.assert_allclose(fc["aht_s"].to_numpy(), 240.0, rtol=1e-12)


def test_aht_is_calls_weighted() -> None:
    """Per slot, AHT drawn around a slot-specific value; calls large enough that the prior
    (20 calls) hardly matters. Unseen minutes get the overall calls-weighted mean."""
    rng = np.random.default_rng(8)
    ts = office_slots("2026-01-05", "2026-02-27")
    parts = local_parts(ts)
    calls = rng.poisson(2000.0 * (1.0 + parts["weekday"].to_numpy()), len(ts)).astype(float)
    slot_aht = 200.0 + 0.2 * (parts["minute"].to_numpy() - 480) + 10.0 * parts["weekday"].to_numpy()
    aht = slot_aht + rng.normal(0.0, 15.0, len(ts))
    # rows without calls carry no handle time and must not count
    calls[::17] = 0.0
    aht[::17] = 0.0
    history = pd.DataFrame({"project": "A", "ts": ts, "calls": calls, "aht_s": aht})
    model = make_model("slot_mean_4", tz=BERLIN).fit(history)
    at = at_frame("A", office_slots("2026-03-02", "2026-03-06"))
    fc = model.predict(at)
    next_parts = local_parts(at["ts"])
    frame = (
        pd.DataFrame({"w": parts["weekday"], "m": parts["minute"], "c": calls, "ca": calls * aht})
        .groupby(["w", "m"])[["c", "ca"]]
        .sum()
    )
    weighted = (frame["ca"] / frame["c"]).to_dict()
    expected = np.array(
        [weighted[(w, m)] for w, m in zip(next_parts["weekday"], next_parts["minute"], strict=True)]
    )
    np.testing.assert_allclose(fc["aht_s"].to_numpy(), expected, rtol=2e-3)
    # a minute the project never opens (07:00): zero calls, the overall calls-weighted AHT
    closed = model.predict(
        at_frame("A", pd.DatetimeIndex([pd.Timestamp("2026-03-02 07:00", tz=BERLIN)]))
    )
    assert closed["calls"].iloc[0] == 0.0
    assert closed["aht_s"].iloc[0] == pytest.approx(
        float(np.sum(calls * aht) / np.sum(calls)), rel=1e-12
    )


@pytest.mark.parametrize("aht", [None, math.nan], ids=["no-column", "all-missing"])
def test_no_aht_gives_zero_meaning_unknown(aht: float | None) -> None:
    """Without handle times the forecast's ``aht_s`` is 0, which means *unknown* (the demand
    contract has no missing value for it); staffing refuses it (``aht_s`` must be > 0)."""
    history = WEEKLY_HISTORY if aht is None else WEEKLY_HISTORY.assign(aht_s=aht)
    fc = make_model("slot_mean_4", tz=BERLIN).fit(history).predict(at_frame("A", WEEKLY_NEXT))
    assert (fc["aht_s"] == 0.0).all()
    assert (fc["calls"] > 0.0).all()


def test_partly_missing_aht_uses_the_rows_that_have_it() -> None:
    history = WEEKLY_HISTORY.assign(aht_s=300.0)
    history.loc[history.index[::3], "aht_s"] = math.nan
    fc = make_model("slot_mean_4", tz=BERLIN).fit(history).predict(at_frame("A", WEEKLY_NEXT))
    np.testing.assert_allclose(fc["aht_s"].to_numpy(), 300.0, rtol=1e-12)


# --------------------------------------------------------------------------------- 9. errors


def test_predict_before_fit() -> None:
    for name in ALL_MODELS:
        with pytest.raises(InputError, match="predict before fit") as err:
            model_for(name).predict(at_frame("A", WEEKLY_NEXT))
        assert err.value.field == "model"
        assert name in str(err.value)


def test_unknown_project_in_at() -> None:
    model = make_model("slot_mean_4", tz=BERLIN).fit(WEEKLY_HISTORY)
    with pytest.raises(InputError, match="'Z' has no history") as err:
        model.predict(at_frame("Z", WEEKLY_NEXT))
    assert err.value.field == "project"


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (lambda h: h.assign(ts=pd.DatetimeIndex(h["ts"]).tz_localize(None)), "ts", "ts"),
        (lambda h: h.assign(calls=h["calls"].where(h.index != 5, -1.0)), "calls", "below 0"),
        (lambda h: pd.concat([h, h.iloc[[3]]], ignore_index=True), "project, ts", "same key"),
        (lambda h: h.drop(columns="calls"), "calls", "calls"),
        (lambda h: h.assign(calls=h["calls"].where(h.index != 2, math.nan)), "calls", "missing"),
        (lambda h: h.iloc[:0], "history", "no rows"),
        (lambda h: h.iloc[:1], "ts", "fewer than two"),
        (
            lambda h: h.assign(
                ts=pd.date_range("2026-01-05 08:00", periods=len(h), freq="20min", tz=BERLIN)
            ),
            "ts",
            "20 minutes",
        ),
    ],
    ids=[
        "naive-ts",
        "negative-calls",
        "duplicate-key",
        "no-calls",
        "nan-calls",
        "empty",
        "one-row",
        "20-min-grid",
    ],
)
def test_bad_history(mutate: Any, field: str, words: str) -> None:
    history = mutate(WEEKLY_HISTORY.copy())
    for name in ("seasonal_naive", "calendar_regression"):
        with pytest.raises(InputError) as err:
            make_model(name, tz=BERLIN).fit(history)
        assert err.value.field == field, str(err.value)
        assert words in str(err.value)
        assert field.split(",")[0] in str(err.value)


def test_bad_at_and_level() -> None:
    model = make_model("slot_mean_4", tz=BERLIN).fit(WEEKLY_HISTORY)
    naive = pd.DataFrame({"project": "A", "ts": WEEKLY_NEXT.tz_localize(None)})
    with pytest.raises(FrameError, match="ts") as frame_err:
        model.predict(naive)
    assert frame_err.value.field == "ts"
    twice = pd.concat([at_frame("A", WEEKLY_NEXT)] * 2, ignore_index=True)
    with pytest.raises(FrameError, match="same key") as frame_err:
        model.predict(twice)
    assert frame_err.value.field == "project, ts"
    with pytest.raises(InputError, match="level") as err:
        model.predict(at_frame("A", WEEKLY_NEXT), level=(80, 100))
    assert err.value.field == "level"
    with pytest.raises(InputError, match="horizon_days") as err:
        horizon_at(
            prepare(WEEKLY_HISTORY, tz=BERLIN, calendar=Calendar()),
            calendar=Calendar(),
            horizon_days=0,
        )
    assert err.value.field == "horizon_days"
    with pytest.raises(InputError, match="unknown") as err:
        make_model("prophet", tz=BERLIN)
    assert err.value.field == "model"


# ------------------------------------------------------------------------------- 10. backtest


def test_origins_of() -> None:
    history = weekly_history(office_slots("2026-01-05", "2026-02-13"))  # 30 weekdays
    dates = sorted(set(local_parts(history["ts"])["date"]))
    assert len(dates) == 30
    starts = origins_of(history, tz=BERLIN, origins=3, horizon_days=5)
    assert starts == [dates[-15], dates[-10], dates[-5]]
    assert origins_of(history, tz=BERLIN, origins=1, horizon_days=16) == [dates[-16]]
    with pytest.raises(InputError, match="too short") as err:
        origins_of(history, tz=BERLIN, origins=4, horizon_days=5)  # needs 34 days
    assert err.value.field == "history"
    assert "history" in str(err.value)
    with pytest.raises(InputError) as err:
        origins_of(history, tz=BERLIN, origins=0, horizon_days=5)
    assert err.value.field == "origins"
    with pytest.raises(InputError, match="too short") as err:
        backtest(history, tz=BERLIN, models=["slot_mean_4"], origins=4, horizon_days=5)
    assert err.value.field == "history"


def test_backtest_scores_a_known_answer() -> None:
    """On the pure weekly pattern seasonal naive is perfect: wMAPE, MASE and bias 0, every
    actual inside its intervals; the scores agree with the forecast rows."""
    history = WEEKLY_HISTORY.assign(aht_s=200.0)
    result = backtest(
        history,
        tz=BERLIN,
        models=["seasonal_naive", "calendar_regression"],
        origins=2,
        horizon_days=5,
    )
    assert result.origins == (dt.date(2026, 2, 16), dt.date(2026, 2, 23))
    assert {
        "project",
        "model",
        "horizon_day",
        "wmape",
        "mase",
        "bias",
        "coverage_80",
        "coverage_95",
        "aht_wmape",
    } <= set(result.scores.columns)
    assert sorted(set(result.scores["horizon_day"])) == [0, 1, 2, 3, 4, 5]
    table = result.table().set_index("model")
    naive = table.to_dict(orient="index")["seasonal_naive"]
    assert naive["wmape"] == pytest.approx(0.0, abs=1e-12)
    assert naive["bias"] == pytest.approx(0.0, abs=1e-12)
    assert naive["coverage_80"] == 1.0
    assert naive["coverage_95"] == 1.0
    assert naive["aht_wmape"] == pytest.approx(0.0, abs=1e-12)
    assert naive["intervals"] == 2 * 5 * 20
    assert math.isnan(naive["mase"])  # a pure weekly pattern has scale 0: MASE undefined
    assert list(table.index) == ["seasonal_naive", "calendar_regression"]  # best first
    # the scores are the forecasts' own
    fc = result.forecasts[result.forecasts["model"] == "calendar_regression"]
    err = (fc["actual"] - fc["calls"]).abs().sum() / fc["actual"].sum()
    assert table.loc["calendar_regression", "wmape"] == pytest.approx(float(err), rel=1e-12)
    bias = (fc["calls"] - fc["actual"]).sum() / fc["actual"].sum()
    assert table.loc["calendar_regression", "bias"] == pytest.approx(float(bias), rel=1e-12)
    by_day = result.scores[
        (result.scores["model"] == "calendar_regression") & (result.scores["horizon_day"] > 0)
    ]
    assert by_day["intervals"].sum() == len(fc)


def test_backtest_mase_uses_the_weekly_naive_scale(poisson_eight_weeks: pd.DataFrame) -> None:
    result = backtest(
        poisson_eight_weeks, tz=BERLIN, models=["slot_mean_4"], origins=1, horizon_days=5
    )
    origin = result.origins[0]
    train = poisson_eight_weeks[
        (local_parts(poisson_eight_weeks["ts"])["date"] < origin).to_numpy()
    ]
    s = pd.Series(train["calls"].to_numpy(), index=pd.DatetimeIndex(train["ts"]))
    lagged = s.copy()
    lagged.index = lagged.index + pd.Timedelta(days=7)
    scale = float((s - lagged).dropna().abs().mean())
    fc = result.forecasts
    mase = float(((fc["actual"] - fc["calls"]).abs() / scale).mean())
    assert result.table()["mase"].iloc[0] == pytest.approx(mase, rel=1e-12)


def test_auto_in_backtest_is_the_chosen_candidate() -> None:
    """Two projects that favour different models; at every origin the ``auto`` rows equal the
    rows of the candidate auto picks for that project on the same training history."""
    slots = office_slots("2026-01-05", "2026-04-03")  # 13 weeks
    rng = np.random.default_rng(12)
    steady = weekly_history(slots, "steady")
    parts = local_parts(slots)
    growth = (
        1.0 + 0.02 * np.asarray((pd.DatetimeIndex(slots) - slots[0]).days, dtype=np.float64) / 7
    )
    trend = pd.DataFrame(
        {
            "project": "trend",
            "ts": slots,
            "calls": rng.poisson(pattern(parts["weekday"], parts["minute"]) * growth).astype(float),
        }
    )
    history = pd.concat([steady, trend], ignore_index=True)
    result = backtest(
        history, tz=BERLIN, models=(*AUTO_CANDIDATES, "auto"), origins=2, horizon_days=5
    )
    assert "auto" in set(result.scores["model"])
    fc = result.forecasts
    for origin in result.origins:
        train = history[(local_parts(history["ts"])["date"] < origin).to_numpy()]
        chosen = AutoForecaster(tz=BERLIN).fit(train).chosen_
        assert set(chosen) == {"steady", "trend"}
        assert chosen["steady"] in ("seasonal_naive", "slot_mean_4")  # both exact here
        at_origin = fc[fc["origin"] == origin]
        for project, best in chosen.items():
            mine = at_origin[at_origin["project"] == project]
            auto = mine.loc[mine["model"] == "auto", [*BOUNDS, "aht_s"]]
            pick = mine.loc[mine["model"] == best, [*BOUNDS, "aht_s"]]
            pd.testing.assert_frame_equal(auto.reset_index(drop=True), pick.reset_index(drop=True))


# -------------------------------------------------------- 11. intervals on small counts


def test_small_count_intervals_cover_the_level_on_average() -> None:
    """Discrete counts: plain quantile bounds of an 80 % interval cover well above 80 % at a
    handful of calls (Poisson μ = 6: 85 %); the engine's bounds are right on average."""
    from scipy import stats

    from forecasting._models import _nb_interval

    mu = np.linspace(0.5, 30.0, 300)
    for phi_value in (0.0, 0.05):
        phi = np.full_like(mu, phi_value)
        for level in (80, 95):
            lo, hi = _nb_interval(mu, phi, level)
            assert (lo <= mu).all()
            assert (hi >= mu).all()
            if phi_value == 0.0:
                cover = stats.poisson.cdf(hi, mu) - stats.poisson.cdf(lo - 1, mu)
            else:
                n = 1.0 / phi_value
                p = n / (n + mu)
                cover = stats.nbinom.cdf(hi, n, p) - stats.nbinom.cdf(lo - 1, n, p)
            assert abs(float(cover.mean()) - level / 100) < 0.02, (phi_value, level, cover.mean())
    # the plain quantiles really do over-cover here (the point of the adjustment)
    plain = stats.poisson.cdf(stats.poisson.ppf(0.9, 6.0), 6.0) - stats.poisson.cdf(
        stats.poisson.ppf(0.1, 6.0) - 1, 6.0
    )
    assert plain > 0.84
