"""Staffing benchmark: wfm.staffing against pyworkforce 0.5.1 (its ErlangC), same run, same data.

Run by ``make bench`` (``bash bench/run.sh``) in the benchmark venv ``.venv-bench``, which alone
has pyworkforce. Writes BENCHMARKS.md and prints the results table.

Workload: 10 projects × 14 days × 96 quarter-hours = 13,440 intervals, generated from a fixed
numpy seed: per project a daily volume, a weekday pattern, an intraday double-peak profile
(nights near zero, every interval at least one call: pyworkforce rejects zero), Poisson calls
around it, an AHT with mild intraday variation, a service-level target and a patience.

Measured: wfm Erlang C and Erlang A on all intervals at once (arrays; best of several repeats,
after a warm-up for numba), and pyworkforce's ErlangC one interval at a time. Every answer is
checked against an exact reference written here with plain floats (no wfm code), with mpmath
settling the borderline cases.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import math
import platform
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TypeVar

import mpmath
import numpy as np
import numpy.typing as npt

from wfm.staffing import required_agents

T = TypeVar("T")
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

SEED = 20260406
N_DAYS = 14
PER_DAY = 96
INTERVAL_S = 900.0
# Monday … Sunday, relative to a mid-week day; Saturday and Sunday come from each project
WEEKDAY = (1.18, 1.06, 1.0, 0.98, 0.93)
BORDERLINE = 1e-9
WFM_REPEATS = 7
PYWF_REPEATS = 3
PYWF_SLOW_S = 20.0


@dataclass(frozen=True, slots=True)
class Project:
    name: str
    daily_calls: float  # mean calls on a mid-week day
    aht_s: float
    sl_target: float
    answer_within_s: float
    patience_s: float
    saturday: float  # weekend volume relative to a mid-week day
    sunday: float
    open_h: float  # hours at which the daytime plateau rises and falls
    close_h: float


PROJECTS = (
    Project("Telecom care", 8000, 420, 0.80, 20, 180, 0.62, 0.45, 7.5, 21.0),
    Project("Bank cards", 7000, 240, 0.90, 30, 120, 0.55, 0.40, 7.0, 22.0),
    Project("Energy billing", 5200, 360, 0.70, 30, 240, 0.30, 0.10, 8.0, 19.0),
    Project("ISP tech support", 3200, 600, 0.80, 60, 300, 0.70, 0.60, 8.0, 22.0),
    Project("Retail orders", 4500, 210, 0.80, 20, 90, 0.85, 0.70, 8.0, 21.0),
    Project("Insurance claims", 1500, 540, 0.80, 60, 270, 0.25, 0.05, 8.0, 18.0),
    Project("Travel bookings", 2400, 480, 0.70, 30, 150, 0.80, 0.65, 8.0, 21.0),
    Project("Transit info line", 6500, 60, 0.50, 120, 60, 0.75, 0.60, 6.0, 23.0),
    Project("Health helpline", 900, 300, 0.90, 30, 200, 0.60, 0.55, 7.0, 22.0),
    Project("B2B software support", 350, 450, 0.80, 20, 240, 0.08, 0.04, 8.0, 18.0),
)


@dataclass(frozen=True, slots=True)
class Workload:
    project: IntArray
    calls: FloatArray  # whole calls, >= 1
    aht_s: FloatArray
    sl_target: FloatArray
    answer_within_s: FloatArray
    patience_s: FloatArray

    @property
    def load(self) -> FloatArray:
        result: FloatArray = self.calls * self.aht_s / INTERVAL_S
        return result


def _profile(rng: np.random.Generator, p: Project) -> FloatArray:
    """Share of a day's calls per quarter-hour: morning and afternoon peaks on a plateau."""
    h = (np.arange(PER_DAY) + 0.5) / 4.0
    rise = 1.0 / (1.0 + np.exp(-(h - p.open_h) * 2.2))
    fall = 1.0 / (1.0 + np.exp((h - p.close_h) * 1.6))
    am = rng.uniform(9.75, 11.0)
    pm = rng.uniform(14.0, 15.75)
    pm_height = rng.uniform(0.6, 0.95)
    day = (
        0.45
        + np.exp(-0.5 * ((h - am) / 1.3) ** 2)
        + pm_height * np.exp(-0.5 * ((h - pm) / 1.7) ** 2)
    )
    shape = rise * fall * day + 0.008
    result: FloatArray = shape / shape.sum()
    return result


