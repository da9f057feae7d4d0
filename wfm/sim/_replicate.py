"""Inputs → arrays, seeded replications, and KPIs with confidence intervals (private).

Definitions (the same as ``wfm.staffing``): a call counts in the interval of its arrival;
``sl`` = calls answered within ``answer_within_s`` ÷ offered (abandoned calls count against
it); ``asa_s`` = mean wait of answered calls; ``occupancy`` = busy time ÷ available
(work-segment) time of the agents who hold the project, within the interval, where a contact of
a project with concurrency c (chat) keeps its agent 1/c busy (so, as in ``wfm.staffing``,
occupancy is carried load ÷ (agents × concurrency)). Replications use
independent streams from one ``numpy.random.SeedSequence`` (``spawn``), so the same seed gives
the same frames bit for bit, and two plans compared with one seed share their random numbers
(common random numbers: the arrivals, handle times and patience of replication r are the same).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numba
import numpy as np
import numpy.typing as npt
import pandas as pd

from wfm.errors import InputError
from wfm.sim import _acd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

HandleDist = Literal["exponential", "lognormal"]
Routing = Literal["priority", "longest_wait"]
PatienceDist = Literal["exponential", "lognormal", "fixed"]

__all__ = ["SimProject", "SimResult", "simulate"]


@dataclass(frozen=True, slots=True)
class SimProject:
    """What the simulator needs of a project: its threshold, callers' patience, and how many
    of its contacts an agent handles at once (``concurrency``, chat; ``aht_s`` of the demand
    is then the handle time of one conversation, as in ``wfm.staffing``)."""

    project: str
    answer_within_s: float
    patience_s: float | None = None  # mean patience; None: callers never abandon
    sl_target: float | None = None
    patience_dist: PatienceDist = "exponential"
    patience_cv: float = 1.0  # for "lognormal"
    concurrency: int = 1

    def __post_init__(self) -> None:
        if (
            isinstance(self.concurrency, bool)
            or not isinstance(self.concurrency, int | np.integer)
            or self.concurrency < 1
        ):
            raise InputError(
                f"project {self.project}: concurrency {self.concurrency!r}",
                field="concurrency",
                expected="an integer >= 1 (contacts an agent handles at once)",
            )
        if self.patience_s is not None and not self.patience_s > 0.0:
            raise InputError(
                f"project {self.project}: patience_s {self.patience_s} is not positive",
                field="patience_s",
                expected="seconds > 0, or None for callers who never give up",
            )
        if self.patience_dist not in ("exponential", "lognormal", "fixed"):
            raise InputError(
                f"project {self.project}: patience_dist {self.patience_dist!r}",
                field="patience_dist",
                expected="exponential, lognormal or fixed",
            )
        if not (math.isfinite(self.patience_cv) and self.patience_cv > 0.0):
            raise InputError(
                f"project {self.project}: patience_cv {self.patience_cv}",
                field="patience_cv",
                expected="a coefficient of variation > 0",
            )


@dataclass(frozen=True)
class SimResult:
    """KPIs per project × interval (``kpis``, with ``_lo``/``_hi`` 95 % bounds across
    replications), per project × local day (``daily``), per agent (``agents``: available
    and busy seconds within the demand's intervals, utilisation, and overrun seconds past the
    end of segments, means over replications; a chat at concurrency c counts 1/c of its
    seconds), and — when asked — every call of every replication (``records``)."""

    kpis: pd.DataFrame
    daily: pd.DataFrame
    agents: pd.DataFrame
    records: pd.DataFrame | None
    replications: int
    seed: int


@dataclass(frozen=True)
class _Inputs:
    t0: pd.Timestamp
    interval_s: float
    projects: tuple[str, ...]
    interval_ts: pd.DatetimeIndex  # all interval starts, sorted
    rate_project: IntArray  # per demand row
    rate_interval: IntArray
    rate_calls: FloatArray
    rate_aht: FloatArray
    rate_offset_s: FloatArray  # start of each demand row's interval, seconds from t0
    patience: FloatArray  # per project (inf = never abandons)
    patience_dist: tuple[str, ...]  # per project
    patience_cv: tuple[float, ...]
    within: FloatArray  # per project
    concurrency: IntArray  # per project
    agent_names: tuple[str, ...]
    seg_start: FloatArray
    seg_end: FloatArray
    seg_mask: IntArray
    agent_first: IntArray
    agent_n: IntArray
    priority: IntArray
    holds: npt.NDArray[np.bool_]  # agent × project
    seg_owner: IntArray  # agent of each segment


def _prepare(
    demand: pd.DataFrame,
    schedule: pd.DataFrame,
    agents: Mapping[str, Sequence[str]],
    projects: Mapping[str, SimProject],
    interval_min: int,
) -> _Inputs:
    names = tuple(sorted(projects))
    if len(names) > 62:
        raise InputError("projects: more than 62", field="project", expected="at most 62 projects")
    index = {p: i for i, p in enumerate(names)}
    unknown = sorted(set(demand["project"].astype(str)) - set(names))
    if unknown:
        raise InputError(
            f"demand: project {unknown[0]!r} is not in the projects",
            field="project",
            expected="a project of the projects file",
        )
    interval_s = interval_min * 60.0
    ts = pd.DatetimeIndex(demand["ts"])
    steps = (ts - ts.min()).total_seconds().to_numpy()
    off_grid = np.flatnonzero(np.abs(np.remainder(steps, interval_s)) > 1e-6)
    if off_grid.size:
        row = int(off_grid[0])
        raise InputError(
            f"demand row {row}: {ts[row]} is not on the {interval_min}-minute grid",
            field="ts",
            row=row,
            expected=f"interval starts {interval_min} minutes apart",
        )
    starts = pd.DatetimeIndex(schedule["start"]) if len(schedule) else ts[:0]
    t0 = min(ts.min(), starts.min()) if len(starts) else ts.min()
    interval_ts = pd.DatetimeIndex(sorted(set(ts)))
    where = interval_ts.get_indexer(ts)
    agent_names = tuple(sorted(agents))
    a_index = {a: i for i, a in enumerate(agent_names)}
    width = max((len(v) for v in agents.values()), default=1)
    priority = np.full((len(agent_names), max(width, 1)), -1, dtype=np.int64)
    holds = np.zeros((len(agent_names), len(names)), dtype=bool)
    for a, skills in agents.items():
        for k, p in enumerate(skills):
            if p in index:
                priority[a_index[a], k] = index[p]
                holds[a_index[a], index[p]] = True
    # work segments per agent, less any break/lunch/training/off time that overlaps them
    activity = schedule["activity"].astype(str).to_numpy()
    work_rows: list[tuple[int, float, float, int, int]] = []
    off: dict[int, list[tuple[float, float]]] = {}
    for row, (agent, start, end, proj) in enumerate(
        zip(schedule["agent"], schedule["start"], schedule["end"], schedule["project"], strict=True)
    ):
        agent = str(agent)
        if agent not in a_index:
            raise InputError(
                f"schedule row {row}: agent {agent!r} is not in the agents",
                field="agent",
                row=row,
                expected="an agent of the agents file",
            )
        ai = a_index[agent]
        s = (pd.Timestamp(start) - t0).total_seconds()
        e = (pd.Timestamp(end) - t0).total_seconds()
        if activity[row] != "work":
            off.setdefault(ai, []).append((s, e))
            continue
        if proj is None or (isinstance(proj, float) and math.isnan(proj)) or str(proj) == "":
            mask = sum(1 << j for j in range(len(names)) if holds[ai, j])
        else:
            pj = index.get(str(proj))
            if pj is None or not holds[ai, pj]:
                raise InputError(
                    f"schedule row {row}: agent {agent} works on {proj!r} without the skill",
                    field="project",
                    row=row,
                    expected="a project the agent holds",
                )
            mask = 1 << pj
        work_rows.append((ai, s, e, mask, row))
    work_rows.sort()
    for (a1, _s1, e1, _m1, r1), (a2, s2, _e2, _m2, r2) in itertools.pairwise(work_rows):
        if a1 == a2 and s2 < e1:
            raise InputError(
                f"schedule rows {r1} and {r2}: agent {agent_names[a1]} has overlapping work "
                "segments",
                field="start",
                row=r2,
                expected="work segments of one agent that do not overlap",
            )
    seg_rows: list[tuple[int, float, float, int]] = []
    for ai, s, e, mask, _row in work_rows:
        for piece_start, piece_end in _carve(s, e, off.get(ai, [])):
            seg_rows.append((ai, piece_start, piece_end, mask))
    seg_rows.sort()
    n_agents = len(agent_names)
    agent_first = np.zeros(n_agents, dtype=np.int64)
    agent_n = np.zeros(n_agents, dtype=np.int64)
    for i, (ai, _s, _e, _m) in enumerate(seg_rows):
        if agent_n[ai] == 0:
            agent_first[ai] = i
        agent_n[ai] += 1
    patience = np.array(
        [projects[p].patience_s if projects[p].patience_s is not None else math.inf for p in names]
    )
    within = np.array([projects[p].answer_within_s for p in names])
    return _Inputs(
        t0=pd.Timestamp(t0),
        interval_s=interval_s,
        projects=names,
        interval_ts=interval_ts,
        rate_project=np.array([index[str(p)] for p in demand["project"]], dtype=np.int64),
        rate_interval=where.astype(np.int64),
        rate_calls=demand["calls"].to_numpy(dtype=np.float64),
        rate_aht=demand["aht_s"].to_numpy(dtype=np.float64),
        rate_offset_s=(interval_ts[where] - t0).total_seconds().to_numpy().astype(np.float64),
        patience=patience.astype(np.float64),
        patience_dist=tuple(projects[p].patience_dist for p in names),
        patience_cv=tuple(projects[p].patience_cv for p in names),
        within=within.astype(np.float64),
        concurrency=np.array([int(projects[p].concurrency) for p in names], dtype=np.int64),
        agent_names=agent_names,
        seg_start=np.array([r[1] for r in seg_rows], dtype=np.float64),
        seg_end=np.array([r[2] for r in seg_rows], dtype=np.float64),
        seg_mask=np.array([r[3] for r in seg_rows], dtype=np.int64),
        agent_first=agent_first,
        agent_n=agent_n,
        priority=priority,
        holds=holds,
        seg_owner=np.array([r[0] for r in seg_rows], dtype=np.int64),
    )


def _rate_cv(demand: pd.DataFrame, rate_cv: float | str) -> FloatArray | float:
    """The coefficient of variation of each demand row's rate (see ``simulate``)."""
    if rate_cv == "forecast":
        missing = [c for c in ("calls_lo_80", "calls_hi_80") if c not in demand]
        if missing:
            raise InputError(
                f"rate_cv: 'forecast' needs the demand's {missing[0]} column",
                field=missing[0],
                expected="a demand frame with 80 % bounds (a forecast)",
            )
        calls = demand["calls"].to_numpy(dtype=np.float64)
        spread = demand["calls_hi_80"].to_numpy(dtype=np.float64) - demand["calls_lo_80"].to_numpy(
            dtype=np.float64
        )
        sd = spread / (2.0 * 1.2815515655446004)  # the 80 % band of a normal is ±1.2816 sd
        extra = np.maximum(sd**2 - calls, 0.0)  # beyond the Poisson variance
        cv: FloatArray = np.divide(np.sqrt(extra), calls, out=np.zeros_like(calls), where=calls > 0)
        return cv
    if isinstance(rate_cv, str) or not (math.isfinite(rate_cv) and rate_cv >= 0.0):
        raise InputError(
            f"rate_cv: {rate_cv!r} is invalid",
            field="rate_cv",
            expected="a number >= 0 or 'forecast'",
        )
    return float(rate_cv)


