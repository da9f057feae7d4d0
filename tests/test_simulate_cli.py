"""``wfm simulate`` on a small site built here: the KPI file, the verdicts, JSON, the page,
reproducibility, and bad input → exit 2 with one line naming the file and line."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import run

from wfm import contracts
from wfm.services.simulation import load_sim_agents, load_sim_projects, simulate_plan

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
TZ = "Europe/Berlin"
DAY = "2026-03-02"  # a Monday, UTC+01:00


def at(hhmm: str) -> str:
    return f"{DAY}T{hhmm}:00+01:00"


def write_csv(path: Path, header: list[str], rows: Sequence[Sequence[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def site(tmp_path: Path) -> dict[str, Path]:
    """Two inbound projects over 08:00–12:00 in 30-minute intervals: ``hotline`` (1 Erlang,
    four agents who hold it first: passes 80/20) and ``orders`` (6.7 Erlangs for two and a
    half agents: fails 90/30); an outbound campaign in the projects file; six agents working
    08:00–10:00 and 10:15–12:30 with a break between."""
    slots = pd.date_range(f"{DAY} 08:00", periods=8, freq="30min", tz=TZ)
    demand = [[p, ts.isoformat(), c, a] for ts in slots for p, c, a in (
        ("hotline", 10, 180), ("orders", 40, 300))]  # fmt: skip
    schedule: list[list[object]] = []
    for agent in ("A1", "A2", "A3", "A4", "A5", "A6"):
        schedule += [
            [agent, at("08:00"), at("10:00"), "work", ""],
            [agent, at("10:00"), at("10:15"), "break", ""],
            [agent, at("10:15"), at("12:30"), "work", ""],
        ]
    skills = ["hotline", "hotline", "hotline", "hotline;orders", "orders", "orders;hotline"]
    paths = {
        "demand": write_csv(tmp_path / "demand.csv", ["project", "ts", "calls", "aht_s"], demand),
        "schedule": write_csv(
            tmp_path / "schedule.csv", ["agent", "start", "end", "activity", "project"], schedule
        ),
        "agents": write_csv(
            tmp_path / "agents.csv",
            ["agent", "skills", "grade"],
            [[f"A{i + 1}", s, "junior"] for i, s in enumerate(skills)],
        ),
        "projects": write_csv(
            tmp_path / "projects.csv",
            ["project", "kind", "sl_target", "answer_within_s", "patience_s"],
            [
                ["hotline", "inbound", 0.8, 20, 180],
                ["orders", "inbound", 0.9, 30, 120],
                ["campaign", "outbound", "", "", ""],
            ],
        ),
    }
    (tmp_path / "site.json").write_text(
        json.dumps({"name": "test", "tz": TZ, "country": "DE"}), encoding="utf-8"
    )
    return paths


def args(site: dict[str, Path], out: Path, **replace: Path) -> list[str]:
    files = site | replace
    argv = ["simulate", "--out", str(out)]
    for name in ("demand", "schedule", "agents", "projects"):
        argv += [f"--{name}", str(files[name])]
    return argv


def test_writes_valid_kpis_a_table_with_verdicts_and_a_page(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, html = tmp_path / "out" / "kpis.csv", tmp_path / "out" / "sim.html"
    code, text, err = run([*args(site, out), "--html", str(html)], capsys)
    assert code == 0, err
    kpis = contracts.read_frame_csv(out, contracts.KPIS, tz=TZ)
    assert sorted(set(kpis["project"])) == ["hotline", "orders"]
    assert len(kpis) == 16
    assert {"sl_lo", "sl_hi", "queue_len", "occupancy_hi"} <= set(kpis.columns)
    assert out.read_text(encoding="utf-8").splitlines()[1].split(",")[1] == at("08:00")
    lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    assert "pass" in lines["hotline"] and "fail" in lines["orders"]
    assert "80/20s" in lines["hotline"]
    assert "campaign: not simulated" in " ".join(text.split())
    assert max(len(line) for line in text.splitlines()) <= 80
    page = html.read_text(encoding="utf-8")
    assert "plotly" in page and "orders: callers waiting" in page


def test_json_summary(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text, err = run(
        [*args(site, tmp_path / "k.csv"), "--replications", "8", "--json"], capsys
    )
    assert code == 0, err
    data = json.loads(text)
    assert data["interval_min"] == 30 and data["replications"] == 8 and data["tz"] == TZ
    by = {p["project"]: p for p in data["projects"]}
    assert by["hotline"]["meets_target_at_lo"] is True
    assert by["orders"]["meets_target_at_mean"] is False
    for p in by.values():
        assert p["sl_lo"] <= p["sl"] <= p["sl_hi"]
        assert 0.0 < p["occupancy"] <= 1.0 and 0.0 <= p["abandon_rate"] < 1.0
    assert by["orders"]["abandon_rate"] > by["hotline"]["abandon_rate"]
    assert any(n.startswith("campaign: not simulated") for n in data["notes"])


def test_same_seed_same_bytes(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [tmp_path / f"k{i}.csv" for i in range(3)]
    for path, seed in zip(files, ("7", "7", "8"), strict=True):
        code, _, err = run([*args(site, path), "--seed", seed, "--replications", "4"], capsys)
        assert code == 0, err
    assert files[0].read_bytes() == files[1].read_bytes()
    assert files[0].read_bytes() != files[2].read_bytes()


def test_sample_agents_and_projects_files_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bundled agents.csv and projects.csv (extra columns, an outbound project, a chat
    with concurrency 2) with a 15-minute demand and --tz."""
    day = "2026-05-04"  # UTC+02:00
    slots = pd.date_range(f"{day} 08:00", periods=8, freq="15min", tz=TZ)
    demand = [[p, ts.isoformat(), c, 240] for ts in slots for p, c in (
        ("bank", 6), ("chat", 4), ("outbound", 3))]  # fmt: skip
    t = {h: f"{day}T{h}:00+02:00" for h in ("08:00", "09:00", "09:15", "10:30")}
    schedule = [
        ["A001", t["08:00"], t["09:00"], "work", "bank"],
        ["A001", t["09:00"], t["09:15"], "break", ""],
        ["A001", t["09:15"], t["10:30"], "work", ""],
        ["A004", t["08:00"], t["10:30"], "work", "chat"],
        ["A002", t["08:00"], t["10:30"], "work", "outbound"],
        *[[f"A{i:03d}", t["08:00"], t["10:30"], "work", ""] for i in range(5, 12)],
    ]
    site = {
        "demand": write_csv(tmp_path / "d.csv", ["project", "ts", "calls", "aht_s"], demand),
        "schedule": write_csv(
            tmp_path / "s.csv", ["agent", "start", "end", "activity", "project"], schedule
        ),
        "agents": SAMPLES / "agents.csv",
        "projects": SAMPLES / "projects.csv",
    }
    argv = [*args(site, tmp_path / "k.csv"), "--tz", TZ, "--replications", "4", "--json"]
    code, text, err = run(argv, capsys)
    assert code == 0, err
    data = json.loads(text)
    assert data["interval_min"] == 15
    assert [p["project"] for p in data["projects"]] == ["bank", "chat"]
    notes = " ".join(data["notes"])
    assert "outbound: not simulated" in notes and "8 demand rows" in notes
    assert "concurrency" not in notes  # chat concurrency is simulated, nothing left out


