"""Economics services: revenue, cost and margin per project from a schedule and its KPIs.

Builds the inputs of the engine ``wfm.economics`` from frames and domain objects:

- the schedule (``agent, start, end, activity, project``; the SCHEDULE contract of
  ``wfm.contracts``): an agent's work on a project is its productive hours there; its paid
  hours are work + ``break`` + ``training`` (``PAID_ACTIVITIES``; lunch and off are unpaid).
  A break, lunch or training segment lying inside a work segment is taken out of the work time
  (as the simulator does). An agent's paid hours are split over its projects in proportion to
  its work on them; paid hours of an agent without any work (training only) are reported as
  ``unallocated_paid_h`` and belong to no project.
- the agents and projects (``wfm.services.sitedata`` loaders) for hourly costs and contracts;
- per-project KPIs (``KPI_COLUMNS``: ``project, answered, sl`` and optionally ``sl_lo``,
  ``sl_hi``) — e.g. ``kpis_from_summary(simulation_report.summary)``. A project without a
  service target (outbound) may be missing from them: it bills no contacts and has no SL.

The figures are for the span of the schedule (normally one week): bonus, penalty and cap apply
once to it.

A what-if can also change billing (``whatif_economics(..., contract_changes=...)``): the
scenario side uses the changed contracts, the base side the stored ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from wfm import contracts
from wfm.domain import Agent, BillingModel, Contract, Project
from wfm.economics import (
    AgentHours,
    CostSettings,
    ProjectEconomics,
    ProjectWeek,
    ServiceLevel,
    Totals,
    evaluate,
    totals,
)
from wfm.errors import InputError
from wfm.services.sitedata import load_agents, load_projects
from wfm.services.staffing import WhatIfResult

__all__ = [
    "ECONOMICS_COLUMNS",
    "KPI_COLUMNS",
    "PAID_ACTIVITIES",
    "RATE_UNITS",
    "ContractChange",
    "EconomicsReport",
    "WhatIfEconomics",
    "changed_contracts",
    "economics_frame",
    "grade_rates",
    "kpis_from_summary",
    "project_rates",
    "schedule_economics",
    "schedule_hours",
    "whatif_economics",
    "whatif_economics_files",
]

PAID_ACTIVITIES = frozenset({"work", "break", "training"})
KPI_COLUMNS = ("project", "answered", "sl")
ECONOMICS_COLUMNS = (
    "project",
    "billing",
    "work_h",
    "paid_h",
    "revenue_eur",
    "revenue_eur_lo",
    "revenue_eur_hi",
    "cost_eur",
    "margin_eur",
    "margin_eur_lo",
    "margin_eur_hi",
    "margin_pct",
    "margin_pct_lo",
    "margin_pct_hi",
)
"""Columns of ``EconomicsReport.by_project``; ``margin_pct`` is 100 × margin ÷ revenue (NaN
when the revenue is 0)."""


@dataclass(frozen=True)
class EconomicsReport:
    """Per-project economics (``by_project``: ``ECONOMICS_COLUMNS``), the engine's results and
    the totals; ``unallocated_paid_h`` = paid hours of agents with no work (not costed)."""

    by_project: pd.DataFrame
    results: tuple[ProjectEconomics, ...]
    totals: Totals
    unallocated_paid_h: float = 0.0


def _hours(delta: pd.Series) -> pd.Series:
    seconds: pd.Series = delta.dt.total_seconds()
    return seconds / 3600.0


def schedule_hours(schedule: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """Per agent and project: ``work_h`` and ``paid_h`` (see the module docstring); and the
    paid hours of agents without work."""
    frame = contracts.validate_schedule(schedule)
    frame = frame.reset_index(drop=True)
    frame["h"] = _hours(frame["end"] - frame["start"])
    is_work = frame["activity"] == "work"
    work = frame[is_work]
    missing = work["project"].isna() | (work["project"].astype(str) == "")
    if missing.any():
        row = int(work.index[missing.to_numpy()][0])
        raise InputError(
            f"schedule row {row}, column 'project': a work segment without a project",
            field="project",
            row=row,
            expected="the project worked on",
        )
    ordered = work.sort_values(["agent", "start"])
    prev_end = ordered.groupby("agent")["end"].shift()
    clash = (ordered["start"] < prev_end).to_numpy()
    if clash.any():
        row = int(ordered.index[clash][0])
        raise InputError(
            f"schedule row {row}: agent {ordered['agent'].iloc[int(np.argmax(clash))]} has two "
            "work segments at once",
            field="start",
            row=row,
            expected="non-overlapping work segments per agent",
        )
    other = frame[~is_work]
    pairs = work.reset_index().merge(
        other[["agent", "start", "end"]], on="agent", suffixes=("", "_x")
    )
    overlap_h = _hours(
        pairs[["end", "end_x"]].min(axis=1) - pairs[["start", "start_x"]].max(axis=1)
    ).clip(lower=0.0)
    taken = overlap_h.groupby(pairs["index"]).sum()
    work = work.assign(work_h=work["h"] - taken.reindex(work.index, fill_value=0.0))
    per = work.groupby(["agent", "project"], sort=True)["work_h"].sum().reset_index()
    paid_other = (
        other[other["activity"].isin(PAID_ACTIVITIES)].groupby("agent")["h"].sum()
        if len(other)
        else pd.Series(dtype=float)
    )
    work_total = per.groupby("agent")["work_h"].sum()
    paid_total = work_total.add(paid_other, fill_value=0.0)
    per["paid_h"] = (
        per["work_h"]
        / per["agent"].map(work_total).replace(0.0, np.nan)
        * per["agent"].map(paid_total)
    ).fillna(0.0)
    unallocated = float(paid_total[work_total.reindex(paid_total.index).fillna(0.0) <= 0].sum())
    return per, unallocated


def grade_rates(agents: Sequence[Agent]) -> dict[str, float]:
    """Hourly cost per grade: the mean ``hourly_cost_eur`` of the grade's agents that have
    one (> 0) — the default rate of agents of that grade without their own."""
    by_grade: dict[str, list[float]] = {}
    for agent in agents:
        if agent.hourly_cost_eur > 0.0:
            by_grade.setdefault(agent.grade, []).append(agent.hourly_cost_eur)
    return {grade: math.fsum(v) / len(v) for grade, v in by_grade.items()}


def project_rates(
    projects: Mapping[str, Project] | Sequence[str],
    agents: Sequence[Agent],
    settings: CostSettings,
) -> dict[str, float]:
    """Each project's hourly cost: the mean hourly cost of the agents holding it (projects
    no agent holds are left out)."""
    rates: dict[str, float] = {}
    for project_id in projects:
        holders = [
            settings.hourly_cost_eur(AgentHours(a.agent, 0.0, a.grade, a.hourly_cost_eur))
            for a in agents
            if project_id in a.projects
        ]
        if holders:
            rates[project_id] = math.fsum(holders) / len(holders)
    return rates


def kpis_from_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """Per-project KPIs from a simulation summary (``SimulationReport.summary``): answered =
    offered × (1 − abandon_rate); ``sl``, ``sl_lo``, ``sl_hi`` as they are."""
    out = summary[["project", "sl", "sl_lo", "sl_hi"]].copy()
    out["answered"] = summary["offered"] * (1.0 - summary["abandon_rate"].fillna(0.0))
    return out[["project", "answered", "sl", "sl_lo", "sl_hi"]]


def _kpi_rows(kpis: pd.DataFrame) -> dict[str, tuple[float, ServiceLevel | None]]:
    missing = [c for c in KPI_COLUMNS if c not in kpis.columns]
    if missing:
        raise InputError(
            f"kpis: column {missing[0]!r} is missing",
            field=missing[0],
            expected=", ".join(KPI_COLUMNS) + " (+ sl_lo, sl_hi)",
        )
    out: dict[str, tuple[float, ServiceLevel | None]] = {}
    for rec in kpis.to_dict(orient="records"):
        project = str(rec["project"])
        if project in out:
            raise InputError(
                f"kpis: project {project!r} is listed twice", field="project", row=project
            )
        sl = float(rec["sl"])
        level = None
        if not math.isnan(sl):
            lo = float(rec.get("sl_lo", sl))
            hi = float(rec.get("sl_hi", sl))
            level = ServiceLevel(
                mean=sl, lo=sl if math.isnan(lo) else lo, hi=sl if math.isnan(hi) else hi
            )
        out[project] = (float(rec["answered"]), level)
    return out


def schedule_economics(
    schedule: pd.DataFrame,
    *,
    agents: Sequence[Agent],
    projects: Mapping[str, Project],
    kpis: pd.DataFrame,
    settings: CostSettings | None = None,
) -> EconomicsReport:
    """Revenue, cost and margin per project of a scheduled week (see the module docstring).
    ``settings`` defaults to ``CostSettings(grade_rates(agents))``."""
    settings = settings or CostSettings(grade_rates_eur_per_h=grade_rates(agents))
    per, unallocated = schedule_hours(schedule)
    by_id = {a.agent: a for a in agents}
    unknown_agents = sorted(set(per["agent"].astype(str)) - set(by_id))
    if unknown_agents:
        raise InputError(
            f"agent: {unknown_agents[0]!r} is in the schedule but not among the agents",
            field="agent",
            row=unknown_agents[0],
            expected="an agent of agents.csv",
        )
    unknown = sorted(set(per["project"].astype(str)) - set(projects))
    if unknown:
        raise InputError(
            f"project: {unknown[0]!r} is in the schedule but not among the projects",
            field="project",
            row=unknown[0],
            expected="a project of projects.csv",
        )
    kpi = _kpi_rows(kpis)
    weeks: list[ProjectWeek] = []
    for project_id, rows in per.groupby("project", sort=True):
        project = projects[str(project_id)]
        if project.project in kpi:
            answered, level = kpi[project.project]
        elif project.target is None:
            answered, level = 0.0, None
        else:
            raise InputError(
                f"kpis: project {project.project!r} is scheduled but has no KPI row",
                field="project",
                row=project.project,
                expected="one KPI row per scheduled project with a service target",
            )
        staff = tuple(
            AgentHours(
                agent=agent,
                paid_h=float(paid_h),
                grade=by_id[agent].grade,
                hourly_cost_eur=by_id[agent].hourly_cost_eur,
            )
            for agent, paid_h in zip(
                rows["agent"].astype(str), rows["paid_h"].to_numpy(dtype=np.float64), strict=True
            )
        )
        weeks.append(
            ProjectWeek(
                project=project.project,
                contract=project.contract,
                work_h=float(rows["work_h"].sum()),
                agents=staff,
                answered=answered,
                sl=level,
                sl_target=None if project.target is None else project.target.sl_target,
            )
        )
    results = evaluate(weeks, settings)
    return EconomicsReport(
        by_project=economics_frame(results),
        results=results,
        totals=totals(results),
        unallocated_paid_h=unallocated,
    )


def economics_frame(results: Sequence[ProjectEconomics]) -> pd.DataFrame:
    """One row per project (``ECONOMICS_COLUMNS``)."""

    def pct(value: float | None) -> float:
        return math.nan if value is None else value

    rows = [
        {
            "project": r.project,
            "billing": r.billing.value,
            "work_h": r.work_h,
            "paid_h": r.cost.paid_h,
            "revenue_eur": r.revenue_eur,
            "revenue_eur_lo": r.revenue_eur_lo,
            "revenue_eur_hi": r.revenue_eur_hi,
            "cost_eur": r.cost_eur,
            "margin_eur": r.margin_eur,
            "margin_eur_lo": r.margin_eur_lo,
            "margin_eur_hi": r.margin_eur_hi,
            "margin_pct": pct(r.margin_pct),
            "margin_pct_lo": pct(r.margin_pct_lo),
            "margin_pct_hi": pct(r.margin_pct_hi),
        }
        for r in results
    ]
    return pd.DataFrame(rows, columns=list(ECONOMICS_COLUMNS))


RATE_UNITS: Mapping[BillingModel, str] = {
    BillingModel.PER_CONTACT: "EUR per answered contact",
    BillingModel.PER_HOUR: "EUR per productive hour",
    BillingModel.PER_SEAT: "EUR per FTE seat and month",
    BillingModel.LEASING: "EUR per paid agent hour",
}
"""The unit of ``Contract.rate_eur`` under each billing model."""


@dataclass(frozen=True)
class ContractChange:
    """A project's contract in the base (as stored) and in the scenario of a what-if."""

    project: str
    base: Contract
    scenario: Contract

    def as_dict(self) -> dict[str, object]:
        """Flat and JSON-ready: ``project``, ``base_billing``, ``base_rate_eur``,
        ``scenario_billing``, ``scenario_rate_eur``."""
        return {
            "project": self.project,
            "base_billing": BillingModel(self.base.billing).value,
            "base_rate_eur": self.base.rate_eur,
            "scenario_billing": BillingModel(self.scenario.billing).value,
            "scenario_rate_eur": self.scenario.rate_eur,
        }


