"""Plan runs: forecast → requirements → schedule → simulate for a week, in the background.

``PlanRunner.submit`` checks the request against the stored data (cheap checks only: the
week, the projects, their history, their agents), records a queued ``plan_run`` row (the
request, a hash of its inputs, the code version) and hands the run to a worker thread. The
worker runs the existing services one step after the other on the stored data:

1. ``load``: projects, agents and the history of the planned projects;
2. ``forecast``: ``wfm.services.forecasting.forecast`` over the days after the history,
   kept for the planned days of the week;
3. ``requirements``: ``wfm.services.staffing.whatif`` (each project's contract targets);
4. ``schedule``: ``wfm.services.scheduling.schedule_plan`` (CP-SAT, ``time_limit_s``);
5. ``simulate``: ``wfm.services.simulation.simulate_plan`` (seeded replications, 95 % CIs);
6. ``store``: the forecast, requirements, draft schedule and KPIs, with the run's result.

Each step's start and duration go to the run's row (``step``, ``progress``, ``timings_s``)
in a short transaction of their own. The results are written in one transaction together
with the status ``done``: a run that fails anywhere stores none of them, only its status
``failed`` and the error. A run interrupted by a stopped server is marked failed when the
next one starts (``fail_interrupted_runs``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, col, select

from wfm import __version__, contracts
from wfm.db import repositories as repo
from wfm.db.tables import (
    AgentRow,
    HistoryRow,
    HistoryUpload,
    PlanRun,
    ProjectRow,
    RequirementSet,
    RunStatus,
    ScheduleStatus,
    ScheduleVersion,
    utc_now,
)
from wfm.domain import Agent, Project, ProjectKind
from wfm.errors import InputError, WfmError
from wfm.grid import check_tz
from wfm.services._db import read_only, transaction
from wfm.services.forecasting import check_model, forecast
from wfm.services.scheduling import ScheduleRun, SolveParams, schedule_plan
from wfm.services.simulation import SimProjects, SimulationReport, simulate_plan
from wfm.services.staffing import Scenario, whatif
from wfm.sim import SimProject

__all__ = [
    "MAX_HORIZON_DAYS",
    "STEPS",
    "PlanRequest",
    "PlanRunView",
    "PlanRunner",
    "StepState",
    "StepView",
    "fail_interrupted_runs",
    "get_plan",
    "json_records",
    "plan_rows",
]

log = logging.getLogger(__name__)

STEPS: tuple[str, ...] = ("load", "forecast", "requirements", "schedule", "simulate", "store")
"""The steps of a plan run, in order."""

_PROGRESS = {
    "load": 0.0,
    "forecast": 0.05,
    "requirements": 0.25,
    "schedule": 0.3,
    "simulate": 0.8,
    "store": 0.95,
}

MAX_HORIZON_DAYS = 63
"""How far after the history's last day a planned week may end."""

