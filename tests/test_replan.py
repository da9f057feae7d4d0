"""The nightly batch end to end (``wfm replan``) on a small site week, on a real SQLite file
(and the real PostgreSQL server where ``make test`` starts one).

What is checked, with values computed here from the files (never by the code under test):
the plan passes the independent validator; the economics add up (revenue − cost = margin,
billed hours = the schedule's productive hours, cost = paid hours × the agents' rates); the
KPIs add up; a re-run with the same inputs plans and stores nothing new and writes the same
files; a failure injected mid-run leaves the database as it was (but for the run's own
failure record) and the files untouched; a run left by a crash is marked failed and the batch
starts clean; publishing happens only when the plan passes, once; exit codes 0/1/2.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from _backends import BACKENDS, new_database
from _sites import RATES, TZ, WEEK
from _sites import write_site as _site
from cli_helpers import run

from scheduler import validate_schedule
from wfm import contracts
from wfm.db.tables import RunStatus
from wfm.domain import ShiftRules
from wfm.errors import InputError
from wfm.services import plans
from wfm.services._db import open_database
from wfm.services.plans import PlanRequest, PlanRunner, raise_requirements
from wfm.services.replan import PlanFailedError, ReplanOptions, replan
from wfm.services.sitedata import load_agents
from wfm.staffing import service_level


def _options(data: Path, out: Path | None = None, **changes: object) -> ReplanOptions:
    base: dict[str, object] = {
        "data": data,
        "week": WEEK,
        "out": out,
        "time_limit_s": 3.0,
        "replications": 3,
        "loop_rounds": 1,
        "forecast_model": "seasonal_naive",
        "pass_on": "mean",
    }
    base.update(changes)
    return ReplanOptions(**base)  # type: ignore[arg-type]


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    url, drop = new_database(request.param, tmp_path, "replan")
    engine = open_database(url)
    yield engine
    engine.dispose()
    drop()


def _counts(engine: sa.Engine) -> dict[str, int]:
    """Rows per table (every table of the schema)."""
    out: dict[str, int] = {}
    names = sa.inspect(engine).get_table_names()
    with engine.connect() as c:
        for name in sorted(names):
            if name == "alembic_version":
                continue
            out[name] = int(c.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one())
    return out


def _segments(schedule: pd.DataFrame) -> list[tuple[str, pd.Timestamp, pd.Timestamp, str, str]]:
    """(agent, start, end, activity, project) per row, as plain values."""
    return list(
        zip(
            schedule["agent"].astype(str).tolist(),
            [pd.Timestamp(x) for x in schedule["start"].tolist()],
            [pd.Timestamp(x) for x in schedule["end"].tolist()],
            schedule["activity"].astype(str).tolist(),
            schedule["project"].astype(str).tolist(),
            strict=True,
        )
    )


def _at(frame: pd.DataFrame, row: str, column: str) -> float:
    return float(str(frame.loc[row, column]))


def _minutes(start: pd.Timestamp, end: pd.Timestamp) -> set[pd.Timestamp]:
    return set(pd.date_range(start, end, freq="min", inclusive="left"))


def _work_hours(schedule: pd.DataFrame) -> dict[tuple[str, str], float]:
    """Productive hours per (agent, project): minutes in work segments and in no break,
    lunch or training segment (computed here, independently of the services)."""
    pauses: dict[str, set[pd.Timestamp]] = {}
    for agent, start, end, activity, _ in _segments(schedule):
        if activity != "work":
            pauses.setdefault(agent, set()).update(_minutes(start, end))
    out: dict[tuple[str, str], float] = {}
    for agent, start, end, activity, project in _segments(schedule):
        if activity == "work":
            free = _minutes(start, end) - pauses.get(agent, set())
            out[(agent, project)] = out.get((agent, project), 0.0) + len(free) / 60.0
    return out


def test_replan_end_to_end(engine: sa.Engine, tmp_path: Path) -> None:
    data = _site(tmp_path / "site")
    out = tmp_path / "plan"
    result = replan(engine, _options(data, out))
    assert not result.reused and result.run.status.value == "done"
    names = set(result.files)
    for name in (
        "plan.json",
        "demand.csv",
        "requirements.csv",
        "requirements_erlang.csv",
        "schedule.csv",
        "kpis.csv",
        "kpi_summary.csv",
        "kpi_daily.csv",
        "economics.csv",
        "summary.csv",
        "projects.csv",
        "report.html",
        "client_daily.csv",
        "client_final.csv",
        "client_efficiency.csv",
        "client_reports.html",
    ):
        assert name in names, name
    plan = json.loads((out / "plan.json").read_text())
    assert plan["run_id"] == result.run.run_id and plan["inputs_hash"] == result.run.inputs_hash
    assert plan["week"] == WEEK.isoformat() and plan["tz"] == TZ
    assert plan["versions"]["ortools"] and plan["timings_s"]["schedule"] >= 0

    # the plan passes the independent validator, re-run here on the written files
    schedule = contracts.read_frame_csv(out / "schedule.csv", contracts.SCHEDULE, tz=TZ)
    requirements = contracts.read_frame_csv(out / "requirements.csv", contracts.REQUIREMENTS, tz=TZ)
    agents = load_agents(data / "agents.csv")
    report = validate_schedule(schedule, agents, ShiftRules(), requirements=requirements, tz=TZ)
    assert report.ok, report.violations[:3]

    # the economics add up
    economics = pd.read_csv(out / "economics.csv").set_index("project")
    hours = _work_hours(schedule)
    rate = {a.agent: a.hourly_cost_eur for a in agents}
    for project in ("bank", "shop"):
        row = economics.loc[project]
        assert row["revenue_eur"] - row["cost_eur"] == pytest.approx(row["margin_eur"], abs=1e-6)
        work_h = sum(h for (a, p), h in hours.items() if p == project)
        assert row["work_h"] == pytest.approx(work_h, abs=1e-6)
        assert row["margin_eur_lo"] <= row["margin_eur"] <= row["margin_eur_hi"]
    # per-hour billing: the productive hours are billed (no KPI table: coefficient 1, no
    # bonus or penalty in this contract)
    assert economics.loc["bank", "revenue_eur"] == pytest.approx(
        RATES["bank"] * _at(economics, "bank", "work_h"), rel=1e-9
    )
    # cost: every paid minute (in work, a break or training, not in lunch) at the agent's rate
    paid: dict[str, set[pd.Timestamp]] = {}
    lunch: dict[str, set[pd.Timestamp]] = {}
    for agent, start, end, activity, _ in _segments(schedule):
        if activity in ("work", "break", "training"):
            paid.setdefault(agent, set()).update(_minutes(start, end))
        elif activity == "lunch":
            lunch.setdefault(agent, set()).update(_minutes(start, end))
    cost = sum(
        len(minutes - lunch.get(agent, set())) / 60.0 * float(rate[agent] or 0.0)
        for agent, minutes in paid.items()
    )
    assert economics["cost_eur"].sum() == pytest.approx(cost, rel=1e-9)

    # the KPIs add up: per-interval sums = the summary; answered + abandoned <= offered
    kpis = pd.read_csv(out / "kpis.csv")
    summary = pd.read_csv(out / "kpi_summary.csv").set_index("project")
    for key, rows in kpis.groupby("project"):
        offered = _at(summary, str(key), "offered")
        assert rows["offered"].sum() == pytest.approx(offered, rel=1e-6)
        assert (rows["answered"] + rows["abandoned"] <= rows["offered"] + 1e-6).all()
    # shop bills per answered contact: revenue = rate × answered
    answered = kpis.loc[kpis["project"] == "shop", "answered"].sum()
    assert economics.loc["shop", "revenue_eur"] == pytest.approx(RATES["shop"] * answered, rel=1e-6)
    # the client reports agree with the KPIs
    final = pd.read_csv(out / "client_final.csv").set_index("project")
    daily = pd.read_csv(out / "client_daily.csv")
    for project in ("bank", "shop"):
        assert final.loc[project, "offered"] == pytest.approx(summary.loc[project, "offered"])
        assert daily.loc[daily["project"] == project, "offered"].sum() == pytest.approx(
            final.loc[project, "offered"]
        )
    page = (out / "report.html").read_text()
    assert "plotly" in page.lower() and "bank" in page and "shop" in page

    # the verdict is the summary's, by the mean rule asked for
    failing = sorted(p for p in ("bank", "shop") if _at(summary, p, "sl") < 0.8)
    assert list(result.failing) == failing and result.passed == (not failing)


def test_a_rerun_with_the_same_inputs_plans_and_stores_nothing(
    engine: sa.Engine, tmp_path: Path
) -> None:
    data = _site(tmp_path / "site")
    out = tmp_path / "plan"
    first = replan(engine, _options(data, out))
    before = _counts(engine)
    files = {p.name: p.read_bytes() for p in out.iterdir() if p.name != "report.html"}
    again = replan(engine, _options(data, out))
    assert again.reused and again.run.run_id == first.run.run_id
    assert _counts(engine) == before
    for name, content in files.items():
        assert (out / name).read_bytes() == content, name
    # new history is a new input: a new plan (and the new rows are stored once)
    history = (data / "history.csv").read_text().splitlines()
    extra = [line.replace("2026-04-24", "2026-04-25") for line in history if "2026-04-24" in line]
    (data / "history.csv").write_text("\n".join([*history, *extra]) + "\n")
    newer = replan(engine, _options(data, out, loop_rounds=0))
    assert not newer.reused and newer.run.run_id != first.run.run_id
    assert newer.sync.history_rows == len(extra)


def test_a_failure_mid_run_leaves_the_database_and_the_files_as_they_were(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _site(tmp_path / "site")
    out = tmp_path / "plan"
    replan(engine, _options(data, out, loop_rounds=0))
    before = _counts(engine)
    files = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("injected: the simulator died")

    monkeypatch.setattr(plans, "simulate_plan", broken)
    with pytest.raises(PlanFailedError, match="simulate: RuntimeError: injected"):
        replan(engine, _options(data, out, loop_rounds=0, seed=5))
    after = _counts(engine)
    assert after.pop("plan_run") == before.pop("plan_run") + 1  # the failure's record
    assert after == before
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".plan.")]


def test_a_run_left_by_a_crash_is_marked_failed_and_the_batch_starts_clean(
    engine: sa.Engine, tmp_path: Path
) -> None:
    data = _site(tmp_path / "site")
    options = _options(data, loop_rounds=0)
    from wfm.services.replan import sync_site_folder

    sync_site_folder(engine, data)
    runner = PlanRunner(engine, tz=TZ)
    crashed = runner.create(options.request())
    runner._mark(crashed.run_id, status=RunStatus.RUNNING, step="schedule")
    result = replan(engine, options)
    assert result.run.run_id != crashed.run_id and result.run.status.value == "done"
    old = plans.get_plan(engine, run_id=crashed.run_id)
    assert old.status.value == "failed" and old.error == plans.INTERRUPTED


def test_publish_if_pass_publishes_a_passing_plan_once(engine: sa.Engine, tmp_path: Path) -> None:
    data = _site(tmp_path / "site", agents=12)
    options = _options(data, publish_if_pass=True, pass_on="mean", loop_rounds=2)
    first = replan(engine, options)
    if not first.passed:  # then nothing may be published
        assert first.publication is None
        pytest.fail(f"the roomy site should pass: {first.summary.to_dict('records')}")
    assert first.publication is not None and first.publication.version == 1
    again = replan(engine, options)  # warm start from its own publication: the same inputs
    assert again.reused and again.run.run_id == first.run.run_id
    assert again.publication is not None and again.publication.version == 1
    assert again.publication.replayed


def test_a_failing_plan_is_not_published_and_the_loop_raises_requirements(
    engine: sa.Engine, tmp_path: Path
) -> None:
    data = _site(tmp_path / "site", agents=2)
    result = replan(engine, _options(data, publish_if_pass=True, loop_rounds=1))
    assert not result.passed and set(result.failing) <= {"bank", "shop"} and result.failing
    assert result.publication is None
    rounds = result.loop
    assert [r["round"] for r in rounds] == [0, 1]
    assert rounds[1]["raised_intervals"] > 0
    assert rounds[1]["required_agent_h"] == pytest.approx(
        rounds[0]["required_agent_h"] + 0.5 * rounds[1]["raised_intervals"]
    )
    for r in rounds:
        for p in r["by_project"]:
            assert 0.0 <= p["erlang_sl"] <= 1.0 and p["sl_lo"] <= p["sl"] <= p["sl_hi"]


def test_raise_requirements_adds_an_agent_where_the_simulation_misses() -> None:
    ts = pd.date_range("2026-04-27 08:00", periods=3, freq="30min", tz=TZ)
    req = pd.DataFrame(
        {
            "project": ["bank"] * 3,
            "ts": ts,
            "agents": [3, 3, 2],
            "load_erl": [0.8, 0.8, 0.5],
            "sl": [0.9, 0.9, 0.85],
            "model": ["erlang_c"] * 3,
            "sl_target": [0.8] * 3,
            "answer_within_s": [20.0] * 3,
        }
    )
    kpis = pd.DataFrame(
        {
            "project": ["bank"] * 3,
            "ts": ts,
            "offered": [8.0, 8.0, 0.0],
            "answered": [8.0, 8.0, 0.0],
            "abandoned": [0.0] * 3,
            "sl": [0.7, 0.95, np.nan],
            "asa_s": [5.0, 1.0, np.nan],
            "occupancy": [0.5, 0.5, np.nan],
        }
    )
    demand = pd.DataFrame(
        {"project": ["bank"] * 3, "ts": ts, "calls": [8.0, 8.0, 5.0], "aht_s": [180.0] * 3}
    )
    from wfm.services.sitedata import load_projects

    raised, n = raise_requirements(
        req, kpis, demand, load_projects(_site_projects()), ["bank"], interval_min=30
    )
    assert n == 1 and raised["agents"].tolist() == [4, 3, 2]
    # Erlang C by hand for A = 8 × 180 / 1800 = 0.8 Erl and 4 agents:
    # C = (A^4/4! · 4/(4−A)) / (Σ_{k<4} A^k/k! + A^4/4! · 4/(4−A)) = 0.00737…,
    # SL = 1 − C · exp(−(4 − A) · 20 / 180) = 0.99480…
    a, s = 0.8, 4
    top = a**s / 24 * s / (s - a)
    c = top / (1 + a + a**2 / 2 + a**3 / 6 + top)
    expected = 1 - c * np.exp(-(s - a) * 20 / 180)
    assert raised.loc[0, "sl"] == pytest.approx(expected, rel=1e-9)
    assert raised.loc[1, "sl"] == 0.9 and raised.loc[2, "sl"] == 0.85
    assert float(service_level(8, 180, 4, interval_s=1800, answer_within_s=20).sl) == (
        pytest.approx(expected, rel=1e-9)
    )


def _site_projects() -> Path:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="wfm-site-"))
    return _site(folder)


def test_plan_requests_check_the_loop_settings() -> None:
    with pytest.raises(InputError, match="loop_rounds"):
        PlanRequest(week=WEEK, loop_rounds=9)
    with pytest.raises(InputError, match="pass_on"):
        PlanRequest(week=WEEK, pass_on="median")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# the command line


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _site(tmp_path / "site")
    db = f"sqlite:///{tmp_path / 'wfm.db'}"
    common = ["--data", str(data), "--db", db, "--time-limit", "3", "--replications", "3"]
    common += ["--forecast-model", "seasonal_naive", "--loop-rounds", "0"]
    code, out, err = run(["replan", *common, "--week", "2026-04-28"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "Monday" in err
    code, out, err = run(["replan", *common, "--week", "2026-04-13"], capsys)
    assert code == 2 and err.count("\n") == 1 and "week" in err
    missing = ["--data", str(tmp_path / "nowhere"), "--week", "2026-04-27", "--db", db]
    code, out, err = run(["replan", *missing], capsys)
    assert code == 2 and err.count("\n") == 1 and "nowhere" in err
    code, out, err = run(
        ["replan", *common, "--week", "2026-04-27", "--out", str(tmp_path / "p"), "--json"],
        capsys,
    )
    payload = json.loads(out)
    assert code == (0 if payload["passed"] else 1)
    if code == 1:
        assert all(p in err for p in payload["failing"])
    assert Path(payload["files"]["report.html"]).is_file()
    code, out, err = run(
        [
            *["report", "--plan", str(payload["run_id"]), "--db", db],
            *["--html", str(tmp_path / "r.html"), "--clients", str(tmp_path / "clients")],
        ],
        capsys,
    )
    assert code == 0 and (tmp_path / "r.html").is_file(), err
    assert (tmp_path / "clients" / "client_daily.csv").is_file()
    code, out, err = run(
        ["report", "--plan", str(tmp_path / "p"), "--html", str(tmp_path / "r2.html")], capsys
    )
    assert code == 0 and (tmp_path / "r2.html").is_file(), err
    code, out, err = run(["report", "--plan", "nope", "--html", str(tmp_path / "x.html")], capsys)
    assert code == 2 and err.count("\n") == 1


def test_cli_prints_the_loop_and_names_the_failing_projects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _site(tmp_path / "site", agents=2)
    db = f"sqlite:///{tmp_path / 'wfm.db'}"
    code, out, err = run(
        [
            *["replan", "--data", str(data), "--db", db, "--week", "2026-04-27"],
            *["--time-limit", "3", "--replications", "3", "--loop-rounds", "1"],
            *["--forecast-model", "seasonal_naive", "--publish-if-pass"],
        ],
        capsys,
    )
    assert code == 1, err
    assert "closing the loop" in out and "kept: round" in out and "published" not in out
    assert "FAIL" in out and "verdict" in out
    failing = err.strip().splitlines()[-1]
    assert failing.startswith("wfm: plan 1 misses the SL target (lower 95 % bound) for:")
    assert "bank" in failing or "shop" in failing


def test_per_project_forecast_and_staffing_tasks_equal_the_joint_run(tmp_path: Path) -> None:
    """The plan run's per-project tasks give exactly what one joint call gives."""
    from wfm.services.forecasting import forecast
    from wfm.services.plans import forecast_project, staff_project
    from wfm.services.sitedata import load_projects
    from wfm.services.staffing import Scenario, whatif

    data = _site(tmp_path / "site")
    history = contracts.read_frame_csv(data / "history.csv", contracts.HISTORY, tz=TZ)
    projects = load_projects(data)
    joint = forecast(history, tz=TZ, model="auto", horizon_days=7)
    start = pd.Timestamp("2026-04-27", tz=TZ)
    expected = joint.demand[joint.demand["ts"] >= start].reset_index(drop=True)
    parts = [
        forecast_project(part.reset_index(drop=True), TZ, "auto", horizon_days=7, week=WEEK)
        for _, part in history.groupby("project", sort=True)
    ]
    got = pd.concat([d for d, _, _ in parts], ignore_index=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert {k: v for _, _, c in parts for k, v in c.items()} == dict(joint.chosen)
    demand = expected[["project", "ts", "calls", "aht_s"]]
    columns = [c.name for c in contracts.REQUIREMENTS.columns]
    together = whatif(demand, projects, tz=TZ, scenario=Scenario()).scenario_requirements
    apart = pd.concat(
        [
            staff_project(part.reset_index(drop=True), projects[str(name)], TZ)
            for name, part in demand.groupby("project", sort=True)
        ],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(apart, together[columns].reset_index(drop=True), check_exact=True)
