"""Reports of a planned week (service layer): the client reports and the planner's one page.

A week's plan is one ``PlanArtifacts``: the forecast, the observed history (if any), the
requirements, the schedule, the simulated KPIs, their summary and the economics. From it:

- ``daily_report``, ``final_report``, ``efficiency_report``: the tables a contact-centre
  provider sends its clients (per project and local day; per project for the week; hours,
  occupancy, productivity and money per project); ``write_client_reports`` writes them as CSV
  and as one plain HTML page;
- ``report_figure`` / ``write_report_html``: the planner's page, one self-contained plotly
  HTML file (forecast vs actual, required vs scheduled agents, simulated service level,
  shifts, margin). A missing optional frame drops its section with a note.

Definitions (the simulator's, ``wfm.sim``):

- ``sl`` = calls answered within ``answer_within_s`` ÷ calls offered; abandoned calls count
  against it (they are offered, never answered within). A call belongs to the interval (and
  the local day) of its arrival.
- A day's ``sl`` is the simulator's own per-day figure when the per-day KPIs (``kpi_daily``,
  ``SimResult.daily``) are given; otherwise the offered-weighted mean of the day's interval
  ``sl``. The week's ``sl`` is the simulation summary's when given (the offered-weighted mean
  of the simulator's per-day ``sl``, so it equals the offered-weighted mean of the daily
  report's ``sl`` when ``kpi_daily`` is given), else the offered-weighted mean of the daily
  ``sl``. Note: the interval figures are means over replications of per-replication ratios;
  weighting them by the mean offered calls reads slightly high (a busy replication, with more
  calls and a lower service level, counts like a quiet one): about one point of SL on a
  typical day, which is why the per-day KPIs and the summary win when they are given.
- ``asa_s`` (mean wait of answered calls) is weighted by answered calls in the same way;
  ``abandon_rate`` = abandoned ÷ offered (sums, exactly the summary's).
- ``meets_target`` (daily) is ``sl >= sl_target``; the final report checks each contract
  target: ``sl >= sl_target``, ``abandon_rate <= max_abandon_rate``, ``asa_s <= max_asa_s``
  (missing where the contract has no such target or the figure is undefined).
- Productive time (``work_h``): work segments on the project less any break, lunch, training
  or off segment of the same agent inside them (as ``wfm.services.economics.schedule_hours``
  and the simulator count it). Per interval, the scheduled agents of a project are its
  productive agent-seconds in the interval ÷ the interval length (a 15-minute break in a
  30-minute interval counts as half an agent).
- ``occupancy`` (efficiency report) = busy ÷ productive time on the project, with busy time
  = Σ over intervals of answered calls × the forecast's ``aht_s`` of the interval ÷ the
  project's concurrency (a chat agent holding c chats at once is busy 1/c per chat). This is
  the project's own occupancy; the KPI frame's ``occupancy`` is that of every agent holding
  the project (a pool shared with other projects), so it is not used here.
- ``contacts_per_agent_h`` = answered ÷ ``work_h``; ``cost_per_contact_eur`` = ``cost_eur``
  ÷ answered (NaN when nothing is answered, or for projects without simulated KPIs).

Projects without a service target (outbound campaigns) are not simulated: their service
columns are missing, their hours and money are reported.

The plan folder (``load_plan_dir``), as the nightly batch writes it::

    plan.json         {"week": "2026-04-27", "tz": "Europe/Berlin", "interval_min": 30, ...}
                      week = the Monday (ISO date), tz = the site's IANA zone, interval_min =
                      15, 30 or 60; other keys are ignored
    projects.csv      the site's projects file (``wfm.services.sitedata.load_projects``; with
                      kpi_table.csv and opening_hours.csv when present); not read when the
                      caller passes ``projects``
    demand.csv        DEMAND contract: project, ts, calls, aht_s, calls_lo_95 … calls_hi_95
    requirements.csv  REQUIREMENTS contract: project, ts, agents, load_erl, sl, model, ...
    schedule.csv      SCHEDULE contract: agent, start, end, activity, project
    kpis.csv          optional, KPIS contract (+ _lo/_hi): the simulated KPIs per interval
    kpi_daily.csv     optional, the simulator's per-day KPIs: project, date (ISO), offered,
                      answered, abandoned, sl, asa_s (``DAILY_KPI_COLUMNS``; others ignored)
    kpi_summary.csv   optional, the simulation summary (``simulation.SUMMARY_COLUMNS``)
    economics.csv     optional, the economics per project (``economics.ECONOMICS_COLUMNS``)
    actual.csv        optional, HISTORY contract: observed calls of the week

Timestamps are ISO-8601 with their UTC offset (local times without one are read in ``tz``).
A missing or bad file raises ``InputError`` naming the file, the line and the column.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wfm import contracts
from wfm.domain import Project
from wfm.errors import InputError
from wfm.grid import check_interval_min, check_tz
from wfm.services._files import csv_record_lines, write_csv_atomic, write_text_atomic
from wfm.services.economics import ECONOMICS_COLUMNS
from wfm.services.plots import _PALETTE, _ci_polygons, _wall, _with_gaps
from wfm.services.simulation import SUMMARY_COLUMNS
from wfm.services.sitedata import load_projects

__all__ = [
    "DAILY_COLUMNS",
    "DAILY_KPI_COLUMNS",
    "EFFICIENCY_COLUMNS",
    "FINAL_COLUMNS",
    "SECTION_TITLES",
    "PlanArtifacts",
    "ReportPage",
    "ReportSection",
    "daily_report",
    "efficiency_report",
    "final_report",
    "load_plan_dir",
    "report_figure",
    "scheduled_coverage",
    "write_client_reports",
    "write_report_html",
]

DAILY_KPI_COLUMNS: tuple[str, ...] = (
    "project",
    "date",
    "offered",
    "answered",
    "abandoned",
    "sl",
    "asa_s",
)
"""Columns ``PlanArtifacts.kpi_daily`` must have (the simulator's ``SimResult.daily``)."""

DAILY_COLUMNS: tuple[str, ...] = (
    "project",
    "date",
    "offered",
    "answered",
    "abandoned",
    "sl",
    "abandon_rate",
    "asa_s",
    "sl_target",
    "answer_within_s",
    "meets_target",
    "work_h",
)
"""Columns of ``daily_report``: one row per project and local day."""

FINAL_COLUMNS: tuple[str, ...] = (
    "project",
    "name",
    "kind",
    "offered",
    "answered",
    "abandoned",
    "sl",
    "sl_lo",
    "sl_hi",
    "abandon_rate",
    "asa_s",
    "sl_target",
    "answer_within_s",
    "max_abandon_rate",
    "max_asa_s",
    "meets_sl_target",
    "meets_sl_target_at_lo",
    "meets_abandon_target",
    "meets_asa_target",
    "meets_all_targets",
)
"""Columns of ``final_report``: one row per project for the week."""

EFFICIENCY_COLUMNS: tuple[str, ...] = (
    "project",
    "work_h",
    "paid_h",
    "answered",
    "busy_h",
    "occupancy",
    "contacts_per_agent_h",
    "cost_eur",
    "cost_per_contact_eur",
    "revenue_eur",
    "margin_eur",
    "margin_eur_lo",
    "margin_eur_hi",
    "margin_pct",
)
"""Columns of ``efficiency_report``: one row per project."""

SECTION_TITLES: tuple[str, ...] = (
    "Forecast vs actual calls",
    "Required vs scheduled agents",
    "Simulated service level",
    "Shifts",
    "Margin per project",
)
"""The sections of the planner's page, in order."""

_SERVICE_COLUMNS = ("offered", "answered", "abandoned", "sl", "asa_s")
_ECON_VALUES = (
    "paid_h",
    "cost_eur",
    "revenue_eur",
    "margin_eur",
    "margin_eur_lo",
    "margin_eur_hi",
    "margin_pct",
)


# --------------------------------------------------------------------------------------------
# the artifacts


def _missing_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            f"{name}: got {type(frame).__name__}, not a DataFrame",
            field=name,
            expected="a pandas DataFrame",
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{name}: missing required column {missing[0]!r}; expected columns "
            + ", ".join(columns),
            field=missing[0],
            expected="columns " + ", ".join(columns),
        )


