"""Stage 3 — inside each shift: where lunch and breaks go and which project each chunk works.

One CP-SAT model per day (shifts starting that day), solved in date order; the work of
earlier days' shifts that reaches into this day is a constant in its coverage. Per shift:
one lunch start in its window, breaks one per equal part of the shift (not at the shift's
edges, not next to lunch or to each other), and for agents with several skills one project per
chunk (a chunk always keeps ``min_project_block_h`` of work, so every block does). The
objective is the real weighted under- and over-coverage per project and slot plus a cost per
project switch — the final coverage of the schedule.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from scheduler._agents import Expr
from scheduler._counts import REQ_SCALE, scaled_requirements
from scheduler._instance import FloatArray, Instance, IntArray
from scheduler._solve import SolverLimits, run

WORK, LUNCH, BREAK = 0, 1, 2


@dataclass(frozen=True, slots=True)
class PlacedShift:
    """A shift with every slot decided: ``activity[i]`` (WORK/LUNCH/BREAK) and
    ``project[i]`` (project index for work slots, -1 otherwise)."""

    agent: int
    day: int
    start: int
    activity: tuple[int, ...]
    project: tuple[int, ...]

    @property
    def length(self) -> int:
        return len(self.activity)

    @property
    def end(self) -> int:
        return self.start + len(self.activity)


QuickShift = tuple[int | None, list[int], list[int]]  # lunch offset, break offsets, projects


def _break_windows(length: int, lunch: int, nb: int, blen: int) -> list[tuple[int, int]]:
    """Offsets allowed for break j's start: the j-th of nb equal parts of the shift's
    interior."""
    lo, hi = 1, length - 1 - blen
    if nb <= 0 or hi < lo:
        return []
    span = hi - lo + 1
    return [(lo + span * j // nb, lo + span * (j + 1) // nb - 1) for j in range(nb)]


def _greedy_shift(
    inst: Instance,
    a: int,
    s: int,
    length: int,
    need: FloatArray,  # (P, T) agents still required (updated in place)
) -> QuickShift:
    """A quick placement for one shift: lunch and breaks where the agent's projects need the
    fewest agents, each chunk on the project that needs the most; returns (lunch offset,
    break offsets, project per chunk) and books the work in ``need``."""
    lay = inst.layout
    g = int(inst.agent_group[a])
    skills = [inst.pidx(p) for p in inst.groups[g]]
    lunch_len, nb, blen = lay.lunch_slots(length), lay.breaks(length), lay.break_len
    span = np.arange(s, s + length)
    best_need = np.max(np.where(inst.open_[skills][:, span], need[skills][:, span], -9.0), axis=0)
    off = np.zeros(length, dtype=bool)
    lunch_at: int | None = None
    if lunch_len:
        options = range(lay.lunch_lo, min(lay.lunch_hi, length - 1 - lunch_len) + 1)
        lunch_at = min(options, key=lambda o: (float(best_need[o : o + lunch_len].sum()), o))
        off[lunch_at : lunch_at + lunch_len] = True
    breaks: list[int] = []
    chunks = lay.chunks(length)
    limit_chunks = len(skills) > 1 and len(chunks) > 1

    def chunk_ok(o: int) -> bool:
        if not limit_chunks:
            return True
        for a0, b0 in chunks:
            if a0 <= o < b0:
                return int(off[a0:b0].sum()) + blen <= (b0 - a0) - lay.block
        return True

    for lo, hi in _break_windows(length, lunch_len, nb, blen):
        allowed = []
        for o in range(lo, hi + 1):
            near = off[max(0, o - 1) : min(length, o + blen + 1)]
            if not near.any() and chunk_ok(o):
                allowed.append(o)
        if not allowed:
            allowed = list(range(lo, hi + 1))
        o = min(allowed, key=lambda o: (float(best_need[o : o + blen].sum()), o))
        breaks.append(o)
        off[o : o + blen] = True
    projects = []
    for a0, b0 in lay.chunks(length):
        allowed_p = [p for p in skills if inst.open_[p, s + a0 : s + b0].all()]
        work = ~off[a0:b0]
        p = max(allowed_p, key=lambda p: (float(need[p, s + a0 : s + b0][work].sum()), -p))
        projects.append(p)
        idx = s + a0 + np.flatnonzero(work)
        need[p, idx] -= 1.0
    return lunch_at, breaks, projects


def quick_day(
    inst: Instance,
    day: int,
    shifts: Sequence[tuple[int, int, int]],  # (agent, start, length)
    fixed_cover: IntArray,
) -> tuple[list[PlacedShift], dict[tuple[int, int], QuickShift], int]:
    """The quick placement of a day's shifts: agents of fewer skills first (their projects
    are forced, the others fill what is left), each shift's lunch, breaks and projects by
    ``_greedy_shift``. Returns the placed shifts (in the order of ``shifts``), each shift's
    choices by ``(agent, start)`` and the project switches."""
    lay = inst.layout
    need = inst.required - fixed_cover
    order = sorted(shifts, key=lambda x: (len(inst.groups[int(inst.agent_group[x[0]])]), x[0]))
    quick = {(a, s0): _greedy_shift(inst, a, s0, n, need) for a, s0, n in order}
    placed = []
    for a, s0, length in shifts:
        q_lunch, q_breaks, q_projects = quick[a, s0]
        activity = [WORK] * length
        if q_lunch is not None:
            n_l = lay.lunch_slots(length)
            activity[q_lunch : q_lunch + n_l] = [LUNCH] * n_l
        for q in q_breaks:
            activity[q : q + lay.break_len] = [BREAK] * lay.break_len
        project = [-1] * length
        for (a0, b0), p in zip(lay.chunks(length), q_projects, strict=True):
            for i in range(a0, b0):
                if activity[i] == WORK:
                    project[i] = p
        placed.append(PlacedShift(a, day, s0, tuple(activity), tuple(project)))
    switches = sum(
        sum(1 for x, y in itertools.pairwise(quick[a, s0][2]) if x != y) for a, s0, _ in shifts
    )
    return placed, quick, switches


def place_day(
    inst: Instance,
    day: int,
    shifts: Sequence[tuple[int, int, int]],  # (agent, start, length)
    fixed_cover: IntArray,  # (P, T) agents already at work (earlier days, pinned)
    *,
    under_cost: FloatArray,
    over_cost: FloatArray,
    switch_cost: int,
    hints: Mapping[tuple[int, int], PlacedShift],
    change_cost: int = 0,
    limits: SolverLimits,
    time_s: float,
) -> tuple[list[PlacedShift], tuple[str, str, float, float, float]]:
    """A day's shifts placed by CP-SAT: lunch, breaks and each chunk's project, with the
    quick placement (``quick_day``) as its hint, kept when the model ends worse."""
    lay = inst.layout
    model = cp_model.CpModel()
    req = scaled_requirements(inst)
    cover: dict[tuple[int, int], list[Expr]] = defaultdict(list)
    per_shift = []
    switch_terms: list[cp_model.IntVar] = []
    fixed_switches = 0
    keep_terms: list[cp_model.IntVar] = []
    quick_placed, quick, quick_switches = quick_day(inst, day, shifts, fixed_cover)
    for a, s, length in shifts:
        q_lunch, q_breaks, q_projects = quick[a, s]
        g = int(inst.agent_group[a])
        skills = [inst.pidx(p) for p in inst.groups[g]]
        lunch_len = lay.lunch_slots(length)
        nb = lay.breaks(length)
        blen = lay.break_len
        hint = hints.get((a, day))
        hint_ok = hint is not None and hint.start == s and hint.length == length
        lunch: dict[int, cp_model.IntVar] = {}
        if lunch_len:
            for o in range(lay.lunch_lo, min(lay.lunch_hi, length - 1 - lunch_len) + 1):
                lunch[o] = model.new_bool_var(f"l[{a},{o}]")
                if not hint_ok:
                    model.add_hint(lunch[o], 1 if o == q_lunch else 0)
            model.add_exactly_one(lunch.values())
        brk: dict[int, cp_model.IntVar] = {}
        for lo, hi in _break_windows(length, lunch_len, nb, blen):
            part = []
            for o in range(lo, hi + 1):
                if o not in brk:
                    brk[o] = model.new_bool_var(f"b[{a},{o}]")
                    if not hint_ok:
                        model.add_hint(brk[o], 1 if o in q_breaks else 0)
                part.append(brk[o])
            model.add_exactly_one(part)
        # breaks apart from each other and from lunch
        for o in brk:
            near = [brk[q] for q in range(o, o + blen + 1) if q in brk]
            if len(near) > 1:
                model.add_at_most_one(near)
            for q, lv in lunch.items():
                if q <= o + blen and q + lunch_len >= o:
                    model.add_bool_or([brk[o].Not(), lv.Not()])
        off: list[Expr] = []
        for i in range(length):
            terms = [v for q, v in lunch.items() if q <= i < q + lunch_len]
            terms += [v for q, v in brk.items() if q <= i < q + blen]
            off.append(sum(terms))
        # projects per chunk
        chunks = lay.chunks(length)
        choice: list[dict[int, Expr]] = []
        for ci, (a0, b0) in enumerate(chunks):
            allowed = [p for p in skills if inst.open_[p, s + a0 : s + b0].all()]
            if not allowed:  # stage 2 only offers shifts whose chunks can be worked
                raise RuntimeError(f"no open project for agent {a} chunk {ci}")
            if len(allowed) == 1:
                choice.append({allowed[0]: 1})
            else:
                xs = {p: model.new_bool_var(f"x[{a},{ci},{p}]") for p in allowed}
                model.add_exactly_one(xs.values())
                if not hint_ok:
                    for p, flag in xs.items():
                        model.add_hint(flag, 1 if p == q_projects[ci] else 0)
                choice.append(dict(xs))
                if len(chunks) > 1:
                    model.add(sum(off[a0:b0]) <= (b0 - a0) - lay.block)
                if hint_ok and hint is not None:
                    hp = hint.project[a0] if hint.activity[a0] == WORK else -1
                    if hp in xs:
                        model.add_hint(xs[hp], 1)
        for ci in range(len(chunks) - 1):
            for p in set(choice[ci]) | set(choice[ci + 1]):
                left = choice[ci].get(p, 0)
                right = choice[ci + 1].get(p, 0)
                if isinstance(left, int) and isinstance(right, int):
                    fixed_switches += max(0, left - right)
                    continue
                sw = model.new_bool_var(f"sw[{a},{ci},{p}]")
                model.add(sw >= left - right)
                switch_terms.append(sw)
        work_vars: list[dict[int, Expr]] = []
        for ci, (a0, b0) in enumerate(chunks):
            for i in range(a0, b0):
                t = s + i
                row: dict[int, Expr] = {}
                for p, x in choice[ci].items():
                    if isinstance(x, int):
                        expr: Expr = 1 - off[i]
                    else:
                        w = model.new_bool_var(f"w[{a},{i},{p}]")
                        model.add(w <= x)
                        model.add(w <= 1 - off[i])
                        model.add(w >= x - off[i])
                        expr = w
                    row[p] = expr
                    cover[p, t].append(expr)
                work_vars.append(row)
        if hint_ok and hint is not None:
            # the previous plan's shift: same lunch, breaks and projects, or pay a change
            same: list[Expr] = []
            for q, v in lunch.items():
                first = hint.activity[q] == LUNCH and (q == 0 or hint.activity[q - 1] != LUNCH)
                model.add_hint(v, 1 if first else 0)
                same.append(v if first else 1 - v)
            for q, v in brk.items():
                was = hint.activity[q] == BREAK and (q == 0 or hint.activity[q - 1] != BREAK)
                model.add_hint(v, 1 if was else 0)
                same.append(v if was else 1 - v)
            for ci, (a0, b0) in enumerate(chunks):
                old = next((hint.project[i] for i in range(a0, b0) if hint.project[i] >= 0), -1)
                kept = choice[ci].get(old)
                if kept is None:
                    same.append(0)
                elif not isinstance(kept, int):
                    same.append(kept)
            if change_cost:
                keep = model.new_bool_var(f"keep[{a}]")
                for lit in same:
                    if isinstance(lit, int):
                        if lit == 0:
                            model.add(keep == 0)
                    else:
                        model.add(keep <= lit)
                keep_terms.append(keep)
        per_shift.append((a, s, length, lunch, lunch_len, brk, blen, choice, chunks))

    objective: list[Expr] = []
    slots = sorted({t for (_, t) in cover})
    for p in range(len(inst.projects)):
        for t in slots:
            parts = cover.get((p, t))
            if not parts:
                continue
            base = int(fixed_cover[p, t])
            r = int(req[p, t])
            u = model.new_int_var(0, max(r, 0), f"u[{p},{t}]")
            ov = model.new_int_var(0, REQ_SCALE * (len(parts) + base + 1), f"o[{p},{t}]")
            model.add(REQ_SCALE * (sum(parts) + base) - r + u - ov == 0)
            objective.append(int(under_cost[p]) * u + int(over_cost[p]) * ov)
    objective.append(switch_cost * sum(switch_terms))
    objective.append(change_cost * (len(keep_terms) - sum(keep_terms)))
    model.minimize(sum(objective))
    start = time.perf_counter()
    solver, status = run(model, limits, time_s)
    report = (
        f"place: {inst.days[day].isoformat()}",
        solver.status_name(status),
        solver.objective_value,
        solver.best_objective_bound,
        time.perf_counter() - start,
    )

    def cost(placed: list[PlacedShift], switches: int) -> float:
        cov = (fixed_cover + work_cover(inst, placed)) * REQ_SCALE
        lo = min(sh.start for sh in placed)
        hi = min(max(sh.end for sh in placed), inst.n_slots)
        diff = req[:, lo:hi] - cov[:, lo:hi]
        return float(
            (under_cost[:, None] * np.clip(diff, 0, None)).sum()
            + (over_cost[:, None] * np.clip(-diff, 0, None)).sum()
            + switch_cost * switches
        )

    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # no CP-SAT solution in the time: the quick placement stands
        fallback = (f"{report[0]} (quick placement)", "FEASIBLE", 0.0, 0.0, report[4])
        return quick_placed, fallback
    placed = []
    for a, s, length, lunch, lunch_len, brk, blen, choice, chunks in per_shift:
        activity = [WORK] * length
        for q, v in lunch.items():
            if solver.value(v):
                activity[q : q + lunch_len] = [LUNCH] * lunch_len
        for q, v in brk.items():
            if solver.value(v):
                activity[q : q + blen] = [BREAK] * blen
        project = [-1] * length
        for ci, (a0, b0) in enumerate(chunks):
            chosen = next(p for p, x in choice[ci].items() if isinstance(x, int) or solver.value(x))
            for i in range(a0, b0):
                if activity[i] == WORK:
                    project[i] = chosen
        placed.append(PlacedShift(a, day, s, tuple(activity), tuple(project)))
    switches = fixed_switches + int(sum(solver.value(v) for v in switch_terms))
    replanning = any((a, day) in hints for a, _, _ in shifts)
    if not replanning and cost(quick_placed, quick_switches) < cost(placed, switches):
        # at scale, a time-limited CP-SAT can end worse than the quick placement it started
        # from: keep the better of the two
        better = (f"{report[0]} (quick placement kept)", report[1], report[2], report[3], report[4])
        return quick_placed, better
    return placed, report


def work_cover(inst: Instance, shifts: Sequence[PlacedShift]) -> IntArray:
    """Agents at work per project and slot."""
    out = np.zeros((len(inst.projects), inst.n_slots), dtype=np.int64)
    for sh in shifts:
        for i, (act, p) in enumerate(zip(sh.activity, sh.project, strict=True)):
            if act == WORK and p >= 0 and sh.start + i < inst.n_slots:
                out[p, sh.start + i] += 1
    return out
