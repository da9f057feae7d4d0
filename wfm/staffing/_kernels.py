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
carry a log scale, so loads of 20,000 Erlangs neither overflow nor underflow. M(x, y') needs no
second series: its terms are T_k e^{−θtk}, so one pass accumulates both (with weights relative
to the peak, while they stay in range). One division per term serves both the term ratio
y/(x+k+2) and the harmonic increment 1/(x+k+2).

Erlang C uses the reciprocal Erlang B recursion 1/B_k = 1 + (k/a)/B_{k−1} (a multiply-add per
server, no division) and P(wait) = s / ((s − a)/B + a).
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
_LINEAR_LOG = 650.0  # |log| below which Erlang A is evaluated in linear arithmetic

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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
def _inv_b(a: float, inv: float, s_from: int, s_to: int) -> float:
    """Advance 1/B from s_from to s_to servers: 1/B_k = 1 + (k/a)/B_{k-1} (inf past range)."""
    inv_a = 1.0 / a
    for k in range(s_from + 1, s_to + 1):
        inv = 1.0 + k * inv_a * inv
    return inv


@_jit
def erlang_c_scalar(
    a: float, s: int, t_s: float, aht_s: float
) -> tuple[float, float, float, float]:
    """Erlang C: (sl, asa_s, p_wait, occupancy) with ``s`` servers."""
    if a <= 0.0:
        return 1.0, 0.0, 0.0, 0.0
    if s <= a:
        return 0.0, math.inf, 1.0, 1.0
    d = s - a
    pw = s / (_inv_b(a, 1.0, 0, s) * d + a)
    sl = 1.0 - pw * math.exp(-d * t_s / aht_s)
    return sl, pw * aht_s / d, pw, a / s


@_jit
def _required_c_scalar(
    a: float,
    conc: int,
    t_s: float,
    aht_s: float,
    sl_target: float,
    max_occ: float,
    max_asa_s: float,
) -> tuple[int, float, float, float]:
    """Minimal agents for Erlang C by incremental search from the load upward, and their
    (sl, asa_s, p_wait).

    Starts at the smallest stable staffing (s > a) and walks up one agent at a time, carrying
    the reciprocal Erlang B recursion ``conc`` servers per step. Returns n = -1 past the
    search cap (``_cap``, only worked out once a search runs long)."""
    if a <= 0.0:
        return 0, 1.0, 0.0, 0.0
    n = int(math.floor(a / conc)) + 1
    s = n * conc
    inv = _inv_b(a, 1.0, 0, s)
    tau = t_s / aht_s
    steps = 0
    cap = 1 << 62
    while n <= cap:
        d = s - a
        pw = s / (inv * d + a)
        sl = 1.0 - pw * math.exp(-d * tau)
        if sl >= sl_target and a / s <= max_occ and pw * aht_s / d <= max_asa_s:
            return n, sl, pw * aht_s / d, pw
        inv = _inv_b(a, inv, s, s + conc)
        s += conc
        n += 1
        steps += 1
        if steps == 64:
            cap = _cap(a, max_occ, conc)
    return -1, 0.0, math.inf, 1.0


@_jit
def _peak(x: float, y: float, log_y: float, kp: int) -> tuple[float, float]:
    """T_kp = y^kp / Π_{i=1..kp+1} (x + i) as (log T_kp, T_kp); either may be NaN (not
    computed): the linear value when it would leave the safe range, the log when not needed."""
    if kp == 0:
        return math.nan, 1.0 / (x + 1.0)
    if kp <= 64:
        # the factors y/(x+i) are >= 1 up to the peak and at most 66: no overflow
        prod = 1.0
        for i in range(1, kp + 2):
            prod *= y / (x + i)
        return math.nan, prod / y
    log_t = kp * log_y - (math.lgamma(x + kp + 2.0) - math.lgamma(x + 1.0))
    return log_t, math.exp(log_t) if abs(log_t) < _LINEAR_LOG else math.nan


@_jit
def _series(
    x: float, y: float, log_y: float, rho: float, weighted: bool
) -> tuple[float, float, int, float, float, float, float]:
    """One pass over T_k from the peak: (L, P, kp, s0, s1, s2, sw) where P = T_kp = e^L
    (see ``_peak``), M = P s0, M1 = P s1, MH = P s2 and, when ``weighted``,
    Σ T_k ρ^k = P ρ^kp sw."""
    if y <= 0.0:
        t0 = 1.0 / (x + 1.0)
        return math.nan, t0, 0, 1.0, 1.0, t0, 1.0
    kp_real = y - x - 1.0
    kp = 0 if kp_real <= 0.0 else int(math.floor(kp_real))
    log_peak, peak = _peak(x, y, log_y, kp)
    if kp == 0:
        h = peak  # H_0 = 1/(x+1) = T_0
    else:
        h = 0.0
        for i in range(1, kp + 2):
            h += 1.0 / (x + i)
    s0 = 1.0
    s1 = kp + 1.0
    s2 = h
    sw = 1.0
    # upward: T_{k+1}/T_k = y/(x+k+2), decreasing in k; H_{k+1} = H_k + 1/(x+k+2)
    t = 1.0
    w = 1.0
    k = kp
    hk = h
    n = 0
    while n < _MAX_TERMS:
        inv = 1.0 / (x + k + 2.0)
        ratio = y * inv
        t *= ratio
        k += 1
        n += 1
        hk += inv
        s0 += t
        s1 += (k + 1.0) * t
        s2 += t * hk
        if weighted:
            w *= rho
            sw += t * w
        if (k + 1.0) * t < _EPS * s0:  # cheap test first; then bound the whole tail
            r1 = ratio * (k + 2.0) / (k + 1.0)
            if r1 < 1.0 and (k + 1.0) * t < _EPS * s0 * (1.0 - r1):
                break
    # downward: T_{k-1}/T_k = (x+k+1)/y, falling with k; the weighted terms fall by that / ρ
    t = 1.0
    w = 1.0
    k = kp
    hk = h
    inv_y = 1.0 / y
    while k > 0:
        ratio = (x + k + 1.0) * inv_y
        hk -= 1.0 / (x + k + 1.0)
        t *= ratio
        k -= 1
        s0 += t
        s1 += (k + 1.0) * t
        s2 += t * hk
        done = ratio < 1.0 and t < _EPS * s0 * (1.0 - ratio)
        if weighted:
            w /= rho
            tw = t * w
            sw += tw
            rw = ratio / rho
            done = done and rw < 1.0 and tw < _EPS * sw * (1.0 - rw)
        if done:
            break
    return log_peak, peak, kp, s0, s1, s2, sw


@_jit
def _log_add_one(log_v: float) -> float:
    """log(1 + e^log_v) without overflow."""
    if log_v > 35.0:
        return log_v + math.log1p(math.exp(-log_v))
    return math.log1p(math.exp(log_v))


@_jit
def _a_metrics(
    a: float,
    s: int,
    inv_b: float,
    r: float,
    log_y: float,
    patience_s: float,
    theta_t: float,
    rho: float,
    one_minus_rho: float,
) -> tuple[float, float, float, float, float]:
    """Erlang A (M/M/s+M) (sl, asa_s, p_wait, abandon_rate, occupancy) for a > 0, s > 0,
    given ``inv_b`` = 1/B(s, a) and the interval's constants r = μ/θ = patience/aht,
    log y = log(a r), θt, ρ = e^{−θt} and 1 − ρ."""
    x = s * r
    y = a * r
    kp_est = max(y - x - 1.0, 0.0)
    one_pass = kp_est * theta_t < _LINEAR_LOG
    L, peak, kp, s0, s1, s2, sw = _series(x, y, log_y, rho, one_pass)
    # e^{y-y'} (y'/y)^{x+1} = e^{log_pref}, the factor in front of M(x, y')
    log_pref = y * one_minus_rho - (x + 1.0) * theta_t
    if one_pass:
        log_wf = log_pref - kp * theta_t  # pref · Σ T_k ρ^k = e^{log_wf} · peak · sw
        w_sum = sw
        w_peak = peak
        log_w_peak = L
    else:
        y2 = y * rho
        L2, peak2, _kp2, t0, _a, _b, _c = _series(x, y2, log_y - theta_t, 1.0, False)
        log_wf = log_pref
        w_sum = t0
        w_peak = peak2
        log_w_peak = L2
    big = 1.0 + y * peak * s0
    linear = peak == peak and peak > 1e-280 and big < 1e280
    if linear and inv_b < math.inf:
        inv_s = 1.0 / big
        m_s = peak * s0 * inv_s
        m1_s = peak * s1 * inv_s
        mh_s = peak * s2 * inv_s
        if w_peak == w_peak:
            wf = math.exp(log_wf) if log_wf > -745.0 else 0.0
            mw_s = wf * w_peak * w_sum * inv_s
        else:
            mw_s = math.exp(log_wf + log_w_peak + math.log(w_sum)) * inv_s
        # P(wait) = S B / (1 - B + S B) = S / (1/B - 1 + S)
        den = 1.0 / (inv_b - 1.0 + big)
        q = big * den
        p_no_wait = (inv_b - 1.0) * den
    else:
        if L != L:
            L = math.log(peak)
        if log_w_peak != log_w_peak:
            log_w_peak = math.log(w_peak)
        log_m = L + math.log(s0)
        log_s = _log_add_one(log_y + log_m)  # S = 1 + y M
        m_s = math.exp(log_m - log_s)
        m1_s = math.exp(L + math.log(s1) - log_s)
        mh_s = math.exp(L + math.log(s2) - log_s)
        mw_s = math.exp(log_wf + log_w_peak + math.log(w_sum) - log_s)
        # P(wait) = 1 / (1 + u),  u = (1/B - 1) / S
        if inv_b == math.inf:
            q = 0.0
            p_no_wait = 1.0
        else:
            u = math.exp(math.log(inv_b - 1.0) - log_s) if inv_b > 1.0 else 0.0
            q = 1.0 / (1.0 + u)
            p_no_wait = u / (1.0 + u)
    within_given_wait = min(max(x * (m_s - mw_s), 0.0), 1.0) if theta_t > 0.0 else 0.0
    abandon = q * min(m1_s, 1.0)
    sl = min(p_no_wait + q * within_given_wait, 1.0)  # the min absorbs rounding only
    # answered share straight from its own terms (x M / S = P(answered | wait)), not as
    # 1 − abandon, which cancels badly in overload where nearly everyone abandons
    answered = p_no_wait + q * min(x * m_s, 1.0)
    asa = q * x * mh_s * patience_s / answered if answered > 0.0 else math.inf
    # carried load cannot exceed the servers; the min only absorbs rounding
    return sl, asa, q, abandon, min(a * answered / s, 1.0)


@_jit
def erlang_a_scalar(
    a: float, s: int, t_s: float, aht_s: float, patience_s: float
) -> tuple[float, float, float, float, float]:
    """Erlang A (M/M/s+M): (sl, asa_s, p_wait, abandon_rate, occupancy)."""
    if a <= 0.0:
        return 1.0, 0.0, 0.0, 0.0, 0.0
    if s <= 0:
        return 0.0, math.inf, 1.0, 1.0, 1.0
    theta_t = t_s / patience_s
    r = patience_s / aht_s
    return _a_metrics(
        a,
        s,
        _inv_b(a, 1.0, 0, s),
        r,
        math.log(a * r),
        patience_s,
        theta_t,
        math.exp(-theta_t),
        -math.expm1(-theta_t),
    )


@_jit
def _b_table(a: float, bt: FloatArray, filled: int, s: int) -> int:
    """Extend the table ``bt`` of 1/B (valid up to index ``filled``) to index ``s``."""
    inv = bt[filled]
    inv_a = 1.0 / a
    for k in range(filled + 1, s + 1):
        inv = 1.0 + k * inv_a * inv
        bt[k] = inv
    return max(filled, s)


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
) -> tuple[int, float, float, float, float, float]:
    """Minimal agents for Erlang A by a safeguarded secant search on whole agents.

    Every target is monotone in the number of agents, so the answer is the first feasible N
    and the search keeps a bracket: ``lo`` known infeasible, ``hi`` known feasible. ``lo``
    starts at the bound N·conc <= sl_target·a (the answered share is below servers/load, so
    such N cannot reach the target). The first guess is load + ``shift`` standard deviations
    of the load when the caller passes a hint (what the previous interval needed: intervals
    of one project differ little in it), else the Erlang C answer for the same service level,
    usually a few agents from the Erlang A one. Each next candidate is the secant root of the
    smallest slack between the bracket ends (falling back to doubling steps, then bisection).

    Returns (agents, sl, asa_s, p_wait, abandon_rate, occupancy); agents is -1 past ``cap``.
    ``bt`` is a workspace of at least cap·conc + 1 floats for the Erlang B values, filled as
    needed."""
    if a <= 0.0:
        return 0, 1.0, 0.0, 0.0, 0.0, 0.0
    bt[0] = 1.0
    filled = 0
    lo = max(int(math.ceil(sl_target * a / conc)) - 1, 0)
    f_lo = math.nan
    hi = -1
    f_hi = math.nan
    best = (1.0, 0.0, 0.0, 0.0, 0.0)
    tau = t_s / aht_s
    theta_t = t_s / patience_s
    r = patience_s / aht_s
    log_y = math.log(a * r)
    rho = math.exp(-theta_t)
    one_minus_rho = -math.expm1(-theta_t)
    slope = math.nan
    if shift == shift:  # a hint: the previous interval's staffing, in load deviations
        unit = math.sqrt(a / conc)
        n = min(max(int(round(a / conc + shift * unit)), lo + 1), cap)
    else:
        # the Erlang C answer for the same service level, on the same table of 1/B
        guess = int(math.floor(a / conc)) + 1
        filled = _b_table(a, bt, filled, guess * conc)
        while True:
            s = guess * conc
            pw = s / (bt[s] * (s - a) + a)
            if 1.0 - pw * math.exp(-(s - a) * tau) >= sl_target or guess >= cap:
                break
            guess += 1
            filled = _b_table(a, bt, filled, guess * conc)
        n = max(guess, lo + 1)
        if (guess - 1) * conc > a:
            # the Erlang C service-level slope at the guess predicts the Erlang A one well
            # enough for the second candidate (its curve has the same shape, shifted)
            s_hi = guess * conc
            s_lo = s_hi - conc
            pw_hi = s_hi / (bt[s_hi] * (s_hi - a) + a)
            pw_lo = s_lo / (bt[s_lo] * (s_lo - a) + a)
            slope = pw_lo * math.exp(-(s_lo - a) * tau) - pw_hi * math.exp(-(s_hi - a) * tau)
    prev = -1
    f_prev = math.nan
    step = 1
    stalls = 0
    evals = 0
    while True:
        evals += 1
        s = n * conc
        if s > filled:
            filled = _b_table(a, bt, filled, s)
        sl, asa, pw, ab, occ = _a_metrics(
            a, s, bt[s], r, log_y, patience_s, theta_t, rho, one_minus_rho
        )
        f = sl - sl_target
        if max_abandon < math.inf:
            f = min(f, max_abandon - ab)
        if max_occ < math.inf:
            f = min(f, max_occ - occ)
        if max_asa_s < math.inf:
            f = min(f, (max_asa_s - asa) / max_asa_s)
        if f >= 0.0:
            prev, f_prev = hi, f_hi
            hi, f_hi = n, f
            best = (sl, asa, pw, ab, occ)
        else:
            lo, f_lo = n, f
        if hi >= 0 and hi - lo <= 1:
            return hi, best[0], best[1], best[2], best[3], best[4]
        if hi < 0:  # nothing feasible yet: step up, doubling
            n = lo + step
            step *= 2
            if n > cap:
                n = cap
                if lo >= cap:
                    return -1, 0.0, math.inf, 1.0, 1.0, 1.0
            continue
        if math.isnan(f_lo):  # only feasible points so far: jump down, then double
            if evals == 1 and slope > 0.0:  # slope is NaN with a hint
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
        # bisect when the secant keeps hugging one end of the bracket
        if n == hi - 1 or n == lo + 1:
            stalls += 1
        else:
            stalls = 0
        if stalls > 2:
            n = (lo + hi) // 2
            stalls = 0


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
            sl, asa, pw, ab, occ = erlang_a_scalar(load[i], s, t_s[i], aht_s[i], patience_s[i])
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
    biggest = 1
    if erlang_a:
        for i in range(n_items):
            biggest = max(biggest, _cap(load[i], max_occ[i], conc[i]) * conc[i] + 1)
    bt = np.empty(biggest, dtype=np.float64)
    shift = math.nan  # no hint for the first interval
    for i in range(n_items):
        a = load[i]
        c = conc[i]
        if erlang_a:
            cap = _cap(a, max_occ[i], c)
            n, sl, asa, pw, ab, occ = _required_a_scalar(
                a, c, t_s[i], aht_s[i], patience_s[i], sl_target[i],
                max_occ[i], max_asa_s[i], max_abandon[i], cap, bt, shift,
            )  # fmt: skip
            if n < 0:
                return i
            if a > 0.0 and n > 0:
                shift = (n - a / c) / math.sqrt(a / c)
        else:
            n, sl, asa, pw = _required_c_scalar(
                a, c, t_s[i], aht_s[i], sl_target[i], max_occ[i], max_asa_s[i]
            )
            if n < 0:
                return i
            ab = 0.0
            occ = a / (n * c) if n > 0 else 0.0
        out_agents[i] = n
        out_sl[i] = sl
        out_asa[i] = asa
        out_pw[i] = pw
        out_ab[i] = ab
        out_occ[i] = occ
    return -1


@_jit
def _cap(a: float, max_occ: float, conc: int) -> int:
    """A generous search cap: the occupancy bound plus 60 standard deviations of the load."""
    base = a / max_occ if max_occ < math.inf else a
    return int(math.ceil((base + 60.0 * math.sqrt(a) + 200.0) / conc)) + 1


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
            out[i] = s / (_inv_b(a, 1.0, 0, s) * (s - a) + a)
