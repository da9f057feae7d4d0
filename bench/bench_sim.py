"""Time the ACD simulator ``wfm.sim.simulate`` and append the figures to BENCHMARKS.md.

1. Single skill, the same model in three simulators: one FCFS queue, Poisson arrivals,
   exponential handle times, infinite patience, N agents all day — wfm (``records=False``),
   Ciw (``ciw.create_network``, ``simulate_until_max_time``) and SimPy (``simpy.Resource``
   with generator processes). Throughput is simulated calls per second of wall time (wfm after
   one warm-up call that loads the compiled kernels); the three must agree with each other and
   with Erlang C (``wfm.staffing.service_level``).
2. A multi-skill day on the bundled samples: 5 projects, 150 agents with 1–3 skills, one
   8-hour shift each with a break and a lunch, time-varying load, patience.
3. Where wfm's time goes: the compiled event loop ``_acd.run`` against the rest of
   ``simulate`` (timed by wrapping ``_acd.run``, and the wfm.sim functions under cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import math
import os
import platform
import pstats
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypedDict, cast

import ciw
import numpy as np
import pandas as pd
import simpy
from scipy import stats

import wfm.sim._acd as acd
from wfm.sim import SimProject, simulate
from wfm.staffing import service_level

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
TZ = "Europe/Berlin"

# the single-skill model
CALLS, INTERVAL_S, AHT_S, AGENTS, HOURS, WITHIN_S = 100.0, 1800.0, 180.0, 14, 24, 20.0
LAM, MU, HORIZON_S = CALLS / INTERVAL_S, 1.0 / AHT_S, HOURS * 3600.0
WINDOW_S = (3600.0, HORIZON_S - 3600.0)  # statistics on calls arriving here (no edge effects)
TOLERANCE = 0.05  # agreement: within 5 % of Erlang C, or Erlang C inside the 95 % interval

GOAL_SINGLE, GOAL_RATIO, GOAL_MULTI = 1_000_000, 30.0, 250_000

# pstats' raw table: per function (file, line, name), its call counts, own and cumulative time
# and its callers with their counts and times
Func = tuple[str, int, str]
RawStats = dict[Func, tuple[int, int, float, float, dict[Func, tuple[int, int, float, float]]]]


class SimArgs(TypedDict):
    """The keyword arguments ``where_time_goes`` passes to every ``simulate`` call."""

    interval_min: int
    replications: int
    seed: int


class Profile(TypedDict):
    """``where_time_goes``'s figures: wall times (s) and the cProfile split by label."""

    total_s: float
    loop_s: float
    profiled_s: float
    own: dict[str, float]
    cum: dict[str, float]


@dataclass
class Run:
    """One simulator's timed run: calls simulated, wall times, per-replication statistics."""

    name: str
    calls: int
    wall_s: list[float]  # one per timing repeat (each over all replications)
    waits: list[float]  # per replication: mean wait of calls arriving in the window
    sls: list[float]  # per replication: share of those calls answered within 20 s

    @property
    def best_s(self) -> float:
        return min(self.wall_s)

    @property
    def rate(self) -> float:
        return self.calls / self.best_s


def window_stats(arrival: np.ndarray, wait: np.ndarray) -> tuple[float, float]:
    keep = (arrival >= WINDOW_S[0]) & (arrival < WINDOW_S[1])
    return float(wait[keep].mean()), float((wait[keep] <= WITHIN_S).mean())


