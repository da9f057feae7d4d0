"""Deterministic sample data for a fictitious Berlin multi-project contact centre.

``generate_samples(out_dir, seed=...)`` writes a complete site folder (site, projects, KPI
tables, opening hours, 16 weeks of interval history, events and an agent pool) that the CLI,
the notebooks and the tests use. Every random draw comes from ``numpy.random.default_rng(seed)``
(one spawned stream per project and one for the agents), and every file is formatted by hand,
so the same seed gives byte-identical files. ``README.md`` in the output folder documents the
files and the facts a tester can rely on.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import holidays
import numpy as np
import numpy.typing as npt
import pandas as pd

from wfm.domain import (
    Agent,
    BillingModel,
    Contract,
    KpiCoefficient,
    OpeningHours,
    OutboundTarget,
    Project,
    ProjectKind,
    ServiceTarget,
    Site,
)
from wfm.services.sitedata import AGENT_COLUMNS, PROJECT_COLUMNS

__all__ = ["DEFAULT_SEED", "SampleSummary", "generate_samples", "sample_projects", "sample_site"]

DEFAULT_SEED = 20260105

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: First and last local day of the history (Monday .. Sunday, 16 weeks).
HISTORY_FIRST_DAY = dt.date(2026, 1, 5)
HISTORY_LAST_DAY = dt.date(2026, 4, 26)
#: The week after the history: the week the samples are meant to be planned for.
PLAN_FIRST_DAY = dt.date(2026, 4, 27)
PLAN_LAST_DAY = dt.date(2026, 5, 3)

_SLOT_MIN = 15


@dataclass(frozen=True, slots=True)
class SampleSummary:
    """What ``generate_samples`` wrote: one path per file and its number of data rows."""

    out_dir: Path
    site_json: Path
    projects_csv: Path
    kpi_table_csv: Path
    opening_hours_csv: Path
    history_csv: Path
    events_csv: Path
    agents_csv: Path
    readme: Path
    n_projects: int
    n_kpi_rows: int
    n_opening_rows: int
    n_history_rows: int
    n_events: int
    n_agents: int

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file written, in a fixed order."""
        return (
            self.site_json,
            self.projects_csv,
            self.kpi_table_csv,
            self.opening_hours_csv,
            self.history_csv,
            self.events_csv,
            self.agents_csv,
            self.readme,
        )


# --------------------------------------------------------------------------------------------
# The site and its projects (domain objects are the single source of the written files)
# --------------------------------------------------------------------------------------------


def sample_site() -> Site:
    """The sample site: Berlin, German public holidays of the state of Berlin."""
    return Site(
        name="Nordlicht Contact GmbH – Berlin", tz="Europe/Berlin", country="DE", subdiv="BE"
    )


def _kpi(target: float) -> tuple[KpiCoefficient, ...]:
    """The KPI table shape every client signed: below target −10 % (−5 % within 5 points),
    on target 1.0, five points above +5 %."""
    return (
        KpiCoefficient(sl_at_least=0.0, coefficient=0.90),
        KpiCoefficient(sl_at_least=round(target - 0.05, 2), coefficient=0.95),
        KpiCoefficient(sl_at_least=target, coefficient=1.00),
        KpiCoefficient(sl_at_least=round(min(target + 0.05, 0.99), 2), coefficient=1.05),
    )


def _hours(days: Sequence[int], open_: str, close: str) -> dict[int, tuple[dt.time, dt.time]]:
    return {d: (dt.time.fromisoformat(open_), dt.time.fromisoformat(close)) for d in days}


def sample_projects() -> tuple[Project, ...]:
    """The five sample projects, in file order."""
    return (
        Project(
            project="bank",
            name="Bank customer hotline",
            kind=ProjectKind.INBOUND,
            target=ServiceTarget(sl_target=0.8, answer_within_s=20.0, max_abandon_rate=0.05),
            contract=Contract(
                billing=BillingModel.PER_HOUR,
                rate_eur=31.5,
                kpi_table=_kpi(0.8),
                bonus_eur_per_point=150.0,
                penalty_eur_per_point=300.0,
                penalty_cap_eur=6000.0,
            ),
            opening=OpeningHours(_hours(range(1, 7), "08:00", "20:00")),
            patience_s=180.0,
        ),
        Project(
            project="retail",
            name="Retail order desk",
            kind=ProjectKind.INBOUND,
            target=ServiceTarget(sl_target=0.9, answer_within_s=30.0, max_abandon_rate=0.04),
            contract=Contract(
                billing=BillingModel.PER_CONTACT,
                rate_eur=3.2,
                kpi_table=_kpi(0.9),
                bonus_eur_per_point=100.0,
                penalty_eur_per_point=250.0,
                penalty_cap_eur=5000.0,
            ),
            opening=OpeningHours(_hours(range(1, 8), "07:00", "22:00")),
            patience_s=120.0,
        ),
        Project(
            project="techsupport",
            name="Technical support (broadband)",
            kind=ProjectKind.INBOUND,
            target=ServiceTarget(sl_target=0.8, answer_within_s=60.0, max_abandon_rate=0.08),
            contract=Contract(
                billing=BillingModel.PER_SEAT,
                rate_eur=4500.0,
                kpi_table=_kpi(0.8),
                bonus_eur_per_point=0.0,
                penalty_eur_per_point=200.0,
                penalty_cap_eur=4000.0,
            ),
            opening=OpeningHours(_hours(range(1, 8), "00:00", "00:00")),
            patience_s=300.0,
        ),
        Project(
            project="chat",
            name="Chat customer service",
            kind=ProjectKind.CHAT,
            target=ServiceTarget(sl_target=0.8, answer_within_s=60.0, max_abandon_rate=0.1),
            contract=Contract(
                billing=BillingModel.PER_CONTACT,
                rate_eur=2.4,
                kpi_table=_kpi(0.8),
                bonus_eur_per_point=80.0,
                penalty_eur_per_point=150.0,
                penalty_cap_eur=3000.0,
            ),
            opening=OpeningHours(_hours(range(1, 6), "08:00", "22:00")),
            patience_s=240.0,
            concurrency=2,
        ),
        Project(
            project="outbound",
            name="Outbound sales campaign (energy contracts)",
            kind=ProjectKind.OUTBOUND,
            target=None,
            contract=Contract(billing=BillingModel.LEASING, rate_eur=24.0),
            opening=OpeningHours(
                {**_hours(range(1, 6), "09:00", "20:00"), **_hours([6], "10:00", "16:00")}
            ),
            outbound=OutboundTarget(
                contacts_per_week=2450.0,
                dials_per_contact=2.8,
                talk_s=240.0,
                wrap_s=15.0,
                attempt_s=120.0,
            ),
        ),
    )


