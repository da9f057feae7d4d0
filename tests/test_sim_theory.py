"""The ACD simulator against exact queueing theory and against invariants read from its records.

Every reference here is computed by this file's own code: the transient of M/M/N from an empty
system by uniformisation of the (truncated) birth–death chain, cross-checked by a matrix
exponential (Van Loan); steady states from ``wfm.staffing`` (itself checked against mpmath);
the invariants of a random multi-skill site (hypothesis) from the flat call records. Nothing
of ``wfm.sim``'s internals is imported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache

import numpy as np
import numpy.typing as npt
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import linalg, stats

from wfm.sim import SimProject, SimResult, simulate
from wfm.staffing import service_level

FloatArray = npt.NDArray[np.float64]
Agents = dict[str, tuple[str, ...]]

TZ = "Europe/Berlin"
DAY = pd.Timestamp("2026-03-02 00:00", tz=TZ)  # a plain winter day: no DST change near it

# The transient scenario: 10 agents, 90 calls per 30 min of 180 s (9 Erlangs, ρ = 0.9), all
# agents at work from 00:00 on an empty system; the queue needs hours to reach steady state.
N_AGENTS = 10
CALLS_PER_30 = 90.0
AHT_S = 180.0
LAM = CALLS_PER_30 / 1800.0
MU = 1.0 / AHT_S
HOURS = 12
REPS = 400
WARMUP_H = 6
SEED = 11
CAP = N_AGENTS + 300  # truncation of the chain: P(queue > 300) at ρ = 0.9 is ~1e-14


# --------------------------------------------------------------------------- references


def birth_death_generator(lam: float, mu: float, servers: int, cap: int) -> FloatArray:
    """Generator Q of M/M/N on states 0..cap (no births out of the top state)."""
    n = np.arange(cap + 1)
    q = np.zeros((cap + 1, cap + 1))
    q[n[:-1], n[:-1] + 1] = lam
    q[n[1:], n[1:] - 1] = mu * np.minimum(n[1:], servers)
    q[n, n] = -q.sum(axis=1)
    return q


def uniformised(q: FloatArray, p0: FloatArray, edges: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Uniformisation: with Λ ≥ max exit rate and P = I + Q/Λ, p(t) = Σ_k pois(k; Λt) p0 P^k.
    Returns p(t) at the ``edges`` and ∫_0^t p(s) ds there, the latter from
    ∫_0^t pois(k; Λs) ds = P(Pois(Λt) > k) / Λ (exact, no quadrature)."""
    big_lam = float(-q.diagonal().min())
    step = np.eye(q.shape[0]) + q / big_lam
    top = big_lam * float(edges.max())
    ks = np.arange(int(top + 12.0 * math.sqrt(top) + 50.0))
    pmf = stats.poisson.pmf(ks[None, :], big_lam * edges[:, None])
    integ = stats.poisson.sf(ks[None, :], big_lam * edges[:, None]) / big_lam
    at = np.zeros((edges.size, q.shape[0]))
    cum = np.zeros((edges.size, q.shape[0]))
    v = p0.copy()
    for k in ks:
        at += pmf[:, k : k + 1] * v
        cum += integ[:, k : k + 1] * v
        v = v @ step
    return at, cum


def van_loan_integral(q: FloatArray, p0: FloatArray, t: float) -> FloatArray:
    """∫_0^t p0 exp(Qs) ds from one matrix exponential: exp([[Q, I], [0, 0]] t)[0, 1]."""
    k = q.shape[0]
    block = np.zeros((2 * k, 2 * k))
    block[:k, :k] = q
    block[:k, k:] = np.eye(k)
    return np.asarray(p0 @ linalg.expm(block * t)[:k, k:], dtype=np.float64)


@dataclass(frozen=True)
class Exact:
    """Per 30-min interval, averaged over the interval (PASTA: Poisson arrivals see time
    averages): P(an arrival waits) = P(X ≥ N); its mean wait (FCFS: it waits for X − N + 1
    departures at rate Nμ); the mean number waiting (X − N)⁺ and in the system X."""

    p_wait: FloatArray
    mean_wait_s: FloatArray
    waiting: FloatArray
    in_system: FloatArray


