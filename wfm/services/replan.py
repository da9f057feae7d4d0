"""Nightly replanning (``wfm replan``): a site folder in, a checked and costed plan out.

``replan(engine, options)`` runs, on the database at ``engine``:

1. ``sync_site_folder``: a site folder (the format of ``data/samples``) goes into the
   database: everything into an empty one; otherwise projects and agents that are new or
   changed are saved and history rows newer than the stored ones are added as a new upload.
   One transaction. Stored agents missing from the folder are kept (and planned): removing
   people is a decision the batch does not take; it says so in ``SyncSummary.notes``.
2. the plan run of ``wfm.services.plans`` (forecast → requirements → schedule warm-started
   from the published schedules, pins kept → simulation → closing the loop → economics →
   stored draft), in the calling thread, with progress.
   The same inputs (request, stored data, published versions, pins) hash the same: when a
   done run has the hash, or the week's current published version was planned from the same
   inputs, that run is the answer and nothing is planned or stored again (``reused``).
   Queued or running runs of the same hash are left by a crashed batch: they are marked
   failed and the run starts clean (the results of a run are stored in one transaction, so
   a crash never leaves half a plan).
3. the verdict: every simulated project passes its target by ``pass_on`` (``lo``: the lower
   95 % bound of the week's SL; ``mean``: the mean). With ``publish_if_pass`` a passing
   plan's draft is published (idempotency key ``replan:<inputs hash>``, so a re-run does not
   publish twice).
4. with ``out``, the plan's files (``export_plan``), written to a temporary folder and
   swapped in whole: ``plan.json`` (run id, week, tz, inputs' hash, code and library
   versions, timings, status, verdict, loop rounds, schedule and economics summaries),
   ``demand.csv``, ``requirements.csv`` (as planned, raised by the loop if it ran),
   ``requirements_erlang.csv``, ``schedule.csv``, ``kpis.csv``, ``kpi_summary.csv``,
   ``economics.csv``, ``actual.csv`` (history inside the week, if any), the site's
   ``projects.csv`` (+ ``kpi_table.csv``, ``opening_hours.csv``), ``report.html`` and the
   client reports (``client_daily.csv`` …, ``client_reports.html``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from wfm import __version__, contracts
from wfm.db import repositories as repo
from wfm.db.tables import ProjectRow
from wfm.domain import Project
from wfm.errors import InputError, WfmError
from wfm.services._db import read_only, transaction
from wfm.services._files import iso_text, write_csv_atomic
from wfm.services.catalog import load_site_folder
from wfm.services.economics import ECONOMICS_COLUMNS
from wfm.services.plans import (
    PassOn,
    PlanProgress,
    PlanRequest,
    PlanRunner,
    PlanRunView,
    get_plan,
)
from wfm.services.reports import PlanArtifacts, write_client_reports, write_report_html
from wfm.services.schedules import Publication, publish_run
from wfm.services.simulation import SUMMARY_COLUMNS as SIM_SUMMARY
from wfm.services.sitedata import SiteData, load_site_data

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "SUMMARY_COLUMNS",
    "PlanFailedError",
    "ReplanOptions",
    "ReplanResult",
    "SyncSummary",
    "export_plan",
    "plan_artifacts",
    "replan",
    "sync_site_folder",
]

SUMMARY_COLUMNS: tuple[str, ...] = (
    "project",
    "sl_target",
    "erlang_sl",
    "sl",
    "sl_lo",
    "sl_hi",
    "passes",
    "agents",
    "required_h",
    "scheduled_h",
    "under_h",
    "revenue_eur",
    "cost_eur",
    "margin_eur",
    "margin_eur_lo",
    "margin_eur_hi",
)
"""Columns of ``ReplanResult.summary``: one row per planned project. ``agents`` = distinct
agents with work on it; ``passes`` is empty for projects without a service target."""

_SITE_FILES = ("projects.csv", "kpi_table.csv", "opening_hours.csv", "site.json")


class PlanFailedError(RuntimeError):
    """The plan run failed for a reason other than its input (its stored error says in
    which step and why); bad input found during the run raises its ``WfmError`` instead."""


@dataclass(frozen=True, slots=True)
class ReplanOptions:
    """What ``replan`` plans: the site folder ``data``, the Monday ``week``, where the files
    go (``out``, none by default), whether to publish a passing plan, the pass rule, the
    solver's limit per solve (the loop solves again up to ``loop_rounds`` times), the
    simulation's replications, the seed and solver workers (1 = deterministic), a pins
    file (schedule rows to keep exactly) and the forecasting model (``auto``: chosen per
    project by backtest)."""

    data: Path
    week: dt.date
    out: Path | None = None
    publish_if_pass: bool = False
    pass_on: PassOn = "lo"
    time_limit_s: float = 120.0
    loop_rounds: int = 2
    replications: int = 10
    seed: int = 0
    workers: int = 1
    pins: Path | None = None
    forecast_model: str = "auto"

    def request(self) -> PlanRequest:
        """The plan run's request (checks the values: ``InputError`` naming the field)."""
        return PlanRequest(
            week=self.week,
            forecast_model=self.forecast_model,
            time_limit_s=self.time_limit_s,
            workers=self.workers,
            seed=self.seed,
            replications=self.replications,
            warm_start=True,
            loop_rounds=self.loop_rounds,
            pass_on=self.pass_on,
        )


