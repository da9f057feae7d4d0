"""What-if sweeps (``wfm.batch.sweep``, ``wfm sweep``) on a tiny site.

What is checked: grid files (YAML product and list, CSV) become the scenarios they say, and bad
ones raise errors naming the file, the line and the field; the sweep's values move the way the
modifiers push them (more calls need at least as many agent-hours; a higher SL target buys at
least the Erlang SL and more simulated SL); the synthetic schedule covers exactly the required
agents; the economics add up (margin = revenue − cost, cost = paid hours × the agents' mean
rate, recomputed here); the same sweep serially and on a LocalCluster of 2 processes gives equal
frames; simulations split into chunk tasks of replications give the same frames, bit for bit,
as in one task (serially and on the cluster), and a failed chunk is reported by its key; a
scenario that fails at run time is reported with its key and input while the others finish;
files written by key are byte-identical after a second run; the CLI's exit codes.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _sites import TZ, WEEK, write_site
from cli_helpers import run

from wfm.batch import batch_client
from wfm.batch.sweep import (
    MAX_SCENARIOS,
    PROJECT_COLUMNS,
    SUMMARY_COLUMNS,
    SweepResult,
    load_grid,
    pareto_frontier,
    scenario_file_name,
    sweep,
    sweep_scenario,
    synthetic_schedule,
)
from wfm.domain import BillingModel
from wfm.errors import InputError


def _site(folder: Path, *, shop_patience: bool = True) -> Path:
    """The batch tests' tiny site (``tests/_sites.py``: bank per hour and shop per contact,
    open Mon–Fri 08:00–12:00) with two weeks of history; without shop's patience if asked."""
    write_site(folder, weeks=2)
    if not shop_patience:
        projects = folder / "projects.csv"
        text = projects.read_text()
        assert ",0.05,120,1,per_contact," in text
        projects.write_text(text.replace(",0.05,120,1,per_contact,", ",0.05,,1,per_contact,"))
    return folder


def _rows(frame: pd.DataFrame, *keys: str) -> dict[Any, dict[str, Any]]:
    """A frame's rows by the value(s) of ``keys`` (one key: the value; more: a tuple)."""
    out: dict[Any, dict[str, Any]] = {}
    for rec in frame.to_dict(orient="records"):
        row = {str(k): v for k, v in rec.items()}
        out[row[keys[0]] if len(keys) == 1 else tuple(row[k] for k in keys)] = row
    return out


def _mean_rate(folder: Path, project: str) -> float:
    """The mean hourly cost of the agents holding ``project``, from agents.csv."""
    agents = pd.read_csv(folder / "agents.csv")
    holds = agents["skills"].str.split(";").apply(lambda s: project in s)
    return float(agents.loc[holds, "hourly_cost_eur"].mean())


# --------------------------------------------------------------------------------------------
# grids


def test_yaml_grid_is_the_product_of_its_axes_after_the_listed_scenarios(tmp_path: Path) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text(
        "scenarios:\n"
        "  - name: base\n"
        "  - name: shop per hour\n"
        "    billing: {shop: per_hour}\n"
        "    rate_eur: {shop: 28}\n"
        "    model: erlang-a\n"
        "grid:\n"
        "  calls_scale: [0.8, 1.2]\n"
        "  aht_scale: [0.9, 1.0, 1.1]\n"
        "  sl_target: 0.85\n"
    )
    scenarios = load_grid(path)
    assert [s.name for s in scenarios[:2]] == ["base", "shop per hour"]
    assert len(scenarios) == 2 + 2 * 3
    assert scenarios[2].name == "calls=0.80 aht=0.90 sl=0.85"
    assert scenarios[-1].name == "calls=1.20 aht=1.10 sl=0.85"
    last = scenarios[-1].staffing
    assert (last.calls_scale, last.aht_scale, last.sl_target) == (1.2, 1.1, 0.85)
    changed = scenarios[1]
    assert changed.contracts == (("shop", BillingModel.PER_HOUR, 28.0),)
    assert changed.staffing.model == "erlang_a"
    assert changed.source == "grid.yaml line 3"
    assert scenarios[0].staffing == sweep_scenario("x", {}).staffing  # the defaults