@dataclass(frozen=True, kw_only=True, eq=False)
class PlanArtifacts:
    """The frames of one planned week (see the module docstring for the folder format).

    ``week`` is the Monday; the contract frames (``demand``, ``actual``, ``requirements``,
    ``schedule``, ``kpis``) are validated against ``wfm.contracts`` on construction and kept
    converted to ``tz``; ``summary`` needs ``simulation.SUMMARY_COLUMNS``, ``economics``
    ``economics.ECONOMICS_COLUMNS`` and ``kpi_daily`` ``DAILY_KPI_COLUMNS``. Every project
    named in a frame must be in ``projects``; every work segment must name its project."""

    tz: str
    week: dt.date
    projects: Mapping[str, Project]
    demand: pd.DataFrame
    requirements: pd.DataFrame
    schedule: pd.DataFrame
    interval_min: int
    actual: pd.DataFrame | None = None
    kpis: pd.DataFrame | None = None
    kpi_daily: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    economics: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        check_tz(self.tz)
        check_interval_min(self.interval_min)
        if not isinstance(self.week, dt.date) or isinstance(self.week, dt.datetime):
            raise InputError(
                f"week: {self.week!r} is not a date", field="week", expected="a datetime.date"
            )
        if self.week.isoweekday() != 1:
            raise InputError(
                f"week: {self.week.isoformat()} is a {self.week:%A}",
                field="week",
                expected="the Monday the week starts on",
            )
        tz = self.tz

        def put(name: str, value: pd.DataFrame | None) -> None:
            object.__setattr__(self, name, value)

        put("demand", contracts.validate_demand(self.demand, tz=tz).reset_index(drop=True))
        put(
            "requirements",
            contracts.validate_requirements(self.requirements, tz=tz).reset_index(drop=True),
        )
        put("schedule", contracts.validate_schedule(self.schedule, tz=tz).reset_index(drop=True))
        if self.actual is not None:
            put("actual", contracts.validate_history(self.actual, tz=tz).reset_index(drop=True))
        if self.kpis is not None:
            put("kpis", contracts.validate_kpis(self.kpis, tz=tz).reset_index(drop=True))
        if self.kpi_daily is not None:
            _missing_columns(self.kpi_daily, DAILY_KPI_COLUMNS, "kpi_daily")
            put("kpi_daily", self.kpi_daily.reset_index(drop=True))
        if self.summary is not None:
            _missing_columns(self.summary, SUMMARY_COLUMNS, "summary")
            put("summary", self.summary.reset_index(drop=True))
        if self.economics is not None:
            _missing_columns(self.economics, ECONOMICS_COLUMNS, "economics")
            put("economics", self.economics.reset_index(drop=True))
        self._check_projects()

    def _check_projects(self) -> None:
        work = self.schedule[self.schedule["activity"].astype(str) == "work"]
        no_project = work["project"].isna() | (work["project"].astype(str).str.strip() == "")
        if no_project.any():
            row = int(work.index[no_project.to_numpy()][0])
            raise InputError(
                f"schedule row {row}, column 'project': a work segment without a project",
                field="project",
                row=row,
                expected="the project worked on (the reports count hours per project)",
            )
        frames: list[tuple[str, pd.DataFrame | None]] = [
            ("demand", self.demand),
            ("requirements", self.requirements),
            ("schedule", work),
            ("actual", self.actual),
            ("kpis", self.kpis),
            ("kpi_daily", self.kpi_daily),
            ("summary", self.summary),
            ("economics", self.economics),
        ]
        for name, frame in frames:
            if frame is None:
                continue
            names = frame["project"].astype(str)
            unknown = ~names.isin(list(self.projects)).to_numpy()
            if unknown.any():
                pos = int(np.argmax(unknown))
                raise InputError(
                    f"{name} row {int(frame.index[pos])}, column 'project': "
                    f"{names.iloc[pos]!r} is not among the projects",
                    field="project",
                    row=int(frame.index[pos]),
                    expected="one of " + ", ".join(self.projects),
                )

    @property
    def planned_projects(self) -> tuple[str, ...]:
        """Projects with any demand, requirement, work, KPI or economics row, in the order of
        ``projects``."""
        seen: set[str] = set()
        for frame in (self.demand, self.requirements, self.kpis, self.summary, self.economics):
            if frame is not None:
                seen |= set(frame["project"].astype(str))
        work = self.schedule["activity"].astype(str) == "work"
        seen |= set(self.schedule.loc[work, "project"].astype(str))
        return tuple(p for p in self.projects if p in seen)