def changed_contracts(
    projects: Mapping[str, Project],
    changes: Mapping[str, tuple[BillingModel | None, float | None]],
) -> tuple[ContractChange, ...]:
    """Each project's stored and changed contract, sorted by project. A change is (billing,
    rate_eur); ``None`` keeps the stored value. A new billing model needs a new rate (its unit,
    ``RATE_UNITS``, differs); the KPI table, bonus, penalty and cap are kept."""
    out: list[ContractChange] = []
    for project_id in sorted(changes):
        billing, rate = changes[project_id]
        if project_id not in projects:
            raise InputError(
                f"project: {project_id!r} is not a project of the site",
                field="project",
                row=project_id,
                expected="one of " + ", ".join(sorted(projects)),
            )
        stored = projects[project_id].contract
        old = BillingModel(stored.billing)
        try:  # a plain string (e.g. from JSON) is accepted too
            new = old if billing is None else BillingModel(billing)
        except ValueError:
            raise InputError(
                f"billing: project {project_id!r}: {billing!r} is not a billing model",
                field="billing",
                row=project_id,
                expected="one of " + ", ".join(m.value for m in BillingModel),
            ) from None
        if rate is None and new is not old:
            raise InputError(
                f"rate_eur: project {project_id!r} changes billing from {old.value} to "
                f"{new.value} without a new rate (the rate's unit differs: {RATE_UNITS[old]} "
                f"vs {RATE_UNITS[new]})",
                field="rate_eur",
                row=project_id,
                expected=f"the rate in {RATE_UNITS[new]}",
            )
        if rate is not None and not (
            isinstance(rate, int | float) and math.isfinite(rate) and rate >= 0.0
        ):
            raise InputError(
                f"rate_eur: project {project_id!r}: {rate!r} is not a finite number >= 0",
                field="rate_eur",
                row=project_id,
                expected=f"a rate >= 0 in {RATE_UNITS[new]}",
            )
        scenario = replace(
            stored, billing=new, rate_eur=stored.rate_eur if rate is None else float(rate)
        )
        out.append(ContractChange(project=project_id, base=stored, scenario=scenario))
    return tuple(out)


