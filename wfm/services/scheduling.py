"""Scheduling services: the week's shifts from the requirements (``wfm schedule``).

Adapters (CLI, API, notebooks) call ``schedule_files`` or ``schedule_plan`` and get a typed
``ScheduleRun``; the engine underneath is ``scheduler.solve_week`` (OR-Tools CP-SAT). Every
solution is then checked by ``scheduler.validator.validate_schedule``, the independent
validator that shares no code with the model: its verdict and its recomputed coverage are
what the run reports.

Inputs
------
- requirements: ``project, ts, agents`` (the REQUIREMENTS frame of ``wfm.contracts``, but
  ``agents`` may be fractional and the other columns are optional). Shifts start in the
  planned week (local Monday 00:00 up to the next Monday 00:00); the rows of the week and of
  the ``max_shift_h`` after it (reached by Sunday-night shifts) are planned, others are left
  out with a note. ``ScheduleRun.coverage`` sums the week's intervals only. The interval
  length (15, 30 or 60 minutes) is read from the timestamps.
- agents: ``wfm.services.sitedata.load_agents`` (``agents.csv``: skills ``;``-separated,
  preferred first, contract hours, availability, days off, preferred start).
- rules: a TOML file (``wfm.services.rules.load_rules``), default ``ShiftRules()``. With a
  projects folder whose ``opening_hours.csv`` has rows for a project, those opening hours
  apply to it unless the rules file has an ``[opening.<project>]`` table of its own.
- projects: a site folder with ``projects.csv`` (``load_projects``), by default the agents
  file's folder when it has one. With it, every project of the requirements and every skill
  must be a project of the folder.
- previous: a schedule frame (``agent, start, end, activity, project``): earlier weeks'
  shifts count for rest and consecutive days, and this week's rows are the prior plan (a
  hint; each changed agent-shift costs ``Weights.change_per_shift``). A ``pinned`` column
  (``true``/``1``/``yes``; ``false``/``0``/``no`` or empty) marks rows to keep exactly.
- pins: a schedule frame of rows to keep exactly (whole shifts of this week), merged with
  the pinned rows of ``previous``.

Weights from the contracts
--------------------------
Unless weights are given, a known projects folder sets ``Weights.under_by_project``: each
project of the requirements costs ``w_p = max(1, 10 * e_p / mean(e))`` per agent-hour
under-covered, where ``e_p`` is its contract's ``penalty_eur_per_point`` and the mean runs
over the projects of the requirements (before the floor the mean weight is 10, the default
``Weights.under_per_agent_h``). A project whose SL penalty is twice the average is twice as
costly to leave short; one without a penalty still costs 1. When every penalty is 0 the
defaults stay.

Errors
------
Bad input raises ``InputError`` naming the file, the CSV line (header = line 1) and the
column (or the frame's row position for in-memory frames): a week that does not start on a
Monday, requirement rows of an unknown project or of one no agent holds, pins of unknown
agents or outside the week, a bad ``pinned`` value. Hard rules no schedule can keep raise
``InfeasibleError`` (from the engine, naming the agent and rule).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from scheduler import (
    RULES,
    Penalty,
    ScheduleSolution,
    SolveParams,
    StageReport,
    ValidationReport,
    Violation,
    Weights,
    solve_week,
    validate_schedule,
)
from wfm import contracts
from wfm.domain import Agent, Project, ShiftRules
from wfm.errors import InputError
from wfm.grid import INTERVAL_MINUTES, check_tz
from wfm.services._files import RowSource, csv_record_lines, iso_text, write_csv_atomic
from wfm.services.rules import load_rules
from wfm.services.sitedata import load_agents, load_projects, site_tz

__all__ = [
    "COVERAGE_COLUMNS",
    "REQUIREMENTS_IN",
    "RULES",
    "SCHEDULE_COLUMNS",
    "SCHEDULE_IN",
    "Penalty",
    "ScheduleProgress",
    "ScheduleRun",
    "ScheduleSolution",
    "SolveParams",
    "StageReport",
    "ValidationReport",
    "Violation",
    "Weights",
    "contract_weights",
    "schedule_files",
    "schedule_plan",
    "write_schedule_csv",
]

ScheduleProgress = Callable[[str, float], None]
"""``progress(label, fraction)``: what is running and how far the whole run is (0 … 1)."""

SCHEDULE_COLUMNS: tuple[str, ...] = ("agent", "start", "end", "activity", "project")
"""Columns of the schedule CSV ``write_schedule_csv`` writes."""

COVERAGE_COLUMNS: tuple[str, ...] = ("project", "required_h", "scheduled_h", "under_h", "over_h")
"""Columns of ``ScheduleRun.coverage``: agent-hours per project over the week."""

REQUIREMENTS_IN = contracts.FrameSchema(
    name="requirements",
    keys=("project", "ts"),
    columns=(
        contracts.Column("project", "str"),
        contracts.Column("ts", "ts"),
        contracts.Column("agents", "float", min_value=0.0),
        *(
            replace(c, required=False, nullable=True)
            for c in contracts.REQUIREMENTS.columns
            if c.name not in ("project", "ts", "agents")
        ),
    ),
)
"""The requirements the scheduler reads: ``project, ts, agents`` (``agents`` may be
fractional; the other REQUIREMENTS columns are optional)."""

SCHEDULE_IN = replace(
    contracts.SCHEDULE,
    columns=(
        *contracts.SCHEDULE.columns,
        contracts.Column("pinned", "str", required=False, nullable=True),
    ),
)
"""A previous plan or pins: the SCHEDULE frame plus an optional ``pinned`` flag column."""

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, eq=False)
class ScheduleRun:
    """One planned week.

    - ``solution``: the engine's answer (schedule frame, status, objective, bound, gap,
      under-coverage and its lower bound, penalties, stages, wall time, changed shifts);
    - ``validation``: the independent validator's verdict on ``solution.schedule`` (with
      the requirements and the earlier weeks of ``previous``): violations by rule and the
      recomputed coverage per project and interval (``project, ts, required, scheduled,
      under, over``);
    - ``coverage``: that coverage summed per project in agent-hours (``COVERAGE_COLUMNS``);
    - ``tz``, ``week`` (the Monday), ``interval_min``; the ``weights`` and ``params`` used;
    - ``notes``: what was left out or is worth a look; ``timings_s``: seconds per step."""

    solution: ScheduleSolution
    validation: ValidationReport
    coverage: pd.DataFrame
    tz: str
    week: dt.date
    interval_min: int
    weights: Weights
    params: SolveParams
    notes: tuple[str, ...] = ()
    timings_s: Mapping[str, float] = field(default_factory=dict)

    @property
    def schedule(self) -> pd.DataFrame:
        """The schedule frame (``solution.schedule``)."""
        return self.solution.schedule

    @property
    def span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The week: local Monday 00:00 and the next Monday 00:00 (tz-aware). Shifts start
        inside it; Sunday-night shifts may end after it."""
        return _week_span(self.week, self.tz)

    @property
    def shifts(self) -> int:
        """How many shifts the schedule has (an agent's maximal runs of touching segments)."""
        s = self.schedule
        s = s[s["activity"].astype(str) != "off"].sort_values(["agent", "start"], kind="stable")
        if s.empty:
            return 0
        same_agent = s["agent"].eq(s["agent"].shift())
        touching = s["start"].le(s["end"].shift())
        return int((~(same_agent & touching)).sum())