MAX_TIME_LIMIT_S = 3600.0
INTERRUPTED = "interrupted: the server stopped before the run ended; start a new run"


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """What to plan: the ``days`` first days of the week starting on the Monday ``week``,
    for ``projects`` (default: every stored project with history); the forecasting model;
    the scheduler's limits (``time_limit_s`` for the whole solve, ``workers``, ``seed``); and
    the simulation's ``replications`` (seeded with ``seed``)."""

    week: dt.date
    days: int = 7
    projects: tuple[str, ...] | None = None
    forecast_model: str = "auto"
    time_limit_s: float = 60.0
    workers: int = 1
    seed: int = 0
    replications: int = 10

    def __post_init__(self) -> None:
        if not isinstance(self.week, dt.date) or isinstance(self.week, dt.datetime):
            raise InputError(f"week: {self.week!r} is not a date", field="week", expected="a date")
        if self.week.isoweekday() != 1:
            raise InputError(
                f"week: {self.week} is a {self.week:%A}, not a Monday",
                field="week",
                expected="the Monday the week starts on",
            )
        if not 1 <= self.days <= 7:
            raise InputError(f"days: {self.days} is outside 1..7", field="days", expected="1..7")
        if self.projects is not None and not self.projects:
            raise InputError(
                "projects: empty", field="projects", expected="project ids, or none for all"
            )
        check_model(self.forecast_model)
        if not (math.isfinite(self.time_limit_s) and 0 < self.time_limit_s <= MAX_TIME_LIMIT_S):
            raise InputError(
                f"time_limit_s: {self.time_limit_s} is outside (0, {MAX_TIME_LIMIT_S:g}]",
                field="time_limit_s",
                expected=f"seconds in (0, {MAX_TIME_LIMIT_S:g}]",
            )
        if not 1 <= self.workers <= 16:
            raise InputError(
                f"workers: {self.workers} is outside 1..16", field="workers", expected="1..16"
            )
        if self.seed < 0:
            raise InputError(f"seed: {self.seed} is negative", field="seed", expected=">= 0")
        if not 2 <= self.replications <= 200:
            raise InputError(
                f"replications: {self.replications} is outside 2..200",
                field="replications",
                expected="2..200 (two at least, for a confidence interval)",
            )

    def as_json(self) -> dict[str, Any]:
        """The request as JSON-ready values."""
        out = asdict(self)
        out["week"] = self.week.isoformat()
        out["projects"] = None if self.projects is None else list(self.projects)
        return out


StepState = Literal["pending", "running", "done", "failed"]


@dataclass(frozen=True, slots=True)
class StepView:
    """One step of a run: ``pending``, ``running``, ``done`` or ``failed``, and its seconds."""

    name: str
    state: StepState
    seconds: float | None


@dataclass(frozen=True)
class PlanRunView:
    """A plan run as stored: status, current step and progress (0 … 1), the error of a
    failed run, each step's state and seconds, the request, and when done the ``result``
    summary (ids of the stored forecast, requirement set, draft schedule and KPI set; the
    solver's status, objective, bound and penalties; coverage; KPIs per project with their
    95 % intervals)."""

    run_id: int
    week: dt.date
    status: RunStatus
    step: str
    progress: float
    error: str | None
    inputs_hash: str
    code_version: str
    created_at: dt.datetime
    updated_at: dt.datetime
    steps: tuple[StepView, ...]
    request: Mapping[str, Any] | None = None
    result: Mapping[str, Any] | None = None
    timings_s: Mapping[str, float] = field(default_factory=dict)


def _view(run: PlanRun) -> PlanRunView:
    assert run.id is not None
    status = RunStatus(run.status)
    steps: list[StepView] = []
    for name in STEPS:
        seconds = run.timings_s.get(name)
        state: StepState
        if seconds is not None:
            state = "done"
        elif run.step == name and status is RunStatus.RUNNING:
            state = "running"
        elif run.step == name and status is RunStatus.FAILED:
            state = "failed"
        else:
            state = "pending"
        steps.append(StepView(name=name, state=state, seconds=seconds))
    return PlanRunView(
        run_id=run.id,
        week=run.week,
        status=status,
        step=run.step,
        progress=run.progress,
        error=run.error,
        inputs_hash=run.inputs_hash,
        code_version=run.code_version,
        created_at=run.created_at,
        updated_at=run.updated_at,
        steps=tuple(steps),
        request=run.request,
        result=run.result,
        timings_s=dict(run.timings_s),
    )


def get_plan(engine: sa.Engine, *, run_id: int) -> PlanRunView:
    """Plan run ``run_id`` (``NotFoundError`` if there is none)."""
    with read_only(engine) as s:
        return _view(repo.get_plan_run(s, run_id=run_id))