# ---------------------------------------------------------------------------- wfm, single skill
def single_inputs() -> tuple[
    pd.DataFrame, pd.DataFrame, dict[str, tuple[str, ...]], dict[str, SimProject]
]:
    ts = pd.date_range("2026-03-02 00:00", periods=int(HORIZON_S / INTERVAL_S), freq="30min", tz=TZ)
    demand = pd.DataFrame({"project": "p", "ts": ts, "calls": CALLS, "aht_s": AHT_S})
    names = [f"A{i:02d}" for i in range(AGENTS)]
    end = ts[0] + pd.Timedelta(hours=HOURS + 3)  # staffed past the last arrival: all answered
    schedule = pd.DataFrame(
        {"agent": names, "start": ts[0], "end": end, "activity": "work", "project": None}
    )
    agents: dict[str, tuple[str, ...]] = dict.fromkeys(names, ("p",))
    projects = {"p": SimProject("p", answer_within_s=WITHIN_S, patience_s=None)}
    return demand, schedule, agents, projects


def run_wfm(
    inputs: tuple[pd.DataFrame, pd.DataFrame, Any, Any],
    interval_min: int,
    replications: int,
    repeats: int,
    seed: int = 1,
) -> tuple[int, list[float], Any]:
    demand, schedule, agents, projects = inputs
    simulate(demand, schedule, agents, projects, interval_min=interval_min, replications=2)
    walls = []
    for _ in range(repeats):
        clock = time.perf_counter()
        res = simulate(demand, schedule, agents, projects, interval_min=interval_min,
                       replications=replications, seed=seed, records=False)  # fmt: skip
        walls.append(time.perf_counter() - clock)
    calls = round(float(res.kpis["offered"].sum()) * replications)  # mean × replications
    return calls, walls, res


def wfm_single(replications: int, repeats: int) -> Run:
    inputs = single_inputs()
    calls, walls, _ = run_wfm(inputs, 30, replications, repeats)
    # the same seed gives the same calls: read the waits from the records of an untimed run
    demand, schedule, agents, projects = inputs
    res = simulate(demand, schedule, agents, projects, interval_min=30,
                   replications=replications, seed=1, records=True)  # fmt: skip
    rec = res.records
    assert rec is not None and len(rec) == calls and (rec["status"] == "served").all()
    arrival = (rec["arrival"] - demand["ts"].iloc[0]).dt.total_seconds().to_numpy()
    wait = rec["wait_s"].to_numpy()
    rep = rec["replication"].to_numpy()
    waits, sls = [], []
    for r in range(replications):
        w, s = window_stats(arrival[rep == r], wait[rep == r])
        waits.append(w)
        sls.append(s)
    return Run("wfm", calls, walls, waits, sls)


# ---------------------------------------------------------------------------------------- Ciw
def ciw_single(replications: int) -> Run:
    calls = 0
    waits, sls = [], []
    wall = 0.0
    for r in range(replications):
        clock = time.perf_counter()
        ciw.seed(r + 1)
        network = ciw.create_network(
            arrival_distributions=[ciw.dists.Exponential(rate=LAM)],
            service_distributions=[ciw.dists.Exponential(rate=MU)],
            number_of_servers=[AGENTS],
        )
        sim = ciw.Simulation(network)
        sim.simulate_until_max_time(HORIZON_S)
        wall += time.perf_counter() - clock
        calls += sim.nodes[0].number_of_individuals  # arrivals (a few still in service at 24 h)
        records = sim.get_all_records()
        arrival = np.array([x.arrival_date for x in records])
        wait = np.array([x.waiting_time for x in records])
        w, s = window_stats(arrival, wait)
        waits.append(w)
        sls.append(s)
    return Run("Ciw", calls, [wall], waits, sls)


# -------------------------------------------------------------------------------------- SimPy
def simpy_day(seed: int) -> tuple[list[float], list[float]]:
    """A standard M/M/c: a source process and one process per call on a ``simpy.Resource``."""
    rng = random.Random(seed)
    env = simpy.Environment()
    desk = simpy.Resource(env, capacity=AGENTS)
    arrivals: list[float] = []
    waits: list[float] = []

    def call(arrived: float, handle: float) -> Iterator[Any]:
        with desk.request() as request:
            yield request
            arrivals.append(arrived)
            waits.append(env.now - arrived)
            yield env.timeout(handle)

    def source() -> Iterator[Any]:
        while True:
            yield env.timeout(rng.expovariate(LAM))
            if env.now >= HORIZON_S:
                return
            env.process(call(env.now, rng.expovariate(MU)))

    env.process(source())
    env.run()
    return arrivals, waits


