"""Plan runs: forecast → requirements → schedule → simulate for a week, in the background.

``PlanRunner.submit`` checks the request against the stored data (cheap checks only: the
week, the projects, their history, their agents), records a queued ``plan_run`` row (the
request, a hash of its inputs, the code version) and hands the run to a worker thread. The
worker runs the existing services one step after the other on the stored data:

1. ``load``: projects, agents and the history of the planned projects;
2. ``forecast``: ``wfm.services.forecasting.forecast`` over the days after the history,
   kept for the planned days of the week;
3. ``requirements``: ``wfm.services.staffing.scenario_requirements`` per project (each project's
   contract targets);
4. ``schedule``: ``wfm.services.scheduling.schedule_plan`` (CP-SAT, ``time_limit_s``);
5. ``simulate``: ``wfm.services.simulation.simulate_plan`` (seeded replications, 95 % CIs);
6. ``loop``: closing the loop (``loop_rounds`` > 0): where a project misses its target in the
   simulation (by the ``pass_on`` rule), its requirement is raised by one agent in every
   interval whose simulated SL is under the target, and the week is planned and simulated
   again; at most ``loop_rounds`` times. The best round is kept (fewest failing projects, then
   the smallest offered-weighted shortfall); every round's Erlang and simulated SL per project
   go to the result;
7. ``economics``: ``wfm.services.economics.schedule_economics`` on the kept plan and the
   simulated KPIs (revenue, cost, margin with 95 % bounds per project);
8. ``store``: the forecast, the Erlang requirements and (when the loop raised them) the raised
   ones, the draft schedule and KPIs, with the run's result.

With ``warm_start`` the schedule is planned against what is published: the current published
version of the week before (rest and consecutive days across the boundary) and of the planned
week itself (the prior plan: a hint, and every changed agent-shift costs a change penalty).
Pinned segments (``run(..., pins=frame)``) are kept exactly. The published versions and the
pins are part of the inputs' hash, so the same inputs hash to the same run
(``find_done``: a done run with the hash, for callers that reuse it).

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, col, select

from wfm import __version__, contracts
from wfm.batch import Task, run_graph
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
from wfm.services.economics import EconomicsReport, kpis_from_summary, schedule_economics
from wfm.services.forecasting import check_model, forecast
from wfm.services.scheduling import ScheduleRun, SolveParams, schedule_plan
from wfm.services.simulation import SimProjects, SimulationReport, simulate_plan
from wfm.services.staffing import Scenario, scenario_requirements
from wfm.sim import SimProject
from wfm.staffing import service_level

__all__ = [
    "MAX_HORIZON_DAYS",
    "PASS_ON",
    "STEPS",
    "PassOn",
    "PlanProgress",
    "PlanRequest",
    "PlanRunView",
    "PlanRunner",
    "StepState",
    "StepView",
    "erlang_sl",
    "fail_interrupted_runs",
    "failing_projects",
    "forecast_project",
    "get_plan",
    "json_records",
    "plan_rows",
    "raise_requirements",
    "staff_project",
]

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

STEPS: tuple[str, ...] = (
    "load",
    "forecast",
    "requirements",
    "schedule",
    "simulate",
    "loop",
    "economics",
    "store",
)
"""The steps of a plan run, in order."""

_PROGRESS = {
    "load": 0.0,
    "forecast": 0.05,
    "requirements": 0.15,
    "schedule": 0.2,
    "simulate": 0.45,
    "loop": 0.55,
    "economics": 0.93,
    "store": 0.95,
}

PassOn = Literal["lo", "mean"]
PASS_ON: tuple[PassOn, ...] = ("lo", "mean")
"""How a project passes its target in simulation: the 95 % interval's lower bound of its
week's SL (``lo``, the default: passes with confidence) or the mean (``mean``) reaches it."""

MAX_LOOP_ROUNDS = 5

PlanProgress = Callable[[str, float], None]
"""``progress(label, fraction)``: what a run is doing and how far it is (0 … 1)."""

MAX_HORIZON_DAYS = 63
"""How far after the history's last day a planned week may end."""

