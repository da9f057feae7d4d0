"""Repositories: small typed functions over a ``Session`` (services layer).

They read and write rows and never commit: the calling service owns the transaction
(``with Session(engine) as session, session.begin(): ...``), so a failure anywhere leaves
the database as it was. Frames go in and out with the DESIGN.md column names; frames are
checked by ``wfm.contracts`` on the way in, and their timestamps come out tz-aware UTC.

Errors: an unknown id raises ``NotFoundError`` (an ``InputError`` naming the id's field), a
bad frame ``FrameError``, and a write that lost a race or would change a published schedule
``ConflictError``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped
from sqlmodel import Session, SQLModel, col, select

from wfm import contracts
from wfm.db.tables import (
    AgentRow,
    Forecast,
    ForecastRow,
    HistoryRow,
    HistoryUpload,
    KpiRow,
    KpiSet,
    PlanRun,
    ProjectRow,
    RequirementRow,
    RequirementSet,
    Role,
    RunStatus,
    ScheduleSegment,
    ScheduleStatus,
    ScheduleVersion,
    SkillRow,
    User,
    utc_now,
)
from wfm.domain import Agent, Project
from wfm.errors import ConflictError, InputError, NotFoundError

__all__ = [
    "NewUser",
    "add_agent",
    "add_history_upload",
    "add_project",
    "agent_segments",
    "authenticate",
    "create_plan_run",
    "create_user",
    "current_published",
    "forecast_frame",
    "get_agent",
    "get_plan_run",
    "get_project",
    "get_schedule",
    "hash_token",
    "history_frame",
    "kpis_frame",
    "list_agents",
    "list_projects",
    "publish",
    "requirements_frame",
    "save_agents",
    "save_forecast",
    "save_kpis",
    "save_projects",
    "save_requirements",
    "save_schedule_draft",
    "schedule_frame",
    "schedule_versions",
    "update_plan_run",
]

_T = TypeVar("_T", bound=SQLModel)


# --------------------------------------------------------------------------------------------
# frame <-> rows


def _utc_list(values: pd.Series) -> list[dt.datetime]:
    """Timestamps as plain tz-aware UTC datetimes."""
    return list(pd.DatetimeIndex(values).tz_convert("UTC").to_pydatetime())


def _cell(value: Any) -> Any:
    """A frame cell as a database value: missing (NaN, NA, None) becomes None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


def _records(
    frame: pd.DataFrame, columns: Sequence[str], ts_columns: Sequence[str], **fixed: Any
) -> list[dict[str, Any]]:
    """One dict per frame row with ``columns`` (``ts_columns`` as UTC datetimes) and the
    ``fixed`` values."""
    data: dict[str, list[Any]] = {}
    for name in columns:
        if name not in frame.columns:
            data[name] = [None] * len(frame)
        elif name in ts_columns:
            data[name] = _utc_list(frame[name])
        else:
            data[name] = [_cell(v) for v in frame[name].tolist()]
    return [{**fixed, **{name: data[name][i] for name in columns}} for i in range(len(frame))]


_STR_DTYPE = pd.Series(["x"]).dtype  # pandas' default text dtype, as wfm.contracts uses


def _frame(
    rows: Sequence[Sequence[Any]], schema: contracts.FrameSchema, names: Sequence[str]
) -> pd.DataFrame:
    """A frame with ``names`` (columns of ``schema``) from row tuples, in canonical dtypes:
    timestamps tz-aware UTC, numbers float64/int64, text pandas' default text dtype."""
    out: dict[str, pd.Series] = {}
    for i, name in enumerate(names):
        values = [row[i] for row in rows]
        kind = schema.column(name).kind
        if kind == "ts":
            out[name] = pd.Series(pd.to_datetime(pd.Series(values, dtype=object), utc=True))
        elif kind == "float":
            out[name] = pd.Series(values, dtype="float64")
        elif kind == "int":
            out[name] = pd.Series(values, dtype="int64")
        else:
            out[name] = pd.Series(values, dtype=_STR_DTYPE)
    return pd.DataFrame(out, columns=list(names))


