"""Benchmark instances for the shift optimizer (``bench/bench_schedule.py``), importable by tests.

The week: the 7 local days after the bundled history ends (Monday 2026-04-27 … Sunday
2026-05-03, Europe/Berlin, no DST change), 96 quarter-hours a day.

Requirements: ``data/samples/history.csv`` forecast for that week by the forecasting service
(``wfm.services.forecasting.forecast``, model ``auto`` as ``make demo`` uses it), then the
required agents per interval by the staffing service (``wfm.services.staffing.whatif``, its
base: each project's contract target from ``projects.csv``, Erlang C; chat at its concurrency
of 2; outbound by the service's outbound dialling model). All five sample projects are kept.
The frame has every quarter-hour of the week for every project (``agents`` 0 where the forecast
has no row: closed hours and the 1 May holiday), and the rules carry each project's opening
hours from ``projects.csv``/``opening_hours.csv``.

Agents: a seeded ``numpy.random.Generator`` draws ``n`` agents with 1–3 skills (the first,
preferred skill drawn in proportion to each project's required hours), contracts (60 %
full-time 38–40 h over at most 5 days, 40 % part-time 20–30 h over 4 or 5 days), some
availability windows (day windows, evening windows, night windows for techsupport holders),
days off and preferred starts. A contract minimum that the agent's skills, window and days off
could not reach is lowered (to 80 % of the reachable paid hours), so every instance is feasible.

Tightness: the Erlang requirements are scaled so that the required agent-hours equal
``TIGHTNESS`` × the pool's maximum contract hours. Contract hours are paid hours, which include
breaks, so the pool cannot cover everything: under-coverage is non-zero and its lower bound
means something. The scale is per instance, so 150, 300 and 600 agents get proportional loads.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from wfm.domain import Agent, OpeningHours, ShiftRules
from wfm.grid import Grid
from wfm.services.forecasting import forecast, load_calendar, load_history
from wfm.services.sitedata import load_projects, load_site
from wfm.services.staffing import Scenario, whatif

__all__ = [
    "INTERVAL_MIN",
    "PER_DAY",
    "SAMPLES",
    "TIGHTNESS",
    "WEEK",
    "Instance",
    "erlang_requirements",
    "make_instance",
    "make_single_project_instance",
]

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
WEEK = dt.date(2026, 4, 27)  # the Monday after the history's last day (Sunday 2026-04-26)
DAYS = 7
INTERVAL_MIN = 15
PER_DAY = 24 * 60 // INTERVAL_MIN
TIGHTNESS = 1.0  # required agent-hours ÷ the pool's maximum contract hours
FULL_TIME_SHARE = 0.6
MIN_HOURS_REACHABLE = 0.8  # a contract minimum is at most this share of the reachable hours

BoolArray = npt.NDArray[np.bool_]


class Instance(NamedTuple):
    """One benchmark week: unpacks as ``requirements, agents, rules, tz, week``."""

    requirements: pd.DataFrame  # project, ts (tz-aware), agents (float)
    agents: tuple[Agent, ...]
    rules: ShiftRules
    tz: str
    week: dt.date


# --------------------------------------------------------------------------------------------
# requirements


@functools.cache
def _erlang_requirements(model: str) -> pd.DataFrame:
    folder = SAMPLES
    tz = load_site(folder).tz
    history = load_history(folder / "history.csv", tz=tz)
    calendar = load_calendar(folder)
    demand = forecast(history, tz=tz, calendar=calendar, model=model, horizon_days=DAYS).demand
    projects = load_projects(folder)
    base = whatif(demand, projects, tz=tz, scenario=Scenario()).base_requirements
    ts = Grid(tz=tz, interval_min=INTERVAL_MIN).range(WEEK, WEEK + dt.timedelta(days=DAYS - 1))
    full = pd.MultiIndex.from_product([sorted(projects), ts], names=["project", "ts"])
    agents = (
        base.set_index(["project", "ts"])["agents"].astype(np.float64).reindex(full, fill_value=0.0)
    )
    return agents.reset_index()


def erlang_requirements(model: str = "auto") -> pd.DataFrame:
    """The unscaled Erlang requirements of the week (``project, ts, agents``), every
    quarter-hour of the 7 days for each of the five sample projects (0 where closed). The
    forecast runs once per model and process (cached); the caller gets a copy."""
    return _erlang_requirements(model).copy()


def sample_rules(**overrides: float | int) -> ShiftRules:
    """Issue 6's default rules plus the sample projects' opening hours."""
    projects = load_projects(SAMPLES)
    opening: dict[str, OpeningHours | None] = {p: projects[p].opening for p in projects}
    return ShiftRules(opening=opening, **overrides)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# agents


def _open_masks(rules: ShiftRules, projects: Sequence[str], tz: str) -> dict[str, BoolArray]:
    """Per project, open flags for the week's quarter-hours plus one day after it (a shift
    started on Sunday may run past midnight), by the rules' opening hours."""
    grid = Grid(tz=tz, interval_min=INTERVAL_MIN)
    ts = grid.range(WEEK, WEEK + dt.timedelta(days=DAYS))
    out: dict[str, BoolArray] = {}
    for p in projects:
        hours = rules.opening_for(p)
        if hours is None:
            out[p] = np.ones(len(ts), dtype=bool)
        else:
            out[p] = np.array([hours.is_open(t.to_pydatetime()) for t in ts], dtype=bool)
    return out