def simpy_single(replications: int) -> Run:
    calls = 0
    waits, sls = [], []
    wall = 0.0
    for r in range(replications):
        clock = time.perf_counter()
        arrivals, day_waits = simpy_day(r + 1)
        wall += time.perf_counter() - clock
        calls += len(arrivals)
        w, s = window_stats(np.array(arrivals), np.array(day_waits))
        waits.append(w)
        sls.append(s)
    return Run("SimPy", calls, [wall], waits, sls)


# -------------------------------------------------------------------------- multi-skill sample
def sample_site(
    day: str = "2026-04-21",
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, tuple[str, ...]], dict[str, SimProject]]:
    """The samples' demand of one day, their agents and skills, their projects' thresholds and
    patience, and a synthetic schedule: one 8-hour shift per agent (work, 15-min break after
    2 h, work, 30-min lunch after 4 h, work), starts on a 15-minute grid spread over the day
    (06:00–14:00; agents holding only techsupport, open 24/7, 00:00–16:00)."""
    history = pd.read_csv(SAMPLES / "history.csv")
    history["ts"] = pd.to_datetime(history["ts"], utc=True).dt.tz_convert(TZ)
    demand = history[history["ts"].dt.strftime("%Y-%m-%d") == day].reset_index(drop=True)
    table = pd.read_csv(SAMPLES / "projects.csv")
    projects = {}
    for row in table.itertuples():
        # float64 columns (NaN where a project has none, as outbound): each value is a float
        answer_within_s, patience_s = cast(float, row.answer_within_s), cast(float, row.patience_s)
        within = float(answer_within_s) if pd.notna(answer_within_s) else 20.0
        patience = float(patience_s) if pd.notna(patience_s) else None
        projects[str(row.project)] = SimProject(str(row.project), within, patience)
    staff = pd.read_csv(SAMPLES / "agents.csv")
    pairs = zip(staff["agent"], staff["skills"], strict=True)
    agents = {str(a): tuple(str(s).split(";")) for a, s in pairs}
    midnight = pd.Timestamp(day, tz=TZ)
    rows = []
    day_i = night_i = 0
    for name, skills in agents.items():
        if skills == ("techsupport",):
            start = midnight + pd.Timedelta(minutes=15 * ((night_i * 7) % 65))  # 00:00–16:00
            night_i += 1
        else:
            start = midnight + pd.Timedelta(hours=6, minutes=15 * ((day_i * 5) % 33))
            day_i += 1
        marks = [0, 120, 135, 240, 270, 480]  # minutes from the shift's start
        kinds = ["work", "break", "work", "lunch", "work"]
        for kind, a, b in zip(kinds, marks[:-1], marks[1:], strict=True):
            rows.append(
                {
                    "agent": name,
                    "start": start + pd.Timedelta(minutes=a),
                    "end": start + pd.Timedelta(minutes=b),
                    "activity": kind,
                    "project": None,
                }
            )
    return demand, pd.DataFrame(rows), agents, projects


# ------------------------------------------------------------------------------------ profile
@contextmanager
def timed_event_loop() -> Iterator[list[float]]:
    """Wrap ``wfm.sim._acd.run`` (looked up on the module at each call) with a stopwatch."""
    spent: list[float] = []
    original: Callable[..., None] = acd.run

    def wrapper(*args: Any) -> None:
        clock = time.perf_counter()
        original(*args)
        spent.append(time.perf_counter() - clock)

    timed: Callable[..., None] = wrapper  # takes acd.run's arguments, whatever its signature
    acd.run = timed
    try:
        yield spent
    finally:
        acd.run = original