# --------------------------------------------------------------------------------------------
# Demand model of the history
# --------------------------------------------------------------------------------------------


def _bump(h: FloatArray, mu: float, sigma: float) -> FloatArray:
    out: FloatArray = np.exp(-0.5 * ((h - mu) / sigma) ** 2)
    return out


def _profile_bank(h: FloatArray) -> FloatArray:
    return (
        0.25 + 1.0 * _bump(h, 10.25, 1.4) + 0.8 * _bump(h, 14.5, 1.6) + 0.15 * _bump(h, 18.5, 1.0)
    )


def _profile_retail(h: FloatArray) -> FloatArray:
    return 0.3 + 0.9 * _bump(h, 10.5, 1.6) + 0.8 * _bump(h, 19.0, 1.8)


def _profile_techsupport(h: FloatArray) -> FloatArray:
    return 0.06 + 1.0 * _bump(h, 10.5, 2.0) + 0.8 * _bump(h, 15.5, 2.2) + 0.35 * _bump(h, 20.5, 1.5)


def _profile_chat(h: FloatArray) -> FloatArray:
    return 0.4 + 0.8 * _bump(h, 13.5, 3.5) + 0.6 * _bump(h, 19.5, 2.0)


def _profile_outbound(h: FloatArray) -> FloatArray:
    return 0.8 + 0.25 * _bump(h, 17.5, 2.0)


@dataclass(frozen=True, slots=True)
class _Demand:
    """How a project's history is drawn (documented in the samples' README)."""

    daily_calls: float  # on an average weekday (weekday factor 1.0, middle of the window)
    weekday_factor: tuple[float, float, float, float, float, float, float]  # ISO Mon..Sun
    profile: Callable[[FloatArray], FloatArray]  # relative intraday rate by local hour
    trend_per_week: float  # relative change per week around the middle of the window
    aht_s: float  # typical handle time
    aht_amplitude: float  # intraday AHT variation: longest near 03:00, shortest near 15:00
    aht_trend_per_week: float
    handle_shape: float  # gamma shape of a single contact's handle time (CV = 1/sqrt(shape))
    holiday_factor: float | None  # None: closed on public holidays


_DEMAND: dict[str, _Demand] = {
    "bank": _Demand(
        daily_calls=2500.0,
        weekday_factor=(1.18, 1.04, 0.98, 0.96, 0.90, 0.42, 0.0),
        profile=_profile_bank,
        trend_per_week=0.004,
        aht_s=240.0,
        aht_amplitude=0.06,
        aht_trend_per_week=0.0,
        handle_shape=1.5,
        holiday_factor=None,
    ),
    "retail": _Demand(
        daily_calls=3500.0,
        weekday_factor=(1.10, 1.02, 1.00, 1.00, 0.98, 0.80, 0.62),
        profile=_profile_retail,
        trend_per_week=0.006,
        aht_s=180.0,
        aht_amplitude=0.06,
        aht_trend_per_week=0.0,
        handle_shape=2.0,
        holiday_factor=0.4,
    ),
    "techsupport": _Demand(
        daily_calls=600.0,
        weekday_factor=(1.15, 1.05, 1.00, 0.98, 0.92, 0.50, 0.40),
        profile=_profile_techsupport,
        trend_per_week=-0.003,
        aht_s=600.0,
        aht_amplitude=0.06,
        aht_trend_per_week=-0.002,
        handle_shape=1.2,
        holiday_factor=0.7,
    ),
    "chat": _Demand(
        daily_calls=1200.0,
        weekday_factor=(1.05, 1.02, 1.00, 0.98, 0.95, 0.0, 0.0),
        profile=_profile_chat,
        trend_per_week=0.012,
        aht_s=420.0,
        aht_amplitude=0.04,
        aht_trend_per_week=0.0,
        handle_shape=2.0,
        holiday_factor=None,
    ),
    "outbound": _Demand(
        daily_calls=450.0,
        weekday_factor=(1.0, 1.0, 1.0, 1.0, 1.0, 0.45, 0.0),
        profile=_profile_outbound,
        trend_per_week=0.0,
        aht_s=255.0,
        aht_amplitude=0.03,
        aht_trend_per_week=0.0,
        handle_shape=4.0,
        holiday_factor=None,
    ),
}

