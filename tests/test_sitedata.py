"""Loading a site folder into domain objects, and the errors broken folders raise."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from wfm.domain import Agent, BillingModel, ProjectKind, Skill
from wfm.errors import InputError
from wfm.services.samples import generate_samples
from wfm.services.sitedata import (
    SiteData,
    load_agents,
    load_events,
    load_projects,
    load_site,
    load_site_data,
)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    generate_samples(out)
    return out


@pytest.fixture
def copy(samples: Path, tmp_path: Path) -> Path:
    """A private copy of the sample folder to break."""
    target = tmp_path / "site"
    shutil.copytree(samples, target)
    return target


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def _set_cell(path: Path, line: int, column: str, value: str) -> None:
    rows = _rows(path)
    rows[line - 1][rows[0].index(column)] = value
    _write_rows(path, rows)


def _drop_column(path: Path, column: str) -> None:
    rows = _rows(path)
    i = rows[0].index(column)
    _write_rows(path, [r[:i] + r[i + 1 :] for r in rows])


# ---------------------------------------------------------------------------------------
# loading the samples


def test_load_site(samples: Path) -> None:
    site = load_site(samples)
    assert site.tz == "Europe/Berlin"
    assert (site.country, site.subdiv) == ("DE", "BE")


def test_load_projects(samples: Path) -> None:
    projects = load_projects(samples)
    assert list(projects) == ["bank", "retail", "techsupport", "chat", "outbound"]
    bank, retail, tech, chat, out = (projects[p] for p in projects)
    assert bank.kind is ProjectKind.INBOUND
    assert bank.target is not None
    assert bank.target.label == "80/20"
    assert bank.target.max_abandon_rate == 0.05
    assert bank.patience_s == 180.0
    assert bank.contract.billing is BillingModel.PER_HOUR
    assert retail.target is not None
    assert retail.target.label == "90/30"
    assert retail.contract.billing is BillingModel.PER_CONTACT
    assert tech.contract.billing is BillingModel.PER_SEAT
    assert chat.kind is ProjectKind.CHAT
    assert chat.concurrency == 2
    assert chat.target is not None
    assert chat.target.answer_within_s == 60.0
    assert out.kind is ProjectKind.OUTBOUND
    assert out.target is None
    assert out.outbound is not None
    assert out.outbound.dials_per_contact == 2.8
    assert (out.outbound.talk_s, out.outbound.wrap_s, out.outbound.attempt_s) == (240, 15, 120)
    assert out.contract.billing is BillingModel.LEASING
    assert out.contract.kpi_table == ()
    # KPI tables
    assert bank.contract.kpi_coefficient(0.70) == 0.9
    assert bank.contract.kpi_coefficient(0.80) == 1.0
    assert bank.contract.kpi_coefficient(0.90) == 1.05
    # opening hours (local wall clock)
    assert bank.opening is not None
    assert tech.opening is not None
    assert out.opening is not None
    assert bank.opening.is_open(dt.datetime(2026, 4, 28, 8, 0))
    assert not bank.opening.is_open(dt.datetime(2026, 4, 28, 20, 0))
    assert not bank.opening.is_open(dt.datetime(2026, 5, 3, 12, 0))  # Sunday
    assert tech.opening.is_open(dt.datetime(2026, 5, 3, 3, 30))
    assert out.opening.is_open(dt.datetime(2026, 5, 2, 10, 0))  # Saturday 10–16
    assert not out.opening.is_open(dt.datetime(2026, 5, 2, 16, 0))


def test_load_agents(samples: Path) -> None:
    agents = load_agents(samples / "agents.csv")
    raw = pd.read_csv(samples / "agents.csv", dtype=str, keep_default_na=False)
    assert len(agents) == len(raw)
    assert [a.agent for a in agents] == raw["agent"].tolist()
    for agent, skills in zip(agents, raw["skills"], strict=True):
        assert isinstance(agent, Agent)
        assert ";".join(agent.projects) == skills
        assert agent.skills[0].priority == 1
    first = agents[0]
    assert first.skills == (Skill("bank", 1), Skill("retail", 2))
    assert first.days_off == frozenset({dt.date(2026, 5, 2)})
    with_window = [a for a in agents if a.earliest_start is not None]
    assert with_window
    assert all(isinstance(a.earliest_start, dt.time) for a in with_window)


def test_load_site_data(samples: Path) -> None:
    data = load_site_data(samples)
    assert isinstance(data, SiteData)
    assert data.site == load_site(samples)
    assert dict(data.projects) == load_projects(samples)
    assert data.agents == load_agents(samples / "agents.csv")
    events = data.events
    assert list(events.columns) == ["date", "project", "kind", "uplift", "note"]
    good_friday = events[events["date"] == dt.date(2026, 4, 3)]
    assert "closure" in set(good_friday["kind"])
    assert good_friday["project"].isna().sum() == 1  # the all-projects holiday row
    campaign = events[events["kind"] == "campaign"]
    assert campaign["uplift"].tolist() == [1.6]


def test_optional_files(copy: Path) -> None:
    for name in ("kpi_table.csv", "opening_hours.csv", "events.csv"):
        (copy / name).unlink()
    data = load_site_data(copy)
    assert all(p.contract.kpi_table == () for p in data.projects.values())
    assert all(p.opening is None for p in data.projects.values())  # 24/7
    assert data.events.empty
    assert list(data.events.columns) == ["date", "project", "kind", "uplift", "note"]


def test_agents_alone_do_not_check_projects(copy: Path) -> None:
    _set_cell(copy / "agents.csv", 7, "skills", "banking")
    agents = load_agents(copy / "agents.csv")
    assert agents[5].projects == ("banking",)


def test_24_00_is_midnight(copy: Path) -> None:
    _set_cell(copy / "opening_hours.csv", 2, "close", "24:00")  # bank, Monday
    bank = load_projects(copy)["bank"]
    assert bank.opening is not None
    assert bank.opening.is_open(dt.datetime(2026, 4, 27, 23, 45))
    assert not bank.opening.is_open(dt.datetime(2026, 4, 28, 0, 0))  # Tuesday opens at 8
    assert not bank.opening.is_open(dt.datetime(2026, 4, 28, 7, 0))


# ---------------------------------------------------------------------------------------
# broken folders


def _check(exc: InputError, file: str, line: int, column: str) -> None:
    message = str(exc)
    assert message.startswith(f"{file} line {line}, column {column!r}: "), message
    assert exc.field == column
    assert exc.row == line


def test_bad_sl_target(copy: Path) -> None:
    _set_cell(copy / "projects.csv", 4, "sl_target", "1.2")
    with pytest.raises(InputError) as info:
        load_site_data(copy)
    assert str(info.value) == "projects.csv line 4, column 'sl_target': 1.2 is outside (0, 1)"
    _check(info.value, "projects.csv", 4, "sl_target")
    assert info.value.expected is not None


def test_unknown_skill(copy: Path) -> None:
    _set_cell(copy / "agents.csv", 7, "skills", "techsupport;banking")
    with pytest.raises(InputError) as info:
        load_site_data(copy)
    _check(info.value, "agents.csv", 7, "skills")
    assert "agent A006" in str(info.value)
    assert "'banking'" in str(info.value)


@pytest.mark.parametrize(
    ("file", "column"),
    [
        ("projects.csv", "rate_eur"),
        ("projects.csv", "sl_target"),
        ("agents.csv", "hourly_cost_eur"),
        ("kpi_table.csv", "coefficient"),
        ("opening_hours.csv", "close"),
        ("events.csv", "kind"),
    ],
)
def test_missing_column(copy: Path, file: str, column: str) -> None:
    _drop_column(copy / file, column)
    with pytest.raises(InputError) as info:
        load_site_data(copy)
    _check(info.value, file, 1, column)
    assert "missing" in str(info.value)


Mutation = Callable[[Path], None]


def _cell(file: str, line: int, column: str, value: str) -> Mutation:
    def mutate(folder: Path) -> None:
        _set_cell(folder / file, line, column, value)

    return mutate


@pytest.mark.parametrize(
    ("mutate", "file", "line", "column", "fragment"),
    [
        (_cell("projects.csv", 2, "kind", "email"), "projects.csv", 2, "kind", "'email'"),
        (_cell("projects.csv", 3, "billing", "free"), "projects.csv", 3, "billing", "per_hour"),
        (_cell("projects.csv", 2, "rate_eur", "abc"), "projects.csv", 2, "rate_eur", "number"),
        (_cell("projects.csv", 2, "rate_eur", "-1"), "projects.csv", 2, "rate_eur", "negative"),
        (_cell("projects.csv", 2, "rate_eur", "nan"), "projects.csv", 2, "rate_eur", "finite"),
        (_cell("projects.csv", 3, "sl_target", ""), "projects.csv", 3, "sl_target", "empty"),
        (
            _cell("projects.csv", 2, "answer_within_s", "-5"),
            "projects.csv",
            2,
            "answer_within_s",
            "negative",
        ),
        (
            _cell("projects.csv", 2, "max_abandon_rate", "1.5"),
            "projects.csv",
            2,
            "max_abandon_rate",
            "outside",
        ),
        (_cell("projects.csv", 5, "concurrency", "0"), "projects.csv", 5, "concurrency", "below"),
        (
            _cell("projects.csv", 6, "dials_per_contact", "0.5"),
            "projects.csv",
            6,
            "dials_per_contact",
            "below 1",
        ),
        (
            _cell("projects.csv", 6, "contacts_per_week", ""),
            "projects.csv",
            6,
            "contacts_per_week",
            "empty",
        ),
        (_cell("projects.csv", 3, "project", "bank"), "projects.csv", 3, "project", "twice"),
        (_cell("kpi_table.csv", 3, "project", "bnak"), "kpi_table.csv", 3, "project", "'bnak'"),
        (
            _cell("kpi_table.csv", 3, "sl_at_least", "1.5"),
            "kpi_table.csv",
            3,
            "sl_at_least",
            "outside",
        ),
        (
            _cell("opening_hours.csv", 2, "open", "25:00"),
            "opening_hours.csv",
            2,
            "open",
            "time of day",
        ),
        (
            _cell("opening_hours.csv", 3, "weekday", "8"),
            "opening_hours.csv",
            3,
            "weekday",
            "ISO weekday",
        ),
        (
            _cell("opening_hours.csv", 3, "weekday", "1"),
            "opening_hours.csv",
            3,
            "weekday",
            "already",
        ),
        (_cell("agents.csv", 4, "agent", "A001"), "agents.csv", 4, "agent", "twice"),
        (_cell("agents.csv", 4, "skills", ""), "agents.csv", 4, "skills", "no skills"),
        (_cell("agents.csv", 4, "skills", "bank;bank"), "agents.csv", 4, "skills", "twice"),
        (
            _cell("agents.csv", 5, "min_hours_week", "45"),
            "agents.csv",
            5,
            "min_hours_week",
            "exceeds",
        ),
        (
            _cell("agents.csv", 5, "max_days_week", "8"),
            "agents.csv",
            5,
            "max_days_week",
            "outside 1..7",
        ),
        (
            _cell("agents.csv", 5, "earliest_start", "8am"),
            "agents.csv",
            5,
            "earliest_start",
            "time of day",
        ),
        (
            _cell("agents.csv", 5, "days_off", "2026-04-31"),
            "agents.csv",
            5,
            "days_off",
            "ISO date",
        ),
        (
            _cell("agents.csv", 5, "hourly_cost_eur", ""),
            "agents.csv",
            5,
            "hourly_cost_eur",
            "empty",
        ),
        (_cell("events.csv", 2, "kind", "party"), "events.csv", 2, "kind", "'party'"),
        (_cell("events.csv", 2, "project", "bnak"), "events.csv", 2, "project", "'bnak'"),
        (_cell("events.csv", 2, "date", "17.02.2026"), "events.csv", 2, "date", "ISO date"),
    ],
)
def test_bad_cell(
    copy: Path, mutate: Mutation, file: str, line: int, column: str, fragment: str
) -> None:
    mutate(copy)
    with pytest.raises(InputError) as info:
        load_site_data(copy)
    _check(info.value, file, line, column)
    assert fragment in str(info.value)


def test_ragged_line(copy: Path) -> None:
    rows = _rows(copy / "agents.csv")
    rows[9].append("extra")
    _write_rows(copy / "agents.csv", rows)
    with pytest.raises(InputError, match=r"^agents\.csv line 10: 12 cells, but the header"):
        load_site_data(copy)


def test_missing_projects_file(copy: Path) -> None:
    (copy / "projects.csv").unlink()
    with pytest.raises(InputError, match=r"projects\.csv: file not found"):
        load_site_data(copy)


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"tz": "Europe/Berlinn"}, "tz", "unknown time zone"),
        ({"name": ""}, "name", "non-empty string"),
        ({"country": "XX"}, "country", "holiday calendar"),
    ],
)
def test_bad_site_json(copy: Path, change: dict[str, str], field: str, fragment: str) -> None:
    path = copy / "site.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc.update(change)
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_site(copy)
    assert str(info.value).startswith(f"site.json, field {field!r}: ")
    assert fragment in str(info.value)
    assert info.value.field == field


def test_site_json_syntax_error(copy: Path) -> None:
    (copy / "site.json").write_text('{\n  "name": "x",\n  tz: 1\n}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"^site\.json line 3: not valid JSON"):
        load_site(copy)


def test_events_alone(samples: Path) -> None:
    events = load_events(samples / "events.csv")
    assert set(events["kind"]) <= {"holiday", "closure", "campaign", "outage", "incident"}
    assert events["uplift"].dtype == "float64"


def test_input_error_is_value_error(copy: Path) -> None:
    _set_cell(copy / "projects.csv", 4, "sl_target", "1.2")
    with pytest.raises(ValueError, match="sl_target"):
        load_projects(copy)