def where_time_goes(inputs: tuple[Any, ...], interval_min: int, replications: int) -> Profile:
    """Best of 5 ``simulate`` calls with the event loop's share, then one under cProfile: the
    time split between wfm.sim's functions and what they call, and their cumulative time."""
    demand, schedule, agents, projects = inputs
    kwargs: SimArgs = {"interval_min": interval_min, "replications": replications, "seed": 1}
    simulate(demand, schedule, agents, projects, **kwargs)
    best: tuple[float, float] | None = None
    for _ in range(5):
        with timed_event_loop() as spent:
            clock = time.perf_counter()
            simulate(demand, schedule, agents, projects, **kwargs)
            total = time.perf_counter() - clock
        if best is None or total < best[0]:
            best = (total, sum(spent) if spent else math.nan)
    assert best is not None
    profiler = cProfile.Profile()
    profiler.enable()
    simulate(demand, schedule, agents, projects, **kwargs)
    profiler.disable()
    # typeshed's Stats does not declare ``stats``, the raw table it loads from the profile
    raw: RawStats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    sim_dir = str(ROOT / "wfm" / "sim")

    def ours(filename: str, name: str) -> str:
        stem = Path(filename).stem
        func = getattr(sys.modules.get(f"wfm.sim.{stem}"), name, None)
        kind = "compiled" if hasattr(func, "py_func") else "own Python"
        return f"`{stem}.{name}` ({kind})"

    # a partition of the total: each wfm.sim function's own time, and the time in whatever
    # outside code it calls directly (cumulative), labelled by library and function
    parts: dict[str, float] = {}
    cum: dict[str, float] = {}
    for (filename, _line, name), (_cc, _nc, tottime, cumtime, callers) in raw.items():
        if filename.startswith(sim_dir):
            parts[ours(filename, name)] = parts.get(ours(filename, name), 0.0) + tottime
            cum[f"`{Path(filename).stem}.{name}`"] = cumtime
            continue
        for (c_file, _l, c_name), (_c1, _n1, _t1, c_cum) in callers.items():
            if c_file.startswith(sim_dir):
                key = f"`{Path(c_file).stem}.{c_name}` → {outside(filename, name)}"
                parts[key] = parts.get(key, 0.0) + c_cum
    total_profiled = max(cum.values())
    if math.isnan(best[1]):  # the loop was not reached through the module: cProfile's figure
        best = (best[0], raw_loop(raw, sim_dir) * best[0] / total_profiled)
    return {"total_s": best[0], "loop_s": best[1], "profiled_s": total_profiled, "own": parts,
            "cum": cum}  # fmt: skip


def outside(filename: str, name: str) -> str:
    """A label for a function outside wfm.sim: numpy's by name, pandas and scipy as one."""
    if filename == "~":
        hit = re.fullmatch(r"<method '(\w+)' of 'numpy\.\w+' objects>", name) or re.fullmatch(
            r"<built-in method numpy\.(\w+)>", name
        )
        return f"numpy `{hit.group(1)}`" if hit else "Python built-ins"
    if "/numpy/" in filename:
        return f"numpy `{name}`"
    for lib in ("pandas", "scipy"):
        if f"/{lib}/" in filename:
            return lib
    return "other Python code"


def raw_loop(raw: RawStats, sim_dir: str) -> float:
    return sum(
        v[2] for (f, _l, n), v in raw.items() if f.startswith(sim_dir) and f.endswith("_acd.py")
    )


# ------------------------------------------------------------------------------------- report
def mean_ci(values: list[float]) -> tuple[float, float]:
    n = len(values)
    half = float(stats.t.ppf(0.975, n - 1)) * statistics.stdev(values) / math.sqrt(n)
    return statistics.fmean(values), half


def agrees(values: list[float], exact: float) -> bool:
    mean, half = mean_ci(values)
    return abs(mean - exact) <= TOLERANCE * exact or abs(mean - exact) <= half