def plan_rows(engine: sa.Engine, *, run_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The requirements frame and the draft schedule frame a done run stored (empty frames
    while it is not done)."""
    with read_only(engine) as s:
        repo.get_plan_run(s, run_id=run_id)
        draft_id = s.exec(
            select(sa.func.max(col(ScheduleVersion.id))).where(
                ScheduleVersion.plan_run_id == run_id,
                ScheduleVersion.status == ScheduleStatus.DRAFT,
            )
        ).one()
        set_id = s.exec(
            select(sa.func.max(col(RequirementSet.id))).where(RequirementSet.plan_run_id == run_id)
        ).one()
        requirements = (
            repo.requirements_frame(s, requirement_set_id=set_id)
            if set_id is not None
            else pd.DataFrame(columns=[c.name for c in contracts.REQUIREMENTS.columns])
        )
        schedule = (
            repo.schedule_frame(s, schedule_id=draft_id)
            if draft_id is not None
            else pd.DataFrame(columns=[c.name for c in contracts.SCHEDULE.columns])
        )
    return requirements, schedule


def fail_interrupted_runs(engine: sa.Engine) -> int:
    """Mark every queued or running plan run failed (call it when no worker runs, i.e. at
    start-up: those runs died with the process that ran them). How many were marked."""
    with transaction(engine) as s:
        runs = s.exec(
            select(PlanRun).where(col(PlanRun.status).in_([RunStatus.QUEUED, RunStatus.RUNNING]))
        ).all()
        for run in runs:
            run.status = RunStatus.FAILED
            run.error = INTERRUPTED
            run.updated_at = utc_now()
            s.add(run)
        return len(runs)


# --------------------------------------------------------------------------------------------
# checks at submission


@dataclass(frozen=True)
class _Scope:
    """What a run plans: the projects (with history), their agents, the forecast horizon."""

    projects: tuple[str, ...]
    horizon_days: int
    inputs_hash: str


def _digest(parts: Sequence[object]) -> str:
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _scope(s: Session, request: PlanRequest, tz: str) -> _Scope:
    stored = {row.project: row for row in s.exec(select(ProjectRow)).all()}
    if request.projects is not None:
        unknown = [p for p in request.projects if p not in stored]
        if unknown:
            raise InputError(
                f"projects: {unknown[0]!r} is not a stored project",
                field="projects",
                expected="ids of stored projects: " + ", ".join(sorted(stored)),
            )
        if len(set(request.projects)) != len(request.projects):
            raise InputError(
                "projects: a project is listed twice", field="projects", expected="distinct ids"
            )
    wanted = sorted(request.projects or stored)
    spans = dict(
        s.exec(
            select(HistoryRow.project, sa.func.max(HistoryRow.ts))
            .where(col(HistoryRow.project).in_(wanted))
            .group_by(col(HistoryRow.project))
        ).all()
    )
    with_history = [p for p in wanted if spans.get(p) is not None]
    if not with_history:
        raise InputError(
            "projects: no history is stored for " + ", ".join(wanted),
            field="projects",
            expected="projects with history (POST /history/{project})",
        )
    if request.projects is not None and len(with_history) < len(wanted):
        missing = sorted(set(wanted) - set(with_history))
        raise InputError(
            f"projects: no history is stored for {missing[0]!r}",
            field="projects",
            expected="projects with history (POST /history/{project})",
        )
    last = max(pd.Timestamp(spans[p]).tz_convert(tz).date() for p in with_history)
    if request.week <= last:
        raise InputError(
            f"week: {request.week} is not after the stored history, which runs to {last}",
            field="week",
            expected=f"a Monday after {last}",
        )
    end = request.week + dt.timedelta(days=request.days - 1)
    horizon = (end - last).days
    if horizon > MAX_HORIZON_DAYS:
        raise InputError(
            f"week: the planned days end {horizon} days after the history's last day {last}",
            field="week",
            expected=f"a week ending at most {MAX_HORIZON_DAYS} days after the history",
        )
    agents = repo.list_agents(s)
    for project in with_history:
        if not any(project in a.projects for a in agents):
            raise InputError(
                f"projects: no stored agent holds project {project!r}",
                field="projects",
                expected="projects at least one agent has as a skill",
            )
    uploads = s.exec(
        select(HistoryUpload.id, HistoryUpload.project, HistoryUpload.n_rows)
        .where(col(HistoryUpload.project).in_(with_history))
        .order_by(col(HistoryUpload.id))
    ).all()
    parts: list[object] = [
        request.as_json(),
        tz,
        [ProjectRow.model_dump(row, mode="json") for _, row in sorted(stored.items())],
        [AgentRow.from_domain(a)[0].model_dump(mode="json") for a in agents],
        [[a.agent, list(a.projects)] for a in agents],
        [list(u) for u in uploads],
    ]
    return _Scope(projects=tuple(with_history), horizon_days=horizon, inputs_hash=_digest(parts))


# --------------------------------------------------------------------------------------------
# the steps


def _finite(value: object) -> object:
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return _finite(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA:
        return None
    return value


def json_records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """A frame's rows as JSON-ready dicts (NaN → None, timestamps ISO 8601)."""
    return [{str(k): _finite(v) for k, v in rec.items()} for rec in frame.to_dict(orient="records")]


@dataclass
class _Work:
    """What the steps hand on."""

    projects: dict[str, Project] = field(default_factory=dict)
    agents: list[Agent] = field(default_factory=list)
    history: pd.DataFrame | None = None
    demand: pd.DataFrame | None = None
    forecast_model: str = ""
    chosen: dict[str, str] = field(default_factory=dict)
    requirements: pd.DataFrame | None = None
    schedule: ScheduleRun | None = None
    simulation: SimulationReport | None = None
    notes: list[str] = field(default_factory=list)


def _span(week: dt.date, days: int, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(dt.datetime.combine(week, dt.time()), tz=tz)
    end = pd.Timestamp(dt.datetime.combine(week + dt.timedelta(days=days), dt.time()), tz=tz)
    return start, end


class PlanRunner:
    """Runs plans in the background, one at a time, on ``engine``'s data in zone ``tz``.

    ``submit`` records the run and queues it; a daemon worker thread runs the queue (a run
    still going when the process ends is marked failed by ``fail_interrupted_runs`` at the
    next start). ``run`` runs a recorded run in the calling thread."""

    def __init__(self, engine: sa.Engine, *, tz: str) -> None:
        check_tz(tz)
        self.engine = engine
        self.tz = tz
        self._queue: queue.Queue[tuple[int, PlanRequest, _Scope] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ public

    def submit(self, request: PlanRequest) -> PlanRunView:
        """Check ``request`` against the stored data (``InputError`` naming the field),
        record a queued run and start it in the background."""
        with transaction(self.engine) as s:
            scope = _scope(s, request, self.tz)
            run = repo.create_plan_run(
                s,
                week=request.week,
                inputs_hash=scope.inputs_hash,
                code_version=f"wfm {__version__}",
            )
            run.request = request.as_json()
            s.add(run)
            s.flush()
            view = _view(run)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="wfm-plan-runner", daemon=True
                )
                self._thread.start()
            self._queue.put((view.run_id, request, scope))
        return view

    def shutdown(self, *, timeout_s: float = 120.0) -> None:
        """Let the worker finish the queued runs (up to ``timeout_s``), then stop it."""
        with self._lock:
            thread = self._thread
            if thread is None:
                return
            self._queue.put(None)
        thread.join(timeout=timeout_s)

    def run(self, run_id: int, request: PlanRequest) -> PlanRunView:
        """Run recorded run ``run_id`` now, in this thread; the stored run when it ended."""
        with read_only(self.engine) as s:
            scope = _scope(s, request, self.tz)
        self._execute(run_id, request, scope)
        return get_plan(self.engine, run_id=run_id)

    # ------------------------------------------------------------------ worker

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            self._execute(*item)

    def _mark(self, run_id: int, **changes: Any) -> None:
        with transaction(self.engine) as s:
            repo.update_plan_run(s, run_id=run_id, **changes)

    def _execute(self, run_id: int, request: PlanRequest, scope: _Scope) -> None:
        work = _Work()
        steps = {
            "load": self._load,
            "forecast": self._forecast,
            "requirements": self._requirements,
            "schedule": self._schedule,
            "simulate": self._simulate,
        }
        name = "load"
        try:
            for name, step in steps.items():
                self._mark(run_id, status=RunStatus.RUNNING, step=name, progress=_PROGRESS[name])
                clock = time.perf_counter()
                step(work, request, scope)
                self._mark(run_id, timings_s={name: time.perf_counter() - clock})
            name = "store"
            self._mark(run_id, step=name, progress=_PROGRESS[name])
            self._store(run_id, work, request)
        except Exception as exc:  # the run fails, the worker goes on with the next one
            if isinstance(exc, WfmError):
                message = f"{name}: {exc}"
            else:
                log.exception("plan run %s failed in step %s", run_id, name)
                message = f"{name}: {type(exc).__name__}: {exc}"
            try:
                self._mark(run_id, status=RunStatus.FAILED, step=name, error=message)
            except Exception:  # e.g. the database went away: the next start marks it
                log.exception("plan run %s: could not record its failure", run_id)

    def _load(self, work: _Work, request: PlanRequest, scope: _Scope) -> None:
        with read_only(self.engine) as s:
            work.projects = {p.project: p for p in repo.list_projects(s)}
            work.agents = [
                a for a in repo.list_agents(s) if any(p in scope.projects for p in a.projects)
            ]
            parts = [repo.history_frame(s, project=p) for p in scope.projects]
        work.history = pd.concat(parts, ignore_index=True)

    def _forecast(self, work: _Work, request: PlanRequest, scope: _Scope) -> None:
        assert work.history is not None
        result = forecast(
            work.history,
            tz=self.tz,
            model=request.forecast_model,
            horizon_days=scope.horizon_days,
        )
        start, end = _span(request.week, request.days, self.tz)
        demand = result.demand
        demand = demand[(demand["ts"] >= start) & (demand["ts"] < end)].reset_index(drop=True)
        if demand.empty:
            raise InputError(
                f"week: the forecast has no open interval on the planned days from "
                f"{request.week} (are the projects closed then?)",
                field="week",
                expected="days on which a planned project opens",
            )
        work.demand = demand
        work.forecast_model = result.model
        work.chosen = dict(result.chosen)

    def _requirements(self, work: _Work, request: PlanRequest, scope: _Scope) -> None:
        assert work.demand is not None
        demand = work.demand[["project", "ts", "calls", "aht_s"]]
        planned = {str(p) for p in demand["project"].unique()}
        result = whatif(
            demand,
            {p: work.projects[p] for p in planned},
            tz=self.tz,
            scenario=Scenario(),
        )
        columns = [c.name for c in contracts.REQUIREMENTS.columns]
        work.requirements = result.scenario_requirements[columns].reset_index(drop=True)

    def _schedule(self, work: _Work, request: PlanRequest, scope: _Scope) -> None:
        assert work.requirements is not None
        work.schedule = schedule_plan(
            work.requirements,
            work.agents,
            tz=self.tz,
            week=request.week,
            projects=work.projects,
            params=SolveParams(
                time_limit_s=request.time_limit_s, workers=request.workers, seed=request.seed
            ),
        )

    def _simulate(self, work: _Work, request: PlanRequest, scope: _Scope) -> None:
        assert work.demand is not None and work.schedule is not None
        planned = {str(p) for p in work.demand["project"].unique()}
        simulated: dict[str, SimProject] = {}
        skipped: dict[str, str] = {}
        concurrency: dict[str, int] = {}
        for name, project in work.projects.items():
            if name not in planned:
                skipped[name] = "not planned in this run"
            elif project.target is None or project.kind is ProjectKind.OUTBOUND:
                skipped[name] = "an outbound campaign"
            else:
                simulated[name] = SimProject(
                    project=name,
                    answer_within_s=project.target.answer_within_s,
                    patience_s=project.patience_s,
                    sl_target=project.target.sl_target,
                )
                if project.concurrency > 1:
                    concurrency[name] = project.concurrency
        if not simulated:
            work.notes.append("simulate: no inbound or chat project planned; nothing simulated")
            return
        demand = work.demand[work.demand["project"].isin(list(simulated))]
        work.simulation = simulate_plan(
            demand[["project", "ts", "calls", "aht_s"]].reset_index(drop=True),
            work.schedule.schedule,
            {a.agent: a.projects for a in work.agents},
            SimProjects(projects=simulated, skipped=skipped, concurrency=concurrency),
            tz=self.tz,
            replications=request.replications,
            seed=request.seed,
        )

    def _store(self, run_id: int, work: _Work, request: PlanRequest) -> None:
        assert work.demand is not None and work.requirements is not None
        assert work.schedule is not None
        clock = time.perf_counter()
        run_schedule, sim = work.schedule, work.simulation
        with transaction(self.engine) as s:
            saved_forecast = repo.save_forecast(
                s, frame=work.demand, model=work.forecast_model, plan_run_id=run_id
            )
            saved_req = repo.save_requirements(
                s, frame=work.requirements, forecast_id=saved_forecast.id, plan_run_id=run_id
            )
            draft = repo.save_schedule_draft(
                s, week=request.week, frame=run_schedule.schedule, plan_run_id=run_id
            )
            kpi_set_id: int | None = None
            if sim is not None:
                kpi_set_id = repo.save_kpis(
                    s, frame=sim.kpis, schedule_id=draft.id, plan_run_id=run_id
                ).id
            result = self._result(work, saved_forecast.id, saved_req.id, draft.id, kpi_set_id)
            run = repo.update_plan_run(
                s,
                run_id=run_id,
                status=RunStatus.DONE,
                progress=1.0,
                step="done",
                timings_s={"store": time.perf_counter() - clock},
            )
            run.result = result
            s.add(run)
            s.flush()

    def _result(
        self,
        work: _Work,
        forecast_id: int | None,
        requirement_set_id: int | None,
        schedule_id: int | None,
        kpi_set_id: int | None,
    ) -> dict[str, Any]:
        assert work.requirements is not None and work.schedule is not None
        req = work.requirements
        hours = (
            req.assign(agent_hours=req["agents"] * _interval_h(req))
            .groupby("project", sort=True)
            .agg(
                intervals=("ts", "size"),
                agent_hours=("agent_hours", "sum"),
                peak_agents=("agents", "max"),
            )
            .reset_index()
        )
        run, sol = work.schedule, work.schedule.solution
        schedule = {
            "id": schedule_id,
            "status": sol.status,
            "objective": _finite(sol.objective),
            "bound": _finite(sol.bound),
            "gap": _finite(sol.gap),
            "under_h": _finite(sol.under_h),
            "over_h": _finite(sol.over_h),
            "wall_s": _finite(sol.wall_s),
            "shifts": run.shifts,
            "segments": len(run.schedule),
            "valid": run.validation.ok,
            "violations": run.validation.by_rule(),
            "penalties": [
                {
                    "name": p.name,
                    "value": _finite(p.value),
                    "unit": p.unit,
                    "weight": _finite(p.weight),
                    "cost": _finite(p.cost),
                }
                for p in sol.penalties
            ],
            "coverage": json_records(run.coverage),
            "notes": [*sol.notes, *run.notes],
        }
        sim = work.simulation
        kpis: dict[str, Any] = {"id": kpi_set_id, "by_project": [], "notes": list(work.notes)}
        if sim is not None:
            kpis.update(
                replications=sim.replications,
                seed=sim.seed,
                by_project=json_records(sim.summary),
                notes=[*sim.notes, *work.notes],
            )
        return {
            "forecast": {"id": forecast_id, "model": work.forecast_model, "chosen": work.chosen},
            "requirements": {"id": requirement_set_id, "by_project": json_records(hours)},
            "schedule": schedule,
            "kpis": kpis,
        }


def _interval_h(req: pd.DataFrame) -> float:
    ts = pd.DatetimeIndex(req["ts"]).sort_values().unique()
    if len(ts) < 2:
        return 0.25
    step = pd.Series(ts).diff().dropna().min()
    return float(step.total_seconds()) / 3600.0
