"""``wfm schedule`` on a tiny site built here (four agents, two projects, two days): the
schedule file the independent validator accepts, the tables, JSON and the page, a re-plan
against --previous with pinned rows, and bad input → exit 2 with one line naming the input.

Each solve has a 10 s budget on one worker with a fixed seed."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import run

from scheduler import validate_schedule
from wfm import contracts
from wfm.domain import (
    Agent,
    BillingModel,
    Contract,
    OpeningHours,
    Project,
    ProjectKind,
    ServiceTarget,
    ShiftRules,
)
from wfm.errors import InputError
from wfm.services.scheduling import (
    COVERAGE_COLUMNS,
    SCHEDULE_COLUMNS,
    SolveParams,
    contract_weights,
    schedule_plan,
)
from wfm.services.sitedata import AGENT_COLUMNS, PROJECT_COLUMNS, load_agents

TZ = "Europe/Berlin"
MONDAY = dt.date(2026, 4, 27)  # UTC+02:00, no DST change in the week
SOLVER = ["--time-limit", "10", "--workers", "1", "--seed", "0"]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def agent_row(agent: str, skills: str, **cells: object) -> list[object]:
    values: dict[str, object] = {
        "agent": agent,
        "skills": skills,
        "min_hours_week": 6,
        "max_hours_week": 16,
        "max_days_week": 5,
        "grade": "standard",
        "hourly_cost_eur": 18,
    } | cells
    return [values.get(c, "") for c in AGENT_COLUMNS]


def project_row(project: str, penalty: float) -> list[object]:
    values: dict[str, object] = {
        "project": project,
        "name": project,
        "kind": "inbound",
        "sl_target": 0.8,
        "answer_within_s": 20,
        "patience_s": 120,
        "concurrency": 1,
        "billing": "per_hour",
        "rate_eur": 30,
        "penalty_eur_per_point": penalty,
    }
    return [values.get(c, "") for c in PROJECT_COLUMNS]


def requirement_rows(days: Sequence[dt.date]) -> list[list[object]]:
    """08:00–16:00 local in 30-minute intervals: hotline 2 agents (1.5 in the last hour),
    orders 1."""
    rows: list[list[object]] = []
    for day in days:
        slots = pd.date_range(f"{day.isoformat()} 08:00", periods=16, freq="30min", tz=TZ)
        for i, ts in enumerate(slots):
            rows.append(["hotline", ts.isoformat(), 1.5 if i >= 14 else 2])
            rows.append(["orders", ts.isoformat(), 1])
    return rows


@pytest.fixture
def site(tmp_path: Path) -> dict[str, Path]:
    """A site folder: site.json, projects.csv (hotline's SL penalty three times orders'),
    agents.csv (four agents, 6–16 h a week) and requirements for Monday and Tuesday."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "site.json").write_text(
        json.dumps({"name": "test", "tz": TZ, "country": "DE"}), encoding="utf-8"
    )
    write_csv(
        folder / "projects.csv",
        PROJECT_COLUMNS,
        [project_row("hotline", 300), project_row("orders", 100)],
    )
    agents = [
        agent_row("A1", "hotline"),
        agent_row("A2", "hotline;orders"),
        agent_row("A3", "orders;hotline", preferred_start="08:00"),
        agent_row("A4", "hotline", days_off=(MONDAY + dt.timedelta(days=1)).isoformat()),
    ]
    days = [MONDAY, MONDAY + dt.timedelta(days=1)]
    return {
        "agents": write_csv(folder / "agents.csv", AGENT_COLUMNS, agents),
        "requirements": write_csv(
            tmp_path / "requirements.csv", ["project", "ts", "agents"], requirement_rows(days)
        ),
        "folder": folder,
    }


def args(site: dict[str, Path], out: Path, week: str = MONDAY.isoformat()) -> list[str]:
    return [
        "schedule",
        "--requirements",
        str(site["requirements"]),
        "--agents",
        str(site["agents"]),
        "--week",
        week,
        "--out",
        str(out),
    ]


def one_line_error(code: int, out: str, err: str) -> str:
    assert code == 2, (out, err)
    assert err.startswith("wfm: error: ") and err.count("\n") == 1, err
    return err


# --------------------------------------------------------------------------------------------
# bad input: no solve needed