@cache
def exact_transient() -> Exact:
    q = birth_death_generator(LAM, MU, N_AGENTS, CAP)
    p0 = np.zeros(CAP + 1)
    p0[0] = 1.0  # empty at 00:00
    edges = np.arange(2 * HOURS + 1, dtype=np.float64) * 1800.0
    _, cum = uniformised(q, p0, edges)
    per = np.diff(cum, axis=0) / 1800.0  # time-average state distribution per interval
    n = np.arange(CAP + 1)
    return Exact(
        p_wait=per[:, N_AGENTS:].sum(axis=1),
        mean_wait_s=per @ (np.maximum(n - N_AGENTS + 1, 0) / (N_AGENTS * MU)),
        waiting=per @ np.maximum(n - N_AGENTS, 0),
        in_system=per @ n,
    )


def ci99(samples: FloatArray, level: float = 0.99) -> tuple[float, float]:
    """99 % (or ``level``) t interval of the mean across replications."""
    n = samples.size
    half = stats.t.ppf(0.5 + level / 2.0, n - 1) * float(np.std(samples, ddof=1)) / math.sqrt(n)
    return float(samples.mean() - half), float(samples.mean() + half)


def ratio_ci99(num: FloatArray, den: FloatArray, level: float = 0.99) -> tuple[float, float]:
    """99 % interval of Σnum ÷ Σden over replications (delta method: the spread across
    replications of num − r·den). Unlike the mean of per-replication ratios, which is biased
    when the ratio moves with the denominator (more arrivals in an interval → a larger share
    waits), this ratio estimator is consistent."""
    r = float(num.sum() / den.sum())
    n = num.size
    se = float(np.std(num - r * den, ddof=1)) / (math.sqrt(n) * float(den.mean()))
    half = float(stats.t.ppf(0.5 + level / 2.0, n - 1)) * se
    return r - half, r + half


def test_reference_code_is_consistent() -> None:
    """The uniformisation agrees with a matrix exponential, and the truncated chain's
    stationary law with Erlang C (so the references below are the right numbers)."""
    q = birth_death_generator(LAM, MU, N_AGENTS, CAP)
    p0 = np.zeros(CAP + 1)
    p0[0] = 1.0
    edges = np.array([1800.0, 5400.0])
    _, cum = uniformised(q, p0, edges)
    for i, t in enumerate(edges):
        np.testing.assert_allclose(cum[i], van_loan_integral(q, p0, float(t)), atol=1e-8)
    # stationary: solve π Q = 0, Σπ = 1
    a = np.vstack([q.T, np.ones(CAP + 1)])
    b = np.zeros(CAP + 2)
    b[-1] = 1.0
    pi = np.linalg.lstsq(a, b, rcond=None)[0]
    erlang = service_level(CALLS_PER_30, AHT_S, N_AGENTS, interval_s=1800, answer_within_s=20)
    assert abs(pi[N_AGENTS:].sum() - float(erlang.p_wait)) < 1e-9
    lq = float((np.maximum(np.arange(CAP + 1) - N_AGENTS, 0) * pi).sum())
    assert abs(lq - LAM * float(erlang.asa_s)) < 1e-6  # Little: Lq = λ·ASA


# --------------------------------------------------------------------------- the M/M/N run


def mmn_site(
    agents: int, hours: int, staffed_h: float, patience_s: float | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, Agents, dict[str, SimProject]]:
    ts = pd.date_range(DAY, periods=2 * hours, freq="30min")
    demand = pd.DataFrame({"project": "p", "ts": ts, "calls": CALLS_PER_30, "aht_s": AHT_S})
    names = [f"A{i:02d}" for i in range(agents)]
    schedule = pd.DataFrame(
        {
            "agent": names,
            "start": DAY,
            "end": DAY + pd.Timedelta(hours=staffed_h),
            "activity": "work",
            "project": None,
        }
    )
    projects = {"p": SimProject("p", answer_within_s=20.0, patience_s=patience_s)}
    return demand, schedule, dict.fromkeys(names, ("p",)), projects