def test_csv_grid_reads_one_scenario_per_line(tmp_path: Path) -> None:
    path = tmp_path / "grid.csv"
    path.write_text(
        "name,calls_scale,sl_target,billing.shop,rate_eur.shop\n"
        "base,,,,\n"
        "busy,1.2,0.9,,\n"
        "\n"
        "shop per hour,,,per_hour,28.5\n"
    )
    scenarios = load_grid(path)
    assert [s.name for s in scenarios] == ["base", "busy", "shop per hour"]
    assert scenarios[1].staffing.calls_scale == 1.2 and scenarios[1].staffing.sl_target == 0.9
    assert scenarios[0].staffing.sl_target is None
    assert scenarios[2].contracts == (("shop", BillingModel.PER_HOUR, 28.5),)
    assert scenarios[2].source == "grid.csv line 5"


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("g.csv", "name,calls_scale\nbase,1\nbusy,x\n", r"g\.csv line 3, calls_scale: 'x'"),
        ("g.csv", "name,volume\nbase,1\n", r"g\.csv line 1: unknown column 'volume'"),
        ("g.csv", "name,calls_scale\nbase,1\nbase,2\n", r"g\.csv line 3, name: 'base' is used"),
        ("g.csv", "name,sl_target\nbase,1.5\n", r"g\.csv line 2: sl_target: 1\.5"),
        ("g.csv", "name,billing.shop\nbase,per_minute\n", r"line 2, billing\.shop"),
        ("g.yaml", "scenarios:\n  - name: a\n  - name: b\n    aht: 2\n", r"g\.yaml line 3, aht"),
        ("g.yaml", "grid:\n  calls_scale: [1, 0]\n", r"g\.yaml line 2: calls_scale: 0"),
        ("g.yaml", "grid:\n  model: [erlang_c, erlang_b]\n", r"line 2, model: 'erlang_b'"),
        ("g.yaml", "sweep: 1\n", r"g\.yaml: expected a mapping with 'scenarios'"),
        ("g.yaml", "grid: [\n", r"g\.yaml: not valid YAML"),
        ("g.yaml", "scenarios:\n  - calls_scale: 1\n", r"line 2, name: the scenario has no name"),
        ("g.toml", "x = 1\n", r"unknown grid format '\.toml'"),
    ],
)
def test_bad_grids_name_the_file_line_and_field(
    tmp_path: Path, name: str, text: str, match: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=match):
        load_grid(path)


def test_a_grid_beyond_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    axis = ", ".join(f"{1 + i / 1000:.3f}" for i in range(50))
    path.write_text(f"grid:\n  calls_scale: [{axis}]\n  aht_scale: [{axis}]\n")
    assert MAX_SCENARIOS < 50 * 50
    with pytest.raises(InputError, match="more than 2,000") as info:
        load_grid(path)
    assert info.value.field == "grid"


def test_contract_changes_are_checked_against_the_site_before_any_task(tmp_path: Path) -> None:
    data = _site(tmp_path / "site")
    unknown = sweep_scenario("x", {"billing.hotline": "per_hour", "rate_eur.hotline": 1})
    with pytest.raises(InputError, match=r"scenario 'x'.*'hotline' is not a project"):
        sweep(data, [unknown], replications=2)
    no_rate = sweep_scenario("y", {"billing.shop": "per_hour"}, source="g.csv line 4")
    with pytest.raises(InputError, match=r"g\.csv line 4: rate_eur: project 'shop'"):
        sweep(data, [no_rate], replications=2)
    with pytest.raises(InputError, match="not a Monday"):
        sweep(data, [sweep_scenario("z", {})], week=dt.date(2026, 4, 21), replications=2)


def test_synthetic_schedule_covers_exactly_the_required_agents() -> None:
    ts = pd.DatetimeIndex(
        [
            *pd.date_range("2026-04-20 08:00", periods=6, freq="30min", tz=TZ),
            *pd.date_range("2026-04-21 08:00", periods=2, freq="30min", tz=TZ),
        ]
    )
    req = pd.DataFrame({"project": "bank", "ts": ts, "agents": [1, 3, 0, 2, 2, 1, 2, 1]})
    schedule = synthetic_schedule(req, interval_min=30)
    assert set(schedule["activity"]) == {"work"} and set(schedule["project"]) == {"bank"}
    for t, need in zip(ts, req["agents"], strict=True):
        at_work = schedule[(schedule["start"] <= t) & (schedule["end"] > t)]
        assert len(at_work) == need and at_work["agent"].is_unique
    # runs are merged: agent bank:1 works 08:00–09:00 and 09:30–11:00 on day 1, then day 2
    first = schedule[schedule["agent"] == "bank:1"]
    assert len(first) == 3
    # nothing across the night: every segment lies inside one day's intervals
    assert (schedule["end"] - schedule["start"]).max() == pd.Timedelta(hours=1.5)