# --------------------------------------------------------------------------------------------
# productive time


def _ns(values: pd.Series) -> np.ndarray[Any, np.dtype[np.int64]]:
    out: np.ndarray[Any, np.dtype[np.int64]] = pd.DatetimeIndex(values).as_unit("ns").asi8
    return out


def _carve(start: int, end: int, gaps: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """[start, end) less the ``gaps`` (non-work segments of the agent)."""
    pieces = [(start, end)]
    for g0, g1 in gaps:
        nxt: list[tuple[int, int]] = []
        for p0, p1 in pieces:
            if g1 <= p0 or g0 >= p1:
                nxt.append((p0, p1))
                continue
            if g0 > p0:
                nxt.append((p0, g0))
            if g1 < p1:
                nxt.append((g1, p1))
        pieces = nxt
    return [(p0, p1) for p0, p1 in pieces if p1 > p0]


def _work_pieces(art: PlanArtifacts) -> pd.DataFrame:
    """Productive stretches: ``agent, project, start, end`` (ns since the epoch, UTC) and
    ``h`` — work segments less the agent's non-work segments inside them."""
    sched = art.schedule
    activity = sched["activity"].astype(str).to_numpy()
    agents = sched["agent"].astype(str).to_numpy()
    starts, ends = _ns(sched["start"]), _ns(sched["end"])
    gaps: dict[str, list[tuple[int, int]]] = {}
    for i in np.flatnonzero(activity != "work"):
        gaps.setdefault(str(agents[i]), []).append((int(starts[i]), int(ends[i])))
    rows: list[tuple[str, str, int, int]] = []
    projects = sched["project"].astype(object).to_numpy()
    for i in np.flatnonzero(activity == "work"):
        agent = str(agents[i])
        for p0, p1 in _carve(int(starts[i]), int(ends[i]), sorted(gaps.get(agent, []))):
            rows.append((agent, str(projects[i]), p0, p1))
    frame = pd.DataFrame(rows, columns=["agent", "project", "start", "end"])
    frame = frame.astype({"start": np.int64, "end": np.int64})
    frame["h"] = (frame["end"] - frame["start"]) / 3.6e12
    return frame


def _local_dates(ns: np.ndarray[Any, np.dtype[np.int64]], tz: str) -> list[dt.date]:
    local = pd.DatetimeIndex(pd.to_datetime(ns, unit="ns", utc=True)).tz_convert(tz)
    return list(local.date)


def scheduled_coverage(art: PlanArtifacts) -> pd.DataFrame:
    """Per project and interval (``project, ts, required, scheduled``): the agents required
    (``requirements.agents``; 0 where there is no requirement row) and the agents scheduled
    (productive agent-seconds in the interval ÷ its length, breaks inside work taken out), on
    the requirements' rows and wherever anyone is scheduled."""
    pieces = _work_pieces(art)
    step = art.interval_min * 60 * 10**9
    origin = int(pd.Timestamp(art.week).tz_localize(art.tz).as_unit("ns").value)
    s = pieces["start"].to_numpy(dtype=np.int64)
    e = pieces["end"].to_numpy(dtype=np.int64)
    k0 = (s - origin) // step
    k1 = -((origin - e) // step)  # ceiling
    n = (k1 - k0).astype(np.int64)
    rep = np.repeat(np.arange(len(pieces)), n)
    first = np.repeat(np.cumsum(n) - n, n)
    k = k0[rep] + (np.arange(int(n.sum())) - first)
    t0 = origin + k * step
    seconds = np.minimum(e[rep], t0 + step) - np.maximum(s[rep], t0)
    scheduled = pd.DataFrame(
        {
            "project": pieces["project"].to_numpy(dtype=object)[rep],
            "ts": pd.to_datetime(t0, unit="ns", utc=True).tz_convert(art.tz),
            "scheduled": seconds / step,
        }
    )
    scheduled = scheduled.groupby(["project", "ts"], sort=True)["scheduled"].sum().reset_index()
    req = art.requirements[["project", "ts", "agents"]].rename(columns={"agents": "required"})
    req = req.assign(
        project=req["project"].astype(object),
        ts=req["ts"].dt.as_unit("ns"),
        required=req["required"].astype(float),
    )
    scheduled["ts"] = scheduled["ts"].dt.as_unit("ns")
    out = req.merge(scheduled, on=["project", "ts"], how="outer", sort=True)
    out[["required", "scheduled"]] = out[["required", "scheduled"]].fillna(0.0)
    out["project"] = out["project"].astype(str)
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# client reports


def _weighted(values: pd.Series, weights: pd.Series) -> float:
    ok = values.notna() & weights.notna() & (weights > 0)
    total = float(weights[ok].sum())
    return float((values[ok] * weights[ok]).sum()) / total if total > 0 else math.nan


def _service_days(art: PlanArtifacts) -> pd.DataFrame:
    """Per project and local day: offered, answered, abandoned, sl, asa_s (see the module
    docstring); empty without KPIs."""
    if art.kpi_daily is not None:
        daily = art.kpi_daily
        out = pd.DataFrame(
            {
                "project": daily["project"].astype(str),
                "date": [pd.Timestamp(d).date() for d in daily["date"]],
                **{c: pd.to_numeric(daily[c]).astype(float) for c in _SERVICE_COLUMNS},
            }
        )
        return out.sort_values(["project", "date"], kind="stable").reset_index(drop=True)
    if art.kpis is None:
        return pd.DataFrame(
            {
                "project": pd.Series(dtype=object),
                "date": pd.Series(dtype=object),
                **{c: pd.Series(dtype=float) for c in _SERVICE_COLUMNS},
            }
        )
    kpis = art.kpis.assign(
        project=art.kpis["project"].astype(str),
        date=list(art.kpis["ts"].dt.tz_convert(art.tz).dt.date),
    )
    rows: list[dict[str, object]] = []
    for (project, date), g in kpis.groupby(["project", "date"], sort=True):
        rows.append(
            {
                "project": project,
                "date": date,
                "offered": float(g["offered"].sum()),
                "answered": float(g["answered"].sum()),
                "abandoned": float(g["abandoned"].sum()),
                "sl": _weighted(g["sl"], g["offered"]),
                "asa_s": _weighted(g["asa_s"], g["answered"]),
            }
        )
    return pd.DataFrame(rows, columns=["project", "date", *_SERVICE_COLUMNS])


def _target_of(project: Project) -> tuple[float, float, float, float]:
    t = project.target
    if t is None:
        return math.nan, math.nan, math.nan, math.nan
    return (
        t.sl_target,
        t.answer_within_s,
        math.nan if t.max_abandon_rate is None else t.max_abandon_rate,
        math.nan if t.max_asa_s is None else t.max_asa_s,
    )


def _meets(value: pd.Series, limit: pd.Series, *, at_least: bool) -> pd.Series:
    ok = value.notna() & limit.notna()
    met = (value >= limit) if at_least else (value <= limit)
    out: pd.Series = met.astype("boolean").mask(~ok)
    return out


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    out: pd.Series = num / den.where(den > 0)
    return out


def daily_report(art: PlanArtifacts) -> pd.DataFrame:
    """Per project and local day (``DAILY_COLUMNS``): calls offered, answered, abandoned, the
    service level, abandonment rate, answered-weighted ASA, the SL target and whether the day
    met it, and the productive hours scheduled on the project that day (a stretch counts on
    the local day it starts). Rows: every project and day with KPIs, and every project and
    day with work; without KPIs (or for outbound projects) the service columns are missing."""
    service = _service_days(art)
    pieces = _work_pieces(art)
    work = pd.DataFrame(
        {
            "project": pieces["project"].astype(str),
            "date": _local_dates(pieces["start"].to_numpy(dtype=np.int64), art.tz),
            "work_h": pieces["h"],
        }
    )
    work = work.groupby(["project", "date"], sort=True)["work_h"].sum().reset_index()
    keys = pd.concat([service[["project", "date"]], work[["project", "date"]]])
    keys = keys.drop_duplicates().astype({"project": str})
    out = keys.merge(service, on=["project", "date"], how="left").merge(
        work, on=["project", "date"], how="left"
    )
    for c in _SERVICE_COLUMNS:
        if c not in out:
            out[c] = math.nan
    out["work_h"] = out["work_h"].fillna(0.0)
    out["abandon_rate"] = _ratio(out["abandoned"], out["offered"])
    targets = {p: _target_of(art.projects[p]) for p in set(out["project"])}
    out["sl_target"] = out["project"].map(lambda p: targets[p][0]).astype(float)
    out["answer_within_s"] = out["project"].map(lambda p: targets[p][1]).astype(float)
    out["meets_target"] = _meets(out["sl"], out["sl_target"], at_least=True)
    order = {p: i for i, p in enumerate(art.projects)}
    out = out.sort_values(
        ["project", "date"], key=lambda s: s.map(order) if s.name == "project" else s
    )
    return out[list(DAILY_COLUMNS)].reset_index(drop=True)


def final_report(art: PlanArtifacts) -> pd.DataFrame:
    """Per project for the week (``FINAL_COLUMNS``): totals offered, answered and abandoned;
    the service level with its 95 % interval (``sl_lo``, ``sl_hi``: from the simulation
    summary, missing without it), abandonment rate, ASA, the contract's targets and whether
    each is met (``meets_sl_target_at_lo``: even at the interval's lower bound;
    ``meets_all_targets``: every target the contract has, missing if one cannot be judged).
    With a summary, ``sl`` and ``asa_s`` are the summary's (the figures the economics bill);
    otherwise the offered- (answered-) weighted mean of the daily report's."""
    days = _service_days(art)
    rows: list[dict[str, object]] = []
    summary = (
        {str(r["project"]): r for r in art.summary.to_dict(orient="records")}
        if art.summary is not None
        else {}
    )
    for name in art.planned_projects:
        project = art.projects[name]
        sl_target, within, max_abandon, max_asa = _target_of(project)
        mine = days[days["project"] == name] if len(days) else days
        row: dict[str, object] = {
            "project": name,
            "name": project.name,
            "kind": project.kind.value,
            "sl_target": sl_target,
            "answer_within_s": within,
            "max_abandon_rate": max_abandon,
            "max_asa_s": max_asa,
        }
        if len(mine):
            offered = float(mine["offered"].sum())
            answered = float(mine["answered"].sum())
            abandoned = float(mine["abandoned"].sum())
            sl = _weighted(mine["sl"], mine["offered"])
            asa = _weighted(mine["asa_s"], mine["answered"])
        elif name in summary:  # a summary without per-interval KPIs
            offered = float(summary[name]["offered"])
            abandoned = offered * float(summary[name]["abandon_rate"])
            answered = offered - abandoned
            sl = asa = math.nan
        else:
            offered = answered = abandoned = sl = asa = math.nan
        sl_lo = sl_hi = math.nan
        if name in summary:
            rec = summary[name]
            sl, sl_lo, sl_hi = float(rec["sl"]), float(rec["sl_lo"]), float(rec["sl_hi"])
            asa = float(rec["asa_s"])
        if project.target is None:  # outbound: no service figures
            offered = answered = abandoned = sl = sl_lo = sl_hi = asa = math.nan
        row |= {
            "offered": offered,
            "answered": answered,
            "abandoned": abandoned,
            "sl": sl,
            "sl_lo": sl_lo,
            "sl_hi": sl_hi,
            "abandon_rate": abandoned / offered if offered > 0 else math.nan,
            "asa_s": asa,
        }
        rows.append(row)
    out = pd.DataFrame(rows, columns=[c for c in FINAL_COLUMNS if not c.startswith("meets_")])
    out = out.astype({c: float for c in out.columns if c not in ("project", "name", "kind")})
    out["meets_sl_target"] = _meets(out["sl"], out["sl_target"], at_least=True)
    out["meets_sl_target_at_lo"] = _meets(out["sl_lo"], out["sl_target"], at_least=True)
    out["meets_abandon_target"] = _meets(
        out["abandon_rate"], out["max_abandon_rate"], at_least=False
    )
    out["meets_asa_target"] = _meets(out["asa_s"], out["max_asa_s"], at_least=False)
    checks = pd.DataFrame(
        {
            "sl": out["meets_sl_target"],
            "abandon": out["meets_abandon_target"].where(out["max_abandon_rate"].notna(), True),
            "asa": out["meets_asa_target"].where(out["max_asa_s"].notna(), True),
        }
    ).astype("boolean")
    # Kleene logic: False if any target fails, missing if one cannot be judged
    everything = checks["sl"] & checks["abandon"] & checks["asa"]
    out["meets_all_targets"] = everything.where(out["sl_target"].notna(), pd.NA).astype("boolean")
    return out[list(FINAL_COLUMNS)].reset_index(drop=True)


def _busy_h(art: PlanArtifacts) -> dict[str, float]:
    """Per project: answered calls × the forecast AHT of their interval, in hours."""
    if art.kpis is None:
        return {}
    aht = art.demand[["project", "ts", "aht_s"]].assign(
        project=art.demand["project"].astype(str), ts=art.demand["ts"].dt.as_unit("ns")
    )
    kpis = art.kpis[["project", "ts", "answered"]].assign(
        project=art.kpis["project"].astype(str), ts=art.kpis["ts"].dt.as_unit("ns")
    )
    both = kpis.merge(aht, on=["project", "ts"], how="left")
    # an interval without a demand row has no arrivals, so nothing answered in it
    # a chat project's agent handles ``concurrency`` contacts at once: each keeps it 1/c busy
    slots = both["project"].map(
        {name: float(max(1, project.concurrency)) for name, project in art.projects.items()}
    )
    busy = both["answered"] * both["aht_s"].fillna(0.0) / 3600.0 / slots.fillna(1.0)
    return {str(p): float(v) for p, v in busy.groupby(both["project"]).sum().items()}


def efficiency_report(art: PlanArtifacts) -> pd.DataFrame:
    """Per project (``EFFICIENCY_COLUMNS``): productive hours scheduled (``work_h``), paid
    hours and cost (economics), answered calls, busy hours and occupancy (see the module
    docstring), answered calls per productive agent-hour, cost per answered call, revenue and
    margin (economics, with the margin's interval). Missing values: no economics, no KPIs,
    or a project without a service target (its hours and money are reported)."""
    final = final_report(art)
    answered_by = dict(zip(final["project"], final["answered"].astype(float), strict=True))
    hours = _work_pieces(art).groupby("project")["h"].sum()
    work_by = {str(p): float(h) for p, h in hours.items()}
    busy = _busy_h(art)
    econ: dict[str, dict[Any, Any]] = {}
    if art.economics is not None:
        econ = {str(r["project"]): r for r in art.economics.to_dict(orient="records")}
    rows: list[dict[str, object]] = []
    for name in art.planned_projects:
        work_h = work_by.get(name, 0.0)
        answered = answered_by[name]
        has_target = art.projects[name].target is not None
        b = busy.get(name, math.nan) if has_target else math.nan
        money = {c: float(econ[name][c]) if name in econ else math.nan for c in _ECON_VALUES}
        cost = money["cost_eur"]
        rows.append(
            {
                "project": name,
                "work_h": work_h,
                "answered": answered,
                "busy_h": b,
                "occupancy": b / work_h if work_h > 0 else math.nan,
                "contacts_per_agent_h": answered / work_h if work_h > 0 else math.nan,
                "cost_per_contact_eur": cost / answered if answered > 0 else math.nan,
                **money,
            }
        )
    out = pd.DataFrame(rows, columns=list(EFFICIENCY_COLUMNS))
    return out.astype({c: float for c in EFFICIENCY_COLUMNS if c != "project"})


# --------------------------------------------------------------------------------------------
# writing the client reports

_SHARES = frozenset(
    {"sl", "sl_lo", "sl_hi", "abandon_rate", "sl_target", "max_abandon_rate", "occupancy"}
)

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f0f0f0; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fafafa; }
td.yes { color: #1a7f37; } td.no { color: #b42318; font-weight: 600; }
p.note { color: #666; font-style: italic; }
"""


def _cell(column: str, value: object) -> tuple[str, str]:
    """The text and CSS class of one table cell."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—", "num"
    if isinstance(value, bool | np.bool_):
        return ("yes", "yes") if value else ("no", "no")
    if isinstance(value, float | np.floating):
        v = float(value)
        if column in _SHARES:
            return f"{100.0 * v:.1f} %", "num"
        if column.endswith("_pct"):
            return f"{v:.1f} %", "num"
        if column.endswith("_eur"):
            return f"{v:,.2f}", "num"
        return f"{v:,.1f}", "num"
    if isinstance(value, dt.date):
        return value.isoformat(), ""
    return str(value), ""


def _html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body: list[str] = []
    for rec in frame.itertuples(index=False, name=None):
        cells = []
        for column, value in zip(frame.columns, rec, strict=True):
            text, css = _cell(str(column), value)
            cls = f' class="{css}"' if css else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n"
        + "\n".join(body)
        + "\n</tbody>\n</table>"
    )


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    if "date" in out:
        out["date"] = [d.isoformat() for d in out["date"]]
    return out


def write_client_reports(art: PlanArtifacts, folder: Path) -> dict[str, Path]:
    """Write ``client_daily.csv``, ``client_final.csv``, ``client_efficiency.csv`` (dates as
    ISO text, numbers with 10 significant digits, empty where undefined) and
    ``client_reports.html`` (the three tables) into ``folder``, each atomically. Returns the
    paths by name (``daily``, ``final``, ``efficiency``, ``html``)."""
    folder = Path(folder)
    tables = {
        "daily": ("Daily service report", daily_report(art)),
        "final": ("Week report: targets", final_report(art)),
        "efficiency": ("Efficiency and cost", efficiency_report(art)),
    }
    paths: dict[str, Path] = {}
    for key, (_title, frame) in tables.items():
        paths[key] = write_csv_atomic(_csv_ready(frame), folder / f"client_{key}.csv")
    last = art.week + dt.timedelta(days=6)
    title = f"Client reports {art.week.isoformat()} – {last.isoformat()} ({art.tz})"
    notes: list[str] = []
    if art.kpis is None and art.kpi_daily is None:
        notes.append("No simulated KPIs: service figures are missing.")
    if art.economics is None:
        notes.append("No economics: paid hours, cost, revenue and margin are missing.")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        *(f'<p class="note">{html.escape(n)}</p>' for n in notes),
    ]
    for title_text, frame in tables.values():
        parts += [f"<h2>{html.escape(title_text)}</h2>", _html_table(frame)]
    parts.append("</body></html>\n")
    paths["html"] = write_text_atomic("\n".join(parts), folder / "client_reports.html")
    return paths


# --------------------------------------------------------------------------------------------
# the planner's page


@dataclass(frozen=True)
class ReportSection:
    """One section of the planner's page: a plotly figure, or a note why there is none."""

    title: str
    figure: Any | None
    note: str | None = None


@dataclass(frozen=True)
class ReportPage:
    """The planner's page: a title and its sections (``SECTION_TITLES`` in order)."""

    title: str
    sections: tuple[ReportSection, ...]

    def to_html(self) -> str:
        """One self-contained HTML page: plotly.js embedded once, one div per figure."""
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(self.title)}</title>",
            f"<style>{_CSS}</style></head><body>",
            f"<h1>{html.escape(self.title)}</h1>",
        ]
        embedded = False
        for section in self.sections:
            parts.append(f"<h2>{html.escape(section.title)}</h2>")
            if section.note:
                parts.append(f'<p class="note">{html.escape(section.note)}</p>')
            if section.figure is not None:
                parts.append(section.figure.to_html(full_html=False, include_plotlyjs=not embedded))
                embedded = True
        parts.append("</body></html>\n")
        return "\n".join(parts)


