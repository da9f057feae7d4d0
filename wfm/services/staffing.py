"""Staffing services: one interval (``wfm staff``) and the what-if run (``wfm whatif``).

Adapters (CLI, API, notebooks) call these and get typed results; the engine underneath is
``wfm.staffing``. A what-if compares a *base* — each project's contract targets, Erlang C,
the base shrinkage — with a *scenario* that scales volume and handle time and may override the
targets, the shrinkage and the queueing model, per project and local day.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from wfm import contracts
from wfm.domain import Project, ProjectKind
from wfm.errors import InputError
from wfm.grid import Grid, check_tz
from wfm.services._files import iso_text, write_csv_atomic
from wfm.services.sitedata import load_projects, site_tz
from wfm.staffing import Model, fte, outbound_agents, required_agents

__all__ = [
    "IntervalStaffing",
    "Scenario",
    "WhatIfResult",
    "infer_interval_min",
    "load_demand",
    "scenario_requirements",
    "staff_interval",
    "whatif",
    "whatif_files",
    "write_requirements_csv",
]

DEFAULT_SHRINKAGE = 0.30
HOURS_PER_FTE_DAY = 8.0
OUTBOUND_OCCUPANCY = 0.85


@dataclass(frozen=True, slots=True)
class IntervalStaffing:
    """Required agents for one interval and what they achieve."""

    model: Model
    calls: float
    interval_min: int
    aht_s: float
    sl_target: float
    answer_within_s: float
    load_erl: float
    agents: int
    sl: float
    asa_s: float
    occupancy: float
    p_wait: float
    abandon_rate: float
    shrinkage: float
    fte: float

    def as_dict(self) -> dict[str, float | int | str | None]:
        """JSON-ready: an infinite ASA becomes ``None``."""
        out: dict[str, float | int | str | None] = {}
        for key in self.__dataclass_fields__:
            value = getattr(self, key)
            out[key] = None if isinstance(value, float) and not math.isfinite(value) else value
        return out


def staff_interval(
    calls: float,
    *,
    interval_min: int,
    aht_s: float,
    sl_target: float,
    answer_within_s: float,
    model: Model = "erlang_c",
    patience_s: float | None = None,
    shrinkage: float = 0.0,
    max_occupancy: float | None = None,
    max_asa_s: float | None = None,
    max_abandon_rate: float | None = None,
    concurrency: int = 1,
) -> IntervalStaffing:
    """The minimal agents for one interval (see ``wfm.staffing.required_agents``)."""
    if interval_min <= 0:
        raise InputError(
            f"interval_min: {interval_min} is not positive",
            field="interval_min",
            expected="minutes > 0",
        )
    r = required_agents(
        calls,
        aht_s,
        interval_s=interval_min * 60.0,
        sl_target=sl_target,
        answer_within_s=answer_within_s,
        model=model,
        patience_s=patience_s,
        max_occupancy=max_occupancy,
        max_asa_s=max_asa_s,
        max_abandon_rate=max_abandon_rate,
        concurrency=concurrency,
    )
    return IntervalStaffing(
        model=model,
        calls=float(calls),
        interval_min=interval_min,
        aht_s=float(aht_s),
        sl_target=float(sl_target),
        answer_within_s=float(answer_within_s),
        load_erl=float(r.load_erl),
        agents=int(r.agents),
        sl=float(r.sl),
        asa_s=float(r.asa_s),
        occupancy=float(r.occupancy),
        p_wait=float(r.p_wait),
        abandon_rate=float(r.abandon_rate),
        shrinkage=float(shrinkage),
        fte=float(fte(r.agents, shrinkage)),
    )


@dataclass(frozen=True, slots=True)
class Scenario:
    """What-if modifiers; ``None`` keeps each project's own value."""

    calls_scale: float = 1.0
    aht_scale: float = 1.0
    sl_target: float | None = None
    answer_within_s: float | None = None
    shrinkage: float = DEFAULT_SHRINKAGE
    model: Model = "erlang_c"
    patience_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("calls_scale", "aht_scale"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise InputError(
                    f"{name}: {value} is not a positive number", field=name, expected="> 0"
                )
        if self.sl_target is not None and not 0.0 < self.sl_target < 1.0:
            raise InputError(
                f"sl_target: {self.sl_target} is outside (0, 1)",
                field="sl_target",
                expected="a share in (0, 1)",
            )
        if self.answer_within_s is not None and self.answer_within_s < 0.0:
            raise InputError(
                f"answer_within_s: {self.answer_within_s} is negative",
                field="answer_within_s",
                expected="seconds >= 0",
            )
        if not 0.0 <= self.shrinkage < 1.0:
            raise InputError(
                f"shrinkage: {self.shrinkage} is outside [0, 1)",
                field="shrinkage",
                expected="a share in [0, 1)",
            )
        if self.patience_s is not None and not self.patience_s > 0.0:
            raise InputError(
                f"patience_s: {self.patience_s} is not positive",
                field="patience_s",
                expected="seconds > 0",
            )


@dataclass(frozen=True)
class WhatIfResult:
    """Base vs scenario. ``daily`` has one row per project and local day with, for each of
    ``base_`` and ``scenario_``: ``agent_hours``, ``fte``, ``peak_agents``, ``sl`` (offered-
    weighted service level; empty for outbound) and ``calls``, plus ``delta_`` columns.
    ``requirements`` are the two requirement frames (contract of ``wfm.contracts``)."""

    daily: pd.DataFrame
    by_project: pd.DataFrame
    base_requirements: pd.DataFrame
    scenario_requirements: pd.DataFrame
    base: Scenario
    scenario: Scenario
    interval_min: int
    tz: str
    timings_s: Mapping[str, float] = field(default_factory=dict)


def infer_interval_min(demand: pd.DataFrame) -> int:
    """The interval length of a demand frame: the smallest step between a project's rows."""
    steps: list[float] = []
    for _, group in demand.groupby("project", sort=False):
        ts = group["ts"].sort_values()
        diffs = ts.diff().dropna().dt.total_seconds()
        diffs = diffs[diffs > 0]
        if len(diffs):
            steps.append(float(diffs.min()))
    if not steps:
        raise InputError(
            "ts: cannot tell the interval length from fewer than two rows per project",
            field="ts",
            expected="at least two intervals of one project",
        )
    minutes = min(steps) / 60.0
    if minutes not in (15.0, 30.0, 60.0):
        raise InputError(
            f"ts: rows are {minutes:g} minutes apart; expected a 15, 30 or 60-minute grid",
            field="ts",
            expected="15, 30 or 60-minute intervals",
        )
    return int(minutes)


def load_demand(path: Path, *, tz: str) -> pd.DataFrame:
    """Read a history or demand CSV (``project, ts, calls, aht_s`` …) into the site zone."""
    return contracts.read_frame_csv(path, contracts.HISTORY, tz=tz)


def _requirements(
    demand: pd.DataFrame,
    projects: Mapping[str, Project],
    scenario: Scenario,
    interval_min: int,
) -> pd.DataFrame:
    """The requirements frame for one scenario (all projects, vectorised per project)."""
    interval_s = interval_min * 60.0
    parts: list[pd.DataFrame] = []
    for project_id, rows in demand.groupby("project", sort=True):
        project = projects[str(project_id)]
        calls = rows["calls"].to_numpy(dtype=np.float64) * scenario.calls_scale
        aht = rows["aht_s"].to_numpy(dtype=np.float64) * scenario.aht_scale
        out = rows[["project", "ts"]].reset_index(drop=True)
        out["calls"] = calls
        out["aht_s"] = aht
        out["load_erl"] = calls * aht / interval_s
        if project.kind is ProjectKind.OUTBOUND:
            assert project.outbound is not None  # guaranteed by Project
            out["agents"] = outbound_agents(
                calls,
                aht,
                interval_s=interval_s,
                dials_per_contact=project.outbound.dials_per_contact,
                attempt_s=project.outbound.attempt_s,
                occupancy=OUTBOUND_OCCUPANCY,
            )
            out["sl"] = np.nan
            out["model"] = "outbound"
            out["sl_target"] = np.nan
            out["answer_within_s"] = np.nan
        else:
            assert project.target is not None  # guaranteed by Project
            sl_target = scenario.sl_target or project.target.sl_target
            within = (
                scenario.answer_within_s
                if scenario.answer_within_s is not None
                else project.target.answer_within_s
            )
            patience = scenario.patience_s or project.patience_s
            if scenario.model == "erlang_a" and patience is None:
                raise InputError(
                    f"patience_s: project {project_id} has no patience_s; pass --patience-s",
                    field="patience_s",
                    expected="seconds > 0 for Erlang A",
                )
            result = required_agents(
                calls,
                aht,
                interval_s=interval_s,
                sl_target=sl_target,
                answer_within_s=within,
                model=scenario.model,
                patience_s=patience if scenario.model == "erlang_a" else None,
                max_abandon_rate=(
                    project.target.max_abandon_rate if scenario.model == "erlang_a" else None
                ),
                concurrency=project.concurrency,
            )
            out["agents"] = result.agents
            out["sl"] = result.sl
            out["model"] = scenario.model
            out["sl_target"] = sl_target
            out["answer_within_s"] = within
        parts.append(out)
    frame = pd.concat(parts, ignore_index=True)
    frame["agents"] = frame["agents"].astype(np.int64)
    return frame


def _daily(req: pd.DataFrame, scenario: Scenario, interval_min: int, grid: Grid) -> pd.DataFrame:
    hours = interval_min / 60.0
    frame = req.assign(
        date=grid.local_date(pd.DatetimeIndex(req["ts"])),
        agent_hours=req["agents"] * hours,
        sl_calls=req["sl"] * req["calls"],
    )
    grouped = frame.groupby(["project", "date"], sort=True)
    daily = grouped.agg(
        calls=("calls", "sum"),
        agent_hours=("agent_hours", "sum"),
        peak_agents=("agents", "max"),
        sl_calls=("sl_calls", "sum"),
        sl_rows=("sl", "count"),
    )
    # outbound rows carry no service level: their sum is 0 over 0 rows, shown as NaN
    daily["sl"] = (daily["sl_calls"] / daily["calls"].where(daily["calls"] > 0)).where(
        daily["sl_rows"] > 0
    )
    # a day without calls on a project with a target: nothing failed, SL met in full
    daily.loc[(daily["sl_rows"] > 0) & (daily["calls"] <= 0), "sl"] = 1.0
    daily = daily.drop(columns="sl_rows")
    daily["fte"] = fte(daily["agent_hours"].to_numpy(), scenario.shrinkage) / HOURS_PER_FTE_DAY
    return daily.drop(columns="sl_calls")


def _check_projects(demand: pd.DataFrame, projects: Mapping[str, Project]) -> None:
    unknown = sorted(set(demand["project"].astype(str)) - set(projects))
    if unknown:
        raise InputError(
            f"project: {unknown[0]!r} is in the demand but not in the projects file "
            f"(known: {', '.join(sorted(projects))})",
            field="project",
            expected="a project of the projects file",
        )


def scenario_requirements(
    demand: pd.DataFrame, projects: Mapping[str, Project], *, tz: str, scenario: Scenario
) -> pd.DataFrame:
    """The requirements frame of one scenario (what ``whatif`` computes for its scenario side,
    without the base and the daily sums): ``project, ts, calls, aht_s, load_erl, agents, sl,
    model, sl_target, answer_within_s`` per demand row, projects sorted, rows in the demand's
    order within a project."""
    check_tz(tz)
    _check_projects(demand, projects)
    return _requirements(demand, projects, scenario, infer_interval_min(demand))


def whatif(
    demand: pd.DataFrame,
    projects: Mapping[str, Project],
    *,
    tz: str,
    scenario: Scenario,
    base: Scenario | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> WhatIfResult:
    """Base vs scenario staffing per project and local day.

    ``demand`` is a validated history/demand frame (``project, ts, calls, aht_s``). Agent-hours
    are Σ agents × interval length; FTE = agent-hours / (1 − shrinkage) / 8 h; the service level
    is the offered-weighted mean of the intervals' Erlang service level at the required agents
    (at or above target by construction, so it shows the rounding headroom)."""
    clock = time.perf_counter()
    check_tz(tz)
    base = base or Scenario(shrinkage=scenario.shrinkage)
    _check_projects(demand, projects)
    grid_probe = Grid(tz=tz, interval_min=15)
    if start is not None or end is not None:
        dates = pd.Series(grid_probe.local_date(pd.DatetimeIndex(demand["ts"])), index=demand.index)
        keep = pd.Series(True, index=demand.index)
        if start is not None:
            keep &= dates >= start
        if end is not None:
            keep &= dates <= end
        demand = demand[keep]
        if demand.empty:
            raise InputError(
                f"start/end: no demand rows between {start} and {end}",
                field="start",
                expected="dates inside the demand file",
            )
    interval_min = infer_interval_min(demand)
    grid = Grid(tz=tz, interval_min=interval_min)
    t_read = time.perf_counter()
    base_req = _requirements(demand, projects, base, interval_min)
    scen_req = _requirements(demand, projects, scenario, interval_min)
    t_staff = time.perf_counter()
    b = _daily(base_req, base, interval_min, grid).add_prefix("base_")
    s = _daily(scen_req, scenario, interval_min, grid).add_prefix("scenario_")
    daily = b.join(s, how="outer")
    for col in ("calls", "agent_hours", "fte", "peak_agents", "sl"):
        daily[f"delta_{col}"] = daily[f"scenario_{col}"] - daily[f"base_{col}"]
    daily = daily.reset_index()
    sums = daily.groupby("project", sort=True).agg(
        days=("date", "nunique"),
        base_agent_hours=("base_agent_hours", "sum"),
        scenario_agent_hours=("scenario_agent_hours", "sum"),
        base_fte=("base_fte", "mean"),
        scenario_fte=("scenario_fte", "mean"),
        base_peak_agents=("base_peak_agents", "max"),
        scenario_peak_agents=("scenario_peak_agents", "max"),
    )
    for prefix, req in (("base", base_req), ("scenario", scen_req)):
        weighted = (req["sl"] * req["calls"]).groupby(req["project"]).sum(min_count=1)
        calls = req["calls"].groupby(req["project"]).sum()
        sums[f"{prefix}_sl"] = weighted / calls.where(calls > 0)
    sums["delta_agent_hours"] = sums["scenario_agent_hours"] - sums["base_agent_hours"]
    sums["delta_fte"] = sums["scenario_fte"] - sums["base_fte"]
    t_done = time.perf_counter()
    return WhatIfResult(
        daily=daily,
        by_project=sums.reset_index(),
        base_requirements=base_req,
        scenario_requirements=scen_req,
        base=base,
        scenario=scenario,
        interval_min=interval_min,
        tz=tz,
        timings_s={
            "prepare": t_read - clock,
            "staffing": t_staff - t_read,
            "aggregate": t_done - t_staff,
            "total": t_done - clock,
        },
    )


def whatif_files(
    demand_path: Path,
    *,
    scenario: Scenario,
    projects_dir: Path | None = None,
    tz: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> WhatIfResult:
    """``whatif`` over files: the demand CSV, and the site folder (``projects.csv`` …,
    ``site.json`` for the time zone) — by default the demand file's own folder."""
    folder = projects_dir or demand_path.parent
    tz = site_tz(folder, tz)
    projects = load_projects(folder)
    demand = load_demand(demand_path, tz=tz)
    return whatif(demand, projects, tz=tz, scenario=scenario, start=start, end=end)


def write_requirements_csv(result: WhatIfResult, path: Path) -> Path:
    """Write the scenario's requirements frame (``project, ts, agents, ...``; ``ts`` as ISO
    8601 with offset) atomically: the input of ``wfm schedule``."""
    frame = result.scenario_requirements.copy()
    frame["ts"] = iso_text(frame["ts"])
    return write_csv_atomic(frame, path)