@dataclass(frozen=True, slots=True)
class SyncSummary:
    """What ``sync_site_folder`` stored."""

    seeded: bool
    projects_saved: int
    agents_saved: int
    history_rows: int
    tz: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReplanResult:
    """A nightly run: the stored plan run, whether it was ``reused`` (same inputs, nothing
    planned), the verdict (``passed``; the ``failing`` projects by the ``pass_on`` rule),
    the per-project ``summary`` (``SUMMARY_COLUMNS``), the publication (if one was made or
    replayed), the files written, the sync, and seconds per step."""

    run: PlanRunView
    reused: bool
    passed: bool
    failing: tuple[str, ...]
    pass_on: PassOn
    summary: pd.DataFrame
    sync: SyncSummary
    publication: Publication | None = None
    files: Mapping[str, Path] = field(default_factory=dict)
    timings_s: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def loop(self) -> list[dict[str, Any]]:
        """The closing loop's rounds as stored (Erlang vs simulated SL per project)."""
        result = self.run.result or {}
        rounds: list[dict[str, Any]] = result.get("loop", {}).get("rounds", [])
        return rounds


# --------------------------------------------------------------------------------------------
# the site folder into the database


def sync_site_folder(engine: sa.Engine, folder: Path, site: SiteData | None = None) -> SyncSummary:
    """Store site folder ``folder`` (see the module docstring), in one transaction."""
    folder = Path(folder)
    site = site or load_site_data(folder)
    tz = site.site.tz
    with read_only(engine) as s:
        empty = not repo.list_projects(s)
    if empty:
        seed = load_site_folder(engine, folder)
        return SyncSummary(
            seeded=True,
            projects_saved=seed.projects,
            agents_saved=seed.agents,
            history_rows=seed.history_rows,
            tz=tz,
        )
    history_path = folder / "history.csv"
    history = (
        contracts.read_frame_csv(history_path, contracts.HISTORY, tz=tz)
        if history_path.is_file()
        else None
    )
    notes: list[str] = []
    with transaction(engine) as s:
        stored_projects = {p.project: p for p in repo.list_projects(s)}
        changed_projects = [
            p for p in site.projects.values() if stored_projects.get(p.project) != _stored(p)
        ]
        repo.save_projects(s, projects=changed_projects)
        stored_agents = {a.agent: a for a in repo.list_agents(s)}
        changed_agents = [a for a in site.agents if stored_agents.get(a.agent) != a]
        repo.save_agents(s, agents=changed_agents)
        absent = sorted(set(stored_agents) - {a.agent for a in site.agents})
        if absent:
            notes.append(
                f"{len(absent)} stored agent(s) are not in {folder / 'agents.csv'} and are "
                f"still planned: {', '.join(absent[:5])}{' …' if len(absent) > 5 else ''}"
            )
        rows = 0
        if history is not None:
            for project, part in history.groupby("project", sort=True):
                name = str(project)
                if name not in site.projects:
                    raise InputError(
                        f"history.csv: project {name!r} is not in projects.csv",
                        field="project",
                        row=name,
                        expected="a project of projects.csv",
                    )
                stored = repo.history_frame(s, project=name)
                last = stored["ts"].max() if not stored.empty else None
                new = part if last is None else part[part["ts"] > last]
                if not new.empty:
                    repo.add_history_upload(
                        s,
                        project=name,
                        frame=new.reset_index(drop=True),
                        source=f"replan {history_path.name}",
                    )
                    rows += len(new)
    return SyncSummary(
        seeded=False,
        projects_saved=len(changed_projects),
        agents_saved=len(changed_agents),
        history_rows=rows,
        tz=tz,
        notes=tuple(notes),
    )


