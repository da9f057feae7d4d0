"""The staffing engine against the independent mpmath reference in ``tests/reference.py``.

The first block checks the reference against itself (two or three independent methods per
quantity, plus a textbook value); the rest compares ``wfm.staffing`` to it: every metric at
rtol 1e-9 / atol 1e-9, and required agents exactly.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal, NamedTuple, TypedDict

import mpmath
import numpy as np
import numpy.typing as npt
import pytest
import reference as ref

from wfm.staffing import erlang_b, erlang_c, required_agents, service_level

Model = Literal["erlang_c", "erlang_a"]

INTERVAL = 1800.0
AHT = 180.0
SHORT_AHT = 15.0
LOADS = (0.01, 0.5, 3.0, 10.0, 47.3, 200.0, 1500.0, 20000.0)
GRID_LOADS = (0.0, *LOADS)  # the engine grids also cover zero calls
THRESHOLDS = (0.0, 10.0, 20.0, 60.0, 300.0)
PATIENCES = (10.0, 60.0, 180.0, 900.0)
# The brief's tolerance: |engine − reference| ≤ ATOL + RTOL·|reference| for every field.
# (Engine of 2026-11-27: the largest deviation of a probability is 2.9e-12 absolute, an Erlang
# A sl whose true value is < 1e-17; see test_service_level_erlang_a_deep_overload.)
RTOL = 1e-9
ATOL = 1e-9
FIELDS = ("load_erl", "sl", "asa_s", "occupancy", "p_wait", "abandon_rate")

# Erlang A at A = 20,000: only N next to the reference minimum for 80/20 per patience
# (reference.required_agents gives 16001, 16001, 18058, 19617; see test below).
A20K_AGENTS: dict[float, tuple[int, ...]] = {
    10.0: (16000, 16001),
    60.0: (16000, 16001),
    180.0: (18057, 18058),
    900.0: (19616, 19617, 20000),
}


class Limits(TypedDict, total=False):
    max_asa_s: float
    max_occupancy: float
    max_abandon_rate: float


def calls_for(load: float, aht_s: float = AHT) -> float:
    return load * INTERVAL / aht_s


def agent_grid(load: float) -> list[int]:
    """0, the largest N < A, ceil(A), ceil(A) + 1 and two comfortably staffed N."""
    c = math.ceil(load)
    root = math.sqrt(load)
    ns = {0, c - 1, c, c + 1, math.ceil(load + root) + 1, math.ceil(load + 3 * root) + 2}
    return sorted(n for n in ns if n >= 0)


def close(engine: float, reference: Any) -> bool:
    """Engine value vs reference: NaN reference = unspecified (engine must still not be NaN)."""
    if math.isnan(engine):
        return False
    if mpmath.isnan(reference):
        return True
    if mpmath.isinf(reference):
        return engine == float(reference)
    r = float(reference)
    return math.isfinite(engine) and abs(engine - r) <= ATOL + RTOL * abs(r)


# =========================================================================== the reference


@pytest.fixture(autouse=True)
def _high_precision() -> Iterator[None]:
    """Arithmetic done in the tests themselves on reference values runs at the reference
    precision (restored afterwards)."""
    with mpmath.workdps(ref.DPS):
        yield


@pytest.mark.parametrize("load", LOADS)
def test_reference_erlang_b_recursion_matches_incomplete_gamma(load: float) -> None:
    for n in [*agent_grid(load), max(1, math.floor(load / 2))]:
        a = ref.erlang_b(load, n)
        b = ref.erlang_b_gammainc(load, n)
        assert mpmath.almosteq(a, b, rel_eps=mpmath.mpf(10) ** -35), (load, n, a, b)


@pytest.mark.parametrize("load", [0.01, 0.5, 3.0, 10.0, 47.3])
def test_reference_erlang_c_sl_closed_form_matches_gamma_mixture(load: float) -> None:
    exact_load = ref.offered_load(calls_for(load), AHT, INTERVAL)
    for n, t in itertools.product(agent_grid(load), (10.0, 20.0, 300.0)):
        if n <= load or load / n > 0.9:  # the geometric mixture converges slowly near ρ = 1
            continue
        closed = ref.metrics(calls_for(load), AHT, n, interval_s=INTERVAL, answer_within_s=t).sl
        mixture = ref.erlang_c_sl_mixture(exact_load, n, AHT, t)
        assert mpmath.almosteq(closed, mixture, rel_eps=mpmath.mpf(10) ** -30), (load, n, t)


def test_reference_textbook_erlang_c() -> None:
    """100 calls / 30 min, AHT 180 s, 14 agents: C = 0.1741, SL(20 s) = 0.888, ASA = 7.8 s."""
    m = ref.metrics(100, 180, 14, interval_s=1800, answer_within_s=20)
    assert round(float(m.p_wait), 4) == 0.1741
    assert round(float(m.sl), 3) == 0.888
    assert round(float(m.asa_s), 1) == 7.8
    assert ref.required_agents(ref.Targets(100, 180, 1800, 0.8, 20)).agents == 14


@pytest.mark.parametrize(
    ("servers", "aht_s", "patience_s", "t"),
    [(1, 180.0, 60.0, 20.0), (3, 180.0, 60.0, 20.0), (10, 15.0, 900.0, 300.0), (2, 60.0, 7.0, 1.0)],
)
def test_reference_answered_within_three_ways(
    servers: int, aht_s: float, patience_s: float, t: float
) -> None:
    """E[e^{-θV_k}; V_k ≤ t]: Beta closed form vs quad of the hypoexponential density vs the
    transient of the tagged caller's CTMC; E[V_k e^{-θV_k}] closed form vs quad."""
    with mpmath.workdps(ref.DPS):
        s_mu = mpmath.mpf(servers) / aht_s
        theta = 1 / mpmath.mpf(patience_s)
        for k in range(7):
            beta = ref.answered_within_beta(k, s_mu / theta, theta * t)
            quad = ref.answered_within_quad(k, s_mu, theta, t)
            ctmc = ref.answered_within_ctmc(k, s_mu, theta, t)
            assert mpmath.almosteq(beta, quad, rel_eps=mpmath.mpf(10) ** -25), (k, beta, quad)
            assert mpmath.almosteq(beta, ctmc, rel_eps=mpmath.mpf(10) ** -25), (k, beta, ctmc)
            # t → ∞: the probability of being answered at all, sμ / (sμ + (k + 1)θ)
            inf_t = ref.answered_within_beta(k, s_mu / theta, mpmath.mpf(10) ** 6)
            assert mpmath.almosteq(inf_t, s_mu / (s_mu + (k + 1) * theta))
            closed = ref.answered_wait_moment_closed(k, s_mu, theta)
            quad_m = ref.answered_wait_moment_quad(k, s_mu, theta)
            assert mpmath.almosteq(closed, quad_m, rel_eps=mpmath.mpf(10) ** -25), (k,)