def _aware(value: dt.datetime | pd.Timestamp, field: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise InputError(
            f"{field}: {value!r} is not a tz-aware timestamp",
            field=field,
            expected="a tz-aware datetime",
        )
    return pd.Timestamp(value).tz_convert("UTC").to_pydatetime()


def _known(session: Session, key: Mapped[str], ids: Iterable[str], field: str) -> None:
    """Raise ``NotFoundError`` for the first of ``ids`` not stored."""
    wanted = sorted(set(ids))
    if not wanted:
        return
    found = set(session.exec(select(key).where(key.in_(wanted))).all())
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFoundError(
            f"{field}: {missing[0]!r} is not stored"
            + (f" (nor {len(missing) - 1} more)" if len(missing) > 1 else ""),
            field=field,
            expected=f"a stored {field} id (save it first)",
        )


def _get(session: Session, row: type[_T], ident: object, field: str) -> _T:
    found = session.get(row, ident)
    if found is None:
        raise NotFoundError(
            f"{field}: {ident!r} is not stored", field=field, expected=f"a stored {field}"
        )
    return found


def _insert(session: Session, row: type[SQLModel], records: list[dict[str, Any]]) -> None:
    if records:
        session.exec(sa.insert(row), params=records)


# --------------------------------------------------------------------------------------------
# projects and agents


def save_projects(session: Session, *, projects: Iterable[Project]) -> None:
    """Insert or replace ``projects`` (by id)."""
    for project in projects:
        session.merge(ProjectRow.from_domain(project))
    session.flush()


def _insert_new(session: Session, row: SQLModel, what: str) -> None:
    """INSERT ``row`` now (never an update of a stored row): a row with the same key,
    stored before or by a concurrent transaction that committed first, raises
    ``ConflictError`` (the transaction must then be rolled back)."""
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # the flush rolled back: no ORM attribute may be read now
        raise ConflictError(f"{what} exists (stored before or by a concurrent request)") from exc


def add_project(session: Session, *, project: Project) -> None:
    """Insert the new project ``project``; ``ConflictError`` if its id is stored (also when
    a concurrent transaction stored it first: unlike ``save_projects``, never an update)."""
    _insert_new(session, ProjectRow.from_domain(project), f"project {project.project!r}")


def list_projects(session: Session) -> list[Project]:
    """All projects, by id."""
    rows = session.exec(select(ProjectRow).order_by(col(ProjectRow.project))).all()
    return [row.to_domain() for row in rows]


def get_project(session: Session, *, project: str) -> Project:
    """The project ``project``; ``NotFoundError`` if it is not stored."""
    return _get(session, ProjectRow, project, "project").to_domain()


def save_agents(session: Session, *, agents: Iterable[Agent]) -> None:
    """Insert or replace ``agents`` (by id) with their skills; every skill's project must be
    stored (``NotFoundError`` otherwise)."""
    agents = list(agents)
    _known(
        session,
        col(ProjectRow.project),
        (s.project for a in agents for s in a.skills),
        "project",
    )
    ids = [a.agent for a in agents]
    if ids:
        session.exec(sa.delete(SkillRow).where(col(SkillRow.agent).in_(ids)))
    for agent in agents:
        row, skills = AgentRow.from_domain(agent)
        session.merge(row)
        session.add_all(skills)
    session.flush()


def add_agent(session: Session, *, agent: Agent) -> None:
    """Insert the new agent ``agent`` with its skills; ``ConflictError`` if its id is
    stored (also when a concurrent transaction stored it first: unlike ``save_agents``,
    never an update), ``NotFoundError`` if a skill's project is not stored."""
    _known(session, col(ProjectRow.project), (s.project for s in agent.skills), "project")
    row, skills = AgentRow.from_domain(agent)
    _insert_new(session, row, f"agent {agent.agent!r}")
    session.add_all(skills)
    session.flush()


def _agents(session: Session, ids: Sequence[str] | None) -> list[Agent]:
    query = select(AgentRow).order_by(col(AgentRow.agent))
    skills_query = select(SkillRow)
    if ids is not None:
        query = query.where(col(AgentRow.agent).in_(ids))
        skills_query = skills_query.where(col(SkillRow.agent).in_(ids))
    rows = session.exec(query).all()
    skills: dict[str, list[SkillRow]] = {}
    for skill in session.exec(skills_query).all():
        skills.setdefault(skill.agent, []).append(skill)
    return [row.to_domain(skills.get(row.agent, [])) for row in rows]


def list_agents(session: Session) -> list[Agent]:
    """All agents, by id, skills in their saved order."""
    return _agents(session, None)


def get_agent(session: Session, *, agent: str) -> Agent:
    """The agent ``agent``; ``NotFoundError`` if it is not stored."""
    found = _agents(session, [agent])
    if not found:
        raise NotFoundError(
            f"agent: {agent!r} is not stored", field="agent", expected="a stored agent"
        )
    return found[0]


# --------------------------------------------------------------------------------------------
# history, forecasts, requirements, KPIs

# columns in the order of the frame schemas
_HISTORY = tuple(c.name for c in contracts.HISTORY.columns)
_DEMAND = tuple(c.name for c in contracts.DEMAND.columns)
_REQUIREMENTS = tuple(c.name for c in contracts.REQUIREMENTS.columns)
_KPIS = tuple(c.name for c in contracts.KPIS.columns)
_KPI_BOUNDS = tuple(c for c in _KPIS if c.endswith(("_lo", "_hi")))


def add_history_upload(
    session: Session, *, project: str, frame: pd.DataFrame, source: str | None = None
) -> HistoryUpload:
    """Store one upload of ``project`` 's history (a history frame; without a ``project``
    column every row is ``project`` 's). Later uploads win where they overlap."""
    _get(session, ProjectRow, project, "project")
    if "project" not in frame.columns:
        frame = frame.assign(project=project)
    frame = contracts.validate_history(frame)
    others = (frame["project"] != project).to_numpy()
    if others.any():
        pos = int(others.argmax())
        raise InputError(
            f"history: column 'project' row {pos}: {frame['project'].iloc[pos]!r} in an "
            f"upload for project {project!r}",
            field="project",
            row=pos,
            expected=repr(project),
        )
    upload = HistoryUpload(project=project, source=source, n_rows=len(frame))
    session.add(upload)
    session.flush()
    _insert(session, HistoryRow, _records(frame, _HISTORY, ("ts",), upload_id=upload.id))
    return upload


def history_frame(
    session: Session,
    *,
    project: str,
    from_ts: dt.datetime | None = None,
    to_ts: dt.datetime | None = None,
) -> pd.DataFrame:
    """``project`` 's history in ``[from_ts, to_ts)`` (all of it by default), sorted by
    ``ts``; where uploads overlap, the latest upload's row."""
    _get(session, ProjectRow, project, "project")
    query = (
        select(HistoryRow.project, HistoryRow.ts, HistoryRow.calls, HistoryRow.aht_s)
        .where(HistoryRow.project == project)
        .order_by(col(HistoryRow.ts), col(HistoryRow.upload_id))
    )
    if from_ts is not None:
        query = query.where(HistoryRow.ts >= _aware(from_ts, "from_ts"))
    if to_ts is not None:
        query = query.where(HistoryRow.ts < _aware(to_ts, "to_ts"))
    frame = _frame(session.exec(query).all(), contracts.HISTORY, _HISTORY)
    return frame.drop_duplicates("ts", keep="last").reset_index(drop=True)


def _check_projects(session: Session, frame: pd.DataFrame) -> None:
    _known(
        session,
        col(ProjectRow.project),
        frame["project"].dropna().unique().tolist(),
        "project",
    )


def save_forecast(
    session: Session,
    *,
    frame: pd.DataFrame,
    model: str | None = None,
    plan_run_id: int | None = None,
) -> Forecast:
    """Store a demand frame as a new forecast."""
    frame = contracts.validate_demand(frame)
    _check_projects(session, frame)
    forecast = Forecast(model=model, n_rows=len(frame), plan_run_id=plan_run_id)
    session.add(forecast)
    session.flush()
    _insert(session, ForecastRow, _records(frame, _DEMAND, ("ts",), forecast_id=forecast.id))
    return forecast


def forecast_frame(session: Session, *, forecast_id: int) -> pd.DataFrame:
    """The demand frame of forecast ``forecast_id``, sorted by project and ts."""
    _get(session, Forecast, forecast_id, "forecast_id")
    rows = session.exec(
        select(*(getattr(ForecastRow, c) for c in _DEMAND))
        .where(ForecastRow.forecast_id == forecast_id)
        .order_by(col(ForecastRow.project), col(ForecastRow.ts))
    ).all()
    return _frame(rows, contracts.DEMAND, _DEMAND)


def save_requirements(
    session: Session,
    *,
    frame: pd.DataFrame,
    forecast_id: int | None = None,
    plan_run_id: int | None = None,
) -> RequirementSet:
    """Store a requirements frame as a new requirement set."""
    frame = contracts.validate_requirements(frame)
    _check_projects(session, frame)
    found = RequirementSet(n_rows=len(frame), forecast_id=forecast_id, plan_run_id=plan_run_id)
    session.add(found)
    session.flush()
    records = _records(frame, _REQUIREMENTS, ("ts",), requirement_set_id=found.id)
    _insert(session, RequirementRow, records)
    return found


def requirements_frame(session: Session, *, requirement_set_id: int) -> pd.DataFrame:
    """The requirements frame of set ``requirement_set_id``, sorted by project and ts."""
    _get(session, RequirementSet, requirement_set_id, "requirement_set_id")
    rows = session.exec(
        select(*(getattr(RequirementRow, c) for c in _REQUIREMENTS))
        .where(RequirementRow.requirement_set_id == requirement_set_id)
        .order_by(col(RequirementRow.project), col(RequirementRow.ts))
    ).all()
    return _frame(rows, contracts.REQUIREMENTS, _REQUIREMENTS)


def save_kpis(
    session: Session,
    *,
    frame: pd.DataFrame,
    schedule_id: int | None = None,
    plan_run_id: int | None = None,
) -> KpiSet:
    """Store a kpis frame (e.g. simulated for schedule ``schedule_id``) as a new KPI set."""
    frame = contracts.validate_kpis(frame)
    _check_projects(session, frame)
    if schedule_id is not None:
        _get(session, ScheduleVersion, schedule_id, "schedule_id")
    found = KpiSet(n_rows=len(frame), schedule_id=schedule_id, plan_run_id=plan_run_id)
    session.add(found)
    session.flush()
    _insert(session, KpiRow, _records(frame, _KPIS, ("ts",), kpi_set_id=found.id))
    return found


def kpis_frame(session: Session, *, kpi_set_id: int) -> pd.DataFrame:
    """The kpis frame of set ``kpi_set_id``, sorted by project and ts; a bound column
    (``sl_lo`` …) only if the set has a value in it."""
    _get(session, KpiSet, kpi_set_id, "kpi_set_id")
    rows = session.exec(
        select(*(getattr(KpiRow, c) for c in _KPIS))
        .where(KpiRow.kpi_set_id == kpi_set_id)
        .order_by(col(KpiRow.project), col(KpiRow.ts))
    ).all()
    frame = _frame(rows, contracts.KPIS, _KPIS)
    empty = [c for c in _KPI_BOUNDS if frame[c].isna().all()]
    return frame.drop(columns=empty)


# --------------------------------------------------------------------------------------------
# schedules

_SCHEDULE = ("agent", "start", "end", "activity", "project")


def _monday(week: dt.date) -> dt.date:
    if not isinstance(week, dt.date) or isinstance(week, dt.datetime) or week.isoweekday() != 1:
        raise InputError(
            f"week: {week!r} is not a Monday", field="week", expected="the Monday of the week"
        )
    return week


def _etag(week: dt.date, version: int | None, segments: Sequence[dict[str, Any]]) -> str:
    """A digest of a schedule's content: week, version and segments."""
    digest = hashlib.sha256(f"{week.isoformat()}|{version}".encode())
    for seg in sorted(segments, key=lambda s: (s["agent"], s["start"], s["end"])):
        line = (
            f"\n{seg['agent']}|{seg['start'].isoformat()}|{seg['end'].isoformat()}|"
            f"{seg['activity']}|{seg['project'] or ''}"
        )
        digest.update(line.encode())
    return digest.hexdigest()


def save_schedule_draft(
    session: Session, *, week: dt.date, frame: pd.DataFrame, plan_run_id: int | None = None
) -> ScheduleVersion:
    """Store a schedule frame as a new draft of ``week`` (a Monday). Its agents and
    projects must be stored."""
    week = _monday(week)
    frame = contracts.validate_schedule(frame)
    _known(session, col(AgentRow.agent), frame["agent"].unique().tolist(), "agent")
    _check_projects(session, frame)
    if plan_run_id is not None:
        _get(session, PlanRun, plan_run_id, "plan_run_id")
    records = _records(frame, _SCHEDULE, ("start", "end"))
    draft = ScheduleVersion(
        week=week,
        status=ScheduleStatus.DRAFT,
        version=None,
        etag=_etag(week, None, records),
        plan_run_id=plan_run_id,
    )
    session.add(draft)
    session.flush()
    _insert(session, ScheduleSegment, [{**r, "schedule_id": draft.id} for r in records])
    return draft


def get_schedule(session: Session, *, schedule_id: int) -> ScheduleVersion:
    """The schedule version or draft ``schedule_id``; ``NotFoundError`` if there is none."""
    return _get(session, ScheduleVersion, schedule_id, "schedule_id")


def _segments(session: Session, schedule_id: int) -> list[dict[str, Any]]:
    rows = session.exec(
        select(*(getattr(ScheduleSegment, c) for c in _SCHEDULE))
        .where(ScheduleSegment.schedule_id == schedule_id)
        .order_by(col(ScheduleSegment.id))
    ).all()
    return [dict(zip(_SCHEDULE, row, strict=True)) for row in rows]


def publish(session: Session, *, draft_id: int, idempotency_key: str | None) -> ScheduleVersion:
    """Publish draft ``draft_id`` as the next version (1, 2, 3 …) of its week: a copy that
    never changes. The same ``idempotency_key`` again returns the version it published
    (``None``: no idempotency, every call publishes a new version).

    Raises ``ConflictError`` if the key published another draft, if ``draft_id`` is not a
    draft, or if a concurrent transaction published the same version number (or key) first:
    ``(week, version)`` and the key are unique. After a ``ConflictError`` from the flush the
    transaction must be rolled back; a retry with the same key then returns the winner's
    version if it was the same key."""
    if idempotency_key is not None:
        if not idempotency_key:
            raise InputError(
                "idempotency_key: empty", field="idempotency_key", expected="a non-empty key"
            )
        done = session.exec(
            select(ScheduleVersion).where(ScheduleVersion.idempotency_key == idempotency_key)
        ).first()
        if done is not None:
            if done.published_from_id != draft_id:
                raise ConflictError(
                    f"idempotency_key {idempotency_key!r} already published draft "
                    f"{done.published_from_id} (as version {done.version} of week "
                    f"{done.week}), not draft {draft_id}"
                )
            return done
    draft = _get(session, ScheduleVersion, draft_id, "draft_id")
    if draft.status is not ScheduleStatus.DRAFT:
        raise ConflictError(
            f"schedule {draft_id} is published version {draft.version} of week {draft.week}, "
            "not a draft"
        )
    segments = _segments(session, draft_id)
    last = session.exec(
        select(sa.func.max(ScheduleVersion.version)).where(ScheduleVersion.week == draft.week)
    ).one()
    week, version = draft.week, (last or 0) + 1
    session.flush()  # anything pending before, so that a failure below is this insert's
    published = ScheduleVersion(
        week=week,
        status=ScheduleStatus.PUBLISHED,
        version=version,
        idempotency_key=idempotency_key,
        etag=_etag(week, version, segments),
        plan_run_id=draft.plan_run_id,
        published_from_id=draft.id,
    )
    session.add(published)
    try:
        session.flush()
    except IntegrityError as exc:  # the flush rolled back: no ORM attribute may be read now
        raise ConflictError(
            f"week {week}: version {version} (or idempotency_key {idempotency_key!r}) "
            "was published by a concurrent transaction; roll back and retry"
        ) from exc
    _insert(session, ScheduleSegment, [{**s, "schedule_id": published.id} for s in segments])
    return published


def schedule_versions(session: Session, *, week: dt.date) -> list[ScheduleVersion]:
    """The published versions of ``week``, oldest first."""
    return list(
        session.exec(
            select(ScheduleVersion)
            .where(
                ScheduleVersion.week == _monday(week),
                ScheduleVersion.status == ScheduleStatus.PUBLISHED,
            )
            .order_by(col(ScheduleVersion.version))
        ).all()
    )


def current_published(session: Session, *, week: dt.date) -> ScheduleVersion | None:
    """The latest published version of ``week``, or None if none is published."""
    return session.exec(
        select(ScheduleVersion)
        .where(
            ScheduleVersion.week == _monday(week),
            ScheduleVersion.status == ScheduleStatus.PUBLISHED,
        )
        .order_by(col(ScheduleVersion.version).desc())
        .limit(1)
    ).first()


def schedule_frame(session: Session, *, schedule_id: int) -> pd.DataFrame:
    """The schedule frame of version or draft ``schedule_id``, sorted by agent and start."""
    _get(session, ScheduleVersion, schedule_id, "schedule_id")
    rows = session.exec(
        select(*(getattr(ScheduleSegment, c) for c in _SCHEDULE))
        .where(ScheduleSegment.schedule_id == schedule_id)
        .order_by(col(ScheduleSegment.agent), col(ScheduleSegment.start))
    ).all()
    return _frame(rows, contracts.SCHEDULE, _SCHEDULE)


def agent_segments(
    session: Session, *, agent: str, from_ts: dt.datetime, to_ts: dt.datetime
) -> pd.DataFrame:
    """``agent`` 's segments overlapping ``[from_ts, to_ts)`` in the current published
    version of each week, sorted by start (a schedule frame)."""
    lo, hi = _aware(from_ts, "from_ts"), _aware(to_ts, "to_ts")
    _get(session, AgentRow, agent, "agent")
    latest = (
        select(
            col(ScheduleVersion.week).label("week"),
            sa.func.max(ScheduleVersion.version).label("version"),
        )
        .where(ScheduleVersion.status == ScheduleStatus.PUBLISHED)
        .group_by(col(ScheduleVersion.week))
        .subquery()
    )
    rows = session.exec(
        select(*(getattr(ScheduleSegment, c) for c in _SCHEDULE))
        .join(ScheduleVersion, col(ScheduleVersion.id) == col(ScheduleSegment.schedule_id))
        .join(
            latest,
            sa.and_(
                latest.c.week == col(ScheduleVersion.week),
                latest.c.version == col(ScheduleVersion.version),
            ),
        )
        .where(
            ScheduleSegment.agent == agent,
            col(ScheduleSegment.start) < hi,
            col(ScheduleSegment.end) > lo,
        )
        .order_by(col(ScheduleSegment.start))
    ).all()
    return _frame(rows, contracts.SCHEDULE, _SCHEDULE)


# --------------------------------------------------------------------------------------------
# plan runs


def create_plan_run(
    session: Session, *, week: dt.date, inputs_hash: str, code_version: str
) -> PlanRun:
    """A new queued plan run for ``week``."""
    run = PlanRun(week=_monday(week), inputs_hash=inputs_hash, code_version=code_version)
    session.add(run)
    session.flush()
    return run


def get_plan_run(session: Session, *, run_id: int) -> PlanRun:
    """Plan run ``run_id``; ``NotFoundError`` if there is none."""
    return _get(session, PlanRun, run_id, "run_id")


def update_plan_run(
    session: Session,
    *,
    run_id: int,
    status: RunStatus | None = None,
    progress: float | None = None,
    step: str | None = None,
    error: str | None = None,
    timings_s: dict[str, float] | None = None,
) -> PlanRun:
    """Record a plan run's progress (a share in [0, 1]), step, error or step timings
    (merged into the stored ones). A run that is done or failed does not change
    (``ConflictError``)."""
    run = get_plan_run(session, run_id=run_id)
    if run.status in (RunStatus.DONE, RunStatus.FAILED):
        raise ConflictError(f"plan run {run_id} is {run.status}: it does not change any more")
    if progress is not None:
        if not 0.0 <= progress <= 1.0:
            raise InputError(
                f"progress: {progress} is outside [0, 1]", field="progress", expected="[0, 1]"
            )
        run.progress = progress
    if status is not None:
        run.status = RunStatus(status)
    if step is not None:
        run.step = step
    if error is not None:
        run.error = error
    if timings_s is not None:
        run.timings_s = {**run.timings_s, **{k: float(v) for k, v in timings_s.items()}}
    run.updated_at = utc_now()
    session.add(run)
    session.flush()
    return run


# --------------------------------------------------------------------------------------------
# users


@dataclass(frozen=True, slots=True)
class NewUser:
    """A user just created, with the plain token: shown once, stored only as its hash."""

    user: User
    token: str


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored for ``token``."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(session: Session, *, name: str, role: Role, agent: str | None = None) -> NewUser:
    """A new user with a random token. A user with role ``agent`` names their agent id;
    a taken name raises ``ConflictError``."""
    role = Role(role)
    if not name:
        raise InputError("name: empty", field="name", expected="a user name")
    if role is Role.AGENT and agent is None:
        raise InputError(
            f"agent: user {name!r} has role agent but no agent id",
            field="agent",
            expected="the agent id of an agent user",
        )
    if agent is not None:
        _get(session, AgentRow, agent, "agent")
    if session.exec(select(User.id).where(User.name == name)).first() is not None:
        raise ConflictError(f"user name {name!r} is taken")
    token = secrets.token_urlsafe(32)
    user = User(name=name, role=role, agent=agent, token_hash=hash_token(token))
    session.add(user)
    session.flush()
    return NewUser(user=user, token=token)


def authenticate(session: Session, *, token: str) -> User | None:
    """The user whose token is ``token``, or None."""
    if not token:
        return None
    return session.exec(select(User).where(User.token_hash == hash_token(token))).first()
