"""Typed value objects of the planning domain (leaf layer).

Frozen dataclasses, validated on construction: a value object that exists is a valid one.
Units are in the field names (``answer_within_s``, ``aht_s``, ``rate_eur``); times of day are
``datetime.time`` in the site's local time, and a site carries its IANA time zone.

The database tables (``wfm/db``, later) map to these objects; they do not replace them.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wfm.errors import InputError

__all__ = [
    "Agent",
    "BillingModel",
    "Contract",
    "KpiCoefficient",
    "OpeningHours",
    "OutboundTarget",
    "Project",
    "ProjectKind",
    "ServiceTarget",
    "ShiftRules",
    "Site",
    "Skill",
]


def _require(ok: bool, message: str, *, field: str, expected: str) -> None:
    if not ok:
        raise InputError(message, field=field, expected=expected)


class ProjectKind(enum.StrEnum):
    """What a project's agents do: answer calls, answer chats, or dial out."""

    INBOUND = "inbound"
    CHAT = "chat"
    OUTBOUND = "outbound"


class BillingModel(enum.StrEnum):
    """How the client pays the provider."""

    PER_CONTACT = "per_contact"  # per handled contact
    PER_HOUR = "per_hour"  # per production (logged-in) hour
    PER_SEAT = "per_seat"  # per FTE seat and month
    LEASING = "leasing"  # personnel leasing: hourly rate per agent provided


@dataclass(frozen=True, slots=True)
class Site:
    """A contact-centre site: its IANA time zone and the holiday calendar it follows."""

    name: str
    tz: str
    country: str
    subdiv: str | None = None

    def __post_init__(self) -> None:
        _require(bool(self.name), "site name is empty", field="name", expected="a name")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InputError(
                f"tz: unknown time zone {self.tz!r}", field="tz", expected="an IANA zone"
            ) from exc

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


@dataclass(frozen=True, slots=True)
class ServiceTarget:
    """A service-level target such as 80/20: ``sl_target`` of offered contacts answered
    within ``answer_within_s`` seconds (abandoned contacts count against it), optionally
    with a ceiling on abandonment (share of offered) and on average speed of answer."""

    sl_target: float
    answer_within_s: float
    max_abandon_rate: float | None = None
    max_asa_s: float | None = None

    def __post_init__(self) -> None:
        _require(
            0.0 < self.sl_target < 1.0,
            f"sl_target: {self.sl_target} is outside (0, 1)",
            field="sl_target",
            expected="a share in (0, 1), e.g. 0.8",
        )
        _require(
            self.answer_within_s >= 0.0,
            f"answer_within_s: {self.answer_within_s} is negative",
            field="answer_within_s",
            expected="seconds >= 0",
        )
        if self.max_abandon_rate is not None:
            _require(
                0.0 < self.max_abandon_rate < 1.0,
                f"max_abandon_rate: {self.max_abandon_rate} is outside (0, 1)",
                field="max_abandon_rate",
                expected="a share in (0, 1)",
            )
        if self.max_asa_s is not None:
            _require(
                self.max_asa_s > 0.0,
                f"max_asa_s: {self.max_asa_s} is not positive",
                field="max_asa_s",
                expected="seconds > 0",
            )

    @property
    def label(self) -> str:
        """The planner's shorthand, e.g. ``80/20``."""
        return f"{round(self.sl_target * 100):g}/{self.answer_within_s:g}"