def _window_mask(agent: Agent) -> BoolArray:
    """Quarter-hours of a 2-day span (the shift's day and the next) the agent's window allows."""
    mask = np.zeros(2 * PER_DAY, dtype=bool)
    lo = 0
    if agent.earliest_start is not None:
        lo = (agent.earliest_start.hour * 60 + agent.earliest_start.minute) // INTERVAL_MIN
    if agent.latest_end is None:
        mask[lo:] = True
        return mask
    hi = (agent.latest_end.hour * 60 + agent.latest_end.minute) // INTERVAL_MIN
    if agent.earliest_start is not None and hi <= lo:
        hi += PER_DAY  # night window: the latest end is on the next day
    mask[lo:hi] = True
    return mask


def _longest_run_from_first_day(mask: BoolArray) -> int:
    """The longest run of True that starts within the first day of a 2-day mask."""
    best = run = 0
    start_ok = False
    for i, value in enumerate(mask):
        if value:
            if run == 0:
                start_ok = i < PER_DAY
            run += 1
            if start_ok:
                best = max(best, run)
        else:
            run = 0
    return best


def _reachable_paid_h(agent: Agent, rules: ShiftRules, masks: Mapping[str, BoolArray]) -> float:
    """An estimate of the most paid hours the agent can work this week: per day, the longest
    shift that fits its projects' opening hours, its window and its days off (capped at
    ``max_shift_h``, minus the shortest lunch), the best ``max_days_week`` days summed."""
    window = _window_mask(agent)
    per_day: list[float] = []
    for d in range(DAYS):
        day = WEEK + dt.timedelta(days=d)
        if day in agent.days_off:
            continue
        span = slice(d * PER_DAY, (d + 2) * PER_DAY)
        open_ = np.zeros(2 * PER_DAY, dtype=bool)
        for p in agent.projects:
            open_ |= masks[p][span]
        if day + dt.timedelta(days=1) in agent.days_off:
            open_[PER_DAY:] = False
        hours = min(_longest_run_from_first_day(open_ & window) * INTERVAL_MIN / 60.0,
                    rules.max_shift_h)  # fmt: skip
        if hours < rules.min_shift_h:
            continue
        if hours > rules.lunch_over_h:
            hours -= rules.lunch_min_min / 60.0
        per_day.append(hours)
    days = min(agent.max_days_week, rules.max_days_week)
    return float(sum(sorted(per_day, reverse=True)[:days]))


def _t(hour: float) -> dt.time:
    h = int(hour) % 24
    return dt.time(h, int(round((hour - int(hour)) * 60)))