@pytest.mark.parametrize(
    ("load", "patience_s"), [(0.5, 60.0), (3.0, 10.0), (3.0, 180.0), (10.0, 900.0)]
)
def test_reference_erlang_a_fast_path_matches_brute_force(load: float, patience_s: float) -> None:
    """Erlang B + tail recurrence + betainc recurrence vs the plain normalised chain with
    betainc per state."""
    for n, t in itertools.product(agent_grid(load), (0.0, 20.0, 300.0)):
        if n == 0:
            continue
        fast = ref.metrics(
            calls_for(load),
            AHT,
            n,
            interval_s=INTERVAL,
            answer_within_s=t,
            model="erlang_a",
            patience_s=patience_s,
        )
        exact_load = ref.offered_load(calls_for(load), AHT, INTERVAL)
        slow = ref.erlang_a_bruteforce(exact_load, n, AHT, patience_s, t, states=n + 300)
        eps = mpmath.mpf(10) ** -30
        for name in ("p_wait", "abandon_rate", "sl", "asa_s"):
            assert mpmath.almosteq(getattr(fast, name), slow[name], rel_eps=eps), (n, t, name)
        assert mpmath.almosteq(fast.occupancy, slow["busy"] / n, rel_eps=eps)


@pytest.mark.parametrize(
    ("load", "agents", "patience_s", "aht_s"),
    [
        (3.0, 2, 60.0, AHT),
        (47.3, 40, 900.0, AHT),
        (1500.0, 1480, 180.0, AHT),
        (20000.0, 19617, 900.0, AHT),
        (1500.0, 1, 900.0, AHT),  # deep overload: 1 − abandon_rate ≈ 1/1500
        (3000.0, 1, 60.0, SHORT_AHT),
    ],
)
def test_reference_erlang_a_identities(
    load: float, agents: int, patience_s: float, aht_s: float
) -> None:
    """P(answered) from the per-k answer probabilities = 1 − θE[Q]/λ, and occupancy from
    E[min(j, s)] = carried load / s (Little), at small, large and deeply overloaded loads."""
    got = ref.erlang_a_consistency(
        calls_for(load, aht_s), aht_s, agents, interval_s=INTERVAL, patience_s=patience_s
    )
    eps = mpmath.mpf(10) ** -35
    assert mpmath.almosteq(got["answered"], got["one_minus_abandon"], rel_eps=eps)
    assert mpmath.almosteq(got["busy"], got["carried_over_servers"], rel_eps=eps)


