"""The independent schedule validator: a valid week passes; each rule broken alone is named
with its agent; DST, cross-midnight, rest against the previous week; coverage by hand."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from scheduler import RULES, ValidationReport, validate_schedule
from wfm.domain import Agent, OpeningHours, ShiftRules
from wfm.errors import FrameError
from wfm.grid import Grid

TZ = "Europe/Berlin"
MONDAY = dt.date(2026, 4, 27)
Part = tuple[str, int, str]  # activity, minutes, project


def W(minutes: int, project: str = "A") -> Part:
    return ("work", minutes, project)


def L(minutes: int = 30) -> Part:
    return ("lunch", minutes, "")


def B(minutes: int = 15) -> Part:
    return ("break", minutes, "")


def shift(agent: str, day: dt.date, hhmm: str, *parts: Part) -> list[dict[str, Any]]:
    """Segments from a local start, each part lasting real (elapsed) minutes."""
    t = pd.Timestamp(f"{day.isoformat()} {hhmm}").tz_localize(TZ)
    rows = []
    for activity, minutes, project in parts:
        end = t + pd.Timedelta(minutes=minutes)
        rows.append(
            {"agent": agent, "start": t, "end": end, "activity": activity, "project": project}
        )
        t = end
    return rows


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["agent", "start", "end", "activity", "project"])


def day(k: int) -> dt.date:
    return MONDAY + dt.timedelta(days=k)


# 8.5 h: 8 h paid, lunch 3:45 into the shift, two breaks away from it
FULL = (W(120), B(), W(105), L(), W(105), B(), W(120))
# a1's Monday variants, each breaking one rule
LUNCH_LATE = (W(120), B(), W(180), L(), W(45), B(), W(105))
BREAK_LONG = (W(120), B(30), W(90), L(), W(105), B(), W(120))
BREAK_AT_LUNCH = (W(120), B(), W(105), L(), B(), W(105), W(120))
STARTS_WITH_BREAK = (B(), W(210), L(), W(105), B(), W(135))


def week_rows(a1_monday: tuple[Part, ...] = FULL) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    rows += shift("a1", day(0), "08:00", *a1_monday)
    for k in range(1, 5):
        rows += shift("a1", day(k), "08:00", *FULL)
    # a2: Tue–Sat 12:00, two projects in blocks of >= 1 h; one row without a project
    for k in range(1, 6):
        rows += shift(
            "a2",
            day(k),
            "12:00",
            W(120, "A"),
            B(),
            W(105, "B"),
            L(),
            W(105, "B"),
            B(),
            W(60, "B"),
            W(60, ""),
        )
    # a3: part-time 6 h (no lunch, one break), Mon Wed Fri Sat at 07:30
    for k in (0, 2, 4, 5):
        rows += shift("a3", day(k), "07:30", W(120), B(), W(225))
    return rows


AGENTS = (
    Agent("a1", Agent.skills_from(["A"]), min_hours_week=30, max_hours_week=40),
    Agent("a2", Agent.skills_from(["A", "B"]), min_hours_week=30, max_hours_week=40),
    Agent(
        "a3",
        Agent.skills_from(["A"]),
        min_hours_week=20,
        max_hours_week=30,
        earliest_start=dt.time(7),
        latest_end=dt.time(14),
        days_off=frozenset({day(1)}),
    ),
)


def with_agent(name: str, **changes: Any) -> tuple[Agent, ...]:
    return tuple(dataclasses.replace(a, **changes) if a.agent == name else a for a in AGENTS)


def test_a_valid_week_passes() -> None:
    report = validate_schedule(frame(week_rows()), AGENTS, ShiftRules(), tz=TZ)
    assert report.violations == (), str(report)
    assert report.ok and report.by_rule() == {} and report.coverage is None
    # a mapping of agents works too
    assert validate_schedule(
        frame(week_rows()), {a.agent: a for a in AGENTS}, ShiftRules(), tz=TZ
    ).ok


@dataclasses.dataclass(frozen=True)
class Case:
    rule: str
    agent: str
    rows: list[dict[str, Any]] = dataclasses.field(default_factory=week_rows)
    agents: tuple[Agent, ...] = AGENTS
    rules: ShiftRules = dataclasses.field(default_factory=ShiftRules)
    previous: list[dict[str, Any]] | None = None


def _off(start: str, end: str) -> list[dict[str, Any]]:
    t0 = pd.Timestamp(f"2026-04-27 {start}").tz_localize(TZ)
    t1 = pd.Timestamp(f"2026-04-27 {end}").tz_localize(TZ)
    return [{"agent": "a1", "start": t0, "end": t1, "activity": "off", "project": ""}]


def _previous_a1(first: int, last: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for k in range(first, last + 1):
        rows += shift("a1", day(k), "08:00", *FULL)
    return rows


def _training_overlap() -> list[dict[str, Any]]:
    t = pd.Timestamp("2026-04-27 09:00").tz_localize(TZ)
    row = {"agent": "a1", "start": t, "end": t + pd.Timedelta(minutes=30)}
    return [*week_rows(), {**row, "activity": "training", "project": ""}]


def _a1_on(project: str) -> list[dict[str, Any]]:
    rows = week_rows()
    for r in rows:
        if r["agent"] == "a1" and r["start"].date() == day(0) and r["activity"] == "work":
            r["project"] = project
    return rows


CASES = [
    Case("segment", "a1", [*week_rows(), *_off("05:00", "04:00")]),
    Case("segment", "a1", [*week_rows(), *_off("03:07", "04:00")]),
    Case(
        "segment", "a1", [*week_rows(), *[{**r, "activity": "nap"} for r in _off("03:00", "04:00")]]
    ),
    Case("overlap", "a1", _training_overlap()),
    Case("unknown_agent", "ghost", [*week_rows(), *shift("ghost", day(0), "08:00", *FULL)]),
    Case("skill", "a1", _a1_on("B")),
    Case(
        "opening",
        "a2",
        rules=ShiftRules(
            opening={"B": OpeningHours({d: (dt.time(6), dt.time(19)) for d in range(1, 8)})}
        ),
    ),
    Case("day_off", "a1", agents=with_agent("a1", days_off=frozenset({day(0)}))),
    Case("earliest_start", "a1", agents=with_agent("a1", earliest_start=dt.time(9))),
    Case("latest_end", "a1", agents=with_agent("a1", latest_end=dt.time(16))),
    Case("min_hours_week", "a1", agents=with_agent("a1", min_hours_week=41, max_hours_week=45)),
    Case("max_hours_week", "a1", agents=with_agent("a1", max_hours_week=39)),
    Case("max_days_week", "a1", agents=with_agent("a1", max_days_week=4)),
    Case("shift_length", "a3", rules=ShiftRules(min_shift_h=7)),
    Case("shift_step", "a1", rules=ShiftRules(shift_step_min=60)),
    Case("start_grid", "a3", rules=ShiftRules(start_grid_min=60)),
    Case(
        "max_shifts_per_day",
        "a1",
        [*week_rows(), *shift("a1", day(0), "20:00", W(120), B(), W(105))],
        agents=with_agent("a1", max_hours_week=50),
        rules=ShiftRules(min_rest_h=0),
    ),
    Case("min_rest", "a1", rules=ShiftRules(min_rest_h=16)),
    Case("max_consecutive_days", "a1", previous=_previous_a1(-5, -1)),
    Case("lunch", "a1", week_rows(LUNCH_LATE)),
    Case("break", "a1", week_rows(BREAK_LONG)),
    Case("break", "a1", week_rows(BREAK_AT_LUNCH)),
    Case("shift_edge", "a1", week_rows(STARTS_WITH_BREAK)),
    Case(
        "project_block",
        "a2",
        [*week_rows(), *shift("a2", day(6), "12:00", W(30, "A"), W(90, "B"), B(), W(105, "B"))],
        agents=with_agent("a2", max_days_week=6, max_hours_week=45),
        rules=ShiftRules(max_days_week=6),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}-{i}" for i, c in enumerate(CASES)])
def test_each_rule_broken_alone_is_named_with_its_agent(case: Case) -> None:
    previous = frame(case.previous) if case.previous is not None else None
    report = validate_schedule(frame(case.rows), case.agents, case.rules, tz=TZ, previous=previous)
    assert set(report.by_rule()) == {case.rule}, str(report)
    assert case.agent in {v.agent for v in report.violations}
    assert all(v.detail for v in report.violations)
    assert not report.ok


def test_every_rule_has_a_case() -> None:
    assert {c.rule for c in CASES} == set(RULES)


def test_details_read_well() -> None:
    rows = shift("a1", day(0), "06:00", W(120), B(), W(105), L(), W(225), B(), W(240))
    agents = with_agent("a1", max_hours_week=80)
    report = validate_schedule(frame(rows), agents, ShiftRules(), tz=TZ)
    (v,) = [v for v in report.violations if v.rule == "shift_length"]
    assert v.detail == "shift 2026-04-27 06:00–18:30 lasts 12.5 h; max_shift_h is 10"
    assert v.start == pd.Timestamp("2026-04-27 06:00", tz=TZ)


# a 9 h shift by the clock: 8.5 h paid, two breaks, lunch 3:45 in
NIGHT = (W(120), B(), W(105), L(), W(105), B(), W(150))
NIGHT_AGENT = (Agent("n1", Agent.skills_from(["A"]), min_hours_week=0, max_hours_week=40),)


def test_fall_back_night_shift_lasts_nine_real_hours() -> None:
    # 2026-10-25 in Berlin: 03:00 CEST → 02:00 CET; 22:00 + 9 h real = 06:00 local
    rows = shift("n1", dt.date(2026, 10, 24), "22:00", *NIGHT)
    assert rows[-1]["end"] == pd.Timestamp("2026-10-25 06:00", tz=TZ)
    report = validate_schedule(frame(rows), NIGHT_AGENT, ShiftRules(), tz=TZ)
    assert report.ok, str(report)
    short = validate_schedule(frame(rows), NIGHT_AGENT, ShiftRules(max_shift_h=8.5), tz=TZ)
    assert short.by_rule() == {"shift_length": 1}
    assert "lasts 9 h" in short.violations[0].detail


def test_spring_forward_night_shift_lasts_seven_real_hours() -> None:
    # 2026-03-29: 02:00 CET → 03:00 CEST; the wall-clock 22:00–06:00 shift is 7 h
    start = pd.Timestamp("2026-03-28 22:00", tz=TZ)
    end = pd.Timestamp("2026-03-29 06:00", tz=TZ)
    assert end - start == pd.Timedelta(hours=7)
    # 7 h: 6.5 h paid, one break; the lunch ends at 03:30 CEST, 4:15 h in
    rows = shift("n1", dt.date(2026, 3, 28), "22:00", W(120), B(), W(105), L(), W(150))
    assert rows[0]["start"] == start and rows[-1]["end"] == end
    report = validate_schedule(frame(rows), NIGHT_AGENT, ShiftRules(min_shift_h=7.5), tz=TZ)
    assert report.by_rule() == {"shift_length": 1}, str(report)
    assert "lasts 7 h" in report.violations[0].detail
    assert validate_schedule(frame(rows), NIGHT_AGENT, ShiftRules(), tz=TZ).ok


def test_cross_midnight_shift_belongs_to_its_start_day() -> None:
    rows = shift("n1", day(0), "22:00", *NIGHT)
    assert validate_schedule(frame(rows), NIGHT_AGENT, ShiftRules(), tz=TZ).ok
    # a day off on Tuesday still forbids the part after midnight
    off_tue = (dataclasses.replace(NIGHT_AGENT[0], days_off=frozenset({day(1)})),)
    report = validate_schedule(frame(rows), off_tue, ShiftRules(), tz=TZ)
    assert report.by_rule() == {"day_off": 1}
    # earliest 20:00 / latest 07:00 is a night window: the latest end is on the next day
    night = (
        dataclasses.replace(NIGHT_AGENT[0], earliest_start=dt.time(20), latest_end=dt.time(7)),
    )
    assert validate_schedule(frame(rows), night, ShiftRules(), tz=TZ).ok
    # a second shift on Tuesday evening: two days, one shift each, enough rest
    tuesday = [*rows, *shift("n1", day(1), "22:00", *NIGHT)]
    assert validate_schedule(frame(tuesday), NIGHT_AGENT, ShiftRules(), tz=TZ).ok


def test_rest_counts_the_previous_weeks_last_shift() -> None:
    previous = frame(shift("a1", day(-1), "20:00", *FULL))  # Sunday 20:00 – Monday 04:30
    report = validate_schedule(frame(week_rows()), AGENTS, ShiftRules(), tz=TZ, previous=previous)
    assert report.by_rule() == {"min_rest": 1}, str(report)
    (v,) = report.violations
    assert v.agent == "a1" and "previous week's" in v.detail and "3.5 h" in v.detail
    # 11 h are enough
    previous = frame(shift("a1", day(-1), "12:30", *FULL))  # ends 21:00
    assert validate_schedule(frame(week_rows()), AGENTS, ShiftRules(), tz=TZ, previous=previous).ok


def test_coverage_equals_a_hand_count() -> None:
    rules = ShiftRules(min_shift_h=0.5, break_every_h=24, min_project_block_h=0.25)
    agents = (
        Agent("x", Agent.skills_from(["A"]), min_hours_week=0, max_hours_week=40),
        Agent("y", Agent.skills_from(["A"]), min_hours_week=0, max_hours_week=40),
        Agent("z", Agent.skills_from(["B", "A"]), min_hours_week=0, max_hours_week=40),
    )
    rows = [
        *shift("x", day(0), "08:00", W(60, "A")),
        *shift("y", day(0), "08:30", W(90, "A")),
        *shift("z", day(0), "08:15", W(30, "")),  # no project: booked on z's first skill, B
    ]
    ts = pd.date_range("2026-04-27 08:00", periods=8, freq="15min", tz=TZ)
    required = [1, 1, 2, 2, 2, 2, 1, 1]
    reqs = pd.DataFrame({"project": "A", "ts": ts, "agents": required})
    report = validate_schedule(frame(rows), agents, rules, tz=TZ, requirements=reqs)
    cov = report.coverage
    assert cov is not None
    a = cov[cov["project"] == "A"]
    # by hand: x 08:00–09:00, y 08:30–10:00
    assert a["scheduled"].tolist() == [1, 1, 2, 2, 1, 1, 1, 1]
    assert a["under"].tolist() == [0, 0, 0, 0, 1, 1, 0, 0]
    assert a["required"].tolist() == required
    b = cov[cov["project"] == "B"]
    assert b["ts"].tolist() == list(ts[1:3]) and b["over"].tolist() == [1, 1]
    assert report.under_h == pytest.approx(0.5) and report.over_h == pytest.approx(0.5)
    # B has no requirement rows and no opening hours: it is closed
    assert report.by_rule() == {"opening": 1} and report.violations[0].agent == "z"


def test_coverage_is_time_weighted_on_a_coarser_grid() -> None:
    rules = ShiftRules(
        min_shift_h=0.25, shift_step_min=15, break_every_h=24, min_project_block_h=0.25
    )
    agents = (Agent("x", Agent.skills_from(["A"]), min_hours_week=0, max_hours_week=40),)
    rows = shift("x", day(0), "08:15", W(15))
    reqs = pd.DataFrame(
        {
            "project": "A",
            "ts": pd.date_range("2026-04-27 08:00", periods=2, freq="30min", tz=TZ),
            "agents": [1, 0],
        }
    )
    report = validate_schedule(frame(rows), agents, rules, tz=TZ, requirements=reqs)
    assert report.coverage is not None
    assert report.coverage["scheduled"].tolist() == [0.5, 0]
    assert report.under_h == pytest.approx(0.25) and report.ok


def test_unreadable_frames_raise() -> None:
    rows = frame(week_rows())
    with pytest.raises(FrameError, match="activity"):
        validate_schedule(rows.drop(columns="activity"), AGENTS, ShiftRules(), tz=TZ)
    naive = rows.assign(start=rows["start"].dt.tz_localize(None))
    with pytest.raises(FrameError, match="naive"):
        validate_schedule(naive, AGENTS, ShiftRules(), tz=TZ)


def test_report_type() -> None:
    report = validate_schedule(frame(week_rows()), AGENTS, ShiftRules(min_rest_h=16), tz=TZ)
    assert isinstance(report, ValidationReport)
    assert report.by_rule() == {"min_rest": len(report.violations)}
    assert "min_rest" in str(report)


VALIDATOR = Path(__file__).resolve().parents[1] / "scheduler" / "validator.py"
LEAF = {"wfm.domain", "wfm.errors", "wfm.grid", "wfm.contracts"}


def test_the_validator_imports_only_stdlib_numpy_pandas_and_the_leaf_layer() -> None:
    tree = ast.parse(VALIDATOR.read_text())
    imported: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports (its own package is off limits)"
            imported.append(node.module or "")
    assert imported
    for name in imported:
        top = name.split(".")[0]
        assert top != "scheduler", f"the validator imports its own package: {name}"
        ok = (
            top in sys.stdlib_module_names
            or top == "__future__"
            or top in {"numpy", "pandas"}
            or name in LEAF
            or name.startswith("numpy.")
        )
        assert ok, f"the validator may not import {name}"


def test_coverage_on_the_fall_back_night_counts_real_quarter_hours() -> None:
    rows = shift("n1", dt.date(2026, 10, 24), "22:00", *NIGHT)
    ts = Grid(TZ, 15).span(rows[0]["start"], rows[-1]["end"])
    assert len(ts) == 36  # 9 h, the repeated hour twice
    reqs = pd.DataFrame({"project": "A", "ts": ts, "agents": 1})
    report = validate_schedule(frame(rows), NIGHT_AGENT, ShiftRules(), tz=TZ, requirements=reqs)
    assert report.ok, str(report)
    assert report.coverage is not None and len(report.coverage) == 36
    # 9 h at the desk minus a 30-min lunch and two 15-min breaks: 8 h worked, 1 h short
    assert (report.coverage["scheduled"] * 0.25).sum() == pytest.approx(8.0)
    assert report.under_h == pytest.approx(1.0) and report.over_h == 0
