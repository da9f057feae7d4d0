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

Replications can be split: ``simulate_replications`` runs replications ``first`` … ``first +
count - 1`` (replication r draws from ``SeedSequence(seed, spawn_key=(r,))``, the r-th child
``spawn`` gives) and returns their raw statistics (``SimChunk``); ``combine_replications``
builds the frames from chunks covering 0 … R − 1, concatenated in replication order. Each
replication's statistics depend only on the inputs, the seed and r, and the frames only on
the concatenated statistics, so any chunking gives the frames of ``simulate`` bit for bit —
``simulate`` itself is one chunk of all R replications, combined.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

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

__all__ = [
    "SimChunk",
    "SimProject",
    "SimResult",
    "combine_replications",
    "simulate",
    "simulate_replications",
]


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


@dataclass(frozen=True)
class SimChunk:
    """Replications ``first`` … ``first + count - 1`` of one simulation, as raw statistics
    (small and picklable: no call records). Replication r draws from the stream
    ``SeedSequence(seed, spawn_key=(r,))`` — the r-th child of ``SeedSequence(seed).spawn``,
    the one ``simulate`` gives it — so chunks run anywhere and combined in replication order
    (``combine_replications``) give the frames of one ``simulate`` call bit for bit.
    ``fingerprint`` is a SHA-256 of everything the draws and the frames depend on (the
    prepared inputs and the options), checked when chunks are combined.

    Per replication (axis 0): ``counts`` (calls offered, answered, abandoned and answered
    within the threshold: whole numbers, stored exactly in the narrowest unsigned integer type
    that holds them, to keep the chunk small) and ``seconds`` (wait and queue seconds) ×
    project × interval — together ``stats`` —, ``occ_busy`` busy seconds of the project's
    holders within their available time × project × interval, and per agent busy and overrun
    seconds (``agent_busy``, ``agent_overrun``)."""

    first: int
    count: int
    seed: int
    fingerprint: str
    counts: npt.NDArray[np.unsignedinteger[Any]]
    seconds: FloatArray
    occ_busy: FloatArray
    agent_busy: FloatArray
    agent_overrun: FloatArray

    @property
    def stop(self) -> int:
        """One past the last replication of the chunk."""
        return self.first + self.count

    @property
    def stats(self) -> FloatArray:
        """Offered, answered, abandoned, within, wait seconds, queue seconds (replication × 6 ×
        project × interval), as the engine computed them (the counts back in float64,
        exactly)."""
        return np.concatenate([self.counts.astype(np.float64), self.seconds], axis=1)


@dataclass(frozen=True)
class _Setup:
    """Checked and prepared inputs of one simulation (shared by every public entry point)."""

    inp: _Inputs
    row_cv: FloatArray | float
    handle_dist: HandleDist
    handle_cv: float
    short_abandon_s: float
    routing: Routing
    offsets: FloatArray  # interval starts, seconds from t0
    avail: FloatArray  # available seconds, agent × interval
    fingerprint: str


def _setup(
    demand: pd.DataFrame,
    schedule: pd.DataFrame,
    agents: Mapping[str, Sequence[str]],
    projects: Mapping[str, SimProject],
    *,
    interval_min: int,
    seed: int,
    handle_dist: HandleDist,
    handle_cv: float,
    rate_cv: float | str,
    short_abandon_s: float,
    routing: Routing,
) -> _Setup:
    if seed < 0:
        raise InputError(f"seed: {seed} is negative", field="seed", expected="an integer >= 0")
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
    offsets = (inp.interval_ts - inp.t0).total_seconds().to_numpy().astype(np.float64)
    avail = _overlap(
        inp.seg_start,
        inp.seg_end,
        inp.seg_owner,
        len(inp.agent_names),
        len(inp.interval_ts),
        inp.interval_s,
        offsets,
        np.ones(inp.seg_start.size),
    )
    options = (handle_dist, float(handle_cv), float(short_abandon_s), routing)
    return _Setup(
        inp=inp,
        row_cv=row_cv,
        handle_dist=handle_dist,
        handle_cv=float(handle_cv),
        short_abandon_s=float(short_abandon_s),
        routing=routing,
        offsets=offsets,
        avail=avail,
        fingerprint=_fingerprint(inp, row_cv, options),
    )