def met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def profile_lines(profiles: list[tuple[str, Profile]]) -> list[str]:
    lines = []
    for title, prof in profiles:
        total, loop = prof["total_s"], prof["loop_s"]
        lines.append(
            f"- {title}: `simulate` {total * 1e3:.0f} ms, of which the compiled event loop "
            f"`_acd.run` {loop * 1e3:.0f} ms ({loop / total:.0%}) and the Python level around "
            f"it {(total - loop) * 1e3:.0f} ms ({(total - loop) / total:.0%})."
        )
    heads = " | ".join(title for title, _ in profiles)
    rule = " | ".join("---:" for _ in profiles)
    lines += [
        "",
        "Under cProfile (it slows the Python level, not the compiled code), a split that adds "
        "up to the total: each wfm.sim function's own time, and the time of the outside code "
        "it calls directly (numpy by function, pandas and scipy as a whole). cProfile does "
        "not see numpy's random draws, `np.where` or `np.bincount`: their time is their "
        "caller's own time.",
        "",
        f"| where | {heads} |",
        f"| --- | {rule} |",
    ]
    keys = sorted(
        {k for _, prof in profiles for k in prof["own"]},
        key=lambda k: -max(prof["own"].get(k, 0.0) for _, prof in profiles),
    )
    shown, rest = keys[:12], keys[12:]

    def cell(prof: Profile, value: float) -> str:
        return f"{value * 1e3:.1f} ms ({value / prof['profiled_s']:.0%})"

    for key in shown:
        cells = " | ".join(cell(p, p["own"].get(key, 0.0)) for _, p in profiles)
        lines.append(f"| {key} | {cells} |")
    cells = " | ".join(cell(p, sum(p["own"].get(k, 0.0) for k in rest)) for _, p in profiles)
    lines.append(f"| everything else | {cells} |")
    cells = " | ".join(cell(p, p["profiled_s"]) for _, p in profiles)
    lines.append(f"| **total** | {cells} |")
    lines += [
        "",
        "The wfm.sim functions' cumulative time (with what they call):",
        "",
        f"| cumulative | {heads} |",
        f"| --- | {rule} |",
    ]
    names = sorted(
        {k for _, prof in profiles for k in prof["cum"]},
        key=lambda k: -max(prof["cum"].get(k, 0.0) for _, prof in profiles),
    )
    for key in names[:10]:
        cells = " | ".join(cell(p, p["cum"].get(key, 0.0)) for _, p in profiles)
        lines.append(f"| {key} | {cells} |")
    lines.append("")
    return lines


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    libs = ", ".join(f"{p} {version(p)}" for p in ("numpy", "numba", "pandas", "ciw", "simpy"))
    return (
        f"{cpu}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; {libs}. One process, one thread each; load "
        f"average over the last minute {os.getloadavg()[0]:.2f} (other work on the machine "
        "slows every figure)."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--replications", type=int, default=200, help="wfm, per timed call")
    parser.add_argument("--peer-replications", type=int, default=100, help="Ciw and SimPy")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    wfm_run = wfm_single(args.replications, repeats=5)
    ciw_run = ciw_single(args.peer_replications)
    simpy_run = simpy_single(args.peer_replications)
    runs = [wfm_run, ciw_run, simpy_run]
    exact = service_level(CALLS, AHT_S, AGENTS, interval_s=INTERVAL_S, answer_within_s=WITHIN_S)
    exact_wait, exact_sl = float(exact.asa_s), float(exact.sl)
    ratio_ciw = wfm_run.rate / ciw_run.rate
    ratio_simpy = wfm_run.rate / simpy_run.rate
    all_agree = all(agrees(r.waits, exact_wait) and agrees(r.sls, exact_sl) for r in runs)

    multi = sample_site()
    multi_reps = args.replications // 2
    multi_calls, multi_walls, multi_res = run_wfm(multi, 15, multi_reps, repeats=5)
    multi_rate = multi_calls / min(multi_walls)
    daily = multi_res.daily
    prof_single = where_time_goes(single_inputs(), 30, args.replications)
    prof_multi = where_time_goes(multi, 15, multi_reps)

    n_int = int(HORIZON_S / INTERVAL_S)
    demand, _schedule, agents, _projects = multi
    skills = pd.Series([len(s) for s in agents.values()]).value_counts().sort_index()
    lines = [
        "",
        "## Simulation",
        "",
        "`.venv-bench/bin/python bench/bench_sim.py` (run by `make bench`): the ACD simulator "
        "`wfm.sim.simulate(..., records=False)` against the discrete-event libraries Ciw and "
        "SimPy, in one process, one after the other. Throughput = simulated calls ÷ wall "
        "time; wfm is timed after one warm-up call that loads its compiled kernels, best of 5 "
        "repeats; Ciw and SimPy are timed once over all their replications (their speed "
        "barely varies). wfm's time is the whole `simulate` call: input preparation, drawing "
        "the calls, the event loop and the KPI frames with confidence intervals.",
        "",
        "### Single skill: one model, three simulators",
        "",
        f"One FCFS queue, Poisson arrivals of {CALLS:.0f} calls per 30 min "
        f"(~{CALLS * n_int:,.0f} a day), exponential handle times (AHT {AHT_S:.0f} s), "
        f"{AGENTS} agents for {HOURS} h, infinite patience (M/M/{AGENTS}, load "
        f"{LAM / MU:.2f} Erlang, occupancy {LAM / MU / AGENTS:.0%}). wfm: {args.replications} "
        f"replications per call (agents stay 3 h past the last arrival, so every call is "
        f"answered); Ciw: `ciw.create_network` with `Exponential` arrivals and service, "
        f"`number_of_servers=[{AGENTS}]`, `simulate_until_max_time({HORIZON_S:.0f})`, "
        f"{args.peer_replications} replications; SimPy: `simpy.Resource(capacity={AGENTS})`, "
        f"a source process and one process per call, `random.expovariate`, "
        f"{args.peer_replications} replications.",
        "",
        "| simulator | replications | calls simulated | wall time | calls / s | wfm is × faster |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in runs:
        reps = args.replications if r is wfm_run else args.peer_replications
        times = f"{r.best_s:.3f} s" + (
            f" (median {statistics.median(r.wall_s):.3f} s)" if len(r.wall_s) > 1 else ""
        )
        faster = "—" if r is wfm_run else f"{wfm_run.rate / r.rate:.0f}×"
        lines.append(f"| {r.name} | {reps} | {r.calls:,} | {times} | {r.rate:,.0f} | {faster} |")
    lines += [
        "",
        f"- Goal ≥ {GOAL_SINGLE:,} calls/s single-skill: {met(wfm_run.rate >= GOAL_SINGLE)} "
        f"({wfm_run.rate:,.0f} calls/s, {wfm_run.rate / GOAL_SINGLE:.1f}× the goal).",
        f"- Goal ≥ {GOAL_RATIO:.0f}× Ciw: {met(ratio_ciw >= GOAL_RATIO)} ({ratio_ciw:.0f}×; "
        f"{ratio_simpy:.0f}× SimPy).",
        "",
        "Agreement (the three simulators and exact Erlang C): calls arriving between 01:00 "
        "and 23:00 (no start-up or end effects), mean of the per-replication values ± the "
        "half-width of their 95 % t interval; Δ = relative difference from Erlang C. A row "
        f"agrees when it is within {TOLERANCE:.0%} of Erlang C or Erlang C lies in its interval.",
        "",
        "| | mean wait (s) | Δ | P(wait ≤ 20 s) | Δ | agrees |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
        f"| Erlang C (`wfm.staffing.service_level`) | {exact_wait:.2f} | | {exact_sl:.4f} | | |",
    ]
    for r in runs:
        w, wh = mean_ci(r.waits)
        s, sh = mean_ci(r.sls)
        ok = agrees(r.waits, exact_wait) and agrees(r.sls, exact_sl)
        lines.append(
            f"| {r.name} | {w:.2f} ± {wh:.2f} | {(w - exact_wait) / exact_wait:+.1%} | "
            f"{s:.4f} ± {sh:.4f} | {(s - exact_sl) / exact_sl:+.2%} | {'yes' if ok else 'NO'} |"
        )
    pairs = []
    for i, a in enumerate(runs):
        for b in runs[i + 1 :]:
            for label, key in (("mean wait", "waits"), ("P(wait ≤ 20 s)", "sls")):
                (ma, ha), (mb, hb) = mean_ci(getattr(a, key)), mean_ci(getattr(b, key))
                same = abs(ma - mb) <= math.hypot(ha, hb) or abs(ma - mb) <= TOLERANCE * mb
                pairs.append((f"{a.name}–{b.name} {label}", (ma - mb) / mb, same))
    lines += [
        "",
        f"All three agree with Erlang C: {'yes' if all_agree else 'NO'}. Pairwise (relative "
        "difference; a pair agrees within 5 % or within the root-sum-square of the two "
        "half-widths): "
        + "; ".join(f"{name} {d:+.1%}{'' if ok else ' (differ)'}" for name, d, ok in pairs)
        + ".",
        "",
        "### Multi-skill day on the bundled samples",
        "",
        f"`data/samples`: the demand of {demand['ts'].iloc[0]:%Y-%m-%d} "
        f"({len(demand)} 15-minute rows, {int(demand['calls'].sum()):,} calls over "
        f"{demand['project'].nunique()} projects, the interval's AHT), {len(agents)} agents "
        "from `agents.csv` with their skills in priority order ("
        + ", ".join(f"{n} with {k}" for k, n in skills.items())
        + " skills), each one 8-hour shift (15-min break after 2 h, 30-min lunch after 4 h; "
        "starts on a 15-minute grid 06:00–14:00, agents holding only techsupport 00:00–16:00), "
        "exponential patience and answer thresholds from `projects.csv` (outbound, which has "
        "neither, as a queue of callers who never hang up and a 20 s threshold; chat served "
        f"one at a time: the simulator has no concurrency). {multi_reps} replications per call, "
        "exponential handle times.",
        "",
        "| what | value |",
        "| --- | ---: |",
        f"| calls simulated per `simulate` call | {multi_calls:,} |",
        f"| wall time, best of 5 (median) | {min(multi_walls):.3f} s "
        f"({statistics.median(multi_walls):.3f} s) |",
        f"| calls / s | {multi_rate:,.0f} |",
        "",
        f"- Goal ≥ {GOAL_MULTI:,} calls/s multi-skill: {met(multi_rate >= GOAL_MULTI)} "
        f"({multi_rate / GOAL_MULTI:.1f}× the goal).",
        "",
        "The day's outcome (means over the replications): "
        + "; ".join(
            f"{row.project} SL {row.sl:.0%}, ASA {row.asa_s:.0f} s, "
            f"abandoned {row.abandoned / row.offered:.1%}"
            for row in daily.itertuples()
            if row.offered > 0
        )
        + ".",
        "",
        "### Where wfm's time goes",
        "",
    ]
    lines += profile_lines(
        [
            (f"single skill, {args.replications} replications", prof_single),
            (f"multi-skill day, {multi_reps} replications", prof_multi),
        ]
    )
    lines += [
        f"Machine: {machine()} Benchmark run time {time.perf_counter() - started:.0f} s.",
        "",
    ]
    text = "\n".join(lines)
    with args.out.open("a", encoding="utf-8") as fh:
        fh.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
