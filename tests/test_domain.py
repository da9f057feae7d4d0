"""Value objects validate on construction and answer the simple questions correctly."""

from __future__ import annotations

import datetime as dt

import pytest

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
    Site,
)
from wfm.errors import InputError


def test_service_target_label_and_checks() -> None:
    assert ServiceTarget(0.8, 20).label == "80/20"
    assert ServiceTarget(0.9, 30, max_abandon_rate=0.04).label == "90/30"
    for kwargs, field in (
        ({"sl_target": 1.0, "answer_within_s": 20}, "sl_target"),
        ({"sl_target": 0.0, "answer_within_s": 20}, "sl_target"),
        ({"sl_target": 0.8, "answer_within_s": -1}, "answer_within_s"),
        ({"sl_target": 0.8, "answer_within_s": 20, "max_abandon_rate": 1.5}, "max_abandon_rate"),
        ({"sl_target": 0.8, "answer_within_s": 20, "max_asa_s": 0}, "max_asa_s"),
    ):
        with pytest.raises(InputError) as err:
            ServiceTarget(**kwargs)
        assert err.value.field == field


def test_opening_hours_same_day_past_midnight_and_all_day() -> None:
    t = dt.time
    hours = OpeningHours({1: (t(8), t(20)), 5: (t(22), t(2)), 7: (t(0), t(0))})
    monday = dt.datetime(2026, 4, 20)
    assert hours.is_open(monday.replace(hour=8))
    assert not hours.is_open(monday.replace(hour=20))
    assert not hours.is_open(monday.replace(hour=7, minute=59))
    friday = dt.datetime(2026, 4, 24)
    assert hours.is_open(friday.replace(hour=23))
    assert hours.is_open(friday.replace(hour=0, minute=0) + dt.timedelta(days=1, hours=1))
    assert not hours.is_open(friday + dt.timedelta(days=1, hours=2))
    sunday = dt.datetime(2026, 4, 26)
    assert hours.is_open(sunday.replace(hour=3))
    assert hours.is_open(sunday.replace(hour=23, minute=45))
    # Monday 00:30 belongs to Sunday's all-day opening only until midnight
    assert not hours.is_open(monday.replace(hour=0, minute=30) + dt.timedelta(days=7))
    with pytest.raises(InputError):
        OpeningHours({8: (t(8), t(9))})


def test_contract_kpi_coefficient_steps() -> None:
    table = (KpiCoefficient(0.0, 0.9), KpiCoefficient(0.8, 1.0), KpiCoefficient(0.85, 1.05))
    c = Contract(BillingModel.PER_HOUR, 31.5, kpi_table=table)
    assert c.kpi_coefficient(0.5) == 0.9
    assert c.kpi_coefficient(0.8) == 1.0
    assert c.kpi_coefficient(0.9) == 1.05
    assert Contract(BillingModel.PER_CONTACT, 3.0).kpi_coefficient(0.1) == 1.0
    with pytest.raises(InputError, match="kpi_table"):
        Contract(BillingModel.PER_HOUR, 30, kpi_table=tuple(reversed(table)))
    with pytest.raises(InputError, match="rate_eur"):
        Contract(BillingModel.PER_HOUR, -1)


def test_project_needs_the_target_of_its_kind() -> None:
    contract = Contract(BillingModel.LEASING, 24)
    with pytest.raises(InputError, match="outbound"):
        Project("out", "Outbound", ProjectKind.OUTBOUND, target=None, contract=contract)
    with pytest.raises(InputError, match="service target"):
        Project("bank", "Bank", ProjectKind.INBOUND, target=None, contract=contract)
    ok = Project(
        "out",
        "Outbound",
        ProjectKind.OUTBOUND,
        target=None,
        contract=contract,
        outbound=OutboundTarget(2450, 2.8, 240),
    )
    assert ok.concurrency == 1
    with pytest.raises(InputError, match="dials_per_contact"):
        OutboundTarget(100, 0.5, 240)


def test_agent_checks_and_priority_order() -> None:
    skills = Agent.skills_from(["retail", "bank"])
    a = Agent("A1", skills, min_hours_week=20, max_hours_week=30)
    assert a.projects == ("retail", "bank")
    with pytest.raises(InputError, match="twice"):
        Agent("A2", Agent.skills_from(["bank", "bank"]), 20, 30)
    with pytest.raises(InputError, match="min_hours_week"):
        Agent("A3", skills, 40, 30)
    with pytest.raises(InputError, match="no skills"):
        Agent("A4", (), 10, 20)


def test_site_zone() -> None:
    assert Site("Berlin", "Europe/Berlin", "DE", "BE").zone.key == "Europe/Berlin"
    with pytest.raises(InputError, match="tz"):
        Site("Nowhere", "Mars/Olympus", "DE")