def _local(frame: pd.DataFrame, tz: str, column: str = "ts") -> pd.DataFrame:
    return frame.assign(**{column: _wall(frame[column], tz)}).sort_values(column, kind="stable")


def _panels(titles: Sequence[str], height: int) -> Any:
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=len(titles),
        cols=1,
        shared_xaxes=True,
        subplot_titles=list(titles),
        vertical_spacing=0.08 / max(len(titles) / 3.0, 1.0),
    )
    fig.update_layout(height=height * len(titles) + 100, template="plotly_white")
    return fig


def _band(fig: Any, rows: pd.DataFrame, lo: str, hi: str, *, row: int, **style: Any) -> None:
    xs, ys = _ci_polygons(rows, lo, hi)
    fig.add_scatter(
        x=xs,
        y=ys,
        mode="lines",
        line={"width": 0},
        fill="toself",
        hoverinfo="skip",
        row=row,
        col=1,
        **style,
    )


def _forecast_section(art: PlanArtifacts) -> ReportSection:
    title = SECTION_TITLES[0]
    projects = [p for p in art.projects if p in set(art.demand["project"].astype(str))]
    if not projects:
        return ReportSection(title, None, "No demand rows.")
    fig = _panels([f"{p}: calls per {art.interval_min} min" for p in projects], 260)
    for row, name in enumerate(projects, start=1):
        rows = _with_gaps(_local(art.demand[art.demand["project"] == name], art.tz))
        first = row == 1
        for lo, hi, label, color in (
            ("calls_lo_95", "calls_hi_95", "95 % band", "rgba(31, 119, 180, 0.12)"),
            ("calls_lo_80", "calls_hi_80", "80 % band", "rgba(31, 119, 180, 0.25)"),
        ):
            _band(
                fig,
                rows,
                lo,
                hi,
                row=row,
                fillcolor=color,
                name=label,
                legendgroup=label,
                showlegend=first,
            )
        fig.add_scatter(
            x=rows["ts"],
            y=rows["calls"],
            mode="lines",
            name="forecast",
            legendgroup="forecast",
            line={"color": "#1f77b4", "width": 1.3, "shape": "hv"},
            showlegend=first,
            row=row,
            col=1,
        )
        if art.actual is not None and (art.actual["project"] == name).any():
            actual = _with_gaps(_local(art.actual[art.actual["project"] == name], art.tz))
            fig.add_scatter(
                x=actual["ts"],
                y=actual["calls"],
                mode="lines",
                name="actual",
                legendgroup="actual",
                line={"color": "black", "width": 1.0, "shape": "hv"},
                showlegend=first,
                row=row,
                col=1,
            )
        fig.update_yaxes(title_text="calls", rangemode="tozero", row=row, col=1)
    note = None if art.actual is not None else "No actual calls for this week yet."
    return ReportSection(title, fig, note)


