"""Request and response models (the Base/Create/Update/Public family per resource).

They map to ``wfm.domain``'s value objects (``to_domain``/``from_domain``); the domain
objects check the rules that span fields (an inbound project needs a target …). Every
number and text is bounded, so that a request the database cannot hold is a 422, not a 500.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from wfm.db.tables import Role, RunStatus
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

__all__ = [
    "AgentCreate",
    "AgentPublic",
    "AgentScheduleOut",
    "AgentUpdate",
    "AgentsPublic",
    "ErrorOut",
    "HealthOut",
    "HistoryUploadOut",
    "PlanCreate",
    "PlanRunOut",
    "ProjectCreate",
    "ProjectPublic",
    "ProjectUpdate",
    "ProjectsPublic",
    "PublicationOut",
    "ScheduleOut",
    "SegmentOut",
    "StaffingIn",
    "StaffingOut",
]

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$"
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN, min_length=1, max_length=64)]
"""A project or agent id: letters, digits and ``_.:@-``, at most 64 characters."""
Text = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
]

FIRST_DAY = dt.date(1970, 1, 1)
LAST_DAY = dt.date(2199, 12, 31)


def _in_range(day: dt.date) -> dt.date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"{day} is outside {FIRST_DAY} … {LAST_DAY}")
    return day


def _naive(t: dt.time) -> dt.time:
    if t.tzinfo is not None:
        raise ValueError("a local time of day without a UTC offset, e.g. 08:00")
    return t


Day = Annotated[dt.date, AfterValidator(_in_range)]
LocalTime = Annotated[dt.time, AfterValidator(_naive)]
Share = Annotated[float, Field(gt=0.0, lt=1.0)]
Seconds = Annotated[float, Field(ge=0.0, le=86_400.0)]
Euros = Annotated[float, Field(ge=0.0, le=1e9)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ErrorOut(BaseModel):
    """An error: what is wrong (``detail``) and, where known, the field it is about."""

    detail: str
    field: str | None = None


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str
    database: str


# --------------------------------------------------------------------------------------------
# projects


class ServiceTargetModel(_Model):
    """``sl_target`` of contacts answered within ``answer_within_s`` seconds."""

    sl_target: Share
    answer_within_s: Annotated[float, Field(ge=0.0, le=3600.0)]
    max_abandon_rate: Share | None = None
    max_asa_s: Annotated[float, Field(gt=0.0, le=3600.0)] | None = None


class OutboundModel(_Model):
    contacts_per_week: Annotated[float, Field(ge=0.0, le=1e7)]
    dials_per_contact: Annotated[float, Field(ge=1.0, le=1000.0)]
    talk_s: Seconds
    wrap_s: Seconds = 15.0
    attempt_s: Seconds = 120.0


class KpiRowModel(_Model):
    sl_at_least: Annotated[float, Field(ge=0.0, le=1.0)]
    coefficient: Annotated[float, Field(ge=0.0, le=10.0)]


class ContractModel(_Model):
    billing: BillingModel
    rate_eur: Euros
    kpi_table: Annotated[list[KpiRowModel], Field(max_length=50)] = []
    bonus_eur_per_point: Euros = 0.0
    penalty_eur_per_point: Euros = 0.0
    penalty_cap_eur: Euros | None = None


class OpeningModel(_Model):
    """Local opening and closing time; ``close`` <= ``open`` runs past midnight."""

    open: LocalTime
    close: LocalTime


Weekday = Annotated[int, Field(ge=1, le=7)]


class ProjectBase(_Model):
    name: Text
    kind: ProjectKind
    target: ServiceTargetModel | None = None
    contract: ContractModel
    opening: dict[Weekday, OpeningModel] | None = Field(
        default=None, description="Opening hours by ISO weekday (1 = Monday); null = 24/7."
    )
    patience_s: Annotated[float, Field(gt=0.0, le=86_400.0)] | None = None
    concurrency: Annotated[int, Field(ge=1, le=50)] = 1
    outbound: OutboundModel | None = None

    def to_domain(self, project: str) -> Project:
        t, c, o = self.target, self.contract, self.outbound
        return Project(
            project=project,
            name=self.name,
            kind=self.kind,
            target=None
            if t is None
            else ServiceTarget(t.sl_target, t.answer_within_s, t.max_abandon_rate, t.max_asa_s),
            contract=Contract(
                billing=c.billing,
                rate_eur=c.rate_eur,
                kpi_table=tuple(KpiCoefficient(r.sl_at_least, r.coefficient) for r in c.kpi_table),
                bonus_eur_per_point=c.bonus_eur_per_point,
                penalty_eur_per_point=c.penalty_eur_per_point,
                penalty_cap_eur=c.penalty_cap_eur,
            ),
            opening=None
            if self.opening is None
            else OpeningHours({d: (h.open, h.close) for d, h in self.opening.items()}),
            patience_s=self.patience_s,
            concurrency=self.concurrency,
            outbound=None
            if o is None
            else OutboundTarget(
                o.contacts_per_week, o.dials_per_contact, o.talk_s, o.wrap_s, o.attempt_s
            ),
        )


class ProjectCreate(ProjectBase):
    project: Id


class ProjectPublic(ProjectBase):
    project: str

    @classmethod
    def from_domain(cls, p: Project) -> ProjectPublic:
        t, c, o = p.target, p.contract, p.outbound
        return cls(
            project=p.project,
            name=p.name,
            kind=p.kind,
            target=None
            if t is None
            else ServiceTargetModel(
                sl_target=t.sl_target,
                answer_within_s=t.answer_within_s,
                max_abandon_rate=t.max_abandon_rate,
                max_asa_s=t.max_asa_s,
            ),
            contract=ContractModel(
                billing=c.billing,
                rate_eur=c.rate_eur,
                kpi_table=[
                    KpiRowModel(sl_at_least=r.sl_at_least, coefficient=r.coefficient)
                    for r in c.kpi_table
                ],
                bonus_eur_per_point=c.bonus_eur_per_point,
                penalty_eur_per_point=c.penalty_eur_per_point,
                penalty_cap_eur=c.penalty_cap_eur,
            ),
            opening=None
            if p.opening is None
            else {
                d: OpeningModel(open=start, close=end)
                for d, (start, end) in sorted(p.opening.hours.items())
            },
            patience_s=p.patience_s,
            concurrency=p.concurrency,
            outbound=None
            if o is None
            else OutboundModel(
                contacts_per_week=o.contacts_per_week,
                dials_per_contact=o.dials_per_contact,
                talk_s=o.talk_s,
                wrap_s=o.wrap_s,
                attempt_s=o.attempt_s,
            ),
        )


class ProjectUpdate(_Model):
    """The fields to change; the others keep their stored values (nested objects are
    replaced whole)."""

    name: Text | None = None
    kind: ProjectKind | None = None
    target: ServiceTargetModel | None = None
    contract: ContractModel | None = None
    opening: dict[Weekday, OpeningModel] | None = None
    patience_s: Annotated[float, Field(gt=0.0, le=86_400.0)] | None = None
    concurrency: Annotated[int, Field(ge=1, le=50)] | None = None
    outbound: OutboundModel | None = None


class ProjectsPublic(BaseModel):
    data: list[ProjectPublic]
    count: int


# --------------------------------------------------------------------------------------------
# agents


class SkillModel(_Model):
    """A project the agent is certified for; lower ``priority`` is preferred."""

    project: Id
    priority: Annotated[int, Field(ge=1, le=100)] = 1


Hours = Annotated[float, Field(ge=0.0, le=168.0)]


class AgentBase(_Model):
    skills: Annotated[list[SkillModel], Field(min_length=1, max_length=50)]
    min_hours_week: Hours
    max_hours_week: Hours
    max_days_week: Annotated[int, Field(ge=1, le=7)] = 5
    earliest_start: LocalTime | None = None
    latest_end: LocalTime | None = None
    days_off: Annotated[list[Day], Field(max_length=400)] = []
    preferred_start: LocalTime | None = None
    grade: Text = "standard"
    hourly_cost_eur: Annotated[float, Field(ge=0.0, le=10_000.0)] = 0.0

    def to_domain(self, agent: str) -> Agent:
        return Agent(
            agent=agent,
            skills=tuple(Skill(project=s.project, priority=s.priority) for s in self.skills),
            min_hours_week=self.min_hours_week,
            max_hours_week=self.max_hours_week,
            max_days_week=self.max_days_week,
            earliest_start=self.earliest_start,
            latest_end=self.latest_end,
            days_off=frozenset(self.days_off),
            preferred_start=self.preferred_start,
            grade=self.grade,
            hourly_cost_eur=self.hourly_cost_eur,
        )


class AgentCreate(AgentBase):
    agent: Id


class AgentPublic(AgentBase):
    agent: str

    @classmethod
    def from_domain(cls, a: Agent) -> AgentPublic:
        return cls(
            agent=a.agent,
            skills=[SkillModel(project=s.project, priority=s.priority) for s in a.skills],
            min_hours_week=a.min_hours_week,
            max_hours_week=a.max_hours_week,
            max_days_week=a.max_days_week,
            earliest_start=a.earliest_start,
            latest_end=a.latest_end,
            days_off=sorted(a.days_off),
            preferred_start=a.preferred_start,
            grade=a.grade,
            hourly_cost_eur=a.hourly_cost_eur,
        )


class AgentUpdate(_Model):
    """The fields to change; the others keep their stored values (``skills`` and
    ``days_off`` are replaced whole)."""

    skills: Annotated[list[SkillModel], Field(min_length=1, max_length=50)] | None = None
    min_hours_week: Hours | None = None
    max_hours_week: Hours | None = None
    max_days_week: Annotated[int, Field(ge=1, le=7)] | None = None
    earliest_start: LocalTime | None = None
    latest_end: LocalTime | None = None
    days_off: Annotated[list[Day], Field(max_length=400)] | None = None
    preferred_start: LocalTime | None = None
    grade: Text | None = None
    hourly_cost_eur: Annotated[float, Field(ge=0.0, le=10_000.0)] | None = None


class AgentsPublic(BaseModel):
    data: list[AgentPublic]
    count: int


# --------------------------------------------------------------------------------------------
# history, staffing


class HistoryUploadOut(BaseModel):
    upload_id: int
    project: str
    rows: int
    first_ts: dt.datetime | None
    last_ts: dt.datetime | None


class StaffingIn(_Model):
    """One interval: ``calls`` offered in ``interval_min`` minutes with ``aht_s`` handle
    time, to answer ``sl_target`` of them within ``answer_within_s`` seconds (the options
    of ``wfm staff``)."""

    calls: Annotated[float, Field(ge=0.0, le=20_000.0)]
    aht_s: Annotated[float, Field(gt=0.0, le=7_200.0)]
    sl_target: Share
    answer_within_s: Annotated[float, Field(ge=0.0, le=3_600.0)]
    interval_min: Literal[15, 30, 60] = 30
    model: Literal["erlang_c", "erlang_a"] = "erlang_c"
    patience_s: Annotated[float, Field(gt=0.0, le=86_400.0)] | None = None
    shrinkage: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    max_occupancy: Share | None = None
    max_asa_s: Annotated[float, Field(gt=0.0, le=3_600.0)] | None = None
    max_abandon_rate: Share | None = None
    concurrency: Annotated[int, Field(ge=1, le=50)] = 1


class StaffingOut(BaseModel):
    """Required agents and what they achieve (``asa_s`` null when infinite)."""

    model: str
    calls: float
    interval_min: int
    aht_s: float
    sl_target: float
    answer_within_s: float
    load_erl: float
    agents: int
    sl: float | None
    asa_s: float | None
    occupancy: float | None
    p_wait: float | None
    abandon_rate: float | None
    shrinkage: float
    fte: float | None


# --------------------------------------------------------------------------------------------
# plans


class PlanCreate(_Model):
    """Plan the first ``days`` days of the week starting on the Monday ``week``."""

    week: Day
    days: Annotated[int, Field(ge=1, le=7)] = 7
    projects: Annotated[list[Id], Field(min_length=1, max_length=100)] | None = None
    forecast_model: Literal[
        "auto",
        "seasonal_naive",
        "slot_mean_4",
        "ets_daily_profile",
        "mstl",
        "calendar_regression",
        "combination",
    ] = "auto"
    time_limit_s: Annotated[float, Field(gt=0.0, le=3600.0)] = 60.0
    workers: Annotated[int, Field(ge=1, le=16)] = 1
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    replications: Annotated[int, Field(ge=2, le=200)] = 10
    warm_start: bool = Field(
        default=True,
        description="Plan against the published schedules of the week before and of this week.",
    )
    loop_rounds: int = Field(
        default=0,
        ge=0,
        le=5,
        description="Rounds of raising the requirement where the simulation misses the target.",
    )
    pass_on: Literal["lo", "mean"] = Field(
        default="lo",
        description="A project passes if the lower 95 % bound (lo) or the mean of its "
        "simulated week SL reaches its target.",
    )


class StepOut(BaseModel):
    name: str
    state: Literal["pending", "running", "done", "failed"]
    seconds: float | None


class RequirementOut(BaseModel):
    project: str
    ts: dt.datetime
    agents: int
    load_erl: float
    sl: float | None
    model: str
    sl_target: float | None
    answer_within_s: float | None


class SegmentOut(BaseModel):
    agent: str
    start: dt.datetime
    end: dt.datetime
    activity: str
    project: str | None


class PlanRunOut(BaseModel):
    """A plan run: status, step, progress (0 … 1), each step's state and seconds, the
    request, and when done ``result`` (stored ids, forecast model, requirements per
    project, the solver's status/objective/bound/penalties and coverage, simulated KPIs
    per project with 95 % intervals). ``requirements`` and ``schedule`` hold the rows when
    asked for (``?rows=true``)."""

    id: int
    week: dt.date
    status: RunStatus
    step: str
    progress: float
    error: str | None
    inputs_hash: str
    code_version: str
    created_at: dt.datetime
    updated_at: dt.datetime
    steps: list[StepOut]
    request: dict[str, Any] | None
    result: dict[str, Any] | None
    requirements: list[RequirementOut] | None = None
    schedule: list[SegmentOut] | None = None


class PublicationOut(BaseModel):
    schedule_id: int
    week: dt.date
    version: int
    etag: str
    plan_run_id: int | None
    created_at: dt.datetime
    replayed: bool


class ScheduleOut(BaseModel):
    """A published version of a week (``etag`` also in the ``ETag`` header)."""

    schedule_id: int
    week: dt.date
    version: int
    versions: list[int]
    etag: str
    plan_run_id: int | None
    published_from_id: int | None
    created_at: dt.datetime
    segments: list[SegmentOut]


class AgentScheduleOut(BaseModel):
    agent: str
    from_: dt.date = Field(alias="from")
    to: dt.date
    tz: str
    segments: list[SegmentOut]

    model_config = ConfigDict(populate_by_name=True)


class UserOut(BaseModel):
    name: str
    role: Role
    agent: str | None