@dataclass(frozen=True)
class WhatIfEconomics:
    """Base and scenario economics of a what-if, and ``delta`` (one row per project:
    ``base_margin_eur``, ``scenario_margin_eur``, ``delta_margin_eur`` and the same for
    revenue and cost). ``contract_changes``: the contracts the scenario changed (the base keeps
    the stored ones)."""

    base: EconomicsReport
    scenario: EconomicsReport
    delta: pd.DataFrame
    contract_changes: tuple[ContractChange, ...] = ()


def _requirement_weeks(
    req: pd.DataFrame,
    projects: Mapping[str, Project],
    rates: Mapping[str, float],
    *,
    interval_min: int,
    shrinkage: float,
) -> list[ProjectWeek]:
    weeks: list[ProjectWeek] = []
    for project_id, rows in req.groupby("project", sort=True):
        project = projects[str(project_id)]
        work_h = float(rows["agents"].sum()) * interval_min / 60.0
        calls = float(rows["calls"].sum())
        level = None
        if project.target is not None and rows["sl"].notna().any():
            weighted = float((rows["sl"] * rows["calls"]).sum())
            level = ServiceLevel.exact(min(max(weighted / calls, 0.0), 1.0) if calls > 0 else 1.0)
        weeks.append(
            ProjectWeek(
                project=project.project,
                contract=project.contract,
                work_h=work_h,
                agents=(
                    AgentHours(
                        agent=f"required:{project.project}",
                        paid_h=work_h / (1.0 - shrinkage),
                        hourly_cost_eur=rates[project.project],
                    ),
                ),
                answered=calls,
                sl=level,
                sl_target=None if project.target is None else project.target.sl_target,
            )
        )
    return weeks


