"""Outsourcer economics (engine): revenue, cost and margin of one project over one week.

Imports only the leaf layer (``wfm.domain``, ``wfm.errors``). Inputs and results are frozen
dataclasses with units in the names (``_eur``, ``_h``, ``_per_h``); bad input raises
:class:`~wfm.errors.InputError` naming the field.

Definitions (one project, one evaluated period — normally a week):

- ``work_h``: productive hours on the project (agents working its contacts).
- an agent's ``paid_h``: scheduled paid hours the agent spends for the project (its work plus
  paid breaks and training; lunch is unpaid).
- Revenue before KPIs (``base_eur``) by the contract's billing model, with rate ``r``:

  ======================  ============================================================
  ``per_contact``         r × answered contacts
  ``per_hour``            r × ``work_h`` (billed hours = productive hours)
  ``per_seat``            r per FTE seat and month × 12/52 (months per week) × FTE,
                          FTE = Σ paid_h ÷ ``full_time_week_h`` (default 40 h)
  ``leasing``             r × Σ paid_h (hourly rate per agent provided)
  ======================  ============================================================

- ``points`` = 100 × (SL − target); revenue = base × ``contract.kpi_coefficient(SL)``
  + bonus_eur_per_point × max(points, 0) − min(penalty_eur_per_point × max(−points, 0),
  penalty_cap_eur). Bonus, penalty and cap apply once per evaluated period. A project without
  an SL (outbound) or without a target gets coefficient 1.0 and no bonus or penalty.
- Cost: each agent's hourly cost is its own ``hourly_cost_eur`` when > 0, else its grade's rate
  from ``CostSettings.grade_rates_eur_per_h``. Shrinkage-paid hours are paid hours that no
  schedule shows (sick pay, holiday pay, coaching): ``shrinkage_paid_share`` s is their share
  of *all* paid hours, so they are paid_h × s ÷ (1 − s) and all paid hours are paid_h ÷ (1 − s)
  (the convention of ``wfm.staffing.fte``). Personnel cost = Σ agents hourly cost × (paid_h +
  shrinkage-paid h); cost = personnel cost × (1 + ``overhead_share``). The client is billed on
  the scheduled hours only, never on shrinkage-paid ones.
- margin = revenue − cost; margin_pct = 100 × margin ÷ revenue (``None`` when revenue is 0).

Service level with a confidence interval (lo, mean, hi): revenue is evaluated at each. With
non-decreasing KPI coefficients (checked) and a non-negative base, every term of the revenue is
non-decreasing in SL, so revenue and margin at lo and hi bound them exactly over the whole
interval. Answered contacts are taken as given at every SL (only the SL varies).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from wfm.domain import BillingModel, Contract
from wfm.errors import InputError

__all__ = [
    "DEFAULT_FULL_TIME_WEEK_H",
    "MONTHS_PER_WEEK",
    "AgentHours",
    "CostBreakdown",
    "CostSettings",
    "ProjectEconomics",
    "ProjectWeek",
    "RevenueAtSl",
    "ServiceLevel",
    "Totals",
    "evaluate",
    "evaluate_project",
    "revenue_at",
    "totals",
]

DEFAULT_FULL_TIME_WEEK_H = 40.0
MONTHS_PER_WEEK = 12.0 / 52.0


def _check_number(value: float, name: str, *, minimum: float = 0.0) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= minimum):
        raise InputError(
            f"{name}: {value!r} is not a finite number >= {minimum:g}",
            field=name,
            expected=f"a finite number >= {minimum:g}",
        )


def _check_share(value: float, name: str) -> None:
    if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
        raise InputError(
            f"{name}: {value!r} is outside [0, 1]", field=name, expected="a share in [0, 1]"
        )


@dataclass(frozen=True, slots=True)
class ServiceLevel:
    """An achieved service level with its confidence interval: ``lo <= mean <= hi`` in [0, 1]."""

    mean: float
    lo: float
    hi: float

    def __post_init__(self) -> None:
        for name in ("mean", "lo", "hi"):
            _check_share(getattr(self, name), f"sl_{name}" if name != "mean" else "sl")
        if not self.lo <= self.mean <= self.hi:
            raise InputError(
                f"sl: lo {self.lo} <= mean {self.mean} <= hi {self.hi} does not hold",
                field="sl",
                expected="sl_lo <= sl <= sl_hi",
            )

    @classmethod
    def exact(cls, sl: float) -> ServiceLevel:
        """A service level without uncertainty (lo = mean = hi)."""
        return cls(mean=sl, lo=sl, hi=sl)


@dataclass(frozen=True, slots=True)
class AgentHours:
    """One agent's scheduled paid hours for the project. ``hourly_cost_eur`` > 0 overrides the
    grade's rate."""

    agent: str
    paid_h: float
    grade: str = "standard"
    hourly_cost_eur: float = 0.0

    def __post_init__(self) -> None:
        _check_number(self.paid_h, "paid_h")
        _check_number(self.hourly_cost_eur, "hourly_cost_eur")