def make_workload(seed: int = SEED) -> Workload:
    rng = np.random.default_rng(seed)
    h = (np.arange(PER_DAY) + 0.5) / 4.0
    cols: dict[str, list[FloatArray]] = {k: [] for k in ("calls", "aht", "sl", "t", "pat", "prj")}
    for j, p in enumerate(PROJECTS):
        share = _profile(rng, p)
        week = (*WEEKDAY, p.saturday, p.sunday)
        # handle times run ~6 % longer at night than mid-afternoon
        aht_shape = 1.0 + 0.06 * np.cos(2.0 * np.pi * (h - 3.0) / 24.0)
        for d in range(N_DAYS):
            volume = p.daily_calls * week[d % 7] * rng.normal(1.0, 0.05)
            noise = rng.lognormal(0.0, 0.08, PER_DAY)  # forecast-level wiggle per interval
            expected = volume * share * noise
            calls = np.maximum(rng.poisson(expected), 1).astype(np.float64)
            aht = np.round(p.aht_s * aht_shape * rng.normal(1.0, 0.02), 1)
            cols["calls"].append(calls)
            cols["aht"].append(aht)
            cols["sl"].append(np.full(PER_DAY, p.sl_target))
            cols["t"].append(np.full(PER_DAY, p.answer_within_s))
            cols["pat"].append(np.full(PER_DAY, p.patience_s))
            cols["prj"].append(np.full(PER_DAY, float(j)))
    return Workload(
        project=np.concatenate(cols["prj"]).astype(np.int64),
        calls=np.concatenate(cols["calls"]),
        aht_s=np.concatenate(cols["aht"]),
        sl_target=np.concatenate(cols["sl"]),
        answer_within_s=np.concatenate(cols["t"]),
        patience_s=np.concatenate(cols["pat"]),
    )


# --- exact reference: plain Python floats, Erlang B recursion, linear search -----------------


def ref_sl(a: float, n: int, t_s: float, aht_s: float) -> float:
    """Erlang C service level with n > a agents (plain floats)."""
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    c = n * b / (n - a * (1.0 - b))
    return 1.0 - c * math.exp(-(n - a) * t_s / aht_s)


def ref_agents(a: float, t_s: float, aht_s: float, target: float) -> tuple[int, float, float]:
    """Minimal N with SL >= target; returns (N, SL(N), SL(N − 1) or -inf if N − 1 <= a)."""
    n = math.floor(a) + 1
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    prev = -math.inf
    while True:
        c = n * b / (n - a * (1.0 - b))
        sl = 1.0 - c * math.exp(-(n - a) * t_s / aht_s)
        if sl >= target:
            return n, sl, prev
        prev = sl
        n += 1
        b = a * b / (n + a * b)


def mp_agents(calls: float, aht_s: float, t_s: float, target: float) -> int:
    """The same search in 60-digit arithmetic, from the exact inputs."""
    with mpmath.workdps(60):
        a = mpmath.mpf(calls) * mpmath.mpf(aht_s) / mpmath.mpf(INTERVAL_S)
        goal = mpmath.mpf(target)
        n = int(mpmath.floor(a)) + 1
        b = mpmath.mpf(1)
        for k in range(1, n + 1):
            b = a * b / (k + a * b)
        while True:
            c = n * b / (n - a * (1 - b))
            sl = 1 - c * mpmath.exp(-(n - a) * mpmath.mpf(t_s) / mpmath.mpf(aht_s))
            if sl >= goal:
                return n
            n += 1
            b = a * b / (n + a * b)


@dataclass(frozen=True, slots=True)
class Reference:
    agents: IntArray
    borderline: int  # intervals settled by mpmath
    changed_by_mpmath: int


def reference(w: Workload) -> Reference:
    load = w.load
    out = np.empty(load.shape[0], dtype=np.int64)
    borderline = changed = 0
    for i in range(load.shape[0]):
        a = float(load[i])
        t_s = float(w.answer_within_s[i])
        aht = float(w.aht_s[i])
        target = float(w.sl_target[i])
        n, sl, prev = ref_agents(a, t_s, aht, target)
        if abs(sl - target) < BORDERLINE or abs(prev - target) < BORDERLINE:
            borderline += 1
            exact = mp_agents(float(w.calls[i]), aht, t_s, target)
            changed += exact != n
            n = exact
        out[i] = n
    return Reference(agents=out, borderline=borderline, changed_by_mpmath=changed)


# --- the engines under test ---------------------------------------------------------------------


