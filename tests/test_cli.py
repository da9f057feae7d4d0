"""The ``wfm`` command line: output, JSON, files, and bad input → exit 2 with one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import run

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"


TEXTBOOK = ["staff", "--calls", "100", "--interval-min", "30", "--aht-s", "180"]
TEXTBOOK += ["--sl", "0.8", "--within-s", "20"]


def test_staff_textbook_case_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([*TEXTBOOK, "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert set(data) >= {"agents", "sl", "asa_s", "occupancy", "abandon_rate", "fte"}
    assert data["agents"] == 14
    assert round(data["sl"], 3) == 0.888
    assert round(data["asa_s"], 1) == 7.8
    assert data["abandon_rate"] == 0.0
    assert data["fte"] == 14.0


def test_staff_table_shows_the_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(TEXTBOOK, capsys)
    assert code == 0
    assert "14" in out and "0.888" in out and "7.8" in out


def test_staff_shrinkage_and_erlang_a(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*TEXTBOOK, "--model", "erlang-a", "--patience-s", "120", "--shrinkage", "0.3"]
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["model"] == "erlang_a"
    assert 0.0 < data["abandon_rate"] < 0.2
    assert data["fte"] == pytest.approx(data["agents"] / 0.7)
    assert data["sl"] >= 0.8


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--calls", "-5"], "calls"),
        (["--aht-s", "0"], "aht_s"),
        (["--sl", "1.2"], "sl_target"),
        (["--within-s", "-1"], "answer_within_s"),
        (["--model", "erlang-a"], "--patience-s"),
        (["--model", "erlang-x"], "--model"),
        (["--calls", "many"], "--calls"),
        (["--shrinkage", "1"], "shrinkage"),
        (["--max-abandon", "0.1"], "max_abandon_rate"),
        (["--interval-min", "0"], "interval_min"),
    ],
)
def test_staff_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], extra: list[str], needle: str
) -> None:
    argv = list(TEXTBOOK)
    for i in range(0, len(extra), 2):
        if extra[i] in argv and i + 1 < len(extra):
            argv[argv.index(extra[i]) + 1] = extra[i + 1]
        else:
            argv += extra[i : i + 2]
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert needle in lines[0]
    assert "Traceback" not in err


def test_missing_option_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["staff", "--calls", "10"], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "Missing option" in err


def test_whatif_json_and_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "w.csv"
    html = tmp_path / "w.html"
    argv = ["whatif", "--demand", str(SAMPLES / "history.csv"), "--start", "2026-04-20"]
    argv += ["--end", "2026-04-26", "--calls-scale", "1.1", "--aht-scale", "1.05"]
    argv += ["--csv", str(csv), "--html", str(html), "--json"]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    data = json.loads(out)
    assert {r["project"] for r in data["by_project"]} == {
        "bank",
        "retail",
        "techsupport",
        "chat",
        "outbound",
    }
    for rec in data["daily"]:
        # more calls and longer calls never need fewer agents
        assert rec["scenario_agent_hours"] >= rec["base_agent_hours"]
        assert rec["scenario_peak_agents"] >= rec["base_peak_agents"]
        if rec["project"] == "outbound":
            assert rec["base_sl"] is None
        else:
            assert rec["base_sl"] >= 0.8 - 1e-12
    frame = pd.read_csv(csv)
    assert len(frame) == len(data["daily"])
    assert {"base_fte", "scenario_fte", "delta_agent_hours"} <= set(frame.columns)
    page = html.read_text()
    assert "plotly" in page and "scenario" in page


def test_whatif_table_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["whatif", "--demand", str(SAMPLES / "history.csv"), "--start", "2026-04-26"]
    code, out, err = run([*argv, "--end", "2026-04-26"], capsys)
    assert code == 0, err
    assert "bank" not in out  # a Sunday: the bank is closed
    assert "retail" in out

    bad = tmp_path / "history.csv"
    bad.write_text(
        "project,ts,calls,aht_s\n"
        "bank,2026-01-05T08:00:00+01:00,10,200\n"
        "bank,2026-01-05T08:15:00+01:00,-3,200\n"
    )
    code, out, err = run(["whatif", "--demand", str(bad), "--projects", str(SAMPLES)], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "calls" in err and "line 3" in err

    code, _, err = run(["whatif", "--demand", str(bad)], capsys)
    assert code == 2 and "tz" in err and len(err.strip().splitlines()) == 1

    code, _, err = run(["whatif", "--demand", str(tmp_path / "nope.csv"), "--tz", "UTC"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1

    code, _, err = run([*argv, "--model", "erlang-a", "--start", "yesterday"], capsys)
    assert code == 2 and "--start" in err

    unknown = tmp_path / "u.csv"
    unknown.write_text(
        "project,ts,calls,aht_s\n"
        "pizza,2026-01-05T08:00:00+01:00,10,200\n"
        "pizza,2026-01-05T08:15:00+01:00,3,200\n"
    )
    code, _, err = run(["whatif", "--demand", str(unknown), "--projects", str(SAMPLES)], capsys)
    assert code == 2 and "pizza" in err


def test_whatif_erlang_a_scenario_needs_fewer_agents(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["whatif", "--demand", str(SAMPLES / "history.csv"), "--start", "2026-04-20"]
    argv += ["--end", "2026-04-21", "--model", "erlang-a", "--json"]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    for rec in json.loads(out)["by_project"]:
        # callers who give up relieve the queue: never more agents than Erlang C at 15-minute
        # granularity here (patience >= 120 s, thresholds <= 60 s)
        assert rec["scenario_agent_hours"] <= rec["base_agent_hours"]


def test_samples_command_regenerates_identical_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["samples", "--out", str(tmp_path)], capsys)
    assert code == 0, err
    for name in ("history.csv", "projects.csv", "agents.csv"):
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes()


def test_the_installed_entry_point_runs() -> None:
    """The real process: ``python -m wfm.cli``, exit codes included."""
    ok = subprocess.run(
        [sys.executable, "-m", "wfm.cli", *TEXTBOOK, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["agents"] == 14
    bad = subprocess.run(
        [sys.executable, "-m", "wfm.cli", *TEXTBOOK[:2], "nan", *TEXTBOOK[3:]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "Traceback" not in bad.stderr