@dataclass(frozen=True, slots=True)
class CostSettings:
    """Cost and FTE assumptions: hourly cost per grade, overhead as a share of personnel cost,
    the share of all paid hours that is paid but not scheduled (shrinkage), and the full-time
    week that defines one FTE seat."""

    grade_rates_eur_per_h: Mapping[str, float] = field(default_factory=dict)
    overhead_share: float = 0.0
    shrinkage_paid_share: float = 0.0
    full_time_week_h: float = DEFAULT_FULL_TIME_WEEK_H

    def __post_init__(self) -> None:
        for grade, rate in self.grade_rates_eur_per_h.items():
            _check_number(rate, f"grade_rates_eur_per_h[{grade}]")
        _check_number(self.overhead_share, "overhead_share")
        if not (
            isinstance(self.shrinkage_paid_share, int | float)
            and 0.0 <= self.shrinkage_paid_share < 1.0
        ):
            raise InputError(
                f"shrinkage_paid_share: {self.shrinkage_paid_share!r} is outside [0, 1)",
                field="shrinkage_paid_share",
                expected="a share in [0, 1)",
            )
        _check_number(self.full_time_week_h, "full_time_week_h")
        if self.full_time_week_h <= 0.0:
            raise InputError(
                f"full_time_week_h: {self.full_time_week_h} is not positive",
                field="full_time_week_h",
                expected="hours > 0",
            )

    def hourly_cost_eur(self, agent: AgentHours) -> float:
        """The agent's own rate when > 0, else its grade's rate."""
        if agent.hourly_cost_eur > 0.0:
            return agent.hourly_cost_eur
        try:
            return float(self.grade_rates_eur_per_h[agent.grade])
        except KeyError:
            raise InputError(
                f"grade: agent {agent.agent} has no hourly cost and grade {agent.grade!r} has "
                f"no rate (known: {', '.join(sorted(self.grade_rates_eur_per_h)) or 'none'})",
                field="grade",
                row=agent.agent,
                expected="a grade of grade_rates_eur_per_h or hourly_cost_eur > 0",
            ) from None


@dataclass(frozen=True, slots=True)
class ProjectWeek:
    """One project's figures for the evaluated period: its contract and SL target, productive
    hours, the agents' paid hours, answered contacts and the achieved SL (``None`` = not
    measured, e.g. outbound)."""

    project: str
    contract: Contract
    work_h: float
    agents: tuple[AgentHours, ...] = ()
    answered: float = 0.0
    sl: ServiceLevel | None = None
    sl_target: float | None = None

    def __post_init__(self) -> None:
        _check_number(self.work_h, "work_h")
        _check_number(self.answered, "answered")
        if self.sl_target is not None:
            _check_share(self.sl_target, "sl_target")
        billing: object = self.contract.billing
        if not isinstance(billing, BillingModel):
            try:
                BillingModel(str(billing))
            except ValueError:
                raise InputError(
                    f"billing: project {self.project}: {billing!r} is not a billing model",
                    field="billing",
                    row=self.project,
                    expected=", ".join(m.value for m in BillingModel),
                ) from None
        for name in ("bonus_eur_per_point", "penalty_eur_per_point"):
            _check_number(getattr(self.contract, name), name)
        if self.contract.penalty_cap_eur is not None:
            _check_number(self.contract.penalty_cap_eur, "penalty_cap_eur")
        coefficients = [row.coefficient for row in self.contract.kpi_table]
        if coefficients != sorted(coefficients):
            raise InputError(
                f"kpi_table: project {self.project}: coefficients fall as the SL rises",
                field="kpi_table",
                row=self.project,
                expected="coefficients non-decreasing in sl_at_least",
            )
        if self.paid_h < self.work_h - 1e-9:
            raise InputError(
                f"work_h: project {self.project}: {self.work_h:g} productive hours exceed the "
                f"agents' {self.paid_h:g} paid hours",
                field="work_h",
                row=self.project,
                expected="work_h <= the sum of the agents' paid_h",
            )

    @property
    def paid_h(self) -> float:
        """Scheduled paid hours of all agents on the project."""
        return math.fsum(a.paid_h for a in self.agents)