def _coverage_section(art: PlanArtifacts) -> ReportSection:
    title = SECTION_TITLES[1]
    coverage = scheduled_coverage(art)
    projects = [p for p in art.projects if p in set(coverage["project"])]
    if not projects:
        return ReportSection(title, None, "No requirements and no work scheduled.")
    fig = _panels([f"{p}: agents per {art.interval_min} min" for p in projects], 220)
    for row, name in enumerate(projects, start=1):
        rows = _with_gaps(_local(coverage[coverage["project"] == name], art.tz))
        for column, color, dash in (("required", "black", "dot"), ("scheduled", "#2ca02c", None)):
            fig.add_scatter(
                x=rows["ts"],
                y=rows[column],
                mode="lines",
                name=column,
                legendgroup=column,
                line={"shape": "hv", "color": color, "width": 1.3, "dash": dash},
                showlegend=row == 1,
                row=row,
                col=1,
            )
        fig.update_yaxes(title_text="agents", rangemode="tozero", row=row, col=1)
    note = "Scheduled = productive agents: breaks and lunches inside work are taken out."
    return ReportSection(title, fig, note)


def _sl_section(art: PlanArtifacts) -> ReportSection:
    title = SECTION_TITLES[2]
    if art.kpis is None:
        return ReportSection(title, None, "No simulated KPIs: section left out.")
    kpis = art.kpis
    projects = [
        p
        for p in art.projects
        if art.projects[p].target is not None and (kpis["project"].astype(str) == p).any()
    ]
    if not projects:
        return ReportSection(title, None, "No simulated project with a service target.")
    titles = []
    for p in projects:
        t = art.projects[p].target
        assert t is not None
        titles.append(
            f"{p}: service level (target {100 * t.sl_target:g} % in {t.answer_within_s:g} s)"
        )
    fig = _panels(titles, 240)
    has_ci = {"sl_lo", "sl_hi"} <= set(kpis.columns)
    for row, name in enumerate(projects, start=1):
        rows = _with_gaps(_local(kpis[kpis["project"].astype(str) == name], art.tz))
        first = row == 1
        if has_ci:
            _band(
                fig,
                rows,
                "sl_lo",
                "sl_hi",
                row=row,
                fillcolor="rgba(31, 119, 180, 0.2)",
                name="95 % confidence band",
                legendgroup="band",
                showlegend=first,
            )
        fig.add_scatter(
            x=rows["ts"],
            y=rows["sl"],
            mode="lines",
            name="simulated SL",
            legendgroup="sl",
            line={"color": "#1f77b4", "width": 1.4},
            showlegend=first,
            row=row,
            col=1,
        )
        target = art.projects[name].target
        assert target is not None
        fig.add_scatter(
            x=[rows["ts"].min(), rows["ts"].max()],
            y=[target.sl_target] * 2,
            mode="lines",
            name="target",
            legendgroup="target",
            showlegend=first,
            row=row,
            col=1,
            line={"color": "#d62728", "width": 1.2, "dash": "dash"},
        )
        fig.update_yaxes(title_text="SL", range=[0, 1.02], tickformat=".0%", row=row, col=1)
    return ReportSection(title, fig, None if has_ci else "The KPIs have no confidence bounds.")