def _stored(project: Project) -> Project:
    """``project`` as the database gives it back (so equal projects compare equal)."""
    return ProjectRow.from_domain(project).to_domain()


# --------------------------------------------------------------------------------------------
# the run


def _read_pins(path: Path, tz: str) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"pin: {path} is not a file", field="pin", expected="a schedule CSV")
    frame = contracts.read_frame_csv(path, replace(contracts.SCHEDULE, name=path.name), tz=tz)
    return frame.reset_index(drop=True)


def replan(
    engine: sa.Engine,
    options: ReplanOptions,
    *,
    progress: PlanProgress | None = None,
    client: Client | None = None,
) -> ReplanResult:
    """Plan ``options.week`` from site folder ``options.data`` (see the module docstring).
    Bad input raises ``InputError`` before anything is stored; a plan run that fails raises
    ``PlanFailedError`` (stored: the run's failure only). ``client``: a Dask client for the
    run's per-project forecast and staffing tasks (None: serially)."""
    clock = time.perf_counter()
    request = options.request()
    data = Path(options.data)
    if not data.is_dir():
        raise InputError(f"data: {data} is not a folder", field="data", expected="a site folder")
    site = load_site_data(data)
    tz = site.site.tz
    pins = None if options.pins is None else _read_pins(Path(options.pins), tz)
    timings: dict[str, float] = {}
    sync = sync_site_folder(engine, data, site)
    timings["sync"] = time.perf_counter() - clock

    runner = PlanRunner(engine, tz=tz, client=client)
    inputs_hash = runner.inputs_hash(request, pins=pins)
    view = runner.find_done(inputs_hash) or runner.published_from_same_inputs(request, pins=pins)
    reused = view is not None
    if view is None:
        runner.fail_unfinished(inputs_hash)
        created = runner.create(request, pins=pins)
        view = runner.run(created.run_id, request, pins=pins, progress=progress)
        if view.status.value != "done":
            if isinstance(runner.last_error, WfmError):
                raise runner.last_error
            raise PlanFailedError(f"plan run {view.run_id} failed: {view.error}")
    if not reused:  # a reused run's own timings are in its plan.json
        timings.update({f"plan: {k}": v for k, v in view.timings_s.items()})
    result = view.result or {}
    verdict = result.get("verdict", {})
    failing = tuple(str(p) for p in verdict.get("failing", []))
    publication: Publication | None = None
    if options.publish_if_pass and not failing:
        t = time.perf_counter()
        publication = publish_run(
            engine, run_id=view.run_id, idempotency_key=f"replan:{view.inputs_hash}"
        )
        timings["publish"] = time.perf_counter() - t
    files: dict[str, Path] = {}
    if options.out is not None:
        t = time.perf_counter()
        files = export_plan(engine, view.run_id, Path(options.out), tz=tz, site_folder=data)
        timings["files"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - clock
    return ReplanResult(
        run=view,
        reused=reused,
        passed=not failing,
        failing=failing,
        pass_on=options.pass_on,
        summary=plan_summary(engine, view),
        sync=sync,
        publication=publication,
        files=files,
        timings_s=timings,
        notes=sync.notes,
    )


# --------------------------------------------------------------------------------------------
# reading a stored plan back


def _frame(records: Any, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(list(records or []))
    if columns is not None and frame.empty:
        return pd.DataFrame(columns=list(columns))
    return frame


def plan_artifacts(engine: sa.Engine, run_id: int, *, tz: str | None = None) -> PlanArtifacts:
    """The frames of done plan run ``run_id`` as stored (``InputError`` if it is not done):
    forecast, planned requirements, draft schedule, simulated KPIs and their summary,
    economics, projects, and the history stored inside the week (the actuals, if any)."""
    view = get_plan(engine, run_id=run_id)
    if view.status.value != "done" or view.result is None:
        raise InputError(
            f"plan: run {run_id} is {view.status.value}, not done",
            field="plan",
            expected="a done plan run",
        )
    result = view.result
    tz = tz or str(result.get("tz") or "UTC")
    start = pd.Timestamp(dt.datetime.combine(view.week, dt.time()), tz=tz)
    end = pd.Timestamp(dt.datetime.combine(view.week + dt.timedelta(days=7), dt.time()), tz=tz)
    with read_only(engine) as s:
        projects = {p.project: p for p in repo.list_projects(s)}
        demand = repo.forecast_frame(s, forecast_id=int(result["forecast"]["id"]))
        requirements = repo.requirements_frame(
            s, requirement_set_id=int(result["requirements"]["id"])
        )
        schedule = repo.schedule_frame(s, schedule_id=int(result["schedule"]["id"]))
        kpi_id = result["kpis"].get("id")
        kpis = None if kpi_id is None else repo.kpis_frame(s, kpi_set_id=int(kpi_id))
        planned = sorted({str(p) for p in demand["project"].unique()})
        actual = pd.concat(
            [
                repo.history_frame(s, project=p, from_ts=start.to_pydatetime(), to_ts=end)
                for p in planned
            ],
            ignore_index=True,
        )
    for frame in (demand, requirements, kpis, actual):
        if frame is not None and not frame.empty:
            frame["ts"] = frame["ts"].dt.tz_convert(tz)
    for column in ("start", "end"):
        schedule[column] = schedule[column].dt.tz_convert(tz)
    summary = _frame(result["kpis"].get("by_project"), SIM_SUMMARY) if kpis is not None else None
    daily_rows = result["kpis"].get("daily") or []
    kpi_daily = None
    if daily_rows:
        kpi_daily = pd.DataFrame(daily_rows)
        kpi_daily["date"] = [dt.date.fromisoformat(str(d)) for d in kpi_daily["date"]]
    economics_rows = result.get("economics", {}).get("by_project") or []
    economics = _frame(economics_rows, ECONOMICS_COLUMNS) if economics_rows else None
    return PlanArtifacts(
        tz=tz,
        week=view.week,
        projects=projects,
        demand=demand,
        actual=actual if not actual.empty else None,
        requirements=requirements,
        schedule=schedule,
        kpis=kpis,
        kpi_daily=kpi_daily,
        summary=summary,
        economics=economics,
        interval_min=_interval_min(requirements),
    )


def _interval_min(frame: pd.DataFrame) -> int:
    ts = pd.DatetimeIndex(frame["ts"]).sort_values().unique()
    if len(ts) < 2:
        return 15
    return int(pd.Series(ts).diff().dropna().min().total_seconds() // 60)


def plan_summary(
    engine: sa.Engine, view: PlanRunView, schedule: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per planned project (``SUMMARY_COLUMNS``) from a done run's stored result
    (``schedule``: its draft schedule, read from the database when not given)."""
    result = view.result or {}
    rounds = result.get("loop", {}).get("rounds", [])
    kept = result.get("loop", {}).get("kept_round", 0)
    erlang = {
        r["project"]: r.get("erlang_sl") for r in (rounds[kept]["by_project"] if rounds else [])
    }
    failing = set(result.get("verdict", {}).get("failing", []))
    sim = {r["project"]: r for r in result.get("kpis", {}).get("by_project", [])}
    money = {r["project"]: r for r in result.get("economics", {}).get("by_project", [])}
    coverage = {r["project"]: r for r in result.get("schedule", {}).get("coverage", [])}
    if schedule is None:
        with read_only(engine) as s:
            schedule = repo.schedule_frame(s, schedule_id=int(result["schedule"]["id"]))
    work = schedule[schedule["activity"].astype(str) == "work"]
    agents = work.groupby("project")["agent"].nunique().to_dict()
    projects = sorted({*coverage, *sim, *money})
    rows = []
    for p in projects:
        k, m, c = sim.get(p, {}), money.get(p, {}), coverage.get(p, {})
        has_target = p in sim
        rows.append(
            {
                "project": p,
                "sl_target": k.get("sl_target", np.nan),
                "erlang_sl": erlang.get(p, np.nan),
                "sl": k.get("sl", np.nan),
                "sl_lo": k.get("sl_lo", np.nan),
                "sl_hi": k.get("sl_hi", np.nan),
                "passes": (p not in failing) if has_target else None,
                "agents": int(agents.get(p, 0)),
                "required_h": c.get("required_h", np.nan),
                "scheduled_h": c.get("scheduled_h", np.nan),
                "under_h": c.get("under_h", np.nan),
                "revenue_eur": m.get("revenue_eur", np.nan),
                "cost_eur": m.get("cost_eur", np.nan),
                "margin_eur": m.get("margin_eur", np.nan),
                "margin_eur_lo": m.get("margin_eur_lo", np.nan),
                "margin_eur_hi": m.get("margin_eur_hi", np.nan),
            }
        )
    frame = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    for column in SUMMARY_COLUMNS:
        if column not in ("project", "passes", "agents"):
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(np.float64)
    return frame


# --------------------------------------------------------------------------------------------
# files


def _versions() -> dict[str, str]:
    out = {"wfm": __version__, "python": platform.python_version()}
    for dist in ("ortools", "pandas", "numpy", "statsmodels", "numba", "scipy", "sqlmodel"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _csv(frame: pd.DataFrame, path: Path) -> Path:
    out = frame.copy()
    for column in ("ts", "start", "end"):
        if column in out.columns and isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = iso_text(out[column])
    return write_csv_atomic(out, path)


def export_plan(
    engine: sa.Engine, run_id: int, folder: Path, *, tz: str, site_folder: Path | None = None
) -> dict[str, Path]:
    """Write done plan run ``run_id`` 's files to ``folder`` (see the module docstring): all
    of them into a temporary folder beside it, then swapped in for the old one, so a crash
    leaves either the old folder or the new one. Returns the files by name."""
    folder = Path(folder)
    view = get_plan(engine, run_id=run_id)
    art = plan_artifacts(engine, run_id, tz=tz)
    result = view.result or {}
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
    except OSError as exc:
        raise InputError(
            f"out: cannot write {folder} ({exc.strerror or exc})",
            field="out",
            expected="a writable folder",
        ) from exc
    try:
        _csv(art.demand, tmp / "demand.csv")
        _csv(art.requirements, tmp / "requirements.csv")
        with read_only(engine) as s:
            erlang_id = result["requirements"].get("erlang_id") or result["requirements"]["id"]
            erlang = repo.requirements_frame(s, requirement_set_id=int(erlang_id))
        erlang["ts"] = erlang["ts"].dt.tz_convert(tz)
        _csv(erlang, tmp / "requirements_erlang.csv")
        _csv(art.schedule, tmp / "schedule.csv")
        if art.kpis is not None:
            _csv(art.kpis, tmp / "kpis.csv")
        if art.summary is not None:
            _csv(art.summary, tmp / "kpi_summary.csv")
        if art.kpi_daily is not None:
            _csv(art.kpi_daily, tmp / "kpi_daily.csv")
        if art.economics is not None:
            _csv(art.economics, tmp / "economics.csv")
        if art.actual is not None:
            _csv(art.actual, tmp / "actual.csv")
        _csv(plan_summary(engine, view, art.schedule), tmp / "summary.csv")
        if site_folder is not None:
            for name in _SITE_FILES:
                if (Path(site_folder) / name).is_file():
                    shutil.copyfile(Path(site_folder) / name, tmp / name)
        write_client_reports(art, tmp)
        write_report_html(art, tmp / "report.html")
        plan = {
            "run_id": view.run_id,
            "week": view.week.isoformat(),
            "tz": tz,
            "interval_min": art.interval_min,
            "status": view.status.value,
            "inputs_hash": view.inputs_hash,
            "code_version": view.code_version,
            "versions": _versions(),
            "created_at": view.created_at.isoformat(),
            "request": dict(view.request or {}),
            "timings_s": dict(view.timings_s),
            "verdict": result.get("verdict"),
            "loop": result.get("loop"),
            "schedule": {k: v for k, v in result.get("schedule", {}).items() if k != "coverage"},
            "economics_totals": result.get("economics", {}).get("totals"),
            "notes": result.get("kpis", {}).get("notes", []),
        }
        (tmp / "plan.json").write_text(json.dumps(plan, indent=2, sort_keys=True) + "\n")
        old: Path | None = None
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
            os.replace(folder, old)
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {p.name: p for p in sorted(folder.iterdir()) if p.is_file()}