def edit(path: Path, target: Path, line: int, column: str, value: str) -> Path:
    """A copy of CSV ``path`` at ``target`` with one cell changed (header = line 1)."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows[line - 1][rows[0].index(column)] = value
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return target


def test_week_must_be_a_monday(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = one_line_error(*run(args(site, tmp_path / "s.csv", "2026-04-28"), capsys))
    assert "2026-04-28 is a Tuesday" in err and "2026-04-27" in err
    err = one_line_error(*run(args(site, tmp_path / "s.csv", "next week"), capsys))
    assert "--week" in err and "YYYY-MM-DD" in err
    assert not (tmp_path / "s.csv").exists()


def test_missing_files(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.csv"
    argv = args(site | {"requirements": missing}, tmp_path / "s.csv")
    err = one_line_error(*run(argv, capsys))
    assert "nope.csv" in err and "no such file" in err
    err = one_line_error(*run([*args(site, tmp_path / "s.csv"), "--rules", str(missing)], capsys))
    assert "nope.csv: no such rules file" in err
    err = one_line_error(*run([*args(site, tmp_path / "s.csv"), "--pin", str(missing)], capsys))
    assert "nope.csv" in err
    err = one_line_error(*run(["schedule", "--agents", str(site["agents"])], capsys))
    assert "--requirements" in err or "--week" in err or "--out" in err


@pytest.mark.parametrize(
    ("name", "line", "column", "value", "needles"),
    [
        ("agents", 3, "max_hours_week", "lots", ["agents.csv line 3", "'max_hours_week'"]),
        ("agents", 4, "skills", "orders;sales", ["agents.csv line 4", "'sales'"]),
        ("agents", 2, "earliest_start", "8am", ["agents.csv line 2", "'earliest_start'"]),
        ("agents", 5, "agent", "A1", ["agents.csv line 5", "listed twice"]),
        ("requirements", 4, "agents", "-1", ["requirements.csv", "'agents' line 4"]),
        ("requirements", 7, "project", "sales", ["requirements.csv line 7", "'sales'"]),
        ("requirements", 2, "ts", "yesterday", ["requirements.csv", "'ts' line 2", "'yesterday'"]),
    ],
)
def test_bad_cells_exit_2_with_one_line_naming_file_and_line(
    site: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    line: int,
    column: str,
    value: str,
    needles: list[str],
) -> None:
    broken = edit(site[name], tmp_path / "broken" / site[name].name, line, column, value)
    if name == "agents":  # keep the site folder beside the agents file
        for other in ("site.json", "projects.csv"):
            (broken.parent / other).write_bytes((site["folder"] / other).read_bytes())
    err = one_line_error(*run(args(site | {name: broken}, tmp_path / "s.csv"), capsys))
    for needle in needles:
        assert needle in err, err


def test_inconsistent_inputs(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # without projects.csv: a project no agent holds
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "site.json").write_bytes((site["folder"] / "site.json").read_bytes())
    (bare / "agents.csv").write_bytes(site["agents"].read_bytes())
    req = edit(site["requirements"], tmp_path / "r.csv", 9, "project", "billing")
    err = one_line_error(
        *run(
            args(site | {"agents": bare / "agents.csv", "requirements": req}, tmp_path / "s"),
            capsys,
        )
    )
    assert "r.csv line 9" in err and "no agent holds project 'billing'" in err
    # requirements of another week
    other = write_csv(
        tmp_path / "later.csv",
        ["project", "ts", "agents"],
        requirement_rows([MONDAY + dt.timedelta(days=14)]),
    )
    err = one_line_error(*run(args(site | {"requirements": other}, tmp_path / "s"), capsys))
    assert "later.csv: no rows in the week of 2026-04-27" in err
    # a time zone that does not exist, a bad solver limit, a bad rules key
    err = one_line_error(*run([*args(site, tmp_path / "s"), "--tz", "Mars/Olympus"], capsys))
    assert "Mars/Olympus" in err
    err = one_line_error(*run([*args(site, tmp_path / "s"), "--time-limit", "0"], capsys))
    assert "--time-limit: 0 is not positive" in err
    err = one_line_error(*run([*args(site, tmp_path / "s"), "--workers", "0"], capsys))
    assert "--workers" in err
    rules = tmp_path / "rules.toml"
    rules.write_text("min_shift_h = 4\nmax_shift = 8\n", encoding="utf-8")
    err = one_line_error(*run([*args(site, tmp_path / "s"), "--rules", str(rules)], capsys))
    assert "rules.toml: unknown key 'max_shift'" in err


def test_bad_previous_and_pins(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = ["agent", "start", "end", "activity", "project", "pinned"]
    t = f"{MONDAY.isoformat()}T"
    rows: list[list[object]] = [
        ["A1", f"{t}08:00:00+02:00", f"{t}12:00:00+02:00", "work", "hotline", "yes"],
        ["A2", f"{t}08:00:00+02:00", f"{t}12:00:00+02:00", "work", "orders", "maybe"],
    ]
    previous = write_csv(tmp_path / "prev.csv", header, rows)
    err = one_line_error(*run([*args(site, tmp_path / "s"), "--previous", str(previous)], capsys))
    assert "prev.csv line 3" in err and "'pinned'" in err and "'maybe'" in err
    pins = write_csv(tmp_path / "pins.csv", header[:5], [["B7", *rows[0][1:5]]])
    err = one_line_error(*run([*args(site, tmp_path / "s"), "--pin", str(pins)], capsys))
    assert "pins.csv line 2" in err and "'B7'" in err
    early = f"{(MONDAY - dt.timedelta(days=7)).isoformat()}T"
    pins = write_csv(
        tmp_path / "pins.csv",
        header[:5],
        [["A1", f"{early}08:00:00+02:00", f"{early}12:00:00+02:00", "work", "hotline"]],
    )
    err = one_line_error(*run([*args(site, tmp_path / "s"), "--pin", str(pins)], capsys))
    assert "pins.csv line 2" in err and "not inside the planned week" in err
    bad = write_csv(tmp_path / "bad.csv", header[:5], [["A1", f"{t}08:00", "", "work", ""]])
    err = one_line_error(*run([*args(site, tmp_path / "s"), "--previous", str(bad)], capsys))
    assert "bad.csv" in err and "line 2" in err


def test_contract_weights_follow_the_sl_penalties() -> None:
    def project(name: str, penalty: float) -> Project:
        contract = Contract(
            billing=BillingModel.PER_HOUR, rate_eur=30.0, penalty_eur_per_point=penalty
        )
        target = ServiceTarget(sl_target=0.8, answer_within_s=20.0)
        return Project(
            project=name, name=name, kind=ProjectKind.INBOUND, target=target, contract=contract
        )

    projects = {"a": project("a", 300.0), "b": project("b", 100.0), "c": project("c", 0.0)}
    weights = contract_weights(projects, ["a", "b"])
    assert dict(weights.under_by_project) == {"a": 15.0, "b": 5.0}
    weights = contract_weights(projects)  # mean 133.3: a 22.5, b 7.5, c floored at 1
    assert weights.under_by_project["a"] == pytest.approx(22.5)
    assert weights.under_by_project["b"] == pytest.approx(7.5)
    assert weights.under_by_project["c"] == 1.0
    assert dict(contract_weights(projects, ["c"]).under_by_project) == {}


# --------------------------------------------------------------------------------------------
# solves


def check_file(site: dict[str, Path], path: Path) -> pd.DataFrame:
    """The written schedule, read back through the SCHEDULE contract and accepted by the
    independent validator."""
    schedule = contracts.read_frame_csv(path, contracts.SCHEDULE, tz=TZ)
    requirements = contracts.read_frame_csv(
        site["requirements"],
        contracts.FrameSchema(
            name="requirements",
            keys=("project", "ts"),
            columns=(
                contracts.Column("project", "str"),
                contracts.Column("ts", "ts"),
                contracts.Column("agents", "float", min_value=0.0),
            ),
        ),
        tz=TZ,
    )
    agents = load_agents(site["agents"])
    report = validate_schedule(schedule, agents, ShiftRules(), tz=TZ, requirements=requirements)
    assert report.ok, str(report)
    return schedule


def test_plans_a_valid_week_and_prints_the_tables(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, html = tmp_path / "out" / "schedule.csv", tmp_path / "out" / "schedule.html"
    code, text, err = run([*args(site, out), *SOLVER, "--html", str(html)], capsys)
    assert code == 0, err
    schedule = check_file(site, out)
    assert set(schedule["activity"]) <= {"work", "lunch", "break"}
    assert set(schedule["agent"]) <= {"A1", "A2", "A3", "A4"}
    tuesday = MONDAY + dt.timedelta(days=1)
    a4 = schedule[schedule["agent"] == "A4"]
    assert not (a4["start"].dt.tz_convert(TZ).dt.date == tuesday).any()  # A4's day off
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header == "agent,start,end,activity,project"
    flat = " ".join(text.split())
    for needle in (
        "Coverage 2026-04-27…05-03 (Europe/Berlin)",
        "Penalties",
        "under_coverage",
        "Solve: ",
        "objective",
        "bound",
        "gap %",
        "under-coverage, agent-h",
        "validator: ✓ no hard rule broken",
        f"wrote {out}",
    ):
        assert needle in flat, needle
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}
    assert rows["hotline"][1] == "31.0" and rows["orders"][1] == "16.0"  # required agent-h
    assert "changed" not in flat  # no --previous
    assert max(len(line) for line in text.splitlines()) <= 80
    page = html.read_text(encoding="utf-8")
    assert "plotly" in page and "hotline: agents required vs scheduled" in page


def test_json_and_replan_against_previous_with_pins(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "first.csv"
    code, text, err = run([*args(site, first), *SOLVER, "--json"], capsys)
    assert code == 0, err
    data = json.loads(text)
    assert data["week"] == MONDAY.isoformat() and data["tz"] == TZ
    assert data["interval_min"] == 30
    assert data["validation"]["ok"] is True and data["validation"]["violations"] == []
    assert data["changed_shifts"] is None
    cover = {c["project"]: c for c in data["coverage"]}
    assert cover["hotline"]["required_h"] == pytest.approx(2 * (14 * 2 + 2 * 1.5) * 0.5)
    assert cover["orders"]["required_h"] == pytest.approx(2 * 16 * 0.5)
    for c in cover.values():
        assert c["scheduled_h"] - c["over_h"] + c["under_h"] == pytest.approx(c["required_h"])
    # the coverage table counts per requirement interval (30 min here), the solver per
    # quarter-hour: over- and under-coverage inside one interval offset each other only in
    # the table, so it is at most the solver's, and a difference is told in the notes
    per_interval = sum(c["under_h"] for c in cover.values())
    assert per_interval <= data["under_h"] + 1e-6
    if per_interval != pytest.approx(data["under_h"]):
        assert any("agent-hours under-covered" in note for note in data["notes"]), data["notes"]
    assert data["under_lower_bound_h"] <= data["under_h"] + 1e-6
    assert data["under_lower_bound_h"] == 0 and data["gap_split"] is None  # enough agents
    assert {p["name"] for p in data["penalties"]}
    for p in data["penalties"]:
        assert p["cost"] == pytest.approx(p["value"] * p["weight"], rel=1e-6) or p["weight"] == 0

    # re-plan with the first plan as previous: A1's rows pinned, kept exactly
    plan = pd.read_csv(first, dtype=str, keep_default_na=False)
    plan["pinned"] = (plan["agent"] == "A1").map({True: "yes", False: ""})
    previous = tmp_path / "previous.csv"
    plan.to_csv(previous, index=False)
    second = tmp_path / "second.csv"
    code, text, err = run([*args(site, second), *SOLVER, "--previous", str(previous)], capsys)
    assert code == 0, err
    assert "changed shifts" in text
    again = check_file(site, second)
    kept = again[again["agent"] == "A1"].reset_index(drop=True)
    before = contracts.read_frame_csv(first, contracts.SCHEDULE, tz=TZ)
    before = before[before["agent"] == "A1"].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        kept[["start", "end", "activity"]], before[["start", "end", "activity"]]
    )


def test_json_splits_the_gap_when_agents_are_short(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # one agent for 3 agents' requirements: the per-agent bound is positive, and the gap
    # above it splits into the agents' part and the coverage's part, adding up exactly
    write_csv(site["agents"], AGENT_COLUMNS, [agent_row("A1", "hotline;orders")])
    out = tmp_path / "short.csv"
    code, text, err = run([*args(site, out), *SOLVER, "--json"], capsys)
    assert code == 0, err
    data = json.loads(text)
    split = data["gap_split"]
    assert split["bound_h"] > 0
    assert split["bound_h"] + split["agents_h"] + split["slots_h"] == pytest.approx(data["under_h"])
    assert split["agents_h"] >= -1e-9 and split["slots_h"] >= -1e-9
    assert sum(a["h"] for a in split["agents"]) == pytest.approx(split["agents_h"])
    assert {a["agent"] for a in split["agents"]} <= {"A1"}
    code, text, err = run([*args(site, out), *SOLVER], capsys)
    assert code == 0, err
    assert "above bound: agents' weeks" in " ".join(text.split()), text
    assert max(len(line) for line in text.splitlines()) <= 80, text


def test_impossible_contract_is_infeasible_with_one_line(
    site: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A1 must work 30 h, but the projects are open 16 h in the week (requirement rows
    only): no schedule keeps the rules."""
    broken = edit(site["agents"], tmp_path / "site2" / "agents.csv", 2, "min_hours_week", "30")
    edit(broken, broken, 2, "max_hours_week", "40")
    for other in ("site.json", "projects.csv"):
        (broken.parent / other).write_bytes((site["folder"] / other).read_bytes())
    err = one_line_error(*run([*args(site | {"agents": broken}, tmp_path / "s"), *SOLVER], capsys))
    assert "A1" in err
    assert not (tmp_path / "s").exists()


