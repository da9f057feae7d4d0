"""Stage 4 — polish: every shift re-planned exactly against the others' coverage, one at a time.

Stages 2 and 3 work with approximations that keep their CP-SAT models small: stage 2 counts a
shift's work as spread evenly over its slots, stage 3 picks projects per *chunk* (a 1-h block
plus room for lunch and a break). The rules themselves are looser. Here each shift in turn is
taken out of the coverage and the best of these replaces it:

- the same shift with the best inside (``_shiftdp.best_shift``: lunch in its window, break ``j``
  in window ``j``, none adjacent, projects per work slot with every run on one project at least
  ``min_project_block_h``), valued exactly by the weighted under- and over-coverage it removes
  less a cost per project switch;
- the shift moved (start ± ``MOVE_SLOTS``) or resized (± ``MOVE_STEPS`` length steps) on the
  same day, with its best inside — when the agent may work that shift type, its paid hours stay
  within the contract, rest to the neighbouring shifts (and last week's last one) holds, and the
  agent's late-shift count and paid hours stay inside the current spread over agents; the
  preferred-start and start-instability penalties count in its value.

Passes over the shifts in a seeded order repeat until one changes nothing, ``MAX_PASSES`` or the
deadline. A shift only changes when that strictly lowers the objective, so the stage never makes
a schedule worse. Pinned shifts and, when replanning, the previous plan's shifts do not move.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scheduler._agents import History, limits_of
from scheduler._instance import FloatArray, Instance
from scheduler._intraday import LUNCH, WORK, PlacedShift, _break_windows, work_cover
from scheduler._shiftdp import NEG, best_shift

_EPS = 1e-9
MAX_PASSES = 20
MOVE_SLOTS = 4  # a shift may move up to this many slots earlier or later per step
MOVE_STEPS = 2  # … and grow or shrink by up to this many length steps
LATE_END_MIN = 20 * 60  # as stage 2 and the penalty table: a late shift ends after 20:00


@dataclass(frozen=True, slots=True)
class PolishCosts:
    """Costs in the objective's units (per agent-slot, per switch, per slot of deviation)."""

    under: FloatArray  # per project
    over: FloatArray  # per project
    switch: float
    preferred_per_slot: float
    instability_per_slot: float


def _gain(need: FloatArray, under_w: FloatArray, over_w: FloatArray) -> FloatArray:
    """Objective decrease from one more agent at work, per project and slot, given the agents
    still needed there (exact for the piecewise-linear under/over cost)."""
    short = np.clip(need, 0.0, 1.0)
    gain: FloatArray = under_w[:, None] * short - over_w[:, None] * (1.0 - short)
    return gain


def _inside(
    inst: Instance,
    skills: Sequence[int],
    start: int,
    length: int,
    need: FloatArray,
    costs: PolishCosts,
) -> tuple[float, tuple[int, ...], tuple[int, ...]] | None:
    """The best inside of a shift and its value, or None."""
    lay = inst.layout
    span = slice(start, start + length)
    gain = _gain(need[skills, span], costs.under[skills], costs.over[skills])
    gain = np.where(inst.open_[skills, span], gain, NEG)
    n_lunch = lay.lunch_slots(length)
    windows = _break_windows(length, n_lunch, lay.breaks(length), lay.break_len)
    activity = np.zeros(length, dtype=np.int64)
    project = np.full(length, -1, dtype=np.int64)
    value = best_shift(
        np.ascontiguousarray(gain),
        n_lunch,
        lay.lunch_lo,
        min(lay.lunch_hi, length - 1 - n_lunch),
        np.array([w[0] for w in windows], dtype=np.int64),
        np.array([w[1] for w in windows], dtype=np.int64),
        lay.break_len,
        max(1, lay.block),
        costs.switch,
        activity,
        project,
    )
    if value <= NEG:
        return None
    sk = np.asarray(skills, dtype=np.int64)
    projects = np.where(project >= 0, sk[np.maximum(project, 0)], -1)
    return float(value), tuple(activity.tolist()), tuple(projects.tolist())