# --------------------------------------------------------------------------------------------
# small checks


def _check_week(week: dt.date) -> dt.date:
    if not isinstance(week, dt.date) or isinstance(week, dt.datetime):
        raise InputError(
            f"week: {week!r} is not a date", field="week", expected="a date (the Monday)"
        )
    if week.weekday() != 0:
        monday = week - dt.timedelta(days=week.weekday())
        raise InputError(
            f"week: {week.isoformat()} is a {_WEEKDAYS[week.weekday()]}; expected the Monday "
            f"of the week to plan (that week's is {monday.isoformat()})",
            field="week",
            expected="a Monday, YYYY-MM-DD",
        )
    return week


def _midnight(day: dt.date, tz: str) -> pd.Timestamp:
    naive = pd.Timestamp(dt.datetime.combine(day, dt.time()))
    return naive.tz_localize(tz, ambiguous=False, nonexistent="shift_forward")


def _week_span(week: dt.date, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Local Monday 00:00 of ``week`` and of the week after, tz-aware."""
    return _midnight(week, tz), _midnight(week + dt.timedelta(days=7), tz)


def _interval_min(req: pd.DataFrame, src: RowSource) -> int:
    """The requirements' interval length: the longest of 60, 30 and 15 minutes dividing every
    step between one project's rows (the rule of the engine and the validator)."""
    gcd = 0
    for _, group in req.groupby("project", sort=True):
        seconds = np.unique(pd.DatetimeIndex(group["ts"]).as_unit("s").asi8)
        for step in np.unique(np.diff(seconds)):
            gcd = math.gcd(gcd, int(step) // 60)
    if gcd == 0:
        raise InputError(
            f"{src.name}: cannot tell the interval length from one row per project",
            field="ts",
            expected="at least two intervals of one project",
        )
    for minutes in sorted(INTERVAL_MINUTES, reverse=True):
        if gcd % minutes == 0:
            return minutes
    raise InputError(
        f"{src.name}: interval starts are {gcd} minutes apart; expected a 15, 30 or 60-minute grid",
        field="ts",
        expected="15, 30 or 60-minute intervals",
    )


def _check_agents(
    agents: Sequence[Agent], projects: Mapping[str, Project] | None
) -> tuple[Agent, ...]:
    staff = tuple(agents)
    if not staff:
        raise InputError("agents: no agents", field="agent", expected="at least one agent")
    seen: set[str] = set()
    for a in staff:
        if not isinstance(a, Agent):
            raise InputError(
                f"agents: {a!r} is not an Agent", field="agents", expected="wfm.domain.Agent"
            )
        if a.agent in seen:
            raise InputError(
                f"agents: {a.agent!r} is listed twice",
                field="agent",
                row=a.agent,
                expected="unique ids",
            )
        seen.add(a.agent)
        if projects is not None:
            unknown = [p for p in a.projects if p not in projects]
            if unknown:
                raise InputError(
                    f"agents: agent {a.agent}: unknown project {unknown[0]!r} "
                    f"(the projects are {', '.join(sorted(projects))})",
                    field="skills",
                    row=a.agent,
                    expected="projects of the projects folder",
                )
    return staff


def _week_requirements(
    req: pd.DataFrame,
    src: RowSource,
    staff: Sequence[Agent],
    projects: Mapping[str, Project] | None,
    start: pd.Timestamp,
    end: pd.Timestamp,
    horizon: pd.Timestamp,
    week: dt.date,
) -> tuple[pd.DataFrame, int]:
    """The requirement rows from the week's start up to ``horizon`` (index: row positions in
    the source) and the number of rows left out."""
    if req.empty:
        raise InputError(f"{src.name}: no rows", field="project", expected="requirement rows")
    project = req["project"].astype(str)
    if projects is not None:
        unknown = ~project.isin(list(projects)).to_numpy()
        if unknown.any():
            pos = int(np.argmax(unknown))
            raise src.error(
                pos,
                "project",
                f"{project.iloc[pos]!r} is not in projects.csv",
                "one of " + ", ".join(sorted(projects)),
            )
    held = {p for a in staff for p in a.projects}
    orphan = ~project.isin(list(held)).to_numpy()
    if orphan.any():
        pos = int(np.argmax(orphan))
        raise src.error(
            pos,
            "project",
            f"no agent holds project {project.iloc[pos]!r} (the agents hold "
            f"{', '.join(sorted(held))})",
            "a project at least one agent has as a skill",
        )
    in_week = ((req["ts"] >= start) & (req["ts"] < end)).to_numpy()
    if not in_week.any():
        first, last = req["ts"].min(), req["ts"].max()
        raise InputError(
            f"{src.name}: no rows in the week of {week.isoformat()} (rows run from "
            f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M})",
            field="ts",
            expected=f"requirement rows between {week.isoformat()} and "
            f"{(week + dt.timedelta(days=6)).isoformat()}",
        )
    kept = ((req["ts"] >= start) & (req["ts"] < horizon)).to_numpy()
    return req[kept], int((~kept).sum())