def test_reference_erlang_a_sl_recurrence_matches_betainc_per_k() -> None:
    for n, patience, t in [(195, 180.0, 20.0), (180, 60.0, 300.0), (230, 900.0, 10.0)]:
        fast = ref.metrics(
            calls_for(200.0),
            AHT,
            n,
            interval_s=INTERVAL,
            answer_within_s=t,
            model="erlang_a",
            patience_s=patience,
        ).sl
        direct = ref.erlang_a_sl_direct(
            calls_for(200.0), AHT, n, interval_s=INTERVAL, patience_s=patience, t=t
        )
        assert mpmath.almosteq(fast, direct, rel_eps=mpmath.mpf(10) ** -30), (n, patience, t)


def test_reference_erlang_a_tends_to_erlang_c_for_infinite_patience() -> None:
    for load, n, t in [(3.0, 5, 20.0), (10.0, 14, 20.0), (47.3, 55, 60.0)]:
        c = ref.metrics(calls_for(load), AHT, n, interval_s=INTERVAL, answer_within_s=t)
        a = ref.metrics(
            calls_for(load),
            AHT,
            n,
            interval_s=INTERVAL,
            answer_within_s=t,
            model="erlang_a",
            patience_s=1e12,
        )
        for name in ("sl", "asa_s", "p_wait", "occupancy"):
            assert mpmath.almosteq(getattr(a, name), getattr(c, name), rel_eps=1e-7), name
        assert a.abandon_rate < 1e-8


@pytest.mark.parametrize("model", ["erlang_c", "erlang_a"])
def test_reference_search_bisection_matches_linear_scan(model: Model) -> None:
    patience = 60.0 if model == "erlang_a" else None
    extras: tuple[Limits, ...] = ({}, {"max_asa_s": 5.0}, {"max_occupancy": 0.7})
    for load, target, t, extra in itertools.product(
        (0.5, 3.6, 10.0), (0.2, 0.5, 0.8), (0.0, 20.0, 300.0), extras
    ):
        req = ref.Targets(calls_for(load), AHT, INTERVAL, target, t, model, patience, **extra)
        assert ref.required_agents(req).agents == ref.required_agents(req, linear=True).agents


# =========================================================================== engine: metrics


class Case(NamedTuple):
    calls: float
    aht_s: float
    agents: int
    answer_within_s: float
    patience_s: float = math.nan
    concurrency: int = 1