def test_pareto_frontier_keeps_the_undominated_scenarios() -> None:
    frame = pd.DataFrame(
        {"sl": [0.80, 0.90, 0.85, 0.95, np.nan], "margin_eur": [100.0, 90.0, 80.0, 50.0, 999.0]}
    )
    assert pareto_frontier(frame) == [True, True, False, True, False]


def test_scenario_file_names_are_safe_and_distinct() -> None:
    a, b = scenario_file_name("calls=1.20 aht=0.90"), scenario_file_name("calls=1.20_aht=0.90")
    assert a != b and a.startswith("calls=1.20_aht=0.90-") and a.endswith(".json")
    assert "/" not in scenario_file_name("../../etc") and " " not in a


# --------------------------------------------------------------------------------------------
# sweeps


GRID = [
    sweep_scenario("base", {}),
    sweep_scenario("busy", {"calls_scale": 1.2}),
    sweep_scenario("strict", {"sl_target": 0.95}),
    sweep_scenario("loose", {"sl_target": 0.5}),
    sweep_scenario("shop per hour", {"billing.shop": "per_hour", "rate_eur.shop": 25}),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _site(tmp_path_factory.mktemp("sweep") / "site")


@pytest.fixture(scope="module")
def serial(site: Path) -> SweepResult:
    return sweep(site, GRID, replications=4, seed=3)


def test_sweep_values_move_the_way_the_modifiers_push_them(serial: SweepResult) -> None:
    r = serial
    assert r.ok and r.week == WEEK - dt.timedelta(days=7)  # Mon–Fri site: its last week
    assert r.batch.ran_on == "serial" and r.batch.tasks == len(GRID) * 3
    assert list(r.summary.columns) == list(SUMMARY_COLUMNS)
    assert list(r.by_project.columns) == list(PROJECT_COLUMNS)
    f = r.summary
    s = _rows(f, "scenario")
    assert s["busy"]["agent_hours"] >= s["base"]["agent_hours"]
    assert s["busy"]["calls"] == pytest.approx(1.2 * s["base"]["calls"])
    assert s["strict"]["agent_hours"] >= s["base"]["agent_hours"]
    assert s["strict"]["erlang_sl"] >= s["base"]["erlang_sl"] >= s["loose"]["erlang_sl"]
    assert s["strict"]["sl"] > s["loose"]["sl"]
    assert (f["sl_lo"] <= f["sl"]).all() and (f["sl"] <= f["sl_hi"]).all()
    assert (f["margin_eur_lo"] <= f["margin_eur"]).all()
    assert (f["margin_eur"] <= f["margin_eur_hi"]).all()
    assert (f["n_failed_projects"] == 0).all() and f["frontier"].any()
    # the modifiers are in the rows
    assert s["strict"]["sl_target"] == 0.95 and np.isnan(s["base"]["sl_target"])
    assert s["shop per hour"]["contracts"] == "shop=per_hour@25"
    # the same staffing with another billing model: only the economics differ
    for col in ("agent_hours", "erlang_sl", "peak_agents"):
        assert s["shop per hour"][col] == s["base"][col]


def test_sweep_economics_add_up(site: Path, serial: SweepResult) -> None:
    p = serial.by_project
    assert np.allclose(p["margin_eur"], p["revenue_eur"] - p["cost_eur"])
    for project in ("bank", "shop"):
        mine = p[p["project"] == project]
        paid_h = mine["agent_hours"] / (1.0 - 0.30)  # the default shrinkage
        assert np.allclose(mine["cost_eur"], paid_h * _mean_rate(site, project))
    rows = _rows(p, "scenario", "project")
    bank, shop = rows[("base", "bank")], rows[("base", "shop")]
    # per hour: rate × productive hours × the KPI coefficient (no KPI table: 1); per contact:
    # rate × answered, answered = simulated offered × (1 − abandon rate)
    assert bank["revenue_eur"] == pytest.approx(30.0 * bank["agent_hours"])
    answered = shop["offered"] * (1.0 - shop["abandon_rate"])
    assert shop["revenue_eur"] == pytest.approx(3.0 * answered)
    hourly = rows[("shop per hour", "shop")]
    assert hourly["billing"] == "per_hour"
    assert hourly["revenue_eur"] == pytest.approx(25.0 * hourly["agent_hours"])
    total = _rows(serial.summary, "scenario")["base"]["margin_eur"]
    assert total == pytest.approx(bank["margin_eur"] + shop["margin_eur"])


@pytest.mark.dask
def test_serial_and_a_local_cluster_of_two_processes_give_equal_results(
    site: Path, serial: SweepResult
) -> None:
    """The cluster test: the same sweep on a LocalCluster (2 worker processes) equals the
    serial one exactly — every task's seed comes from its key, not from where it ran."""
    with batch_client(2) as client:
        assert client is not None
        done: list[int] = []
        on_dask = sweep(
            site,
            GRID,
            client=client,
            replications=4,
            seed=3,
            progress=lambda d, t, k: done.append(d),
        )
        # the simulations in chunks of 3 + 1 replications, combined on the cluster
        chunked = sweep(site, GRID, client=client, replications=4, seed=3, chunk_replications=3)
    assert on_dask.batch.ran_on.startswith("tcp://") and on_dask.batch.workers == 2
    assert sorted(done) == list(range(1, on_dask.batch.tasks + 1))
    pd.testing.assert_frame_equal(on_dask.summary, serial.summary, check_exact=True)
    pd.testing.assert_frame_equal(on_dask.by_project, serial.by_project, check_exact=True)
    assert on_dask.failures == serial.failures == ()
    assert chunked.batch.tasks == len(GRID) * (2 * 3 + 1) and chunked.ok
    pd.testing.assert_frame_equal(chunked.summary, serial.summary, check_exact=True)
    pd.testing.assert_frame_equal(chunked.by_project, serial.by_project, check_exact=True)


def test_simulations_in_chunks_give_the_same_results_bit_for_bit(site: Path) -> None:
    """10 replications in one task, in 2 chunk tasks of 5 and in 4 + 4 + 2: equal frames —
    the seed comes from the ``…/simulate`` key and replication r always draws the r-th stream."""
    scenarios = GRID[:2]
    runs = {
        c: sweep(site, scenarios, replications=10, seed=3, chunk_replications=c) for c in (10, 5, 4)
    }
    one, halves = runs[10], runs[5]
    assert one.batch.tasks == 2 * 3 and halves.batch.tasks == 2 * (2 * 3 + 1)
    assert runs[4].batch.tasks == 2 * (2 * 4 + 1)
    assert halves.chunk_replications == 5 and all(r.ok for r in runs.values())
    needs = halves.batch.dependencies
    assert needs["base/bank/simulate/1"] == ()
    assert needs["base/bank/simulate"] == (
        "base/bank/simulate/0",
        "base/bank/simulate/1",
    )
    assert "base/bank/simulate/0" not in one.batch.dependencies
    # on Dask, a scenario's simulations of one chunk run as one task, the rest as another
    groups = halves.batch.groups
    assert groups["base/bank/simulate/1"] == groups["base/shop/simulate/1"] == "base/simulations/1"
    assert groups["base/bank/simulate"] == groups["base/shop/simulate"] == "base/scenario"
    assert groups["base/economics"] == "base/scenario"
    assert set(one.batch.groups.values()) == {f"{s.name}/scenario" for s in scenarios}
    for r in (halves, runs[4]):
        pd.testing.assert_frame_equal(r.summary, one.summary, check_exact=True)
        pd.testing.assert_frame_equal(r.by_project, one.by_project, check_exact=True)
    with pytest.raises(InputError, match="chunk_replications"):
        sweep(site, scenarios, replications=10, chunk_replications=0)


def test_a_failed_chunk_is_reported_by_its_key(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from wfm.services.simulation import simulate_chunk as real

    def second_half_of_shop_fails(*args: Any, **kwargs: Any) -> Any:
        if kwargs["first"] == 2 and str(args[0]["project"].iloc[0]) == "shop":
            raise RuntimeError("worker trouble")
        return real(*args, **kwargs)

    monkeypatch.setattr("wfm.batch.sweep.simulate_chunk", second_half_of_shop_fails)
    r = sweep(site, GRID[:1], replications=4, seed=3, chunk_replications=2)
    failed = [f.key for f in r.failures if not f.skipped]
    skipped = sorted(f.key for f in r.failures if f.skipped)
    assert failed == ["base/shop/simulate/1"]
    assert skipped == ["base/economics", "base/shop/simulate"]
    rows = _rows(r.by_project, "scenario", "project")
    assert rows[("base", "shop")]["failed"] == "simulate/1"
    assert rows[("base", "bank")]["failed"] == "" and np.isfinite(rows[("base", "bank")]["sl"])
    assert _rows(r.summary, "scenario")["base"]["n_failed_projects"] == 1


def test_a_scenario_that_fails_at_run_time_is_reported_and_the_others_finish(
    tmp_path: Path,
) -> None:
    # shop has no patience: Erlang A cannot staff it, which only its simulation task (that
    # staffs it first) finds out
    data = _site(tmp_path / "site", shop_patience=False)
    scenarios = [sweep_scenario("base", {}), sweep_scenario("erlang a", {"model": "erlang_a"})]
    r = sweep(data, scenarios, replications=3, out=tmp_path / "out")
    assert not r.ok
    failed = [f for f in r.failures if not f.skipped]
    assert [f.key for f in failed] == ["erlang a/shop/simulate"]
    assert "patience_s" in failed[0].error
    assert "scenario 'erlang a': model=erlang_a" in failed[0].about
    skipped = sorted(f.key for f in r.failures if f.skipped)
    assert skipped == ["erlang a/economics"]
    assert all("erlang a/shop/simulate" in f.error for f in r.failures if f.skipped)
    s = _rows(r.summary, "scenario")
    assert s["base"]["n_failed_projects"] == 0 and np.isfinite(s["base"]["margin_eur"])
    assert s["erlang a"]["n_failed_projects"] == 1 and np.isnan(s["erlang a"]["margin_eur"])
    # bank of the failing scenario still ran
    rows = _rows(r.by_project, "scenario", "project")
    assert np.isfinite(rows[("erlang a", "bank")]["sl"])
    assert rows[("erlang a", "shop")]["failed"] == "simulate"
    stored = sorted(p.name for p in (tmp_path / "out" / "scenarios").iterdir())
    assert stored == [scenario_file_name("base")]


def test_files_written_by_key_are_the_same_after_a_second_run(site: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    scenarios = GRID[:2]
    first = sweep(site, scenarios, replications=3, seed=5, out=out)
    assert set(first.files) >= {"sweep_summary.csv", "sweep_projects.csv", "sweep.html"}
    names = sorted(p.name for p in (out / "scenarios").iterdir())
    assert names == sorted(scenario_file_name(s.name) for s in scenarios)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    doc = json.loads((out / "scenarios" / scenario_file_name("busy")).read_text())
    assert doc["key"] == "busy/economics" and doc["summary"]["calls_scale"] == 1.2
    assert {r["project"] for r in doc["projects"]} == {"bank", "shop"}
    sweep(site, scenarios, replications=3, seed=5, out=out)
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]  # no temporary files left
    html = (out / "sweep.html").read_text()
    assert "Pareto frontier" in html and "busy" in html


# --------------------------------------------------------------------------------------------
# the command line


def test_cli_runs_a_grid_and_writes_the_files(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text("grid:\n  calls_scale: [1.0, 1.1]\n")
    out = tmp_path / "out"
    argv = ["sweep", "--data", str(site), "--grid", str(grid), "--out", str(out)]
    code, stdout, err = run([*argv, "--replications", "3", "--json"], capsys)
    assert code == 0, err
    payload = json.loads(stdout)
    assert payload["ran_on"] == "serial" and payload["tasks"] == 6 and payload["failures"] == []
    assert [r["scenario"] for r in payload["summary"]] == ["calls=1.00", "calls=1.10"]
    assert (out / "sweep_summary.csv").is_file() and (out / "sweep.html").is_file()
    code, stdout, err = run([*argv, "--replications", "3"], capsys)
    assert code == 0 and "calls=1.10" in stdout and "serially" in stdout, err


def test_cli_exit_codes_for_bad_input_and_failed_tasks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _site(tmp_path / "site", shop_patience=False)
    bad = tmp_path / "bad.csv"
    bad.write_text("name,calls_scale\nbase,-1\n")
    code, out, err = run(["sweep", "--data", str(data), "--grid", str(bad)], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "bad.csv line 2" in err and "calls_scale" in err
    grid = tmp_path / "grid.csv"
    grid.write_text("name,model\nbase,\nerlang a,erlang_a\n")
    argv = ["sweep", "--data", str(data), "--grid", str(grid), "--replications", "2"]
    code, out, err = run([*argv, "--week", "2026-04-21"], capsys)
    assert code == 2 and err.count("\n") == 1 and "Monday" in err
    code, out, err = run(argv, capsys)
    assert code == 1
    assert "erlang a/shop/simulate (scenario 'erlang a': model=erlang_a; project shop" in err
    assert "failed" in err and "base" in out
