"""Load a site folder (``site.json``, ``projects.csv``, ``kpi_table.csv``,
``opening_hours.csv``, ``agents.csv``, ``events.csv``) into the domain's value objects.

The folder format is the one ``wfm samples`` writes (see ``data/samples/README.md``). Every
problem raises :class:`~wfm.errors.InputError` naming the file, the CSV line (the header is
line 1) and the column, e.g. ``projects.csv line 4, column 'sl_target': 1.2 is outside (0, 1)``;
``field`` is the column and ``row`` the line number. Errors the domain objects raise on
construction are re-raised with that file/line context.

Optional files: without ``kpi_table.csv`` no contract has a KPI table; without
``opening_hours.csv`` (or without rows for a project) a project is open 24/7; without
``events.csv`` the events frame is empty. ``history.csv`` is not read here (it is a frame,
checked by ``wfm.contracts`` where it enters a stage).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import types
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import holidays
import pandas as pd

from wfm.domain import (
    Agent,
    BillingModel,
    Contract,
    KpiCoefficient,
    OpeningHours,
    OutboundTarget,
    Project,
    ProjectKind,
    ServiceTarget,
    Site,
)
from wfm.errors import InputError
from wfm.grid import check_tz

__all__ = [
    "AGENT_COLUMNS",
    "EVENT_COLUMNS",
    "EVENT_KINDS",
    "KPI_COLUMNS",
    "OPENING_COLUMNS",
    "PROJECT_COLUMNS",
    "SiteData",
    "load_agents",
    "load_events",
    "load_projects",
    "load_site",
    "load_site_data",
    "site_tz",
]

PROJECT_COLUMNS = (
    "project",
    "name",
    "kind",
    "sl_target",
    "answer_within_s",
    "max_abandon_rate",
    "patience_s",
    "concurrency",
    "billing",
    "rate_eur",
    "bonus_eur_per_point",
    "penalty_eur_per_point",
    "penalty_cap_eur",
    "contacts_per_week",
    "dials_per_contact",
    "talk_s",
    "wrap_s",
    "attempt_s",
)
KPI_COLUMNS = ("project", "sl_at_least", "coefficient")
OPENING_COLUMNS = ("project", "weekday", "open", "close")
AGENT_COLUMNS = (
    "agent",
    "skills",
    "min_hours_week",
    "max_hours_week",
    "max_days_week",
    "earliest_start",
    "latest_end",
    "days_off",
    "preferred_start",
    "grade",
    "hourly_cost_eur",
)
EVENT_COLUMNS = ("date", "project", "kind", "uplift", "note")
EVENT_KINDS = frozenset({"holiday", "closure", "campaign", "outage", "incident"})


def _empty_events() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in EVENT_COLUMNS})


@dataclass(frozen=True, slots=True)
class SiteData:
    """Everything static about a site: the site, its projects by id, its agents in file
    order, and its known events (``date`` as ``datetime.date``, ``project`` missing for
    events of all projects, ``uplift`` a volume multiplier or NaN)."""

    site: Site
    projects: Mapping[str, Project]
    agents: tuple[Agent, ...]
    events: pd.DataFrame = field(default_factory=_empty_events, compare=False, repr=False)


# --------------------------------------------------------------------------------------------
# CSV reading with line numbers
# --------------------------------------------------------------------------------------------


def _error(
    where: str,
    column: str | None,
    detail: str,
    *,
    line: int | None = None,
    expected: str | None = None,
) -> InputError:
    place = where if line is None else f"{where} line {line}"
    if column is not None:
        place = f"{place}, column {column!r}"
    return InputError(f"{place}: {detail}", field=column, row=line, expected=expected)


@dataclass(frozen=True, slots=True)
class _Row:
    """One data line of a CSV file: cells by column, stripped."""

    file: str
    line: int
    cells: Mapping[str, str]

    def error(self, column: str, detail: str, expected: str | None = None) -> InputError:
        return _error(self.file, column, detail, line=self.line, expected=expected)

    def text(self, column: str) -> str:
        return self.cells[column]

    def required(self, column: str, what: str) -> str:
        value = self.cells[column]
        if not value:
            raise self.error(column, f"empty, expected {what}", what)
        return value

    def number(self, column: str, *, default: float | None = None) -> float:
        value = self.optional_number(column)
        if value is None:
            if default is None:
                raise self.error(column, "empty, expected a number", "a number")
            return default
        return value

    def optional_number(self, column: str) -> float | None:
        raw = self.cells[column]
        if not raw:
            return None
        try:
            value = float(raw)
        except ValueError:
            raise self.error(column, f"{raw!r} is not a number", "a number") from None
        if not math.isfinite(value):
            raise self.error(column, f"{raw!r} is not a finite number", "a finite number")
        return value

    def integer(self, column: str, *, default: int | None = None) -> int:
        raw = self.cells[column]
        if not raw:
            if default is None:
                raise self.error(column, "empty, expected an integer", "an integer")
            return default
        try:
            return int(raw)
        except ValueError:
            raise self.error(column, f"{raw!r} is not an integer", "an integer") from None

    def time(self, column: str) -> dt.time | None:
        raw = self.cells[column]
        if not raw:
            return None
        return _parse_time(raw, self, column)

    def dates(self, column: str) -> frozenset[dt.date]:
        out: set[dt.date] = set()
        for part in self.cells[column].split(";"):
            part = part.strip()
            if not part:
                continue
            try:
                out.add(dt.date.fromisoformat(part))
            except ValueError:
                raise self.error(
                    column, f"{part!r} is not an ISO date", "YYYY-MM-DD, ';'-separated"
                ) from None
        return frozenset(out)


def _parse_time(raw: str, row: _Row, column: str) -> dt.time:
    """``HH:MM`` local time; ``24:00`` is accepted as midnight (``00:00``)."""
    if raw == "24:00":
        return dt.time(0, 0)
    parts = raw.split(":")
    if len(parts) == 2 and all(p.isdigit() and len(p) == 2 for p in parts):
        hour, minute = int(parts[0]), int(parts[1])
        if hour < 24 and minute < 60:
            return dt.time(hour, minute)
    raise row.error(column, f"{raw!r} is not a time of day", "HH:MM, 00:00 to 23:59")


def _read_csv(path: Path, columns: Sequence[str]) -> list[_Row]:
    """The data lines of ``path``; every name in ``columns`` must be in the header (extra
    columns are ignored)."""
    name = path.name
    if not path.is_file():
        raise _error(str(path), None, "file not found", expected=f"a CSV file {name}")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise _error(name, None, "file is empty", line=1, expected="a header line") from None
        except csv.Error as exc:
            raise _error(name, None, f"not valid CSV ({exc})", line=reader.line_num) from None
        for column in columns:
            if column not in header:
                raise _error(
                    name,
                    column,
                    f"missing from the header ({','.join(header)})",
                    line=1,
                    expected=",".join(columns),
                )
        duplicated = sorted({h for h in header if header.count(h) > 1})
        if duplicated:
            raise _error(name, duplicated[0], "appears twice in the header", line=1)
        rows: list[_Row] = []
        try:
            for cells in reader:
                line = reader.line_num
                if not any(c.strip() for c in cells):
                    continue  # blank line
                if len(cells) != len(header):
                    raise _error(
                        name,
                        None,
                        f"{len(cells)} cells, but the header has {len(header)} columns",
                        line=line,
                        expected=f"{len(header)} comma-separated cells",
                    )
                values = {h: c.strip() for h, c in zip(header, cells, strict=True)}
                rows.append(_Row(file=name, line=line, cells=values))
        except csv.Error as exc:
            raise _error(name, None, f"not valid CSV ({exc})", line=reader.line_num) from None
    return rows


@contextmanager
def _domain_context(row: _Row, default_column: str) -> Iterator[None]:
    """Re-raise a domain ``InputError`` with the file, line and column of ``row``."""
    try:
        yield
    except InputError as exc:
        column = exc.field if exc.field is not None and exc.field in row.cells else default_column
        detail = str(exc)
        if exc.field and detail.startswith(f"{exc.field}: "):
            detail = detail[len(exc.field) + 2 :]
        raise row.error(column, detail, exc.expected) from exc


_E = TypeVar("_E", ProjectKind, BillingModel)


def _enum_value(row: _Row, column: str, enum: type[_E]) -> _E:
    raw = row.cells[column]
    allowed = ", ".join(m.value for m in enum)
    try:
        return enum(raw)
    except ValueError:
        raise row.error(column, f"{raw!r} is not one of {allowed}", allowed) from None


# --------------------------------------------------------------------------------------------
# site.json
# --------------------------------------------------------------------------------------------


def _json_text(doc: dict[str, Any], key: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InputError(
            f"site.json, field {key!r}: {value!r} is not a non-empty string",
            field=key,
            expected="a non-empty string",
        )
    return value.strip()


def site_tz(folder: Path, tz: str | None) -> str:
    """``tz`` if given (checked), else the ``tz`` of ``folder/site.json``; neither is an
    ``InputError`` naming ``tz``."""
    if tz is not None:
        check_tz(tz)
        return tz
    if not (Path(folder) / "site.json").is_file():
        raise InputError(
            f"tz: no --tz given and no site.json in {folder}",
            field="tz",
            expected="an IANA time zone, e.g. Europe/Berlin",
        )
    return load_site(folder).tz


def load_site(dir: Path) -> Site:
    """The site described by ``dir/site.json`` (``name``, ``tz``, ``country``, ``subdiv``)."""
    path = Path(dir) / "site.json"
    if not path.is_file():
        raise _error(str(path), None, "file not found", expected="a JSON file site.json")
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise _error("site.json", None, f"not valid JSON ({exc.msg})", line=exc.lineno) from None
    if not isinstance(doc, dict):
        raise _error("site.json", None, "expected a JSON object", expected="{...}")

    name, tz, country = _json_text(doc, "name"), _json_text(doc, "tz"), _json_text(doc, "country")
    subdiv = None if doc.get("subdiv") is None else _json_text(doc, "subdiv")
    try:
        site = Site(name=name, tz=tz, country=country, subdiv=subdiv)
    except InputError as exc:
        detail = str(exc)
        if exc.field and detail.startswith(f"{exc.field}: "):
            detail = detail[len(exc.field) + 2 :]
        raise InputError(
            f"site.json, field {exc.field!r}: {detail}", field=exc.field, expected=exc.expected
        ) from exc
    try:
        holidays.country_holidays(country, subdiv=subdiv)
    except NotImplementedError as exc:
        key = "country" if "country" in str(exc).lower() else "subdiv"
        raise InputError(
            f"site.json, field {key!r}: no public-holiday calendar for "
            f"country {country!r}, subdiv {subdiv!r}",
            field=key,
            expected="an ISO country code (and subdivision) the holidays package knows",
        ) from exc
    return site


# --------------------------------------------------------------------------------------------
# projects.csv, kpi_table.csv, opening_hours.csv
# --------------------------------------------------------------------------------------------


def _known_project(row: _Row, known: Collection[str]) -> str:
    project = row.required("project", "a project id")
    if project not in known:
        raise row.error(
            "project",
            f"unknown project {project!r} (projects.csv has {', '.join(sorted(known))})",
            "a project id from projects.csv",
        )
    return project


def _load_kpi_tables(path: Path, known: Collection[str]) -> dict[str, tuple[KpiCoefficient, ...]]:
    rows_by_project: dict[str, dict[float, KpiCoefficient]] = {}
    for row in _read_csv(path, KPI_COLUMNS):
        project = _known_project(row, known)
        sl = row.number("sl_at_least")
        if not 0.0 <= sl <= 1.0:
            raise row.error("sl_at_least", f"{sl:g} is outside [0, 1]", "a share in [0, 1]")
        coefficient = row.number("coefficient")
        if coefficient < 0.0:
            raise row.error("coefficient", f"{coefficient:g} is negative", ">= 0")
        table = rows_by_project.setdefault(project, {})
        if sl in table:
            raise row.error(
                "sl_at_least", f"project {project!r} already has a row for {sl:g}", "distinct"
            )
        table[sl] = KpiCoefficient(sl_at_least=sl, coefficient=coefficient)
    return {p: tuple(t[k] for k in sorted(t)) for p, t in rows_by_project.items()}


def _load_opening(path: Path, known: Collection[str]) -> dict[str, OpeningHours]:
    hours: dict[str, dict[int, tuple[dt.time, dt.time]]] = {}
    lines: dict[str, _Row] = {}
    for row in _read_csv(path, OPENING_COLUMNS):
        project = _known_project(row, known)
        weekday = row.integer("weekday")
        if not 1 <= weekday <= 7:
            raise row.error(
                "weekday", f"{weekday} is not an ISO weekday", "1 (Monday) … 7 (Sunday)"
            )
        opens = _parse_time(row.required("open", "HH:MM"), row, "open")
        closes = _parse_time(row.required("close", "HH:MM"), row, "close")
        days = hours.setdefault(project, {})
        if weekday in days:
            raise row.error(
                "weekday",
                f"project {project!r} already has opening hours for weekday {weekday}",
                "one row per project and weekday",
            )
        days[weekday] = (opens, closes)
        lines.setdefault(project, row)
    out: dict[str, OpeningHours] = {}
    for project, days in hours.items():
        with _domain_context(lines[project], "weekday"):
            out[project] = OpeningHours(days)
    return out


def _service_target(row: _Row, kind: ProjectKind) -> ServiceTarget | None:
    if kind is ProjectKind.OUTBOUND and not row.text("sl_target"):
        return None
    if not row.text("sl_target"):
        raise row.error(
            "sl_target", f"empty, but an {kind} project needs a service-level target", "e.g. 0.8"
        )
    sl = row.number("sl_target")
    within = row.number("answer_within_s")
    abandon = row.optional_number("max_abandon_rate")
    with _domain_context(row, "sl_target"):
        return ServiceTarget(sl_target=sl, answer_within_s=within, max_abandon_rate=abandon)


def _outbound_target(row: _Row, kind: ProjectKind) -> OutboundTarget | None:
    if kind is not ProjectKind.OUTBOUND and not row.text("contacts_per_week"):
        return None
    if not row.text("contacts_per_week"):
        raise row.error(
            "contacts_per_week",
            "empty, but an outbound project needs its weekly contact goal",
            "contacts per week",
        )
    values = {
        "contacts_per_week": row.number("contacts_per_week"),
        "dials_per_contact": row.number("dials_per_contact"),
        "talk_s": row.number("talk_s"),
        "wrap_s": row.number("wrap_s", default=15.0),
        "attempt_s": row.number("attempt_s", default=120.0),
    }
    with _domain_context(row, "contacts_per_week"):
        return OutboundTarget(**values)


def load_projects(dir: Path) -> dict[str, Project]:
    """Projects by id from ``projects.csv``, with their KPI tables (``kpi_table.csv``) and
    opening hours (``opening_hours.csv``), in file order."""
    dir = Path(dir)
    rows = _read_csv(dir / "projects.csv", PROJECT_COLUMNS)
    if not rows:
        raise _error("projects.csv", None, "no projects", line=2, expected="one row per project")
    seen: dict[str, int] = {}
    for row in rows:
        project = row.required("project", "a project id")
        if project in seen:
            raise row.error(
                "project", f"{project!r} is listed twice (first on line {seen[project]})", "ids"
            )
        seen[project] = row.line

    kpi_path = dir / "kpi_table.csv"
    kpi = _load_kpi_tables(kpi_path, seen) if kpi_path.is_file() else {}
    opening_path = dir / "opening_hours.csv"
    opening = _load_opening(opening_path, seen) if opening_path.is_file() else {}

    out: dict[str, Project] = {}
    for row in rows:
        project = row.text("project")
        kind = _enum_value(row, "kind", ProjectKind)
        billing = _enum_value(row, "billing", BillingModel)
        target = _service_target(row, kind)
        outbound = _outbound_target(row, kind)
        rate = row.number("rate_eur")
        bonus = row.number("bonus_eur_per_point", default=0.0)
        penalty = row.number("penalty_eur_per_point", default=0.0)
        cap = row.optional_number("penalty_cap_eur")
        for column, value in (
            ("bonus_eur_per_point", bonus),
            ("penalty_eur_per_point", penalty),
            ("penalty_cap_eur", cap),
        ):
            if value is not None and value < 0.0:
                raise row.error(column, f"{value:g} is negative", ">= 0")
        patience = row.optional_number("patience_s")
        concurrency = row.integer("concurrency", default=1)
        with _domain_context(row, "rate_eur"):
            contract = Contract(
                billing=billing,
                rate_eur=rate,
                kpi_table=kpi.get(project, ()),
                bonus_eur_per_point=bonus,
                penalty_eur_per_point=penalty,
                penalty_cap_eur=cap,
            )
        with _domain_context(row, "project"):
            out[project] = Project(
                project=project,
                name=row.text("name") or project,
                kind=kind,
                target=target,
                contract=contract,
                opening=opening.get(project),
                patience_s=patience,
                concurrency=concurrency,
                outbound=outbound,
            )
    return out


# --------------------------------------------------------------------------------------------
# agents.csv
# --------------------------------------------------------------------------------------------


def load_agents(path: Path, *, projects: Collection[str] | None = None) -> tuple[Agent, ...]:
    """Agents from ``agents.csv`` in file order; with ``projects``, every skill must name
    one of them."""
    seen: dict[str, int] = {}
    agents: list[Agent] = []
    for row in _read_csv(Path(path), AGENT_COLUMNS):
        agent = row.required("agent", "an agent id")
        if agent in seen:
            raise row.error(
                "agent", f"{agent!r} is listed twice (first on line {seen[agent]})", "unique ids"
            )
        seen[agent] = row.line
        skills = [s.strip() for s in row.text("skills").split(";") if s.strip()]
        if not skills:
            raise row.error(
                "skills",
                f"agent {agent}: no skills",
                "project ids, ';'-separated, e.g. bank;retail",
            )
        if projects is not None:
            for skill in skills:
                if skill not in projects:
                    raise row.error(
                        "skills",
                        f"agent {agent}: unknown project {skill!r} "
                        f"(projects.csv has {', '.join(sorted(projects))})",
                        "project ids from projects.csv",
                    )
        min_hours = row.number("min_hours_week")
        max_hours = row.number("max_hours_week")
        max_days = row.integer("max_days_week", default=5)
        earliest = row.time("earliest_start")
        latest = row.time("latest_end")
        preferred = row.time("preferred_start")
        days_off = row.dates("days_off")
        cost = row.number("hourly_cost_eur")
        if cost < 0.0:
            raise row.error("hourly_cost_eur", f"agent {agent}: {cost:g} is negative", ">= 0")
        with _domain_context(row, "agent"):
            agents.append(
                Agent(
                    agent=agent,
                    skills=Agent.skills_from(skills),
                    min_hours_week=min_hours,
                    max_hours_week=max_hours,
                    max_days_week=max_days,
                    earliest_start=earliest,
                    latest_end=latest,
                    days_off=days_off,
                    preferred_start=preferred,
                    grade=row.text("grade") or "standard",
                    hourly_cost_eur=cost,
                )
            )
    return tuple(agents)


# --------------------------------------------------------------------------------------------
# events.csv and the whole folder
# --------------------------------------------------------------------------------------------


def load_events(path: Path, *, projects: Collection[str] | None = None) -> pd.DataFrame:
    """Known events from ``events.csv``: columns ``date`` (``datetime.date``), ``project``
    (missing = all projects), ``kind`` (one of ``EVENT_KINDS``), ``uplift`` (float, NaN where
    not applicable) and ``note``."""
    records: dict[str, list[object]] = {c: [] for c in EVENT_COLUMNS}
    for row in _read_csv(Path(path), EVENT_COLUMNS):
        raw_date = row.required("date", "YYYY-MM-DD")
        try:
            day = dt.date.fromisoformat(raw_date)
        except ValueError:
            raise row.error("date", f"{raw_date!r} is not an ISO date", "YYYY-MM-DD") from None
        project = row.text("project") or None
        if project is not None and projects is not None and project not in projects:
            raise row.error(
                "project",
                f"unknown project {project!r} (projects.csv has {', '.join(sorted(projects))})",
                "a project id, or empty for all projects",
            )
        kind = row.text("kind")
        if kind not in EVENT_KINDS:
            allowed = ", ".join(sorted(EVENT_KINDS))
            raise row.error("kind", f"{kind!r} is not one of {allowed}", allowed)
        uplift = row.optional_number("uplift")
        if uplift is not None and uplift < 0.0:
            raise row.error("uplift", f"{uplift:g} is negative", "a multiplier >= 0")
        records["date"].append(day)
        records["project"].append(project)
        records["kind"].append(kind)
        records["uplift"].append(math.nan if uplift is None else uplift)
        records["note"].append(row.text("note"))
    if not records["date"]:
        return _empty_events()
    frame = pd.DataFrame(records)
    frame["uplift"] = frame["uplift"].astype("float64")
    return frame


def load_site_data(dir: Path) -> SiteData:
    """The whole site folder: site, projects, agents (skills checked against the projects)
    and events (empty when ``events.csv`` is absent)."""
    dir = Path(dir)
    site = load_site(dir)
    projects = load_projects(dir)
    agents = load_agents(dir / "agents.csv", projects=projects.keys())
    events_path = dir / "events.csv"
    events = (
        load_events(events_path, projects=projects.keys())
        if events_path.is_file()
        else _empty_events()
    )
    return SiteData(
        site=site, projects=types.MappingProxyType(projects), agents=agents, events=events
    )