def best_of(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    best = math.inf
    result: T | None = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    assert result is not None
    return best, result


def run_wfm(w: Workload, model: str) -> IntArray:
    if model == "erlang_a":
        r = required_agents(
            w.calls,
            w.aht_s,
            interval_s=INTERVAL_S,
            sl_target=w.sl_target,
            answer_within_s=w.answer_within_s,
            model="erlang_a",
            patience_s=w.patience_s,
        )
    else:
        r = required_agents(
            w.calls,
            w.aht_s,
            interval_s=INTERVAL_S,
            sl_target=w.sl_target,
            answer_within_s=w.answer_within_s,
            model="erlang_c",
        )
    return r.agents


def run_pyworkforce(
    calls: list[float], aht_s: list[float], within_s: list[float], target: list[float]
) -> list[int]:
    from pyworkforce.queuing import ErlangC

    out: list[int] = []
    for x, aht, t_s, sl in zip(calls, aht_s, within_s, target, strict=True):
        # pyworkforce works in minutes; its ``asa`` is the answer-time threshold of the SL
        erlang = ErlangC(transactions=x, aht=aht / 60.0, asa=t_s / 60.0, interval=15, shrinkage=0)
        res = erlang.required_positions(service_level=sl, max_occupancy=1.0)
        out.append(int(res["raw_positions"]))
    return out


# --- report -------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _nproc() -> str:
    try:
        return subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _fmt_s(x: float) -> str:
    return f"{x * 1e3:,.1f} ms" if x < 10.0 else f"{x:,.1f} s"


def _pct(target: float) -> str:
    return f"{target * 100:.0f} %"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument(
        "--seed", type=int, default=SEED, help="workload seed (check other centres' weeks)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()

    w = make_workload(args.seed)
    n = w.calls.shape[0]
    load = w.load
    print(
        f"workload: {n} intervals, {w.calls.sum():,.0f} calls, load "
        f"{load.min():.3f}–{load.max():.1f} Erlangs",
        flush=True,
    )

    run_wfm(w, "erlang_c")  # warm-up: numba loads (or compiles) its kernels
    run_wfm(w, "erlang_a")
    t_c, wfm_c = best_of(lambda: run_wfm(w, "erlang_c"), WFM_REPEATS)
    t_a, wfm_a = best_of(lambda: run_wfm(w, "erlang_a"), WFM_REPEATS)
    print(f"wfm erlang_c {_fmt_s(t_c)}, erlang_a {_fmt_s(t_a)}", flush=True)

    lists = (
        w.calls.tolist(),
        w.aht_s.tolist(),
        w.answer_within_s.tolist(),
        w.sl_target.tolist(),
    )
    t_pw, pw_list = best_of(lambda: run_pyworkforce(*lists), 1)
    pw_repeats = 1
    if t_pw <= PYWF_SLOW_S:
        t_more, _ = best_of(lambda: run_pyworkforce(*lists), PYWF_REPEATS - 1)
        t_pw = min(t_pw, t_more)
        pw_repeats = PYWF_REPEATS
    pw = np.asarray(pw_list, dtype=np.int64)
    print(f"pyworkforce ErlangC {_fmt_s(t_pw)}", flush=True)

    ref = reference(w)
    wfm_diff = np.flatnonzero(wfm_c != ref.agents)
    pw_delta = pw - ref.agents
    pw_counts = Counter(int(d) for d in pw_delta if d != 0)
    over = sum(v for k, v in pw_counts.items() if k > 0)
    under = sum(v for k, v in pw_counts.items() if k < 0)

    # three intervals where pyworkforce is one too many: lightest, median and heaviest load
    ones = sorted((int(x) for x in np.flatnonzero(pw_delta == 1)), key=lambda x: float(load[x]))
    examples = sorted({ones[0], ones[len(ones) // 2], ones[-1]}) if ones else []
    over_by_project = Counter(
        PROJECTS[int(w.project[x])].name for x in np.flatnonzero(pw_delta > 0)
    )

    a_over_c = int(np.count_nonzero(wfm_a > wfm_c))
    a_saved = int(wfm_c.sum() - wfm_a.sum())
    speedup = t_pw / t_c
    a_ratio = t_a / t_c

    table = [
        "| engine | call | wall time | per interval | repeats (best of) |",
        "| --- | --- | ---: | ---: | ---: |",
        f'| wfm Erlang C | `required_agents(..., model="erlang_c")`, one call on arrays '
        f"| {_fmt_s(t_c)} | {t_c / n * 1e6:.2f} µs | {WFM_REPEATS} |",
        f'| wfm Erlang A | `required_agents(..., model="erlang_a", patience_s=...)` '
        f"| {_fmt_s(t_a)} | {t_a / n * 1e6:.2f} µs | {WFM_REPEATS} |",
        f"| pyworkforce {_version('pyworkforce')} Erlang C "
        f"| `ErlangC(...).required_positions(...)` per interval "
        f"| {_fmt_s(t_pw)} | {t_pw / n * 1e6:.1f} µs | {pw_repeats} |",
    ]
    ratios = [
        "| ratio | measured | goal |",
        "| --- | ---: | ---: |",
        f"| speed-up, wfm Erlang C vs pyworkforce (pyworkforce time ÷ wfm time) "
        f"| {speedup:,.0f}× | ≥ 100× {'(met)' if speedup >= 100 else '(**not met**)'} |",
        f"| wfm Erlang A time ÷ wfm Erlang C time "
        f"| {a_ratio:.2f}× | ≤ 5× {'(met)' if a_ratio <= 5 else '(**not met**)'} |",
    ]
    pw_dirs = ", ".join(
        f"{k:+d} agent{'s' if abs(k) > 1 else ''}: {v}" for k, v in sorted(pw_counts.items())
    )
    correctness = [
        "| engine | answers differing from the exact reference | of |",
        "| --- | ---: | ---: |",
        f"| wfm Erlang C | {wfm_diff.size} | {n} |",
        f"| pyworkforce Erlang C | {over + under} ({over} over, {under} under"
        f"{'; ' + pw_dirs if pw_dirs else ''}) | {n} |",
    ]
    ex_rows = [
        "| project | calls | load (Erl) | AHT (s) | target | within (s) | wfm N | SL at wfm N "
        "| pyworkforce N | SL at pyworkforce N |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for i in examples:
        a = float(load[i])
        t_s = float(w.answer_within_s[i])
        aht = float(w.aht_s[i])
        ex_rows.append(
            f"| {PROJECTS[int(w.project[i])].name} | {w.calls[i]:.0f} | {a:.3f} | {aht:.1f} "
            f"| {_pct(float(w.sl_target[i]))} | {t_s:.0f} | {wfm_c[i]} "
            f"| {ref_sl(a, int(wfm_c[i]), t_s, aht):.4f} | {pw[i]} "
            f"| {ref_sl(a, int(pw[i]), t_s, aht):.4f} |"
        )
    if not examples:
        ex_rows.append("| (none: pyworkforce was never one too many) | | | | | | | | | |")

    proj_rows = [
        "| project | calls / mid-week day | AHT (s) | target | patience (s) | load range (Erl) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for j, p in enumerate(PROJECTS):
        lj = load[w.project == j]
        proj_rows.append(
            f"| {p.name} | {p.daily_calls:,.0f} | {p.aht_s:.0f} "
            f"| {_pct(p.sl_target)} in {p.answer_within_s:.0f} s | {p.patience_s:.0f} "
            f"| {lj.min():.2f}–{lj.max():.1f} |"
        )

    wfm_bad = ""
    if wfm_diff.size:
        rows = [
            f"- interval {i}: load {load[i]!r}, AHT {w.aht_s[i]!r}, target {w.sl_target[i]!r}, "
            f"within {w.answer_within_s[i]!r}: wfm {wfm_c[i]}, reference {ref.agents[i]}"
            for i in wfm_diff[:10]
        ]
        wfm_bad = "\n\nwfm answers that differ from the reference (first 10):\n\n" + "\n".join(rows)

    over_text = (
        ", ".join(f"{name} {count}" for name, count in over_by_project.most_common()) or "none"
    )
    elapsed = time.perf_counter() - started
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    py = platform.python_version()
    scale_rows = [
        "| volume | max load (Erl) | wfm Erlang C | wfm Erlang A | pyworkforce "
        "| speed-up | A ÷ C |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for scale in (0.2, 1.0, 5.0):
        ws = dataclasses.replace(w, calls=np.maximum(np.round(w.calls * scale), 1.0))
        run_wfm(ws, "erlang_c")
        run_wfm(ws, "erlang_a")
        sc, _ = best_of(lambda ws=ws: run_wfm(ws, "erlang_c"), WFM_REPEATS)  # type: ignore[misc]
        sa, _ = best_of(lambda ws=ws: run_wfm(ws, "erlang_a"), WFM_REPEATS)  # type: ignore[misc]
        args_p = (ws.calls.tolist(), ws.aht_s.tolist(), ws.answer_within_s.tolist(),
                  ws.sl_target.tolist())  # fmt: skip
        sp, _ = best_of(lambda a=args_p: run_pyworkforce(*a), 1)  # type: ignore[misc]
        scale_rows.append(
            f"| ×{scale:g} | {ws.load.max():.0f} | {_fmt_s(sc)} | {_fmt_s(sa)} | {_fmt_s(sp)} "
            f"| {sp / sc:.0f}× | {sa / sc:.2f}× |"
        )

    md = f"""# Benchmarks

Produced by `make bench` (that is, `bash bench/run.sh`, which builds the separate venv
`.venv-bench` with `pip install -e '.[bench]'` and runs `bench/bench_staffing.py --out
BENCHMARKS.md`). pyworkforce is installed only there: it is not a dependency of wfm.

- Date: {today}
- Machine: {_nproc()} CPUs (`nproc`), {_cpu_model()}; {platform.system()} {platform.machine()}
- Versions: Python {py}, numpy {np.__version__}, numba {_version("numba")}, \
pyworkforce {_version("pyworkforce")}, mpmath {_version("mpmath")}, wfm {_version("wfm")}
- Bench script run time (workload, timings, reference check): {elapsed:.0f} s

## Staffing: required agents per interval, wfm vs pyworkforce

Workload: {n:,} intervals = {len(PROJECTS)} projects × {N_DAYS} days × {PER_DAY} quarter-hours
(interval 900 s), generated from numpy seed {SEED}: per project a daily volume, a weekday
pattern, an intraday profile with a morning and an afternoon peak and near-empty nights,
Poisson calls around it (at least 1 per interval, since pyworkforce rejects 0), and an AHT
that runs ~6 % longer at night. {w.calls.sum():,.0f} calls in all; offered load
{load.min():.3f} to {load.max():.1f} Erlangs (median {np.median(load):.1f}).

{chr(10).join(proj_rows)}

### Wall time

{chr(10).join(table)}

wfm is timed after one warm-up call (numba loads its cached kernels), as the best of
{WFM_REPEATS} calls on all {n:,} intervals at once. pyworkforce has no array interface: it is timed
as one Python loop over the intervals (`ErlangC(transactions=calls, aht=aht_s/60,
asa=answer_within_s/60, interval=15, shrinkage=0).required_positions(service_level=target,
max_occupancy=1.0)["raw_positions"]`; pyworkforce works in minutes and its `asa` argument is
the answer-time threshold of the service-level formula). pyworkforce has no Erlang A.

{chr(10).join(ratios)}

### Correctness (Erlang C)

Reference: for every interval the minimal N whose Erlang C service level
1 − C·exp(−(N − A)·t/AHT), C = N·B / (N − A(1 − B)), reaches the target, found by a linear
search from N = floor(A) + 1 with the Erlang B recursion in plain Python floats, written in the
bench script (no wfm code). Intervals whose service level at the answer, or one agent below,
is within {BORDERLINE:g} of the target are settled again in 60-digit mpmath arithmetic:
{ref.borderline} such intervals, {ref.changed_by_mpmath} of them changed by it.

{chr(10).join(correctness)}{wfm_bad}

pyworkforce starts its search at `round(A + 1)` agents, so when the fractional part of the load
is ≥ 0.5 and `floor(A) + 1` agents already meet the target (light loads, lenient targets such
as 50 % in 120 s) it returns one agent too many. Over-staffed intervals by project:
{over_text}. Examples (lightest, median and heaviest load among them):

{chr(10).join(ex_rows)}

Erlang A (patience per project, 60–300 s; abandoned calls count against the service level):
{a_saved:,} agent-intervals fewer than Erlang C in all, {a_over_c} intervals where it needs
more than Erlang C.

### Other centres: the same week at a fifth and at five times the volume

The ratio depends on the loads: pyworkforce's cost per interval grows with the square of the
agents (it recomputes Erlang B from scratch for every candidate), wfm's linearly, while wfm
pays a fixed cost per interval and per call. Same projects and profiles, calls scaled (at
least 1 per interval), timed the same way:

{chr(10).join(scale_rows)}

### Note on the numbers

This runs on a shared machine: absolute times drift from run to run with its other load,
while the ratios, measured in the same run on the same data, hold much better. Compare
ratios across runs, not milliseconds.
"""
    args.out.write_text(md)
    print()
    print("\n".join(scale_rows))
    print()
    print("\n".join(table))
    print()
    print("\n".join(ratios))
    print()
    print("\n".join(correctness) + wfm_bad)
    print(f"\npyworkforce over-staffed intervals by project: {over_text}")
    print()
    print("\n".join(ex_rows))
    print(f"\nwrote {args.out} ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
