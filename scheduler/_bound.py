"""A Lagrangian lower bound on under-coverage, agent by agent (private).

For prices ``pi[p, t]`` in ``[0, 1]`` (per agent-slot of requirement), and coverage ``x``,
``max(0, r - x) >= pi * (r - x)``, so for every schedule

    under >= sum(pi * r) - sum over agents of the prices their own week collects
          >= sum(pi * r) - sum over agents of max over their feasible weeks of those prices.

The inner maximum may be taken over any *superset* of an agent's feasible weeks and the bound
stays true. Here that superset is: at most one shift a day among the shift types the agent may
work (availability, days off, opening), at most ``max_days`` shifts, paid time within the
contract's minimum and maximum, ``min_rest`` between consecutive shifts (all exact); inside a
shift the lunch at its cheapest start in the window and the breaks on the shift's cheapest slots
wherever they are, and each work slot on the agent's best project there (relaxed: break windows,
project chunks, consecutive days and the previous week are ignored). That per-agent week is
solved exactly by dynamic programming over the days (numba). The prices are the duals of the
coverage rows of stage 1's linear programme; projected subgradient steps from there gained
nothing on the 150-agent benchmark week (16 steps, measured), so none are taken.

Like stage 1's bound, it holds for schedules of the optimizer's shift types; ``solve_week``
does not use it when pinned shifts (which may be of other lengths) are given.

Stage 1's programme pools the agents of a group per slot and per week; this bound sees each
agent's own rest, days and hours, so it is at least as tight at the same prices.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

from scheduler._instance import FloatArray, Instance, IntArray

F = TypeVar("F", bound=Callable[..., Any])
NEG = -1e300


def _jit(func: F) -> F:
    return cast(F, numba.njit(cache=True, nogil=True)(func))


@_jit
def shift_values(
    m: npt.NDArray[np.float64],  # (T,) price of an agent-slot at work (best project)
    starts: npt.NDArray[np.int64],
    lens: npt.NDArray[np.int64],
    lunch_of_len: npt.NDArray[np.int64],  # lunch slots per shift length
    lunch_lo: int,
    lunch_hi: int,
    break_slots_of_len: npt.NDArray[np.int64],  # break slots in all, per shift length
    out: npt.NDArray[np.float64],
    lunch_at: npt.NDArray[np.int64],  # out: lunch offset (-1 none)
) -> None:
    """The relaxed best value of each shift type: its slots' prices less the cheapest lunch
    in the window and less the cheapest slots for the breaks (anywhere in the shift)."""
    for k in range(starts.shape[0]):
        s = starts[k]
        n = lens[k]
        total = 0.0
        for i in range(n):
            total += m[s + i]
        ll = lunch_of_len[n]
        lunch_at[k] = -1
        if ll > 0:
            best = 1e300
            for off in range(lunch_lo, min(lunch_hi, n - ll) + 1):
                x = 0.0
                for i in range(off, off + ll):
                    x += m[s + i]
                if x < best:
                    best = x
                    lunch_at[k] = off
            if lunch_at[k] >= 0:
                total -= best
        nb = break_slots_of_len[n]
        if nb > 0:
            small = np.full(nb, 1e300)
            for i in range(n):
                v = m[s + i]
                if v < small[nb - 1]:
                    j = nb - 1
                    while j > 0 and small[j - 1] > v:
                        small[j] = small[j - 1]
                        j -= 1
                    small[j] = v
            for j in range(nb):
                total -= small[j]
        out[k] = total


@_jit
def _best_week(
    day_first: npt.NDArray[np.int64],
    t_start: npt.NDArray[np.int64],
    t_len: npt.NDArray[np.int64],
    t_paid: npt.NDArray[np.int64],
    t_val: npt.NDArray[np.float64],
    day_slot: npt.NDArray[np.int64],
    width: int,
    n_ends: int,
    rest: int,
    max_days: int,
    min_paid: int,
    max_paid: int,
    chosen: npt.NDArray[np.int64],
    work_f: npt.NDArray[np.float64],
    work_i: npt.NDArray[np.int64],
) -> float:
    """``best_week`` on scratch arrays ``work_f``/``work_i`` (see ``WeekWork``)."""
    n_n = max_days + 1
    n_q = max_paid + 1
    # a state of n shifts has paid slots in [n * q_lo, n * q_hi]: only those are visited
    q_lo = max_paid + 1
    q_hi = 0
    for k in range(t_paid.shape[0]):
        q_lo = min(q_lo, t_paid[k])
        q_hi = max(q_hi, t_paid[k])
    q_from = np.empty(n_n, dtype=np.int64)
    q_to = np.empty(n_n, dtype=np.int64)  # exclusive
    for n in range(n_n):
        q_from[n] = min(n * q_lo, n_q)
        q_to[n] = min(n * q_hi, max_paid) + 1
    n_f = 7 * width * n_n * n_q
    n_g = (n_ends + 1) * n_n * n_q
    f = work_f[:n_f].reshape((7, width, n_n, n_q))
    g = work_f[n_f : n_f + n_g].reshape((n_ends + 1, n_n, n_q))
    pre = work_f[n_f + n_g : n_f + 2 * n_g].reshape((n_ends + 1, n_n, n_q))
    agg = work_f[n_f + 2 * n_g : n_f + 2 * n_g + n_n * n_q].reshape((n_n, n_q))
    back_k = work_i[:n_f].reshape((7, width, n_n, n_q))
    back_p = work_i[n_f : 2 * n_f].reshape((7, width, n_n, n_q))
    g_code = work_i[2 * n_f : 2 * n_f + n_g].reshape((n_ends + 1, n_n, n_q))
    pre_code = work_i[2 * n_f + n_g : 2 * n_f + 2 * n_g].reshape((n_ends + 1, n_n, n_q))
    agg_code = work_i[2 * n_f + 2 * n_g : 2 * n_f + 2 * n_g + n_n * n_q].reshape((n_n, n_q))
    for e in range(n_ends + 1):
        for n in range(n_n):
            for q in range(q_from[n], q_to[n]):
                g[e, n, q] = NEG
    g[0, 0, 0] = 0.0
    g_code[0, 0, 0] = -1
    for n in range(n_n):
        for q in range(q_from[n], q_to[n]):
            agg[n, q] = NEG
            agg_code[n, q] = -1
    cursor = 0
    for d in range(7):
        for el in range(width):
            for n in range(1, n_n):
                for q in range(q_from[n], q_to[n]):
                    f[d, el, n, q] = NEG
        lo = day_first[d]
        hi = day_first[d + 1]
        if hi <= lo:
            continue
        first = n_ends
        last = 0
        for k in range(lo, hi):
            idx = min(max(t_start[k] - rest + 1, 0), n_ends)
            first = min(first, idx)
            last = max(last, idx)
        while cursor < first:
            for n in range(n_n):
                for q in range(q_from[n], q_to[n]):
                    if g[cursor, n, q] > agg[n, q]:
                        agg[n, q] = g[cursor, n, q]
                        agg_code[n, q] = g_code[cursor, n, q]
            cursor += 1
        # pre[i]: the best state ending at or before slot first + i - 1
        for i in range(last - first + 1):
            e = first + i
            for n in range(n_n):
                for q in range(q_from[n], q_to[n]):
                    if i == 0:
                        bv = agg[n, q]
                        bc = agg_code[n, q]
                    else:
                        bv = pre[i - 1, n, q]
                        bc = pre_code[i - 1, n, q]
                    if g[e, n, q] > bv:
                        bv = g[e, n, q]
                        bc = g_code[e, n, q]
                    pre[i, n, q] = bv
                    pre_code[i, n, q] = bc
        base = day_slot[d]
        for k in range(lo, hi):
            paid = t_paid[k]
            if paid > max_paid:
                continue
            i = min(max(t_start[k] - rest + 1, 0), n_ends) - first
            el = t_start[k] + t_len[k] - base
            v = t_val[k]
            for n in range(max_days):
                for q in range(q_from[n], min(q_to[n], max_paid - paid + 1)):
                    p = pre[i, n, q]
                    if p <= NEG:
                        continue
                    nv = p + v
                    if nv > f[d, el, n + 1, q + paid]:
                        f[d, el, n + 1, q + paid] = nv
                        back_k[d, el, n + 1, q + paid] = k
                        back_p[d, el, n + 1, q + paid] = pre_code[i, n, q]
        for el in range(width):
            e = base + el + 1
            if e > n_ends:
                break
            for n in range(1, n_n):
                for q in range(q_from[n], q_to[n]):
                    if f[d, el, n, q] > g[e, n, q]:
                        g[e, n, q] = f[d, el, n, q]
                        g_code[e, n, q] = d * width + el
    best = NEG
    best_code = -2
    best_n = 0
    best_q = 0
    if min_paid <= 0:
        best = 0.0
        best_code = -1
    for d in range(7):
        for el in range(width):
            for n in range(1, n_n):
                for q in range(max(q_from[n], min_paid), q_to[n]):
                    if f[d, el, n, q] > best:
                        best = f[d, el, n, q]
                        best_code = d * width + el
                        best_n = n
                        best_q = q
    for i in range(chosen.shape[0]):
        chosen[i] = -1
    if best_code == -2:
        return NEG
    i = 0
    code = best_code
    n = best_n
    q = best_q
    while code >= 0:
        d = code // width
        el = code % width
        k = back_k[d, el, n, q]
        chosen[i] = k
        i += 1
        code = back_p[d, el, n, q]
        n -= 1
        q -= t_paid[k]
    return best


@dataclass(eq=False)
class WeekWork:
    """Scratch arrays for ``best_week``, grown as needed and reused from call to call (one per
    thread): a fresh programme's arrays (300 agents: about 20 MB each) cost more in page
    faults than the programme itself."""

    f: FloatArray = field(default_factory=lambda: np.empty(0))
    i: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def fit(self, width: int, n_ends: int, max_days: int, max_paid: int) -> None:
        states = (max_days + 1) * (max_paid + 1)
        n_f, n_g = 7 * width * states, (n_ends + 1) * states
        if self.f.size < n_f + 2 * n_g + states:
            self.f = np.empty(n_f + 2 * n_g + states)
        if self.i.size < 2 * n_f + 2 * n_g + states:
            self.i = np.empty(2 * n_f + 2 * n_g + states, dtype=np.int64)


def best_week(
    day_first: IntArray,  # (8,) the types of day d are [day_first[d], day_first[d+1])
    t_start: IntArray,
    t_len: IntArray,
    t_paid: IntArray,
    t_val: FloatArray,
    day_slot: IntArray,  # (8,) first slot of each local day
    width: int,  # the latest end of a shift, in slots after its day's first slot, plus 1
    n_ends: int,  # slots in the horizon, plus 1
    rest: int,
    max_days: int,
    min_paid: int,
    max_paid: int,
    chosen: IntArray,  # out: the chosen types (-1 padded)
    work: WeekWork | None = None,
) -> float:
    """The most value of one agent's week: at most one type a day, at most ``max_days``,
    paid slots in ``[min_paid, max_paid]``, ``rest`` slots between a shift's end and the next
    start. Returns ``NEG`` when no week keeps that.

    States: (last shift's day and end, shifts, paid slots). A day's types look back at the
    best state of the earlier days that ends ``rest`` before their start: states ending
    before the day's earliest look-back are folded once into a running maximum, the rest are
    scanned as a prefix maximum over the day's window of look-backs. A state of ``n``
    shifts is only visited at paid slots between ``n`` times the least and the most paid
    slots of a type (about a third of them). Paid slots are counted in their greatest common
    divisor over the types (every week's total is a multiple of it): half the states where
    lengths step by 30 min."""
    unit = max(int(np.gcd.reduce(t_paid)), 1) if t_paid.size else 1
    min_paid, max_paid = -(-min_paid // unit), max_paid // unit
    work = work if work is not None else WeekWork()
    work.fit(width, n_ends, max_days, max_paid)
    value = _best_week(
        day_first, t_start, t_len, t_paid // unit, t_val, day_slot, width, n_ends, rest,
        max_days, min_paid, max_paid, chosen, work.f, work.i,
    )  # fmt: skip
    return float(value)


@dataclass(frozen=True, eq=False)
class WeekTables:
    """What ``shift_values`` and ``best_week`` need of an instance, computed once: per shift
    length its lunch, break and paid slots; the latest end of a shift after its day's first
    slot (+1) and the horizon's slots (+1); per agent the first agent alike in skill set,
    shift types, days and hours (``relaxed_weeks`` prices each such set once)."""

    lunch_of_len: IntArray
    breaks_of_len: IntArray
    paid_of_len: IntArray
    width: int
    n_ends: int
    alike: IntArray

    @staticmethod
    def of(inst: Instance) -> WeekTables:
        lay = inst.layout
        top = int(inst.type_len.max()) + 1
        lengths = range(1, top)
        lunch = np.array([0, *(lay.lunch_slots(n) for n in lengths)], dtype=np.int64)
        breaks = np.array([0, *(lay.breaks(n) * lay.break_len for n in lengths)], dtype=np.int64)
        paid = np.array([0, *(lay.paid(n) for n in lengths)], dtype=np.int64)
        ends = inst.type_start + inst.type_len
        first: dict[tuple[object, ...], int] = {}
        alike = np.empty(len(inst.agents), dtype=np.int64)
        for a, agent in enumerate(inst.agents):
            key = (
                int(inst.agent_group[a]),
                agent_types(inst, a).tobytes(),
                min(agent.max_days_week, inst.max_days_week),
                int(np.ceil(agent.min_hours_week * 4 - 1e-6)),
                int(np.floor(agent.max_hours_week * 4 + 1e-6)),
            )
            alike[a] = first.setdefault(key, a)
        return WeekTables(
            lunch,
            breaks,
            paid,
            width=int((ends - inst.day_slot[inst.type_day]).max()) + 1,
            n_ends=int(ends.max()) + 1,
            alike=alike,
        )


def agent_types(inst: Instance, a: int) -> IntArray:
    """The shift types agent ``a`` may work (availability, and an open project of its group
    in every chunk), ordered by day as ``best_week`` needs."""
    ok = np.flatnonzero(inst.agent_type_ok[a] & inst.type_chunk_ok[int(inst.agent_group[a])])
    types: IntArray = ok[np.argsort(inst.type_day[ok], kind="stable")].astype(np.int64)
    return types


def slot_terms(
    req: FloatArray,
    pi: FloatArray,
    under_w: FloatArray | float = 1.0,
    over_w: FloatArray | float = 0.0,
) -> FloatArray:
    """Per project and slot, ``min over whole y >= 0 of under_w * max(0, r - y) + over_w *
    max(0, y - r) + pi * y``: the bound's term for a requirement ``r`` met by a whole number
    of agents ``y`` at price ``pi`` in ``[-over_w, under_w]`` — the better of ``floor(r)``
    agents and ``ceil(r)``. With the default weights (under-coverage alone) that is
    ``min(r - (1 - pi) * floor(r), pi * ceil(r))``, at least ``pi * r``, the term of
    fractional coverage. ``under_w``/``over_w``: scalars or (P, 1) per project."""
    low, high = np.floor(req), np.ceil(req)
    terms: FloatArray = np.minimum(
        under_w * (req - low) + pi * low, over_w * (high - req) + pi * high
    )
    return terms


@dataclass(frozen=True, eq=False)
class AgentBound:
    """The Lagrangian bound at some prices, with its parts: ``value`` = the slot terms' sum
    less ``best.sum()`` (agent-slots; the bound is ``max(0, value)``)."""

    value: float
    prices: FloatArray  # (P, T) the prices used: clipped to [0, 1], 0 where nothing is required
    best: FloatArray  # (A,) the most each agent's relaxed week collects at them (>= 0)

    @property
    def slots(self) -> float:
        return max(0.0, self.value)


def agent_bound(inst: Instance, prices: FloatArray) -> AgentBound:
    """The Lagrangian bound on under-coverage (agent-slots) at ``prices`` (P, T), clipped to
    [0, 1] and to the slots with a requirement: ``sum(pi * r)`` less, per agent, the most its
    relaxed week collects (see the module docstring)."""
    req = inst.required
    pi = np.clip(np.where(req > 0, prices, 0.0), 0.0, 1.0)
    if not inst.n_types:
        return AgentBound(0.0, pi, np.zeros(len(inst.agents)))
    tab = WeekTables.of(inst)
    values = np.zeros((len(inst.groups), inst.n_types))
    lunch_at = np.empty(inst.n_types, dtype=np.int64)
    for g in range(len(inst.groups)):
        group_values(inst, tab, g, pi, values[g], lunch_at)
    best, _ = relaxed_weeks(inst, tab, values)
    best = np.maximum(best, 0.0)
    return AgentBound(float(slot_terms(req, pi).sum() - best.sum()), pi, best)


def gap_shares(
    inst: Instance, bound: AgentBound, cover: FloatArray, collected: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Where a schedule's under-coverage exceeds ``bound``, exactly (agent-slots):

        under = bound.value + sum over agents of (best - collected)
                            + sum over slots of (max(0, r - y) + pi * y - term(r, pi))

    with ``cover`` (P, T) the agents ``y`` at work per project and slot, and ``collected``
    (A,) the prices each agent's own week collects (``pi`` of the project it works, summed
    over its work slots). An agent's share is at least 0 when its week is one of the relaxed
    weeks (every week of the optimizer's shift types that keeps the hard rules); a slot's is
    at least 0 because the term is the least over whole coverage. Returns the agents' shares
    (A,) and the slots' (P, T)."""
    pi = bound.prices
    per_slot: FloatArray = (
        np.maximum(inst.required - cover, 0.0) + pi * cover - slot_terms(inst.required, pi)
    )
    per_agent: FloatArray = bound.best - collected
    return per_agent, per_slot


def group_values(
    inst: Instance,
    tab: WeekTables,
    g: int,
    pi: FloatArray,
    values: FloatArray,
    lunch_at: IntArray,
) -> FloatArray:
    """Skill set ``g`` 's price per slot at ``pi`` (P, T): the best of its open projects'
    (returned), and each shift type's relaxed value at those prices in ``values`` (with its
    lunch's offset in ``lunch_at``; see ``shift_values``)."""
    sk = [inst.pidx(p) for p in inst.groups[g]]
    best = np.where(inst.open_[sk], pi[sk], -np.inf).max(axis=0)  # prices may be negative
    m = np.ascontiguousarray(np.where(np.isfinite(best), best, 0.0))
    shift_values(
        m,
        inst.type_start,
        inst.type_len,
        tab.lunch_of_len,
        inst.layout.lunch_lo,
        inst.layout.lunch_hi,
        tab.breaks_of_len,
        values,
        lunch_at,
    )
    return m


def relaxed_week(
    inst: Instance,
    tab: WeekTables,
    a: int,
    values: FloatArray,
    chosen: IntArray,
    work: WeekWork | None = None,
) -> float:
    """The most agent ``a`` 's relaxed week collects with ``values`` per shift type (from
    ``shift_values``): ``best_week`` over the agent's allowed types, its rest, days and
    contract hours; the contract minimum is dropped (a relaxation) when out of reach. The
    chosen shifts go to ``chosen`` as positions in ``agent_types(inst, a)``, -1 after the last
    one. ``NEG`` if the agent has no shift type at all."""
    agent = inst.agents[a]
    ks = agent_types(inst, a)
    chosen[:] = -1
    if not ks.size:
        return NEG
    max_paid = int(np.floor(agent.max_hours_week * 4 + 1e-6))
    args = (
        np.searchsorted(inst.type_day[ks], np.arange(8)).astype(np.int64),
        inst.type_start[ks],
        inst.type_len[ks],
        tab.paid_of_len[inst.type_len[ks]],
        values[ks],
        inst.day_slot,
        tab.width,
        tab.n_ends,
        inst.layout.rest,
        min(agent.max_days_week, inst.max_days_week),
    )
    min_paid = int(np.ceil(agent.min_hours_week * 4 - 1e-6))
    best = best_week(*args, min_paid, max_paid, chosen, work)
    if best <= NEG:
        best = best_week(*args, 0, max_paid, chosen, work)
    return float(best)


def relaxed_weeks(
    inst: Instance, tab: WeekTables, values: FloatArray, threads: int = 1
) -> tuple[FloatArray, list[IntArray]]:
    """``relaxed_week`` for every agent, with ``values`` (G, K) per skill set and shift type:
    each agent's best (``NEG`` without any shift type) and the shift types of its week. Agents
    alike (``WeekTables.alike``) share one dynamic programme. With ``threads`` > 1 the
    programmes are split over that many threads (``best_week`` releases the GIL; 300 agents:
    0.36 s a round of the master instead of 0.56 on 2 cores); the result is the same."""
    n_a = len(inst.agents)
    rep = tab.alike
    best = np.full(n_a, NEG)
    types: list[IntArray] = [np.zeros(0, dtype=np.int64)] * n_a
    reps = sorted(set(rep.tolist()))

    def part(sub: list[int]) -> None:
        chosen = np.full(8, -1, dtype=np.int64)
        work = WeekWork()
        for a in sub:
            best[a] = relaxed_week(inst, tab, a, values[int(inst.agent_group[a])], chosen, work)
            types[a] = agent_types(inst, a)[chosen[chosen >= 0]]

    if threads <= 1:
        part(reps)
    else:
        with ThreadPoolExecutor(threads) as pool:
            for done in [pool.submit(part, reps[i::threads]) for i in range(threads)]:
                done.result()
    for a in range(n_a):
        best[a], types[a] = best[rep[a]], types[rep[a]]
    return best, types