def test_chat_concurrency_of_the_projects_file_reaches_the_simulator() -> None:
    """The bundled chat (concurrency 2, 80/60, patience 240 s): eight agents are sixteen chat
    servers, as ``wfm.staffing`` plans them. 30 chats of 420 s per 15 min (14 Erlangs) for
    ten hours; reference: the mpmath M/M/16+M chain of ``tests/reference.py`` (SL 0.858,
    abandonment 6.2 %); one chat per agent (M/M/8+M) would give SL 0.19 and 44 %."""
    import reference as ref

    projects = load_sim_projects(SAMPLES / "projects.csv")
    assert projects.concurrency == {"chat": 2}
    slots = pd.date_range("2026-03-02 08:00", periods=40, freq="15min", tz=TZ)
    demand = pd.DataFrame({"project": "chat", "ts": slots, "calls": 30.0, "aht_s": 420.0})
    names = [f"C{i}" for i in range(8)]
    schedule = pd.DataFrame(
        {"agent": names, "start": slots[0], "end": slots[-1] + pd.Timedelta(minutes=15),
         "activity": "work", "project": "chat"}
    )  # fmt: skip
    report = simulate_plan(demand, schedule, dict.fromkeys(names, ("chat",)), projects,
                           tz=TZ, replications=8, seed=5)  # fmt: skip
    row = report.summary.set_index("project").loc["chat"]
    two = ref.metrics(30.0, 420.0, 8, interval_s=900.0, answer_within_s=60.0,
                      model="erlang_a", patience_s=240.0, concurrency=2)  # fmt: skip
    # the first minutes start from an empty system, so the day is a little better than the
    # steady state; one chat per agent would be far below either bound
    assert float(two.sl) - 0.04 <= row["sl"] <= float(two.sl) + 0.06, row["sl"]
    assert row["abandon_rate"] <= float(two.abandon_rate) + 0.03, row["abandon_rate"]
    assert 0.6 <= row["occupancy"] <= 1.0, row["occupancy"]
    assert not any("concurrency" in n for n in report.notes)


