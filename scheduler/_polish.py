"""Stage 4 — polish: the project of every work slot, re-chosen exactly one shift at a time.

Stage 3 decides projects per *chunk* (a 1-h block plus room for lunch and a break) so that its
CP-SAT model stays small; the rule itself is looser: each run of work on one project (lunch and
breaks do not end it) lasts at least ``min_project_block_h``. Here, with lunch and breaks kept
where stage 3 put them, each multi-skill shift in turn is taken out of the coverage and its work
slots get the projects that lower the weighted under- and over-coverage most, less a cost per
switch, under the block rule — an exact dynamic programme over (project, run length) per work
slot. Passes over the shifts in a seeded order repeat until one brings no improvement or the
time is spent. A shift only changes when that strictly lowers the objective, so the stage never
makes a schedule worse.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from scheduler._instance import FloatArray, Instance
from scheduler._intraday import BREAK, LUNCH, WORK, PlacedShift, _break_windows, work_cover

_EPS = 1e-9
MAX_PASSES = 20


def _gain(need: FloatArray, under_w: FloatArray, over_w: FloatArray) -> FloatArray:
    """Objective decrease from one more agent at work, per project and slot, given the agents
    still needed there (exact for the piecewise-linear under/over cost)."""
    short = np.clip(need, 0.0, 1.0)
    gain: FloatArray = under_w[:, None] * short - over_w[:, None] * (1.0 - short)
    return gain


def _best_shift(
    gain: Sequence[Sequence[float]],  # per skill, per offset: gain of working it (-inf: closed)
    skills: Sequence[int],
    lunch: tuple[int, int, int] | None,  # (length, first start offset, last start offset)
    windows: Sequence[tuple[int, int]],  # per break, in order: (first, last) start offset
    blen: int,
    block: int,
    switch_w: float,
) -> tuple[float, list[int], list[int]] | None:
    """The best activity and project per offset of one shift: one lunch in its window, break
    ``j`` starting in ``windows[j]``, no two of them adjacent, every run on one project at
    least ``block`` work slots. Returns (value, activity, project) or None."""
    n = len(gain[0])
    n_b = len(windows)
    work_total = n - (lunch[0] if lunch else 0) - n_b * blen
    need_run = max(1, min(block, work_total))
    # state: (lunch taken, breaks taken, previous slot off, skill index or -1, run length)
    State = tuple[int, int, int, int, int]
    layers: list[dict[State, tuple[float, tuple[int, State, int] | None]]] = [
        {} for _ in range(n + 1)
    ]
    layers[0][(0 if lunch else 1, 0, 1, -1, 0)] = (0.0, None)

    def push(i: int, state: State, value: float, back: tuple[int, State, int]) -> None:
        if i > n:
            return
        old = layers[i].get(state)
        if old is None or value > old[0]:
            layers[i][state] = (value, back)

    for i in range(n):
        for state, (value, _) in layers[i].items():
            took_lunch, n_breaks, prev_off, cur, run = state
            if not took_lunch and lunch is not None and i > lunch[2]:
                continue
            if n_breaks < n_b and i > windows[n_breaks][1]:
                continue
            for j in range(len(skills)):
                g = gain[j][i]
                if g == -np.inf:
                    continue
                if cur == j:
                    push(
                        i + 1,
                        (took_lunch, n_breaks, 0, j, min(run + 1, block)),
                        value + g,
                        (i, state, j),
                    )
                elif cur < 0:
                    push(i + 1, (took_lunch, n_breaks, 0, j, 1), value + g, (i, state, j))
                elif run >= block:
                    push(
                        i + 1, (took_lunch, n_breaks, 0, j, 1), value + g - switch_w, (i, state, j)
                    )
            if prev_off:
                continue
            if not took_lunch and lunch is not None and lunch[1] <= i <= lunch[2]:
                push(i + lunch[0], (1, n_breaks, 1, cur, run), value, (i, state, -1))
            if n_breaks < n_b and windows[n_breaks][0] <= i <= windows[n_breaks][1]:
                push(i + blen, (took_lunch, n_breaks + 1, 1, cur, run), value, (i, state, -2))
    final = [
        (v, st)
        for st, (v, _) in layers[n].items()
        if st[0] == 1 and st[1] == n_b and st[4] >= need_run
    ]
    if not final:
        return None
    best_value, state = max(final)
    activity = [WORK] * n
    project = [-1] * n
    i = n
    while True:
        back = layers[i][state][1]
        if back is None:
            break
        prev_i, prev_state, action = back
        if action >= 0:
            project[prev_i] = skills[action]
        else:
            activity[prev_i:i] = [LUNCH if action == -1 else BREAK] * (i - prev_i)
        i, state = prev_i, prev_state
    return best_value, activity, project


def polish(
    inst: Instance,
    placed: Sequence[PlacedShift],
    fixed: Sequence[PlacedShift],
    *,
    under_w: FloatArray,  # per project: cost of one agent-slot under
    over_w: FloatArray,  # per project: cost of one agent-slot over
    switch_w: float,  # cost of one project switch inside a shift
    deadline: float | None,  # None: until a pass changes nothing (deterministic)
    seed: int,
    keep: frozenset[tuple[int, int]] = frozenset(),  # (agent, day) not to touch
) -> tuple[list[PlacedShift], int]:
    """``placed`` with lunch, breaks and projects re-chosen shift by shift (``fixed`` shifts
    count in the coverage but never change); returns the shifts and the number changed."""
    lay = inst.layout
    out = list(placed)
    block = max(1, lay.block)
    n_t = inst.n_slots
    need = inst.required - (work_cover(inst, out) + work_cover(inst, fixed)).astype(float)
    movable = [i for i, sh in enumerate(out) if (sh.agent, sh.day) not in keep and sh.end <= n_t]
    rng = np.random.default_rng(seed)
    changed: set[int] = set()

    def late() -> bool:
        return deadline is not None and time.perf_counter() >= deadline

    for _ in range(MAX_PASSES):
        if not movable or late():
            break
        improved = 0
        for i in rng.permutation(movable).tolist():
            if late():
                break
            sh = out[i]
            skills = [inst.pidx(p) for p in inst.groups[int(inst.agent_group[sh.agent])]]
            span = np.arange(sh.start, sh.end)
            work = [o for o, act in enumerate(sh.activity) if act == WORK and sh.project[o] >= 0]
            rows = np.array([sh.project[o] for o in work], dtype=np.int64)
            cols = sh.start + np.array(work, dtype=np.int64)
            np.add.at(need, (rows, cols), 1.0)  # take the shift out
            gain = _gain(need[skills][:, span], under_w[skills], over_w[skills])
            gain = np.where(inst.open_[skills][:, span], gain, -np.inf)
            current = sum(float(gain[skills.index(p), o]) for p, o in zip(rows, work, strict=True))
            current -= switch_w * count_switches([sh])
            n_lunch = lay.lunch_slots(sh.length)
            lunch = None
            if n_lunch:
                lunch = (n_lunch, lay.lunch_lo, min(lay.lunch_hi, sh.length - 1 - n_lunch))
            windows = _break_windows(sh.length, n_lunch, lay.breaks(sh.length), lay.break_len)
            best = _best_shift(
                gain.tolist(), skills, lunch, windows, lay.break_len, block, switch_w
            )
            new = sh
            if best is not None and best[0] > current + _EPS:
                new = PlacedShift(sh.agent, sh.day, sh.start, tuple(best[1]), tuple(best[2]))
            work = [o for o, act in enumerate(new.activity) if act == WORK]
            rows = np.array([new.project[o] for o in work], dtype=np.int64)
            np.add.at(need, (rows, new.start + np.array(work, dtype=np.int64)), -1.0)
            if new is not sh:
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
