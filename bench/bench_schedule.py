"""Shift optimizer benchmark: ``scheduler.solve_week`` on a week of the bundled samples, and
against pyworkforce 0.5.1's shift selection on one project.

(a) Multi-project week (``bench/schedule_instance.py``): the samples' five projects, 7 days ×
    96 quarter-hours, requirements from the forecasting and staffing services, scaled so the
    required agent-hours equal the pool's maximum contract hours; 150, 300 and 600 seeded
    agents with 1–3 skills. Per size: wall time, status, under-coverage against the engine's
    lower bound, over-coverage, violations found by the independent validator, stage times.
(b) One project (bank), the same integer requirement curve for both: pyworkforce's
    ``MinAbsDifference`` (how many agents start each 8.5-hour shift type each day, no
    breaks, no named agents) and ``solve_week`` with named agents, lunch, breaks and rest,
    once restricted to the same 8.5-hour shifts on the hour and once with its own rules.
    Under + over coverage in agent-hours (wfm's recomputed by the validator) and wall time.

Run by ``make bench`` (``bash bench/run.sh``) in ``.venv-bench``, which alone has pyworkforce;
``--quick`` is a smoke run (150 agents, 30 s limits). Appends a section to ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import sys
import time
import traceback
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from schedule_instance import (
    INTERVAL_MIN,
    PER_DAY,
    TIGHTNESS,
    Instance,
    make_instance,
    make_single_project_instance,
)

from scheduler import SolveParams, Weights, solve_week
from scheduler.validator import validate_schedule
from wfm.domain import ShiftRules

ROOT = Path(__file__).resolve().parents[1]
SEED = 20260427
SOLVER_SEED = 0
SIZES = (150, 300, 600)
GOAL_SIZE, GOAL_GAP, GOAL_WALL_S = 300, 0.02, 120.0
SINGLE_PROJECT = "bank"
SINGLE_AGENTS = 60  # enough that the pool never binds: the peer has no pool
SHIFT_H = 8.5  # the shared shift type: 8.5 hours, starting on the hour
H_PER_INTERVAL = INTERVAL_MIN / 60.0


# --------------------------------------------------------------------------------------------
# wfm


@dataclass
class WfmRun:
    label: str
    n_agents: int
    required_h: float
    pool_h: float
    skill_sets: int = 0
    wall_s: float = math.nan
    validate_s: float = math.nan
    sol: Any = None
    report: Any = None
    error: str | None = None
    work_h: float = math.nan
    paid_h: float = math.nan
    shifts: int = 0
    per_day: list[int] = field(default_factory=list)

    @property
    def gap(self) -> float:
        lb, under = self.sol.under_lower_bound_h, self.sol.under_h
        if lb > 0:
            return float((under - lb) / lb)
        return 0.0 if under <= 1e-9 else math.inf

    @property
    def violations(self) -> int:
        return len(self.report.violations)


def _shift_stats(run: WfmRun, schedule: pd.DataFrame, tz: str) -> None:
    """Work and paid hours, shifts, and shifts per local day of a schedule frame."""
    if schedule.empty:
        run.work_h = run.paid_h = 0.0
        return
    frame = schedule.sort_values(["agent", "start"])
    hours = (frame["end"] - frame["start"]).dt.total_seconds() / 3600.0
    run.work_h = float(hours[frame["activity"] == "work"].sum())
    run.paid_h = float(hours[frame["activity"] != "lunch"].sum())
    # a shift is a run of touching segments of one agent
    new = (frame["agent"] != frame["agent"].shift()) | (frame["start"] != frame["end"].shift())
    starts = pd.DatetimeIndex(frame.loc[new, "start"]).tz_convert(tz)
    run.shifts = int(new.sum())
    days = pd.Series(starts.date).value_counts()
    run.per_day = [int(days.get(d, 0)) for d in sorted(days.index)]


def run_wfm(
    label: str,
    inst: Instance,
    limit_s: float,
    workers: int,
    seed: int,
    weights: Weights | None = None,
) -> WfmRun:
    requirements, agents, rules, tz, week = inst
    run = WfmRun(
        label=label,
        n_agents=len(agents),
        skill_sets=len({frozenset(a.projects) for a in agents}),
        required_h=float(requirements["agents"].sum()) * H_PER_INTERVAL,
        pool_h=float(sum(a.max_hours_week for a in agents)),
    )
    params = SolveParams(time_limit_s=limit_s, workers=workers, seed=seed)
    print(f"{label}: solve_week, {len(agents)} agents, limit {limit_s:g} s ...", flush=True)
    clock = time.perf_counter()
    try:
        run.sol = solve_week(
            requirements, agents, rules, tz=tz, week=week, weights=weights, params=params
        )
    except Exception as exc:  # report it in the table, keep benchmarking
        run.wall_s = time.perf_counter() - clock
        run.error = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
        return run
    run.wall_s = time.perf_counter() - clock
    clock = time.perf_counter()
    run.report = validate_schedule(
        run.sol.schedule, agents, rules, tz=tz, requirements=requirements
    )
    run.validate_s = time.perf_counter() - clock
    _shift_stats(run, run.sol.schedule, tz)
    sol = run.sol
    print(
        f"  {run.wall_s:.1f} s, {sol.status}, under {sol.under_h:.2f} h (bound "
        f"{sol.under_lower_bound_h:.2f} h), over {sol.over_h:.2f} h; validator: "
        f"{run.violations} violations, under {run.report.under_h:.2f} h, over "
        f"{run.report.over_h:.2f} h",
        flush=True,
    )
    return run


# --------------------------------------------------------------------------------------------
# pyworkforce


@dataclass
class PeerRun:
    label: str
    shifts_text: str
    breaks_text: str
    status: str = "not run"
    wall_s: float = math.nan
    under_h: float = math.nan
    over_h: float = math.nan
    shifts: int = 0
    per_day: list[int] = field(default_factory=list)
    work_h: float = math.nan
    error: str | None = None
    n_shift_types: int = 0


def _slots(hours: float) -> int:
    return round(hours * 60 / INTERVAL_MIN)


def _with_breaks(first: int, length: int, rules: ShiftRules) -> list[int]:
    """One shift's coverage vector with one fixed pattern of lunch and breaks by ``rules``:
    a shortest lunch in the middle of its window (shifts over ``lunch_over_h``), and one
    ``break_min`` break per full ``break_every_h`` paid hours, in the middle of the work
    before and after lunch (alternately)."""
    vec = [1 if first <= p < first + length else 0 for p in range(PER_DAY)]
    lunch = _slots(rules.lunch_min_min / 60) if length > _slots(rules.lunch_over_h) else 0
    pieces = [(first, first + length)]
    if lunch:
        lo, hi = _slots(rules.lunch_start_after_h), _slots(rules.lunch_start_before_h)
        at = first + min(max((length - lunch) // 2, lo), hi)
        for p in range(at, at + lunch):
            vec[p] = 0
        pieces = [(first, at), (at + lunch, first + length)]
    n_breaks = (length - lunch) // _slots(rules.break_every_h)
    brk = _slots(rules.break_min / 60)
    for i in range(n_breaks):
        a, b = pieces[i % len(pieces)]
        if i >= len(pieces):  # a second break in the same piece: split it in thirds
            at = a + (b - a) * 2 // 3
        else:
            at = a + (b - a) // 2 - (brk // 2 if len(pieces) == 1 and n_breaks == 1 else 0)
        for p in range(at, at + brk):
            vec[p] = 0
    return vec


def shift_types(kind: str, rules: ShiftRules) -> dict[str, list[int]]:
    """pyworkforce's shift coverage, one 0/1 vector per shift type that starts and ends on the
    same day (its days are independent):

    - ``shared``: ``SHIFT_H`` (8.5) hours, starting on every whole hour;
    - ``menu``: wfm's default shift menu: ``min_shift_h`` … ``max_shift_h`` in
      ``shift_step_min`` steps, starting on the ``start_grid_min`` grid, all of it work;
    - ``menu_breaks``: the same types, each with one fixed pattern of lunch and breaks."""
    out: dict[str, list[int]] = {}
    if kind == "shared":
        length = _slots(SHIFT_H)
        for h in range(24):
            first = h * _slots(1.0)
            if first + length <= PER_DAY:
                out[f"{h:02d}:00"] = [
                    1 if first <= p < first + length else 0 for p in range(PER_DAY)
                ]
        return out
    step = _slots(rules.shift_step_min / 60)
    grid = _slots(rules.start_grid_min / 60)
    for length in range(_slots(rules.min_shift_h), _slots(rules.max_shift_h) + 1, step):
        for first in range(0, PER_DAY - length + 1, grid):
            name = f"{first * INTERVAL_MIN // 60:02d}:{first * INTERVAL_MIN % 60:02d}+{length}"
            if kind == "menu":
                out[name] = [1 if first <= p < first + length else 0 for p in range(PER_DAY)]
            else:
                out[name] = _with_breaks(first, length, rules)
    return out


def run_pyworkforce(
    peer: PeerRun, kind: str, inst: Instance, limit_s: float, workers: int
) -> PeerRun:
    try:
        from pyworkforce.scheduling import MinAbsDifference
    except ImportError as exc:
        peer.status, peer.error = "not installed", str(exc)
        return peer
    req = inst.requirements.sort_values("ts")
    values = req["agents"].to_numpy(dtype=np.float64)
    days = len(values) // PER_DAY
    assert len(values) == days * PER_DAY, "the peer needs whole days of 96 quarter-hours"
    assert (values == np.round(values)).all(), "the peer needs whole agents"
    required = values.reshape(days, PER_DAY).astype(np.int64)
    coverage = shift_types(kind, inst.rules)
    peer.n_shift_types = len(coverage)
    n_agents = len(inst.agents)
    print(f"{peer.label}: MinAbsDifference, {len(coverage)} shift types ...", flush=True)
    clock = time.perf_counter()
    model = MinAbsDifference(
        num_days=days,
        periods=PER_DAY,
        shifts_coverage=coverage,
        required_resources=required.tolist(),
        max_period_concurrency=n_agents,
        max_shift_concurrency=n_agents,
        max_search_time=float(limit_s),
        num_search_workers=workers,
    )
    # pyworkforce assigns num_search_workers to the solver object, where CP-SAT never reads
    # it; set the parameter so both optimizers use the same number of workers
    model.solver.parameters.num_workers = workers
    solution = model.solve()
    peer.wall_s = time.perf_counter() - clock
    peer.status = str(solution["status"])
    if peer.status not in ("OPTIMAL", "FEASIBLE"):
        return peer
    names = list(coverage)
    matrix = np.array([coverage[n] for n in names], dtype=np.int64)
    starts = np.zeros((days, len(names)), dtype=np.int64)
    for row in solution["resources_shifts"]:
        starts[int(row["day"]), names.index(row["shift"])] = int(row["resources"])
    diff = starts @ matrix - required
    peer.under_h = float(np.clip(-diff, 0, None).sum()) * H_PER_INTERVAL
    peer.over_h = float(np.clip(diff, 0, None).sum()) * H_PER_INTERVAL
    peer.shifts = int(starts.sum())
    peer.per_day = [int(x) for x in starts.sum(axis=1) if x > 0]
    peer.work_h = float((starts @ matrix).sum()) * H_PER_INTERVAL
    print(
        f"  {peer.wall_s:.1f} s, {peer.status}, under {peer.under_h:.2f} h, "
        f"over {peer.over_h:.2f} h",
        flush=True,
    )
    return peer


# --------------------------------------------------------------------------------------------
# report


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    libs = ", ".join(f"{p} {_version(p)}" for p in ("ortools", "pyworkforce", "numpy", "pandas"))
    return (
        f"{cpu}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; {libs}; load average over the last minute "
        f"{os.getloadavg()[0]:.2f} (other work on the machine slows every figure)"
    )


def met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _pct(x: float) -> str:
    return "∞" if math.isinf(x) else f"{x * 100:.2f} %"


def _stages(sol: Any) -> str:
    return ", ".join(f"{s.name} {s.wall_s:.1f} s ({s.status})" for s in sol.stages) or "—"


def _rules_text(rules: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(rules.items())) or "none"


def size_rows(runs: Sequence[WfmRun]) -> list[str]:
    lines = [
        "| agents | skill sets | required agent-h | pool max h | wall time | status | under h "
        "| lower bound h | gap to bound | over h | validator violations | stages |",
        "| ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in runs:
        head = (
            f"| {r.n_agents} | {r.skill_sets} | {r.required_h:,.0f} | {r.pool_h:,.0f} "
            f"| {r.wall_s:.1f} s"
        )
        if r.error is not None:
            lines.append(f"{head} | **error** | {r.error} | | | | | |")
            continue
        s = r.sol
        lines.append(
            f"{head} | {s.status} | {s.under_h:,.1f} | {s.under_lower_bound_h:,.1f} "
            f"| {_pct(r.gap)} | {s.over_h:,.1f} | {r.violations}"
            f"{' (' + _rules_text(r.report.by_rule()) + ')' if r.violations else ''} "
            f"| {_stages(s)} |"
        )
    return lines


def check_rows(runs: Sequence[WfmRun]) -> list[str]:
    """The engine's own coverage figures against the validator's recomputation."""
    lines = [
        "| agents | under h: engine / validator | over h: engine / validator "
        "| work h | paid h | shifts | objective | bound | validator time |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in runs:
        if r.error is not None:
            continue
        s, v = r.sol, r.report
        lines.append(
            f"| {r.n_agents} | {s.under_h:,.2f} / {v.under_h:,.2f} | {s.over_h:,.2f} / "
            f"{v.over_h:,.2f} | {r.work_h:,.1f} | {r.paid_h:,.1f} | {r.shifts} "
            f"| {s.objective:,.1f} | {s.bound:,.1f} | {r.validate_s:.1f} s |"
        )
    return lines


def split_rows(runs: Sequence[WfmRun]) -> list[str]:
    """The engine's split of under-coverage above the per-agent bound (``gap_split``)."""
    lines = [
        "| agents | under h | per-agent bound h | above it: agents' weeks h "
        "| above it: coverage h | agents with a share | their shares, most common (h × agents) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in runs:
        split = None if r.error is not None else r.sol.gap_split
        if split is None:
            continue
        counts = Counter(round(h, 2) for _, h in split.agents)
        common = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        lines.append(
            f"| {r.n_agents} | {r.sol.under_h:,.1f} | {split.bound_h:,.1f} "
            f"| {split.agents_h:,.1f} | {split.slots_h:,.1f} | {len(split.agents)} "
            f"| {', '.join(f'{h:g} × {n}' for h, n in common)} |"
        )
    return lines


def penalty_rows(run: WfmRun) -> list[str]:
    if run.error is not None or not run.sol.penalties:
        return []
    lines = [
        f"Objective terms at {run.n_agents} agents:",
        "",
        "| penalty | value | unit | weight | cost |",
        "| --- | ---: | --- | ---: | ---: |",
    ]
    for p in run.sol.penalties:
        lines.append(f"| {p.name} | {p.value:,.2f} | {p.unit} | {p.weight:g} | {p.cost:,.1f} |")
    return [*lines, ""]


def peer_rows(rows: Sequence[PeerRun | tuple[WfmRun, str]], required_h: float) -> list[str]:
    lines = [
        "| optimizer | shift types | lunch and breaks | named agents, rest, days/week "
        "| wall time | status | under h | over h | under + over h | work h "
        "| shifts (per open day) | validator violations |",
        "| --- | --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for row in rows:
        if isinstance(row, PeerRun):
            head = (
                f"| pyworkforce {_version('pyworkforce')} `MinAbsDifference` "
                f"| {row.shifts_text} ({row.n_shift_types} a day) | {row.breaks_text} | no"
            )
            if row.status == "not installed":
                lines.append(f"{head} | — | not installed | | | | | | |")
                continue
            lines.append(
                f"{head} | {row.wall_s:.1f} s | {row.status} | {row.under_h:,.1f} "
                f"| {row.over_h:,.1f} | {row.under_h + row.over_h:,.1f} | {row.work_h:,.1f} "
                f"| {row.shifts} ({', '.join(map(str, row.per_day))}) | — |"
            )
            continue
        r, shifts = row
        head = (
            f"| wfm `solve_week` | {shifts} | 30–60 min lunch anywhere in its window, "
            "15-min breaks, placed by the optimizer | yes"
        )
        if r.error is not None:
            lines.append(f"{head} | {r.wall_s:.1f} s | **error** {r.error} | | | | | | |")
            continue
        v = r.report
        lines.append(
            f"{head} | {r.wall_s:.1f} s | {r.sol.status} | {v.under_h:,.1f} | {v.over_h:,.1f} "
            f"| {v.under_h + v.over_h:,.1f} | {r.work_h:,.1f} "
            f"| {r.shifts} ({', '.join(map(str, r.per_day))}) | {r.violations}"
            f"{' (' + _rules_text(v.by_rule()) + ')' if r.violations else ''} |"
        )
    lines.append("")
    lines.append(
        f"Required: {required_h:,.1f} agent-hours. Work h: the agent-hours each counts against "
        "the curve (pyworkforce: every quarter-hour its shift vectors cover; wfm: `work` "
        "segments). wfm's stages and bound: "
        + "; ".join(
            f"{shifts.split(':')[0]}: lower bound on under-coverage "
            f"{r.sol.under_lower_bound_h:,.2f} h, stages {_stages(r.sol)}"
            for r, shifts in (row for row in rows if not isinstance(row, PeerRun))
            if r.error is None
        )
        + "."
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--quick", action="store_true", help="smoke run: 150 agents, 30 s")
    parser.add_argument(
        "--sizes", type=str, default=None, help="agents, comma-separated; none: only the peer"
    )
    parser.add_argument("--time-limit", type=float, default=None, help="seconds per solve")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=SEED, help="instance seed")
    parser.add_argument("--skip-peer", action="store_true", help="only part (a)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    limit = args.time_limit or (30.0 if args.quick else 120.0)
    if args.sizes == "none":
        sizes: tuple[int, ...] = ()
    elif args.sizes:
        sizes = tuple(int(x) for x in args.sizes.split(","))
    else:
        sizes = (150,) if args.quick else SIZES

    clock = time.perf_counter()
    make_instance(10, args.seed)  # the forecast and the staffing, once (cached)
    build_s = time.perf_counter() - clock
    runs: list[WfmRun] = []
    for n in sizes:
        inst = make_instance(n, args.seed)
        runs.append(run_wfm(f"{n} agents", inst, limit, args.workers, SOLVER_SEED))

    peers: list[PeerRun] = []
    fixed = own = None
    single = None
    if not args.skip_peer:
        single = make_single_project_instance(SINGLE_PROJECT, n_agents=SINGLE_AGENTS)
        single_rules = single.rules
        menu = (
            f"{single_rules.min_shift_h:g}–{single_rules.max_shift_h:g} h in "
            f"{single_rules.shift_step_min}-min steps, starts every "
            f"{single_rules.start_grid_min} min"
        )
        for kind, label, shifts_text, breaks_text in (
            ("shared", "pyworkforce, 8.5 h", f"{SHIFT_H:g} h, starts on the hour", "none"),
            ("menu", "pyworkforce, wfm's menu", menu, "none"),
            (
                "menu_breaks",
                "pyworkforce, wfm's menu with breaks",
                menu,
                "one fixed pattern per type: 30-min lunch mid-shift, 15-min breaks mid-way "
                "before and after it",
            ),
        ):
            peer = PeerRun(label=label, shifts_text=shifts_text, breaks_text=breaks_text)
            peers.append(run_pyworkforce(peer, kind, single, limit, args.workers))
        shared = make_single_project_instance(
            SINGLE_PROJECT,
            n_agents=SINGLE_AGENTS,
            min_shift_h=SHIFT_H,
            max_shift_h=SHIFT_H,
            start_grid_min=60,
        )
        # the peer weighs under and over alike: so does wfm here
        even = Weights(under_per_agent_h=1.0, over_per_agent_h=1.0)
        fixed = run_wfm("bank, 8.5 h shifts", shared, limit, args.workers, SOLVER_SEED, even)
        own = run_wfm("bank, own rules", single, limit, args.workers, SOLVER_SEED, even)

    # ---------------------------------------------------------------------- the section
    command = "`.venv-bench/bin/python bench/bench_schedule.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    command = command.rstrip() + "`"
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    first = runs[0] if runs else None
    lines = [
        "",
        "## Shift optimizer" + (" (quick smoke run)" if args.quick else ""),
        "",
        f"{command} (run by `make bench`), {today}. `scheduler.solve_week(requirements, "
        f"agents, rules, tz=..., week=..., params=SolveParams(time_limit_s={limit:g}, "
        f"workers={args.workers}, seed={SOLVER_SEED}))`, default `Weights`; every schedule is "
        "checked afterwards by the independent validator "
        "`scheduler.validator.validate_schedule(..., requirements=...)`, which also "
        "recomputes under- and over-coverage. Wall time is the whole `solve_week` call.",
        "",
        "### Multi-project week",
        "",
        "Instance (`bench/schedule_instance.py`, `make_instance(n_agents, seed)`, seed "
        f"{args.seed}): the bundled samples' week after the history (Mon 2026-04-27 … Sun "
        "2026-05-03, Europe/Berlin), 5 projects (bank, retail, techsupport, chat, outbound) × "
        "7 days × 96 quarter-hours. Requirements: `history.csv` forecast by "
        '`wfm.services.forecasting.forecast(model="auto", horizon_days=7)`, then the '
        "staffing service's base requirements (`wfm.services.staffing.whatif`: Erlang C at each "
        "contract's target; chat at concurrency 2; outbound by the service's dialling model, "
        "kept as the fifth project), 0 where the project is closed (opening hours in the "
        f"rules; the 1 May holiday closes bank and chat); built in {build_s:.1f} s. Then "
        f"scaled so the required agent-hours are {TIGHTNESS:.2f} × the pool's maximum contract "
        "hours; contract hours are paid hours including breaks, so full coverage is "
        "impossible and the lower bound on under-coverage is non-trivial. Agents from a "
        "seeded numpy Generator: 1–3 skills (preferred skill in proportion to the projects' "
        "hours), 60 % full-time 38–40 h / 5 days, 40 % part-time 20 h minimum, 24–30 h "
        "maximum, 4–5 days; about a third with an availability window (day, evening, or "
        "night for techsupport), 20 % with 1–2 days off, 30 % with a preferred start. "
        "Default `ShiftRules` (issue 6): 4–10 h shifts, 11 h rest, ≤ 5 days, lunch over "
        "6 h, a 15-min break per 4 paid hours, 1-h project blocks.",
        "",
    ]
    lines += size_rows(runs)
    lines += [
        "",
        "Gap to bound = (under − lower bound) ÷ lower bound, with the engine's "
        "`under_lower_bound_h`: a bound for any schedule of the optimizer's shift types that "
        "keeps the hard rules — the largest of stage 1's LP bound (stage `shape LP: "
        "under-coverage bound`), the per-agent Lagrangian bound at that LP's dual prices "
        "(stage `bound: per agent at stage 1's prices`, `scheduler/_bound.py`) and, where "
        "stage 2 runs the master LP, the best Lagrangian bound its rounds met (the bound "
        "column of stage `assign: master LP's heaviest weeks`, in cost units). Stages: "
        "the engine's `StageReport`s (name, wall time, CP-SAT status).",
        "",
    ]
    goal = next((r for r in runs if r.n_agents == GOAL_SIZE and r.error is None), None)
    if goal is not None:
        lines += [
            f"- Goal at {GOAL_SIZE} agents, under-coverage within {GOAL_GAP * 100:.0f} % of the "
            f"lower bound: {met(goal.gap <= GOAL_GAP)} ({_pct(goal.gap)}).",
            f"- Goal ≤ {GOAL_WALL_S:.0f} s on {args.workers} workers: "
            f"{met(goal.wall_s <= GOAL_WALL_S)} ({goal.wall_s:.1f} s).",
            f"- Goal zero validator violations: {met(goal.violations == 0)} ({goal.violations}).",
            "",
        ]
    elif args.quick and first is not None and first.error is None:
        lines += [
            f"- Smoke run at {first.n_agents} agents, {limit:g} s: gap to bound "
            f"{_pct(first.gap)}, {first.violations} validator violations.",
            "",
        ]
    lines += [
        "The engine's coverage against the validator's recomputation, and the schedule's size:",
        "",
        *check_rows(runs),
        "",
        "Where the under-coverage above the per-agent bound comes from (`gap_split`, exact: "
        "under = bound + agents' weeks + coverage). An agent's share: what its best relaxed "
        "week collects at the bound's prices less what its own week collects — at prices of "
        "1 that is work it could still do (a week with fewer breaks per paid hour, hours "
        "below the contract's reachable maximum); the coverage's share: over-coverage, and "
        "agents missing where the price is below 1:",
        "",
        *split_rows(runs),
        "",
    ]
    if goal is not None:
        lines += penalty_rows(goal)
    elif first is not None:
        lines += penalty_rows(first)

    if peers and fixed is not None and own is not None and single is not None:
        required_h = float(single.requirements["agents"].sum()) * H_PER_INTERVAL
        a0 = single.agents[0]
        lines += [
            "### One project against pyworkforce",
            "",
            f"The bank project's unscaled Erlang C requirements for the same week (whole "
            f"agents, as pyworkforce needs integers; Mon–Sat 08:00–20:00, closed on 1 May; "
            f"peak {int(single.requirements['agents'].max())}), the same curve for every row. "
            "pyworkforce `MinAbsDifference(num_days=7, periods=96, shifts_coverage=..., "
            f"required_resources=..., max_period_concurrency={SINGLE_AGENTS}, "
            f"max_shift_concurrency={SINGLE_AGENTS}, max_search_time={limit:g})` chooses how "
            "many agents start each shift type each day, minimising Σ |scheduled − required| "
            "over the quarter-hours; a shift type is a 0/1 vector over the day's 96 "
            "quarter-hours, so it must start and end the same day and cannot move its "
            "breaks. pyworkforce sets its worker count on the solver object, where CP-SAT "
            f"does not read it; the benchmark sets `solver.parameters.num_workers = "
            f"{args.workers}` for it. Three sets of shift types for it: {SHIFT_H:g}-hour "
            "shifts on the hour (the shared set), wfm's default shift menu with every "
            "quarter-hour counted as work, and the same menu with one fixed lunch-and-breaks "
            "pattern per type (what a planner can give pyworkforce to honour breaks). wfm: "
            f"{SINGLE_AGENTS} named agents holding only bank ({a0.min_hours_week:g}–"
            f"{a0.max_hours_week:g} h, ≤ {a0.max_days_week} days, no windows or days off, "
            "11 h rest), first restricted to the shared set (`ShiftRules(min_shift_h=8.5, "
            "max_shift_h=8.5, start_grid_min=60)`), then with its default rules; both with "
            "`Weights(under_per_agent_h=1, over_per_agent_h=1)`, the peer's objective (the "
            "default weights price under-coverage 10× over-coverage). Coverage: "
            "pyworkforce's from its per-quarter-hour agents against the requirements; wfm's "
            "recomputed by the validator.",
            "",
            *peer_rows(
                [
                    peers[0],
                    (fixed, f"{SHIFT_H:g} h, starts on the hour"),
                    peers[1],
                    peers[2],
                    (own, "its default rules: " + peers[1].shifts_text),
                ],
                required_h,
            ),
            "",
        ]
        for r, p, what in (
            (fixed, peers[0], f"both on {SHIFT_H:g}-hour shifts on the hour"),
            (own, peers[0], "wfm's own rules against the shared set"),
            (own, peers[2], "both on wfm's shift menu with lunch and breaks"),
            (own, peers[1], "wfm's own rules against the menu without breaks"),
        ):
            theirs = p.under_h + p.over_h
            if r.error is None and not math.isnan(theirs):
                ours = r.report.under_h + r.report.over_h
                lines.append(
                    f"- wfm under + over ≤ pyworkforce's, {what}: {met(ours <= theirs)} "
                    f"({ours:,.1f} h against {theirs:,.1f} h, {ours - theirs:+,.1f} h); "
                    f"wall time {r.wall_s:.1f} s against {p.wall_s:.1f} s."
                )
        lines += [
            "",
            "Not like for like: a pyworkforce shift without breaks counts all of its hours as "
            "work on the curve, while a wfm shift over 6 h holds a 30–60 min lunch and a "
            "15-min break per 4 paid hours and belongs to a named agent with 11 h rest, "
            "≤ 5 days and contract hours; pyworkforce has no agents at all (only the cap of "
            f"{SINGLE_AGENTS} at once) and no days-per-week limit.",
            "",
        ]
    lines += [
        f"Machine: {machine()}. Benchmark run time {time.perf_counter() - started:.0f} s.",
        "",
    ]
    text = "\n".join(lines)
    with args.out.open("a", encoding="utf-8") as fh:
        fh.write(text)
    print(text)
    failed = any(r.error is not None for r in (*runs, fixed, own) if r is not None)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