_PAUSES = {"lunch": "#9e9e9e", "break": "#c7c7c7", "training": "#616161"}


def _gantt_section(art: PlanArtifacts) -> ReportSection:
    import plotly.graph_objects as go

    title = SECTION_TITLES[3]
    sched = art.schedule[art.schedule["activity"].astype(str) != "off"]
    if sched.empty:
        return ReportSection(title, None, "The schedule is empty.")
    agents = sorted(str(a) for a in sched["agent"].unique())
    start, end = _wall(sched["start"], art.tz), _wall(sched["end"], art.tz)
    activity = sched["activity"].astype(str)
    project = sched["project"].astype(object).where(sched["project"].notna(), "").astype(str)
    colors = {p: _PALETTE[i % len(_PALETTE)] for i, p in enumerate(art.projects)}
    groups = [(p, (activity == "work") & (project == p), colors[p]) for p in art.projects]
    groups += [(a, activity == a, c) for a, c in _PAUSES.items()]
    fig = go.Figure()
    for label, mask, color in groups:
        if not mask.any():
            continue
        s0, s1 = start[mask], end[mask]
        hover = [
            f"{a}: {label}<br>{x:%a %d %H:%M}–{y:%H:%M}"
            for a, x, y in zip(sched.loc[mask, "agent"].astype(str), s0, s1, strict=True)
        ]
        fig.add_bar(
            x=(s1 - s0).dt.total_seconds() * 1000.0,
            base=s0,
            y=sched.loc[mask, "agent"].astype(str),
            orientation="h",
            marker={"color": color, "line": {"width": 0}},
            name=label,
            hovertext=hover,
            hoverinfo="text",
        )
    fig.update_yaxes(categoryorder="array", categoryarray=agents, autorange="reversed")
    fig.update_xaxes(type="date")
    fig.update_layout(
        barmode="overlay",
        height=max(260, 18 * len(agents) + 120),
        template="plotly_white",
        title=f"{len(agents)} agents, local time ({art.tz})",
    )
    return ReportSection(title, fig)