@cache
def mmn_run() -> tuple[SimResult, pd.DataFrame]:
    """``REPS`` replications of 12 h of the transient scenario (staffed 3 h past the last arrival,
    so every call is served), and the records with times in seconds from 00:00."""
    demand, schedule, agents, projects = mmn_site(N_AGENTS, HOURS, HOURS + 3)
    res = simulate(
        demand,
        schedule,
        agents,
        projects,
        interval_min=30,
        replications=REPS,
        seed=SEED,
        records=True,
    )
    assert res.records is not None
    return replace(res, records=None), seconds(res.records, DAY)  # one copy kept, not two


def seconds(records: pd.DataFrame, t0: pd.Timestamp) -> pd.DataFrame:
    """The records with arrival / answer / end as float seconds from ``t0`` (NaN if none)."""
    out = records.copy()
    for col in ("arrival", "answer", "end"):
        out[col] = (records[col] - t0).dt.total_seconds()
    return out


def per_interval(rec: pd.DataFrame, values: FloatArray, n_int: int) -> FloatArray:
    """Sum of ``values`` per replication × arrival interval (30 min)."""
    interval = (rec["arrival"].to_numpy() // 1800.0).astype(np.int64)
    flat = rec["replication"].to_numpy() * n_int + interval
    got = np.bincount(flat, weights=values, minlength=REPS * n_int)
    return np.asarray(got, dtype=np.float64).reshape(REPS, n_int)


def time_in_intervals(starts: FloatArray, ends: FloatArray, edges: FloatArray) -> FloatArray:
    """Seconds of each [start, end) within each [edges[j], edges[j+1]) (calls × intervals)."""
    lo = np.maximum(starts[:, None], edges[None, :-1])
    hi = np.minimum(ends[:, None], edges[None, 1:])
    return np.asarray(np.clip(hi - lo, 0.0, None), dtype=np.float64)


def test_transient_from_empty_matches_uniformisation() -> None:
    """First 2 h from an empty system, per 30-min interval, against the exact transient of
    M/M/10 (uniformisation): the share of arrivals that wait (pooled over replications, with a
    delta-method CI — the plain mean of per-replication shares sits ~0.02 low here, a known
    ratio bias, not an engine fault), E[# waiting arrivals] ÷ λΔ, their mean wait, and the
    time-average numbers of calls waiting and in the system."""
    _, rec = mmn_run()
    assert (rec["status"] == "served").all()
    exact = exact_transient()
    n_int = 2 * HOURS
    waited = per_interval(rec, np.asarray(rec["wait_s"] > 0, dtype=np.float64), n_int)
    offered = per_interval(rec, np.ones(len(rec)), n_int)
    wait = per_interval(rec, rec["wait_s"].to_numpy(np.float64), n_int)
    edges = np.arange(n_int + 1, dtype=np.float64) * 1800.0
    in_system = np.zeros((REPS, n_int))
    waiting = np.zeros((REPS, n_int))
    for r, g in rec.groupby("replication"):
        arrival = g["arrival"].to_numpy()
        row = int(str(r))
        in_system[row] = time_in_intervals(arrival, g["end"].to_numpy(), edges).sum(axis=0)
        waiting[row] = time_in_intervals(arrival, g["answer"].to_numpy(), edges).sum(axis=0)
    in_system /= 1800.0
    waiting /= 1800.0
    expected_calls = LAM * 1800.0
    for i in range(4):
        # the asked-for check at 99 %; the side checks (skewed waits) at 99.9 %, so that
        # twenty checks on one seed do not flake when the engine's random streams change
        side = 0.999
        checks = {
            "share waiting": (ratio_ci99(waited[:, i], offered[:, i]), exact.p_wait[i]),
            "E[waited]/λΔ": (ci99(waited[:, i] / expected_calls, side), exact.p_wait[i]),
            "mean wait": (ratio_ci99(wait[:, i], offered[:, i], side), exact.mean_wait_s[i]),
            "waiting": (ci99(waiting[:, i], side), exact.waiting[i]),
            "in system": (ci99(in_system[:, i], side), exact.in_system[i]),
        }
        for name, ((lo, hi), value) in checks.items():
            assert lo <= value <= hi, (name, i, lo, value, hi)
        lo, hi = checks["share waiting"][0]
        assert hi - lo < 0.08, ("CI too wide to mean anything", i, lo, hi)
    # the transient matters: the first interval is far from the steady state, and the test
    # tells them apart
    steady = float(
        service_level(CALLS_PER_30, AHT_S, N_AGENTS, interval_s=1800, answer_within_s=20).p_wait
    )
    _, hi = ratio_ci99(waited[:, 0], offered[:, 0])
    assert hi < steady - 0.15, (hi, steady)


def test_steady_state_after_warmup_matches_erlang_c() -> None:
    """Arrivals from 06:00 to 12:00: the share that waits and the mean wait lie within the CIs
    of Erlang C's p_wait and ASA (the exact transient shows the warm-up left < 0.001 of bias)."""
    _, rec = mmn_run()
    exact = exact_transient()
    erlang = service_level(CALLS_PER_30, AHT_S, N_AGENTS, interval_s=1800, answer_within_s=20)
    assert abs(exact.p_wait[2 * WARMUP_H :].mean() - float(erlang.p_wait)) < 0.001
    assert abs(exact.mean_wait_s[2 * WARMUP_H :].mean() - float(erlang.asa_s)) < 0.5
    window = rec[rec["arrival"] >= WARMUP_H * 3600.0]
    by_rep = window.groupby("replication")
    count = np.asarray(by_rep.size(), dtype=np.float64)
    waited = by_rep["wait_s"].apply(lambda w: float((w > 0).sum())).to_numpy(np.float64)
    assert count.size == REPS
    lo, hi = ratio_ci99(waited, count)
    assert lo <= float(erlang.p_wait) <= hi, (lo, float(erlang.p_wait), hi)
    assert hi - lo < 0.04
    # Erlang C answers everyone, so its ASA is the mean wait of all callers (99.9 %: the
    # per-replication waits at ρ = 0.9 are very skewed, and a t interval undercovers them)
    lo, hi = ratio_ci99(by_rep["wait_s"].sum().to_numpy(np.float64), count, 0.999)
    assert lo <= float(erlang.asa_s) <= hi, (lo, float(erlang.asa_s), hi)


def test_littles_law_on_queue_len() -> None:
    """Time-average callers waiting (kpis ``queue_len`` over the steady intervals) = arrival
    rate × mean wait of all callers arriving then (records); both match the exact Lq."""
    res, rec = mmn_run()
    steady_ts = DAY + pd.Timedelta(hours=WARMUP_H)
    k = res.kpis[res.kpis["ts"] >= steady_ts]
    assert len(k) == 2 * (HOURS - WARMUP_H)
    lq_kpis = float(k["queue_len"].mean())
    t_window = (HOURS - WARMUP_H) * 3600.0
    window = rec[rec["arrival"] >= WARMUP_H * 3600.0]
    # λ·W per replication = Σ waits of the window's arrivals ÷ the window's length
    lam_w = (window.groupby("replication")["wait_s"].sum() / t_window).to_numpy(np.float64)
    lo, hi = ci99(lam_w)
    assert lo <= lq_kpis <= hi, (lo, lq_kpis, hi)
    assert abs(lq_kpis - lam_w.mean()) < 0.01 * lq_kpis, (lq_kpis, lam_w.mean())
    exact = exact_transient()
    lq_exact = float(exact.waiting[2 * WARMUP_H :].mean())
    erlang = service_level(CALLS_PER_30, AHT_S, N_AGENTS, interval_s=1800, answer_within_s=20)
    assert abs(lq_exact - LAM * float(erlang.asa_s)) < 0.01  # Lq = λ·ASA (Erlang C)
    lo, hi = ci99(lam_w, 0.999)  # skewed, as the waits are
    assert lo <= lq_exact <= hi, (lo, lq_exact, hi)
    # queue_len itself, recomputed from the records: seconds waiting per interval ÷ 1800 s
    edges = np.arange(2 * HOURS + 1, dtype=np.float64) * 1800.0
    total = np.zeros(2 * HOURS)
    for _r, g in rec.groupby("replication"):  # by replication: a modest memory footprint
        spans = time_in_intervals(g["arrival"].to_numpy(), g["answer"].to_numpy(), edges)
        total += spans.sum(axis=0)
    np.testing.assert_allclose(res.kpis["queue_len"].to_numpy(), total / 1800.0 / REPS, rtol=1e-9)


# --------------------------------------------------------------------------- CRN, short abandons


def test_common_random_numbers_more_agents_never_hurt() -> None:
    """10 vs 11 agents, one seed: the same calls (arrivals and handle times) per replication,
    and — FCFS with handle times tied to calls is pathwise monotone in the number of servers
    (Kiefer–Wolfowitz) — no call waits longer with 11, so SL(11) ≥ SL(10) in every replication."""
    runs = []
    for n in (10, 11):
        demand, schedule, agents, projects = mmn_site(n, 4, 7)
        res = simulate(
            demand,
            schedule,
            agents,
            projects,
            interval_min=30,
            replications=30,
            seed=23,
            records=True,
        )
        assert res.records is not None
        runs.append((res, res.records))
    (k10, r10), (k11, r11) = ((res.kpis, rec) for res, rec in runs)
    pd.testing.assert_series_equal(k10["offered"], k11["offered"])
    for col in ("replication", "arrival", "handle_s", "project"):
        pd.testing.assert_series_equal(r10[col], r11[col])
    counts = r10.groupby(["replication", r10["arrival"].dt.floor("30min")]).size()
    assert counts.equals(r11.groupby(["replication", r11["arrival"].dt.floor("30min")]).size())
    assert (r10["status"] == "served").all() and (r11["status"] == "served").all()
    assert (r11["wait_s"].to_numpy() <= r10["wait_s"].to_numpy() + 1e-6).all()
    sl = [
        rec.assign(ok=rec["wait_s"] <= 20.0).groupby("replication")["ok"].mean()
        for rec in (r10, r11)
    ]
    assert (sl[1] >= sl[0]).all()
    assert (sl[1] > sl[0]).mean() > 0.9  # and strictly better in most replications
    assert (k11["sl"] >= k10["sl"]).all()


def test_short_abandons_leave_offered_by_exactly_their_count() -> None:
    """``short_abandon_s=5``: offered and abandoned drop, per interval, by exactly the callers
    who hung up within 5 s (counted from the records of the same seed); SL is recomputed."""
    demand, schedule, agents, projects = mmn_site(8, 3, 3, patience_s=60.0)  # overloaded
    base, short = (
        simulate(demand, schedule, agents, projects, interval_min=30, replications=10,
                 seed=31, short_abandon_s=cut, records=True)
        for cut in (0.0, 5.0)
    )  # fmt: skip
    assert base.records is not None and short.records is not None
    pd.testing.assert_frame_equal(base.records, short.records)
    rec = seconds(base.records, DAY)
    is_short = (rec["status"] == "abandoned") & (rec["end"] - rec["arrival"] < 5.0)
    n_short = int(is_short.sum())
    assert n_short > 20  # the case is exercised
    reps = 10
    n_int = len(base.kpis)
    interval = (rec["arrival"] // 1800.0).astype(int).to_numpy()
    flat = rec["replication"].to_numpy() * n_int + interval
    per = np.bincount(flat, weights=is_short.to_numpy(float), minlength=reps * n_int)
    per = per.reshape(reps, n_int)
    np.testing.assert_allclose(
        (base.kpis["offered"] - short.kpis["offered"]).to_numpy() * reps,
        per.sum(axis=0),
        atol=1e-9,
    )
    np.testing.assert_allclose(
        (base.kpis["abandoned"] - short.kpis["abandoned"]).to_numpy() * reps,
        per.sum(axis=0),
        atol=1e-9,
    )
    assert round(float((base.kpis["offered"] - short.kpis["offered"]).sum()) * reps) == n_short
    pd.testing.assert_series_equal(base.kpis["answered"], short.kpis["answered"])
    # SL without them: answered within 20 s ÷ (offered − short abandons), per replication
    within = (rec["status"] == "served") & (rec["wait_s"] <= 20.0)
    num = np.bincount(flat, weights=within.to_numpy(float), minlength=reps * n_int)
    den = np.bincount(flat, weights=(~is_short).to_numpy(float), minlength=reps * n_int)
    sl = (num / den).reshape(reps, n_int).mean(axis=0)
    np.testing.assert_allclose(short.kpis["sl"].to_numpy(), sl, rtol=1e-12)


# --------------------------------------------------------------------------- random sites


@dataclass(frozen=True)
class Site:
    demand: pd.DataFrame
    schedule: pd.DataFrame
    agents: Agents
    projects: dict[str, SimProject]
    interval_min: int


NIGHT = DAY + pd.Timedelta(hours=20)  # demand from 20:00 into the next morning


@st.composite
def sites(draw: st.DrawFn) -> Site:
    """1–3 projects; 2–6 agents holding 1–3 of them (in priority order); each agent 1–3 work
    segments (all projects, or one held project) with a break or lunch back to back between
    them; the first agent's shift always crosses midnight; a few hours of 15- or 30-min
    intervals with 0–30 calls each; patience none or 30–300 s."""
    n_p = draw(st.integers(1, 3))
    names = [f"p{j}" for j in range(n_p)]
    interval_min = draw(st.sampled_from([15, 30]))
    n_int = draw(st.integers(2, 6)) * 60 // interval_min
    ts = pd.date_range(NIGHT, periods=n_int, freq=f"{interval_min}min")
    calls = draw(st.lists(st.integers(0, 30), min_size=n_p * n_int, max_size=n_p * n_int))
    aht = [draw(st.sampled_from([60.0, 150.0, 300.0, 420.0])) for _ in names]
    demand = pd.DataFrame(
        {
            "project": np.repeat(names, n_int),
            "ts": np.tile(ts, n_p),
            "calls": np.asarray(calls, dtype=np.float64),
            "aht_s": np.repeat(aht, n_int),
        }
    )
    projects = {
        p: SimProject(
            p,
            answer_within_s=20.0,
            patience_s=draw(st.one_of(st.none(), st.floats(30.0, 300.0))),
        )
        for p in names
    }
    n_a = draw(st.integers(2, 6))
    agents: Agents = {}
    rows: list[dict[str, object]] = []
    for a in range(n_a):
        name = f"A{a}"
        held = draw(st.permutations(names))[: draw(st.integers(1, n_p))]
        agents[name] = tuple(held)
        if a == 0:  # e.g. 22:00–02:00
            start = DAY + pd.Timedelta(hours=draw(st.sampled_from([21.5, 22.0, 23.0])))
        else:
            start = NIGHT + pd.Timedelta(minutes=15 * draw(st.integers(-4, 4 * 6)))
        n_seg = draw(st.integers(1, 3))
        for k in range(n_seg):
            length = draw(st.integers(2 if (a == 0 and k == 0) else 1, 8)) * 30
            if a == 0 and k == 0:
                length = max(length, 150)  # the first segment crosses midnight
            project = draw(st.sampled_from([None, "", *held]))
            end = start + pd.Timedelta(minutes=length)
            rows.append(
                {"agent": name, "start": start, "end": end, "activity": "work", "project": project}
            )
            start = end
            if k < n_seg - 1:
                for activity, minutes in draw(
                    st.sampled_from(
                        [
                            [("break", 15)],
                            [("lunch", 30)],
                            [("lunch", 60)],
                            [("break", 15), ("lunch", 30)],
                        ]
                    )
                ):
                    end = start + pd.Timedelta(minutes=minutes)
                    rows.append(
                        {
                            "agent": name,
                            "start": start,
                            "end": end,
                            "activity": activity,
                            "project": None,
                        }
                    )
                    start = end
    schedule = pd.DataFrame(rows)
    return Site(demand, schedule, agents, projects, interval_min)


def held_by(agents: Mapping[str, Sequence[str]], project: str) -> list[str]:
    return [a for a, skills in agents.items() if project in skills]


def eligible_windows(site: Site, t0: pd.Timestamp) -> dict[tuple[str, str], FloatArray]:
    """(agent, project) → work segments [start, end) in seconds from ``t0`` in which the agent
    may take the project (an empty project allows every project the agent holds)."""
    out: dict[tuple[str, str], list[tuple[float, float]]] = {}
    work = site.schedule[site.schedule["activity"] == "work"]
    for agent, start, end, project in zip(
        work["agent"], work["start"], work["end"], work["project"], strict=True
    ):
        empty = (
            project is None or project == "" or (isinstance(project, float) and math.isnan(project))
        )
        allowed = site.agents[agent] if empty else (str(project),)
        for p in allowed:
            assert p in site.agents[agent]
            span = ((start - t0).total_seconds(), (end - t0).total_seconds())
            out.setdefault((agent, p), []).append(span)
    return {key: np.array(sorted(v), dtype=np.float64) for key, v in out.items()}


def covered(spans: FloatArray, lo: float, hi: float) -> float:
    """Seconds of [lo, hi) covered by the disjoint spans (rows [start, end))."""
    if spans.size == 0 or not hi > lo:
        return 0.0
    return float(np.clip(np.minimum(spans[:, 1], hi) - np.maximum(spans[:, 0], lo), 0, None).sum())


def check_site(site: Site, res: SimResult) -> None:
    """From the records, with code of this file: each status has its fields (and only
    callers without patience stay queued); no answer before arrival, waits ≥ 0, wait = answer −
    arrival, end = answer + handle, abandoned calls end at arrival + patience ≥ 0; per project ×
    interval, offered / answered / abandoned / SL of the kpis = own counts (offered × reps =
    number of records), nothing NaN where calls were offered, lo ≤ mean ≤ hi; per replication,
    no agent on two calls at once, every call answered by an agent holding its project inside
    one of the agent's work segments that allows it (never at or after the segment's end —
    overrunning is fine), work conservation (while a call waits, every agent who may take it
    is busy) and FCFS within a project."""
    assert res.records is not None
    t0 = min(site.demand["ts"].min(), site.schedule["start"].min())
    rec = seconds(res.records, t0)
    reps = res.replications
    status = rec["status"]
    assert status.isin(["served", "abandoned", "queued"]).all()
    served, abandoned, queued = (status == s for s in ("served", "abandoned", "queued"))
    never_abandon = rec["project"].map(lambda p: site.projects[p].patience_s is None)
    # per status: what is and is not set
    assert rec.loc[served, ["answer", "end", "wait_s"]].notna().all().all()
    assert rec.loc[served, "agent"].notna().all()
    assert rec.loc[~served, ["answer", "wait_s"]].isna().all().all()
    assert rec.loc[~served, "agent"].isna().all()
    assert rec.loc[queued, "end"].isna().all()
    assert (queued <= never_abandon).all()  # only callers without patience are left waiting
    assert (rec.loc[served, "answer"] >= rec.loc[served, "arrival"]).all()
    assert (rec.loc[served, "wait_s"] >= 0).all()
    np.testing.assert_allclose(
        rec.loc[served, "wait_s"],
        rec.loc[served, "answer"] - rec.loc[served, "arrival"],
        atol=1e-6,
    )
    np.testing.assert_allclose(
        rec.loc[served, "end"],
        rec.loc[served, "answer"] + rec.loc[served, "handle_s"],
        atol=1e-6,
    )
    assert (rec["handle_s"] > 0).all()
    assert (rec.loc[abandoned, "end"] >= rec.loc[abandoned, "arrival"]).all()  # patience ≥ 0
    assert not never_abandon[abandoned].any()
    # calls per project × interval, as the kpis count them (no short abandons here)
    interval_ts = pd.DatetimeIndex(sorted(set(site.demand["ts"])))
    starts = (interval_ts - t0).total_seconds().to_numpy()
    i_of = np.searchsorted(starts, rec["arrival"].to_numpy(), side="right") - 1
    assert (i_of >= 0).all()
    assert (rec["arrival"].to_numpy() < starts[i_of] + site.interval_min * 60.0).all()
    proj_ix = {p: j for j, p in enumerate(sorted(site.projects))}
    n_p, n_i = len(proj_ix), len(interval_ts)
    flat = (rec["replication"].to_numpy() * n_p + rec["project"].map(proj_ix).to_numpy()) * n_i
    flat = flat + i_of

    def count(mask: pd.Series) -> FloatArray:
        got = np.bincount(flat, weights=mask.to_numpy(np.float64), minlength=reps * n_p * n_i)
        return np.asarray(got, dtype=np.float64).reshape(reps, n_p * n_i)

    k = res.kpis.set_index(["project", "ts"]).loc[
        [(p, t) for p in sorted(site.projects) for t in interval_ts]
    ]
    offered = count(pd.Series(True, index=rec.index))
    answered, gave_up = count(served), count(abandoned)
    within = count(served & (rec["wait_s"] <= 20.0))
    np.testing.assert_allclose(k["offered"], offered.mean(axis=0), atol=1e-9)
    np.testing.assert_allclose(k["answered"], answered.mean(axis=0), atol=1e-9)
    np.testing.assert_allclose(k["abandoned"], gave_up.mean(axis=0), atol=1e-9)
    assert round(float(res.kpis["offered"].sum()) * reps) == len(rec)
    with np.errstate(invalid="ignore", divide="ignore"):
        sl = np.where(offered > 0, within / offered, np.nan)
    has = (offered > 0).any(axis=0)
    np.testing.assert_allclose(k["sl"].to_numpy()[has], np.nanmean(sl[:, has], axis=0))
    # nothing NaN where calls were offered (ASA: where some were answered)
    busy_rows = k[k["offered"] > 0]
    for col in ("offered", "answered", "abandoned", "sl", "queue_len"):
        assert busy_rows[col].notna().all(), col
    assert k.loc[k["answered"] > 0, "asa_s"].notna().all()
    for col in ("sl", "queue_len", "asa_s", "occupancy"):
        ok = k[[col, f"{col}_lo", f"{col}_hi"]].dropna()
        assert (ok[f"{col}_lo"] <= ok[col] + 1e-9).all() and (
            ok[col] <= ok[f"{col}_hi"] + 1e-9
        ).all()
    windows = eligible_windows(site, t0)
    horizon = float(starts[-1] + site.interval_min * 60.0)
    for r, g in rec.groupby("replication"):
        s = g[g["status"] == "served"]
        busy: dict[str, FloatArray] = {}
        for agent, calls in s.groupby("agent"):
            agent = str(agent)
            spans = calls[["answer", "end"]].sort_values("answer").to_numpy(np.float64)
            # one call at a time
            assert (spans[1:, 0] >= spans[:-1, 1] - 1e-6).all(), (r, agent)
            busy[agent] = spans
            for answer, project in zip(calls["answer"], calls["project"], strict=True):
                assert project in site.agents[agent], (agent, project)
                w = windows.get((agent, project), np.empty((0, 2)))
                # answered inside a segment that allows it: starts before its end, never at it
                assert ((w[:, 0] <= answer) & (answer < w[:, 1])).any(), (r, agent, answer)
        # work conservation: while a call waits, every agent who could take it is busy
        for arrival, project, st_, answer, end in zip(
            g["arrival"], g["project"], g["status"], g["answer"], g["end"], strict=True
        ):
            leave = answer if st_ == "served" else end if st_ == "abandoned" else horizon + 1e6
            if not leave - arrival > 1e-6:
                continue
            for agent in held_by(site.agents, project):
                w = windows.get((agent, project), np.empty((0, 2)))
                for lo, hi in w:
                    a, b = max(lo, arrival), min(hi, leave)
                    idle = (b - a) - covered(busy.get(agent, np.empty((0, 2))), a, b)
                    assert idle < 1e-6, ("idle while a call waits", r, agent, project, a, b, idle)
        # FCFS within a project: answered in arrival order
        for _p, calls in s.groupby("project"):
            by_arrival = calls.sort_values("arrival")["answer"].to_numpy()
            assert (np.diff(by_arrival) >= -1e-6).all()


@settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(site=sites(), seed=st.integers(0, 2**31))
def test_random_sites_keep_the_invariants(site: Site, seed: int) -> None:
    res = simulate(
        site.demand,
        site.schedule,
        site.agents,
        site.projects,
        interval_min=site.interval_min,
        replications=3,
        seed=seed,
        records=True,
    )
    check_site(site, res)


def test_a_replication_without_calls_is_not_an_error() -> None:
    demand, schedule, agents, projects = mmn_site(2, 1, 1)
    demand = demand.assign(calls=0.0)
    res = simulate(
        demand, schedule, agents, projects, interval_min=30, replications=2, records=True
    )
    assert res.records is not None and len(res.records) == 0
    assert (res.kpis["offered"] == 0).all()