@functools.cache
def ref_metrics(case: Case, model: Model) -> ref.RefMetrics:
    return ref.metrics(
        case.calls,
        case.aht_s,
        case.agents,
        interval_s=INTERVAL,
        answer_within_s=case.answer_within_s,
        model=model,
        patience_s=None if model == "erlang_c" else case.patience_s,
        concurrency=case.concurrency,
    )


def column(cases: Sequence[Case], name: str, dtype: type = np.float64) -> npt.NDArray[Any]:
    return np.array([getattr(c, name) for c in cases], dtype=dtype)


def run_engine(cases: Sequence[Case], model: Model) -> Any:
    return service_level(
        column(cases, "calls"),
        column(cases, "aht_s"),
        column(cases, "agents", np.int64),
        interval_s=INTERVAL,
        answer_within_s=column(cases, "answer_within_s"),
        model=model,
        patience_s=column(cases, "patience_s") if model == "erlang_a" else None,
        concurrency=column(cases, "concurrency", np.int64),
    )


def mismatches(cases: Sequence[Case], model: Model) -> list[str]:
    res = run_engine(cases, model)
    out: list[str] = []
    for name in ("agents", *FIELDS):
        arr = getattr(res, name)
        assert isinstance(arr, np.ndarray), name
        assert arr.shape == (len(cases),), (name, arr.shape)
        assert arr.dtype == (np.int64 if name == "agents" else np.float64), (name, arr.dtype)
    for i, case in enumerate(cases):
        r = ref_metrics(case, model)
        assert res.agents[i] == case.agents
        for name in FIELDS:
            got = float(getattr(res, name)[i])
            want = getattr(r, name)
            if not close(got, want):
                out.append(
                    f"{model} {case}: {name} engine={got!r} reference={mpmath.nstr(want, 17)}"
                )
    return out


def report(bad: list[str]) -> str:
    return f"{len(bad)} mismatches:\n" + "\n".join(bad[:40])


def erlang_c_cases() -> list[Case]:
    return [
        Case(calls_for(load), AHT, n, t)
        for load in GRID_LOADS
        for n in agent_grid(load)
        for t in THRESHOLDS
    ]


def erlang_a_cases(loads: Iterable[float]) -> list[Case]:
    cases = []
    for load, p in itertools.product(loads, PATIENCES):
        ns = A20K_AGENTS[p] if load == 20000.0 else agent_grid(load)
        cases += [Case(calls_for(load), AHT, n, t, p) for n in ns for t in THRESHOLDS]
    return cases


def test_service_level_erlang_c_grid() -> None:
    bad = mismatches(erlang_c_cases(), "erlang_c")
    assert not bad, report(bad)


def test_service_level_erlang_c_short_aht_and_concurrency() -> None:
    cases = [
        Case(calls_for(load, aht), aht, n, t, concurrency=conc)
        for load in (0.0, 0.5, 3.0, 10.0, 47.3, 200.0)
        for aht in (AHT, SHORT_AHT)
        for conc in (1, 2)
        for n in agent_grid(load / conc)
        for t in (0.0, 20.0, 300.0)
    ]
    bad = mismatches(cases, "erlang_c")
    assert not bad, report(bad)


@pytest.mark.parametrize(
    "loads", [(0.0, 0.01, 0.5, 3.0, 10.0), (47.3, 200.0), (1500.0,), (20000.0,)], ids=str
)
def test_service_level_erlang_a_grid(loads: tuple[float, ...]) -> None:
    bad = mismatches(erlang_a_cases(loads), "erlang_a")
    assert not bad, report(bad)


def test_service_level_erlang_a_short_aht_and_concurrency() -> None:
    cases = [
        Case(calls_for(load, aht), aht, n, t, p, conc)
        for load in (0.0, 0.5, 3.0, 10.0, 47.3)
        for aht in (AHT, SHORT_AHT)
        for conc in (1, 2)
        for p in (10.0, 180.0)
        for n in agent_grid(load / conc)
        for t in (0.0, 20.0, 300.0)
    ]
    bad = mismatches(cases, "erlang_a")
    assert not bad, report(bad)