def _margin_section(art: PlanArtifacts) -> ReportSection:
    import plotly.graph_objects as go

    title = SECTION_TITLES[4]
    if art.economics is None:
        return ReportSection(title, None, "No economics: section left out.")
    econ = art.economics
    margin = econ["margin_eur"].astype(float)
    fig = go.Figure(
        go.Bar(
            x=econ["project"].astype(str),
            y=margin,
            marker={"color": ["#2ca02c" if m >= 0 else "#d62728" for m in margin]},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (econ["margin_eur_hi"].astype(float) - margin).clip(lower=0.0),
                "arrayminus": (margin - econ["margin_eur_lo"].astype(float)).clip(lower=0.0),
            },
            name="margin",
        )
    )
    fig.update_layout(
        yaxis_title="margin (EUR), 95 % interval", template="plotly_white", height=380
    )
    return ReportSection(title, fig)


def report_figure(art: PlanArtifacts) -> ReportPage:
    """The planner's page of the week: one section per ``SECTION_TITLES`` entry (forecast vs
    actual with 80/95 % bands; required vs scheduled agents; simulated SL with its 95 % band
    against the target; the shifts as a Gantt chart; margin per project with its 95 %
    interval), in local time. Sections without their data carry a note instead."""
    last = art.week + dt.timedelta(days=6)
    return ReportPage(
        title=f"Plan {art.week.isoformat()} – {last.isoformat()} ({art.tz})",
        sections=(
            _forecast_section(art),
            _coverage_section(art),
            _sl_section(art),
            _gantt_section(art),
            _margin_section(art),
        ),
    )


def write_report_html(art: PlanArtifacts, path: Path) -> Path:
    """Write the planner's page (``report_figure``) as one self-contained HTML file (plotly.js
    embedded once), atomically."""
    return write_text_atomic(report_figure(art).to_html(), Path(path))


# --------------------------------------------------------------------------------------------
# the plan folder


def _plan_json(folder: Path) -> tuple[dt.date, str, int]:
    path = folder / "plan.json"
    if not path.is_file():
        raise InputError(
            f"{path}: no such file", field="plan.json", expected="a JSON file plan.json"
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"plan.json: cannot read it as JSON ({exc})",
            field="plan.json",
            expected="a JSON object with week, tz, interval_min",
        ) from exc
    if not isinstance(doc, dict):
        raise InputError("plan.json: not a JSON object", field="plan.json", expected="{...}")
    for key in ("week", "tz", "interval_min"):
        if key not in doc:
            raise InputError(
                f"plan.json: key {key!r} is missing",
                field=key,
                expected="keys week (ISO date), tz, interval_min",
            )
    try:
        week = dt.date.fromisoformat(str(doc["week"]))
    except ValueError as exc:
        raise InputError(
            f"plan.json, key 'week': {doc['week']!r} is not an ISO date",
            field="week",
            expected="an ISO date such as 2026-04-27",
        ) from exc
    tz = doc["tz"]
    if not isinstance(tz, str):
        raise InputError(
            f"plan.json, key 'tz': {tz!r} is not text", field="tz", expected="an IANA zone"
        )
    minutes = doc["interval_min"]
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes not in (15, 30, 60):
        raise InputError(
            f"plan.json, key 'interval_min': {minutes!r}",
            field="interval_min",
            expected="15, 30 or 60",
        )
    try:
        check_tz(tz)
    except InputError as exc:
        raise InputError(
            f"plan.json, key 'tz': {exc}", field="tz", expected="an IANA zone"
        ) from exc
    return week, tz, minutes