def edit(path: Path, target: Path, line: int, column: str, value: str) -> Path:
    """A copy of CSV ``path`` at ``target`` with one cell changed (header = line 1)."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows[line - 1][rows[0].index(column)] = value
    with target.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return target


@pytest.mark.parametrize(
    ("name", "line", "column", "value", "needles"),
    [
        ("schedule", 1, "activity", "kind", ["schedule.csv", "missing required column"]),
        ("schedule", 5, "agent", "A9", ["schedule.csv line 5", "'agent'", "'A9'"]),
        ("schedule", 2, "project", "orders", ["schedule.csv line 2", "'project'", "skill"]),
        ("schedule", 2, "end", at("10:30"), ["schedule.csv line 4", "overlaps", "line 2"]),
        ("demand", 6, "calls", "-3", ["demand.csv", "line 6", "'calls'", "below 0"]),
        ("demand", 4, "ts", at("09:10"), ["demand.csv line 4", "'ts'", "09:10"]),
        ("demand", 3, "project", "sales", ["demand.csv line 3", "'sales'"]),
        ("agents", 3, "skills", "hotline;billing", ["agents.csv line 3", "'billing'"]),
        ("projects", 2, "sl_target", "1.5", ["projects.csv line 2", "'sl_target'"]),
        ("projects", 3, "answer_within_s", "", ["projects.csv line 3", "answer_within_s"]),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_file_and_line(
    site: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    line: int,
    column: str,
    value: str,
    needles: list[str],
) -> None:
    (tmp_path / "bad").mkdir()
    bad = edit(site[name], tmp_path / "bad" / site[name].name, line, column, value)
    (tmp_path / "bad" / "site.json").write_text((tmp_path / "site.json").read_text())
    out = tmp_path / "k.csv"
    code, text, err = run(args(site, out, **{name: bad}), capsys)
    assert code == 2 and text == ""
    assert err.startswith("wfm: error: ") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, (needle, err)
    assert not out.exists()


def test_bad_options_exit_2(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = args(site, tmp_path / "k.csv")
    for extra, needle in (
        (["--replications", "1"], "--replications"),
        (["--seed", "-1"], "--seed"),
        (["--handle-dist", "gamma"], "--handle-dist"),
        (["--short-abandon-s", "-5"], "--short-abandon-s"),
        (["--tz", "Mars/Olympus"], "tz"),
        (["--rate-cv", "lots"], "--rate-cv"),
        (["--rate-cv", "-0.5"], "rate_cv"),
        (["--rate-cv", "forecast"], "calls_lo_80"),  # the demand here has no bounds
    ):
        code, _, err = run([*base, *extra], capsys)
        assert code == 2 and err.count("\n") == 1 and needle in err, (extra, err)


def test_over_dispersed_arrivals_run(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run([*args(site, tmp_path / "k.csv"), "--rate-cv", "0.2"], capsys)
    assert code == 0, err


def test_frames_api_names_rows_and_matches_the_files(site: dict[str, Path]) -> None:
    demand = contracts.read_frame_csv(site["demand"], contracts.HISTORY, tz=TZ)
    schedule = contracts.read_frame_csv(site["schedule"], contracts.SCHEDULE, tz=TZ)
    projects = load_sim_projects(site["projects"])
    agents = load_sim_agents(site["agents"], projects=["hotline", "orders", "campaign"])
    report = simulate_plan(demand, schedule, agents, projects, tz=TZ, replications=4, seed=3)
    assert list(report.summary["project"]) == ["hotline", "orders"]
    assert report.interval_min == 30
    wrong = schedule.copy()
    wrong.loc[0, "project"] = "orders"
    with pytest.raises(ValueError, match=r"schedule row 0, column 'project'.*skill"):
        simulate_plan(demand, wrong, agents, projects, tz=TZ, replications=2)