def test_service_level_erlang_a_deep_overload() -> None:
    """N far below A (legal for Erlang A): almost every caller abandons, so 1 − abandon_rate
    and occupancy = A(1 − abandon_rate)/N must not lose precision to cancellation."""
    cases = [
        Case(calls_for(load, aht), aht, n, t, p)
        for load, n in [(20.0, 1), (200.0, 1), (200.0, 10), (1500.0, 1), (1500.0, 700), (3000.0, 1)]
        for aht, p in [(15.0, 60.0), (180.0, 900.0), (180.0, 10.0)]
        for t in (0.0, 20.0)
    ]
    # long threshold, long patience: sl is astronomically small (3,000+ callers ahead)
    cases += [Case(calls_for(77.0, 5.0), 5.0, n, 300.0, 404.0) for n in (1, 31, 32, 60)]
    bad = mismatches(cases, "erlang_a")
    assert not bad, report(bad)


@pytest.mark.parametrize("model", ["erlang_c", "erlang_a"])
def test_zero_calls(model: Model) -> None:
    patience = 60.0 if model == "erlang_a" else None
    res = service_level(
        0.0,
        AHT,
        np.array([0, 1, 5]),
        interval_s=INTERVAL,
        answer_within_s=20.0,
        model=model,
        patience_s=patience,
    )
    np.testing.assert_array_equal(res.sl, 1.0)
    np.testing.assert_array_equal(res.asa_s, 0.0)
    np.testing.assert_array_equal(res.p_wait, 0.0)
    np.testing.assert_array_equal(res.abandon_rate, 0.0)
    np.testing.assert_array_equal(res.occupancy, 0.0)
    np.testing.assert_array_equal(res.load_erl, 0.0)
    req = required_agents(
        np.array([0.0, 0.0]),
        AHT,
        interval_s=INTERVAL,
        sl_target=0.8,
        answer_within_s=20.0,
        model=model,
        patience_s=patience,
        max_asa_s=5.0,
        max_occupancy=0.5,
    )
    np.testing.assert_array_equal(req.agents, 0)
    np.testing.assert_array_equal(req.sl, 1.0)


def test_zero_agents_with_calls() -> None:
    c = service_level(10.0, AHT, 0, interval_s=INTERVAL, answer_within_s=20.0)
    assert (float(c.sl), float(c.asa_s), float(c.p_wait)) == (0.0, math.inf, 1.0)
    assert float(c.abandon_rate) == 0.0
    a = service_level(
        10.0, AHT, 0, interval_s=INTERVAL, answer_within_s=20.0, model="erlang_a", patience_s=60
    )
    assert (float(a.sl), float(a.asa_s), float(a.p_wait)) == (0.0, math.inf, 1.0)
    assert float(a.abandon_rate) == 1.0
    assert not math.isnan(float(a.occupancy))


def test_result_is_frozen_dataclass() -> None:
    res = service_level(100.0, AHT, 14, interval_s=INTERVAL, answer_within_s=20.0)
    assert dataclasses.is_dataclass(res)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.sl = np.zeros(())  # type: ignore[misc]


@pytest.mark.parametrize("load", LOADS)
def test_erlang_b_and_c_functions(load: float) -> None:
    ns = np.array([*agent_grid(load), max(1, math.floor(load / 2))], dtype=np.int64)
    b = erlang_b(load, ns)
    c = erlang_c(load, ns)
    assert b.shape == c.shape == ns.shape
    for i, n in enumerate(ns.tolist()):
        want_b = ref.erlang_b(ref.offered_load(load, 1.0, 1.0), n)
        want_c = ref.erlang_c_pwait(ref.offered_load(load, 1.0, 1.0), n)
        assert close(float(b[i]), want_b), ("erlang_b", load, n, float(b[i]), want_b)
        assert close(float(c[i]), want_c), ("erlang_c", load, n, float(c[i]), want_c)


