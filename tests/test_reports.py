"""Client reports and the planner's page (``wfm.services.reports``) on a hand-made week.

Every expected value is worked out by hand in the comments next to it.

The plan: Europe/Berlin, week of Monday 2026-04-27, 30-minute intervals, two projects —
``bank`` (inbound, target 80 % within 20 s, abandonment at most 5 %) and ``dial`` (an
outbound campaign, no service target) — two days (Mon 27, Tue 28) × three intervals (09:00,
09:30, 10:00) and three agents.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wfm.domain import (
    BillingModel,
    Contract,
    OutboundTarget,
    Project,
    ProjectKind,
    ServiceTarget,
)
from wfm.errors import InputError
from wfm.services._files import iso_text
from wfm.services.economics import ECONOMICS_COLUMNS, schedule_hours
from wfm.services.reports import (
    DAILY_COLUMNS,
    EFFICIENCY_COLUMNS,
    FINAL_COLUMNS,
    SECTION_TITLES,
    PlanArtifacts,
    daily_report,
    efficiency_report,
    final_report,
    load_plan_dir,
    report_figure,
    scheduled_coverage,
    write_client_reports,
    write_report_html,
)
from wfm.services.simulation import SUMMARY_COLUMNS

TZ = "Europe/Berlin"
WEEK = dt.date(2026, 4, 27)
MON, TUE = dt.date(2026, 4, 27), dt.date(2026, 4, 28)

PROJECTS = {
    "bank": Project(
        project="bank",
        name="Bank hotline",
        kind=ProjectKind.INBOUND,
        target=ServiceTarget(sl_target=0.8, answer_within_s=20.0, max_abandon_rate=0.05),
        contract=Contract(billing=BillingModel.PER_CONTACT, rate_eur=3.0),
        patience_s=180.0,
    ),
    "dial": Project(
        project="dial",
        name="Energy campaign",
        kind=ProjectKind.OUTBOUND,
        target=None,
        contract=Contract(billing=BillingModel.LEASING, rate_eur=24.0),
        outbound=OutboundTarget(
            contacts_per_week=100.0, dials_per_contact=2.5, talk_s=240.0, wrap_s=15.0
        ),
    ),
}

PROJECTS_CSV = (
    "project,name,kind,sl_target,answer_within_s,max_abandon_rate,patience_s,concurrency,"
    "billing,rate_eur,bonus_eur_per_point,penalty_eur_per_point,penalty_cap_eur,"
    "contacts_per_week,dials_per_contact,talk_s,wrap_s,attempt_s\n"
    "bank,Bank hotline,inbound,0.8,20,0.05,180,1,per_contact,3.0,,,,,,,,\n"
    "dial,Energy campaign,outbound,,,,,1,leasing,24,,,,100,2.5,240,15,120\n"
)


def ts(day: dt.date, hhmm: str) -> pd.Timestamp:
    return pd.Timestamp(f"{day.isoformat()} {hhmm}", tz=TZ)


SLOTS = [(d, t) for d in (MON, TUE) for t in ("09:00", "09:30", "10:00")]


def demand() -> pd.DataFrame:
    rows = []
    for day, t in SLOTS:
        aht = 180.0 if day == MON else 240.0  # bank: 180 s on Monday, 240 s on Tuesday
        rows.append(("bank", ts(day, t), 20.0, aht, 10.0, 14.0, 26.0, 30.0))
        rows.append(("dial", ts(day, t), 8.0, 300.0, 4.0, 6.0, 10.0, 12.0))
    return pd.DataFrame(
        rows,
        columns=[
            "project", "ts", "calls", "aht_s",
            "calls_lo_95", "calls_lo_80", "calls_hi_80", "calls_hi_95",
        ],
    )  # fmt: skip


def actual() -> pd.DataFrame:
    rows = [("bank", ts(MON, t), c, 175.0) for t, c in (("09:00", 11), ("09:30", 19), ("10:00", 9))]
    return pd.DataFrame(rows, columns=["project", "ts", "calls", "aht_s"])


def requirements() -> pd.DataFrame:
    rows = []
    for (day, t), agents in zip(SLOTS, (1, 2, 2, 1, 2, 2), strict=True):
        rows.append(("bank", ts(day, t), agents, 1.5, 0.82, "erlang_a", 0.8, 20.0))
        rows.append(("dial", ts(day, t), 1, 0.9, math.nan, "outbound", math.nan, math.nan))
    return pd.DataFrame(
        rows,
        columns=[
            "project", "ts", "agents", "load_erl", "sl", "model", "sl_target", "answer_within_s",
        ],
    )  # fmt: skip


def schedule() -> pd.DataFrame:
    rows = [
        # a1: bank 09:00–10:30 on both days, a 15-minute break inside Monday's work
        ("a1", ts(MON, "09:00"), ts(MON, "10:30"), "work", "bank"),
        ("a1", ts(MON, "09:30"), ts(MON, "09:45"), "break", None),
        ("a1", ts(TUE, "09:00"), ts(TUE, "10:30"), "work", "bank"),
        # a2: dialling; Tuesday 09:00–11:00 with a lunch 10:00–10:30 inside it
        ("a2", ts(MON, "09:00"), ts(MON, "10:30"), "work", "dial"),
        ("a2", ts(TUE, "09:00"), ts(TUE, "11:00"), "work", "dial"),
        ("a2", ts(TUE, "10:00"), ts(TUE, "10:30"), "lunch", None),
        # a3: bank 09:30–10:30 on both days
        ("a3", ts(MON, "09:30"), ts(MON, "10:30"), "work", "bank"),
        ("a3", ts(TUE, "09:30"), ts(TUE, "10:30"), "work", "bank"),
    ]
    return pd.DataFrame(rows, columns=["agent", "start", "end", "activity", "project"])


# bank's simulated KPIs: offered, answered, abandoned, sl, asa_s per interval
BANK_KPIS = {
    (MON, "09:00"): (10.0, 9.0, 1.0, 0.9, 10.0),
    (MON, "09:30"): (20.0, 18.0, 2.0, 0.7, 30.0),
    (MON, "10:00"): (10.0, 10.0, 0.0, 1.0, 5.0),
    (TUE, "09:00"): (0.0, 0.0, 0.0, math.nan, math.nan),  # nothing offered: undefined
    (TUE, "09:30"): (20.0, 16.0, 4.0, 0.6, 40.0),
    (TUE, "10:00"): (20.0, 20.0, 0.0, 0.8, 20.0),
}


def kpis() -> pd.DataFrame:
    rows = []
    for (day, t), (offered, answered, abandoned, sl, asa) in BANK_KPIS.items():
        lo = sl - 0.05 if not math.isnan(sl) else math.nan
        hi = min(sl + 0.05, 1.0) if not math.isnan(sl) else math.nan
        occ = 0.9 if offered else math.nan
        rows.append(("bank", ts(day, t), offered, answered, abandoned, sl, asa, occ, lo, hi))
    return pd.DataFrame(
        rows,
        columns=[
            "project", "ts", "offered", "answered", "abandoned", "sl", "asa_s", "occupancy",
            "sl_lo", "sl_hi",
        ],
    )  # fmt: skip


def summary() -> pd.DataFrame:
    row = {
        "project": "bank",
        "sl_target": 0.8,
        "answer_within_s": 20.0,
        "offered": 80.0,
        "sl": 0.77,
        "sl_lo": 0.74,
        "sl_hi": 0.81,
        "meets_target_at_lo": False,
        "meets_target_at_mean": False,
        "abandon_rate": 0.0875,
        "asa_s": 23.0,
        "occupancy": 0.9,
    }
    return pd.DataFrame([row], columns=list(SUMMARY_COLUMNS))


def economics() -> pd.DataFrame:
    rows = [
        ("bank", "per_contact", 4.75, 5.0, 219.0, 200.0, 230.0, 100.0, 119.0, 100.0, 130.0,
         54.34, 50.0, 56.5),
        ("dial", "leasing", 3.0, 3.0, 72.0, 72.0, 72.0, 90.0, -18.0, -18.0, -18.0,
         -25.0, -25.0, -25.0),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=list(ECONOMICS_COLUMNS))


def artifacts(**changes: object) -> PlanArtifacts:
    base: dict[str, object] = {
        "tz": TZ,
        "week": WEEK,
        "projects": PROJECTS,
        "demand": demand(),
        "requirements": requirements(),
        "schedule": schedule(),
        "interval_min": 30,
        "actual": actual(),
        "kpis": kpis(),
        "summary": None,
        "economics": economics(),
    }
    base |= changes
    return PlanArtifacts(**base)  # type: ignore[arg-type]


def row(frame: pd.DataFrame, **keys: object) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for k, v in keys.items():
        mask &= (frame[k] == v).to_numpy()
    assert mask.sum() == 1, keys
    found: pd.Series = frame[mask].iloc[0]
    return found


# --------------------------------------------------------------------------------------------
# daily


def test_daily_weights_sl_by_offered_and_asa_by_answered() -> None:
    daily = daily_report(artifacts())
    assert list(daily.columns) == list(DAILY_COLUMNS)
    mon = row(daily, project="bank", date=MON)
    # offered 10 + 20 + 10 = 40, answered 9 + 18 + 10 = 37, abandoned 1 + 2 + 0 = 3
    assert (mon["offered"], mon["answered"], mon["abandoned"]) == (40.0, 37.0, 3.0)
    # SL = (10·0.9 + 20·0.7 + 10·1.0) / 40 = 33 / 40 = 0.825 (the plain mean would be 0.8667)
    assert mon["sl"] == pytest.approx(0.825)
    # ASA = (9·10 + 18·30 + 10·5) / 37 = 680 / 37
    assert mon["asa_s"] == pytest.approx(680.0 / 37.0)
    assert mon["abandon_rate"] == pytest.approx(3.0 / 40.0)
    assert mon["sl_target"] == 0.8 and mon["answer_within_s"] == 20.0
    assert bool(mon["meets_target"]) is True  # 0.825 >= 0.8
    # productive hours: a1 1.5 h less the 0.25 h break + a3 1.0 h = 2.25 h
    assert mon["work_h"] == pytest.approx(2.25)

    tue = row(daily, project="bank", date=TUE)
    # the empty 09:00 interval weighs nothing: SL = (20·0.6 + 20·0.8) / 40 = 0.7
    assert tue["sl"] == pytest.approx(0.7)
    # ASA = (16·40 + 20·20) / 36 = 1040 / 36
    assert tue["asa_s"] == pytest.approx(1040.0 / 36.0)
    assert tue["abandon_rate"] == pytest.approx(4.0 / 40.0)
    assert bool(tue["meets_target"]) is False
    assert tue["work_h"] == pytest.approx(2.5)  # a1 1.5 h + a3 1.0 h


def test_daily_outbound_rows_have_hours_but_no_service() -> None:
    daily = daily_report(artifacts())
    assert list(daily["project"]) == ["bank", "bank", "dial", "dial"]  # projects file order
    for day, hours in ((MON, 1.5), (TUE, 1.5)):  # Tuesday: 2.0 h less the 0.5 h lunch
        dial = row(daily, project="dial", date=day)
        assert dial["work_h"] == pytest.approx(hours)
        for column in ("offered", "sl", "asa_s", "abandon_rate", "sl_target"):
            assert math.isnan(dial[column]), column
        assert dial["meets_target"] is pd.NA


def test_daily_uses_the_simulators_per_day_figures_when_given() -> None:
    per_day = pd.DataFrame(
        {
            "project": ["bank", "bank"],
            "date": [MON, TUE],
            "offered": [40.0, 40.0],
            "answered": [37.0, 36.0],
            "abandoned": [3.0, 4.0],
            "sl": [0.81, 0.69],
            "asa_s": [18.0, 29.0],
        }
    )
    art = artifacts(kpi_daily=per_day)
    daily = daily_report(art)
    assert row(daily, project="bank", date=MON)["sl"] == 0.81
    assert row(daily, project="bank", date=TUE)["asa_s"] == 29.0
    final = row(final_report(art), project="bank")
    # no summary: the week is the offered-weighted day figure (40·0.81 + 40·0.69) / 80 = 0.75,
    # the simulation summary's own definition
    assert final["sl"] == pytest.approx(0.75)
    # ASA: (37·18 + 36·29) / 73 = (666 + 1044) / 73 = 1710 / 73
    assert final["asa_s"] == pytest.approx(1710.0 / 73.0)


# --------------------------------------------------------------------------------------------
# final


def test_final_week_totals_and_targets() -> None:
    final = final_report(artifacts())
    assert list(final.columns) == list(FINAL_COLUMNS)
    bank = row(final, project="bank")
    assert (bank["offered"], bank["answered"], bank["abandoned"]) == (80.0, 73.0, 7.0)
    # SL = (33 + 28) / 80 = 61 / 80 (offered-weighted, the days' sums of offered × SL)
    assert bank["sl"] == pytest.approx(61.0 / 80.0)
    assert math.isnan(bank["sl_lo"]) and math.isnan(bank["sl_hi"])  # no summary
    # ASA = (680 + 1040) / 73
    assert bank["asa_s"] == pytest.approx(1720.0 / 73.0)
    assert bank["abandon_rate"] == pytest.approx(7.0 / 80.0)  # 0.0875 > 0.05
    assert (bank["sl_target"], bank["answer_within_s"], bank["max_abandon_rate"]) == (
        0.8,
        20.0,
        0.05,
    )
    assert math.isnan(bank["max_asa_s"])
    assert bool(bank["meets_sl_target"]) is False  # 0.7625 < 0.8
    assert bank["meets_sl_target_at_lo"] is pd.NA
    assert bool(bank["meets_abandon_target"]) is False
    assert bank["meets_asa_target"] is pd.NA  # the contract has no ASA target
    assert bool(bank["meets_all_targets"]) is False
    assert bank["name"] == "Bank hotline" and bank["kind"] == "inbound"


def test_final_takes_sl_and_its_interval_from_the_summary() -> None:
    bank = row(final_report(artifacts(summary=summary())), project="bank")
    assert (bank["sl"], bank["sl_lo"], bank["sl_hi"], bank["asa_s"]) == (0.77, 0.74, 0.81, 23.0)
    assert bank["offered"] == 80.0  # totals still from the KPIs
    assert bool(bank["meets_sl_target"]) is False  # 0.77 < 0.8
    assert bool(bank["meets_sl_target_at_lo"]) is False  # 0.74 < 0.8


def test_final_passes_when_every_target_is_met() -> None:
    good = kpis().assign(sl=lambda f: f["sl"].clip(lower=0.9), abandoned=0.0)
    good["answered"] = good["offered"]
    bank = row(final_report(artifacts(kpis=good)), project="bank")
    # every defined SL is at least 0.9 now, nothing abandoned
    assert bank["sl"] >= 0.9 and bank["abandon_rate"] == 0.0
    assert bool(bank["meets_sl_target"]) and bool(bank["meets_abandon_target"])
    assert bool(bank["meets_all_targets"]) is True


def test_final_outbound_row_has_targets_missing() -> None:
    dial = row(final_report(artifacts(summary=summary())), project="dial")
    assert dial["kind"] == "outbound"
    for column in ("offered", "answered", "sl", "sl_lo", "abandon_rate", "asa_s", "sl_target"):
        assert math.isnan(dial[column]), column
    for column in ("meets_sl_target", "meets_abandon_target", "meets_all_targets"):
        assert dial[column] is pd.NA, column


# --------------------------------------------------------------------------------------------
# efficiency


def test_efficiency_with_a_break_inside_work() -> None:
    eff = efficiency_report(artifacts())
    assert list(eff.columns) == list(EFFICIENCY_COLUMNS)
    bank = row(eff, project="bank")
    # work: a1 (1.5 − 0.25) + 1.5, a3 1.0 + 1.0 → 4.75 h
    assert bank["work_h"] == pytest.approx(4.75)
    # busy: Monday 37 answered × 180 s = 6660 s, Tuesday 36 × 240 s = 8640 s → 4.25 h
    assert bank["busy_h"] == pytest.approx(4.25)
    assert bank["occupancy"] == pytest.approx(4.25 / 4.75)
    # 73 answered over 4.75 productive agent-hours
    assert bank["contacts_per_agent_h"] == pytest.approx(73.0 / 4.75)
    # cost 100 € over 73 answered calls
    assert bank["cost_per_contact_eur"] == pytest.approx(100.0 / 73.0)
    assert (bank["paid_h"], bank["cost_eur"], bank["revenue_eur"]) == (5.0, 100.0, 219.0)
    assert (bank["margin_eur"], bank["margin_eur_lo"], bank["margin_eur_hi"]) == (
        119.0,
        100.0,
        130.0,
    )


def test_efficiency_counts_a_chat_as_a_share_of_its_agent() -> None:
    # the same contacts on a chat project with concurrency 2: each chat keeps its agent half
    # busy, so busy = 4.25 h ÷ 2 = 2.125 h (and occupancy halves)
    chat = dataclasses.replace(PROJECTS["bank"], kind=ProjectKind.CHAT, concurrency=2)
    eff = efficiency_report(artifacts(projects={**PROJECTS, "bank": chat}))
    bank = row(eff, project="bank")
    assert bank["busy_h"] == pytest.approx(2.125)
    assert bank["occupancy"] == pytest.approx(2.125 / 4.75)


def test_efficiency_work_hours_agree_with_economics_schedule_hours() -> None:
    per, _ = schedule_hours(schedule())
    expected = per.groupby("project")["work_h"].sum()
    eff = efficiency_report(artifacts()).set_index("project")
    for project in ("bank", "dial"):
        assert eff.loc[project, "work_h"] == pytest.approx(expected[project])


def test_efficiency_outbound_row_keeps_hours_and_cost() -> None:
    dial = row(efficiency_report(artifacts()), project="dial")
    assert dial["work_h"] == pytest.approx(3.0)  # 1.5 h Monday + (2.0 − 0.5) h Tuesday
    assert (dial["cost_eur"], dial["margin_eur"]) == (90.0, -18.0)
    for column in ("answered", "busy_h", "occupancy", "contacts_per_agent_h"):
        assert math.isnan(dial[column]), column
    assert math.isnan(dial["cost_per_contact_eur"])


def test_efficiency_nothing_answered_gives_nan_cost_per_contact() -> None:
    none = kpis().assign(answered=0.0, asa_s=math.nan)
    none["abandoned"] = none["offered"]
    art = artifacts(kpis=none)
    bank = row(efficiency_report(art), project="bank")
    assert bank["answered"] == 0.0
    assert math.isnan(bank["cost_per_contact_eur"])
    assert bank["contacts_per_agent_h"] == 0.0  # 0 answered ÷ 4.75 h
    assert bank["busy_h"] == 0.0
    assert math.isnan(row(final_report(art), project="bank")["asa_s"])
    assert row(final_report(art), project="bank")["abandon_rate"] == 1.0  # 80 / 80


def test_efficiency_without_economics_has_no_money() -> None:
    bank = row(efficiency_report(artifacts(economics=None)), project="bank")
    assert bank["work_h"] == pytest.approx(4.75)
    for column in ("paid_h", "cost_eur", "cost_per_contact_eur", "margin_eur"):
        assert math.isnan(bank[column]), column


def test_scheduled_coverage_takes_breaks_out_per_interval() -> None:
    cov = scheduled_coverage(artifacts())
    bank = cov[cov["project"] == "bank"].set_index("ts")
    # 09:00 a1; 09:30 a1 half (break 09:30–09:45) + a3; 10:00 a1 + a3
    assert bank.loc[ts(MON, "09:00"), "scheduled"] == pytest.approx(1.0)
    assert bank.loc[ts(MON, "09:30"), "scheduled"] == pytest.approx(1.5)
    assert bank.loc[ts(MON, "10:00"), "scheduled"] == pytest.approx(2.0)
    assert bank.loc[ts(MON, "09:30"), "required"] == 2.0
    dial = cov[cov["project"] == "dial"].set_index("ts")
    # a2's Tuesday lunch 10:00–10:30 empties that interval; 10:30 has work but no requirement
    assert dial.loc[ts(TUE, "10:00"), "scheduled"] == 0.0
    assert dial.loc[ts(TUE, "10:30"), "scheduled"] == pytest.approx(1.0)
    assert dial.loc[ts(TUE, "10:30"), "required"] == 0.0


# --------------------------------------------------------------------------------------------
# writing


def test_write_client_reports_round_trip(tmp_path: Path) -> None:
    art = artifacts(summary=summary())
    paths = write_client_reports(art, tmp_path / "out")
    assert {p.name for p in paths.values()} == {
        "client_daily.csv",
        "client_final.csv",
        "client_efficiency.csv",
        "client_reports.html",
    }
    daily = pd.read_csv(paths["daily"])
    assert list(daily.columns) == list(DAILY_COLUMNS)
    mon = daily[(daily["project"] == "bank") & (daily["date"] == "2026-04-27")].iloc[0]
    assert mon["sl"] == pytest.approx(0.825)
    final = pd.read_csv(paths["final"]).set_index("project")
    assert final.loc["bank", "sl_lo"] == pytest.approx(0.74)
    assert final["sl"].isna()["dial"]  # written empty
    eff = pd.read_csv(paths["efficiency"]).set_index("project")
    assert eff.loc["bank", "cost_per_contact_eur"] == pytest.approx(100.0 / 73.0)
    page = paths["html"].read_text(encoding="utf-8")
    assert page.count("<table>") == 3
    for text in ("Bank hotline", "bank", "dial", "82.5 %", "2026-04-27"):
        assert text in page
    assert not list((tmp_path / "out").glob(".*.tmp"))  # no temporary file left


def test_client_html_escapes_names(tmp_path: Path) -> None:
    odd = {
        "bank": Project(
            project="bank",
            name="<b>Bank & Co</b>",
            kind=ProjectKind.INBOUND,
            target=ServiceTarget(sl_target=0.8, answer_within_s=20.0),
            contract=Contract(billing=BillingModel.PER_CONTACT, rate_eur=3.0),
        ),
        "dial": PROJECTS["dial"],
    }
    page = write_client_reports(artifacts(projects=odd), tmp_path)["html"].read_text("utf-8")
    assert "&lt;b&gt;Bank &amp; Co&lt;/b&gt;" in page and "<b>Bank" not in page


def test_report_html_has_every_section(tmp_path: Path) -> None:
    art = artifacts(summary=summary())
    path = write_report_html(art, tmp_path / "plan.html")
    page = path.read_text(encoding="utf-8")
    for title in SECTION_TITLES:
        assert title in page
    assert "plotly" in page.lower()
    assert page.count("* plotly.js v") == 1  # plotly.js embedded once, for every figure
    for project in ("bank", "dial"):
        assert project in page
    assert all(s.figure is not None for s in report_figure(art).sections)


def test_report_degrades_without_kpis_and_economics(tmp_path: Path) -> None:
    art = artifacts(kpis=None, economics=None, actual=None)
    page = report_figure(art)
    by_title = {s.title: s for s in page.sections}
    assert by_title["Simulated service level"].figure is None
    assert "No simulated KPIs" in str(by_title["Simulated service level"].note)
    assert by_title["Margin per project"].figure is None
    assert "No economics" in str(by_title["Margin per project"].note)
    assert by_title["Forecast vs actual calls"].figure is not None
    text = write_report_html(art, tmp_path / "p.html").read_text(encoding="utf-8")
    assert "No simulated KPIs" in text and "No economics" in text
    # the client reports still come out, service figures missing
    daily = daily_report(art)
    assert daily["sl"].isna().all() and daily["work_h"].sum() == pytest.approx(4.75 + 3.0)
    assert final_report(art)["sl"].isna().all()
    html = write_client_reports(art, tmp_path / "c")["html"].read_text(encoding="utf-8")
    assert "No simulated KPIs" in html


# --------------------------------------------------------------------------------------------
# the plan folder


def write_plan_dir(folder: Path, art: PlanArtifacts) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    plan = {"week": WEEK.isoformat(), "tz": TZ, "interval_min": 30, "seed": 1}
    (folder / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    (folder / "projects.csv").write_text(PROJECTS_CSV, encoding="utf-8")
    frames = {
        "demand.csv": (art.demand, ("ts",)),
        "requirements.csv": (art.requirements, ("ts",)),
        "schedule.csv": (art.schedule, ("start", "end")),
        "kpis.csv": (art.kpis, ("ts",)),
        "actual.csv": (art.actual, ("ts",)),
        "kpi_summary.csv": (art.summary, ()),
        "economics.csv": (art.economics, ()),
    }
    for name, (frame, times) in frames.items():
        assert frame is not None
        out = frame.copy()
        for column in times:
            out[column] = iso_text(out[column])
        out.to_csv(folder / name, index=False)


def test_load_plan_dir_round_trip(tmp_path: Path) -> None:
    art = artifacts(summary=summary())
    write_plan_dir(tmp_path / "plan", art)
    loaded = load_plan_dir(tmp_path / "plan")
    assert (loaded.week, loaded.tz, loaded.interval_min) == (WEEK, TZ, 30)
    assert set(loaded.projects) == {"bank", "dial"}
    assert loaded.projects["bank"].target == PROJECTS["bank"].target
    assert loaded.kpi_daily is None
    for report in (daily_report, final_report, efficiency_report):
        pd.testing.assert_frame_equal(report(loaded), report(art), check_dtype=False)
    assert loaded.summary is not None and not loaded.summary["meets_target_at_lo"].iloc[0]


def test_load_plan_dir_optional_files_may_be_missing(tmp_path: Path) -> None:
    folder = tmp_path / "plan"
    write_plan_dir(folder, artifacts(summary=summary()))
    for name in ("kpis.csv", "kpi_summary.csv", "economics.csv", "actual.csv"):
        (folder / name).unlink()
    loaded = load_plan_dir(folder, projects=PROJECTS)
    assert loaded.kpis is None and loaded.summary is None and loaded.economics is None
    assert loaded.actual is None
    assert len(report_figure(loaded).sections) == len(SECTION_TITLES)


def test_load_plan_dir_bad_kpis_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "plan"
    write_plan_dir(folder, artifacts(summary=summary()))
    bad = pd.read_csv(folder / "kpis.csv", dtype=str)
    bad.loc[1, "sl"] = "1.5"
    bad.to_csv(folder / "kpis.csv", index=False)
    with pytest.raises(InputError, match=r"kpis\.csv") as err:
        load_plan_dir(folder)
    assert err.value.field == "sl"
    assert err.value.row == 3  # the second data row is line 3


def test_load_plan_dir_bad_economics_names_file_line_and_column(tmp_path: Path) -> None:
    folder = tmp_path / "plan"
    write_plan_dir(folder, artifacts(summary=summary()))
    text = (folder / "economics.csv").read_text(encoding="utf-8").replace(",90.0,", ",ninety,")
    (folder / "economics.csv").write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"economics\.csv line 3, column 'cost_eur'") as err:
        load_plan_dir(folder)
    assert err.value.field == "cost_eur"


@pytest.mark.parametrize(
    ("plan", "field"),
    [
        ({"tz": TZ, "interval_min": 30}, "week"),
        ({"week": "2026-04-28", "tz": TZ, "interval_min": 30}, "week"),  # a Tuesday
        ({"week": "2026-04-27", "tz": "Mars/Olympus", "interval_min": 30}, "tz"),
        ({"week": "2026-04-27", "tz": TZ, "interval_min": 20}, "interval_min"),
    ],
)
def test_load_plan_dir_bad_plan_json(tmp_path: Path, plan: dict[str, object], field: str) -> None:
    folder = tmp_path / "plan"
    write_plan_dir(folder, artifacts(summary=summary()))
    (folder / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_plan_dir(folder)
    assert err.value.field == field


def test_load_plan_dir_missing_schedule_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "plan"
    write_plan_dir(folder, artifacts(summary=summary()))
    (folder / "schedule.csv").unlink()
    with pytest.raises(InputError, match=r"schedule\.csv"):
        load_plan_dir(folder)


def test_unknown_project_and_work_without_project_are_input_errors() -> None:
    with pytest.raises(InputError, match="kpis row 0") as err:
        artifacts(kpis=kpis().assign(project="nope"))
    assert err.value.field == "project"
    loose = schedule()
    loose.loc[0, "project"] = None
    with pytest.raises(InputError, match="work segment without a project"):
        artifacts(schedule=loose)


def test_load_plan_dir_unknown_project_names_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "plan"
    write_plan_dir(folder, artifacts(summary=summary()))
    text = (folder / "demand.csv").read_text(encoding="utf-8").splitlines()
    text[4] = text[4].replace("dial", "nope", 1)  # the fourth data row: line 5
    (folder / "demand.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"demand\.csv line 5, column 'project'") as err:
        load_plan_dir(folder)
    assert (err.value.field, err.value.row) == ("project", 5)