@dataclass(frozen=True, slots=True)
class OutboundTarget:
    """An outbound campaign's goal and dialling assumptions."""

    contacts_per_week: float
    dials_per_contact: float
    talk_s: float
    wrap_s: float = 15.0
    attempt_s: float = 120.0

    def __post_init__(self) -> None:
        for name in ("contacts_per_week", "talk_s", "wrap_s", "attempt_s"):
            value = getattr(self, name)
            _require(value >= 0.0, f"{name}: {value} is negative", field=name, expected=">= 0")
        _require(
            self.dials_per_contact >= 1.0,
            f"dials_per_contact: {self.dials_per_contact} is below 1",
            field="dials_per_contact",
            expected="a number >= 1",
        )


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Opening hours per ISO weekday (1 = Monday … 7 = Sunday), local time.

    ``close`` <= ``open`` means the day's opening runs past midnight; a weekday missing
    from ``hours`` is closed. ``None`` for the whole object (on a project) means 24/7."""

    hours: Mapping[int, tuple[dt.time, dt.time]]

    def __post_init__(self) -> None:
        for weekday in self.hours:
            _require(
                1 <= weekday <= 7,
                f"weekday: {weekday} is not an ISO weekday",
                field="weekday",
                expected="1 (Monday) … 7 (Sunday)",
            )

    def is_open(self, local: dt.datetime) -> bool:
        """Whether the project is open at the local wall-clock time ``local``."""
        t = local.time()
        today = self.hours.get(local.isoweekday())
        if today is not None:
            start, end = today
            if end <= start:  # past midnight: today's part runs to 24:00
                if t >= start:
                    return True
            elif start <= t < end:
                return True
        yesterday = self.hours.get((local.isoweekday() - 2) % 7 + 1)
        if yesterday is not None:
            start, end = yesterday
            if end <= start and t < end:
                return True
        return False


@dataclass(frozen=True, slots=True)
class KpiCoefficient:
    """One row of a contract's KPI table: when the achieved service level is at least
    ``sl_at_least``, the invoice is multiplied by ``coefficient``."""

    sl_at_least: float
    coefficient: float


@dataclass(frozen=True, slots=True)
class Contract:
    """A client contract: billing model and rates, KPI table, bonus and penalty."""

    billing: BillingModel
    rate_eur: float
    kpi_table: tuple[KpiCoefficient, ...] = ()
    bonus_eur_per_point: float = 0.0
    penalty_eur_per_point: float = 0.0
    penalty_cap_eur: float | None = None

    def __post_init__(self) -> None:
        _require(
            self.rate_eur >= 0.0,
            f"rate_eur: {self.rate_eur} is negative",
            field="rate_eur",
            expected=">= 0",
        )
        thresholds = [row.sl_at_least for row in self.kpi_table]
        _require(
            thresholds == sorted(thresholds),
            "kpi_table: rows are not sorted by sl_at_least",
            field="kpi_table",
            expected="rows in increasing sl_at_least",
        )

    def kpi_coefficient(self, sl: float) -> float:
        """The multiplier for an achieved service level (1.0 with no table)."""
        coefficient = 1.0 if not self.kpi_table else self.kpi_table[0].coefficient
        for row in self.kpi_table:
            if sl >= row.sl_at_least:
                coefficient = row.coefficient
        return coefficient


@dataclass(frozen=True, slots=True)
class Project:
    """A client project served by the site's shared agent pool."""

    project: str
    name: str
    kind: ProjectKind
    target: ServiceTarget | None
    contract: Contract
    opening: OpeningHours | None = None
    patience_s: float | None = None
    concurrency: int = 1
    outbound: OutboundTarget | None = None

    def __post_init__(self) -> None:
        _require(bool(self.project), "project id is empty", field="project", expected="an id")
        _require(
            self.concurrency >= 1,
            f"concurrency: {self.concurrency} is below 1",
            field="concurrency",
            expected="an integer >= 1",
        )
        if self.kind is ProjectKind.OUTBOUND:
            _require(
                self.outbound is not None,
                f"project {self.project}: an outbound project needs its outbound target",
                field="outbound",
                expected="an OutboundTarget",
            )
        else:
            _require(
                self.target is not None,
                f"project {self.project}: an {self.kind} project needs a service target",
                field="target",
                expected="a ServiceTarget",
            )
        if self.patience_s is not None:
            _require(
                self.patience_s > 0.0,
                f"patience_s: {self.patience_s} is not positive",
                field="patience_s",
                expected="seconds > 0",
            )


@dataclass(frozen=True, slots=True)
class Skill:
    """An agent's certification for a project; lower ``priority`` is preferred."""

    project: str
    priority: int = 1


