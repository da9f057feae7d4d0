"""Simulation services: does a schedule meet every project's service target? (``wfm simulate``)

Adapters (CLI, API, notebooks) call these and get typed results; the engine underneath is
``wfm.sim`` (the bundled ACD simulator: Poisson arrivals per project and interval, skills-based
routing over the agents' work segments, seeded replications with 95 % confidence intervals).

What is simulated: inbound calls and chats. Projects without a service target (outbound
campaigns: empty ``sl_target`` and ``answer_within_s``) are left out with a note, as are their
demand rows and the work segments planned on them (those agents are dialling). Chat
concurrency is simulated as ``wfm.staffing`` plans it: an agent on a chat project with
concurrency c handles up to c chats at once, each for the demand's ``aht_s`` (the handle time
of one conversation).

Before the engine runs, the inputs are checked against each other, and every problem raises
``InputError`` naming the file, the CSV line (header = line 1) and the column: demand rows of
unknown projects or off the interval grid, schedule rows of unknown agents, work segments on a
project the agent does not hold, overlapping work segments of one agent. A break, lunch or
training inside a work segment is fine: the engine takes it out of the work time.

The per-project summary (``SimulationReport.summary``) combines the engine's per-day results:
the service level is the offered-weighted mean of the days, and its 95 % interval treats the
days as independent strata (they are, within a replication, when the queue empties overnight;
for a single day it is exactly the engine's interval across replications).

The replications can be split into chunks that run anywhere (``simulate_chunk``: replications
``first`` … ``first + count - 1``, raw statistics only) and be combined (``combine_chunks``)
into the report ``simulate_plan`` gives with the same inputs, bit for bit: replication r always
draws from the r-th child of the seed's ``SeedSequence``, and the frames are built from the
chunks' statistics concatenated in replication order (see ``wfm.sim``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from wfm import contracts
from wfm.errors import InputError
from wfm.grid import Grid, check_tz
from wfm.services._files import RowSource, csv_record_lines, iso_text, write_csv_atomic
from wfm.services.sitedata import _read_csv, site_tz
from wfm.sim import (
    SimChunk,
    SimProject,
    SimResult,
    combine_replications,
    simulate,
    simulate_replications,
)

__all__ = [
    "AGENTS_COLUMNS",
    "HANDLE_DISTS",
    "PROJECTS_COLUMNS",
    "SUMMARY_COLUMNS",
    "HandleDist",
    "Progress",
    "SimChunk",
    "SimProjects",
    "SimulationReport",
    "combine_chunks",
    "load_sim_agents",
    "load_sim_projects",
    "simulate_chunk",
    "simulate_files",
    "simulate_plan",
    "write_kpis_csv",
]

HandleDist = Literal["exponential", "lognormal"]
HANDLE_DISTS: tuple[HandleDist, ...] = ("exponential", "lognormal")

AGENTS_COLUMNS: tuple[str, ...] = ("agent", "skills")
"""Columns the agents CSV must have (others, e.g. those of ``agents.csv``, are ignored)."""
PROJECTS_COLUMNS: tuple[str, ...] = ("project", "sl_target", "answer_within_s", "patience_s")
"""Columns the projects CSV must have; ``kind`` and ``concurrency`` are read when present."""

SUMMARY_COLUMNS: tuple[str, ...] = (
    "project",
    "sl_target",
    "answer_within_s",
    "offered",
    "sl",
    "sl_lo",
    "sl_hi",
    "meets_target_at_lo",
    "meets_target_at_mean",
    "abandon_rate",
    "asa_s",
    "occupancy",
)
"""Columns of ``SimulationReport.summary``, one row per project with demand."""

Progress = Callable[[int, int, str], None]
"""``progress(done, total, label)``: ``done`` of ``total`` steps finished, ``label`` says what
is running."""

_STEPS = 4


@dataclass(frozen=True)
class SimProjects:
    """The projects file as the simulator sees it: the simulated (inbound and chat) projects,
    the skipped ones with the reason, and each project's chat concurrency where above 1."""

    projects: Mapping[str, SimProject]
    skipped: Mapping[str, str] = field(default_factory=dict)
    concurrency: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SimulationReport:
    """A simulated plan.

    ``result`` is the engine's ``SimResult`` restricted to the projects with demand (its
    ``kpis`` are what ``simulate_files`` writes: the KPIS contract of ``wfm.contracts`` plus
    ``queue_len``). ``summary`` has one row per project (``SUMMARY_COLUMNS``): the target
    (``sl_target`` within ``answer_within_s`` seconds), mean calls offered per replication,
    the service level with its 95 % interval (``sl_lo``, ``sl_hi``), whether the interval's
    lower bound meets the target (``meets_target_at_lo``: the plan passes with confidence)
    and whether the mean does (``meets_target_at_mean``), abandoned ÷ offered, the mean wait
    of answered calls and the occupancy of the agents holding the project (busy ÷ work-segment
    time; a chat at concurrency c keeps its agent 1/c busy). ``notes`` say what was left out
    or approximated."""

    result: SimResult
    summary: pd.DataFrame
    tz: str
    interval_min: int
    replications: int
    seed: int
    handle_dist: HandleDist
    short_abandon_s: float = 0.0
    rate_cv: float | str = 0.0
    notes: tuple[str, ...] = ()
    timings_s: Mapping[str, float] = field(default_factory=dict)
    out_path: Path | None = None

    @property
    def kpis(self) -> pd.DataFrame:
        """KPIs per project and interval (``result.kpis``)."""
        return self.result.kpis


