"""Property-based and input-validation tests of ``wfm.staffing`` (deterministic Hypothesis).

These need no reference values: they check monotonicity in N, minimality of
``required_agents`` against the engine's own ``service_level``, ranges, broadcasting, the
zero-calls rule, and that bad input raises ``ValueError`` naming the argument and index.
"""

from __future__ import annotations

import math
from typing import Any, Literal, TypedDict, cast

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from wfm.staffing import required_agents, service_level

Model = Literal["erlang_c", "erlang_a"]
INTERVAL = 1800.0
FIELDS = ("load_erl", "sl", "asa_s", "occupancy", "p_wait", "abandon_rate")
# Monotonicity checks allow float64 noise only: no more than the
# absolute accuracy tests/test_staffing_reference.py demands of each value (atol 1e-9), twice
# since two neighbouring values can each be off.  (Seen: Erlang A sl whose true value is
# < 1e-17 computed as 0 or up to 2.9e-12, i.e. a 2.9e-12 "decrease" from N to N + 1.)
NOISE = 2e-9

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True, database=None)

models = st.sampled_from(cast(list[Model], ["erlang_c", "erlang_a"]))
loads = st.one_of(
    st.floats(0.001, 5.0),
    st.floats(5.0, 300.0),
    st.floats(300.0, 3000.0),
    st.sampled_from([0.5, 1.0, 3.0, 10.0, 47.3, 200.0, 1500.0]),
)
ahts = st.one_of(st.sampled_from([15.0, 180.0, 300.0]), st.floats(5.0, 1200.0))
patiences = st.one_of(st.sampled_from([10.0, 60.0, 180.0, 900.0]), st.floats(1.0, 3600.0))
thresholds = st.one_of(st.sampled_from([0.0, 10.0, 20.0, 60.0, 300.0]), st.floats(0.0, 900.0))
targets = st.one_of(st.sampled_from([0.2, 0.5, 0.8, 0.9, 0.95]), st.floats(0.01, 0.99))
concurrencies = st.integers(1, 3)


class Limits(TypedDict, total=False):
    max_occupancy: float
    max_asa_s: float
    max_abandon_rate: float


@st.composite
def limit_sets(draw: st.DrawFn, model: Model) -> Limits:
    out: Limits = {}
    if draw(st.booleans()):
        out["max_occupancy"] = draw(st.floats(0.5, 0.99))
    if draw(st.booleans()):
        out["max_asa_s"] = draw(st.floats(1.0, 600.0))
    if model == "erlang_a" and draw(st.booleans()):
        out["max_abandon_rate"] = draw(st.floats(0.005, 0.5))
    return out


def calls_for(load: float, aht_s: float) -> float:
    return load * INTERVAL / aht_s


def sweep(load: float, concurrency: int) -> npt.NDArray[np.int64]:
    """N = 0 .. comfortably above the load."""
    top = math.ceil(load / concurrency + 6 * math.sqrt(load / concurrency) + 10)
    return np.arange(top + 1, dtype=np.int64)


def run(
    calls: Any,
    aht_s: Any,
    agents: Any,
    model: Model,
    patience_s: Any,
    t: Any,
    concurrency: Any = 1,
) -> Any:
    return service_level(
        calls,
        aht_s,
        agents,
        interval_s=INTERVAL,
        answer_within_s=t,
        model=model,
        patience_s=patience_s if model == "erlang_a" else None,
        concurrency=concurrency,
    )


def assert_sane(res: Any) -> None:
    for name in FIELDS:
        arr = np.asarray(getattr(res, name))
        assert arr.dtype == np.float64, name
        assert not np.isnan(arr).any(), name
    # occupancy too: carried load ≤ servers (an earlier engine gave 1 + 1.4e-9 in deep
    # Erlang A overload, and sl = 1 + 1 ulp)
    for name in ("sl", "p_wait", "abandon_rate", "occupancy"):
        arr = np.asarray(getattr(res, name))
        assert ((arr >= 0.0) & (arr <= 1.0)).all(), (name, arr)
    assert (np.asarray(res.asa_s) >= 0.0).all()
    assert np.asarray(res.agents).dtype == np.int64


# --------------------------------------------------------------------------- monotone in N