def _carve(start: float, end: float, gaps: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """[start, end) less the ``gaps`` (breaks and other non-work time inside a work segment)."""
    pieces = [(start, end)]
    for g0, g1 in sorted(gaps):
        nxt: list[tuple[float, float]] = []
        for p0, p1 in pieces:
            if g1 <= p0 or g0 >= p1:
                nxt.append((p0, p1))
                continue
            if g0 > p0:
                nxt.append((p0, g0))
            if g1 < p1:
                nxt.append((g1, p1))
        pieces = nxt
    return [(p0, p1) for p0, p1 in pieces if p1 > p0]


def _draw_calls(
    inp: _Inputs,
    rng: np.random.Generator,
    handle_dist: HandleDist,
    handle_cv: float,
    rate_cv: FloatArray | float = 0.0,
) -> tuple[FloatArray, IntArray, FloatArray, FloatArray, IntArray]:
    """One replication's calls: arrival (sorted), project, handle time, patience, interval.

    ``rate_cv`` (per demand row or one number): each row's rate is drawn from a gamma with the
    forecast as mean and this coefficient of variation before the Poisson count."""
    rate = inp.rate_calls
    cv = np.broadcast_to(np.asarray(rate_cv, dtype=np.float64), rate.shape)
    if (cv > 0.0).any():
        varied = (cv > 0.0) & (rate > 0.0)
        shape = 1.0 / np.where(varied, cv, 1.0) ** 2
        draws = rng.gamma(shape, 1.0, rate.size) * rate / shape
        rate = np.where(varied, draws, rate)
    counts = rng.poisson(rate)
    rows = np.repeat(np.arange(counts.size), counts)
    arrival = inp.rate_offset_s[rows] + rng.random(rows.size) * inp.interval_s
    mean = inp.rate_aht[rows]
    if handle_dist == "exponential":
        handle = rng.exponential(1.0, rows.size) * mean
    else:
        sigma2 = math.log1p(handle_cv**2)
        handle = mean * np.exp(rng.normal(-sigma2 / 2.0, math.sqrt(sigma2), rows.size))
    project = inp.rate_project[rows]
    pat = inp.patience[project]
    finite = np.isfinite(pat)
    patience = np.full(rows.size, np.inf)
    # one draw per call whatever the distribution: plans compared with one seed share them
    unit = rng.random(rows.size)
    for j, (dist, spread) in enumerate(zip(inp.patience_dist, inp.patience_cv, strict=True)):
        mine = finite & (project == j)
        if not mine.any():
            continue
        if dist == "exponential":
            patience[mine] = -np.log1p(-unit[mine]) * pat[mine]
        elif dist == "lognormal":
            from scipy import special

            sigma2 = math.log1p(spread**2)
            z = special.ndtri(unit[mine])
            patience[mine] = pat[mine] * np.exp(-sigma2 / 2.0 + math.sqrt(sigma2) * z)
        else:
            patience[mine] = pat[mine]
    order = np.argsort(arrival, kind="stable")
    return (
        arrival[order],
        project[order],
        handle[order],
        patience[order],
        inp.rate_interval[rows][order],
    )


@numba.njit(cache=True)
def _overlap(
    starts: FloatArray,
    ends: FloatArray,
    who: IntArray,
    n_who: int,
    n_intervals: int,
    interval_s: float,
    offsets: FloatArray,
    weights: FloatArray,
) -> FloatArray:
    """Seconds of [start, end) spans falling in each interval, per owner (who × interval),
    each span's seconds times its weight; ``offsets`` are the intervals' starts in seconds."""
    out = np.zeros((n_who, n_intervals))
    for i in range(starts.shape[0]):
        s = starts[i]
        e = ends[i]
        if not e > s:
            continue
        for j in range(n_intervals):
            lo = offsets[j]
            hi = lo + interval_s
            if hi <= s:
                continue
            if lo >= e:
                break
            out[who[i], j] += (min(e, hi) - max(s, lo)) * weights[i]
    return out


def simulate(
    demand: pd.DataFrame,
    schedule: pd.DataFrame,
    agents: Mapping[str, Sequence[str]],
    projects: Mapping[str, SimProject],
    *,
    interval_min: int,
    replications: int = 20,
    seed: int = 1,
    handle_dist: HandleDist = "exponential",
    handle_cv: float = 1.0,
    rate_cv: float | str = 0.0,
    short_abandon_s: float = 0.0,
    routing: Routing = "longest_wait",
    records: bool = False,
) -> SimResult:
    """Simulate the site ``replications`` times (see the module docstring).

    ``handle_dist``: exponential handle times with the interval's AHT, or lognormal with that
    mean and coefficient of variation ``handle_cv``. ``rate_cv`` > 0 makes arrivals
    over-dispersed: each interval's rate is drawn from a gamma distribution with the
    forecast as mean and this coefficient of variation (a negative-binomial count);
    ``rate_cv="forecast"`` takes each interval's coefficient of variation from the demand's
    80 % bounds (``calls_lo_80``/``calls_hi_80``): the band's spread beyond Poisson noise, so
    the simulated counts vary as much as the forecast says they may.
    ``short_abandon_s``: callers who hang up within this many seconds are left out of offered
    and abandoned calls (and so of the service level), as many centres count them.
    ``routing``: a free agent takes the longest-waiting caller among the projects they may
    serve, their skill-priority order breaking ties (``"longest_wait"``, the default), or the
    first waiting caller in their skill-priority order (``"priority"``).
    ``queue_len`` in the KPIs is the time-average number of callers waiting."""
    if seed < 0:
        raise InputError(f"seed: {seed} is negative", field="seed", expected="an integer >= 0")
    if replications < 2:
        raise InputError(
            "replications: at least 2 are needed for a confidence interval",
            field="replications",
            expected="an integer >= 2",
        )
    if handle_dist not in ("exponential", "lognormal"):
        raise InputError(
            f"handle_dist: {handle_dist!r}",
            field="handle_dist",
            expected="exponential or lognormal",
        )
    if routing not in ("priority", "longest_wait"):
        raise InputError(
            f"routing: {routing!r}", field="routing", expected="priority or longest_wait"
        )
    if not (math.isfinite(handle_cv) and handle_cv >= 0.0):
        raise InputError(
            f"handle_cv: {handle_cv} is invalid", field="handle_cv", expected="a number >= 0"
        )
    row_cv = _rate_cv(demand, rate_cv)
    if not short_abandon_s >= 0.0:
        raise InputError(
            f"short_abandon_s: {short_abandon_s} is negative",
            field="short_abandon_s",
            expected="seconds >= 0",
        )
    inp = _prepare(demand, schedule, agents, projects, interval_min)
    n_p = len(inp.projects)
    n_i = len(inp.interval_ts)
    offsets = (inp.interval_ts - inp.t0).total_seconds().to_numpy().astype(np.float64)
    streams = np.random.SeedSequence(seed).spawn(replications)
    # offered, answered, abandoned, within, wait, queue seconds
    stats = np.zeros((replications, 6, n_p, n_i))
    occ_busy = np.zeros((replications, n_p, n_i))
    occ_avail = np.zeros((replications, n_p, n_i))
    agent_busy = np.zeros((replications, len(inp.agent_names)))
    agent_overrun = np.zeros((replications, len(inp.agent_names)))
    avail = _overlap(
        inp.seg_start,
        inp.seg_end,
        inp.seg_owner,
        len(inp.agent_names),
        n_i,
        inp.interval_s,
        offsets,
        np.ones(inp.seg_start.size),
    )
    all_records: list[pd.DataFrame] = []
    for r, stream in enumerate(streams):
        rng = np.random.default_rng(stream)
        arrival, project, handle, patience, interval = _draw_calls(
            inp, rng, handle_dist, handle_cv, row_cv
        )
        n = arrival.size
        status = np.empty(n, dtype=np.int64)
        answer = np.empty(n)
        end = np.empty(n)
        agent = np.empty(n, dtype=np.int64)
        _acd.run(
            arrival, project, handle, patience, n_p,
            inp.seg_start, inp.seg_end, inp.seg_mask, inp.agent_first, inp.agent_n, inp.priority,
            inp.concurrency, routing == "longest_wait", status, answer, end, agent,
        )  # fmt: skip
        served = status == _acd.SERVED
        wait = np.where(served, answer - arrival, 0.0)
        within = served & (wait <= inp.within[project])
        abandoned = status == _acd.ABANDONED
        counted = ~(abandoned & (end - arrival < short_abandon_s))
        flat = project * n_i + interval
        size = n_p * n_i
        for k, weights in enumerate((counted, served, abandoned & counted, within, wait)):
            stats[r, k] = np.bincount(flat, weights=weights, minlength=size).reshape(n_p, n_i)
        # time in queue, spread over the intervals it spans (still waiting: until the end)
        horizon = float(offsets[-1] + inp.interval_s)
        left = np.where(
            served,
            answer,
            np.where(abandoned, end, max(horizon, float(arrival.max(initial=horizon)))),
        )
        stats[r, 5] = _overlap(
            arrival, left, project, n_p, n_i, inp.interval_s, offsets, np.ones(arrival.size)
        )
        # a contact of a project with concurrency c keeps its agent 1/c busy
        share = 1.0 / inp.concurrency[project[served]]
        busy = _overlap(
            answer[served], end[served], agent[served], len(inp.agent_names), n_i,
            inp.interval_s, offsets, share,
        )  # fmt: skip
        agent_busy[r] = busy.sum(axis=1)
        agent_overrun[r] = _overruns(inp, agent[served], answer[served], end[served], share)
        # occupancy counts busy time only within available time (overruns are reported apart)
        occ_busy[r] = inp.holds.T.astype(np.float64) @ np.minimum(busy, avail)
        occ_avail[r] = inp.holds.T.astype(np.float64) @ avail
        if records:
            all_records.append(
                pd.DataFrame(
                    {
                        "replication": r,
                        "project": np.array(inp.projects, dtype=object)[project],
                        "arrival": inp.t0 + pd.to_timedelta(arrival, unit="s"),
                        "status": np.array(["queued", "served", "abandoned"])[status],
                        "wait_s": np.where(served, answer - arrival, np.nan),
                        "answer": inp.t0 + pd.to_timedelta(answer, unit="s"),
                        "end": inp.t0 + pd.to_timedelta(end, unit="s"),
                        "agent": pd.Series(
                            np.array(inp.agent_names, dtype=object)[np.maximum(agent, 0)]
                        ).where(agent >= 0),
                        "handle_s": handle,
                    }
                )
            )
    kpis = _kpi_frame(inp, stats, occ_busy, occ_avail)
    daily = _daily_frame(inp, stats)
    total_avail = avail.sum(axis=1)
    mean_busy = agent_busy.mean(axis=0)
    agents_frame = pd.DataFrame(
        {
            "agent": inp.agent_names,
            "available_s": total_avail,
            "busy_s": mean_busy,
            "utilisation": np.divide(
                mean_busy, total_avail, out=np.zeros_like(mean_busy), where=total_avail > 0
            ),
            "overrun_s": agent_overrun.mean(axis=0),
        }
    )
    return SimResult(
        kpis=kpis,
        daily=daily,
        agents=agents_frame,
        records=pd.concat(all_records, ignore_index=True) if records else None,
        replications=replications,
        seed=seed,
    )


def _overruns(
    inp: _Inputs, agent: IntArray, answer: FloatArray, end: FloatArray, share: FloatArray
) -> FloatArray:
    """Per agent: seconds of calls running past the end of the work segment they started in
    (calls in progress at a segment's end are finished, not cut), each call's seconds times
    its ``share`` of the agent (1 ÷ its project's concurrency)."""
    owner = inp.seg_owner.astype(np.float64)
    scale = 1e7  # seconds: segment starts are below 115 days from the origin
    seg_key = owner * scale + inp.seg_start
    call_key = agent.astype(np.float64) * scale + answer
    idx = np.searchsorted(seg_key, call_key, side="right") - 1
    over = np.maximum(end - inp.seg_end[idx], 0.0) * share
    totals: FloatArray = np.bincount(agent, weights=over, minlength=len(inp.agent_names)).astype(
        np.float64
    )
    return totals


def _mean_ci(samples: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mean over axis 0 and its 95 % t interval (NaN-aware)."""
    from scipy import stats

    finite = np.isfinite(samples)
    n = finite.sum(axis=0)
    filled = np.where(finite, samples, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, filled.sum(axis=0) / n, np.nan)
        dev = np.where(finite, samples - mean, 0.0)
        sd = np.sqrt(np.where(n > 1, (dev**2).sum(axis=0) / (n - 1), np.nan))
    tq = stats.t.ppf(0.975, np.maximum(n - 1, 1))
    half = np.where(n >= 2, tq * sd / np.sqrt(np.maximum(n, 1)), np.nan)
    return mean, mean - half, mean + half


def _ratios(stats: FloatArray, interval_s: float | None = None) -> dict[str, FloatArray]:
    offered, answered, abandoned, within, wait = (stats[:, k] for k in range(5))
    with np.errstate(invalid="ignore", divide="ignore"):
        sl = np.where(offered > 0, within / offered, np.nan)
        asa = np.where(answered > 0, wait / answered, np.nan)
    out = {
        "offered": offered,
        "answered": answered,
        "abandoned": abandoned,
        "sl": sl,
        "asa_s": asa,
    }
    if interval_s is not None:
        out["queue_len"] = stats[:, 5] / interval_s
    return out


def _kpi_frame(
    inp: _Inputs, stats: FloatArray, busy: FloatArray, avail: FloatArray
) -> pd.DataFrame:
    values = _ratios(stats, inp.interval_s)
    with np.errstate(invalid="ignore", divide="ignore"):
        values["occupancy"] = np.where(avail > 0, busy / avail, np.nan)
    n_p, n_i = stats.shape[2], stats.shape[3]
    frame = pd.DataFrame(
        {
            "project": np.repeat(np.array(inp.projects, dtype=object), n_i),
            "ts": inp.interval_ts[np.tile(np.arange(n_i), n_p)],
        }
    )
    for name, samples in values.items():
        mean, lo, hi = _mean_ci(samples.reshape(samples.shape[0], -1))
        frame[name] = mean
        frame[f"{name}_lo"] = lo
        frame[f"{name}_hi"] = hi
    return _clip_bounds(frame, ("sl", "occupancy"))


def _clip_bounds(frame: pd.DataFrame, shares: Sequence[str]) -> pd.DataFrame:
    """A normal-theory interval can leave the quantity's range: bounds are clipped to it
    (counts, seconds and lengths at 0; shares also at 1)."""
    for col in frame.columns:
        if col.endswith(("_lo", "_hi")):
            frame[col] = frame[col].clip(lower=0.0)
    for name in shares:
        if f"{name}_hi" in frame:
            frame[f"{name}_lo"] = frame[f"{name}_lo"].clip(upper=1.0)
            frame[f"{name}_hi"] = frame[f"{name}_hi"].clip(upper=1.0)
    return frame


def _daily_frame(inp: _Inputs, stats: FloatArray) -> pd.DataFrame:
    dates = inp.interval_ts.tz_convert(inp.interval_ts.tz).normalize()
    codes, days = pd.factorize(dates)
    n_d = len(days)
    summed = np.zeros((*stats.shape[:3], n_d))
    for d in range(n_d):
        summed[..., d] = stats[..., codes == d].sum(axis=-1)
    values = _ratios(summed)
    n_p = stats.shape[2]
    frame = pd.DataFrame(
        {
            "project": np.repeat(np.array(inp.projects, dtype=object), n_d),
            "date": np.tile(np.asarray(pd.DatetimeIndex(days).date, dtype=object), n_p),
        }
    )
    for name, samples in values.items():
        mean, lo, hi = _mean_ci(samples.reshape(samples.shape[0], -1))
        frame[name] = mean
        frame[f"{name}_lo"] = lo
        frame[f"{name}_hi"] = hi
    return _clip_bounds(frame, ("sl",))