def test_schedule_plan_in_memory_keeps_opening_hours_and_weighs_contracts() -> None:
    """The service the API and notebooks call: hotline is open 10:00–16:00 on Mondays (its
    projects.csv opening hours), so the 08:00–10:00 requirement stays uncovered."""
    hours = OpeningHours({1: (dt.time(10), dt.time(16))})
    target = ServiceTarget(sl_target=0.8, answer_within_s=20.0)

    def project(name: str, penalty: float, opening: OpeningHours | None) -> Project:
        contract = Contract(
            billing=BillingModel.PER_HOUR, rate_eur=30.0, penalty_eur_per_point=penalty
        )
        return Project(
            project=name,
            name=name,
            kind=ProjectKind.INBOUND,
            target=target,
            contract=contract,
            opening=opening,
        )

    projects = {
        "hotline": project("hotline", 300.0, hours),
        "orders": project("orders", 100.0, None),
    }
    rows = requirement_rows([MONDAY])
    requirements = pd.DataFrame(rows, columns=["project", "ts", "agents"])
    agents = [
        Agent(
            agent=f"A{i}",
            skills=Agent.skills_from(skills),
            min_hours_week=0.0,
            max_hours_week=16.0,
        )
        for i, skills in enumerate((["hotline"], ["hotline", "orders"], ["orders"]), start=1)
    ]
    result = schedule_plan(
        requirements,
        agents,
        tz=TZ,
        week=MONDAY,
        projects=projects,
        params=SolveParams(time_limit_s=10.0, workers=1, seed=0),
    )
    assert result.validation.ok, str(result.validation)
    assert dict(result.weights.under_by_project) == {"hotline": 15.0, "orders": 5.0}
    work = result.schedule[
        (result.schedule["activity"] == "work") & (result.schedule["project"] == "hotline")
    ]
    assert (work["start"].dt.tz_convert(TZ).dt.hour >= 10).all()
    under = dict(zip(result.coverage["project"], result.coverage["under_h"], strict=True))
    assert under["hotline"] >= 2 * 2 - 1e-9  # two agents × 08:00–10:00
    assert list(result.coverage.columns) == list(COVERAGE_COLUMNS)
    assert result.week == MONDAY and result.tz == TZ and result.interval_min == 30
    assert result.shifts == result.schedule["agent"].nunique()  # one day: one shift each

    previous = pd.DataFrame(
        [["A9", "2026-04-27T10:00+02:00", "2026-04-27T14:00+02:00", "work", "orders", "1"]],
        columns=[*SCHEDULE_COLUMNS, "pinned"],
    )
    with pytest.raises(InputError, match=r"previous row 0, column 'agent': pinned agent 'A9'"):
        schedule_plan(requirements, agents, tz=TZ, week=MONDAY, previous=previous)