#: Day-level volume noise (log-normal sigma) and interval over-dispersion (gamma shape of the
#: rate multiplier: calls are negative-binomial with variance mu + mu^2 / shape).
_DAY_SIGMA = 0.05
_OVERDISPERSION_SHAPE = 40.0


@dataclass(frozen=True, slots=True)
class _Anomaly:
    """An injected anomaly: the rate is multiplied by ``factor`` from ``start`` to ``end``
    local time (whole day when both are None); ``drop`` removes the day's rows."""

    day: dt.date
    project: str
    kind: str
    factor: float
    start: dt.time | None
    end: dt.time | None
    note: str
    uplift: float | None
    drop: bool = False


_ANOMALIES: tuple[_Anomaly, ...] = (
    _Anomaly(
        day=dt.date(2026, 2, 17),
        project="bank",
        kind="outage",
        factor=0.0,
        start=dt.time(13, 0),
        end=dt.time(15, 0),
        uplift=0.0,
        note="telephony outage 13:00-15:00: no calls reached the queue (zero-call rows); "
        "callback spike x1.8 from 15:00 to 17:00",
    ),
    _Anomaly(
        day=dt.date(2026, 2, 17),
        project="bank",
        kind="outage",
        factor=1.8,
        start=dt.time(15, 0),
        end=dt.time(17, 0),
        uplift=None,
        note="",
    ),
    _Anomaly(
        day=dt.date(2026, 2, 25),
        project="chat",
        kind="outage",
        factor=1.0,
        start=None,
        end=None,
        uplift=None,
        note="data gap: the day's rows are missing from the export; the queue was open "
        "(not a closure)",
        drop=True,
    ),
    _Anomaly(
        day=dt.date(2026, 3, 12),
        project="retail",
        kind="campaign",
        factor=1.6,
        start=None,
        end=None,
        uplift=1.6,
        note="TV campaign day: +60 % volume all day",
    ),
    _Anomaly(
        day=dt.date(2026, 4, 14),
        project="techsupport",
        kind="incident",
        factor=1.8,
        start=dt.time(9, 0),
        end=dt.time(15, 0),
        uplift=1.8,
        note="network incident: +80 % volume 09:00-15:00",
    ),
)


def _public_holidays(site: Site) -> dict[dt.date, str]:
    """Public holidays of the site from the window's start to the end of the plan week."""
    cal = holidays.country_holidays(
        site.country,
        subdiv=site.subdiv,
        years=sorted({HISTORY_FIRST_DAY.year, PLAN_LAST_DAY.year}),
        language="en_US",
    )
    return {
        day: str(name)
        for day, name in sorted(cal.items())
        if HISTORY_FIRST_DAY <= day <= PLAN_LAST_DAY
    }


@dataclass(frozen=True, slots=True)
class _Grid:
    """The history's local 15-minute grid, built from UTC instants."""

    local: pd.DatetimeIndex
    ts_text: npt.NDArray[np.str_]
    day: IntArray  # local day index since HISTORY_FIRST_DAY
    weekday: IntArray  # ISO 1..7
    slot: IntArray  # local quarter-hour of the day 0..95
    hour_mid: FloatArray  # local hour of the interval's midpoint

    @property
    def n_days(self) -> int:
        return (HISTORY_LAST_DAY - HISTORY_FIRST_DAY).days + 1