# =========================================================================== engine: agents


def test_textbook_required_agents() -> None:
    """100 calls per 30 min, AHT 180 s, 80 % in 20 s → 14 agents, SL 0.888, ASA 7.8 s."""
    res = required_agents(100, 180, interval_s=1800, sl_target=0.8, answer_within_s=20)
    assert int(res.agents) == 14
    assert round(float(res.sl), 3) == 0.888
    assert round(float(res.asa_s), 1) == 7.8
    assert round(float(res.p_wait), 4) == 0.1741
    assert math.isclose(float(res.occupancy), 10 / 14, rel_tol=1e-12)


def engine_required(reqs: Sequence[ref.Targets], model: Model, limits: Limits) -> Any:
    def col(name: str) -> npt.NDArray[Any]:
        return np.array([getattr(r, name) for r in reqs], dtype=np.float64)

    return required_agents(
        col("calls"),
        col("aht_s"),
        interval_s=INTERVAL,
        sl_target=col("sl_target"),
        answer_within_s=col("answer_within_s"),
        model=model,
        patience_s=col("patience_s") if model == "erlang_a" else None,
        concurrency=np.array([r.concurrency for r in reqs], dtype=np.int64),
        **limits,
    )


def check_required(
    reqs: Sequence[ref.Targets],
    model: Model,
    limits: Limits | None = None,
    *,
    bracket: bool = False,
) -> None:
    """Engine N must equal the reference minimum exactly; the other fields must be the
    reference metrics at that N.  ``bracket``: verify minimality with the reference at N and
    N − 1 (used for large Erlang A loads; the full search is run only on a mismatch).
    Requests whose decision at N or N − 1 is within 1e-9 of a limit are excluded."""
    res = engine_required(reqs, model, limits or {})
    assert res.agents.shape == (len(reqs),)
    assert res.agents.dtype == np.int64
    bad: list[str] = []
    ties: list[ref.Targets] = []
    for i, req in enumerate(reqs):
        got = int(res.agents[i])
        if bracket:
            ok = got > 0 and req.is_minimal(got)
            if req.near_tie(got):
                ties.append(req)
                continue
            if not ok:
                want = ref.required_agents(req).agents
                bad.append(f"{req}: engine N={got}, reference N={want}")
            continue
        want_r = ref.required_agents(req)
        if want_r.near_tie:
            ties.append(req)
            continue
        if got != want_r.agents:
            bad.append(f"{req}: engine N={got}, reference N={want_r.agents}")
            continue
        case = Case(
            req.calls,
            req.aht_s,
            got,
            req.answer_within_s,
            req.patience_s or math.nan,
            req.concurrency,
        )
        r = ref_metrics(case, model)
        for name in FIELDS:
            value = float(getattr(res, name)[i])
            if not close(value, getattr(r, name)):
                want_s = mpmath.nstr(getattr(r, name), 17)
                bad.append(f"{req}: at N={got} {name} engine={value!r} reference={want_s}")
    assert not bad, report(bad)
    assert len(ties) <= max(2, len(reqs) // 10), f"grid has too many near-ties: {ties}"


REQ_LOADS = (0.0, 0.01, 0.5, 3.0, 3.6, 10.0, 47.3, 47.7, 200.0, 1500.0, 1500.6, 20000.0)
TARGETS = (0.2, 0.5, 0.8, 0.95)


@pytest.mark.parametrize("aht_s", [AHT, SHORT_AHT])
def test_required_agents_erlang_c_grid(aht_s: float) -> None:
    reqs = [
        ref.Targets(calls_for(load, aht_s), aht_s, INTERVAL, target, t)
        for load, target, t in itertools.product(REQ_LOADS, TARGETS, THRESHOLDS)
    ]
    check_required(reqs, "erlang_c")


def erlang_a_requests(loads: Sequence[float], thresholds: Sequence[float]) -> list[ref.Targets]:
    reqs = []
    for i, (load, target, t, aht) in enumerate(
        itertools.product(loads, TARGETS, thresholds, (AHT, SHORT_AHT))
    ):
        patience = PATIENCES[i % len(PATIENCES)]  # every patience meets every other factor
        reqs.append(
            ref.Targets(calls_for(load, aht), aht, INTERVAL, target, t, "erlang_a", patience)
        )
    return reqs


def test_required_agents_erlang_a_small_loads() -> None:
    check_required(
        erlang_a_requests((0.01, 0.5, 3.0, 3.6, 10.0, 47.3, 47.7), (0.0, 10.0, 20.0, 60.0, 300.0)),
        "erlang_a",
    )


def test_required_agents_erlang_a_large_loads() -> None:
    reqs = erlang_a_requests((200.0,), (10.0, 20.0, 60.0, 300.0))
    reqs += [
        ref.Targets(calls_for(1500.6), AHT, INTERVAL, target, t, "erlang_a", p)
        for target, t, p in [
            (0.8, 20.0, 60.0),
            (0.8, 20.0, 900.0),
            (0.2, 20.0, 60.0),
            (0.5, 300.0, 180.0),
            (0.95, 10.0, 10.0),
        ]
    ]
    reqs += [
        ref.Targets(calls_for(20000.0), AHT, INTERVAL, target, t, "erlang_a", p)
        for target, t, p in [(0.8, 20.0, 180.0), (0.8, 20.0, 900.0), (0.9, 60.0, 900.0)]
    ]
    check_required(reqs, "erlang_a", bracket=True)


def test_reference_minimum_for_a20k_grid() -> None:
    """The N used in the A = 20,000 Erlang A metrics grid really bracket the 80/20 minimum."""
    for p, ns in A20K_AGENTS.items():
        req = ref.Targets(calls_for(20000.0), AHT, INTERVAL, 0.8, 20.0, "erlang_a", p)
        assert req.is_minimal(ns[1]), p


LIMITS_C: list[Limits] = [
    {"max_asa_s": 5.0},
    {"max_asa_s": 30.0},
    {"max_occupancy": 0.85},
    {"max_occupancy": 0.62},
    {"max_asa_s": 10.0, "max_occupancy": 0.9},
]
LIMITS_A: list[Limits] = [
    {"max_abandon_rate": 0.02},
    {"max_abandon_rate": 0.05, "max_asa_s": 15.0},
    {"max_occupancy": 0.85},
    {"max_asa_s": 5.0},
    {"max_abandon_rate": 0.01, "max_occupancy": 0.9, "max_asa_s": 30.0},
]


@pytest.mark.parametrize("limits", LIMITS_C, ids=str)
def test_required_agents_erlang_c_with_limits_and_concurrency(limits: Limits) -> None:
    reqs = [
        ref.Targets(calls_for(load, aht), aht, INTERVAL, target, t, concurrency=conc, **limits)
        for load, aht, target, t, conc in itertools.product(
            (0.5, 3.0, 10.0, 47.3, 200.0, 1500.6),
            (AHT, SHORT_AHT),
            (0.5, 0.8),
            (20.0, 300.0),
            (1, 2),
        )
    ]
    check_required(reqs, "erlang_c", limits)


@pytest.mark.parametrize("limits", LIMITS_A, ids=str)
def test_required_agents_erlang_a_with_limits_and_concurrency(limits: Limits) -> None:
    reqs = [
        ref.Targets(
            calls_for(load, aht),
            aht,
            INTERVAL,
            target,
            t,
            "erlang_a",
            p,
            concurrency=conc,
            **limits,
        )
        for load, aht, target, t, p, conc in itertools.product(
            (0.5, 3.0, 10.0, 47.3),
            (AHT, SHORT_AHT),
            (0.5, 0.8),
            (20.0, 60.0),
            (60.0, 180.0),
            (1, 2),
        )
    ]
    check_required(reqs, "erlang_a", limits)
