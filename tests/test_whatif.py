"""The what-if service: aggregates checked by independent arithmetic on the samples."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wfm.errors import InputError
from wfm.services.sitedata import load_projects
from wfm.services.staffing import (
    Scenario,
    infer_interval_min,
    load_demand,
    staff_interval,
    whatif,
)

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
TZ = "Europe/Berlin"


@pytest.fixture(scope="module")
def demand() -> pd.DataFrame:
    return load_demand(SAMPLES / "history.csv", tz=TZ)


def test_interval_is_inferred(demand: pd.DataFrame) -> None:
    assert infer_interval_min(demand) == 15


def test_daily_aggregates_match_hand_sums(demand: pd.DataFrame) -> None:
    projects = load_projects(SAMPLES)
    r = whatif(
        demand,
        projects,
        tz=TZ,
        scenario=Scenario(calls_scale=1.2),
        start=dt.date(2026, 3, 29),  # the spring-forward day (23 h)
        end=dt.date(2026, 3, 29),
    )
    req = r.base_requirements
    ts_local = pd.DatetimeIndex(req["ts"]).tz_convert(TZ)
    assert set(ts_local.date) == {dt.date(2026, 3, 29)}
    tech = req[req["project"] == "techsupport"]
    assert len(tech) == 92  # open 24/7, 92 quarter-hours on the DST day
    row = r.daily[(r.daily["project"] == "techsupport")].iloc[0]
    assert row["base_agent_hours"] == pytest.approx(tech["agents"].sum() * 0.25)
    assert row["base_peak_agents"] == tech["agents"].max()
    assert row["base_fte"] == pytest.approx(tech["agents"].sum() * 0.25 / 0.7 / 8.0)
    weighted = float((tech["sl"] * tech["calls"]).sum() / tech["calls"].sum())
    assert row["base_sl"] == pytest.approx(weighted)
    assert (tech["sl"] >= 0.8).all()  # each interval meets its 80/60 target
    scen = r.scenario_requirements
    assert scen["calls"].sum() == pytest.approx(1.2 * req["calls"].sum())
    assert (scen["agents"].to_numpy() >= req["agents"].to_numpy()).all()


def test_chat_uses_concurrency_and_outbound_its_workload(demand: pd.DataFrame) -> None:
    projects = load_projects(SAMPLES)
    r = whatif(
        demand,
        projects,
        tz=TZ,
        scenario=Scenario(),
        start=dt.date(2026, 4, 20),
        end=dt.date(2026, 4, 20),
    )
    req = r.base_requirements
    chat = req[req["project"] == "chat"]
    one = staff_interval(
        float(chat["calls"].iloc[40]),
        interval_min=15,
        aht_s=float(chat["aht_s"].iloc[40]),
        sl_target=0.8,
        answer_within_s=60,
        concurrency=2,
    )
    assert int(chat["agents"].iloc[40]) == one.agents
    out = req[req["project"] == "outbound"]
    assert out["sl"].isna().all()
    assert (out["model"] == "outbound").all()
    # workload by hand: contacts × (aht + 1.8 × 120 s) / (900 s × 0.85), rounded up
    i = int(np.argmax(out["calls"].to_numpy()))
    calls = float(out["calls"].iloc[i])
    aht = float(out["aht_s"].iloc[i])
    assert int(out["agents"].iloc[i]) == int(np.ceil(calls * (aht + 1.8 * 120) / 765 - 1e-9))


def test_targets_override_and_model(demand: pd.DataFrame) -> None:
    projects = load_projects(SAMPLES)
    day = dt.date(2026, 4, 21)
    scenario = Scenario(sl_target=0.95, answer_within_s=10)
    strict = whatif(demand, projects, tz=TZ, scenario=scenario, start=day, end=day)
    req = strict.scenario_requirements
    inbound = req[req["model"] != "outbound"]
    assert (inbound["sl_target"] == 0.95).all() and (inbound["answer_within_s"] == 10).all()
    assert (inbound["sl"] >= 0.95).all()
    assert strict.by_project["delta_agent_hours"].iloc[0] > 0


def test_bad_scenarios() -> None:
    with pytest.raises(InputError, match="calls_scale"):
        Scenario(calls_scale=0)
    with pytest.raises(InputError, match="sl_target"):
        Scenario(sl_target=1.0)
    with pytest.raises(InputError, match="shrinkage"):
        Scenario(shrinkage=1.0)