def _fingerprint(inp: _Inputs, row_cv: FloatArray | float, options: tuple[object, ...]) -> str:
    """SHA-256 of the prepared inputs and the options: equal exactly when two calls draw the
    same numbers and build the same frames."""
    h = hashlib.sha256()

    def text(value: object) -> None:
        h.update(repr(value).encode())
        h.update(b"\x00")

    def array(values: npt.NDArray[np.generic]) -> None:
        a = np.ascontiguousarray(values)
        text((a.dtype.str, a.shape))
        h.update(a.tobytes())

    text((str(inp.t0), inp.t0.value, inp.interval_s, inp.projects, str(inp.interval_ts.tz)))
    array(inp.interval_ts.asi8)
    for values in (
        inp.rate_project, inp.rate_interval, inp.rate_calls, inp.rate_aht, inp.rate_offset_s,
        inp.patience, inp.within, inp.concurrency, inp.seg_start, inp.seg_end, inp.seg_mask,
        inp.agent_first, inp.agent_n, inp.priority, inp.holds, inp.seg_owner,
    ):  # fmt: skip
        array(values)
    text((inp.patience_dist, inp.patience_cv, inp.agent_names, options))
    array(np.asarray(row_cv, dtype=np.float64))
    return h.hexdigest()


def _stream(seed: int, r: int) -> np.random.SeedSequence:
    """Replication r's stream: the r-th child of ``SeedSequence(seed).spawn(n)`` (any n > r),
    built without spawning the r children before it."""
    return np.random.SeedSequence(seed, spawn_key=(r,))


def _replicate(
    setup: _Setup, *, seed: int, first: int, count: int, records: bool
) -> tuple[SimChunk, list[pd.DataFrame]]:
    """Run replications ``first`` … ``first + count - 1``: their raw statistics and, if asked,
    their call records."""
    inp, offsets, avail = setup.inp, setup.offsets, setup.avail
    n_p = len(inp.projects)
    n_i = len(inp.interval_ts)
    n_a = len(inp.agent_names)
    # offered, answered, abandoned, within, wait, queue seconds
    stats = np.zeros((count, 6, n_p, n_i))
    occ_busy = np.zeros((count, n_p, n_i))
    agent_busy = np.zeros((count, n_a))
    agent_overrun = np.zeros((count, n_a))
    all_records: list[pd.DataFrame] = []
    for k in range(count):
        r = first + k
        rng = np.random.default_rng(_stream(seed, r))
        arrival, project, handle, patience, interval = _draw_calls(
            inp, rng, setup.handle_dist, setup.handle_cv, setup.row_cv
        )
        n = arrival.size
        status = np.empty(n, dtype=np.int64)
        answer = np.empty(n)
        end = np.empty(n)
        agent = np.empty(n, dtype=np.int64)
        _acd.run(
            arrival, project, handle, patience, n_p,
            inp.seg_start, inp.seg_end, inp.seg_mask, inp.agent_first, inp.agent_n, inp.priority,
            inp.concurrency, setup.routing == "longest_wait", status, answer, end, agent,
        )  # fmt: skip
        served = status == _acd.SERVED
        wait = np.where(served, answer - arrival, 0.0)
        within = served & (wait <= inp.within[project])
        abandoned = status == _acd.ABANDONED
        counted = ~(abandoned & (end - arrival < setup.short_abandon_s))
        flat = project * n_i + interval
        size = n_p * n_i
        for j, weights in enumerate((counted, served, abandoned & counted, within, wait)):
            stats[k, j] = np.bincount(flat, weights=weights, minlength=size).reshape(n_p, n_i)
        # time in queue, spread over the intervals it spans (still waiting: until the end)
        horizon = float(offsets[-1] + inp.interval_s)
        left = np.where(
            served,
            answer,
            np.where(abandoned, end, max(horizon, float(arrival.max(initial=horizon)))),
        )
        stats[k, 5] = _overlap(
            arrival, left, project, n_p, n_i, inp.interval_s, offsets, np.ones(arrival.size)
        )
        # a contact of a project with concurrency c keeps its agent 1/c busy
        share = 1.0 / inp.concurrency[project[served]]
        busy = _overlap(
            answer[served], end[served], agent[served], n_a, n_i, inp.interval_s, offsets, share
        )
        agent_busy[k] = busy.sum(axis=1)
        agent_overrun[k] = _overruns(inp, agent[served], answer[served], end[served], share)
        # occupancy counts busy time only within available time (overruns are reported apart)
        occ_busy[k] = inp.holds.T.astype(np.float64) @ np.minimum(busy, avail)
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
    chunk = SimChunk(
        first=first,
        count=count,
        seed=seed,
        fingerprint=setup.fingerprint,
        counts=_whole(stats[:, :4]),
        seconds=stats[:, 4:].copy(),
        occ_busy=occ_busy,
        agent_busy=agent_busy,
        agent_overrun=agent_overrun,
    )
    return chunk, all_records