def _pinned_flags(frame: pd.DataFrame, src: RowSource) -> npt.NDArray[np.bool_]:
    """The ``pinned`` column as booleans (all false when absent)."""
    if "pinned" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    flags = np.zeros(len(frame), dtype=bool)
    for pos, value in enumerate(frame["pinned"]):
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            continue
        text = str(value).strip().lower()
        if text in _TRUE:
            flags[pos] = True
        elif text not in _FALSE and text:
            raise src.error(
                pos, "pinned", f"{value!r} is not a flag", "true/1/yes, false/0/no or empty"
            )
    return flags


def _pins(
    previous: pd.DataFrame | None,
    previous_src: RowSource,
    pins: pd.DataFrame | None,
    pins_src: RowSource,
    staff: Sequence[Agent],
    start: pd.Timestamp,
    horizon: pd.Timestamp,
) -> pd.DataFrame | None:
    """The rows to keep: the pinned rows of ``previous`` and every row of ``pins``, each of a
    known agent and between the week's start and ``horizon``; ``None`` when there are none."""
    names = {a.agent for a in staff}
    parts: list[pd.DataFrame] = []
    for frame, src, take in (
        (previous, previous_src, "flag"),
        (pins, pins_src, "all"),
    ):
        if frame is None:
            continue
        keep = _pinned_flags(frame, src) if take == "flag" else np.ones(len(frame), dtype=bool)
        for found in np.flatnonzero(keep):
            pos = int(found)
            agent = str(frame["agent"].iloc[pos])
            if agent not in names:
                raise src.error(
                    pos, "agent", f"pinned agent {agent!r} is not in the agents", "a known agent"
                )
            if frame["start"].iloc[pos] < start or frame["end"].iloc[pos] > horizon:
                raise src.error(
                    pos,
                    "start",
                    f"the pinned segment {frame['start'].iloc[pos]:%Y-%m-%d %H:%M}–"
                    f"{frame['end'].iloc[pos]:%Y-%m-%d %H:%M} is not inside the planned week",
                    f"pins between {start:%Y-%m-%d %H:%M} and {horizon:%Y-%m-%d %H:%M}",
                )
        if keep.any():
            parts.append(frame.loc[keep, list(SCHEDULE_COLUMNS)])
    if not parts:
        return None
    merged = pd.concat(parts, ignore_index=True)
    merged = merged.drop_duplicates(subset=["agent", "start", "end"], keep="last")
    return merged.sort_values(["agent", "start"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# rules and weights from the projects


def _with_opening(rules: ShiftRules, projects: Mapping[str, Project] | None) -> ShiftRules:
    """``rules`` with the projects' opening hours for every project the rules leave unset."""
    if projects is None:
        return rules
    extra = {
        name: p.opening
        for name, p in projects.items()
        if p.opening is not None and name not in rules.opening
    }
    if not extra:
        return rules
    return replace(rules, opening={**rules.opening, **extra})


def contract_weights(
    projects: Mapping[str, Project], among: Collection[str] | None = None
) -> Weights:
    """Default ``Weights`` with ``under_by_project`` set from the contracts: each project of
    ``among`` (default: all) costs ``max(1, 10 * e_p / mean(e))`` per agent-hour
    under-covered, ``e_p`` its ``penalty_eur_per_point`` (see the module docstring)."""
    base = Weights()
    names = [p for p in (projects if among is None else among) if p in projects]
    penalties = {p: float(projects[p].contract.penalty_eur_per_point) for p in names}
    if not penalties:
        return base
    mean = sum(penalties.values()) / len(penalties)
    if mean <= 0.0:
        return base
    under = {p: max(1.0, base.under_per_agent_h * e / mean) for p, e in sorted(penalties.items())}
    return replace(base, under_by_project=under)


# --------------------------------------------------------------------------------------------
# coverage


def _coverage(validation: ValidationReport, interval_min: int, end: pd.Timestamp) -> pd.DataFrame:
    """Agent-hours per project over the week's intervals (those starting before ``end``)."""
    cov = validation.coverage
    if cov is not None:
        cov = cov[cov["ts"] < end]
    if cov is None or cov.empty:
        return pd.DataFrame({c: pd.Series([], dtype=float) for c in COVERAGE_COLUMNS}).astype(
            {"project": object}
        )
    hours = interval_min / 60.0
    sums = cov.assign(project=cov["project"].astype(str)).groupby("project", sort=True)[
        ["required", "scheduled", "under", "over"]
    ]
    out = (sums.sum() * hours).reset_index()
    out.columns = pd.Index(list(COVERAGE_COLUMNS))
    return out


# --------------------------------------------------------------------------------------------
# the run


@dataclass(frozen=True)
class _Inputs:
    requirements: pd.DataFrame
    requirements_src: RowSource
    agents: tuple[Agent, ...]
    rules: ShiftRules
    projects: Mapping[str, Project] | None
    previous: pd.DataFrame | None
    previous_src: RowSource
    pins: pd.DataFrame | None
    pins_src: RowSource


def _run(
    inputs: _Inputs,
    *,
    tz: str,
    week: dt.date,
    weights: Weights | None,
    params: SolveParams | None,
    progress: ScheduleProgress | None,
    clock: float,
) -> ScheduleRun:
    start, end = _week_span(week, tz)
    horizon = end + pd.Timedelta(hours=inputs.rules.max_shift_h)
    staff = _check_agents(inputs.agents, inputs.projects)
    req, dropped = _week_requirements(
        inputs.requirements,
        inputs.requirements_src,
        staff,
        inputs.projects,
        start,
        end,
        horizon,
        week,
    )
    interval_min = _interval_min(req, inputs.requirements_src)
    rules = _with_opening(inputs.rules, inputs.projects)
    demanded = sorted(set(req["project"].astype(str)))
    if weights is None:
        weights = contract_weights(inputs.projects, demanded) if inputs.projects else Weights()
    params = params if params is not None else SolveParams()
    pins = _pins(
        inputs.previous,
        inputs.previous_src,
        inputs.pins,
        inputs.pins_src,
        staff,
        start,
        horizon,
    )
    previous = None if inputs.previous is None else inputs.previous[list(SCHEDULE_COLUMNS)]
    requirements = req[["project", "ts", "agents"]].reset_index(drop=True)
    all_notes: list[str] = []
    if dropped:
        all_notes.append(
            f"{dropped} requirement rows outside the week of {week.isoformat()} (and the "
            f"{inputs.rules.max_shift_h:g} h after it, for Sunday-night shifts) left out"
        )
    t_check = time.perf_counter()

    solution = solve_week(
        requirements,
        staff,
        rules,
        tz=tz,
        week=week,
        weights=weights,
        params=params,
        previous=None if previous is None else previous.reset_index(drop=True),
        pins=pins,
        progress=progress,
    )
    t_solve = time.perf_counter()
    if progress is not None:
        progress("validating the schedule", 1.0)
    earlier = None if previous is None else previous[previous["start"] < start]
    validation = validate_schedule(
        solution.schedule,
        staff,
        rules,
        tz=tz,
        requirements=requirements,
        previous=None if earlier is None or earlier.empty else earlier.reset_index(drop=True),
        interval_min=interval_min,
    )
    coverage = _coverage(validation, interval_min, end)
    if abs(validation.under_h - solution.under_h) > 1e-6 * max(1.0, validation.under_h):
        all_notes.append(
            f"the solver counts {solution.under_h:.2f} agent-hours under-covered, the "
            f"validator {validation.under_h:.2f}"
        )
    all_notes += solution.notes
    t_done = time.perf_counter()
    return ScheduleRun(
        solution=solution,
        validation=validation,
        coverage=coverage,
        tz=tz,
        week=week,
        interval_min=interval_min,
        weights=weights,
        params=params,
        notes=tuple(all_notes),
        timings_s={
            "check": t_check - clock,
            "solve": t_solve - t_check,
            "validate": t_done - t_solve,
            "total": t_done - clock,
        },
    )


def schedule_plan(
    requirements: pd.DataFrame,
    agents: Sequence[Agent],
    rules: ShiftRules | None = None,
    *,
    tz: str,
    week: dt.date,
    projects: Mapping[str, Project] | None = None,
    weights: Weights | None = None,
    params: SolveParams | None = None,
    previous: pd.DataFrame | None = None,
    pins: pd.DataFrame | None = None,
    progress: ScheduleProgress | None = None,
) -> ScheduleRun:
    """Plan the week starting on the Monday ``week`` from frames and domain objects:
    ``requirements`` (``project, ts, agents``), the agents, the shift rules (default
    ``ShiftRules()``), optionally the projects by id (opening hours, contract weights and a
    check of the project ids), ``previous`` and ``pins`` schedule frames (see the module
    docstring). Errors name the frame's row (0-based position). See ``schedule_files``."""
    clock = time.perf_counter()
    check_tz(tz)
    _check_week(week)
    if rules is None:
        rules = ShiftRules()
    if not isinstance(rules, ShiftRules):
        raise InputError("rules: not a ShiftRules", field="rules", expected="ShiftRules")
    req = contracts.validate(requirements, REQUIREMENTS_IN, tz=tz).reset_index(drop=True)
    prev = (
        None
        if previous is None
        else contracts.validate(previous, replace(SCHEDULE_IN, name="previous"), tz=tz).reset_index(
            drop=True
        )
    )
    pin = (
        None
        if pins is None
        else contracts.validate(pins, replace(SCHEDULE_IN, name="pins"), tz=tz).reset_index(
            drop=True
        )
    )
    inputs = _Inputs(
        requirements=req,
        requirements_src=RowSource("requirements"),
        agents=tuple(agents),
        rules=rules,
        projects=projects,
        previous=prev,
        previous_src=RowSource("previous"),
        pins=pin,
        pins_src=RowSource("pins"),
    )
    return _run(
        inputs, tz=tz, week=week, weights=weights, params=params, progress=progress, clock=clock
    )


def _read(path: Path, schema: contracts.FrameSchema, tz: str) -> tuple[pd.DataFrame, RowSource]:
    frame = contracts.read_frame_csv(path, replace(schema, name=path.name), tz=tz)
    frame = frame.reset_index(drop=True)
    return frame, RowSource(path.name, csv_record_lines(path, len(frame)))


def _read_optional(path: Path | None, tz: str) -> tuple[pd.DataFrame | None, RowSource]:
    if path is None:
        return None, RowSource("")
    return _read(Path(path), SCHEDULE_IN, tz)


def schedule_files(
    requirements: Path,
    agents: Path,
    *,
    week: dt.date,
    rules: Path | None = None,
    previous: Path | None = None,
    pin: Path | None = None,
    projects: Path | None = None,
    tz: str | None = None,
    weights: Weights | None = None,
    params: SolveParams | None = None,
    progress: ScheduleProgress | None = None,
) -> ScheduleRun:
    """Plan the week starting on the Monday ``week`` from files:

    - ``requirements`` CSV: ``project, ts, agents`` (``wfm staffing``'s requirements work);
    - ``agents`` CSV: the columns of ``data/samples/agents.csv`` (``load_agents``);
    - ``rules``: TOML (``load_rules``; default ``ShiftRules()``);
    - ``projects``: a site folder with ``projects.csv`` (default: the agents file's folder
      when it has one) for opening hours, contract weights and project checks;
    - ``previous``/``pin``: schedule CSVs (``agent, start, end, activity, project``;
      ``previous`` may have a ``pinned`` column).

    The time zone is ``tz`` or that of ``site.json`` beside the agents file. Nothing is
    written: see ``write_schedule_csv``."""
    clock = time.perf_counter()
    _check_week(week)
    if progress is not None:
        progress("reading the inputs", 0.0)
    agents_path = Path(agents)
    folder = agents_path.parent
    zone = site_tz(folder, tz)
    if projects is not None:
        project_map: Mapping[str, Project] | None = load_projects(Path(projects))
    elif (folder / "projects.csv").is_file():
        project_map = load_projects(folder)
    else:
        project_map = None
    staff = load_agents(agents_path, projects=None if project_map is None else project_map.keys())
    if not staff:
        raise InputError(
            f"{agents_path.name} line 2: no agents", field="agent", expected="one row per agent"
        )
    shift_rules = load_rules(Path(rules)) if rules is not None else ShiftRules()
    req, req_src = _read(Path(requirements), REQUIREMENTS_IN, zone)
    prev, prev_src = _read_optional(previous, zone)
    pins, pins_src = _read_optional(pin, zone)
    inputs = _Inputs(
        requirements=req,
        requirements_src=req_src,
        agents=staff,
        rules=shift_rules,
        projects=project_map,
        previous=prev,
        previous_src=prev_src,
        pins=pins,
        pins_src=pins_src,
    )
    return _run(
        inputs, tz=zone, week=week, weights=weights, params=params, progress=progress, clock=clock
    )


def write_schedule_csv(run: ScheduleRun, path: Path) -> Path:
    """Write the run's schedule as CSV (``SCHEDULE_COLUMNS``; ``start``/``end`` ISO-8601
    with their offset, an empty project on lunch and breaks), sorted by agent and start,
    atomically (see ``write_csv_atomic``). ``wfm simulate`` and the validator read it back."""
    frame = run.schedule[list(SCHEDULE_COLUMNS)].sort_values(["agent", "start"], kind="stable")
    out = frame.reset_index(drop=True).copy()
    out["start"] = iso_text(out["start"].dt.tz_convert(run.tz))
    out["end"] = iso_text(out["end"].dt.tz_convert(run.tz))
    return write_csv_atomic(out, Path(path), expected="a writable path for the schedule CSV")