@SETTINGS
@given(models, loads, ahts, patiences, thresholds, concurrencies)
# found by earlier runs: sl one ulp above 1; occupancy above 1 in heavy Erlang A overload
@example("erlang_a", 0.125, 15.0, 60.0, 10.0, 1)
@example("erlang_a", 20.0, 15.0, 900.0, 0.0, 1)
def test_metrics_monotone_in_agents(
    model: Model, load: float, aht: float, patience: float, t: float, conc: int
) -> None:
    ns = sweep(load, conc)
    res = run(calls_for(load, aht), aht, ns, model, patience, t, conc)
    assert_sane(res)
    assert np.all(np.diff(res.sl) >= -NOISE), "sl must not decrease with N"
    assert np.all(np.diff(res.p_wait) <= NOISE), "p_wait must not increase with N"
    assert np.all(np.diff(res.abandon_rate) <= NOISE), "abandon_rate must not increase with N"
    asa = res.asa_s
    finite = np.isfinite(asa)
    # once finite, ASA stays finite and does not increase
    assert np.all(np.diff(finite.astype(np.int8)) >= 0)
    assert np.all(np.diff(asa[finite]) <= NOISE * np.maximum(1.0, asa[finite][:-1]))
    if model == "erlang_c":
        assert np.all(np.diff(res.occupancy) <= NOISE)


# --------------------------------------------------------------------------- minimality


def meets(res: Any, target: float, limits: Limits) -> bool:
    ok = float(res.sl) >= target
    if "max_asa_s" in limits:
        ok = ok and float(res.asa_s) <= limits["max_asa_s"]
    if "max_abandon_rate" in limits:
        ok = ok and float(res.abandon_rate) <= limits["max_abandon_rate"]
    if "max_occupancy" in limits:
        ok = ok and float(res.occupancy) <= limits["max_occupancy"]
    return ok


@SETTINGS
@given(st.data(), models, loads, ahts, patiences, thresholds, targets, concurrencies)
def test_required_agents_is_minimal(
    data: st.DataObject,
    model: Model,
    load: float,
    aht: float,
    patience: float,
    t: float,
    target: float,
    conc: int,
) -> None:
    limits = data.draw(limit_sets(model))
    calls = calls_for(load, aht)
    p = patience if model == "erlang_a" else None
    req = required_agents(
        calls,
        aht,
        interval_s=INTERVAL,
        sl_target=target,
        answer_within_s=t,
        model=model,
        patience_s=p,
        concurrency=conc,
        **limits,
    )
    assert_sane(req)
    n = int(req.agents)
    assert n >= 1
    at_n = run(calls, aht, n, model, patience, t, conc)
    assert meets(at_n, target, limits), (n, at_n)
    below = run(calls, aht, n - 1, model, patience, t, conc)
    assert not meets(below, target, limits), (n - 1, below)
    for name in FIELDS:  # the other fields are the metrics at N
        np.testing.assert_allclose(getattr(req, name), getattr(at_n, name), rtol=1e-12, atol=0)


# --------------------------------------------------------------------------- ranges, no NaN


@SETTINGS
@given(
    models,
    loads,
    ahts,
    patiences,
    thresholds,
    concurrencies,
    st.lists(st.integers(0, 4000), min_size=1, max_size=8),
)
@example("erlang_a", 292.0, 15.0, 60.0, 0.0, 1, [1])
@example("erlang_a", 3000.0, 15.0, 60.0, 0.0, 1, [1, 2, 100])
def test_ranges_and_no_nan(
    model: Model, load: float, aht: float, patience: float, t: float, conc: int, ns: list[int]
) -> None:
    res = run(calls_for(load, aht), aht, np.array(ns, dtype=np.int64), model, patience, t, conc)
    assert_sane(res)
    np.testing.assert_array_equal(res.agents, ns)
    if model == "erlang_c":
        np.testing.assert_array_equal(res.abandon_rate, 0.0)


# --------------------------------------------------------------------------- zero calls