def _whole(counts: FloatArray) -> npt.NDArray[np.unsignedinteger[Any]]:
    """Counts (sums of 0/1 weights: whole numbers) in the narrowest unsigned integer type
    that holds them exactly."""
    top = float(counts.max(initial=0.0))
    dtype = next(t for t in (np.uint8, np.uint16, np.uint32, np.uint64) if top <= np.iinfo(t).max)
    out = cast("npt.NDArray[np.unsignedinteger[Any]]", counts.astype(dtype))
    assert np.array_equal(out, counts)  # whole numbers: nothing is lost
    return out


def _check_chunks(
    chunks: Sequence[SimChunk], *, replications: int, seed: int, fingerprint: str
) -> list[SimChunk]:
    """The chunks in replication order, once it is checked that they are of this simulation
    (seed, inputs) and cover replications 0 … ``replications`` − 1 exactly once."""
    if not chunks:
        raise InputError("chunks: none given", field="chunks", expected="at least one chunk")
    for i, c in enumerate(chunks):
        if not isinstance(c, SimChunk):
            raise InputError(
                f"chunks: item {i} is a {type(c).__name__}",
                field="chunks",
                row=i,
                expected="SimChunk objects",
            )
        if c.seed != seed:
            raise InputError(
                f"chunks: chunk {i} (replications {c.first}…{c.stop - 1}) has seed {c.seed}, "
                f"not {seed}",
                field="seed",
                row=i,
                expected=f"chunks simulated with seed {seed}",
            )
        if c.fingerprint != fingerprint:
            raise InputError(
                f"chunks: chunk {i} (replications {c.first}…{c.stop - 1}) was simulated from "
                "other inputs or options",
                field="chunks",
                row=i,
                expected="chunks of the same demand, schedule, agents, projects and options",
            )
    ordered = sorted(chunks, key=lambda c: (c.first, c.stop))
    at = 0
    for c in ordered:
        if c.first > at:
            raise InputError(
                f"chunks: replications {at}…{c.first - 1} are missing",
                field="chunks",
                row=at,
                expected=f"chunks covering replications 0…{replications - 1} once each",
            )
        if c.first < at:
            raise InputError(
                f"chunks: replication {c.first} is in more than one chunk",
                field="chunks",
                row=c.first,
                expected=f"chunks covering replications 0…{replications - 1} once each",
            )
        at = c.stop
    if at != replications:
        what = (
            f"replications {at}…{replications - 1} are missing"
            if at < replications
            else f"the chunks run to replication {at - 1}, beyond {replications - 1}"
        )
        raise InputError(
            f"chunks: {what}",
            field="chunks",
            row=min(at, replications),
            expected=f"chunks covering replications 0…{replications - 1} once each",
        )
    return ordered


def _combine(
    setup: _Setup,
    chunks: Sequence[SimChunk],
    *,
    replications: int,
    seed: int,
    records: list[pd.DataFrame] | None,
) -> SimResult:
    """The result of replications 0 … ``replications`` − 1 from chunks already checked and in
    replication order: their statistics concatenated, then the frames."""
    inp, avail = setup.inp, setup.avail
    stats = np.concatenate([c.stats for c in chunks])
    occ_busy = np.concatenate([c.occ_busy for c in chunks])
    agent_busy = np.concatenate([c.agent_busy for c in chunks])
    agent_overrun = np.concatenate([c.agent_overrun for c in chunks])
    # available time does not depend on the draws: the same in every replication
    per_project = inp.holds.T.astype(np.float64) @ avail
    occ_avail = np.broadcast_to(per_project, occ_busy.shape)
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
        records=pd.concat(records, ignore_index=True) if records is not None else None,
        replications=replications,
        seed=seed,
    )