# --------------------------------------------------------------------------------------------
# reading the files


def load_sim_projects(path: Path) -> SimProjects:
    """The projects CSV (``PROJECTS_COLUMNS``; ``data/samples/projects.csv`` works): rows with
    empty ``sl_target`` and ``answer_within_s`` (outbound campaigns) are skipped; empty
    ``patience_s`` means callers never abandon."""
    path = Path(path)
    rows = _read_csv(path, PROJECTS_COLUMNS)
    if not rows:
        raise InputError(
            f"{path.name} line 2: no projects", field="project", expected="one row per project"
        )
    simulated: dict[str, SimProject] = {}
    skipped: dict[str, str] = {}
    concurrency: dict[str, int] = {}
    seen: dict[str, int] = {}
    for row in rows:
        project = row.required("project", "a project id")
        if project in seen:
            raise row.error(
                "project", f"{project!r} is listed twice (first on line {seen[project]})", "ids"
            )
        seen[project] = row.line
        kind = row.cells.get("kind", "")
        target_given = bool(row.text("sl_target")), bool(row.text("answer_within_s"))
        if not any(target_given):
            skipped[project] = "an outbound campaign" if kind == "outbound" else "no service target"
            continue
        if not all(target_given):
            column = "sl_target" if not target_given[0] else "answer_within_s"
            raise row.error(
                column, "empty while the other column of the target is given", "a number"
            )
        sl_target = row.number("sl_target")
        if not 0.0 < sl_target < 1.0:
            raise row.error("sl_target", f"{sl_target:g} is outside (0, 1)", "a share, e.g. 0.8")
        within = row.number("answer_within_s")
        if within < 0.0:
            raise row.error("answer_within_s", f"{within:g} is negative", "seconds >= 0")
        patience = row.optional_number("patience_s")
        if patience is not None and patience <= 0.0:
            raise row.error("patience_s", f"{patience:g} is not positive", "seconds > 0, or empty")
        if "concurrency" in row.cells:
            n = row.integer("concurrency", default=1)
            if n < 1:
                raise row.error("concurrency", f"{n} is below 1", "an integer >= 1")
            if n > 1:
                concurrency[project] = n
        simulated[project] = SimProject(
            project=project, answer_within_s=within, patience_s=patience, sl_target=sl_target
        )
    if not simulated:
        raise InputError(
            f"{path.name}: no project has a service target (sl_target, answer_within_s); "
            "the simulator checks inbound calls and chats only",
            field="sl_target",
            expected="at least one inbound or chat project",
        )
    return SimProjects(projects=simulated, skipped=skipped, concurrency=concurrency)