@SETTINGS
@given(models, ahts, patiences, thresholds, targets, concurrencies)
def test_zero_calls_need_zero_agents(
    model: Model, aht: float, patience: float, t: float, target: float, conc: int
) -> None:
    req = required_agents(
        np.zeros(3),
        aht,
        interval_s=INTERVAL,
        sl_target=target,
        answer_within_s=t,
        model=model,
        patience_s=patience if model == "erlang_a" else None,
        concurrency=conc,
        max_asa_s=1.0,
        max_occupancy=0.5,
    )
    np.testing.assert_array_equal(req.agents, 0)
    np.testing.assert_array_equal(req.sl, 1.0)
    np.testing.assert_array_equal(req.asa_s, 0.0)
    np.testing.assert_array_equal(req.p_wait, 0.0)
    np.testing.assert_array_equal(req.abandon_rate, 0.0)
    np.testing.assert_array_equal(req.occupancy, 0.0)


# --------------------------------------------------------------------------- broadcasting


@SETTINGS
@given(
    models,
    st.lists(loads, min_size=6, max_size=6),
    ahts,
    patiences,
    thresholds,
    targets,
)
def test_broadcasting_matches_scalar_calls(
    model: Model,
    load_list: list[float],
    aht: float,
    patience: float,
    t: float,
    target: float,
) -> None:
    calls = np.array([calls_for(x, aht) for x in load_list]).reshape(2, 3)
    agents = np.array([1, 5, 40], dtype=np.int64)  # shape (3,) broadcasts against (2, 3)
    p = patience if model == "erlang_a" else None
    grid = run(calls, aht, agents, model, patience, t)
    req = required_agents(
        calls,
        aht,
        interval_s=INTERVAL,
        sl_target=target,
        answer_within_s=t,
        model=model,
        patience_s=p,
    )
    for res in (grid, req):
        for name in ("agents", *FIELDS):
            assert np.shape(getattr(res, name)) == (2, 3), name
    for i, j in np.ndindex(2, 3):
        one = run(float(calls[i, j]), aht, int(agents[j]), model, patience, t)
        one_req = required_agents(
            float(calls[i, j]),
            aht,
            interval_s=INTERVAL,
            sl_target=target,
            answer_within_s=t,
            model=model,
            patience_s=p,
        )
        assert np.shape(one.sl) == () and np.shape(one_req.agents) == ()
        assert int(one_req.agents) == int(req.agents[i, j])
        for name in FIELDS:
            np.testing.assert_allclose(getattr(grid, name)[i, j], getattr(one, name), rtol=1e-12)
            np.testing.assert_allclose(getattr(req, name)[i, j], getattr(one_req, name), rtol=1e-12)


def test_broadcasting_every_argument_as_array() -> None:
    """Per-element calls, AHT, thresholds, targets, patience and concurrency in one 2-D call."""
    shape = (2, 2)
    calls = np.array([[100.0, 250.0], [0.0, 1200.0]])
    aht = np.array([[180.0, 15.0], [300.0, 240.0]])
    t = np.array([[20.0, 0.0], [60.0, 300.0]])
    target = np.array([[0.8, 0.5], [0.9, 0.2]])
    patience = np.array([[60.0, 900.0], [10.0, 180.0]])
    conc = np.array([[1, 2], [1, 3]])
    for model in cast(list[Model], ["erlang_c", "erlang_a"]):
        p = patience if model == "erlang_a" else None
        req = required_agents(
            calls,
            aht,
            interval_s=INTERVAL,
            sl_target=target,
            answer_within_s=t,
            model=model,
            patience_s=p,
            concurrency=conc,
        )
        assert req.agents.shape == shape
        assert_sane(req)
        for i, j in np.ndindex(*shape):
            one = required_agents(
                calls[i, j],
                aht[i, j],
                interval_s=INTERVAL,
                sl_target=target[i, j],
                answer_within_s=t[i, j],
                model=model,
                patience_s=None if p is None else p[i, j],
                concurrency=conc[i, j],
            )
            assert int(one.agents) == int(req.agents[i, j])
    # scalar in, 0-d arrays out
    res = service_level(100.0, 180.0, 14, interval_s=INTERVAL, answer_within_s=20.0)
    for name in ("agents", *FIELDS):
        assert isinstance(getattr(res, name), np.ndarray)
        assert getattr(res, name).shape == ()


# --------------------------------------------------------------------------- bad input


def call_service_level(**overrides: Any) -> Any:
    kwargs: dict[str, Any] = {
        "calls": np.array([100.0, 120.0, 80.0, 90.0]),
        "aht_s": 180.0,
        "agents": 14,
        "interval_s": INTERVAL,
        "answer_within_s": 20.0,
    }
    kwargs.update(overrides)
    return service_level(**kwargs)