def _current_value(
    sh: PlacedShift, skills: Sequence[int], need: FloatArray, costs: PolishCosts
) -> float:
    value = 0.0
    for o, (act, p) in enumerate(zip(sh.activity, sh.project, strict=True)):
        if act == WORK and p >= 0:
            short = min(1.0, max(0.0, float(need[p, sh.start + o])))
            value += costs.under[p] * short - costs.over[p] * (1.0 - short)
    return value - costs.switch * count_switches([sh])


def _book(need: FloatArray, sh: PlacedShift, sign: float) -> None:
    """Add (``sign`` −1) or remove (+1) the shift's work from the agents still needed."""
    for o, (act, p) in enumerate(zip(sh.activity, sh.project, strict=True)):
        if act == WORK and p >= 0:
            need[p, sh.start + o] += sign


def _start_min(inst: Instance, slot: int) -> int:
    local = inst.slot_local[slot]
    return int(local.hour * 60 + local.minute)


def _soft(
    inst: Instance, start: int, pref_min: int | None, other_mins: list[int], costs: PolishCosts
) -> float:
    """Preferred-start and start-instability cost of an agent's week with this start."""
    m = _start_min(inst, start)
    cost = 0.0
    if pref_min is not None:
        dev = abs(m - pref_min)
        cost += costs.preferred_per_slot * (min(dev, 1440 - dev) // 15)
    if other_mins:
        mins = [*other_mins, m]
        cost += costs.instability_per_slot * ((max(mins) - min(mins)) // 15)
    return cost


def polish(
    inst: Instance,
    placed: Sequence[PlacedShift],
    fixed: Sequence[PlacedShift],
    *,
    histories: Sequence[History],
    costs: PolishCosts,
    deadline: float | None,  # None: until a pass changes nothing (deterministic)
    seed: int,
    keep: frozenset[tuple[int, int]] = frozenset(),  # (agent, day) not to touch
) -> tuple[list[PlacedShift], int]:
    """``placed`` improved shift by shift (``fixed`` shifts count in the coverage and the rest
    rule but never change); returns the shifts and the number changed."""
    lay = inst.layout
    n_t = inst.n_slots
    out = list(placed)
    need = inst.required - (work_cover(inst, out) + work_cover(inst, fixed)).astype(float)
    type_of = {
        (int(d), int(s), int(n)): k
        for k, (d, s, n) in enumerate(
            zip(inst.type_day, inst.type_start, inst.type_len, strict=True)
        )
    }
    by_agent: dict[int, list[int]] = {}
    for i, sh in enumerate(out):
        by_agent.setdefault(sh.agent, []).append(i)
    fixed_by_agent: dict[int, list[PlacedShift]] = {}
    for sh in fixed:
        fixed_by_agent.setdefault(sh.agent, []).append(sh)

    def paid(sh: PlacedShift) -> int:
        return sh.length - sum(1 for x in sh.activity if x == LUNCH)

    def late(sh_start: int, length: int) -> bool:
        return _start_min(inst, sh_start) + length * 15 > LATE_END_MIN

    agents = sorted(by_agent)
    paid_of = {
        a: sum(paid(out[i]) for i in by_agent[a]) + sum(paid(f) for f in fixed_by_agent.get(a, []))
        for a in agents
    }
    # contract hours above the minimum: their spread over agents is a penalty
    above_of = {a: paid_of[a] - limits_of(inst, a)[0] for a in agents}
    late_of = {a: sum(late(out[i].start, out[i].length) for i in by_agent[a]) for a in agents}
    movable = [i for i, sh in enumerate(out) if (sh.agent, sh.day) not in keep and sh.end <= n_t]
    rng = np.random.default_rng(seed)
    changed: set[int] = set()

    def past_deadline() -> bool:
        return deadline is not None and time.perf_counter() >= deadline

    for _ in range(MAX_PASSES):
        if not movable or past_deadline():
            break
        improved = 0
        hi_above, lo_above = max(above_of.values()), min(above_of.values())
        hi_late, lo_late = max(late_of.values()), min(late_of.values())
        for i in rng.permutation(movable).tolist():
            if past_deadline():
                break
            sh = out[i]
            a = sh.agent
            g = int(inst.agent_group[a])
            skills = [inst.pidx(p) for p in inst.groups[g]]
            _book(need, sh, +1.0)
            base = _current_value(sh, skills, need, costs)
            best: tuple[float, PlacedShift] = (base, sh)
            # neighbours on the agent's timeline (rest) and its contract hours
            others = [out[j] for j in by_agent[a] if j != i] + fixed_by_agent.get(a, [])
            before = max((o.end for o in others if o.start < sh.start), default=None)
            after = min((o.start for o in others if o.start > sh.start), default=None)
            last_end = histories[a].last_end
            if last_end is not None:
                before = last_end if before is None else max(before, last_end)
            lo_start = -(10**9) if before is None else before + lay.rest
            hi_end = 10**9 if after is None else after - lay.rest
            min_p, max_p, _ = limits_of(inst, a)
            paid_else = paid_of[a] - paid(sh)
            other_mins = [
                _start_min(inst, o.start) for o in others if 0 <= o.start < int(inst.day_slot[7])
            ]
            pref = inst.agents[a].preferred_start
            pref_min = None if pref is None else pref.hour * 60 + pref.minute

            own_soft = _soft(inst, sh.start, pref_min, other_mins, costs)
            lengths = lay.lengths()
            li = lengths.index(sh.length) if sh.length in lengths else -1
            options: list[tuple[int, int]] = [(sh.start, sh.length)]
            for ds in range(-MOVE_SLOTS, MOVE_SLOTS + 1):
                for dl in range(-MOVE_STEPS, MOVE_STEPS + 1):
                    if (ds, dl) == (0, 0) or li < 0 or not 0 <= li + dl < len(lengths):
                        continue
                    options.append((sh.start + ds, lengths[li + dl]))
            for start, length in options:
                moved = (start, length) != (sh.start, sh.length)
                if moved:
                    k = type_of.get((sh.day, start, length))
                    if k is None or not (inst.agent_type_ok[a, k] and inst.group_type_ok[g, k]):
                        continue
                    if start < lo_start or start + length > hi_end or start + length > n_t:
                        continue
                    new_paid = paid_else + lay.paid(length)
                    if not min_p <= new_paid <= max_p:
                        continue
                    above = new_paid - min_p
                    if not min(lo_above, above_of[a]) <= above <= max(hi_above, above_of[a]):
                        continue
                    new_late = late_of[a] - late(sh.start, sh.length) + late(start, length)
                    if new_late > max(hi_late, late_of[a]) or new_late < min(lo_late, late_of[a]):
                        continue
                inside = _inside(inst, skills, start, length, need, costs)
                if inside is None:
                    continue
                value = inside[0] - (
                    _soft(inst, start, pref_min, other_mins, costs) - own_soft if moved else 0.0
                )
                if value > best[0] + _EPS:
                    best = (value, PlacedShift(a, sh.day, start, inside[1], inside[2]))
            new = best[1]
            _book(need, new, -1.0)
            if new is not sh:
                paid_of[a] += paid(new) - paid(sh)
                above_of[a] = paid_of[a] - min_p
                late_of[a] += late(new.start, new.length) - late(sh.start, sh.length)
                out[i] = new
                changed.add(i)
                improved += 1
        if not improved:
            break
    return out, len(changed)


def count_switches(shifts: Sequence[PlacedShift]) -> int:
    """Project changes between consecutive work slots inside each shift."""
    total = 0
    for sh in shifts:
        last = -1
        for act, p in zip(sh.activity, sh.project, strict=True):
            if act != WORK or p < 0:
                continue
            if last >= 0 and p != last:
                total += 1
            last = p
    return total