def _grid(site: Site) -> _Grid:
    zone = site.tz
    first = pd.Timestamp(dt.datetime.combine(HISTORY_FIRST_DAY, dt.time(0, 0))).tz_localize(zone)
    last = pd.Timestamp(dt.datetime.combine(HISTORY_LAST_DAY, dt.time(23, 45))).tz_localize(zone)
    utc = pd.date_range(first.tz_convert("UTC"), last.tz_convert("UTC"), freq=f"{_SLOT_MIN}min")
    local = utc.tz_convert(zone)
    naive = local.tz_localize(None)
    offset_min = ((naive - utc.tz_localize(None)) // pd.Timedelta(minutes=1)).to_numpy()
    sign = np.where(offset_min >= 0, "+", "-")
    off = np.abs(offset_min)
    offset_text = np.char.add(
        np.char.add(np.char.add(sign, np.char.zfill((off // 60).astype(str), 2)), ":"),
        np.char.zfill((off % 60).astype(str), 2),
    )
    ts_text = np.char.add(np.asarray(naive.strftime("%Y-%m-%dT%H:%M:%S"), dtype=str), offset_text)
    day = (naive.normalize() - pd.Timestamp(HISTORY_FIRST_DAY)).days.to_numpy().astype(np.int64)
    minute = (naive.hour * 60 + naive.minute).to_numpy().astype(np.int64)
    return _Grid(
        local=local,
        ts_text=ts_text,
        day=day,
        weekday=(naive.day_of_week.to_numpy() + 1).astype(np.int64),
        slot=minute // _SLOT_MIN,
        hour_mid=np.asarray((minute + _SLOT_MIN / 2.0) / 60.0, dtype=np.float64),
    )


def _open_mask(project: Project, grid: _Grid) -> npt.NDArray[np.bool_]:
    """Open intervals by the project's weekly opening hours (the domain's own rule)."""
    opening = project.opening
    if opening is None:
        return np.ones(len(grid.day), dtype=bool)
    table = np.zeros((7, 96), dtype=bool)
    for wd in range(1, 8):
        monday = dt.datetime.combine(HISTORY_FIRST_DAY, dt.time(0, 0))
        for s in range(96):
            table[wd - 1, s] = opening.is_open(
                monday + dt.timedelta(days=wd - 1, minutes=_SLOT_MIN * s)
            )
    mask: npt.NDArray[np.bool_] = table[grid.weekday - 1, grid.slot]
    return mask


def _in_window(grid: _Grid, a: _Anomaly) -> npt.NDArray[np.bool_]:
    mask = grid.day == (a.day - HISTORY_FIRST_DAY).days
    if a.start is not None and a.end is not None:
        start = (a.start.hour * 60 + a.start.minute) // _SLOT_MIN
        end = (a.end.hour * 60 + a.end.minute) // _SLOT_MIN
        mask &= (grid.slot >= start) & (grid.slot < end)
    out: npt.NDArray[np.bool_] = mask
    return out


def _history_rows(
    project: Project,
    demand: _Demand,
    grid: _Grid,
    holiday_days: IntArray,
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.str_], IntArray, FloatArray]:
    """(ts text, calls, aht_s) of the project's open intervals."""
    n_days = grid.n_days
    keep = _open_mask(project, grid)
    is_holiday = np.isin(grid.day, holiday_days)
    if demand.holiday_factor is None:
        keep &= ~is_holiday
    for a in _ANOMALIES:
        if a.project == project.project and a.drop:
            keep &= ~_in_window(grid, a)

    # day totals: base x weekday x trend x day noise (x holiday factor)
    days = np.arange(n_days)
    weeks_from_mid = days / 7.0 - (n_days / 7.0 - 1.0) / 2.0
    weekday_of_day = (days % 7) + 1  # HISTORY_FIRST_DAY is a Monday
    day_noise = rng.lognormal(mean=0.0, sigma=_DAY_SIGMA, size=n_days)
    daily = (
        demand.daily_calls
        * np.asarray(demand.weekday_factor)[weekday_of_day - 1]
        * (1.0 + demand.trend_per_week * weeks_from_mid)
        * day_noise
    )
    if demand.holiday_factor is not None:
        daily[holiday_days] *= demand.holiday_factor

    # spread each day's total over its open intervals by the intraday profile
    weight = np.where(keep, demand.profile(grid.hour_mid), 0.0)
    day_weight = np.bincount(grid.day, weights=weight, minlength=n_days)
    safe = np.where(day_weight > 0.0, day_weight, 1.0)
    rate = daily[grid.day] * weight / safe[grid.day]
    for a in _ANOMALIES:
        if a.project == project.project and not a.drop:
            rate = np.where(_in_window(grid, a), rate * a.factor, rate)

    # negative-binomial counts: Poisson with a gamma-distributed rate (mild over-dispersion)
    mix = rng.gamma(_OVERDISPERSION_SHAPE, 1.0 / _OVERDISPERSION_SHAPE, size=rate.shape)
    calls = rng.poisson(rate * mix).astype(np.int64)

    # typical AHT per slot (longest at night, shortest mid-afternoon, slow trend);
    # the interval's AHT is the mean of `calls` gamma handle times, drawn exactly
    typical = (
        demand.aht_s
        * (1.0 + demand.aht_amplitude * np.cos(2.0 * np.pi * (grid.hour_mid - 3.0) / 24.0))
        * (1.0 + demand.aht_trend_per_week * weeks_from_mid[grid.day])
    )
    shape = np.maximum(calls, 1) * demand.handle_shape
    mean_factor = rng.gamma(shape, 1.0 / shape)
    aht = np.where(calls > 0, typical * mean_factor, typical)
    aht = np.round(aht, 1).astype(np.float64)
    return grid.ts_text[keep], calls[keep], aht[keep]


# --------------------------------------------------------------------------------------------
# Agents
# --------------------------------------------------------------------------------------------

# (skills in priority order, number of agents)
_SKILL_GROUPS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("bank",), 30),
    (("retail",), 28),
    (("bank", "retail"), 18),
    (("retail", "bank"), 10),
    (("techsupport",), 18),
    (("techsupport", "chat"), 10),
    (("chat",), 8),
    (("chat", "techsupport"), 6),
    (("chat", "retail"), 4),
    (("outbound",), 12),
    (("outbound", "retail"), 3),
    (("bank", "retail", "chat"), 3),
)

_GRADE_COST_EUR = {"junior": (17.0, 18.5), "standard": (19.0, 21.0), "senior": (22.0, 24.0)}


def _hhmm(t: dt.time | None) -> str:
    return "" if t is None else t.strftime("%H:%M")


def _t(hhmm: str) -> dt.time:
    return dt.time.fromisoformat(hhmm)


def _choice(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _hours_reachable(
    skills: Sequence[str],
    earliest: dt.time | None,
    latest: dt.time | None,
    days_off: frozenset[dt.date],
    plan_days: Sequence[dt.date],
    min_h: float,
    max_days: int,
) -> bool:
    """Whether the default shift rules (shifts up to 10 h, 30 min unpaid lunch over 6 h) let
    the agent reach ``min_h`` paid hours inside its window and its projects' opening hours."""
    opening = {p.project: p.opening for p in sample_projects()}
    lo = (earliest.hour * 60 + earliest.minute) if earliest else 0
    hi = (latest.hour * 60 + latest.minute) if latest else 24 * 60
    per_day: list[float] = []
    for day in plan_days:
        if day in days_off:
            continue
        best = 0.0
        for project in skills:
            hours = opening.get(project)
            span = (0, 24 * 60)
            if hours is not None:
                today = hours.hours.get(day.isoweekday())
                if today is None:
                    continue
                a = today[0].hour * 60 + today[0].minute
                b = today[1].hour * 60 + today[1].minute
                span = (a, b if b > a else 24 * 60)
            length = min(max(0, min(hi, span[1]) - max(lo, span[0])) / 60, 10.0)
            best = max(best, length - 0.5 if length > 6 else length)
        per_day.append(best)
    return sum(sorted(per_day, reverse=True)[:max_days]) >= min_h


def _sample_agents(rng: np.random.Generator) -> tuple[Agent, ...]:
    skill_sets = [skills for skills, n in _SKILL_GROUPS for _ in range(n)]
    order = rng.permutation(len(skill_sets))
    plan_days = [PLAN_FIRST_DAY + dt.timedelta(days=i) for i in range(7)]
    agents: list[Agent] = []
    for number, k in enumerate(order, start=1):
        skills = skill_sets[int(k)]
        first = skills[0]
        # contract type
        if len(skills) == 3:
            contract = "full"
        else:
            p = (0.75, 0.22, 0.03) if first == "techsupport" else (0.62, 0.26, 0.12)
            contract = str(rng.choice(["full", "part", "student"], p=p))
        earliest: dt.time | None = None
        latest: dt.time | None = None
        preferred: dt.time | None = None
        if contract == "full":
            min_h, max_h, max_days = 38.0, 40.0, 5
            u = rng.random()
            if u < 0.15:
                earliest, latest = _t(_choice(rng, ["07:00", "08:00"])), _t("17:00")
            elif u < 0.25:
                latest = _t("20:00")
        elif contract == "part":
            c = float(rng.choice([20, 22, 24, 25, 26]))
            min_h, max_h, max_days = c, c + 4.0, int(rng.choice([4, 5]))
            u = rng.random()
            if u < 0.2:
                earliest, latest = _t("08:00"), _t(_choice(rng, ["14:00", "15:00"]))
            elif u < 0.35:
                earliest, latest = _t("14:00"), _t("22:00")
        else:
            min_h, max_h, max_days = 10.0, float(rng.choice([15, 20])), int(rng.choice([3, 4]))
            if rng.random() < 0.6:
                earliest = _t(_choice(rng, ["12:00", "14:00", "16:00"]))
        # preferred start: a time the agent's window allows
        if rng.random() < 0.4:
            if first == "techsupport" and earliest is None and rng.random() < 0.4:
                preferred = _t(_choice(rng, ["06:00", "22:00"]))
            else:
                options = [f"{h:02d}:00" for h in range(7, 17)]
                lo = earliest or dt.time(7, 0)
                hi = latest or dt.time(22, 0)
                fits = [o for o in options if lo <= _t(o) and _t(o).hour + 4 <= hi.hour]
                preferred = _t(_choice(rng, fits)) if fits else None
        days_off: frozenset[dt.date] = frozenset()
        if rng.random() < 0.12:
            n_off = int(rng.integers(1, 3))
            picks = rng.choice(len(plan_days), size=n_off, replace=False)
            days_off = frozenset(plan_days[int(i)] for i in picks)
        if not _hours_reachable(skills, earliest, latest, days_off, plan_days, min_h, max_days):
            earliest = latest = None  # a window that cannot hold the contract is dropped
        # grade and cost
        if len(skills) == 3:
            grade = "senior"
        else:
            p_grade = (0.15, 0.55, 0.30) if len(skills) == 2 else (0.40, 0.45, 0.15)
            grade = str(rng.choice(["junior", "standard", "senior"], p=p_grade))
        lo_eur, hi_eur = _GRADE_COST_EUR[grade]
        cost = round(float(rng.uniform(lo_eur, hi_eur)) * 20.0) / 20.0
        agents.append(
            Agent(
                agent=f"A{number:03d}",
                skills=Agent.skills_from(skills),
                min_hours_week=min_h,
                max_hours_week=max_h,
                max_days_week=max_days,
                earliest_start=earliest,
                latest_end=latest,
                days_off=days_off,
                preferred_start=preferred,
                grade=grade,
                hourly_cost_eur=cost,
            )
        )
    return tuple(agents)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _num(x: float | None) -> str:
    """A number as written in the CSVs: shortest general form, empty for None."""
    return "" if x is None else format(x, "g")


def _csv_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _write(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8"))


def _project_row(p: Project) -> list[str]:
    t, o, c = p.target, p.outbound, p.contract
    no_sl = t is None
    return [
        p.project,
        p.name,
        p.kind.value,
        "" if t is None else _num(t.sl_target),
        "" if t is None else _num(t.answer_within_s),
        "" if t is None else _num(t.max_abandon_rate),
        _num(p.patience_s),
        str(p.concurrency),
        c.billing.value,
        _num(c.rate_eur),
        "" if no_sl else _num(c.bonus_eur_per_point),
        "" if no_sl else _num(c.penalty_eur_per_point),
        _num(c.penalty_cap_eur),
        "" if o is None else _num(o.contacts_per_week),
        "" if o is None else _num(o.dials_per_contact),
        "" if o is None else _num(o.talk_s),
        "" if o is None else _num(o.wrap_s),
        "" if o is None else _num(o.attempt_s),
    ]


def _agent_row(a: Agent) -> list[str]:
    return [
        a.agent,
        ";".join(a.projects),
        _num(a.min_hours_week),
        _num(a.max_hours_week),
        str(a.max_days_week),
        _hhmm(a.earliest_start),
        _hhmm(a.latest_end),
        ";".join(d.isoformat() for d in sorted(a.days_off)),
        _hhmm(a.preferred_start),
        a.grade,
        f"{a.hourly_cost_eur:.2f}",
    ]


def _event_rows(projects: Sequence[Project], hol: dict[dt.date, str]) -> list[list[str]]:
    rows: list[list[str]] = []
    for day, name in hol.items():
        when = "plan week" if day > HISTORY_LAST_DAY else "history"
        rows.append([day.isoformat(), "", "holiday", "", f"{name} ({when})"])
        for p in projects:
            factor = _DEMAND[p.project].holiday_factor
            if factor is not None:
                note = f"{name}: open at reduced volume"
                rows.append([day.isoformat(), p.project, "holiday", _num(factor), note])
            elif p.opening is None or day.isoweekday() in p.opening.hours:
                rows.append([day.isoformat(), p.project, "closure", "", f"{name}: closed"])
    for a in _ANOMALIES:
        if a.note:
            rows.append([a.day.isoformat(), a.project, a.kind, _num(a.uplift), a.note])
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


def generate_samples(out_dir: Path, *, seed: int = DEFAULT_SEED) -> SampleSummary:
    """Write the sample site folder into ``out_dir`` (created if missing) and summarise it.

    Deterministic: the same ``seed`` gives byte-identical files (for a given numpy version).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    site = sample_site()
    projects = sample_projects()
    rng = np.random.default_rng(seed)
    streams = rng.spawn(len(projects) + 1)  # one stream per project, then the agents

    # site.json
    site_json = out_dir / "site.json"
    site_doc = {"name": site.name, "tz": site.tz, "country": site.country, "subdiv": site.subdiv}
    _write(site_json, json.dumps(site_doc, ensure_ascii=False, indent=2) + "\n")

    # projects.csv, kpi_table.csv, opening_hours.csv
    projects_csv = out_dir / "projects.csv"
    _write(projects_csv, _csv_text(PROJECT_COLUMNS, [_project_row(p) for p in projects]))
    kpi_rows = [
        [p.project, _num(k.sl_at_least), _num(k.coefficient)]
        for p in projects
        for k in p.contract.kpi_table
    ]
    kpi_csv = out_dir / "kpi_table.csv"
    _write(kpi_csv, _csv_text(("project", "sl_at_least", "coefficient"), kpi_rows))
    opening_rows = [
        [p.project, str(wd), _hhmm(p.opening.hours[wd][0]), _hhmm(p.opening.hours[wd][1])]
        for p in projects
        if p.opening is not None
        for wd in sorted(p.opening.hours)
    ]
    opening_csv = out_dir / "opening_hours.csv"
    _write(opening_csv, _csv_text(("project", "weekday", "open", "close"), opening_rows))

    # history.csv
    hol = _public_holidays(site)
    grid = _grid(site)
    holiday_days = np.asarray(
        [(d - HISTORY_FIRST_DAY).days for d in hol if d <= HISTORY_LAST_DAY], dtype=np.int64
    )
    parts: list[str] = ["project,ts,calls,aht_s\n"]
    n_history = 0
    for p, stream in zip(projects, streams, strict=False):
        ts, calls, aht = _history_rows(p, _DEMAND[p.project], grid, holiday_days, stream)
        lines = [
            f"{p.project},{t},{c},{a:.1f}\n"
            for t, c, a in zip(ts.tolist(), calls.tolist(), aht.tolist(), strict=True)
        ]
        parts.extend(lines)
        n_history += len(lines)
    history_csv = out_dir / "history.csv"
    _write(history_csv, "".join(parts))

    # events.csv
    event_rows = _event_rows(projects, hol)
    events_csv = out_dir / "events.csv"
    _write(events_csv, _csv_text(("date", "project", "kind", "uplift", "note"), event_rows))

    # agents.csv
    agents = _sample_agents(streams[-1])
    agents_csv = out_dir / "agents.csv"
    _write(agents_csv, _csv_text(AGENT_COLUMNS, [_agent_row(a) for a in agents]))

    readme = out_dir / "README.md"
    _write(readme, _readme(seed, hol, agents))

    return SampleSummary(
        out_dir=out_dir,
        site_json=site_json,
        projects_csv=projects_csv,
        kpi_table_csv=kpi_csv,
        opening_hours_csv=opening_csv,
        history_csv=history_csv,
        events_csv=events_csv,
        agents_csv=agents_csv,
        readme=readme,
        n_projects=len(projects),
        n_kpi_rows=len(kpi_rows),
        n_opening_rows=len(opening_rows),
        n_history_rows=n_history,
        n_events=len(event_rows),
        n_agents=len(agents),
    )


def _readme(seed: int, hol: dict[dt.date, str], agents: Sequence[Agent]) -> str:
    weekday_lines = "\n".join(
        f"| `{name}` | {d.daily_calls:g} | "
        + " | ".join(f"{f:g}" for f in d.weekday_factor)
        + f" | {d.aht_s:g} | "
        + ("closed" if d.holiday_factor is None else f"× {d.holiday_factor:g}")
        + " |"
        for name, d in _DEMAND.items()
    )
    holiday_lines = "\n".join(f"  - {d.isoformat()} ({d:%a}): {n}" for d, n in hol.items())
    skill_mix = ", ".join(f"{';'.join(skills)} {n}" for skills, n in _SKILL_GROUPS)
    kinds = {"full-time": 0, "part-time": 0, "students": 0}
    for a in agents:
        kind = (
            "full-time"
            if a.min_hours_week >= 38
            else "students"
            if a.max_hours_week <= 20
            else "part-time"
        )
        kinds[kind] += 1
    contract_mix = ", ".join(f"{n} {k}" for k, n in kinds.items())
    return _README_TEMPLATE.format(
        seed=seed,
        weekday_lines=weekday_lines,
        holiday_lines=holiday_lines,
        n_agents=len(agents),
        skill_mix=skill_mix,
        contract_mix=contract_mix,
        min_hours=sum(a.min_hours_week for a in agents),
        max_hours=sum(a.max_hours_week for a in agents),
    )


_README_TEMPLATE = """\
# Sample site: Nordlicht Contact GmbH – Berlin

A fictitious outsourced contact centre in Berlin serving five client projects from one pool
of {n_agents} agents. Every file here is generated, deterministically, by

```
wfm samples --out data/samples --seed {seed}
```

(`wfm.services.samples.generate_samples(Path("data/samples"), seed={seed})`). Do not edit the
files by hand: a test regenerates them and compares bytes. All files are UTF-8, `\\n` line
endings, comma-separated with a header line; an empty cell means "not applicable" (or "none").

## Files

### `site.json`
`name`, `tz` (IANA time zone, `Europe/Berlin`), `country` (`DE`) and `subdiv` (`BE`, the state
of Berlin) — the holiday calendar is `holidays.country_holidays("DE", subdiv="BE")`.

### `projects.csv` — one row per client project
| column | meaning |
|---|---|
| `project` | project id (used by every other file) |
| `name` | display name |
| `kind` | `inbound` (calls), `chat`, or `outbound` (dialled campaign) |
| `sl_target` | share of offered contacts to answer within `answer_within_s` (0.8 = 80 %) |
| `answer_within_s` | service-level threshold in **seconds** (80/20 → 20) |
| `max_abandon_rate` | ceiling on abandoned / offered (share) |
| `patience_s` | mean caller patience in seconds (abandonment model) |
| `concurrency` | contacts an agent handles at once (chat: 2) |
| `billing` | `per_hour`, `per_contact`, `per_seat` or `leasing` (see below) |
| `rate_eur` | EUR per unit of the billing model (hour, contact, seat-month, agent hour) |
| `bonus_eur_per_point` | EUR per SL percentage point above target, per billing month |
| `penalty_eur_per_point` | EUR per SL percentage point below target, per billing month |
| `penalty_cap_eur` | ceiling of the monthly penalty in EUR |
| `contacts_per_week` | outbound only: contacts (connected conversations) to reach per week |
| `dials_per_contact` | outbound only: dial attempts per contact |
| `talk_s`, `wrap_s` | outbound only: talk and after-call work per contact, seconds |
| `attempt_s` | outbound only: agent time per unsuccessful attempt, seconds |

Empty for outbound: `sl_target`, `answer_within_s`, `max_abandon_rate`, `patience_s` and the
bonus/penalty columns. Billing models: `per_hour` = EUR per production hour, `per_contact` =
EUR per handled contact, `per_seat` = EUR per FTE seat and month, `leasing` = EUR per hour of
an agent provided (personnel leasing).

| project | kind | target | abandon ≤ | patience | billing |
|---|---|---|---|---|---|
| `bank` | inbound | 80/20 | 5 % | 180 s | per_hour 31.50 EUR |
| `retail` | inbound | 90/30 | 4 % | 120 s | per_contact 3.20 EUR |
| `techsupport` | inbound | 80/60 | 8 % | 300 s | per_seat 4,500 EUR/month |
| `chat` | chat (concurrency 2) | 80/60 | 10 % | 240 s | per_contact 2.40 EUR |
| `outbound` | outbound | — (2,450 contacts/week, 2.8 dials/contact) | — | — | leasing 24.00 EUR/h |

### `kpi_table.csv` — `project,sl_at_least,coefficient`
The invoice multiplier: when the month's achieved service level is at least `sl_at_least`
(share), the invoice is multiplied by `coefficient`; the highest matching row wins. Every
inbound/chat project: 0.90 from 0, 0.95 from target − 5 points, 1.00 at target, 1.05 from
target + 5 points. Outbound has no KPI table.

### `opening_hours.csv` — `project,weekday,open,close`
ISO weekday (1 = Monday … 7 = Sunday), local `HH:MM` times. `close` <= `open` means the
opening runs past midnight into the next day; **`00:00`–`00:00` means open all day** (24 h). A
weekday with no row is closed; a project with no rows at all is open 24/7.
- `bank`: Mon–Sat 08:00–20:00
- `retail`: every day 07:00–22:00
- `techsupport`: 24/7 (00:00–00:00 every day)
- `chat`: Mon–Fri 08:00–22:00
- `outbound`: Mon–Fri 09:00–20:00, Sat 10:00–16:00

### `history.csv` — `project,ts,calls,aht_s`
Handled-demand history in 15-minute intervals, 16 weeks from Monday 2026-01-05 00:00 to
Sunday 2026-04-26 23:45 local time. `ts` is the interval start, ISO 8601 with the UTC offset
(`2026-01-05T08:00:00+01:00`; `+02:00` from the DST change on 2026-03-29). **Only intervals in
which the project is open appear**; closed intervals and public-holiday closures have no row.
`calls` is the number of offered contacts (integer ≥ 0; for `chat` chats, for `outbound` the
connected contacts); `aht_s` the mean handle time of the interval's contacts in seconds (0.1 s),
or the project's typical handle time for that slot when `calls` is 0. Rows are sorted by
project (file order of `projects.csv`), then time.

How it is drawn (seed {seed}): day total = daily volume × weekday factor × slow linear trend ×
log-normal day noise (σ 0.05); spread over the open intervals by an intraday profile (double
peak for the inbound lines, a broad day/evening shape for chat, nearly flat for outbound);
counts are negative-binomial (Poisson with a gamma(40) rate multiplier). AHT varies ±3–6 %
over the day (longest at night) and each interval's AHT is the mean of that many gamma
handle times.

| project | daily volume | Mon | Tue | Wed | Thu | Fri | Sat | Sun | AHT s | on a holiday |
|---|---|---|---|---|---|---|---|---|---|---|
{weekday_lines}

Trends per week: bank +0.4 %, retail +0.6 %, techsupport −0.3 % (its AHT −0.2 %), chat
+1.2 %, outbound flat.

### `events.csv` — `date,project,kind,uplift,note`
Known events: `kind` ∈ `holiday`, `closure`, `campaign`, `outage`, `incident`; empty `project`
= all projects; `uplift` is the volume multiplier applied (empty where not applicable). A
public holiday has one row without project, one `closure` row per project that would have
been open that weekday, and one `holiday` row with the reduced-volume factor for `retail`
(0.4) and `techsupport` (0.7), which stay open. The holiday of the plan week (2026-05-01) is
listed too.

### `agents.csv` — one row per agent
| column | meaning |
|---|---|
| `agent` | id `A001` … `A{n_agents:03d}` |
| `skills` | 1–3 project ids, `;`-separated, in priority order (first = preferred) |
| `min_hours_week` | contracted weekly hours at least (full-time 38, part-time 20–26, students 10) |
| `max_hours_week` | weekly hours at most (full-time 40, part-time 24–30, students 15–20) |
| `max_days_week` | working days per week at most (full-time 5, part-time 4–5, students 3–4) |
| `earliest_start`, `latest_end` | local `HH:MM` bounds of any shift; empty = none |
| `days_off` | `;`-separated ISO dates of approved leave in the plan week 2026-04-27 … 2026-05-03 |
| `preferred_start` | local `HH:MM` preferred shift start; empty = none |
| `grade` | `junior`, `standard`, `senior` |
| `hourly_cost_eur` | cost per paid hour, EUR (junior 17–18.5, standard 19–21, senior 22–24) |

Skill mix (agents per skill list): {skill_mix} (ids are assigned in a shuffled order).
Contract mix: {contract_mix}; total contracted hours {min_hours:g}–{max_hours:g} per week.

## Facts a tester can rely on
- Time zone `Europe/Berlin`; the history covers 112 local days (16 weeks, Monday to Sunday).
- DST starts on 2026-03-29: that day has **92** quarter-hours (02:00–02:45 do not exist);
  `techsupport`, open 24/7, has 92 rows that day. Offsets are `+01:00` before and `+02:00`
  from 2026-03-29 03:00.
- Public holidays (Berlin) from 2026-01-05 to 2026-05-03:
{holiday_lines}
  On a holiday `bank`, `chat` and `outbound` have no rows; `retail` runs at 40 % and
  `techsupport` at 70 % of the usual volume.
- Injected anomalies (also in `events.csv`):
  - 2026-02-17 (Tue) `bank`: telephony outage 13:00–15:00 (rows present, 0 calls), then a
    callback spike ×1.8 from 15:00 to 17:00.
  - 2026-02-25 (Wed) `chat`: data gap — the whole day's rows are missing although the queue
    was open (listed as kind `outage`; not a closure).
  - 2026-03-12 (Thu) `retail`: campaign day, +60 % all day.
  - 2026-04-14 (Tue) `techsupport`: incident, +80 % from 09:00 to 15:00.
- Every `calls` is an integer ≥ 0 and every `aht_s` a finite number > 0.
- The plan week is 2026-04-27 … 2026-05-03 (Friday 2026-05-01 is a public holiday, Labor Day).
"""
