"""SQLModel tables of the wfm database (services layer).

The tables map to the leaf layer's value objects, they do not replace them: ``ProjectRow``
and ``AgentRow`` (with ``SkillRow``) convert with ``from_domain``/``to_domain``. Frames are
stored one row per frame row under a header row (an upload, a forecast, a requirement set,
a schedule version, a KPI set), with the DESIGN.md column names. Every timestamp is a
``UtcDateTime``: stored in UTC, read back tz-aware.

::

    project ─┬─ agent_skill ─ agent ─┬─ app_user
             │                        └─ schedule_segment ─ schedule_version ─ plan_run
             ├─ history_row ─ history_upload
             ├─ forecast_row ─ forecast ─ plan_run
             ├─ requirement_row ─ requirement_set
             └─ kpi_row ─ kpi_set

A published ``schedule_version`` is immutable: ``(week, version)`` is unique, and the ORM
refuses to flush a change to a published version or its segments (``ConflictError``).
"""

# no ``from __future__ import annotations``: SQLModel reads the annotations at class creation

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapper, registry
from sqlmodel import Field, SQLModel

from wfm.contracts import ACTIVITIES
from wfm.db._types import UtcDateTime
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
    Skill,
)
from wfm.errors import ConflictError

__all__ = [
    "Forecast",
    "ForecastRow",
    "HistoryRow",
    "HistoryUpload",
    "KpiRow",
    "KpiSet",
    "PlanRun",
    "ProjectRow",
    "RequirementRow",
    "RequirementSet",
    "Role",
    "RunStatus",
    "ScheduleSegment",
    "ScheduleStatus",
    "ScheduleVersion",
    "SkillRow",
    "User",
    "metadata",
    "utc_now",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class _Base(SQLModel, registry=registry(metadata=sa.MetaData(naming_convention=NAMING_CONVENTION))):
    """wfm's own metadata (named constraints, so batch migrations on SQLite can alter them)."""


metadata: sa.MetaData = _Base.metadata
"""All wfm tables; ``wfm/db/migrations`` creates them."""

ID = sa.String(64)  # project, agent and user ids
TEXT = sa.String(200)


def utc_now() -> dt.datetime:
    """The current time, tz-aware UTC."""
    return dt.datetime.now(dt.UTC)


def _enum(cls: type[enum.StrEnum], name: str) -> sa.Enum:
    """A text column holding the enum's values, checked by a CHECK constraint."""
    return sa.Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


def _need(value: float | None, name: str, key: str) -> float:
    if value is None:
        raise ValueError(f"{key}: column {name} is NULL in the database")
    return value


# --------------------------------------------------------------------------------------------
# projects and agents


class ProjectRow(_Base, table=True):
    """A project with its service target, outbound target, contract, KPI table (JSON pairs
    ``[sl_at_least, coefficient]``) and opening hours (JSON ``{"1": ["08:00:00",
    "20:00:00"]}`` by ISO weekday; NULL = 24/7)."""

    __tablename__ = "project"

    project: str = Field(primary_key=True, sa_type=ID)
    name: str = Field(sa_type=TEXT)
    kind: ProjectKind = Field(sa_type=_enum(ProjectKind, "project_kind"))
    sl_target: float | None = None
    answer_within_s: float | None = None
    max_abandon_rate: float | None = None
    max_asa_s: float | None = None
    patience_s: float | None = None
    concurrency: int = 1
    contacts_per_week: float | None = None
    dials_per_contact: float | None = None
    talk_s: float | None = None
    wrap_s: float | None = None
    attempt_s: float | None = None
    billing: BillingModel = Field(sa_type=_enum(BillingModel, "billing_model"))
    rate_eur: float
    kpi_table: list[list[float]] = Field(default_factory=list, sa_type=sa.JSON)
    bonus_eur_per_point: float = 0.0
    penalty_eur_per_point: float = 0.0
    penalty_cap_eur: float | None = None
    opening_hours: dict[str, list[str]] | None = Field(default=None, sa_type=sa.JSON)

    @classmethod
    def from_domain(cls, project: Project) -> "ProjectRow":
        target, outbound, contract = project.target, project.outbound, project.contract
        opening = None
        if project.opening is not None:
            opening = {
                str(day): [start.isoformat(), end.isoformat()]
                for day, (start, end) in sorted(project.opening.hours.items())
            }
        return cls(
            project=project.project,
            name=project.name,
            kind=project.kind,
            sl_target=None if target is None else target.sl_target,
            answer_within_s=None if target is None else target.answer_within_s,
            max_abandon_rate=None if target is None else target.max_abandon_rate,
            max_asa_s=None if target is None else target.max_asa_s,
            patience_s=project.patience_s,
            concurrency=project.concurrency,
            contacts_per_week=None if outbound is None else outbound.contacts_per_week,
            dials_per_contact=None if outbound is None else outbound.dials_per_contact,
            talk_s=None if outbound is None else outbound.talk_s,
            wrap_s=None if outbound is None else outbound.wrap_s,
            attempt_s=None if outbound is None else outbound.attempt_s,
            billing=contract.billing,
            rate_eur=contract.rate_eur,
            kpi_table=[[row.sl_at_least, row.coefficient] for row in contract.kpi_table],
            bonus_eur_per_point=contract.bonus_eur_per_point,
            penalty_eur_per_point=contract.penalty_eur_per_point,
            penalty_cap_eur=contract.penalty_cap_eur,
            opening_hours=opening,
        )

    def to_domain(self) -> Project:
        key = f"project {self.project}"
        target = None
        if self.sl_target is not None:
            target = ServiceTarget(
                sl_target=self.sl_target,
                answer_within_s=_need(self.answer_within_s, "answer_within_s", key),
                max_abandon_rate=self.max_abandon_rate,
                max_asa_s=self.max_asa_s,
            )
        outbound = None
        if self.contacts_per_week is not None:
            outbound = OutboundTarget(
                contacts_per_week=self.contacts_per_week,
                dials_per_contact=_need(self.dials_per_contact, "dials_per_contact", key),
                talk_s=_need(self.talk_s, "talk_s", key),
                wrap_s=_need(self.wrap_s, "wrap_s", key),
                attempt_s=_need(self.attempt_s, "attempt_s", key),
            )
        opening = None
        if self.opening_hours is not None:
            opening = OpeningHours(
                {
                    int(day): (dt.time.fromisoformat(start), dt.time.fromisoformat(end))
                    for day, (start, end) in self.opening_hours.items()
                }
            )
        contract = Contract(
            billing=BillingModel(self.billing),
            rate_eur=self.rate_eur,
            kpi_table=tuple(
                KpiCoefficient(sl_at_least=float(sl), coefficient=float(c))
                for sl, c in self.kpi_table
            ),
            bonus_eur_per_point=self.bonus_eur_per_point,
            penalty_eur_per_point=self.penalty_eur_per_point,
            penalty_cap_eur=self.penalty_cap_eur,
        )
        return Project(
            project=self.project,
            name=self.name,
            kind=ProjectKind(self.kind),
            target=target,
            contract=contract,
            opening=opening,
            patience_s=self.patience_s,
            concurrency=self.concurrency,
            outbound=outbound,
        )


class AgentRow(_Base, table=True):
    """An agent's contract hours and availability; skills are ``SkillRow`` s, days off a
    JSON list of ISO dates."""

    __tablename__ = "agent"

    agent: str = Field(primary_key=True, sa_type=ID)
    min_hours_week: float
    max_hours_week: float
    max_days_week: int = 5
    earliest_start: dt.time | None = None
    latest_end: dt.time | None = None
    days_off: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    preferred_start: dt.time | None = None
    grade: str = Field(default="standard", sa_type=TEXT)
    hourly_cost_eur: float = 0.0

    @classmethod
    def from_domain(cls, agent: Agent) -> "tuple[AgentRow, list[SkillRow]]":
        """The agent's row and its skill rows (``position`` keeps the skills' order)."""
        row = cls(
            agent=agent.agent,
            min_hours_week=agent.min_hours_week,
            max_hours_week=agent.max_hours_week,
            max_days_week=agent.max_days_week,
            earliest_start=agent.earliest_start,
            latest_end=agent.latest_end,
            days_off=sorted(day.isoformat() for day in agent.days_off),
            preferred_start=agent.preferred_start,
            grade=agent.grade,
            hourly_cost_eur=agent.hourly_cost_eur,
        )
        skills = [
            SkillRow(agent=agent.agent, project=s.project, position=i, priority=s.priority)
            for i, s in enumerate(agent.skills)
        ]
        return row, skills

    def to_domain(self, skills: "list[SkillRow]") -> Agent:
        """The agent, with ``skills`` (this agent's rows) in ``position`` order."""
        ordered = sorted((s for s in skills if s.agent == self.agent), key=lambda s: s.position)
        return Agent(
            agent=self.agent,
            skills=tuple(Skill(project=s.project, priority=s.priority) for s in ordered),
            min_hours_week=self.min_hours_week,
            max_hours_week=self.max_hours_week,
            max_days_week=self.max_days_week,
            earliest_start=self.earliest_start,
            latest_end=self.latest_end,
            days_off=frozenset(dt.date.fromisoformat(day) for day in self.days_off),
            preferred_start=self.preferred_start,
            grade=self.grade,
            hourly_cost_eur=self.hourly_cost_eur,
        )


class SkillRow(_Base, table=True):
    """An agent's certification for a project: ``position`` 0 is the preferred project,
    ``priority`` the domain's skill priority (lower = preferred)."""

    __tablename__ = "agent_skill"
    __table_args__ = (sa.UniqueConstraint("agent", "position"),)

    agent: str = Field(primary_key=True, sa_type=ID, foreign_key="agent.agent", ondelete="CASCADE")
    project: str = Field(primary_key=True, sa_type=ID, foreign_key="project.project")
    position: int
    priority: int


# --------------------------------------------------------------------------------------------
# plan runs (the audit trail of the planning pipeline)


class RunStatus(enum.StrEnum):
    """Where a plan run is."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class PlanRun(_Base, table=True):
    """One run of the planning pipeline for a week: what went in (``inputs_hash``, and the
    ``request`` as JSON), which code ran (``code_version``), how far it got, its step timings
    in seconds, and, when done, a JSON ``result`` summary (ids of the stored frames, the
    solver's status and penalties, the simulated KPIs per project with their intervals)."""

    __tablename__ = "plan_run"
    __table_args__ = (sa.CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),)

    id: int | None = Field(default=None, primary_key=True)
    week: dt.date
    inputs_hash: str = Field(sa_type=sa.String(128))
    code_version: str = Field(sa_type=TEXT)
    status: RunStatus = Field(default=RunStatus.QUEUED, sa_type=_enum(RunStatus, "run_status"))
    progress: float = 0.0
    step: str = Field(default="", sa_type=TEXT)
    error: str | None = Field(default=None, sa_type=sa.Text)
    timings_s: dict[str, float] = Field(default_factory=dict, sa_type=sa.JSON)
    request: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    result: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
    updated_at: dt.datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


# --------------------------------------------------------------------------------------------
# frames: history, forecasts, requirements, KPIs


class HistoryUpload(_Base, table=True):
    """One upload of a project's history (``source``: e.g. the file name)."""

    __tablename__ = "history_upload"

    id: int | None = Field(default=None, primary_key=True)
    project: str = Field(sa_type=ID, foreign_key="project.project", index=True)
    source: str | None = Field(default=None, sa_type=TEXT)
    n_rows: int
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class HistoryRow(_Base, table=True):
    """A row of the history frame: contacts offered in the interval starting at ``ts``."""

    __tablename__ = "history_row"

    upload_id: int = Field(primary_key=True, foreign_key="history_upload.id", ondelete="CASCADE")
    project: str = Field(primary_key=True, sa_type=ID, foreign_key="project.project")
    ts: dt.datetime = Field(primary_key=True, sa_type=UtcDateTime)
    calls: float
    aht_s: float


class Forecast(_Base, table=True):
    """A demand forecast (``model``: the forecaster's name)."""

    __tablename__ = "forecast"

    id: int | None = Field(default=None, primary_key=True)
    model: str | None = Field(default=None, sa_type=TEXT)
    n_rows: int
    plan_run_id: int | None = Field(default=None, foreign_key="plan_run.id")
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class ForecastRow(_Base, table=True):
    """A row of the demand frame."""

    __tablename__ = "forecast_row"

    forecast_id: int = Field(primary_key=True, foreign_key="forecast.id", ondelete="CASCADE")
    project: str = Field(primary_key=True, sa_type=ID, foreign_key="project.project")
    ts: dt.datetime = Field(primary_key=True, sa_type=UtcDateTime)
    calls: float
    aht_s: float
    calls_lo_80: float
    calls_hi_80: float
    calls_lo_95: float
    calls_hi_95: float


class RequirementSet(_Base, table=True):
    """Staffing requirements computed from a forecast."""

    __tablename__ = "requirement_set"

    id: int | None = Field(default=None, primary_key=True)
    n_rows: int
    forecast_id: int | None = Field(default=None, foreign_key="forecast.id")
    plan_run_id: int | None = Field(default=None, foreign_key="plan_run.id")
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class RequirementRow(_Base, table=True):
    """A row of the requirements frame (``sl``, ``sl_target``, ``answer_within_s`` are NULL
    on outbound rows)."""

    __tablename__ = "requirement_row"

    requirement_set_id: int = Field(
        primary_key=True, foreign_key="requirement_set.id", ondelete="CASCADE"
    )
    project: str = Field(primary_key=True, sa_type=ID, foreign_key="project.project")
    ts: dt.datetime = Field(primary_key=True, sa_type=UtcDateTime)
    agents: int
    load_erl: float
    sl: float | None = None
    model: str = Field(sa_type=sa.String(32))
    sl_target: float | None = None
    answer_within_s: float | None = None


# --------------------------------------------------------------------------------------------
# schedules


class ScheduleStatus(enum.StrEnum):
    """A draft may be replaced; a published version never changes."""

    DRAFT = "draft"
    PUBLISHED = "published"


class ScheduleVersion(_Base, table=True):
    """A week's schedule: a draft (``version`` NULL) or a published version 1, 2, 3 … of
    ``week`` (a Monday). ``published_from_id`` is the draft a version was published from;
    ``etag`` changes with the content."""

    __tablename__ = "schedule_version"
    __table_args__ = (
        sa.UniqueConstraint("week", "version"),
        sa.CheckConstraint(
            "(status = 'draft' AND version IS NULL) OR (status = 'published' AND version >= 1)",
            name="version_iff_published",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    week: dt.date = Field(index=True)
    status: ScheduleStatus = Field(sa_type=_enum(ScheduleStatus, "schedule_status"))
    version: int | None = None
    idempotency_key: str | None = Field(default=None, sa_type=TEXT, unique=True)
    etag: str = Field(sa_type=sa.String(64))
    plan_run_id: int | None = Field(default=None, foreign_key="plan_run.id")
    published_from_id: int | None = Field(default=None, foreign_key="schedule_version.id")
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class ScheduleSegment(_Base, table=True):
    """A row of the schedule frame: ``agent`` does ``activity`` (on ``project`` for work)
    from ``start`` to ``end``."""

    __tablename__ = "schedule_segment"
    __table_args__ = (
        sa.UniqueConstraint("schedule_id", "agent", "start", "end"),
        sa.Index(None, "agent", "start"),
        sa.CheckConstraint('start < "end"', name="start_before_end"),
        sa.CheckConstraint(
            "activity IN (" + ", ".join(f"'{a}'" for a in ACTIVITIES) + ")", name="activity"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    schedule_id: int = Field(foreign_key="schedule_version.id", ondelete="CASCADE", index=True)
    agent: str = Field(sa_type=ID, foreign_key="agent.agent")
    start: dt.datetime = Field(sa_type=UtcDateTime)
    end: dt.datetime = Field(sa_type=UtcDateTime)
    activity: str = Field(sa_type=sa.String(16))
    project: str | None = Field(default=None, sa_type=ID, foreign_key="project.project")


def _published_status(connection: sa.Connection, schedule_id: int | None) -> bool:
    status = connection.execute(
        sa.select(sa.column("status"))
        .select_from(sa.table("schedule_version"))
        .where(sa.column("id") == schedule_id)
    ).scalar_one_or_none()
    return status == ScheduleStatus.PUBLISHED.value


def _keep_published_segment(_mapper: Mapper[Any], connection: sa.Connection, target: Any) -> None:
    if _published_status(connection, target.schedule_id):
        raise ConflictError(
            f"schedule {target.schedule_id} is published: its segments never change"
        )


def _keep_published_version(_mapper: Mapper[Any], connection: sa.Connection, target: Any) -> None:
    if _published_status(connection, target.id):
        raise ConflictError(f"schedule {target.id} is published: it never changes")


for _event in ("before_update", "before_delete"):
    sa.event.listen(ScheduleSegment, _event, _keep_published_segment)
    sa.event.listen(ScheduleVersion, _event, _keep_published_version)


# --------------------------------------------------------------------------------------------
# simulated KPIs


class KpiSet(_Base, table=True):
    """Simulated KPIs, e.g. of a schedule version."""

    __tablename__ = "kpi_set"

    id: int | None = Field(default=None, primary_key=True)
    n_rows: int
    schedule_id: int | None = Field(default=None, foreign_key="schedule_version.id")
    plan_run_id: int | None = Field(default=None, foreign_key="plan_run.id")
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)


class KpiRow(_Base, table=True):
    """A row of the kpis frame (bounds ``_lo``/``_hi`` NULL where not estimated)."""

    __tablename__ = "kpi_row"

    kpi_set_id: int = Field(primary_key=True, foreign_key="kpi_set.id", ondelete="CASCADE")
    project: str = Field(primary_key=True, sa_type=ID, foreign_key="project.project")
    ts: dt.datetime = Field(primary_key=True, sa_type=UtcDateTime)
    offered: float
    answered: float
    abandoned: float
    sl: float | None = None
    asa_s: float | None = None
    occupancy: float | None = None
    offered_lo: float | None = None
    offered_hi: float | None = None
    answered_lo: float | None = None
    answered_hi: float | None = None
    abandoned_lo: float | None = None
    abandoned_hi: float | None = None
    sl_lo: float | None = None
    sl_hi: float | None = None
    asa_s_lo: float | None = None
    asa_s_hi: float | None = None
    occupancy_lo: float | None = None
    occupancy_hi: float | None = None


# --------------------------------------------------------------------------------------------
# users


class Role(enum.StrEnum):
    """What a user may do: planners plan and publish, supervisors read, agents see their
    own shifts."""

    PLANNER = "planner"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


class User(_Base, table=True):
    """A user of the API. Only the SHA-256 of the user's token is stored."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=TEXT, unique=True)
    role: Role = Field(sa_type=_enum(Role, "role"))
    agent: str | None = Field(default=None, sa_type=ID, foreign_key="agent.agent")
    token_hash: str = Field(sa_type=sa.String(64), unique=True)
    created_at: dt.datetime = Field(default_factory=utc_now, sa_type=UtcDateTime)