MAX_TIME_LIMIT_S = 3600.0
INTERRUPTED = "interrupted: the server stopped before the run ended; start a new run"


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """What to plan: the ``days`` first days of the week starting on the Monday ``week``,
    for ``projects`` (default: every stored project with history); the forecasting model;
    the scheduler's limits (``time_limit_s`` for the whole solve, ``workers``, ``seed``); and
    the simulation's ``replications`` (seeded with ``seed``); ``warm_start`` (plan against the
    published schedules), ``loop_rounds`` (closing the loop, 0 = off) and ``pass_on`` (the
    rule a project's simulated SL passes its target by)."""

    week: dt.date
    days: int = 7
    projects: tuple[str, ...] | None = None
    forecast_model: str = "auto"
    time_limit_s: float = 60.0
    workers: int = 1
    seed: int = 0
    replications: int = 10
    warm_start: bool = True
    loop_rounds: int = 0
    pass_on: PassOn = "lo"

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
        if not 0 <= self.loop_rounds <= MAX_LOOP_ROUNDS:
            raise InputError(
                f"loop_rounds: {self.loop_rounds} is outside 0..{MAX_LOOP_ROUNDS}",
                field="loop_rounds",
                expected=f"0..{MAX_LOOP_ROUNDS}",
            )
        if self.pass_on not in PASS_ON:
            raise InputError(
                f"pass_on: {self.pass_on!r} is not one of {', '.join(PASS_ON)}",
                field="pass_on",
                expected="lo (the SL's lower 95 % bound) or mean",
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
    return _fail_unfinished(engine)


def _fail_unfinished(engine: sa.Engine, inputs_hash: str | None = None) -> int:
    """Mark queued or running runs (with ``inputs_hash``, or all) failed as interrupted."""
    with transaction(engine) as s:
        query = select(PlanRun).where(
            col(PlanRun.status).in_([RunStatus.QUEUED, RunStatus.RUNNING])
        )
        if inputs_hash is not None:
            query = query.where(PlanRun.inputs_hash == inputs_hash)
        runs = s.exec(query).all()
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
    """What a run plans: the projects (with history), their agents, the forecast horizon,
    the published schedule versions it is planned against (ids; warm start only)."""

    projects: tuple[str, ...]
    horizon_days: int
    inputs_hash: str
    published_ids: tuple[int, ...] = ()


def _digest(parts: Sequence[object]) -> str:
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _published_ids(s: Session, request: PlanRequest) -> tuple[int, ...]:
    """Ids of the current published versions of the week before and of the planned week."""
    if not request.warm_start:
        return ()
    ids: list[int] = []
    for week in (request.week - dt.timedelta(days=7), request.week):
        current = repo.current_published(s, week=week)
        if current is not None and current.id is not None:
            ids.append(current.id)
    return tuple(ids)


def _scope(
    s: Session,
    request: PlanRequest,
    tz: str,
    pins: pd.DataFrame | None = None,
    *,
    published_ids: tuple[int, ...] | None = None,
) -> _Scope:
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
        f"wfm {__version__}",
        tz,
        [ProjectRow.model_dump(row, mode="json") for _, row in sorted(stored.items())],
        [AgentRow.from_domain(a)[0].model_dump(mode="json") for a in agents],
        [[a.agent, list(a.projects)] for a in agents],
        [list(u) for u in uploads],
    ]
    published = _published_ids(s, request) if published_ids is None else published_ids
    if published:
        parts.append(["published", list(published)])
    if pins is not None:
        parts.append(["pins", json_records(pins)])
    return _Scope(
        projects=tuple(with_history),
        horizon_days=horizon,
        inputs_hash=_digest(parts),
        published_ids=published,
    )


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


@dataclass(frozen=True)
class _Round:
    """One plan of the closing loop: the requirements it was planned for, the schedule, its
    simulation and how many intervals were raised to get there (0 in round 0)."""

    requirements: pd.DataFrame
    schedule: ScheduleRun
    simulation: SimulationReport | None
    raised_intervals: int = 0


@dataclass
class _Work:
    """What the steps hand on."""

    projects: dict[str, Project] = field(default_factory=dict)
    agents: list[Agent] = field(default_factory=list)
    history: pd.DataFrame | None = None
    previous: pd.DataFrame | None = None
    pins: pd.DataFrame | None = None
    demand: pd.DataFrame | None = None
    forecast_model: str = ""
    chosen: dict[str, str] = field(default_factory=dict)
    erlang: pd.DataFrame | None = None
    requirements: pd.DataFrame | None = None
    schedule: ScheduleRun | None = None
    simulation: SimulationReport | None = None
    rounds: list[dict[str, Any]] = field(default_factory=list)
    kept_round: int = 0
    economics: EconomicsReport | None = None
    notes: list[str] = field(default_factory=list)


