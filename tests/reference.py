"""Independent high-precision reference for the staffing engine (Erlang B, C and A).

Written from first principles with mpmath; it shares no code with ``wfm.staffing`` and
must never be derived from it.  Everything is evaluated at ``DPS`` decimal digits, inside
``mp.workdps`` so the global mpmath precision of other modules is left alone.

Model (see the staffing spec): Poisson arrivals λ = calls / interval_s, exponential
service with mean ``aht_s`` (μ = 1/aht_s), offered load A = λ/μ, FCFS, ``s = agents ×
concurrency`` servers.  Erlang C is M/M/s; Erlang A is M/M/s+M where every waiting caller
abandons after an exponential patience with mean ``patience_s`` (θ = 1/patience_s).

Erlang A is solved through its birth–death chain (state j = number in system, birth λ,
death min(j, s)μ + max(j − s, 0)θ).  Probabilities are kept relative to π_s:

* below s, Σ_{j<s} π_j / π_s = 1/B(s, A) − 1 (Erlang B, by its forward recursion);
* above s, q_m = π_{s+m} / π_s = Π_{i=1..m} A / (s + i·θ/μ), summed until the rest of the
  tail is provably below 10^-DPS of the total.

A caller who arrives with k callers ahead of them is answered at the virtual wait
V_k = Σ_{i=0..k} Exp(sμ + iθ), provided their own patience exceeds V_k, so
P(answered within t | k) = E[e^{−θ V_k}; V_k ≤ t].  Two independent evaluations are given:

(a) ``answered_within_quad`` integrates the hypoexponential density numerically
    (``mpmath.quad``) and ``answered_within_ctmc`` takes the transient of the caller's
    own absorbing CTMC (``mpmath.expm``);
(b) ``answered_within_beta``: θV_k has the law of −ln(1 − P) with P ~ Beta(k + 1, x),
    x = sμ/θ (Rényi's representation of exponential order statistics), hence
    E[e^{−θV_k}; V_k ≤ t] = x/(x + k + 1) · I_{1−e^{−θt}}(k + 1, x + 1).
    The large-load path evaluates the same closed form through the exact recurrence
    I_p(a + 1, b) = I_p(a, b) − p^a (1 − p)^b / (a B(a, b)).

Similarly E[V_k e^{−θV_k}] = (1/θ) · x/(x + k + 1) · Σ_{i=1..k+1} 1/(x + i) gives ASA.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, TypeAlias

import mpmath
from mpmath import mp

__all__ = [
    "DPS",
    "RefMetrics",
    "RefRequirement",
    "Targets",
    "answered_wait_moment_closed",
    "answered_wait_moment_quad",
    "answered_within_beta",
    "answered_within_ctmc",
    "answered_within_quad",
    "erlang_a_bruteforce",
    "erlang_a_consistency",
    "erlang_a_sl_direct",
    "erlang_b",
    "erlang_b_gammainc",
    "erlang_c_pwait",
    "erlang_c_sl_mixture",
    "metrics",
    "offered_load",
    "required_agents",
]

DPS = 50
#: An mpmath number (mpmath ships no type information).
Mpf: TypeAlias = Any

_EPS_EXP = -(DPS + 5)


def _eps() -> Mpf:
    return mpmath.mpf(10) ** _EPS_EXP


def offered_load(calls: float, aht_s: float, interval_s: float) -> Mpf:
    """A = λ·aht = calls · aht_s / interval_s, exact from the float inputs."""
    with mp.workdps(DPS):
        return mpmath.mpf(calls) * mpmath.mpf(aht_s) / mpmath.mpf(interval_s)


# --------------------------------------------------------------------------- Erlang B


_INV_B: dict[Mpf, list[Mpf]] = {}


def _inv_erlang_b(load: Mpf, servers: int) -> Mpf:
    """1/B(servers, load) by the forward recursion 1/B(n) = 1 + (n/A)·1/B(n − 1), 1/B(0) = 1.

    All terms are positive, so the recursion is forward-stable.  The table is cached per
    load and extended on demand."""
    if servers < 0:
        raise ValueError("servers must be >= 0")
    with mp.workdps(DPS):
        table = _INV_B.setdefault(load, [mpmath.mpf(1)])
        while len(table) <= servers:
            n = len(table)
            table.append(1 + n * table[-1] / load)
        return table[servers]


def erlang_b(load: Mpf, servers: int) -> Mpf:
    """Erlang B blocking probability B(servers, load)."""
    with mp.workdps(DPS):
        load = mpmath.mpf(load)
        if load == 0:
            return mpmath.mpf(1) if servers == 0 else mpmath.mpf(0)
        return 1 / _inv_erlang_b(load, servers)


def erlang_b_gammainc(load: Mpf, servers: int) -> Mpf:
    """Erlang B a second way: Poisson(A) pmf at s divided by the Poisson cdf at s,
    the cdf taken from the regularized upper incomplete gamma function."""
    with mp.workdps(DPS):
        load = mpmath.mpf(load)
        log_pmf = servers * mpmath.log(load) - load - mpmath.loggamma(servers + 1)
        cdf = mpmath.gammainc(servers + 1, load, mpmath.inf, regularized=True)
        return mpmath.exp(log_pmf) / cdf


# --------------------------------------------------------------------------- Erlang C


def erlang_c_pwait(load: Mpf, servers: int) -> Mpf:
    """Erlang C probability of wait for s > A: C = s·B / (s − A(1 − B)) = s / ((s − A)/B + A);
    1 when s ≤ A (unstable), 0 when A = 0."""
    with mp.workdps(DPS):
        load = mpmath.mpf(load)
        if load == 0:
            return mpmath.mpf(0)
        if servers <= load:
            return mpmath.mpf(1)
        inv_b = _inv_erlang_b(load, servers)
        return servers / (inv_b * (servers - load) + load)


def erlang_c_sl_mixture(load: Mpf, servers: int, aht_s: float, t: float) -> Mpf:
    """Erlang C service level a second way (for cross-checks on small cases): given a wait,
    the number ahead K is geometric, P(K = k) = (1 − ρ)ρ^k, and the wait is Gamma(k + 1, sμ),
    so SL = 1 − C + C·Σ_k (1 − ρ)ρ^k·P(Gamma(k + 1, sμ) ≤ t)."""
    with mp.workdps(DPS):
        load = mpmath.mpf(load)
        c = erlang_c_pwait(load, servers)
        rho = load / servers
        rate_t = servers * mpmath.mpf(t) / mpmath.mpf(aht_s)
        total = mpmath.mpf(0)
        weight = 1 - rho
        k = 0
        while True:
            total += weight * mpmath.gammainc(k + 1, 0, rate_t, regularized=True)
            k += 1
            weight *= rho
            if weight < _eps():
                break
        return 1 - c + c * total


# --------------------------------------------------------------------------- Erlang A pieces


def answered_within_beta(k: int, x: Mpf, theta_t: Mpf) -> Mpf:
    """(b) E[e^{−θV_k}; V_k ≤ t] = x/(x+k+1)·I_{1−e^{−θt}}(k+1, x+1), x = sμ/θ."""
    with mp.workdps(DPS):
        x = mpmath.mpf(x)
        p = -mpmath.expm1(-mpmath.mpf(theta_t))
        ibeta = mpmath.betainc(k + 1, x + 1, 0, p, regularized=True)
        return x / (x + k + 1) * ibeta


def _hypoexp_density(rates: list[Mpf]) -> Any:
    weights = []
    for i, ri in enumerate(rates):
        w = mpmath.mpf(1)
        for j, rj in enumerate(rates):
            if j != i:
                w *= rj / (rj - ri)
        weights.append(w)

    def density(v: Mpf) -> Mpf:
        return mpmath.fsum(w * r * mpmath.exp(-r * v) for w, r in zip(weights, rates, strict=True))

    return density


def answered_within_quad(k: int, s_mu: Mpf, theta: Mpf, t: Mpf) -> Mpf:
    """(a) ∫_0^t e^{−θv} f_k(v) dv with f_k the hypoexponential density of rates
    sμ + iθ, i = 0..k, integrated numerically by mpmath.quad (small k only)."""
    with mp.workdps(DPS):
        s_mu, theta, t = mpmath.mpf(s_mu), mpmath.mpf(theta), mpmath.mpf(t)
        rates = [s_mu + i * theta for i in range(k + 1)]
        density = _hypoexp_density(rates)
        return mpmath.quad(lambda v: mpmath.exp(-theta * v) * density(v), [0, t])


def answered_within_ctmc(k: int, s_mu: Mpf, theta: Mpf, t: Mpf) -> Mpf:
    """(a') The tagged caller's own CTMC: transient states = callers ahead (k..0); from
    position i it moves forward at rate sμ + iθ (service or an abandonment ahead) — from 0
    into 'answered' — and leaves into 'abandoned' at rate θ.  P(answered by t) from expm."""
    with mp.workdps(DPS):
        s_mu, theta, t = mpmath.mpf(s_mu), mpmath.mpf(theta), mpmath.mpf(t)
        n = k + 3  # positions 0..k, answered = k+1, abandoned = k+2
        q = mpmath.zeros(n, n)
        for i in range(k + 1):
            fwd = s_mu + i * theta
            target = i - 1 if i > 0 else k + 1
            q[i, target] += fwd
            q[i, k + 2] += theta
            q[i, i] = -(fwd + theta)
        trans = mpmath.expm(q * t)
        return trans[k, k + 1]


def answered_wait_moment_closed(k: int, s_mu: Mpf, theta: Mpf) -> Mpf:
    """E[V_k e^{−θV_k}] = (1/θ)·x/(x+k+1)·Σ_{i=1..k+1} 1/(x+i), x = sμ/θ."""
    with mp.workdps(DPS):
        s_mu, theta = mpmath.mpf(s_mu), mpmath.mpf(theta)
        x = s_mu / theta
        harmonic = mpmath.fsum(1 / (x + i) for i in range(1, k + 2))
        return x / (x + k + 1) * harmonic / theta


def answered_wait_moment_quad(k: int, s_mu: Mpf, theta: Mpf) -> Mpf:
    """The same moment by mpmath.quad of v·e^{−θv}·f_k(v) over [0, ∞)."""
    with mp.workdps(DPS):
        s_mu, theta = mpmath.mpf(s_mu), mpmath.mpf(theta)
        rates = [s_mu + i * theta for i in range(k + 1)]
        density = _hypoexp_density(rates)
        return mpmath.quad(lambda v: v * mpmath.exp(-theta * v) * density(v), [0, mpmath.inf])


@dataclass(frozen=True)
class _ChainSummary:
    p_wait: Mpf
    abandon_rate: Mpf
    answered: Mpf  # P(answered) from the per-k answer probabilities
    asa_s: Mpf
    busy: Mpf  # E[min(j, s)] / s, i.e. occupancy by a second route
    tail_terms: int


@functools.lru_cache(maxsize=32)
def _erlang_a_tail(load: Mpf, servers: int, phi: Mpf) -> tuple[Mpf, tuple[Mpf, ...]]:
    """(Σ_{j<s} π_j/π_s, (q_0, q_1, …)) with q_m = π_{s+m}/π_s and φ = θ/μ."""
    with mp.workdps(DPS):
        lower = _inv_erlang_b(load, servers) - 1
        tail = [mpmath.mpf(1)]
        total = lower + 1
        eps = _eps()
        m = 0
        while True:
            m += 1
            ratio = load / (servers + m * phi)
            q = tail[-1] * ratio
            tail.append(q)
            total += q
            nxt = load / (servers + (m + 1) * phi)
            # ratios decrease in m, so the rest of the tail is at most q·r/(1 − r)
            if nxt < 1 and q * nxt / (1 - nxt) * (m + 10) < eps * total:
                break
        return lower, tuple(tail)


_A_SUMMARY: dict[tuple[Mpf, int, Mpf, Mpf], _ChainSummary] = {}
_A_SL: dict[tuple[Mpf, int, Mpf, Mpf, Mpf], Mpf] = {}


def _erlang_a_summary(load: Mpf, servers: int, aht: Mpf, patience: Mpf) -> _ChainSummary:
    key = (load, servers, aht, patience)
    if key in _A_SUMMARY:
        return _A_SUMMARY[key]
    with mp.workdps(DPS):
        phi = aht / patience  # θ/μ
        theta = 1 / patience
        lower, tail = _erlang_a_tail(load, servers, phi)
        x = servers / phi  # sμ/θ
        z = lower + mpmath.fsum(tail)
        queue_mass = mpmath.mpf(0)
        answered = lower
        wait_mass = mpmath.mpf(0)
        harmonic = mpmath.mpf(0)
        for k, q in enumerate(tail):
            queue_mass += k * q
            a_k = x / (x + k + 1)
            harmonic += 1 / (x + k + 1)
            answered += q * a_k
            wait_mass += q * a_k * harmonic
        p_wait = (z - lower) / z
        abandon = phi * queue_mass / z / load
        answered /= z
        asa = wait_mass / theta / z / answered if answered > 0 else mpmath.inf
        if servers > 0:
            # E[min(j, s)] relative to π_s: Σ_{j<s} j π_j/π_s = A·Σ_{i≤s−2} π_i/π_s
            # = (s(s−1)/A)·1/B(s−2, A)
            below = mpmath.mpf(0)
            if servers >= 2:
                below = _inv_erlang_b(load, servers - 2) * servers * (servers - 1) / load
            busy = (below + servers * (z - lower)) / z / servers
        else:
            busy = mpmath.nan
        out = _ChainSummary(p_wait, abandon, answered, asa, busy, len(tail))
    _A_SUMMARY[key] = out
    return out


def _erlang_a_sl(load: Mpf, servers: int, aht: Mpf, patience: Mpf, t: Mpf) -> Mpf:
    key = (load, servers, aht, patience, t)
    if key in _A_SL:
        return _A_SL[key]
    with mp.workdps(DPS):
        phi = aht / patience
        lower, tail = _erlang_a_tail(load, servers, phi)
        z = lower + mpmath.fsum(tail)
        x = servers / phi
        theta_t = t / patience
        acc = lower
        if t > 0 and servers > 0:
            b = x + 1
            p = -mpmath.expm1(-theta_t)
            term = p * mpmath.exp(-theta_t * b) * b  # T_0 = p(1−p)^b·b
            ibeta = -mpmath.expm1(-theta_t * b)  # I_p(1, b) = 1 − (1−p)^b
            eps = _eps()
            for k, q in enumerate(tail):
                if k > 0:
                    ibeta -= term
                    term *= p * (k + b) / (k + 1)
                if ibeta < eps:  # I_p(k+1, b) decreases in k; the rest is negligible
                    break
                acc += q * x / (x + k + 1) * ibeta
        out = acc / z
    _A_SL[key] = out
    return out


def erlang_a_bruteforce(
    load: Mpf, servers: int, aht_s: float, patience_s: float, t: float, *, states: int = 400
) -> dict[str, Mpf]:
    """Erlang A directly from the unnormalised π_j (no Erlang B, no tail recurrence) and the
    betainc closed form per k; small loads only.  Used to check the fast path."""
    with mp.workdps(DPS):
        load = mpmath.mpf(load)
        mu = 1 / mpmath.mpf(aht_s)
        theta = 1 / mpmath.mpf(patience_s)
        lam = load * mu
        pis = [mpmath.mpf(1)]
        for j in range(1, states):
            death = min(j, servers) * mu + max(j - servers, 0) * theta
            pis.append(pis[-1] * lam / death)
        z = mpmath.fsum(pis)
        pis = [p / z for p in pis]
        s_mu = servers * mu
        p_wait = mpmath.fsum(pis[servers:])
        queue = mpmath.fsum((j - servers) * pis[j] for j in range(servers, states))
        busy = mpmath.fsum(min(j, servers) * pis[j] for j in range(states))
        sl = mpmath.fsum(pis[:servers])
        answered = sl
        wait = mpmath.mpf(0)
        if servers > 0:
            for j in range(servers, states):
                k = j - servers
                if pis[j] < _eps() * _eps():
                    break
                sl += pis[j] * answered_within_beta(k, s_mu / theta, theta * t)
                answered += pis[j] * s_mu / (s_mu + (k + 1) * theta)
                wait += pis[j] * answered_wait_moment_closed(k, s_mu, theta)
        return {
            "p_wait": p_wait,
            "abandon_rate": theta * queue / lam,
            "sl": sl,
            "answered": answered,
            "asa_s": wait / answered if answered > 0 else mpmath.inf,
            "busy": busy,
        }


# --------------------------------------------------------------------------- public metrics


@dataclass(frozen=True)
class RefMetrics:
    """Reference metrics at one point.  ``occupancy`` is NaN where the spec leaves it open
    (Erlang A with zero servers)."""

    agents: int
    load_erl: Mpf
    sl: Mpf
    asa_s: Mpf
    occupancy: Mpf
    p_wait: Mpf
    abandon_rate: Mpf


def metrics(
    calls: float,
    aht_s: float,
    agents: int,
    *,
    interval_s: float,
    answer_within_s: float,
    model: str = "erlang_c",
    patience_s: float | None = None,
    concurrency: int = 1,
) -> RefMetrics:
    """Reference StaffingResult fields for one scalar point (same argument names as the
    engine's ``service_level``)."""
    with mp.workdps(DPS):
        load = offered_load(calls, aht_s, interval_s)
        servers = int(agents) * int(concurrency)
        zero, one, inf = mpmath.mpf(0), mpmath.mpf(1), mpmath.inf
        if load == 0:
            return RefMetrics(agents, load, one, zero, zero, zero, zero)
        t = mpmath.mpf(answer_within_s)
        aht = mpmath.mpf(aht_s)
        if model == "erlang_c":
            if servers <= load:
                return RefMetrics(agents, load, zero, inf, one, one, zero)
            c = erlang_c_pwait(load, servers)
            sl = 1 - c * mpmath.exp(-(servers - load) * t / aht)
            asa = c * aht / (servers - load)
            return RefMetrics(agents, load, sl, asa, load / servers, c, zero)
        if model != "erlang_a" or patience_s is None:
            raise ValueError(f"bad model {model!r} / patience {patience_s!r}")
        if servers == 0:
            return RefMetrics(agents, load, zero, inf, mpmath.nan, one, one)
        patience = mpmath.mpf(patience_s)
        summ = _erlang_a_summary(load, servers, aht, patience)
        sl = _erlang_a_sl(load, servers, aht, patience, t)
        occ = load * (1 - summ.abandon_rate) / servers
        return RefMetrics(agents, load, sl, summ.asa_s, occ, summ.p_wait, summ.abandon_rate)


def erlang_a_consistency(
    calls: float, aht_s: float, agents: int, *, interval_s: float, patience_s: float
) -> dict[str, Mpf]:
    """Internal identities of the Erlang A fast path (for self-tests): P(answered) two ways
    and occupancy two ways (Little's law)."""
    with mp.workdps(DPS):
        load = offered_load(calls, aht_s, interval_s)
        summ = _erlang_a_summary(load, agents, mpmath.mpf(aht_s), mpmath.mpf(patience_s))
        return {
            "answered": summ.answered,
            "one_minus_abandon": 1 - summ.abandon_rate,
            "busy": summ.busy,
            "carried_over_servers": load * (1 - summ.abandon_rate) / agents,
            "tail_terms": mpmath.mpf(summ.tail_terms),
        }


# --------------------------------------------------------------------------- requirement


@dataclass(frozen=True)
class RefRequirement:
    """Minimal N and whether the decision at N or N − 1 is within ``tie_rtol`` (relative) of
    a limit, where float64 round-off could legitimately flip it."""

    agents: int
    near_tie: bool


@dataclass(frozen=True)
class Targets:
    """One staffing request (same argument names as the engine's ``required_agents``)."""

    calls: float
    aht_s: float
    interval_s: float
    sl_target: float
    answer_within_s: float
    model: str = "erlang_c"
    patience_s: float | None = None
    max_occupancy: float | None = None
    max_asa_s: float | None = None
    max_abandon_rate: float | None = None
    concurrency: int = 1

    def at(self, n: int) -> RefMetrics:
        return metrics(
            self.calls,
            self.aht_s,
            n,
            interval_s=self.interval_s,
            answer_within_s=self.answer_within_s,
            model=self.model,
            patience_s=self.patience_s,
            concurrency=self.concurrency,
        )

    def slack(self, n: int) -> list[Mpf]:
        """Relative slack of every target at N (≥ 0 means met)."""
        m = self.at(n)
        out = [(m.sl - self.sl_target) / self.sl_target]
        if self.max_asa_s is not None:
            out.append((self.max_asa_s - m.asa_s) / max(self.max_asa_s, 1e-300))
        if self.max_abandon_rate is not None:
            out.append(
                (self.max_abandon_rate - m.abandon_rate) / max(self.max_abandon_rate, 1e-300)
            )
        if self.max_occupancy is not None:
            out.append((self.max_occupancy - m.occupancy) / self.max_occupancy)
        return out

    def feasible(self, n: int) -> bool:
        if n <= 0:
            return bool(self.load() == 0)  # sl(0) = 0 < sl_target when calls > 0
        return all(x >= 0 for x in self.slack(n))

    def load(self) -> Mpf:
        return offered_load(self.calls, self.aht_s, self.interval_s)

    def near_tie(self, n: int, tie_rtol: float = 1e-9) -> bool:
        """True when a target at N, or every failing target at N − 1, is within tie_rtol."""
        if n <= 0:
            return False
        if any(abs(x) < tie_rtol for x in self.slack(n)):
            return True
        if n == 1:
            return False  # N = 0 fails by a full sl_target
        failing = [x for x in self.slack(n - 1) if x < 0]
        return bool(failing) and all(abs(x) < tie_rtol for x in failing)

    def is_minimal(self, n: int) -> bool:
        """N meets every target and N − 1 misses one (the bracket check)."""
        return self.feasible(n) and not self.feasible(n - 1)


def required_agents(req: Targets, *, linear: bool = False) -> RefRequirement:
    """Minimal integer N meeting every target, found with reference metrics only: a linear
    scan from N = 0 upward (``linear=True``; assumes nothing), or galloping from ceil(A/c)
    followed by bisection (assumes feasibility is monotone in N, which the linear scan is
    used to confirm on small loads)."""
    if linear:
        n = 0
        while not req.feasible(n):
            n += 1
        return RefRequirement(n, req.near_tie(n))
    if req.feasible(0):
        return RefRequirement(0, False)
    guess = max(1, int(mpmath.ceil(req.load() / req.concurrency)))
    if req.feasible(guess):
        hi, step = guess, 1
        lo = hi - step
        while req.feasible(lo):
            hi = lo
            step *= 2
            lo = max(0, hi - step)
    else:
        lo, step = guess, 1
        hi = lo + step
        while not req.feasible(hi):
            lo = hi
            step *= 2
            hi = lo + step
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if req.feasible(mid):
            hi = mid
        else:
            lo = mid
    return RefRequirement(hi, req.near_tie(hi))


def erlang_a_sl_direct(
    calls: float, aht_s: float, agents: int, *, interval_s: float, patience_s: float, t: float
) -> Mpf:
    """Erlang A service level with the betainc closed form evaluated per k (no recurrence);
    slower, used to check the recurrence of the fast path on a mid-size load."""
    with mp.workdps(DPS):
        load = offered_load(calls, aht_s, interval_s)
        aht, patience = mpmath.mpf(aht_s), mpmath.mpf(patience_s)
        phi = aht / patience
        lower, tail = _erlang_a_tail(load, agents, phi)
        z = lower + mpmath.fsum(tail)
        x = agents / phi
        theta_t = mpmath.mpf(t) / patience
        acc = lower
        for k, q in enumerate(tail):
            acc += q * answered_within_beta(k, x, theta_t)
        return acc / z
