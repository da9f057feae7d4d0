"""wfm.economics against hand-computed cases (the arithmetic is in the comments; no expected
number comes from the code under test), plus properties of the revenue and margin."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pandas as pd
import pytest
from cli_helpers import run
from hypothesis import given
from hypothesis import strategies as st

from wfm.domain import Agent, BillingModel, Contract, KpiCoefficient, Skill
from wfm.economics import (
    AgentHours,
    CostSettings,
    ProjectWeek,
    ServiceLevel,
    evaluate,
    evaluate_project,
    revenue_at,
    totals,
)
from wfm.errors import InputError
from wfm.services.economics import (
    ECONOMICS_COLUMNS,
    changed_contracts,
    kpis_from_summary,
    schedule_economics,
    schedule_hours,
    whatif_economics,
)
from wfm.services.sitedata import load_agents, load_projects
from wfm.services.staffing import Scenario, WhatIfResult

# the sample contracts' KPI table (data/samples/kpi_table.csv, project bank)
BANK_TABLE = (
    KpiCoefficient(0.0, 0.9),
    KpiCoefficient(0.75, 0.95),
    KpiCoefficient(0.8, 1.0),
    KpiCoefficient(0.85, 1.05),
)
RETAIL_TABLE = (
    KpiCoefficient(0.0, 0.9),
    KpiCoefficient(0.85, 0.95),
    KpiCoefficient(0.9, 1.0),
    KpiCoefficient(0.95, 1.05),
)


def bank_contract() -> Contract:
    return Contract(
        billing=BillingModel.PER_HOUR,
        rate_eur=31.5,
        kpi_table=BANK_TABLE,
        bonus_eur_per_point=150.0,
        penalty_eur_per_point=300.0,
        penalty_cap_eur=6000.0,
    )


# --------------------------------------------------------------------------------------------
# one hand-computed case per billing model


def test_per_hour_billing_with_bonus_grade_rates_overhead_and_shrinkage() -> None:
    week = ProjectWeek(
        project="bank",
        contract=bank_contract(),
        work_h=100.0,
        agents=(
            AgentHours("A", paid_h=60.0, grade="junior"),  # grade rate 17.50
            AgentHours("B", paid_h=50.0, grade="junior", hourly_cost_eur=20.0),  # own rate wins
        ),
        sl=ServiceLevel.exact(0.82),
        sl_target=0.8,
    )
    settings = CostSettings(
        grade_rates_eur_per_h={"junior": 17.5}, overhead_share=0.25, shrinkage_paid_share=0.2
    )
    r = evaluate_project(week, settings)
    # billed hours = productive hours = 100; base = 31.5 × 100 = 3150
    assert r.billed_h == 100.0
    assert r.billed_contacts is None and r.billed_fte is None
    assert r.at_mean.base_eur == pytest.approx(3150.0)
    # SL 0.82 >= 0.8 → coefficient 1.0; points = 100 × (0.82 − 0.8) = 2 → bonus 2 × 150 = 300
    assert r.at_mean.kpi_coefficient == 1.0
    assert r.at_mean.bonus_eur == pytest.approx(300.0)
    assert r.at_mean.penalty_eur == 0.0
    assert r.revenue_eur == pytest.approx(3450.0)  # 3150 × 1.0 + 300
    # shrinkage 0.2 of all paid hours: all paid = paid ÷ 0.8 = paid × 1.25
    # paid 110 h → shrinkage-paid 110 × 0.25 = 27.5 h
    assert r.cost.paid_h == pytest.approx(110.0)
    assert r.cost.shrinkage_paid_h == pytest.approx(27.5)
    # A: 17.5 × 60 × 1.25 = 1312.5; B: 20 × 50 × 1.25 = 1250 → personnel 2562.5
    assert r.cost.personnel_eur == pytest.approx(2562.5)
    # overhead 0.25 × 2562.5 = 640.625 → cost 3203.125
    assert r.cost.overhead_eur == pytest.approx(640.625)
    assert r.cost_eur == pytest.approx(3203.125)
    # margin 3450 − 3203.125 = 246.875; margin % = 100 × 246.875 / 3450 = 7.15579710...
    assert r.margin_eur == pytest.approx(246.875)
    assert r.margin_pct == pytest.approx(7.1557971014)


def test_per_contact_billing_with_kpi_step_and_penalty() -> None:
    week = ProjectWeek(
        project="retail",
        contract=Contract(
            billing=BillingModel.PER_CONTACT,
            rate_eur=3.2,
            kpi_table=RETAIL_TABLE,
            bonus_eur_per_point=100.0,
            penalty_eur_per_point=250.0,
            penalty_cap_eur=5000.0,
        ),
        work_h=40.0,
        agents=(AgentHours("C", paid_h=40.0, hourly_cost_eur=18.3),),
        answered=1000.0,
        sl=ServiceLevel.exact(0.88),
        sl_target=0.9,
    )
    r = evaluate_project(week)
    # base 3.2 × 1000 = 3200; SL 0.88 is in [0.85, 0.9) → 0.95 → 3040
    # points 100 × (0.88 − 0.9) = −2 → penalty 2 × 250 = 500 (under the cap 5000)
    assert r.billed_contacts == 1000.0
    assert r.at_mean.kpi_coefficient == 0.95
    assert r.at_mean.penalty_eur == pytest.approx(500.0)
    assert r.revenue_eur == pytest.approx(2540.0)  # 3040 − 500
    # cost 40 h × 18.3 = 732 (no overhead, no shrinkage); margin 2540 − 732 = 1808
    assert r.cost_eur == pytest.approx(732.0)
    assert r.margin_eur == pytest.approx(1808.0)
    # 100 × 1808 / 2540 = 71.1811023...
    assert r.margin_pct == pytest.approx(71.181102362)


@pytest.mark.parametrize(
    ("full_time_week_h", "fte", "base_eur"),
    [
        # FTE = 60 ÷ 40 = 1.5; base = 4500 × 12/52 × 1.5 = 81000/52 = 1557.6923077
        (40.0, 1.5, 1557.6923077),
        # FTE = 60 ÷ 37.5 = 1.6; base = 4500 × 12/52 × 1.6 = 86400/52 = 1661.5384615
        (37.5, 1.6, 1661.5384615),
    ],
)
def test_per_seat_billing(full_time_week_h: float, fte: float, base_eur: float) -> None:
    week = ProjectWeek(
        project="techsupport",
        contract=Contract(billing=BillingModel.PER_SEAT, rate_eur=4500.0, kpi_table=BANK_TABLE),
        work_h=50.0,
        agents=(AgentHours("D", paid_h=40.0), AgentHours("E", paid_h=20.0)),
        sl=ServiceLevel.exact(0.8),  # exactly on the 0.8 step → coefficient 1.0, 0 points
        sl_target=0.8,
    )
    settings = CostSettings(
        grade_rates_eur_per_h={"standard": 18.0}, full_time_week_h=full_time_week_h
    )
    r = evaluate_project(week, settings)
    assert r.billed_fte == pytest.approx(fte)
    assert r.at_mean.kpi_coefficient == 1.0
    assert r.revenue_eur == pytest.approx(base_eur)
    # cost 60 h × 18 = 1080
    assert r.cost_eur == pytest.approx(1080.0)
    assert r.margin_eur == pytest.approx(base_eur - 1080.0)


def test_leasing_billing_without_a_measured_sl() -> None:
    week = ProjectWeek(
        project="lease",
        contract=Contract(
            billing=BillingModel.LEASING, rate_eur=25.0, penalty_eur_per_point=1000.0
        ),
        work_h=35.0,
        agents=(
            AgentHours("F", paid_h=30.0, grade="senior"),
            AgentHours("G", paid_h=10.0, grade="senior"),
        ),
    )
    r = evaluate_project(week, CostSettings(grade_rates_eur_per_h={"senior": 22.0}))
    # billed = paid hours 40 (not the 35 productive); base 25 × 40 = 1000; no SL → × 1, no
    # penalty; cost 40 × 22 = 880; margin 120; margin % 12
    assert r.billed_h == 40.0
    assert r.revenue_eur == pytest.approx(1000.0)
    assert r.cost_eur == pytest.approx(880.0)
    assert r.margin_eur == pytest.approx(120.0)
    assert r.margin_pct == pytest.approx(12.0)


def test_margin_pct_is_none_without_revenue() -> None:
    week = ProjectWeek(
        project="idle",
        contract=Contract(billing=BillingModel.PER_CONTACT, rate_eur=3.0),
        work_h=8.0,
        agents=(AgentHours("H", paid_h=8.0, hourly_cost_eur=20.0),),
        answered=0.0,
    )
    r = evaluate_project(week)
    assert r.revenue_eur == 0.0
    assert r.margin_eur == pytest.approx(-160.0)  # 0 − 8 × 20
    assert r.margin_pct is None
    assert totals([r]).margin_pct is None


# --------------------------------------------------------------------------------------------
# KPI steps, bonus and penalty


@pytest.mark.parametrize(
    ("sl", "coefficient"),
    [
        (0.0, 0.9),
        (0.7499, 0.9),
        (0.75, 0.95),  # on a step: the step's coefficient
        (0.7999, 0.95),
        (0.8, 1.0),
        (0.8499, 1.0),
        (0.85, 1.05),
        (1.0, 1.05),
    ],
)
def test_kpi_table_steps_at_the_boundaries(sl: float, coefficient: float) -> None:
    contract = Contract(billing=BillingModel.PER_HOUR, rate_eur=10.0, kpi_table=BANK_TABLE)
    r = revenue_at(contract, 1000.0, sl, None)  # no target: no bonus or penalty
    assert r.kpi_coefficient == coefficient
    assert r.revenue_eur == pytest.approx(1000.0 * coefficient)


@pytest.mark.parametrize(
    ("sl", "bonus", "penalty"),
    [
        (0.9, 1500.0, 0.0),  # +10 points × 150
        (0.8, 0.0, 0.0),  # on target
        (0.7, 0.0, 3000.0),  # −10 points × 300, under the cap
        (0.6, 0.0, 6000.0),  # −20 points × 300 = 6000, exactly the cap
        (0.5, 0.0, 6000.0),  # −30 points × 300 = 9000, capped at 6000
    ],
)
def test_bonus_and_capped_penalty(sl: float, bonus: float, penalty: float) -> None:
    r = revenue_at(bank_contract(), 0.0, sl, 0.8)  # base 0: revenue = bonus − penalty
    assert r.bonus_eur == pytest.approx(bonus)
    assert r.penalty_eur == pytest.approx(penalty)
    assert r.revenue_eur == pytest.approx(bonus - penalty)


# --------------------------------------------------------------------------------------------
# the SL interval


def _bank_week(sl: ServiceLevel) -> ProjectWeek:
    return ProjectWeek(
        project="bank",
        contract=bank_contract(),
        work_h=100.0,
        agents=(AgentHours("A", paid_h=110.0, hourly_cost_eur=20.0),),
        sl=sl,
        sl_target=0.8,
    )


def test_revenue_and_margin_at_the_sl_interval() -> None:
    r = evaluate_project(_bank_week(ServiceLevel(mean=0.81, lo=0.74, hi=0.86)))
    # base 3150. lo 0.74: × 0.9 = 2835, −6 points × 300 = −1800 → 1035
    # mean 0.81: × 1.0 = 3150, +1 point × 150 → 3300
    # hi 0.86: × 1.05 = 3307.5, +6 points × 150 = 900 → 4207.5
    assert r.revenue_eur_lo == pytest.approx(1035.0)
    assert r.revenue_eur == pytest.approx(3300.0)
    assert r.revenue_eur_hi == pytest.approx(4207.5)
    # cost 110 × 20 = 2200 at every SL
    assert r.margin_eur_lo == pytest.approx(-1165.0)
    assert r.margin_eur == pytest.approx(1100.0)
    assert r.margin_eur_hi == pytest.approx(2007.5)


def test_the_interval_is_exact_on_a_fine_grid() -> None:
    """Every SL inside [lo, hi] gives a revenue inside [revenue(lo), revenue(hi)], steps and
    the cap included (revenue is non-decreasing in SL)."""
    lo, hi = 0.55, 0.95
    r = evaluate_project(_bank_week(ServiceLevel(mean=0.8, lo=lo, hi=hi)))
    contract = bank_contract()
    for i in range(4001):
        sl = lo + (hi - lo) * i / 4000
        rev = revenue_at(contract, 3150.0, sl, 0.8).revenue_eur
        assert r.revenue_eur_lo - 1e-9 <= rev <= r.revenue_eur_hi + 1e-9


@given(
    a=st.floats(0.0, 1.0),
    b=st.floats(0.0, 1.0),
    base=st.floats(0.0, 1e6),
    target=st.floats(0.01, 0.99),
    bonus=st.floats(0.0, 1e3),
    penalty=st.floats(0.0, 1e3),
    cap=st.one_of(st.none(), st.floats(0.0, 1e5)),
)
def test_revenue_is_non_decreasing_in_sl(
    a: float, b: float, base: float, target: float, bonus: float, penalty: float, cap: float | None
) -> None:
    contract = Contract(
        billing=BillingModel.PER_HOUR,
        rate_eur=1.0,
        kpi_table=BANK_TABLE,
        bonus_eur_per_point=bonus,
        penalty_eur_per_point=penalty,
        penalty_cap_eur=cap,
    )
    lo, hi = min(a, b), max(a, b)
    r_lo = revenue_at(contract, base, lo, target).revenue_eur
    r_hi = revenue_at(contract, base, hi, target).revenue_eur
    assert r_lo <= r_hi + 1e-6 * max(1.0, abs(r_hi))


def test_falling_kpi_coefficients_are_rejected() -> None:
    """Monotonicity needs non-decreasing coefficients; a table that falls is refused."""
    contract = Contract(
        billing=BillingModel.PER_HOUR,
        rate_eur=1.0,
        kpi_table=(KpiCoefficient(0.0, 1.1), KpiCoefficient(0.8, 1.0)),
    )
    with pytest.raises(InputError) as err:
        ProjectWeek(project="x", contract=contract, work_h=0.0)
    assert err.value.field == "kpi_table"


# --------------------------------------------------------------------------------------------
# properties


hours = st.floats(0.0, 200.0)
rates = st.floats(0.0, 100.0)


@given(
    billing=st.sampled_from(list(BillingModel)),
    paid=st.lists(hours, min_size=1, max_size=5),
    work_share=st.floats(0.0, 1.0),
    cost_low=rates,
    extra=rates,
    sl=st.floats(0.0, 1.0),
    overhead=st.floats(0.0, 1.0),
    shrinkage=st.floats(0.0, 0.5),
)
def test_margin_falls_as_hourly_cost_rises_and_adds_up(
    billing: BillingModel,
    paid: list[float],
    work_share: float,
    cost_low: float,
    extra: float,
    sl: float,
    overhead: float,
    shrinkage: float,
) -> None:
    contract = Contract(
        billing=billing,
        rate_eur=30.0,
        kpi_table=BANK_TABLE,
        bonus_eur_per_point=100.0,
        penalty_eur_per_point=200.0,
        penalty_cap_eur=3000.0,
    )

    def margin(rate: float) -> float:
        week = ProjectWeek(
            project="p",
            contract=contract,
            work_h=sum(paid) * work_share,
            agents=tuple(
                AgentHours(f"a{i}", paid_h=h, hourly_cost_eur=rate) for i, h in enumerate(paid)
            ),
            answered=sum(paid) * work_share * 10.0,
            sl=ServiceLevel.exact(sl),
            sl_target=0.8,
        )
        settings = CostSettings(
            grade_rates_eur_per_h={"standard": 0.0},
            overhead_share=overhead,
            shrinkage_paid_share=shrinkage,
        )
        r = evaluate_project(week, settings)
        assert r.revenue_eur - r.cost_eur == pytest.approx(r.margin_eur)
        assert r.cost_eur >= 0.0
        if billing is BillingModel.PER_HOUR:
            assert r.billed_h == pytest.approx(sum(paid) * work_share)
        return r.margin_eur

    assert margin(cost_low + extra) <= margin(cost_low) + 1e-6


def test_totals_add_up() -> None:
    results = evaluate(
        [
            _bank_week(ServiceLevel(mean=0.81, lo=0.74, hi=0.86)),
            ProjectWeek(
                project="lease",
                contract=Contract(billing=BillingModel.LEASING, rate_eur=25.0),
                work_h=35.0,
                agents=(AgentHours("F", paid_h=40.0, hourly_cost_eur=22.0),),
            ),
        ]
    )
    t = totals(results)
    # revenue 3300 + 1000 = 4300; lo 1035 + 1000 = 2035; hi 4207.5 + 1000 = 5207.5
    # cost 2200 + 880 = 3080; margin 1220; margin % 100 × 1220 / 4300 = 28.372093...
    assert t.revenue_eur == pytest.approx(4300.0)
    assert t.revenue_eur_lo == pytest.approx(2035.0)
    assert t.revenue_eur_hi == pytest.approx(5207.5)
    assert t.cost_eur == pytest.approx(3080.0)
    assert t.margin_eur == pytest.approx(1220.0)
    assert t.margin_eur_lo == pytest.approx(-1045.0)
    assert t.margin_pct == pytest.approx(28.372093023)


# --------------------------------------------------------------------------------------------
# bad input names the field


def _contract() -> Contract:
    return Contract(billing=BillingModel.PER_HOUR, rate_eur=10.0)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: ProjectWeek(project="p", contract=_contract(), work_h=-1.0), "work_h"),
        (lambda: AgentHours("a", paid_h=-2.0), "paid_h"),
        (
            lambda: ProjectWeek(project="p", contract=_contract(), work_h=0.0, answered=-1.0),
            "answered",
        ),
        (lambda: ServiceLevel.exact(1.2), "sl"),
        (lambda: ServiceLevel(mean=0.5, lo=-0.1, hi=0.6), "sl_lo"),
        (lambda: ServiceLevel(mean=0.5, lo=0.6, hi=0.7), "sl"),
        (
            lambda: ProjectWeek(
                project="p",
                contract=Contract(billing=cast(BillingModel, "per_minute"), rate_eur=1.0),
                work_h=0.0,
            ),
            "billing",
        ),
        # more productive than paid hours
        (
            lambda: ProjectWeek(
                project="p", contract=_contract(), work_h=9.0, agents=(AgentHours("a", 8.0),)
            ),
            "work_h",
        ),
        (lambda: CostSettings(shrinkage_paid_share=1.0), "shrinkage_paid_share"),
        (lambda: CostSettings(overhead_share=-0.1), "overhead_share"),
        (lambda: CostSettings(full_time_week_h=0.0), "full_time_week_h"),
        (lambda: revenue_at(_contract(), 10.0, 1.5, 0.8), "sl"),
    ],
)
def test_bad_input_names_the_field(make: Callable[[], object], field: str) -> None:
    with pytest.raises(InputError) as err:
        make()
    assert err.value.field == field


def test_an_agent_without_a_rate_names_the_grade() -> None:
    week = ProjectWeek(
        project="p", contract=_contract(), work_h=1.0, agents=(AgentHours("a", 1.0, "lead"),)
    )
    with pytest.raises(InputError) as err:
        evaluate_project(week, CostSettings(grade_rates_eur_per_h={"junior": 17.0}))
    assert err.value.field == "grade" and err.value.row == "a"


def test_a_project_given_twice_is_refused() -> None:
    week = ProjectWeek(project="p", contract=_contract(), work_h=0.0)
    with pytest.raises(InputError) as err:
        evaluate([week, week])
    assert err.value.field == "project"


# --------------------------------------------------------------------------------------------
# the service: a hand-made schedule on the sample site


SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def _schedule(rows: list[tuple[str, str, str, str, str | None]]) -> pd.DataFrame:
    day = "2026-04-27T"
    return pd.DataFrame(
        {
            "agent": [r[0] for r in rows],
            "start": pd.to_datetime([day + r[1] + ":00+02:00" for r in rows]),
            "end": pd.to_datetime([day + r[2] + ":00+02:00" for r in rows]),
            "activity": [r[3] for r in rows],
            "project": [r[4] for r in rows],
        }
    )


HAND_SCHEDULE = [
    # A001 (own cost 17.50): bank 4 + 2 = 6 h, retail 2 h; break 0.25 h paid, lunch unpaid
    # → work 8 h, paid 8.25 h: bank 8.25 × 6/8 = 6.1875 h, retail 8.25 × 2/8 = 2.0625 h
    ("A001", "08:00", "12:00", "work", "bank"),
    ("A001", "12:00", "12:15", "break", None),
    ("A001", "12:15", "12:45", "lunch", None),
    ("A001", "12:45", "14:45", "work", "retail"),
    ("A001", "14:45", "16:45", "work", "bank"),
    # A003 (own cost 18.30): a break inside the first work segment comes out of the work:
    # retail work 3.75 + 2 = 5.75 h; paid 5.75 + 0.25 = 6 h
    ("A003", "09:00", "13:00", "work", "retail"),
    ("A003", "11:00", "11:15", "break", None),
    ("A003", "13:00", "13:30", "lunch", None),
    ("A003", "13:30", "15:30", "work", "retail"),
]


def _kpis() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "project": ["bank", "retail"],
            "answered": [100.0, 200.0],
            "sl": [0.82, 0.9],
            "sl_lo": [0.78, 0.85],
            "sl_hi": [0.86, 0.96],
        }
    )


def test_schedule_hours_split_paid_hours_in_proportion_to_work() -> None:
    per, unallocated = schedule_hours(_schedule(HAND_SCHEDULE))
    got = {(r.agent, r.project): (r.work_h, r.paid_h) for r in per.itertuples()}
    assert got == {
        ("A001", "bank"): pytest.approx((6.0, 6.1875)),
        ("A001", "retail"): pytest.approx((2.0, 2.0625)),
        ("A003", "retail"): pytest.approx((5.75, 6.0)),
    }
    assert unallocated == 0.0


def test_schedule_economics_on_a_hand_made_schedule() -> None:
    projects = load_projects(SAMPLES)
    agents = load_agents(SAMPLES / "agents.csv", projects=projects)
    report = schedule_economics(
        _schedule(HAND_SCHEDULE), agents=agents, projects=projects, kpis=_kpis()
    )
    frame = report.by_project.set_index("project")
    assert list(report.by_project.columns) == list(ECONOMICS_COLUMNS)
    # bank, per hour 31.5 × 6 productive h = 189 (billed hours = scheduled productive hours)
    #   mean 0.82: × 1.0 + 2 points × 150 = 489
    #   lo 0.78: × 0.95 = 179.55, −2 points × 300 = −600 → −420.45
    #   hi 0.86: × 1.05 = 198.45, +6 points × 150 = 900 → 1098.45
    #   cost 6.1875 h × 17.50 = 108.28125
    bank = frame.loc["bank"]
    assert report.results[0].billed_h == pytest.approx(6.0)
    assert bank["work_h"] == pytest.approx(6.0)
    assert bank["paid_h"] == pytest.approx(6.1875)
    assert bank["revenue_eur"] == pytest.approx(489.0)
    assert bank["revenue_eur_lo"] == pytest.approx(-420.45)
    assert bank["revenue_eur_hi"] == pytest.approx(1098.45)
    assert bank["cost_eur"] == pytest.approx(108.28125)
    assert bank["margin_eur"] == pytest.approx(380.71875)  # 489 − 108.28125
    # retail, per contact 3.2 × 200 = 640
    #   mean 0.9: × 1.0, 0 points → 640
    #   lo 0.85: × 0.95 = 608, −5 points × 250 = −1250 → −642
    #   hi 0.96: × 1.05 = 672, +6 points × 100 = 600 → 1272
    #   cost 2.0625 × 17.50 + 6 × 18.30 = 36.09375 + 109.8 = 145.89375
    retail = frame.loc["retail"]
    assert retail["work_h"] == pytest.approx(7.75)
    assert retail["revenue_eur"] == pytest.approx(640.0)
    assert retail["revenue_eur_lo"] == pytest.approx(-642.0)
    assert retail["revenue_eur_hi"] == pytest.approx(1272.0)
    assert retail["cost_eur"] == pytest.approx(145.89375)
    assert retail["margin_eur"] == pytest.approx(494.10625)  # 640 − 145.89375
    # 100 × 494.10625 / 640 = 77.204101...
    assert retail["margin_pct"] == pytest.approx(77.2041015625)
    # totals: revenue 489 + 640 = 1129; cost 254.175; margin 874.825
    assert report.totals.revenue_eur == pytest.approx(1129.0)
    assert report.totals.cost_eur == pytest.approx(254.175)
    assert report.totals.margin_eur == pytest.approx(874.825)
    for rec in report.by_project.to_dict(orient="records"):
        assert float(rec["revenue_eur"]) - float(rec["cost_eur"]) == pytest.approx(
            float(rec["margin_eur"])
        )


def test_training_only_agents_are_unallocated() -> None:
    rows = [*HAND_SCHEDULE, ("A004", "09:00", "12:00", "training", None)]
    _, unallocated = schedule_hours(_schedule(rows))
    assert unallocated == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("rows", "kpis_drop", "field"),
    [
        ([("A001", "08:00", "12:00", "work", None)], False, "project"),
        ([("Z999", "08:00", "12:00", "work", "bank")], False, "agent"),
        ([("A001", "08:00", "12:00", "work", "nope")], False, "project"),
        (
            [
                ("A001", "08:00", "12:00", "work", "bank"),
                ("A001", "11:00", "13:00", "work", "bank"),
            ],
            False,
            "start",
        ),
        ([("A001", "08:00", "12:00", "work", "bank")], True, "project"),  # no KPI row
    ],
)
def test_schedule_economics_bad_input(
    rows: list[tuple[str, str, str, str, str | None]], kpis_drop: bool, field: str
) -> None:
    projects = load_projects(SAMPLES)
    agents = load_agents(SAMPLES / "agents.csv", projects=projects)
    kpis = _kpis().iloc[1:] if kpis_drop else _kpis()
    with pytest.raises(InputError) as err:
        schedule_economics(_schedule(rows), agents=agents, projects=projects, kpis=kpis)
    assert err.value.field == field


def test_kpis_from_summary() -> None:
    summary = pd.DataFrame(
        {"project": ["bank"], "offered": [1000.0], "abandon_rate": [0.04], "sl": [0.8]}
        | {"sl_lo": [0.78], "sl_hi": [0.83]}
    )
    kpis = kpis_from_summary(summary)
    assert kpis["answered"].tolist() == pytest.approx([960.0])  # 1000 × (1 − 0.04)
    assert list(kpis.columns) == ["project", "answered", "sl", "sl_lo", "sl_hi"]


# --------------------------------------------------------------------------------------------
# wfm whatif --economics


def test_whatif_economics_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["whatif", "--demand", str(SAMPLES / "history.csv"), "--start", "2026-04-26"]
    argv += ["--end", "2026-04-26", "--calls-scale", "1.1", "--economics"]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert "Economics (EUR)" in out and "Δ margin" in out and "total" in out
    code, out, _ = run([*argv, "--json"], capsys)
    assert code == 0
    rows = json.loads(out)["economics"]
    for rec in rows:  # revenue − cost = margin on both sides
        for side in ("base", "scenario"):
            assert rec[f"{side}_revenue_eur"] - rec[f"{side}_cost_eur"] == pytest.approx(
                rec[f"{side}_margin_eur"]
            )
    # a site folder without agents.csv: exit 2, one line on stderr
    for name in ("projects.csv", "kpi_table.csv", "site.json", "opening_hours.csv"):
        (tmp_path / name).write_text((SAMPLES / name).read_text())
    code, _, err = run([*argv, "--projects", str(tmp_path)], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "agents.csv" in err


# --------------------------------------------------------------------------------------------
# a what-if that changes the billing model (wfm whatif --billing / --rate-eur)


def _requirements(calls: tuple[float, float]) -> pd.DataFrame:
    """Two half-hours of bank: 4 and 6 agents, SL 0.9 and 0.85."""
    return pd.DataFrame(
        {
            "project": ["bank", "bank"],
            "ts": pd.to_datetime(["2026-04-27T09:00:00+02:00", "2026-04-27T09:30:00+02:00"]),
            "agents": [4, 6],
            "calls": list(calls),
            "sl": [0.9, 0.85],
        }
    )


def _bank_whatif(scenario_calls: tuple[float, float] = (40.0, 60.0)) -> WhatIfResult:
    return WhatIfResult(
        daily=pd.DataFrame(),
        by_project=pd.DataFrame(),
        base_requirements=_requirements((40.0, 60.0)),
        scenario_requirements=_requirements(scenario_calls),
        base=Scenario(shrinkage=0.5),
        scenario=Scenario(shrinkage=0.5),
        interval_min=30,
        tz="Europe/Berlin",
    )


# two agents hold bank at 20 and 24 EUR/h: the project's hourly cost is their mean, 22 EUR/h
HAND_AGENTS = [
    Agent("X1", (Skill("bank"),), 0.0, 40.0, hourly_cost_eur=20.0),
    Agent("X2", (Skill("bank"), Skill("retail", 2)), 0.0, 40.0, hourly_cost_eur=24.0),
]


def test_whatif_moving_from_per_hour_to_per_contact_billing() -> None:
    projects = load_projects(SAMPLES)  # bank: per_hour 31.5, target 0.8, BANK_TABLE, bonus 150
    money = whatif_economics(
        _bank_whatif(),
        projects=projects,
        agents=HAND_AGENTS,
        contract_changes={"bank": (BillingModel.PER_CONTACT, 2.5)},
    )
    # both sides: work 10 agents × 0.5 h = 5 h; paid 5 ÷ (1 − 0.5) = 10 h; cost 22 × 10 = 220
    # answered = offered = 40 + 60 = 100; SL = (0.9 × 40 + 0.85 × 60) ÷ 100 = 0.87
    # KPI coefficient at 0.87 (row 0.85) = 1.05; points 100 × (0.87 − 0.8) = 7 → bonus 1050
    # base, per hour 31.5 × 5 h = 157.5 → 157.5 × 1.05 + 1050 = 1215.375; margin 995.375
    # scenario, per contact 2.5 × 100 = 250 → 250 × 1.05 + 1050 = 1312.5; margin 1092.5
    row = money.delta.set_index("project").loc["bank"]
    assert row["base_revenue_eur"] == pytest.approx(1215.375)
    assert row["scenario_revenue_eur"] == pytest.approx(1312.5)
    assert row["base_cost_eur"] == pytest.approx(220.0)
    assert row["scenario_cost_eur"] == pytest.approx(220.0)
    assert row["delta_revenue_eur"] == pytest.approx(97.125)  # 1312.5 − 1215.375
    assert row["delta_margin_eur"] == pytest.approx(97.125)
    assert money.scenario.results[0].billing is BillingModel.PER_CONTACT
    assert money.scenario.results[0].billed_contacts == pytest.approx(100.0)
    assert money.base.results[0].billing is BillingModel.PER_HOUR
    # the base side is the stored contract's: the same as without any change
    plain = whatif_economics(_bank_whatif(), projects=projects, agents=HAND_AGENTS)
    assert money.base.by_project.equals(plain.base.by_project)
    assert plain.contract_changes == ()
    assert [c.as_dict() for c in money.contract_changes] == [
        {
            "project": "bank",
            "base_billing": "per_hour",
            "base_rate_eur": 31.5,
            "scenario_billing": "per_contact",
            "scenario_rate_eur": 2.5,
        }
    ]


def test_whatif_billing_change_combines_with_a_staffing_change() -> None:
    projects = load_projects(SAMPLES)
    money = whatif_economics(
        _bank_whatif(scenario_calls=(80.0, 120.0)),  # twice the calls, the same agents and SLs
        projects=projects,
        agents=HAND_AGENTS,
        contract_changes={"bank": ("per_contact", 2.5)},  # type: ignore[dict-item]  # str ok
    )
    # scenario: 2.5 × 200 = 500 → 500 × 1.05 + 1050 = 1575 (SL still 0.87); base as above
    row = money.delta.set_index("project").loc["bank"]
    assert row["base_revenue_eur"] == pytest.approx(1215.375)
    assert row["scenario_revenue_eur"] == pytest.approx(1575.0)
    assert row["delta_margin_eur"] == pytest.approx(359.625)  # 1575 − 1215.375, cost unchanged


def test_changed_contracts_keep_what_is_not_given() -> None:
    projects = load_projects(SAMPLES)
    stored = projects["bank"].contract
    rate_only, same_model = changed_contracts(
        projects, {"bank": (None, 40.0), "retail": (BillingModel.PER_CONTACT, None)}
    )
    assert rate_only.base == stored
    assert rate_only.scenario.billing is BillingModel.PER_HOUR
    assert rate_only.scenario.rate_eur == 40.0
    # KPI table, bonus, penalty and cap are the stored ones
    assert rate_only.scenario.kpi_table == stored.kpi_table == BANK_TABLE
    assert rate_only.scenario.penalty_cap_eur == stored.penalty_cap_eur
    assert same_model.scenario == same_model.base == projects["retail"].contract


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"nope": (BillingModel.PER_HOUR, 30.0)}, "project"),
        ({"bank": (BillingModel.PER_CONTACT, None)}, "rate_eur"),  # the unit changes
        ({"bank": ("hourly", 30.0)}, "billing"),
        ({"bank": (None, -1.0)}, "rate_eur"),
        ({"bank": (None, float("nan"))}, "rate_eur"),
    ],
)
def test_changed_contracts_bad_input(
    change: dict[str, tuple[BillingModel | None, float | None]], field: str
) -> None:
    with pytest.raises(InputError) as err:
        changed_contracts(load_projects(SAMPLES), change)
    assert err.value.field == field
    assert err.value.row == next(iter(change))


WHATIF_DAY = ["whatif", "--demand", str(SAMPLES / "history.csv"), "--start", "2026-04-26"]
WHATIF_DAY += ["--end", "2026-04-26"]


def test_whatif_billing_cli(capsys: pytest.CaptureFixture[str]) -> None:
    change = ["--billing", "retail=per_hour", "--rate-eur", "retail=30"]
    code, out, err = run([*WHATIF_DAY, *change], capsys)  # implies --economics
    assert code == 0, err
    assert "retail: per_contact 3.20 → per_hour 30.00" in out
    assert "Economics (EUR)" in out
    code, out, err = run([*WHATIF_DAY, *change, "--json"], capsys)
    assert code == 0, err
    payload = json.loads(out)
    assert payload["contract_changes"] == [
        {
            "project": "retail",
            "base_billing": "per_contact",
            "base_rate_eur": 3.2,
            "scenario_billing": "per_hour",
            "scenario_rate_eur": 30.0,
        }
    ]
    # no staffing change: only retail's revenue moves, cost does not
    by_project = {rec["project"]: rec for rec in payload["economics"]}
    assert by_project["retail"]["delta_cost_eur"] == pytest.approx(0.0)
    assert by_project["retail"]["delta_revenue_eur"] != pytest.approx(0.0)
    for project, rec in by_project.items():
        if project != "retail":
            assert rec["delta_margin_eur"] == pytest.approx(0.0)
    # the same model needs no rate
    code, _, err = run([*WHATIF_DAY, "--billing", "retail=per_contact", "--json"], capsys)
    assert code == 0, err


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--billing", "retail=per_hour"], ("--rate-eur", "retail", "per_hour")),
        (["--billing", "nope=per_hour", "--rate-eur", "nope=3"], ("--billing", "nope")),
        (["--rate-eur", "nope=3"], ("--rate-eur", "nope")),
        (["--billing", "retail=hourly"], ("--billing", "hourly", "per_contact")),
        (["--rate-eur", "retail=abc"], ("--rate-eur", "abc")),
        (["--rate-eur", "retail=-1"], ("--rate-eur", "-1", ">= 0")),
        (["--rate-eur", "retail=inf"], ("--rate-eur", "inf")),
        (["--billing", "retail"], ("--billing", "PROJECT=MODEL")),
        (
            ["--billing", "retail=per_hour", "--billing", "retail=per_seat"],
            ("--billing", "retail", "twice"),
        ),
    ],
)
def test_whatif_billing_cli_bad_input(
    args: list[str], needles: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run([*WHATIF_DAY, *args], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("wfm: error: ")
    for needle in needles:
        assert needle in err