@dataclass(frozen=True, slots=True)
class Agent:
    """A named agent: skills in priority order, contract hours and availability."""

    agent: str
    skills: tuple[Skill, ...]
    min_hours_week: float
    max_hours_week: float
    max_days_week: int = 5
    earliest_start: dt.time | None = None
    latest_end: dt.time | None = None
    days_off: frozenset[dt.date] = field(default_factory=frozenset)
    preferred_start: dt.time | None = None
    grade: str = "standard"
    hourly_cost_eur: float = 0.0

    def __post_init__(self) -> None:
        _require(bool(self.agent), "agent id is empty", field="agent", expected="an id")
        _require(
            len(self.skills) >= 1,
            f"agent {self.agent}: no skills",
            field="skills",
            expected="at least one project",
        )
        projects = [s.project for s in self.skills]
        _require(
            len(set(projects)) == len(projects),
            f"agent {self.agent}: a project is listed twice in skills",
            field="skills",
            expected="distinct projects",
        )
        _require(
            0.0 <= self.min_hours_week <= self.max_hours_week,
            f"agent {self.agent}: min_hours_week {self.min_hours_week} exceeds "
            f"max_hours_week {self.max_hours_week}",
            field="min_hours_week",
            expected="0 <= min_hours_week <= max_hours_week",
        )
        _require(
            1 <= self.max_days_week <= 7,
            f"agent {self.agent}: max_days_week {self.max_days_week} is outside 1..7",
            field="max_days_week",
            expected="1..7",
        )

    @property
    def projects(self) -> tuple[str, ...]:
        """Project ids in skill-priority order."""
        return tuple(s.project for s in sorted(self.skills, key=lambda s: s.priority))

    @staticmethod
    def skills_from(projects: Sequence[str]) -> tuple[Skill, ...]:
        """Skills from project ids given in priority order (first = preferred)."""
        return tuple(Skill(project=p, priority=i + 1) for i, p in enumerate(projects))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class ShiftRules:
    """The hard rules every shift must keep (the scheduler's model and the independent
    validator both read them). Units are in the names; the defaults are issue 6's.

    - shift lengths ``min_shift_h`` … ``max_shift_h`` in steps of ``shift_step_min``; shifts
      start on the ``start_grid_min`` local grid; at most ``max_shifts_per_day`` shifts per
      local calendar day of their start; at least ``min_rest_h`` between two shifts;
    - at most ``max_days_week`` working days per ISO week (an agent's own, smaller
      ``Agent.max_days_week`` wins) and ``max_consecutive_days`` in a row, counted across the
      week boundary given the previous week;
    - a shift longer than ``lunch_over_h`` has one lunch of ``lunch_min_min`` …
      ``lunch_max_min`` starting ``lunch_start_after_h`` … ``lunch_start_before_h`` into the
      shift; one ``break_min`` break per full ``break_every_h`` paid hours, not next to lunch;
    - a block of work on one project lasts at least ``min_project_block_h``;
    - ``opening`` maps a project to its opening hours; a project missing from it (or mapped
      to ``None``) is open exactly in the intervals that have requirement rows.
    """

    min_shift_h: float = 4.0
    max_shift_h: float = 10.0
    shift_step_min: int = 30
    start_grid_min: int = 15
    max_shifts_per_day: int = 1
    min_rest_h: float = 11.0
    max_days_week: int = 5
    max_consecutive_days: int = 6
    lunch_over_h: float = 6.0
    lunch_min_min: int = 30
    lunch_max_min: int = 60
    lunch_start_after_h: float = 3.0
    lunch_start_before_h: float = 5.0
    break_min: int = 15
    break_every_h: float = 4.0
    min_project_block_h: float = 1.0
    opening: Mapping[str, OpeningHours | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        minutes = ("shift_step_min", "start_grid_min", "lunch_min_min", "lunch_max_min")
        counts = ("max_shifts_per_day", "max_days_week", "max_consecutive_days")
        for name in (*minutes, *counts, "break_min"):
            value = getattr(self, name)
            _require(
                isinstance(value, int) and not isinstance(value, bool),
                f"{name}: {value!r} is not a whole number",
                field=name,
                expected="an integer",
            )
        hours = (
            "min_shift_h",
            "max_shift_h",
            "min_rest_h",
            "lunch_over_h",
            "lunch_start_after_h",
            "lunch_start_before_h",
            "break_every_h",
            "min_project_block_h",
        )
        for name in hours:
            value = getattr(self, name)
            _require(
                _is_number(value) and value >= 0.0,
                f"{name}: {value!r} is not a number of hours >= 0",
                field=name,
                expected="hours >= 0",
            )
        for name in (*minutes, *counts, "min_shift_h", "break_every_h"):
            value = getattr(self, name)
            _require(value > 0, f"{name}: {value} is not positive", field=name, expected="> 0")
        _require(
            self.break_min >= 0,
            f"break_min: {self.break_min} is negative",
            field="break_min",
            expected="minutes >= 0",
        )
        _require(
            self.min_shift_h <= self.max_shift_h,
            f"min_shift_h: {self.min_shift_h} exceeds max_shift_h {self.max_shift_h}",
            field="min_shift_h",
            expected="min_shift_h <= max_shift_h",
        )
        _require(
            1440 % self.start_grid_min == 0,
            f"start_grid_min: {self.start_grid_min} does not divide a day",
            field="start_grid_min",
            expected="a divisor of 1440, e.g. 15 or 30",
        )
        _require(
            self.max_days_week <= 7,
            f"max_days_week: {self.max_days_week} exceeds 7",
            field="max_days_week",
            expected="1..7",
        )
        _require(
            self.lunch_min_min <= self.lunch_max_min,
            f"lunch_min_min: {self.lunch_min_min} exceeds lunch_max_min {self.lunch_max_min}",
            field="lunch_min_min",
            expected="lunch_min_min <= lunch_max_min",
        )
        _require(
            self.lunch_start_after_h <= self.lunch_start_before_h,
            f"lunch_start_after_h: {self.lunch_start_after_h} exceeds lunch_start_before_h "
            f"{self.lunch_start_before_h}",
            field="lunch_start_after_h",
            expected="lunch_start_after_h <= lunch_start_before_h",
        )
        _require(
            isinstance(self.opening, Mapping),
            f"opening: {type(self.opening).__name__} is not a mapping",
            field="opening",
            expected="a mapping project -> OpeningHours or None",
        )
        for project, hours_ in self.opening.items():
            _require(
                isinstance(project, str) and bool(project),
                f"opening: {project!r} is not a project id",
                field="opening",
                expected="project ids as keys",
            )
            _require(
                hours_ is None or isinstance(hours_, OpeningHours),
                f"opening: project {project}: {hours_!r} is not OpeningHours",
                field="opening",
                expected="OpeningHours or None",
            )

    def opening_for(self, project: str) -> OpeningHours | None:
        """The project's opening hours; ``None`` = open where it has requirement rows."""
        return self.opening.get(project)