@dataclass(frozen=True, slots=True)
class RevenueAtSl:
    """Revenue at one service level (``sl`` None: none measured)."""

    sl: float | None
    base_eur: float
    kpi_coefficient: float
    points: float
    bonus_eur: float
    penalty_eur: float
    revenue_eur: float


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """Hours paid and what they cost."""

    paid_h: float
    shrinkage_paid_h: float
    personnel_eur: float
    overhead_eur: float
    cost_eur: float


def _pct(margin_eur: float, revenue_eur: float) -> float | None:
    return None if revenue_eur == 0.0 else 100.0 * margin_eur / revenue_eur


@dataclass(frozen=True, slots=True)
class ProjectEconomics:
    """Revenue, cost and margin of one project; ``_lo``/``_hi`` at the SL interval's bounds.
    ``billed_h`` is set for per-hour (= work_h) and leasing (= paid_h) billing,
    ``billed_contacts`` for per-contact and ``billed_fte`` for per-seat billing."""

    project: str
    billing: BillingModel
    work_h: float
    billed_h: float | None
    billed_contacts: float | None
    billed_fte: float | None
    at_lo: RevenueAtSl
    at_mean: RevenueAtSl
    at_hi: RevenueAtSl
    cost: CostBreakdown

    @property
    def revenue_eur(self) -> float:
        return self.at_mean.revenue_eur

    @property
    def revenue_eur_lo(self) -> float:
        return self.at_lo.revenue_eur

    @property
    def revenue_eur_hi(self) -> float:
        return self.at_hi.revenue_eur

    @property
    def cost_eur(self) -> float:
        return self.cost.cost_eur

    @property
    def margin_eur(self) -> float:
        return self.revenue_eur - self.cost_eur

    @property
    def margin_eur_lo(self) -> float:
        return self.revenue_eur_lo - self.cost_eur

    @property
    def margin_eur_hi(self) -> float:
        return self.revenue_eur_hi - self.cost_eur

    @property
    def margin_pct(self) -> float | None:
        """100 × margin ÷ revenue; ``None`` when the revenue is 0."""
        return _pct(self.margin_eur, self.revenue_eur)

    @property
    def margin_pct_lo(self) -> float | None:
        return _pct(self.margin_eur_lo, self.revenue_eur_lo)

    @property
    def margin_pct_hi(self) -> float | None:
        return _pct(self.margin_eur_hi, self.revenue_eur_hi)


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over projects. ``_lo``/``_hi`` add each project's bounds: a conservative range,
    not a joint confidence interval."""

    revenue_eur: float
    revenue_eur_lo: float
    revenue_eur_hi: float
    cost_eur: float
    margin_eur: float
    margin_eur_lo: float
    margin_eur_hi: float
    margin_pct: float | None


def _base(week: ProjectWeek, settings: CostSettings) -> tuple[float, dict[str, float | None]]:
    rate = week.contract.rate_eur
    billing = BillingModel(week.contract.billing)
    billed: dict[str, float | None] = {
        "billed_h": None,
        "billed_contacts": None,
        "billed_fte": None,
    }
    if billing is BillingModel.PER_CONTACT:
        billed["billed_contacts"] = week.answered
        return rate * week.answered, billed
    if billing is BillingModel.PER_HOUR:
        billed["billed_h"] = week.work_h
        return rate * week.work_h, billed
    if billing is BillingModel.PER_SEAT:
        seats = week.paid_h / settings.full_time_week_h
        billed["billed_fte"] = seats
        return rate * MONTHS_PER_WEEK * seats, billed
    if billing is BillingModel.LEASING:
        billed["billed_h"] = week.paid_h
        return rate * week.paid_h, billed
    raise InputError(  # pragma: no cover - every BillingModel is handled above
        f"billing: {billing!r} is not handled", field="billing", expected="a BillingModel"
    )


def revenue_at(
    contract: Contract, base_eur: float, sl: float | None, sl_target: float | None
) -> RevenueAtSl:
    """Revenue from the base at one service level (see the module docstring)."""
    _check_number(base_eur, "base_eur")
    if sl is None:
        return RevenueAtSl(None, base_eur, 1.0, 0.0, 0.0, 0.0, base_eur)
    _check_share(sl, "sl")
    coefficient = contract.kpi_coefficient(sl)
    points = 0.0 if sl_target is None else 100.0 * (sl - sl_target)
    bonus = contract.bonus_eur_per_point * max(points, 0.0)
    penalty = contract.penalty_eur_per_point * max(-points, 0.0)
    if contract.penalty_cap_eur is not None:
        penalty = min(penalty, contract.penalty_cap_eur)
    revenue = base_eur * coefficient + bonus - penalty
    return RevenueAtSl(sl, base_eur, coefficient, points, bonus, penalty, revenue)


def _cost(week: ProjectWeek, settings: CostSettings) -> CostBreakdown:
    gross = 1.0 / (1.0 - settings.shrinkage_paid_share)
    personnel = math.fsum(settings.hourly_cost_eur(a) * a.paid_h * gross for a in week.agents)
    paid = week.paid_h
    overhead = personnel * settings.overhead_share
    return CostBreakdown(
        paid_h=paid,
        shrinkage_paid_h=paid * gross - paid,
        personnel_eur=personnel,
        overhead_eur=overhead,
        cost_eur=personnel + overhead,
    )


def evaluate_project(week: ProjectWeek, settings: CostSettings | None = None) -> ProjectEconomics:
    """Revenue at the SL's lo, mean and hi, cost and margin of one project-week."""
    settings = settings or CostSettings()
    base, billed = _base(week, settings)
    sl = week.sl
    at = {
        name: revenue_at(
            week.contract, base, None if sl is None else getattr(sl, name), week.sl_target
        )
        for name in ("lo", "mean", "hi")
    }
    return ProjectEconomics(
        project=week.project,
        billing=BillingModel(week.contract.billing),
        work_h=week.work_h,
        billed_h=billed["billed_h"],
        billed_contacts=billed["billed_contacts"],
        billed_fte=billed["billed_fte"],
        at_lo=at["lo"],
        at_mean=at["mean"],
        at_hi=at["hi"],
        cost=_cost(week, settings),
    )


def evaluate(
    weeks: Sequence[ProjectWeek], settings: CostSettings | None = None
) -> tuple[ProjectEconomics, ...]:
    """``evaluate_project`` for each project; project ids must be distinct."""
    seen: set[str] = set()
    for week in weeks:
        if week.project in seen:
            raise InputError(
                f"project: {week.project!r} is given twice",
                field="project",
                row=week.project,
                expected="one ProjectWeek per project",
            )
        seen.add(week.project)
    return tuple(evaluate_project(w, settings) for w in weeks)


def totals(results: Sequence[ProjectEconomics]) -> Totals:
    """Sums over projects (margin % of the summed mean revenue)."""
    revenue = math.fsum(r.revenue_eur for r in results)
    cost = math.fsum(r.cost_eur for r in results)
    lo = math.fsum(r.revenue_eur_lo for r in results)
    hi = math.fsum(r.revenue_eur_hi for r in results)
    return Totals(
        revenue_eur=revenue,
        revenue_eur_lo=lo,
        revenue_eur_hi=hi,
        cost_eur=cost,
        margin_eur=revenue - cost,
        margin_eur_lo=lo - cost,
        margin_eur_hi=hi - cost,
        margin_pct=_pct(revenue - cost, revenue),
    )
