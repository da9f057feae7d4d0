"""Compiled Erlang kernels (private).

Scalar functions compiled with numba, plus batch loops over flat float64 arrays. The public
functions in ``_erlang.py`` validate, broadcast and call these; nothing here checks input.
No fastmath: the tails of these sums need every bit.

Notation (per interval): ``a`` offered load in Erlangs, ``s`` servers (agents × concurrency),
``t`` the answer-time threshold. Erlang A (M/M/s+M) uses, with θ = 1/patience and μ = 1/aht,
``x = s μ/θ`` and ``y = λ/θ = a μ/θ``, and the series

    M(x, y)  = Σ_{k≥0} T_k,             T_k = y^k / Π_{i=1..k+1} (x + i)
    M1(x, y) = Σ_{k≥0} (k+1) T_k
    MH(x, y) = Σ_{k≥0} T_k H_k,         H_k = Σ_{i=1..k+1} 1/(x + i)

(M is e^y y^(-x-1) γ(x+1, y), a Kummer function). With S = 1 + y M, the probability that an
arrival finding k callers ahead is eventually answered is x/(x+k+1) (θV_k is distributed as
−ln(1−P), P ~ Beta(k+1, x)); summed over the stationary queue it gives, for a caller who waits,

    P(answered)                 = x M / S            (so P(abandon | wait) = M1 / S exactly,
                                                       since S − x M = M1)
    P(answered within t)        = x [M(x,y) − e^{y−y'} (y'/y)^{x+1} M(x,y')] / S,  y' = y e^{−θt}
    E[wait; answered] · θ       = x MH / S

Every series has positive terms only (no cancellation); sums start at the largest term and
carry a log scale, so loads of 20,000 Erlangs neither overflow nor underflow.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

F = TypeVar("F", bound=Callable[..., Any])

_EPS = 1e-17  # relative truncation of the series (below double precision)
_MAX_TERMS = 50_000_000


def _jit(func: F) -> F:
    """numba.njit with on-disk caching, typed for mypy."""
    return cast(F, numba.njit(cache=True, nogil=True)(func))


@_jit
def erlang_b_scalar(a: float, s: int) -> float:
    """Erlang B blocking probability by the stable recursion B_k = aB/(k + aB)."""
    b = 1.0
    for k in range(1, s + 1):
        ab = a * b
        b = ab / (k + ab)
    return b


@_jit
def _b_step(a: float, b: float, s_from: int, s_to: int) -> float:
    """Advance the Erlang B recursion from B(s_from) to B(s_to)."""
    for k in range(s_from + 1, s_to + 1):
        ab = a * b
        b = ab / (k + ab)
    return b


@_jit
def _c_metrics(a: float, s: int, b: float, t_s: float, aht_s: float) -> tuple[float, float, float]:
    """Erlang C (sl, asa_s, p_wait) for s > a given B(s)."""
    pw = s * b / (s - a * (1.0 - b))
    sl = 1.0 - pw * math.exp(-(s - a) * t_s / aht_s)
    asa = pw * aht_s / (s - a)
    return sl, asa, pw


@_jit
def erlang_c_scalar(
    a: float, s: int, t_s: float, aht_s: float
) -> tuple[float, float, float, float]:
    """Erlang C: (sl, asa_s, p_wait, occupancy) with ``s`` servers."""
    if a <= 0.0:
        return 1.0, 0.0, 0.0, 0.0
    if s <= a:
        return 0.0, math.inf, 1.0, 1.0
    b = erlang_b_scalar(a, s)
    sl, asa, pw = _c_metrics(a, s, b, t_s, aht_s)
    return sl, asa, pw, a / s


@_jit
def _series(x: float, y: float, with_h: bool) -> tuple[float, float, float, float]:
    """(L, s0, s1, s2) with M = e^L s0, M1 = e^L s1, MH = e^L s2 (see module docstring)."""
    if y <= 0.0:
        t0 = 1.0 / (x + 1.0)
        return 0.0, t0, t0, t0 * t0
    kp_real = y - x - 1.0
    kp = 0 if kp_real <= 0.0 else int(math.floor(kp_real))
    # log of the peak term T_kp and the harmonic sum H_kp
    h = 0.0
    if kp <= 64:
        log_den = 0.0
        for i in range(1, kp + 2):
            log_den += math.log(x + i)
    else:
        log_den = math.lgamma(x + kp + 2.0) - math.lgamma(x + 1.0)
    if with_h:
        for i in range(1, kp + 2):
            h += 1.0 / (x + i)
    log_peak = kp * math.log(y) - log_den
    s0 = 1.0
    s1 = kp + 1.0
    s2 = h
    # upward tail: ratio T_{k+1}/T_k = y/(x+k+2), decreasing in k
    t = 1.0
    k = kp
    hk = h
    n = 0
    while n < _MAX_TERMS:
        ratio = y / (x + k + 2.0)
        t *= ratio
        k += 1
        n += 1
        if with_h:
            hk += 1.0 / (x + k + 1.0)
        s0 += t
        s1 += (k + 1.0) * t
        s2 += t * hk
        r1 = ratio * (k + 2.0) / (k + 1.0)
        if r1 < 1.0 and (k + 1.0) * t < _EPS * s0 * (1.0 - r1):
            break
    # downward tail: T_{k-1}/T_k = (x+k+1)/y, decreasing as k falls
    t = 1.0
    k = kp
    hk = h
    while k > 0:
        ratio = (x + k + 1.0) / y
        if with_h:
            hk -= 1.0 / (x + k + 1.0)
        t *= ratio
        k -= 1
        s0 += t
        s1 += (k + 1.0) * t
        s2 += t * hk
        if ratio < 1.0 and t < _EPS * s0 * (1.0 - ratio):
            break
    return log_peak, s0, s1, s2


@_jit
def _log_add_one(log_v: float) -> float:
    """log(1 + e^log_v) without overflow."""
    if log_v > 35.0:
        return log_v + math.log1p(math.exp(-log_v))
    return math.log1p(math.exp(log_v))


@_jit
def erlang_a_scalar(
    a: float, s: int, t_s: float, aht_s: float, patience_s: float, with_asa: bool
) -> tuple[float, float, float, float, float]:
    """Erlang A (M/M/s+M): (sl, asa_s, p_wait, abandon_rate, occupancy).

    ``asa_s`` is only computed when ``with_asa`` (else NaN)."""
    eb = erlang_b_scalar(a, s) if s > 0 else 1.0
    return erlang_a_given_b(a, s, eb, t_s, aht_s, patience_s, with_asa)


@_jit
def _required_c_scalar(
    a: float,
    conc: int,
    t_s: float,
    aht_s: float,
    sl_target: float,
    max_occ: float,
    max_asa_s: float,
    cap: int,
) -> int:
    """Minimal agents for Erlang C by incremental search from the load upward.

    Starts at the smallest stable staffing (s > a) and walks up one agent at a time,
    advancing the Erlang B recursion by ``conc`` servers per step. Returns -1 past ``cap``."""
    if a <= 0.0:
        return 0
    n = int(math.floor(a / conc)) + 1
    s = n * conc
    b = erlang_b_scalar(a, s)
    while n <= cap:
        sl, asa, _pw = _c_metrics(a, s, b, t_s, aht_s)
        if sl >= sl_target and asa <= max_asa_s and a / s <= max_occ:
            return n
        b = _b_step(a, b, s, s + conc)
        s += conc
        n += 1
    return -1


@_jit
def _b_table(a: float, bt: FloatArray, filled: int, s: int) -> int:
    """Extend the Erlang B table ``bt`` (valid up to index ``filled``) to index ``s``."""
    b = bt[filled]
    for k in range(filled + 1, s + 1):
        ab = a * b
        b = ab / (k + ab)
        bt[k] = b
    return max(filled, s)


@_jit
def erlang_a_given_b(
    a: float, s: int, eb: float, t_s: float, aht_s: float, patience_s: float, with_asa: bool
) -> tuple[float, float, float, float, float]:
    """Erlang A metrics given the Erlang B value ``eb`` = B(s, a); see ``erlang_a_scalar``."""
    if a <= 0.0:
        return 1.0, 0.0, 0.0, 0.0, 0.0
    if s <= 0:
        return 0.0, math.inf, 1.0, 1.0, 1.0
    r = patience_s / aht_s  # μ/θ
    x = s * r
    y = a * r
    theta_t = t_s / patience_s
    L, s0, s1, s2 = _series(x, y, with_asa)
    log_m = L + math.log(s0)
    log_s = _log_add_one(math.log(y) + log_m)  # S = 1 + y M
    # P(wait) = 1 / (1 + u),  u = (1 - E_B) / (E_B S)
    u = math.inf if eb <= 0.0 else math.exp(math.log1p(-eb) - math.log(eb) - log_s)
    q = 1.0 / (1.0 + u)
    p_no_wait = u / (1.0 + u) if u < math.inf else 1.0
    # answered within t among those who wait
    g = math.exp(log_m - log_s)
    if theta_t > 0.0:
        log_pref = y * (-math.expm1(-theta_t)) - (x + 1.0) * theta_t
        if log_pref > -745.0:
            y2 = y * math.exp(-theta_t)
            L2, t0, _t1, _t2 = _series(x, y2, False)
            g -= math.exp(log_pref + L2 + math.log(t0) - log_s)
        within_given_wait = x * g
    else:
        within_given_wait = 0.0
    within_given_wait = min(max(within_given_wait, 0.0), 1.0)
    abandon_given_wait = min(math.exp(L + math.log(s1) - log_s), 1.0)
    abandon = q * abandon_given_wait
    sl = p_no_wait + q * within_given_wait
    occupancy = a * (1.0 - abandon) / s
    asa = math.nan
    if with_asa:
        answered = 1.0 - abandon
        if answered <= 0.0:
            asa = math.inf
        else:
            asa = q * x * math.exp(L + math.log(s2) - log_s) * patience_s / answered
    return sl, asa, q, abandon, occupancy


@_jit
def _a_margin(
    a: float,
    n: int,
    conc: int,
    t_s: float,
    aht_s: float,
    patience_s: float,
    sl_target: float,
    max_occ: float,
    max_asa_s: float,
    max_abandon: float,
    bt: FloatArray,
    filled: int,
) -> tuple[float, int]:
    """Smallest slack over the targets at n agents (>= 0 means feasible), and the new fill
    level of the Erlang B table."""
    s = n * conc
    if s > filled:
        filled = _b_table(a, bt, filled, s)
    with_asa = max_asa_s < math.inf
    sl, asa, _pw, ab, occ = erlang_a_given_b(a, s, bt[s], t_s, aht_s, patience_s, with_asa)
    margin = sl - sl_target
    if max_abandon < math.inf:
        margin = min(margin, max_abandon - ab)
    if max_occ < math.inf:
        margin = min(margin, max_occ - occ)
    if with_asa:
        margin = min(margin, (max_asa_s - asa) / max_asa_s)
    return margin, filled


@_jit
def _required_a_scalar(
    a: float,
    conc: int,
    t_s: float,
    aht_s: float,
    patience_s: float,
    sl_target: float,
    max_occ: float,
    max_asa_s: float,
    max_abandon: float,
    cap: int,
    bt: FloatArray,
    shift: float,
) -> tuple[int, int]:
    """Minimal agents for Erlang A by a safeguarded secant search on whole agents.

    Every target is monotone in the number of agents, so the answer is the first feasible N
    and the search keeps a bracket: ``lo`` known infeasible, ``hi`` known feasible. ``lo``
    starts at the bound N·conc <= sl_target·a (the answered share is below servers/load, so
    such N cannot reach the target); the first guess is the Erlang C answer for the same
    service level, usually a few agents from the Erlang A one, less ``shift`` standard
    deviations of the load (the caller passes what the previous interval needed: intervals of
    one project differ little in it). Returns (agents, Erlang C guess). Each next candidate is the
    secant root of the smallest slack between the bracket ends (falling back to doubling
    steps, then bisection), so most intervals take three or four evaluations. ``bt`` is a
    workspace of at least cap·conc + 1 floats for the Erlang B values, filled as needed."""
    if a <= 0.0:
        return 0, 0
    bt[0] = 1.0
    filled = 0
    lo = max(int(math.ceil(sl_target * a / conc)) - 1, 0)
    f_lo = math.nan
    hi = -1
    f_hi = math.nan
    guess = _required_c_scalar(a, conc, t_s, aht_s, sl_target, math.inf, math.inf, cap)
    n = max(guess if guess >= 0 else cap, lo + 1)
    if guess >= 0 and shift != 0.0:
        n = min(max(n - int(round(shift * math.sqrt(a / conc))), lo + 1), cap)
    # the Erlang C service-level slope at the guess predicts the Erlang A one well enough
    # for the second candidate (its curve has the same shape, shifted)
    slope = math.nan
    if guess >= 1 and (guess - 1) * conc > a:
        filled = _b_table(a, bt, filled, guess * conc)
        sl_hi = _c_metrics(a, guess * conc, bt[guess * conc], t_s, aht_s)[0]
        sl_lo = _c_metrics(a, (guess - 1) * conc, bt[(guess - 1) * conc], t_s, aht_s)[0]
        slope = sl_hi - sl_lo
    prev = -1
    f_prev = math.nan
    step = 1
    stalls = 0
    evals = 0
    while True:
        evals += 1
        f, filled = _a_margin(
            a,
            n,
            conc,
            t_s,
            aht_s,
            patience_s,
            sl_target,
            max_occ,
            max_asa_s,
            max_abandon,
            bt,
            filled,
        )
        if f >= 0.0:
            prev, f_prev = hi, f_hi
            hi, f_hi = n, f
        else:
            lo, f_lo = n, f
        if hi >= 0 and hi - lo <= 1:
            return hi, guess
        if hi < 0:  # nothing feasible yet: step up, doubling
            n = lo + step
            step *= 2
            if n > cap:
                n = cap
                if lo >= cap:
                    return -1, guess
            continue
        if math.isnan(f_lo):  # only feasible points so far: jump down, then double
            if evals == 1 and slope > 0.0 and shift == 0.0:
                n = max(hi - max(int(math.ceil(f_hi / slope)), 1), lo + 1)
            elif prev > hi and f_prev > f_hi:
                # extrapolate the two feasible points; the curve steepens downward, so the
                # root lies at or above this estimate and the candidate usually brackets it
                root = hi - f_hi * (prev - hi) / (f_prev - f_hi)
                n = max(min(int(math.floor(root)), hi - 1), lo + 1)
            else:
                n = max(hi - step, lo + 1)
                step *= 2
            continue
        # secant root of the slack between the bracket ends; feasible side is n >= root
        root = hi - f_hi * (hi - lo) / (f_hi - f_lo)
        n = int(math.ceil(root))
        if n >= hi:
            n = hi - 1
        if n <= lo:
            n = lo + 1
        # the candidate and its lower neighbour settle the answer when the root is right:
        # alternate sides, and bisect when the secant keeps hugging one end
        if n == hi - 1 or n == lo + 1:
            stalls += 1
        else:
            stalls = 0
        if stalls > 2:
            n = (lo + hi) // 2
            stalls = 0


FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@_jit
def metrics_batch(
    erlang_a: bool,
    load: FloatArray,
    servers: IntArray,
    conc: IntArray,
    t_s: FloatArray,
    aht_s: FloatArray,
    patience_s: FloatArray,
    out_sl: FloatArray,
    out_asa: FloatArray,
    out_pw: FloatArray,
    out_ab: FloatArray,
    out_occ: FloatArray,
) -> None:
    """Metrics for given agent counts (``servers`` = agents; × ``conc`` inside)."""
    for i in range(load.shape[0]):
        s = servers[i] * conc[i]
        if erlang_a:
            sl, asa, pw, ab, occ = erlang_a_scalar(
                load[i], s, t_s[i], aht_s[i], patience_s[i], True
            )
        else:
            sl, asa, pw, occ = erlang_c_scalar(load[i], s, t_s[i], aht_s[i])
            ab = 0.0
        out_sl[i] = sl
        out_asa[i] = asa
        out_pw[i] = pw
        out_ab[i] = ab
        out_occ[i] = occ


@_jit
def required_batch(
    erlang_a: bool,
    load: FloatArray,
    conc: IntArray,
    t_s: FloatArray,
    aht_s: FloatArray,
    patience_s: FloatArray,
    sl_target: FloatArray,
    max_occ: FloatArray,
    max_asa_s: FloatArray,
    max_abandon: FloatArray,
    out_agents: IntArray,
    out_sl: FloatArray,
    out_asa: FloatArray,
    out_pw: FloatArray,
    out_ab: FloatArray,
    out_occ: FloatArray,
) -> int:
    """Minimal agents and their metrics per element; returns the first index whose targets
    cannot be reached within the search cap, or -1 when all were."""
    n_items = load.shape[0]
    caps = np.empty(n_items, dtype=np.int64)
    biggest = 1
    for i in range(n_items):
        # generous cap: beyond the occupancy bound plus 60 standard deviations of the load
        a = load[i]
        base = a / max_occ[i] if max_occ[i] < math.inf else a
        caps[i] = int(math.ceil((base + 60.0 * math.sqrt(a) + 200.0) / conc[i])) + 1
        biggest = max(biggest, caps[i] * conc[i] + 1)
    bt = np.empty(biggest if erlang_a else 1, dtype=np.float64)
    shift = 0.0
    for i in range(n_items):
        a = load[i]
        c = conc[i]
        if erlang_a:
            n, guess = _required_a_scalar(
                a,
                c,
                t_s[i],
                aht_s[i],
                patience_s[i],
                sl_target[i],
                max_occ[i],
                max_asa_s[i],
                max_abandon[i],
                caps[i],
                bt,
                shift,
            )
            if n < 0:
                return i
            if a > 0.0 and guess > 0:
                shift = (guess - n) / math.sqrt(a / c)
            s = n * c
            eb = bt[s] if a > 0.0 else 1.0
            sl, asa, pw, ab, occ = erlang_a_given_b(a, s, eb, t_s[i], aht_s[i], patience_s[i], True)
        else:
            n = _required_c_scalar(
                a, c, t_s[i], aht_s[i], sl_target[i], max_occ[i], max_asa_s[i], caps[i]
            )
            if n < 0:
                return i
            sl, asa, pw, occ = erlang_c_scalar(a, n * c, t_s[i], aht_s[i])
            ab = 0.0
        out_agents[i] = n
        out_sl[i] = sl
        out_asa[i] = asa
        out_pw[i] = pw
        out_ab[i] = ab
        out_occ[i] = occ
    return -1


@_jit
def erlang_b_batch(load: FloatArray, servers: IntArray, out: FloatArray) -> None:
    for i in range(load.shape[0]):
        out[i] = erlang_b_scalar(load[i], servers[i])


@_jit
def erlang_c_batch(load: FloatArray, servers: IntArray, out: FloatArray) -> None:
    for i in range(load.shape[0]):
        a = load[i]
        s = servers[i]
        if a <= 0.0:
            out[i] = 0.0
        elif s <= a:
            out[i] = 1.0
        else:
            b = erlang_b_scalar(a, s)
            out[i] = s * b / (s - a * (1.0 - b))