def call_required_agents(**overrides: Any) -> Any:
    kwargs: dict[str, Any] = {
        "calls": np.array([100.0, 120.0, 80.0, 90.0]),
        "aht_s": 180.0,
        "interval_s": INTERVAL,
        "sl_target": 0.8,
        "answer_within_s": 20.0,
    }
    kwargs.update(overrides)
    return required_agents(**kwargs)


NAN = math.nan
BAD_COMMON: list[tuple[dict[str, Any], tuple[str, ...]]] = [
    ({"calls": np.array([100.0, 120.0, 80.0, -1.0])}, ("calls[3]",)),
    ({"calls": np.array([100.0, NAN, 80.0, 90.0])}, ("calls[1]",)),
    ({"calls": np.array([100.0, 120.0, -5.0, NAN])}, ("calls[2]",)),  # first offender
    ({"calls": -3.0}, ("calls",)),
    ({"aht_s": np.array([180.0, 180.0, 0.0, 180.0])}, ("aht_s[2]",)),
    ({"aht_s": np.array([-1.0, 180.0, 180.0, 180.0])}, ("aht_s[0]",)),
    ({"aht_s": 0.0}, ("aht_s",)),
    ({"answer_within_s": np.array([20.0, 20.0, 20.0, -1.0])}, ("answer_within_s[3]",)),
    ({"answer_within_s": -0.5}, ("answer_within_s",)),
    ({"model": "erlang_a"}, ("patience_s",)),
    ({"model": "erlang_a", "patience_s": np.array([60.0, 0.0, 60.0, 60.0])}, ("patience_s[1]",)),
    ({"model": "erlang_a", "patience_s": np.array([60.0, 60.0, -9.0, 60.0])}, ("patience_s[2]",)),
    ({"model": "erlang_a", "patience_s": 0.0}, ("patience_s",)),
    ({"model": "erlang_x"}, ("model",)),
    ({"aht_s": np.array([180.0, 200.0, 150.0])}, ("calls", "aht_s")),  # (4,) vs (3,)
]
BAD_REQUIRED: list[tuple[dict[str, Any], tuple[str, ...]]] = [
    ({"sl_target": 0.0}, ("sl_target",)),
    ({"sl_target": 1.0}, ("sl_target",)),
    ({"sl_target": 1.5}, ("sl_target",)),
    ({"sl_target": -0.1}, ("sl_target",)),
    ({"sl_target": np.array([0.8, 0.8, 1.0, 0.8])}, ("sl_target[2]",)),
    ({"sl_target": np.array([0.8, NAN, 0.8, 0.8])}, ("sl_target[1]",)),
    ({"sl_target": np.array([0.8, 0.0, 0.8, 0.8])}, ("sl_target[1]",)),
    ({"sl_target": np.array([0.8, 0.9])}, ("calls", "sl_target")),  # (4,) vs (2,)
]


def ids(cases: list[tuple[dict[str, Any], tuple[str, ...]]]) -> list[str]:
    return [next(iter(want)) + ":" + ",".join(map(str, kw)) for kw, want in cases]


def check_message(err: pytest.ExceptionInfo[ValueError], want: tuple[str, ...]) -> None:
    """Single name: the message contains it (e.g. "calls[3]").  Several: any of them (shape
    mismatches may be reported against either argument)."""
    message = str(err.value)
    assert any(w in message for w in want), f"{message!r} should name {' or '.join(want)}"


@pytest.mark.parametrize(("overrides", "want"), BAD_COMMON, ids=ids(BAD_COMMON))
def test_bad_input_service_level(overrides: dict[str, Any], want: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match=r".") as err:
        call_service_level(**overrides)
    check_message(err, want)


@pytest.mark.parametrize(
    ("overrides", "want"), BAD_COMMON + BAD_REQUIRED, ids=ids(BAD_COMMON + BAD_REQUIRED)
)
def test_bad_input_required_agents(overrides: dict[str, Any], want: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match=r".") as err:
        call_required_agents(**overrides)
    check_message(err, want)


def test_bad_input_is_wfm_input_error() -> None:
    from wfm.errors import InputError

    with pytest.raises(InputError, match=r"calls\[3\]"):
        call_required_agents(calls=np.array([1.0, 2.0, 3.0, -4.0]))