def whatif_economics(
    result: WhatIfResult,
    *,
    projects: Mapping[str, Project],
    agents: Sequence[Agent],
    settings: CostSettings | None = None,
    contract_changes: Mapping[str, tuple[BillingModel | None, float | None]] | None = None,
) -> WhatIfEconomics:
    """The margin effect of a what-if. The what-if has required agents per interval, not a
    schedule: productive hours = required agent-hours, paid hours = productive ÷ (1 −
    the scenario's shrinkage), answered = offered (Erlang C has no abandonment), SL = the
    offered-weighted Erlang SL (exact: no interval). Each project's hourly cost is the mean cost
    of the agents holding it (their own rate, else their grade's). Figures cover the what-if's
    whole span (bonus, penalty and cap apply once).

    ``contract_changes`` maps a project to its scenario's (billing, rate_eur) — e.g. moving
    from per-hour to per-contact billing; ``None`` keeps the stored value, and a new billing
    model needs its rate (see :func:`changed_contracts`). Only the scenario side uses them, so
    the delta shows the billing change together with any staffing change."""
    changes = changed_contracts(projects, contract_changes or {})
    scenario_projects = dict(projects) | {
        c.project: replace(projects[c.project], contract=c.scenario) for c in changes
    }
    settings = settings or CostSettings(grade_rates_eur_per_h=grade_rates(agents))
    rates = project_rates(projects, agents, settings)
    needed = set(result.scenario_requirements["project"].astype(str))
    missing = sorted(needed - set(rates))
    if missing:
        raise InputError(
            f"agents: no agent holds project {missing[0]!r}, so its hourly cost is unknown",
            field="skills",
            row=missing[0],
            expected="at least one agent per project",
        )
    reports: list[EconomicsReport] = []
    for req, scenario, contracts_of in (
        (result.base_requirements, result.base, projects),
        (result.scenario_requirements, result.scenario, scenario_projects),
    ):
        weeks = _requirement_weeks(
            req,
            contracts_of,
            rates,
            interval_min=result.interval_min,
            shrinkage=scenario.shrinkage,
        )
        results = evaluate(weeks, settings)
        reports.append(
            EconomicsReport(
                by_project=economics_frame(results), results=results, totals=totals(results)
            )
        )
    base, scen = reports
    cols = ["project", "revenue_eur", "cost_eur", "margin_eur"]
    delta = (
        base.by_project[cols]
        .add_prefix("base_")
        .rename(columns={"base_project": "project"})
        .merge(
            scen.by_project[cols]
            .add_prefix("scenario_")
            .rename(columns={"scenario_project": "project"}),
            on="project",
            how="outer",
        )
        .fillna(0.0)
    )
    for col in cols[1:]:
        delta[f"delta_{col}"] = delta[f"scenario_{col}"] - delta[f"base_{col}"]
    return WhatIfEconomics(base=base, scenario=scen, delta=delta, contract_changes=changes)


def whatif_economics_files(
    result: WhatIfResult,
    folder: Path,
    *,
    contract_changes: Mapping[str, tuple[BillingModel | None, float | None]] | None = None,
) -> WhatIfEconomics:
    """``whatif_economics`` with the projects and ``agents.csv`` of a site folder."""
    projects = load_projects(folder)
    agents = load_agents(folder / "agents.csv", projects=projects)
    return whatif_economics(
        result, projects=projects, agents=agents, contract_changes=contract_changes
    )
