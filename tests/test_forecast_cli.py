"""``wfm forecast`` and ``wfm forecast backtest`` on the bundled samples: the demand file, the
scores, the page, and bad input → exit 2 with one line naming the problem."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import run

from wfm import contracts
from wfm.errors import InputError
from wfm.services import forecasting as service

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
HISTORY = SAMPLES / "history.csv"
TZ = "Europe/Berlin"
PROJECTS = {"bank", "retail", "techsupport", "chat", "outbound"}
FAST_MODELS = "seasonal_naive,slot_mean_4,calendar_regression"
HEADER = "project,ts,calls,calls_lo_80,calls_hi_80,calls_lo_95,calls_hi_95,aht_s"


def local_dates(frame: pd.DataFrame) -> pd.Series:
    dates: pd.Series = frame["ts"].dt.tz_convert(TZ).dt.date
    return dates


def check_bounds(demand: pd.DataFrame) -> None:
    cols = ["calls_lo_95", "calls_lo_80", "calls", "calls_hi_80", "calls_hi_95"]
    values = demand[cols].to_numpy()
    assert (values >= 0).all()
    assert (np.diff(values, axis=1) >= 0).all()


def test_horizon_writes_valid_demand_with_the_calendar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plan" / "demand.csv"
    argv = ["forecast", "--history", str(HISTORY), "--horizon-days", "14", "--out", str(out)]
    code, text, err = run([*argv, "--model", "calendar_regression", "--json"], capsys)
    assert code == 0, err
    assert err == ""
    summary = json.loads(text)
    assert summary["out"] == str(out)
    assert {p["project"] for p in summary["projects"]} == PROJECTS
    assert all(p["model"] == "calendar_regression" for p in summary["projects"])

    assert out.read_text().splitlines()[0] == HEADER
    assert "+02:00" in out.read_text().splitlines()[1]  # ISO-8601 with the offset
    assert not [p for p in out.parent.iterdir() if p.name != "demand.csv"]  # no temp file left
    demand = contracts.read_frame_csv(out, contracts.DEMAND)
    assert len(demand) == summary["intervals"]
    check_bounds(demand)
    dates = local_dates(demand)
    # the same 14 days for every project: after the history's last day (Sunday 2026-04-26)
    assert dates.min() == dt.date(2026, 4, 27)
    assert dates.max() == dt.date(2026, 5, 10)
    for project in PROJECTS:
        assert dates[demand["project"] == project].min() == dt.date(2026, 4, 27), project

    may_day = dt.date(2026, 5, 1)  # Labor Day: bank, chat, outbound declared closed
    on_may_day = set(demand.loc[dates == may_day, "project"])
    assert "bank" not in on_may_day and "chat" not in on_may_day
    assert "retail" in on_may_day
    retail = demand[demand["project"] == "retail"]
    by_day = retail["calls"].groupby(local_dates(retail)).sum()
    # open at the declared 0.4 of a normal Friday
    assert 0.25 < by_day[may_day] / by_day[dt.date(2026, 5, 8)] < 0.55
    assert by_day[may_day] > 0

    code, text, err = run([*argv, "--model", "slot_mean_4"], capsys)
    assert code == 0, err
    assert "slot_mean_4" in text and str(out.name) in text
    for project in PROJECTS:
        assert project in text


def test_at_file_forecasts_exactly_its_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    at = tmp_path / "at.csv"
    at.write_text(
        "project,ts\n"
        "bank,2026-04-27T09:00:00+02:00\n"
        "bank,2026-04-27T09:15:00+02:00\n"
        "retail,2026-05-01T12:00:00+02:00\n"
        "chat,2026-05-01T12:00\n"  # naive: local time of the site
    )
    out = tmp_path / "d.csv"
    argv = ["forecast", "--history", str(HISTORY), "--at", str(at), "--out", str(out)]
    code, text, err = run([*argv, "--model", "slot_mean_4", "--json"], capsys)
    assert code == 0, err
    assert json.loads(text)["intervals"] == 4
    demand = contracts.read_frame_csv(out, contracts.DEMAND, tz=TZ)
    assert list(demand["project"]) == ["bank", "bank", "chat", "retail"]
    check_bounds(demand)
    keys = demand["project"] + demand["ts"].dt.strftime("%H:%M")
    calls = dict(zip(keys, demand["calls"], strict=True))
    assert calls["bank09:00"] > 0 and calls["retail12:00"] > 0
    assert calls["chat12:00"] == 0.0  # declared closed on 2026-05-01

    at.write_text("project,ts\npizza,2026-04-27T09:00:00+02:00\n")
    code, text, err = run(argv, capsys)
    assert code == 2 and text == ""
    assert len(err.strip().splitlines()) == 1 and "pizza" in err

    at.write_text("project,ts\nbank,2026-04-27T09:07:00+02:00\n")
    code, _, err = run(argv, capsys)
    assert code == 2 and "interval start" in err and len(err.strip().splitlines()) == 1

    at.write_text("project,when\nbank,2026-04-27T09:00:00+02:00\n")
    code, _, err = run(argv, capsys)
    assert code == 2 and "'ts'" in err and "at.csv" in err


def test_backtest_json_scores_every_project_and_model_and_writes_a_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = tmp_path / "bt.html"
    argv = ["forecast", "backtest", "--history", str(HISTORY), "--origins", "2"]
    argv += ["--horizon-days", "7", "--models", FAST_MODELS, "--html", str(html), "--json"]
    code, text, err = run(argv, capsys)
    assert code == 0, err
    assert err == ""
    data = json.loads(text)
    models = set(FAST_MODELS.split(","))
    assert data["origins"] == ["2026-04-13", "2026-04-20"]
    assert {(r["project"], r["model"]) for r in data["scores"]} == {
        (p, m) for p in PROJECTS for m in models
    }
    for rec in data["scores"]:
        assert 0.0 < rec["wmape"] < 1.0
        assert rec["mase"] > 0.0
        assert 0.0 <= rec["coverage_80"] <= rec["coverage_95"] <= 1.0
        assert rec["aht_wmape"] >= 0.0
        assert rec["intervals"] > 0
    assert {r["horizon_day"] for r in data["by_horizon_day"]} == set(range(1, 8))
    assert set(data["auto_choice"]) == PROJECTS
    assert set(data["auto_choice"].values()) <= models
    for project, model in data["auto_choice"].items():
        rows = [r for r in data["scores"] if r["project"] == project]
        assert model == min(rows, key=lambda r: r["wmape"])["model"]
    assert set(data["timings_s"]) == models
    page = html.read_text()
    assert "plotly" in page and "actual" in page and "mean absolute error" in page


def test_backtest_table(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["forecast", "backtest", "--history", str(HISTORY), "--origins", "1"]
    code, text, err = run([*argv, "--horizon-days", "7", "--models", "seasonal_naive"], capsys)
    assert code == 0, err
    for project in PROJECTS:
        assert project in text
    assert "seasonal_naive ◀" in text and "wMAPE" in text and "2026-04-20" in text


def write_history(folder: Path, rows: list[str], header: str = "project,ts,calls,aht_s") -> Path:
    path = folder / "history.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


GOOD = "bank,2026-01-05T08:00:00+01:00,10,200"
NEGATIVE = "bank,2026-01-05T08:15:00+01:00,-3,200"


@pytest.mark.parametrize(
    ("header", "rows", "needles"),
    [
        ("project,ts,aht_s", ["bank,2026-01-05T08:00:00+01:00,200"], ["'calls'", "missing"]),
        ("project,ts,calls,aht_s", [GOOD, "bank,next monday,3,200"], ["'ts'", "line 3"]),
        ("project,ts,calls,aht_s", [GOOD, NEGATIVE], ["'calls'", "line 3", "below 0"]),
        ("project,ts,calls,aht_s", [GOOD, GOOD], ["lines 2 and 3", "same key"]),
    ],
    ids=["missing-column", "bad-ts", "negative-calls", "duplicate-key"],
)
def test_bad_history_exits_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    header: str,
    rows: list[str],
    needles: list[str],
) -> None:
    history = write_history(tmp_path, rows, header)
    out = tmp_path / "d.csv"
    for argv in (
        ["forecast", "--history", str(history), "--horizon-days", "7", "--out", str(out)],
        ["forecast", "backtest", "--history", str(history)],
    ):
        code, text, err = run([*argv, "--tz", TZ], capsys)
        assert code == 2 and text == ""
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert "history.csv" in lines[0]
        for needle in needles:
            assert needle in lines[0]
    assert not out.exists()


H = ["--history", str(HISTORY)]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["forecast", *H, "--out", "x.csv"], "exactly one of --at"),
        (["forecast", *H, "--horizon-days", "7", "--at", "a.csv", "--out", "x.csv"], "got both"),
        (["forecast", *H, "--horizon-days", "7", "--out", "x.csv", "--model", "nope"], "'nope'"),
        (["forecast", *H, "--horizon-days", "0", "--out", "x.csv"], "--horizon-days"),
        (["forecast", *H, "--horizon-days", "7"], "--out"),
        (["forecast", "--horizon-days", "7", "--out", "x.csv"], "--history"),
        (["forecast", "backtest", *H, "--models", "slot_mean_4,nope"], "'nope'"),
        (["forecast", "backtest", *H, "--models", "mstl,mstl"], "twice"),
        (["forecast", "backtest", *H, "--origins", "40"], "too short"),
        (["forecast", "--model", "mstl", "backtest", *H], "go after"),
        (["forecast", "backtest"], "--history"),
    ],
)
def test_bad_usage_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    argv = [str(tmp_path / a) if a in ("x.csv", "a.csv") else a for a in argv]
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert needle in lines[0]
    assert not (tmp_path / "x.csv").exists()


def test_time_zone_is_required_without_site_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = write_history(tmp_path, [GOOD])
    argv = ["forecast", "--history", str(history), "--horizon-days", "7"]
    code, _, err = run([*argv, "--out", str(tmp_path / "d.csv")], capsys)
    assert code == 2 and "tz" in err and len(err.strip().splitlines()) == 1


def test_a_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = tmp_path / "at.csv"
    at.write_text("project,ts\nbank,2026-04-27T09:00:00+02:00\n")
    out = tmp_path / "d.csv"
    out.write_text("old\n")

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(InputError, match="No space left"):
        service.forecast_files(HISTORY, at_path=at, out_path=out, model="seasonal_naive")
    assert out.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["at.csv", "d.csv"]


def test_the_entry_point_forecasts_with_auto(tmp_path: Path) -> None:
    """The real process with the default model: auto picks a model per project."""
    out = tmp_path / "demand.csv"
    argv = ["forecast", "--history", str(HISTORY), "--horizon-days", "7", "--out", str(out)]
    env = {**os.environ, "COLUMNS": "120"}
    done = subprocess.run(
        [sys.executable, "-m", "wfm.cli", *argv, "--json"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    summary = json.loads(done.stdout)
    assert summary["model"] == "auto"
    chosen = {p["project"]: p["model"] for p in summary["projects"]}
    assert set(chosen) == PROJECTS
    assert set(chosen.values()) <= set(service.MODEL_NAMES) - {"auto"}
    assert set(summary["selection"]) == PROJECTS
    demand = contracts.read_frame_csv(out, contracts.DEMAND)
    check_bounds(demand)
    assert set(demand["project"]) == PROJECTS