def _draw_agents(
    rng: np.random.Generator,
    n: int,
    weights: Mapping[str, float],
    rules: ShiftRules,
    masks: Mapping[str, BoolArray],
) -> tuple[Agent, ...]:
    names = sorted(weights)
    p = np.array([weights[k] for k in names], dtype=np.float64)
    p /= p.sum()
    week_days = [WEEK + dt.timedelta(days=i) for i in range(DAYS)]
    agents: list[Agent] = []
    for number in range(1, n + 1):
        k = int(rng.choice([1, 2, 3], p=[0.35, 0.40, 0.25]))
        skills = [names[int(i)] for i in rng.choice(len(names), size=k, replace=False, p=p)]
        if rng.random() < FULL_TIME_SHARE:
            min_h, max_h, max_days = 38.0, 40.0, 5
        else:
            max_h = float(rng.choice([24.0, 25.0, 30.0]))
            min_h, max_days = 20.0, int(rng.choice([4, 5]))
        earliest: dt.time | None = None
        latest: dt.time | None = None
        u = rng.random()
        if "techsupport" in skills and u < 0.12:
            earliest, latest = _t(float(rng.choice([18.0, 20.0, 21.0]))), _t(8.0)  # nights
        elif u < 0.27:
            start = float(rng.choice([6.0, 7.0, 8.0, 9.0]))
            earliest, latest = _t(start), _t(start + float(rng.choice([10.0, 11.0, 12.0])))
        elif u < 0.35:
            earliest, latest = _t(float(rng.choice([12.0, 13.0, 14.0]))), _t(22.0)
        preferred: dt.time | None = None
        if rng.random() < 0.3:
            lo = 7.0 if earliest is None else earliest.hour
            preferred = _t(lo + float(rng.integers(0, 3)))
        days_off: frozenset[dt.date] = frozenset()
        if rng.random() < 0.2:
            picks = rng.choice(DAYS, size=int(rng.choice([1, 2], p=[0.75, 0.25])), replace=False)
            days_off = frozenset(week_days[int(i)] for i in picks)
        agent = Agent(
            agent=f"A{number:04d}",
            skills=Agent.skills_from(skills),
            min_hours_week=min_h,
            max_hours_week=max_h,
            max_days_week=max_days,
            earliest_start=earliest,
            latest_end=latest,
            days_off=days_off,
            preferred_start=preferred,
        )
        reach = _reachable_paid_h(agent, rules, masks)
        if agent.min_hours_week > MIN_HOURS_REACHABLE * reach:
            low = math.floor(MIN_HOURS_REACHABLE * reach)
            agent = Agent(
                agent=agent.agent,
                skills=agent.skills,
                min_hours_week=float(min(low, max_h)),
                max_hours_week=max_h,
                max_days_week=max_days,
                earliest_start=earliest,
                latest_end=latest,
                days_off=days_off,
                preferred_start=preferred,
            )
        agents.append(agent)
    return tuple(agents)


# --------------------------------------------------------------------------------------------
# instances


def make_instance(
    n_agents: int, seed: int, *, model: str = "auto", tightness: float = TIGHTNESS
) -> Instance:
    """The multi-project benchmark week for ``n_agents`` agents (see the module docstring);
    the same ``n_agents``, ``seed`` and ``model`` give the same instance."""
    if n_agents < 1:
        raise ValueError(f"n_agents: {n_agents} is below 1")
    tz = load_site(SAMPLES).tz
    base = erlang_requirements(model)
    rules = sample_rules()
    hours = base.groupby("project")["agents"].sum() * (INTERVAL_MIN / 60.0)
    weights = {str(k): float(v) for k, v in hours.items()}
    masks = _open_masks(rules, sorted(weights), tz)
    rng = np.random.default_rng([seed, n_agents])
    agents = _draw_agents(rng, n_agents, weights, rules, masks)
    pool_h = sum(a.max_hours_week for a in agents)
    scale = tightness * pool_h / float(hours.sum())
    requirements = base.assign(agents=(base["agents"] * scale).round(2))
    return Instance(requirements, agents, rules, tz, WEEK)


def make_single_project_instance(
    project: str = "bank",
    *,
    n_agents: int = 40,
    model: str = "auto",
    min_hours_week: float = 16.0,
    max_hours_week: float = 40.0,
    **rule_overrides: float | int,
) -> Instance:
    """One project's unscaled Erlang requirements for the week (whole agents, as the peer
    needs integers) and ``n_agents`` identical agents holding only that project, with no
    window, days off or preferred start. ``rule_overrides`` change the default rules (e.g.
    ``min_shift_h=8.5, max_shift_h=8.5, start_grid_min=60`` for fixed 8.5-hour shifts)."""
    tz = load_site(SAMPLES).tz
    base = erlang_requirements(model)
    requirements = base[base["project"] == project].reset_index(drop=True)
    if requirements.empty:
        raise ValueError(f"project: {project!r} is not a sample project")
    rules = sample_rules(**rule_overrides)
    agents = tuple(
        Agent(
            agent=f"{project[:1].upper()}{i:03d}",
            skills=Agent.skills_from([project]),
            min_hours_week=min_hours_week,
            max_hours_week=max_hours_week,
            max_days_week=rules.max_days_week,
        )
        for i in range(1, n_agents + 1)
    )
    return Instance(requirements, agents, rules, tz, WEEK)
