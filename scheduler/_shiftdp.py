"""The best inside of one shift (private): where lunch and breaks go and which project each work
slot serves, by dynamic programming over the shift's slots, compiled with numba.

State after a slot: lunch taken or not, breaks taken, whether the slot was lunch or a break (the
next one may not start right after it), the project of the current run and the run's length
(capped at ``block``). A run may only end — the agent switch projects — once it is ``block``
work slots long, and so must the last one; lunch and breaks do not end a run. Lunch starts in its
window; break ``j`` starts in window ``j``. The value of a work slot is the caller's gain for
the project there (``-inf``: closed); each switch costs ``switch_w``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

F = TypeVar("F", bound=Callable[..., Any])

NEG = -1e300


def _jit(func: F) -> F:
    return cast(F, numba.njit(cache=True, nogil=True)(func))


@_jit
def best_shift(
    gain: npt.NDArray[np.float64],  # (S, n): gain of a work slot per skill and offset
    lunch_len: int,  # 0: no lunch
    lunch_lo: int,
    lunch_hi: int,
    win_lo: npt.NDArray[np.int64],  # (B,) first start offset of break j
    win_hi: npt.NDArray[np.int64],  # (B,) last start offset of break j
    blen: int,
    block: int,
    switch_w: float,
    activity: npt.NDArray[np.int64],  # (n,) out: 0 work, 1 lunch, 2 break
    project: npt.NDArray[np.int64],  # (n,) out: skill index of a work slot, -1 otherwise
) -> float:
    """The best value (``NEG`` when no inside keeps the rules); fills ``activity`` and
    ``project``."""
    n_s, n = gain.shape
    n_b = win_lo.shape[0]
    work_total = n - lunch_len - n_b * blen
    need_run = max(1, min(block, work_total))
    # flat state index: ((((took * (B+1) + nb) * 2 + off) * (S+1) + cur) * (block+1) + run)
    d_run = block + 1
    d_cur = (n_s + 1) * d_run
    d_off = 2 * d_cur
    d_nb = (n_b + 1) * d_off
    n_states = 2 * d_nb
    value = np.full((n + 1, n_states), NEG)
    prev_i = np.full((n + 1, n_states), -1, dtype=np.int64)
    prev_st = np.full((n + 1, n_states), -1, dtype=np.int64)
    action = np.zeros((n + 1, n_states), dtype=np.int64)  # >= 0 skill, -1 lunch, -2 break
    took0 = 0 if lunch_len > 0 else 1
    value[0, took0 * d_nb + 0 * d_off + 1 * d_cur + 0 * d_run + 0] = 0.0
    for i in range(n):
        for st in range(n_states):
            v = value[i, st]
            if v <= NEG:
                continue
            took = st // d_nb
            nb = (st % d_nb) // d_off
            off = (st % d_off) // d_cur
            cur = (st % d_cur) // d_run - 1
            run = st % d_run
            if took == 0 and i > lunch_hi:
                continue
            if nb < n_b and i > win_hi[nb]:
                continue
            base = took * d_nb + nb * d_off
            for j in range(n_s):
                g = gain[j, i]
                if g <= NEG or g == -np.inf:
                    continue
                if cur == j:
                    nr = min(run + 1, block)
                    nv = v + g
                elif cur < 0:
                    nr = 1
                    nv = v + g
                elif run >= block:
                    nr = 1
                    nv = v + g - switch_w
                else:
                    continue
                ns = base + (j + 1) * d_run + nr
                if nv > value[i + 1, ns]:
                    value[i + 1, ns] = nv
                    prev_i[i + 1, ns] = i
                    prev_st[i + 1, ns] = st
                    action[i + 1, ns] = j
            if off == 1:
                continue
            keep = (cur + 1) * d_run + run
            if took == 0 and lunch_lo <= i <= lunch_hi and i + lunch_len <= n:
                ns = 1 * d_nb + nb * d_off + 1 * d_cur + keep
                e = i + lunch_len
                if v > value[e, ns]:
                    value[e, ns] = v
                    prev_i[e, ns] = i
                    prev_st[e, ns] = st
                    action[e, ns] = -1
            if nb < n_b and win_lo[nb] <= i <= win_hi[nb] and i + blen <= n:
                ns = took * d_nb + (nb + 1) * d_off + 1 * d_cur + keep
                e = i + blen
                if v > value[e, ns]:
                    value[e, ns] = v
                    prev_i[e, ns] = i
                    prev_st[e, ns] = st
                    action[e, ns] = -2
    best = NEG
    best_st = -1
    for st in range(n_states):
        v = value[n, st]
        if v <= NEG:
            continue
        if st // d_nb != 1 or (st % d_nb) // d_off != n_b or st % d_run < need_run:
            continue
        if v > best:
            best = v
            best_st = st
    if best_st < 0:
        return NEG
    i = n
    st = best_st
    while prev_i[i, st] >= 0:
        pi = prev_i[i, st]
        a = action[i, st]
        for k in range(pi, i):
            if a >= 0:
                activity[k] = 0
                project[k] = a
            else:
                activity[k] = 1 if a == -1 else 2
                project[k] = -1
        st = prev_st[i, st]
        i = pi
    return best


@_jit
def best_shifts(
    gain: npt.NDArray[np.float64],  # (S, T): gain of a work slot per skill and slot
    starts: npt.NDArray[np.int64],  # (C,) each candidate shift's first slot …
    lens: npt.NDArray[np.int64],  # … and its length
    lunch_of_len: npt.NDArray[np.int64],  # per shift length: lunch slots (0: none) …
    lunch_lo: int,
    lunch_hi_of_len: npt.NDArray[np.int64],  # … the last lunch start offset …
    n_win_of_len: npt.NDArray[np.int64],  # … the breaks and their windows
    win_lo_of_len: npt.NDArray[np.int64],  # (L, B)
    win_hi_of_len: npt.NDArray[np.int64],  # (L, B)
    blen: int,
    block: int,
    switch_w: float,
    values: npt.NDArray[np.float64],  # (C,) out: ``best_shift`` of each candidate
    activity: npt.NDArray[np.int64],  # (C, longest) out
    project: npt.NDArray[np.int64],  # (C, longest) out
) -> None:
    """``best_shift`` for many candidate shifts of one agent in one call (the per-call cost in
    Python was three times the programme's)."""
    for c in range(starts.shape[0]):
        s = starts[c]
        n = lens[c]
        nw = n_win_of_len[n]
        values[c] = best_shift(
            np.ascontiguousarray(gain[:, s : s + n]),
            lunch_of_len[n],
            lunch_lo,
            lunch_hi_of_len[n],
            win_lo_of_len[n, :nw].copy(),
            win_hi_of_len[n, :nw].copy(),
            blen,
            block,
            switch_w,
            activity[c, :n],
            project[c, :n],
        )