def _span(week: dt.date, days: int, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(dt.datetime.combine(week, dt.time()), tz=tz)
    end = pd.Timestamp(dt.datetime.combine(week + dt.timedelta(days=days), dt.time()), tz=tz)
    return start, end


def failing_projects(summary: pd.DataFrame, pass_on: PassOn) -> list[str]:
    """Projects of a simulation summary (``SUMMARY_COLUMNS``) that miss their target by the
    ``pass_on`` rule, sorted."""
    column = "meets_target_at_lo" if pass_on == "lo" else "meets_target_at_mean"
    failing = summary.loc[~summary[column].astype(bool), "project"]
    return sorted(str(p) for p in failing)


def _shortfall(summary: pd.DataFrame, pass_on: PassOn) -> float:
    """Offered-weighted SL points under target, summed over the failing projects."""
    level = summary["sl_lo"] if pass_on == "lo" else summary["sl"]
    gap = (summary["sl_target"] - level.fillna(0.0)).clip(lower=0.0)
    return float((gap * summary["offered"]).sum())


def raise_requirements(
    requirements: pd.DataFrame,
    kpis: pd.DataFrame,
    demand: pd.DataFrame,
    projects: Mapping[str, Project],
    failing: Sequence[str],
    *,
    interval_min: int,
) -> tuple[pd.DataFrame, int]:
    """``requirements`` with one agent more in every interval of a ``failing`` project whose
    simulated mean SL (``kpis``) is under the project's target, and the Erlang SL of the
    raised rows recomputed at their new agents (the project's queueing model and
    concurrency). How many rows were raised."""
    req = requirements.reset_index(drop=True).copy()
    k = kpis[kpis["project"].isin(list(failing))]
    low = k[k["sl"].notna() & (k["offered"] > 0)]
    low = low.merge(req[["project", "ts", "sl_target"]], on=["project", "ts"], how="inner")
    low = low[low["sl"] < low["sl_target"]]
    keys = pd.MultiIndex.from_frame(low[["project", "ts"]])
    hit = pd.MultiIndex.from_frame(req[["project", "ts"]]).isin(keys)
    if not hit.any():
        return req, 0
    req.loc[hit, "agents"] = req.loc[hit, "agents"] + 1
    rows = (
        req.loc[hit, ["project", "ts", "agents", "answer_within_s", "model"]]
        .reset_index()
        .merge(demand[["project", "ts", "calls", "aht_s"]], on=["project", "ts"], how="inner")
    )
    for project_id, part in rows.groupby("project", sort=True):
        project = projects[str(project_id)]
        erlang_a = str(part["model"].iloc[0]) == "erlang_a"
        result = service_level(
            part["calls"].to_numpy(dtype=np.float64),
            part["aht_s"].to_numpy(dtype=np.float64),
            part["agents"].to_numpy(dtype=np.float64),
            interval_s=interval_min * 60.0,
            answer_within_s=part["answer_within_s"].to_numpy(dtype=np.float64),
            model="erlang_a" if erlang_a else "erlang_c",
            patience_s=project.patience_s if erlang_a else None,
            concurrency=project.concurrency,
        )
        req.loc[part["index"].to_numpy(), "sl"] = np.asarray(result.sl, dtype=np.float64)
    return req, int(hit.sum())


def erlang_sl(requirements: pd.DataFrame, demand: pd.DataFrame) -> dict[str, float]:
    """Per project: the Erlang SL the requirements predict, weighted by the forecast calls."""
    rows = requirements[requirements["sl"].notna()].merge(
        demand[["project", "ts", "calls"]], on=["project", "ts"]
    )
    out: dict[str, float] = {}
    for project_id, part in rows.groupby("project", sort=True):
        calls = float(part["calls"].sum())
        if calls > 0:
            out[str(project_id)] = float((part["sl"] * part["calls"]).sum() / calls)
    return out


def forecast_project(
    history: pd.DataFrame, tz: str, model: str, *, horizon_days: int, week: dt.date
) -> tuple[pd.DataFrame, str, dict[str, str]]:
    """One project's forecast (a plan run's task): the days from ``week`` on of a
    ``horizon_days`` forecast after its history, the model's name and the models chosen.
    Forecasts are per project, so this equals the project's rows of a joint forecast."""
    result = forecast(history, tz=tz, model=model, horizon_days=max(1, horizon_days))
    start = pd.Timestamp(dt.datetime.combine(week, dt.time()), tz=tz)
    demand = result.demand[result.demand["ts"] >= start].reset_index(drop=True)
    return demand, result.model, dict(result.chosen)


def staff_project(demand: pd.DataFrame, project: Project, tz: str) -> pd.DataFrame:
    """One project's requirements (a plan run's task): Erlang per interval at its contract's
    targets (``wfm.services.staffing.scenario_requirements``), REQUIREMENTS columns."""
    req = scenario_requirements(demand, {project.project: project}, tz=tz, scenario=Scenario())
    columns = [c.name for c in contracts.REQUIREMENTS.columns]
    return req[columns].reset_index(drop=True)


def _run_tasks(tasks: Sequence[Task], client: Client | None) -> Mapping[str, Any]:
    """Run a step's tasks (serially, or on ``client``); the first failure is raised as the
    exception its task raised."""
    batch = run_graph(tasks, client=client)
    for failure in batch.failures:
        if failure.exception is not None:
            raise failure.exception
        raise RuntimeError(str(failure))
    return batch.results


class PlanRunner:
    """Runs plans in the background, one at a time, on ``engine``'s data in zone ``tz``.

    ``submit`` records the run and queues it; a daemon worker thread runs the queue (a run
    still going when the process ends is marked failed by ``fail_interrupted_runs`` at the
    next start). ``create`` records a run and ``run`` runs it in the calling thread (the
    nightly batch); ``find_done`` finds a done run of the same inputs."""

    def __init__(self, engine: sa.Engine, *, tz: str, client: Client | None = None) -> None:
        check_tz(tz)
        self.engine = engine
        self.tz = tz
        self.client = client
        """A Dask client for the per-project forecast and staffing tasks (None: serially)."""
        self._queue: queue.Queue[tuple[int, PlanRequest, _Scope] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._progress: PlanProgress | None = None
        self.last_error: BaseException | None = None
        """The exception that failed the last run of this runner (None if it did not fail)."""

    # ------------------------------------------------------------------ public

    def create(self, request: PlanRequest, *, pins: pd.DataFrame | None = None) -> PlanRunView:
        """Check ``request`` against the stored data (``InputError`` naming the field) and
        record a queued run."""
        with transaction(self.engine) as s:
            scope = _scope(s, request, self.tz, pins)
            run = repo.create_plan_run(
                s,
                week=request.week,
                inputs_hash=scope.inputs_hash,
                code_version=f"wfm {__version__}",
            )
            run.request = request.as_json()
            s.add(run)
            s.flush()
            return _view(run)

    def inputs_hash(self, request: PlanRequest, *, pins: pd.DataFrame | None = None) -> str:
        """The hash a run of ``request`` on the stored data would have (checks it too)."""
        with read_only(self.engine) as s:
            return _scope(s, request, self.tz, pins).inputs_hash

    def find_done(self, inputs_hash: str) -> PlanRunView | None:
        """The newest done run with ``inputs_hash``, if any."""
        with read_only(self.engine) as s:
            run = s.exec(
                select(PlanRun)
                .where(PlanRun.inputs_hash == inputs_hash, PlanRun.status == RunStatus.DONE)
                .order_by(col(PlanRun.id).desc())
            ).first()
            return None if run is None else _view(run)

    def published_from_same_inputs(
        self, request: PlanRequest, *, pins: pd.DataFrame | None = None
    ) -> PlanRunView | None:
        """The done run whose draft is the week's current published version, if it was
        planned from the same inputs as ``request`` now (its hash, recomputed with the
        published versions as they were before it was published, matches): a warm-started
        run that was published is not planned again by the same request."""
        if not request.warm_start:
            return None
        with read_only(self.engine) as s:
            current = repo.current_published(s, week=request.week)
            if current is None or current.plan_run_id is None or current.version is None:
                return None
            ids: list[int] = []
            before = repo.current_published(s, week=request.week - dt.timedelta(days=7))
            if before is not None and before.id is not None:
                ids.append(before.id)
            earlier = [
                v
                for v in repo.schedule_versions(s, week=request.week)
                if v.version is not None and v.version < current.version
            ]
            if earlier and earlier[-1].id is not None:
                ids.append(earlier[-1].id)
            scope = _scope(s, request, self.tz, pins, published_ids=tuple(ids))
            run = repo.get_plan_run(s, run_id=current.plan_run_id)
            if run.inputs_hash != scope.inputs_hash or RunStatus(run.status) is not RunStatus.DONE:
                return None
            return _view(run)

    def fail_unfinished(self, inputs_hash: str) -> int:
        """Mark queued or running runs with ``inputs_hash`` failed (left by a crashed batch:
        call it only when no other process runs them). How many were marked."""
        return _fail_unfinished(self.engine, inputs_hash)

    def submit(self, request: PlanRequest) -> PlanRunView:
        """Check ``request`` against the stored data (``InputError`` naming the field),
        record a queued run and start it in the background."""
        view = self.create(request)
        with read_only(self.engine) as s:
            scope = _scope(s, request, self.tz)
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

    def run(
        self,
        run_id: int,
        request: PlanRequest,
        *,
        pins: pd.DataFrame | None = None,
        progress: PlanProgress | None = None,
    ) -> PlanRunView:
        """Run recorded run ``run_id`` now, in this thread (``pins``: schedule rows to keep
        exactly; ``progress(label, fraction)`` is called as it goes); the stored run when it
        ended."""
        with read_only(self.engine) as s:
            scope = _scope(s, request, self.tz, pins)
        self._progress = progress
        try:
            self._execute(run_id, request, scope, pins)
        finally:
            self._progress = None
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

    def _tell(self, label: str, fraction: float) -> None:
        if self._progress is not None:
            self._progress(label, fraction)

    def _execute(
        self, run_id: int, request: PlanRequest, scope: _Scope, pins: pd.DataFrame | None = None
    ) -> None:
        work = _Work(pins=pins)
        steps = {
            "load": self._load,
            "forecast": self._forecast,
            "requirements": self._requirements,
            "schedule": self._schedule,
            "simulate": self._simulate,
            "loop": self._loop,
            "economics": self._economics,
        }
        name = "load"
        self.last_error = None
        try:
            for name, step in steps.items():
                self._mark(run_id, status=RunStatus.RUNNING, step=name, progress=_PROGRESS[name])
                self._tell(name, _PROGRESS[name])
                clock = time.perf_counter()
                step(work, request, scope)
                self._mark(run_id, timings_s={name: time.perf_counter() - clock})
            name = "store"
            self._mark(run_id, step=name, progress=_PROGRESS[name])
            self._tell(name, _PROGRESS[name])
            self._store(run_id, work, request)
            self._tell("done", 1.0)
        except Exception as exc:  # the run fails, the worker goes on with the next one
            self.last_error = exc
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
            published = [repo.schedule_frame(s, schedule_id=i) for i in scope.published_ids]
        work.history = pd.concat(parts, ignore_index=True)
        if published:
            known = {a.agent for a in work.agents}
            previous = pd.concat(published, ignore_index=True)
            kept = previous[previous["agent"].astype(str).isin(known)]
            if len(kept) < len(previous):
                gone = sorted(set(previous["agent"].astype(str)) - known)
                work.notes.append(
                    f"load: {len(gone)} agent(s) of the published schedules are no longer "
                    f"planned ({', '.join(gone[:5])}{' …' if len(gone) > 5 else ''}); "
                    "their shifts were left out of the warm start"
                )
            work.previous = kept.reset_index(drop=True)

    def _forecast(self, work: _Work, request: PlanRequest, scope: _Scope) -> None:
        assert work.history is not None
        end = request.week + dt.timedelta(days=request.days - 1)
        tasks = []
        for name, part in work.history.groupby("project", sort=True):
            last = pd.Timestamp(part["ts"].max()).tz_convert(self.tz).date()
            tasks.append(
                Task(
                    key=f"forecast/{name}",
                    fn=forecast_project,
                    args=(part.reset_index(drop=True), self.tz, request.forecast_model),
                    kwargs={"horizon_days": (end - last).days, "week": request.week},
                    about=f"project {name}, {len(part)} history rows",
                )
            )
        done = _run_tasks(tasks, self.client)
        parts = [done[task.key] for task in tasks]
        demand = pd.concat([d for d, _, _ in parts], ignore_index=True)
        demand = demand[demand["ts"] < _span(request.week, request.days, self.tz)[1]]
        if demand.empty:
            raise InputError(
                f"week: the forecast has no open interval on the planned days from "
                f"{request.week} (are the projects closed then?)",
                field="week",
                expected="days on which a planned project opens",
            )
        work.demand = demand.reset_index(drop=True)
        models = {m for _, m, _ in parts}
        work.forecast_model = models.pop() if len(models) == 1 else request.forecast_model
        work.chosen = {k: v for _, _, chosen in parts for k, v in chosen.items()}

    def _requirements(self, work: _Work, request: PlanRequest, scope: _Scope) -> None:
        assert work.demand is not None
        demand = work.demand[["project", "ts", "calls", "aht_s"]]
        tasks = [
            Task(
                key=f"staff/{name}",
                fn=staff_project,
                args=(part.reset_index(drop=True), work.projects[str(name)], self.tz),
                about=f"project {name}, {len(part)} intervals",
            )
            for name, part in demand.groupby("project", sort=True)
        ]
        done = _run_tasks(tasks, self.client)
        requirements = pd.concat([done[task.key] for task in tasks], ignore_index=True)
        work.requirements = requirements
        work.erlang = work.requirements

    def _schedule(self, work: _Work, request: PlanRequest, scope: _Scope) -> None:
        assert work.requirements is not None

        def tell(label: str, fraction: float) -> None:
            self._tell(f"schedule: {label}", fraction)

        work.schedule = schedule_plan(
            work.requirements,
            work.agents,
            tz=self.tz,
            week=request.week,
            projects=work.projects,
            params=SolveParams(
                time_limit_s=request.time_limit_s, workers=request.workers, seed=request.seed
            ),
            previous=work.previous,
            pins=work.pins,
            progress=tell if self._progress is not None else None,
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
            work.simulation = None
            if "simulate: no inbound or chat project planned; nothing simulated" not in work.notes:
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

    def _loop(self, work: _Work, request: PlanRequest, scope: _Scope) -> None:
        assert work.requirements is not None and work.schedule is not None
        assert work.demand is not None
        rounds = [_Round(work.requirements, work.schedule, work.simulation)]
        interval_min = work.schedule.interval_min
        for number in range(1, request.loop_rounds + 1):
            last = rounds[-1]
            if last.simulation is None:
                break
            failing = failing_projects(last.simulation.summary, request.pass_on)
            if not failing:
                break
            raised, n = raise_requirements(
                last.requirements,
                last.simulation.kpis,
                work.demand,
                work.projects,
                failing,
                interval_min=interval_min,
            )
            if n == 0:
                work.notes.append(
                    f"loop: round {number}: {', '.join(failing)} miss the target but no "
                    "interval's mean SL is under it; nothing to raise"
                )
                break
            share = (number - 0.5) / request.loop_rounds
            fraction = _PROGRESS["loop"] + share * (_PROGRESS["economics"] - _PROGRESS["loop"])
            self._tell(f"loop: round {number}: {n} intervals raised, plan again", fraction)
            work.requirements = raised
            self._schedule(work, request, scope)
            self._simulate(work, request, scope)
            assert work.schedule is not None
            rounds.append(_Round(raised, work.schedule, work.simulation, n))

        def score(r: _Round) -> tuple[int, float]:
            if r.simulation is None:
                return (0, 0.0)
            summary = r.simulation.summary
            return (
                len(failing_projects(summary, request.pass_on)),
                _shortfall(summary, request.pass_on),
            )

        kept = min(range(len(rounds)), key=lambda i: score(rounds[i]))
        work.kept_round = kept
        work.requirements = rounds[kept].requirements
        work.schedule = rounds[kept].schedule
        work.simulation = rounds[kept].simulation
        work.rounds = [self._round_record(i, r, work, request) for i, r in enumerate(rounds)]
        if len(rounds) > 1:
            work.notes.append(
                f"loop: {len(rounds) - 1} round(s) of raised requirements; round {kept} kept"
            )

    def _round_record(
        self, number: int, r: _Round, work: _Work, request: PlanRequest
    ) -> dict[str, Any]:
        assert work.demand is not None
        erlang = erlang_sl(r.requirements, work.demand)
        projects: list[dict[str, Any]] = []
        failing: list[str] = []
        if r.simulation is not None:
            failing = failing_projects(r.simulation.summary, request.pass_on)
            for rec in r.simulation.summary.to_dict(orient="records"):
                name = str(rec["project"])
                projects.append(
                    {
                        "project": name,
                        "sl_target": _finite(rec["sl_target"]),
                        "erlang_sl": _finite(erlang.get(name, math.nan)),
                        "sl": _finite(rec["sl"]),
                        "sl_lo": _finite(rec["sl_lo"]),
                        "sl_hi": _finite(rec["sl_hi"]),
                        "passes": name not in failing,
                    }
                )
        sol = r.schedule.solution
        return {
            "round": number,
            "raised_intervals": r.raised_intervals,
            "required_agent_h": float(
                (r.requirements["agents"] * _interval_h(r.requirements)).sum()
            ),
            "under_h": _finite(sol.under_h),
            "failing": failing,
            "by_project": projects,
        }

    def _economics(self, work: _Work, request: PlanRequest, scope: _Scope) -> None:
        assert work.schedule is not None
        sim = work.simulation
        kpis = (
            kpis_from_summary(sim.summary)
            if sim is not None
            else pd.DataFrame(columns=["project", "answered", "sl", "sl_lo", "sl_hi"])
        )
        try:
            work.economics = schedule_economics(
                work.schedule.schedule, agents=work.agents, projects=work.projects, kpis=kpis
            )
        except InputError as exc:  # e.g. agents without an hourly cost: the plan stands
            work.economics = None
            work.notes.append(f"economics: not computed: {exc}")

    def _store(self, run_id: int, work: _Work, request: PlanRequest) -> None:
        assert work.demand is not None and work.requirements is not None
        assert work.schedule is not None and work.erlang is not None
        clock = time.perf_counter()
        run_schedule, sim = work.schedule, work.simulation
        with transaction(self.engine) as s:
            saved_forecast = repo.save_forecast(
                s, frame=work.demand, model=work.forecast_model, plan_run_id=run_id
            )
            erlang_id: int | None = None
            if work.erlang is not work.requirements:
                erlang_id = repo.save_requirements(
                    s, frame=work.erlang, forecast_id=saved_forecast.id, plan_run_id=run_id
                ).id
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
            result["requirements"]["erlang_id"] = (
                erlang_id if erlang_id is not None else saved_req.id
            )
            result["verdict"] = self._verdict(work, request)
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

    def _verdict(self, work: _Work, request: PlanRequest) -> dict[str, Any]:
        sim = work.simulation
        failing = [] if sim is None else failing_projects(sim.summary, request.pass_on)
        return {"pass_on": request.pass_on, "passed": not failing, "failing": failing}

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
            "changed_shifts": sol.changed_shifts,
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
                daily=json_records(sim.result.daily),
                notes=[*sim.notes, *work.notes],
            )
        economics: dict[str, Any] = {"by_project": [], "totals": None}
        if work.economics is not None:
            economics = {
                "by_project": json_records(work.economics.by_project),
                "totals": {k: _finite(v) for k, v in asdict(work.economics.totals).items()},
                "unallocated_paid_h": work.economics.unallocated_paid_h,
            }
        return {
            "tz": self.tz,
            "interval_min": work.schedule.interval_min,
            "forecast": {"id": forecast_id, "model": work.forecast_model, "chosen": work.chosen},
            "requirements": {"id": requirement_set_id, "by_project": json_records(hours)},
            "schedule": schedule,
            "kpis": kpis,
            "economics": economics,
            "loop": {"kept_round": work.kept_round, "rounds": work.rounds},
        }


def _interval_h(req: pd.DataFrame) -> float:
    ts = pd.DatetimeIndex(req["ts"]).sort_values().unique()
    if len(ts) < 2:
        return 0.25
    step = pd.Series(ts).diff().dropna().min()
    return float(step.total_seconds()) / 3600.0