def _check_replications(replications: int) -> None:
    if isinstance(replications, bool) or replications < 2:
        raise InputError(
            "replications: at least 2 are needed for a confidence interval",
            field="replications",
            expected="an integer >= 2",
        )


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
    ``queue_len`` in the KPIs is the time-average number of callers waiting.

    This is ``simulate_replications`` over replications 0 … ``replications`` − 1 followed by
    ``combine_replications`` (one code path; the inputs are prepared once): splitting the
    replications into chunks gives the same frames bit for bit."""
    _check_replications(replications)
    setup = _setup(
        demand, schedule, agents, projects, interval_min=interval_min, seed=seed,
        handle_dist=handle_dist, handle_cv=handle_cv, rate_cv=rate_cv,
        short_abandon_s=short_abandon_s, routing=routing,
    )  # fmt: skip
    chunk, found = _replicate(setup, seed=seed, first=0, count=replications, records=records)
    return _combine(
        setup, [chunk], replications=replications, seed=seed, records=found if records else None
    )


def simulate_replications(
    demand: pd.DataFrame,
    schedule: pd.DataFrame,
    agents: Mapping[str, Sequence[str]],
    projects: Mapping[str, SimProject],
    *,
    interval_min: int,
    seed: int = 1,
    first: int = 0,
    count: int,
    handle_dist: HandleDist = "exponential",
    handle_cv: float = 1.0,
    rate_cv: float | str = 0.0,
    short_abandon_s: float = 0.0,
    routing: Routing = "longest_wait",
) -> SimChunk:
    """Replications ``first`` … ``first + count - 1`` of ``simulate`` (same inputs and
    options) as a ``SimChunk``: the raw per-replication statistics, no frames, no records.
    Chunks covering 0 … R − 1 once each, combined by ``combine_replications``, give exactly
    ``simulate(..., replications=R)``."""
    for name, value, least in (("first", first, 0), ("count", count, 1)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
            raise InputError(
                f"{name}: {value!r} is invalid",
                field=name,
                expected=f"an integer >= {least}",
            )
    setup = _setup(
        demand, schedule, agents, projects, interval_min=interval_min, seed=seed,
        handle_dist=handle_dist, handle_cv=handle_cv, rate_cv=rate_cv,
        short_abandon_s=short_abandon_s, routing=routing,
    )  # fmt: skip
    chunk, _ = _replicate(setup, seed=seed, first=int(first), count=int(count), records=False)
    return chunk


def combine_replications(
    chunks: Sequence[SimChunk],
    demand: pd.DataFrame,
    schedule: pd.DataFrame,
    agents: Mapping[str, Sequence[str]],
    projects: Mapping[str, SimProject],
    *,
    interval_min: int,
    replications: int,
    seed: int = 1,
    handle_dist: HandleDist = "exponential",
    handle_cv: float = 1.0,
    rate_cv: float | str = 0.0,
    short_abandon_s: float = 0.0,
    routing: Routing = "longest_wait",
) -> SimResult:
    """The ``SimResult`` of ``simulate(..., replications=replications)`` from chunks of
    ``simulate_replications`` (any order): raises ``InputError`` unless they cover
    replications 0 … ``replications`` − 1 exactly once, with this ``seed`` and these inputs
    and options (their fingerprint). ``records`` is ``None``."""
    _check_replications(replications)
    setup = _setup(
        demand, schedule, agents, projects, interval_min=interval_min, seed=seed,
        handle_dist=handle_dist, handle_cv=handle_cv, rate_cv=rate_cv,
        short_abandon_s=short_abandon_s, routing=routing,
    )  # fmt: skip
    ordered = _check_chunks(
        chunks, replications=replications, seed=seed, fingerprint=setup.fingerprint
    )
    return _combine(setup, ordered, replications=replications, seed=seed, records=None)


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