def _read_contract(
    folder: Path, name: str, schema: contracts.FrameSchema, tz: str, *, optional: bool = False
) -> pd.DataFrame | None:
    path = folder / name
    if optional and not path.exists():
        return None
    frame = contracts.read_frame_csv(path, replace(schema, name=name), tz=tz)
    return frame.reset_index(drop=True)


def _read_table(
    folder: Path,
    name: str,
    columns: Sequence[str],
    *,
    text: Sequence[str] = ("project",),
    flags: Sequence[str] = (),
    dates: Sequence[str] = (),
) -> pd.DataFrame | None:
    """An optional plain CSV: ``columns`` required, numbers in every column that is not
    ``text``, ``flags`` (True/False) or ``dates`` (ISO dates). Errors name file, line, column."""
    path = folder / name
    if not path.exists():
        return None
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig"
        )
    except pd.errors.EmptyDataError as exc:
        raise InputError(
            f"{name}: the file is empty", field=name, expected="a CSV file with a header"
        ) from exc
    except (OSError, UnicodeError, pd.errors.ParserError) as exc:
        raise InputError(
            f"{name}: cannot read it as CSV ({exc})", field=name, expected="a CSV file"
        ) from exc
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{name}: missing required column {missing[0]!r}; expected columns "
            + ", ".join(columns),
            field=missing[0],
            expected="columns " + ", ".join(columns),
        )
    lines = csv_record_lines(path, len(frame))

    def bad(pos: int, column: str, value: object, expected: str) -> InputError:
        return InputError(
            f"{name} line {lines[pos]}, column {column!r}: {value!r}; expected {expected}",
            field=column,
            row=lines[pos],
            expected=expected,
        )

    for column in columns:
        raw = frame[column]
        if column in text:
            empty = raw.isna().to_numpy()
            if empty.any():
                pos = int(np.argmax(empty))
                raise bad(pos, column, "", "a non-empty text")
            frame[column] = raw.astype(str)
        elif column in flags:
            mapped = raw.str.strip().str.lower().map({"true": True, "false": False})
            wrong = mapped.isna().to_numpy() & raw.notna().to_numpy()
            if wrong.any():
                pos = int(np.argmax(wrong))
                raise bad(pos, column, raw.iloc[pos], "True or False")
            frame[column] = mapped.astype("boolean")
        elif column in dates:
            parsed = []
            for pos, value in enumerate(raw):
                try:
                    parsed.append(dt.date.fromisoformat(str(value).strip()))
                except ValueError as exc:
                    raise bad(pos, column, value, "an ISO date such as 2026-04-27") from exc
            frame[column] = pd.Series(parsed, index=frame.index, dtype=object)
        else:
            numbers = pd.to_numeric(raw, errors="coerce")
            wrong = numbers.isna().to_numpy() & raw.notna().to_numpy()
            if wrong.any():
                pos = int(np.argmax(wrong))
                raise bad(pos, column, raw.iloc[pos], "a number (empty if undefined)")
            frame[column] = numbers.astype(float)
    return frame


def load_plan_dir(folder: Path, *, projects: Mapping[str, Project] | None = None) -> PlanArtifacts:
    """The ``PlanArtifacts`` of a plan folder (format in the module docstring). ``projects``
    defaults to the folder's ``projects.csv`` (``sitedata.load_projects``). A missing
    required file or a bad one raises ``InputError`` naming the file (and line and column)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(
            f"folder: {folder} is not a directory", field="folder", expected="a plan folder"
        )
    week, tz, minutes = _plan_json(folder)
    if projects is None:
        projects = load_projects(folder)
    demand = _read_contract(folder, "demand.csv", contracts.DEMAND, tz)
    requirements = _read_contract(folder, "requirements.csv", contracts.REQUIREMENTS, tz)
    schedule = _read_contract(folder, "schedule.csv", contracts.SCHEDULE, tz)
    assert demand is not None and requirements is not None and schedule is not None
    bool_columns = ("meets_target_at_lo", "meets_target_at_mean")
    frames = {
        "demand.csv": demand,
        "requirements.csv": requirements,
        "schedule.csv": schedule,
        "actual.csv": _read_contract(folder, "actual.csv", contracts.HISTORY, tz, optional=True),
        "kpis.csv": _read_contract(folder, "kpis.csv", contracts.KPIS, tz, optional=True),
        "kpi_daily.csv": _read_table(folder, "kpi_daily.csv", DAILY_KPI_COLUMNS, dates=("date",)),
        "kpi_summary.csv": _read_table(
            folder, "kpi_summary.csv", SUMMARY_COLUMNS, flags=bool_columns
        ),
        "economics.csv": _read_table(
            folder, "economics.csv", ECONOMICS_COLUMNS, text=("project", "billing")
        ),
    }
    for name, frame in frames.items():
        if frame is not None:
            _check_file_projects(folder / name, frame, projects)
    return PlanArtifacts(
        tz=tz,
        week=week,
        projects=projects,
        demand=demand,
        requirements=requirements,
        schedule=schedule,
        interval_min=minutes,
        actual=frames["actual.csv"],
        kpis=frames["kpis.csv"],
        kpi_daily=frames["kpi_daily.csv"],
        summary=frames["kpi_summary.csv"],
        economics=frames["economics.csv"],
    )


def _check_file_projects(path: Path, frame: pd.DataFrame, projects: Mapping[str, Project]) -> None:
    """Every (non-empty) project of a plan file is one of ``projects``: else an error naming
    the file and its line."""
    names = frame["project"]
    unknown = (names.notna() & ~names.astype(str).isin(list(projects))).to_numpy()
    if unknown.any():
        pos = int(np.argmax(unknown))
        line = csv_record_lines(path, len(frame))[pos]
        raise InputError(
            f"{path.name} line {line}, column 'project': {str(names.iloc[pos])!r} is not among "
            "the projects",
            field="project",
            row=line,
            expected="one of " + ", ".join(projects),
        )