def load_sim_agents(path: Path, *, projects: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Agent → skills in priority order from the agents CSV (``agent``, ``skills``
    ``;``-separated; other columns ignored, so ``data/samples/agents.csv`` works). Every skill
    must be one of ``projects`` (all projects of the projects file, skipped ones included)."""
    path = Path(path)
    out: dict[str, tuple[str, ...]] = {}
    seen: dict[str, int] = {}
    for row in _read_csv(path, AGENTS_COLUMNS):
        agent = row.required("agent", "an agent id")
        if agent in seen:
            raise row.error(
                "agent", f"{agent!r} is listed twice (first on line {seen[agent]})", "unique ids"
            )
        seen[agent] = row.line
        skills = [s.strip() for s in row.text("skills").split(";") if s.strip()]
        if not skills:
            raise row.error(
                "skills", f"agent {agent}: no skills", "project ids, ';'-separated, e.g. a;b"
            )
        for skill in skills:
            if skill not in projects:
                raise row.error(
                    "skills",
                    f"agent {agent}: unknown project {skill!r} "
                    f"(the projects file has {', '.join(sorted(projects))})",
                    "project ids of the projects file",
                )
            if skills.count(skill) > 1:
                raise row.error(
                    "skills", f"agent {agent}: {skill!r} is listed twice", "distinct project ids"
                )
        out[agent] = tuple(skills)
    if not out:
        raise InputError(
            f"{path.name} line 2: no agents", field="agent", expected="one row per agent"
        )
    return out


def _read(path: Path, schema: contracts.FrameSchema, tz: str) -> tuple[pd.DataFrame, RowSource]:
    path = Path(path)
    frame = contracts.read_frame_csv(path, replace(schema, name=path.name), tz=tz)
    frame = frame.reset_index(drop=True)
    return frame, RowSource(path.name, csv_record_lines(path, len(frame)))


# --------------------------------------------------------------------------------------------
# checking the plan


@dataclass(frozen=True)
class _Plan:
    demand: pd.DataFrame
    schedule: pd.DataFrame
    agents: dict[str, tuple[str, ...]]
    interval_min: int
    notes: tuple[str, ...]


def _interval_min(demand: pd.DataFrame, src: RowSource, tz: str) -> int:
    """The demand's interval length: the smallest step between one project's rows, the same
    for every project, 15, 30 or 60 minutes (``demand``'s index: the rows' positions in the
    source)."""
    steps: dict[str, float] = {}
    for project, group in demand.groupby("project", sort=True):
        diffs = group["ts"].sort_values().diff().dt.total_seconds()
        diffs = diffs[diffs > 0]
        if len(diffs):
            steps[str(project)] = float(diffs.min()) / 60.0
    if not steps:
        raise InputError(
            f"{src.name}: cannot tell the interval length from one row per project",
            field="ts",
            expected="at least two intervals of one project",
        )
    minutes = min(steps.values())
    if minutes not in (15.0, 30.0, 60.0):
        off = ~Grid(tz=tz, interval_min=15).on_grid(pd.DatetimeIndex(demand["ts"]))
        if off.any():
            first = int(np.argmax(off))
            pos = int(demand.index[first])  # the row's position in the file
            raise src.error(
                pos,
                "ts",
                f"{demand['ts'].iloc[first].isoformat()} is not the start of a 15-, 30- or "
                "60-minute interval",
                "interval starts on a 15, 30 or 60-minute grid",
            )
        raise InputError(
            f"{src.name}: rows are {minutes:g} minutes apart; expected a 15, 30 or 60-minute grid",
            field="ts",
            expected="15, 30 or 60-minute intervals",
        )
    coarse = sorted(p for p, step in steps.items() if step != minutes)
    if coarse:
        raise InputError(
            f"{src.name}: project {coarse[0]!r} has rows {steps[coarse[0]]:g} minutes apart, "
            f"others {minutes:g}; expected one interval grid for all projects",
            field="ts",
            expected=f"{minutes:g}-minute intervals for every project",
        )
    return int(minutes)


def _check_demand(
    demand: pd.DataFrame, src: RowSource, projects: SimProjects, tz: str
) -> tuple[pd.DataFrame, int, dict[str, int]]:
    """The demand rows to simulate, the interval length, and the rows dropped per skipped
    project."""
    if demand.empty:
        raise InputError(f"{src.name}: no rows", field="project", expected="demand rows")
    project = demand["project"].astype(str)
    known = set(projects.projects) | set(projects.skipped)
    unknown = ~project.isin(known).to_numpy()
    if unknown.any():
        pos = int(np.argmax(unknown))
        raise src.error(
            pos,
            "project",
            f"{project.iloc[pos]!r} is not in the projects file",
            "one of " + ", ".join(sorted(known)),
        )
    dropped = project.isin(list(projects.skipped)).to_numpy()
    counts = {str(k): int(v) for k, v in project[dropped].value_counts().items()}
    keep = np.flatnonzero(~dropped)
    if keep.size == 0:
        raise InputError(
            f"{src.name}: no demand of an inbound or chat project "
            f"(only {', '.join(sorted(set(project)))})",
            field="project",
            expected="demand rows of projects with a service target",
        )
    kept = demand.iloc[keep]
    minutes = _interval_min(kept, src, tz)
    on_grid = Grid(tz=tz, interval_min=minutes).on_grid(pd.DatetimeIndex(kept["ts"]))
    if not on_grid.all():
        pos = int(keep[int(np.argmax(~on_grid))])
        raise src.error(
            pos,
            "ts",
            f"{demand['ts'].iloc[pos].isoformat()} is not the start of a {minutes}-minute interval",
            f"interval starts every {minutes} minutes",
        )
    return kept.reset_index(drop=True), minutes, counts


def _check_schedule(
    schedule: pd.DataFrame,
    src: RowSource,
    agents: Mapping[str, Sequence[str]],
    agents_name: str,
    projects: SimProjects,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """The schedule as the engine gets it (work segments on skipped projects dropped) and the
    agent-hours dropped per skipped project; errors for unknown agents, work segments of one
    agent that overlap, and work on a project the agent does not hold."""
    agent = schedule["agent"].astype(str)
    unknown = ~agent.isin(list(agents)).to_numpy()
    if unknown.any():
        pos = int(np.argmax(unknown))
        raise src.error(
            pos,
            "agent",
            f"{agent.iloc[pos]!r} is not in {agents_name}",
            f"an agent of {agents_name}",
        )
    starts = pd.DatetimeIndex(schedule["start"])
    ends = pd.DatetimeIndex(schedule["end"])
    # the loops compare nanoseconds and read plain lists (boxing timestamps row by row is slow)
    start_ns = starts.as_unit("ns").asi8.tolist()
    end_ns = ends.as_unit("ns").asi8.tolist()
    names = [str(a) for a in agent.tolist()]
    order = np.lexsort((np.asarray(starts.as_unit("ns").asi8), np.array(names, dtype=str)))
    work_rows = (schedule["activity"].astype(str) == "work").to_numpy()
    order = order[work_rows[order]]
    last: dict[str, int] = {}  # agent → position of the work segment ending last so far
    for pos in order.tolist():
        name = names[pos]
        before = last.get(name)
        if before is not None and start_ns[pos] < end_ns[before]:
            raise src.error(
                pos,
                "start",
                f"agent {name}'s {schedule['activity'].iloc[pos]} from "
                f"{starts[pos].isoformat()} overlaps its {schedule['activity'].iloc[before]} "
                f"until {ends[before].isoformat()} ({src.place(before)})",
                "segments of one agent that do not overlap",
            )
        if before is None or end_ns[pos] > end_ns[before]:
            last[name] = pos
    keep = np.ones(len(schedule), dtype=bool)
    is_work = (schedule["activity"].astype(str) == "work").to_numpy()
    project = schedule["project"]
    known = set(projects.projects) | set(projects.skipped)
    skipped_hours: dict[str, float] = {}
    project_at = project.tolist()
    for pos in np.flatnonzero(is_work & project.notna().to_numpy()).tolist():
        name, proj = names[pos], str(project_at[pos])
        if proj not in known:
            raise src.error(
                pos,
                "project",
                f"{proj!r} is not in the projects file",
                "a project of the projects file, or empty for any project the agent holds",
            )
        if proj not in agents[name]:
            raise src.error(
                pos,
                "project",
                f"agent {name} works on {proj!r} without the skill "
                f"({agents_name} gives {';'.join(agents[name])})",
                "a project the agent holds, or empty for any of them",
            )
        if proj in projects.skipped:
            keep[pos] = False
            hours = (end_ns[pos] - start_ns[pos]) / 1e9 / 3600.0
            skipped_hours[proj] = skipped_hours.get(proj, 0.0) + hours
    return schedule[keep].reset_index(drop=True), skipped_hours


def _sim_agents(
    agents: Mapping[str, Sequence[str]], projects: SimProjects
) -> dict[str, tuple[str, ...]]:
    """Skills restricted to the simulated projects (priority order kept)."""
    return {a: tuple(s for s in skills if s in projects.projects) for a, skills in agents.items()}


def _plan(
    demand: pd.DataFrame,
    demand_src: RowSource,
    schedule: pd.DataFrame,
    schedule_src: RowSource,
    agents: Mapping[str, Sequence[str]],
    agents_name: str,
    projects: SimProjects,
    tz: str,
) -> _Plan:
    kept, minutes, rows = _check_demand(demand, demand_src, projects, tz)
    sched, hours = _check_schedule(schedule, schedule_src, agents, agents_name, projects)
    notes: list[str] = []
    for name, why in sorted(projects.skipped.items()):
        left_out = [
            *([f"{rows[name]} demand rows"] if name in rows else []),
            *([f"{hours[name]:.1f} agent-hours of work on it"] if name in hours else []),
        ]
        notes.append(
            f"{name}: not simulated ({why}; the ACD simulates inbound calls and chats only)"
            + (f", {' and '.join(left_out)} left out" if left_out else "")
        )
    with_demand = set(kept["project"].astype(str))
    idle = sorted(set(projects.projects) - with_demand)
    if idle:
        notes.append(f"no demand rows for {', '.join(idle)} (not reported)")
    if not (sched["activity"].astype(str) == "work").any():
        notes.append("the schedule has no work segments: no call is answered")
    return _Plan(
        demand=kept,
        schedule=sched,
        agents=_sim_agents(agents, projects),
        interval_min=minutes,
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------------------------
# running and summarising


def _check_options(replications: int, seed: int, handle_dist: str) -> None:
    if seed < 0:
        raise InputError(f"seed: {seed} is negative", field="seed", expected="an integer >= 0")
    if replications < 2:
        raise InputError(
            f"replications: {replications}; at least 2 are needed for a confidence interval",
            field="replications",
            expected="an integer >= 2",
        )
    if handle_dist not in HANDLE_DISTS:
        raise InputError(
            f"handle_dist: {handle_dist!r} is unknown",
            field="handle_dist",
            expected=" or ".join(HANDLE_DISTS),
        )


def _strata(
    values: pd.Series, lo: pd.Series, hi: pd.Series, weights: pd.Series
) -> tuple[float, float]:
    """Weighted mean of per-day means and the half-width of its 95 % interval, the days
    independent (NaN half-width if a day has none)."""
    ok = (weights > 0) & values.notna()
    w = weights[ok] / weights[ok].sum()
    mean = float((w * values[ok]).sum())
    half = float(np.sqrt((((hi[ok] - lo[ok]) / 2.0 * w) ** 2).sum(min_count=1)))
    return mean, half


def _summary(
    result: SimResult,
    projects: Mapping[str, SimProject],
    agents: Mapping[str, Sequence[str]],
) -> pd.DataFrame:
    daily = result.daily
    avail = dict(zip(result.agents["agent"], result.agents["available_s"], strict=True))
    busy = dict(zip(result.agents["agent"], result.agents["busy_s"], strict=True))
    rows: list[dict[str, object]] = []
    for name in sorted(set(daily["project"].astype(str))):
        p = projects[name]
        target = float(p.sl_target) if p.sl_target is not None else math.nan
        days = daily[daily["project"] == name]
        offered = float(days["offered"].sum())
        answered = float(days["answered"].sum())
        if offered > 0.0:
            sl, half = _strata(days["sl"], days["sl_lo"], days["sl_hi"], days["offered"])
            sl_lo, sl_hi = max(sl - half, 0.0), min(sl + half, 1.0)
            abandon = float(days["abandoned"].sum()) / offered
        else:  # no calls: the target is met (the convention of wfm.staffing)
            sl, sl_lo, sl_hi, abandon = 1.0, 1.0, 1.0, 0.0
        if answered > 0.0:
            asa, _ = _strata(days["asa_s"], days["asa_s_lo"], days["asa_s_hi"], days["answered"])
        else:
            asa = 0.0 if offered == 0.0 else math.nan
        holders = [a for a, skills in agents.items() if name in skills]
        available = sum(float(avail[a]) for a in holders)
        occupancy = sum(float(busy[a]) for a in holders) / available if available else math.nan
        rows.append(
            {
                "project": name,
                "sl_target": target,
                "answer_within_s": float(p.answer_within_s),
                "offered": offered,
                "sl": sl,
                "sl_lo": sl_lo,
                "sl_hi": sl_hi,
                "meets_target_at_lo": bool(sl_lo >= target),
                "meets_target_at_mean": bool(sl >= target),
                "abandon_rate": abandon,
                "asa_s": asa,
                "occupancy": occupancy,
            }
        )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def _engine_projects(projects: SimProjects) -> dict[str, SimProject]:
    """The projects as the engine gets them: the projects file's concurrency (chat) goes with
    each project."""
    return {
        name: replace(p, concurrency=projects.concurrency.get(name, p.concurrency))
        for name, p in projects.projects.items()
    }


@dataclass(frozen=True)
class _Engine:
    """A checked plan as the engine gets it (the same for a whole simulation, a chunk and the
    combination of chunks)."""

    demand: pd.DataFrame
    schedule: pd.DataFrame
    agents: Mapping[str, Sequence[str]]
    projects: Mapping[str, SimProject]
    interval_min: int


def _engine(plan: _Plan, projects: SimProjects) -> _Engine:
    return _Engine(
        demand=plan.demand[["project", "ts", "calls", "aht_s"]],
        schedule=plan.schedule,
        agents=plan.agents,
        projects=_engine_projects(projects),
        interval_min=plan.interval_min,
    )


def _run(
    plan: _Plan,
    projects: SimProjects,
    *,
    tz: str,
    replications: int,
    seed: int,
    handle_dist: HandleDist,
    handle_cv: float,
    short_abandon_s: float,
    rate_cv: float | str,
    progress: Progress | None,
) -> SimulationReport:
    clock = time.perf_counter()
    if progress is not None:
        progress(1, _STEPS, f"simulating {replications} replications")
    # wfm.sim.simulate is one chunk of all the replications, combined (one code path)
    e = _engine(plan, projects)
    raw = simulate(
        e.demand,
        e.schedule,
        e.agents,
        e.projects,
        interval_min=e.interval_min,
        replications=replications,
        seed=seed,
        handle_dist=handle_dist,
        handle_cv=handle_cv,
        rate_cv=rate_cv,
        short_abandon_s=short_abandon_s,
    )
    t_sim = time.perf_counter()
    if progress is not None:
        progress(2, _STEPS, "summarising")
    report = _report(
        raw,
        plan,
        projects,
        tz=tz,
        handle_dist=handle_dist,
        short_abandon_s=short_abandon_s,
        rate_cv=rate_cv,
    )
    t_done = time.perf_counter()
    return replace(report, timings_s={"simulate": t_sim - clock, "summarise": t_done - t_sim})


def _report(
    raw: SimResult,
    plan: _Plan,
    projects: SimProjects,
    *,
    tz: str,
    handle_dist: HandleDist,
    short_abandon_s: float,
    rate_cv: float | str,
) -> SimulationReport:
    """The report of the engine's result: KPIs and days of the projects with demand, the
    summary and the plan's notes."""
    reported = sorted(set(plan.demand["project"].astype(str)))
    kpis = raw.kpis[raw.kpis["project"].isin(reported)].reset_index(drop=True)
    kpis = contracts.validate(kpis, contracts.KPIS, tz=tz)
    daily = raw.daily[raw.daily["project"].isin(reported)].reset_index(drop=True)
    result = replace(raw, kpis=kpis, daily=daily)
    summary = _summary(result, projects.projects, plan.agents)
    return SimulationReport(
        result=result,
        summary=summary,
        tz=tz,
        interval_min=plan.interval_min,
        replications=raw.replications,
        seed=raw.seed,
        handle_dist=handle_dist,
        short_abandon_s=short_abandon_s,
        rate_cv=rate_cv,
        notes=plan.notes,
    )


def _checked_plan(
    demand: pd.DataFrame,
    schedule: pd.DataFrame,
    agents: Mapping[str, Sequence[str]],
    projects: SimProjects | Mapping[str, SimProject],
    tz: str,
) -> tuple[_Plan, SimProjects]:
    """The plan given as frames, checked (see ``simulate_plan``), and its projects."""
    check_tz(tz)
    sims = projects if isinstance(projects, SimProjects) else SimProjects(projects=projects)
    for name, p in sims.projects.items():
        if p.sl_target is None:
            raise InputError(
                f"projects: {name!r} has no sl_target", field="sl_target", expected="a share"
            )
    skills = {str(a): tuple(str(s) for s in v) for a, v in agents.items()}
    every = set(sims.projects) | set(sims.skipped)
    for agent, held in skills.items():
        unknown = [s for s in held if s not in every]
        if unknown:
            raise InputError(
                f"agents: agent {agent}: unknown project {unknown[0]!r}",
                field="skills",
                row=agent,
                expected="projects of the projects mapping",
            )
    d = contracts.validate(demand, contracts.HISTORY, tz=tz).reset_index(drop=True)
    s = contracts.validate(schedule, contracts.SCHEDULE, tz=tz).reset_index(drop=True)
    plan = _plan(d, RowSource("demand"), s, RowSource("schedule"), skills, "the agents", sims, tz)
    return plan, sims


def simulate_plan(
    demand: pd.DataFrame,
    schedule: pd.DataFrame,
    agents: Mapping[str, Sequence[str]],
    projects: SimProjects | Mapping[str, SimProject],
    *,
    tz: str,
    replications: int = 20,
    seed: int = 1,
    handle_dist: HandleDist = "exponential",
    handle_cv: float = 1.0,
    short_abandon_s: float = 0.0,
    rate_cv: float | str = 0.0,
    progress: Progress | None = None,
) -> SimulationReport:
    """Simulate a plan given as frames: ``demand`` (``project, ts, calls, aht_s``),
    ``schedule`` (``agent, start, end, activity, project``), agent → skills in priority order,
    and the projects (``SimProjects``, or a mapping of simulated projects, each with an
    ``sl_target``). Errors name the frame's row (0-based position). See ``simulate_files``."""
    clock = time.perf_counter()
    _check_options(replications, seed, handle_dist)
    plan, sims = _checked_plan(demand, schedule, agents, projects, tz)
    t_check = time.perf_counter()
    report = _run(
        plan,
        sims,
        tz=tz,
        replications=replications,
        seed=seed,
        handle_dist=handle_dist,
        handle_cv=handle_cv,
        short_abandon_s=short_abandon_s,
        rate_cv=rate_cv,
        progress=progress,
    )
    timings = {"check": t_check - clock, **report.timings_s, "total": time.perf_counter() - clock}
    return replace(report, timings_s=timings)


def simulate_chunk(
    demand: pd.DataFrame,
    schedule: pd.DataFrame,
    agents: Mapping[str, Sequence[str]],
    projects: SimProjects | Mapping[str, SimProject],
    *,
    tz: str,
    seed: int = 1,
    first: int = 0,
    count: int,
    handle_dist: HandleDist = "exponential",
    handle_cv: float = 1.0,
    short_abandon_s: float = 0.0,
    rate_cv: float | str = 0.0,
) -> SimChunk:
    """Replications ``first`` … ``first + count - 1`` of ``simulate_plan`` with the same
    inputs and options: their raw statistics (``wfm.sim.SimChunk``: small, picklable, no
    frames). The plan is checked as ``simulate_plan`` checks it. ``combine_chunks`` makes
    the report from chunks covering 0 … R − 1."""
    _check_options(2, seed, handle_dist)
    plan, sims = _checked_plan(demand, schedule, agents, projects, tz)
    e = _engine(plan, sims)
    return simulate_replications(
        e.demand,
        e.schedule,
        e.agents,
        e.projects,
        interval_min=e.interval_min,
        seed=seed,
        first=first,
        count=count,
        handle_dist=handle_dist,
        handle_cv=handle_cv,
        rate_cv=rate_cv,
        short_abandon_s=short_abandon_s,
    )


def combine_chunks(
    chunks: Sequence[SimChunk],
    demand: pd.DataFrame,
    schedule: pd.DataFrame,
    agents: Mapping[str, Sequence[str]],
    projects: SimProjects | Mapping[str, SimProject],
    *,
    tz: str,
    replications: int,
    seed: int = 1,
    handle_dist: HandleDist = "exponential",
    handle_cv: float = 1.0,
    short_abandon_s: float = 0.0,
    rate_cv: float | str = 0.0,
) -> SimulationReport:
    """The report of ``simulate_plan(..., replications=replications, seed=seed)`` (KPIs,
    days, agents, summary, notes; equal bit for bit) from ``simulate_chunk`` results, in any
    order. ``InputError`` (field ``chunks`` or ``seed``) unless the chunks cover replications
    0 … ``replications`` − 1 exactly once and were simulated with this seed from these
    inputs and options (each chunk carries a fingerprint of them)."""
    clock = time.perf_counter()
    _check_options(replications, seed, handle_dist)
    plan, sims = _checked_plan(demand, schedule, agents, projects, tz)
    t_check = time.perf_counter()
    e = _engine(plan, sims)
    raw = combine_replications(
        chunks,
        e.demand,
        e.schedule,
        e.agents,
        e.projects,
        interval_min=e.interval_min,
        replications=replications,
        seed=seed,
        handle_dist=handle_dist,
        handle_cv=handle_cv,
        rate_cv=rate_cv,
        short_abandon_s=short_abandon_s,
    )
    t_sim = time.perf_counter()
    report = _report(
        raw,
        plan,
        sims,
        tz=tz,
        handle_dist=handle_dist,
        short_abandon_s=short_abandon_s,
        rate_cv=rate_cv,
    )
    t_done = time.perf_counter()
    timings = {
        "check": t_check - clock,
        "combine": t_sim - t_check,
        "summarise": t_done - t_sim,
        "total": t_done - clock,
    }
    return replace(report, timings_s=timings)


# --------------------------------------------------------------------------------------------
# files


def write_kpis_csv(kpis: pd.DataFrame, path: Path) -> Path:
    """Write a KPI frame as CSV (``ts`` ISO-8601 with its offset, numbers with 10 significant
    digits, empty where undefined), atomically: to a temporary file beside ``path``, then
    renamed over it. A path that cannot be written raises ``InputError`` (field ``out``)."""
    path = Path(path)
    out = kpis.copy()
    out["ts"] = iso_text(out["ts"])
    return write_csv_atomic(out, path)


def simulate_files(
    demand_path: Path,
    schedule_path: Path,
    agents_path: Path,
    projects_path: Path,
    *,
    out_path: Path,
    replications: int = 20,
    seed: int = 1,
    handle_dist: HandleDist = "exponential",
    handle_cv: float = 1.0,
    tz: str | None = None,
    short_abandon_s: float = 0.0,
    rate_cv: float | str = 0.0,
    progress: Progress | None = None,
) -> SimulationReport:
    """Simulate a plan from files and write its KPIs per project and interval to
    ``out_path`` (CSV, see ``write_kpis_csv``).

    - demand CSV: ``project, ts, calls, aht_s`` (a forecast's bounds and other columns are
      ignored); the interval length (15, 30 or 60 minutes) comes from its timestamps;
    - schedule CSV: ``agent, start, end, activity, project`` (an empty project on a work
      segment: any project the agent holds);
    - agents CSV: ``agent, skills`` (``;``-separated, in priority order);
    - projects CSV: ``project, sl_target, answer_within_s, patience_s`` (see
      ``load_sim_projects``).

    The time zone is ``tz`` or that of ``site.json`` beside the demand file. ``handle_dist``
    and ``handle_cv``, ``rate_cv``, ``short_abandon_s``: see ``wfm.sim.simulate``. The same
    seed gives the same file, byte for byte."""
    clock = time.perf_counter()
    _check_options(replications, seed, handle_dist)
    if progress is not None:
        progress(0, _STEPS, "reading the plan")
    demand_path = Path(demand_path)
    zone = site_tz(demand_path.parent, tz)
    projects = load_sim_projects(Path(projects_path))
    agents = load_sim_agents(Path(agents_path), projects=(*projects.projects, *projects.skipped))
    demand, demand_src = _read(demand_path, contracts.HISTORY, zone)
    schedule, schedule_src = _read(Path(schedule_path), contracts.SCHEDULE, zone)
    t_read = time.perf_counter()
    plan = _plan(
        demand, demand_src, schedule, schedule_src, agents, Path(agents_path).name, projects, zone
    )
    t_check = time.perf_counter()
    report = _run(
        plan,
        projects,
        tz=zone,
        replications=replications,
        seed=seed,
        handle_dist=handle_dist,
        handle_cv=handle_cv,
        short_abandon_s=short_abandon_s,
        rate_cv=rate_cv,
        progress=progress,
    )
    if progress is not None:
        progress(3, _STEPS, "writing the KPIs")
    t_write = time.perf_counter()
    write_kpis_csv(report.kpis, out_path)
    t_done = time.perf_counter()
    if progress is not None:
        progress(_STEPS, _STEPS, "done")
    timings = {
        "read": t_read - clock,
        "check": t_check - t_read,
        **report.timings_s,
        "write": t_done - t_write,
        "total": t_done - clock,
    }
    return replace(report, out_path=Path(out_path), timings_s=timings)
