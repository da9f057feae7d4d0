"""Public Erlang B / C / A functions over numpy arrays.

Definitions used everywhere in wfm (the simulator reports the same quantities):

- offered load ``load_erl`` = calls × aht_s / interval_s (Erlangs);
- ``sl`` = calls answered within ``answer_within_s`` ÷ offered calls; a caller who abandons
  counts against it, a call answered at once counts as within;
- ``asa_s`` = mean wait of answered calls (those answered at once count with 0 s);
- ``p_wait`` = probability that an arriving call waits (every server busy);
- ``abandon_rate`` = abandoned ÷ offered (0 for Erlang C, whose callers never give up);
- ``occupancy`` = carried load ÷ servers, carried load = load_erl × (1 − abandon_rate).

Erlang C is M/M/N (infinite patience). Erlang A is M/M/N+M: each waiting caller abandons after
an exponential patience with mean ``patience_s``. With ``concurrency`` c (chat), each agent is c
servers and ``aht_s`` is the handle time of one conversation.

Special cases, reported as such rather than as NaN or negative numbers: no calls → sl 1, asa 0,
p_wait 0, occupancy 0, required agents 0. Erlang C with N·c ≤ load (unstable) → sl 0, asa +inf,
p_wait 1, occupancy 1. No agents but calls → sl 0, asa +inf, p_wait 1 (Erlang A: abandon 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from wfm.errors import InputError
from wfm.staffing import _kernels
from wfm.staffing._validate import ArrayLike, as_float, broadcast, check, check_integral

__all__ = [
    "Model",
    "StaffingResult",
    "erlang_b",
    "erlang_c",
    "fte",
    "required_agents",
    "service_level",
]

Model = Literal["erlang_c", "erlang_a"]
_MODELS = ("erlang_c", "erlang_a")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class StaffingResult:
    """Staffing and its service metrics, one element per interval (broadcast shape).

    ``agents`` are whole agents; the other fields are the metrics those agents achieve.
    Nothing is NaN; an unstable Erlang C queue has ``asa_s`` = +inf."""

    model: Model
    agents: IntArray
    load_erl: FloatArray
    sl: FloatArray
    asa_s: FloatArray
    occupancy: FloatArray
    p_wait: FloatArray
    abandon_rate: FloatArray

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.agents.shape)


def _result(
    model: Model,
    agents: IntArray,
    load: FloatArray,
    out: list[FloatArray],
    shape: tuple[int, ...],
) -> StaffingResult:
    """Reshape the flat kernel outputs (sl, asa_s, p_wait, abandon_rate, occupancy)."""
    sl, asa, pw, ab, occ = (o.reshape(shape) for o in out)
    return StaffingResult(
        model=model,
        agents=agents.reshape(shape),
        load_erl=load.reshape(shape),
        sl=sl,
        asa_s=asa,
        occupancy=occ,
        p_wait=pw,
        abandon_rate=ab,
    )


def _check_model(model: str) -> Model:
    if model not in _MODELS:
        raise InputError(
            f"model: {model!r} is unknown; expected 'erlang_c' or 'erlang_a'",
            field="model",
            expected="'erlang_c' or 'erlang_a'",
        )
    return "erlang_a" if model == "erlang_a" else "erlang_c"


def _common(
    calls: ArrayLike,
    aht_s: ArrayLike,
    interval_s: ArrayLike,
    answer_within_s: ArrayLike,
    model: str,
    patience_s: ArrayLike | None,
    concurrency: ArrayLike,
) -> tuple[Model, dict[str, FloatArray]]:
    m = _check_model(model)
    arrays = {
        "calls": check("calls", as_float("calls", calls), lower=0.0, expected="calls >= 0"),
        "aht_s": check(
            "aht_s", as_float("aht_s", aht_s), lower=0.0, lower_open=True, expected="seconds > 0"
        ),
        "interval_s": check(
            "interval_s",
            as_float("interval_s", interval_s),
            lower=0.0,
            lower_open=True,
            expected="seconds > 0",
        ),
        "answer_within_s": check(
            "answer_within_s",
            as_float("answer_within_s", answer_within_s),
            lower=0.0,
            expected="seconds >= 0",
        ),
        "concurrency": check_integral(
            "concurrency", as_float("concurrency", concurrency), expected="an integer >= 1"
        ),
    }
    check("concurrency", arrays["concurrency"], lower=1.0, expected="an integer >= 1")
    if m == "erlang_a":
        if patience_s is None:
            raise InputError(
                "patience_s: missing; Erlang A needs the callers' mean patience in seconds",
                field="patience_s",
                expected="seconds > 0",
            )
        arrays["patience_s"] = check(
            "patience_s",
            as_float("patience_s", patience_s),
            lower=0.0,
            lower_open=True,
            expected="seconds > 0",
        )
    else:
        arrays["patience_s"] = np.asarray(math.inf)
    return m, arrays


def service_level(
    calls: ArrayLike,
    aht_s: ArrayLike,
    agents: ArrayLike,
    *,
    interval_s: ArrayLike,
    answer_within_s: ArrayLike,
    model: Model = "erlang_c",
    patience_s: ArrayLike | None = None,
    concurrency: ArrayLike = 1,
) -> StaffingResult:
    """Service metrics that ``agents`` achieve for ``calls`` per ``interval_s`` of mean
    handle time ``aht_s`` (see the module docstring for definitions). Every numeric
    argument may be a scalar or an array; they broadcast together.

    >>> r = service_level(100, 180, 14, interval_s=1800, answer_within_s=20)
    >>> round(float(r.sl), 3), round(float(r.asa_s), 1)
    (0.888, 7.8)
    """
    m, arrays = _common(calls, aht_s, interval_s, answer_within_s, model, patience_s, concurrency)
    arrays["agents"] = check_integral(
        "agents", as_float("agents", agents), expected="whole agents >= 0"
    )
    shape, flat = broadcast(**arrays)
    load = flat["calls"] * flat["aht_s"] / flat["interval_s"]
    agents_i = flat["agents"].astype(np.int64)
    conc = flat["concurrency"].astype(np.int64)
    n = load.shape[0]
    out = [np.empty(n, dtype=np.float64) for _ in range(5)]
    _kernels.metrics_batch(
        m == "erlang_a",
        load,
        agents_i,
        conc,
        flat["answer_within_s"],
        flat["aht_s"],
        flat["patience_s"],
        *out,
    )
    return _result(m, agents_i, load, out, shape)


def _optional_target(
    name: str, value: ArrayLike | None, *, upper: float | None, expected: str
) -> FloatArray:
    if value is None:
        return np.asarray(math.inf)
    return check(
        name,
        as_float(name, value),
        lower=0.0,
        lower_open=True,
        upper=upper,
        upper_open=False,
        expected=expected,
    )


def required_agents(
    calls: ArrayLike,
    aht_s: ArrayLike,
    *,
    interval_s: ArrayLike,
    sl_target: ArrayLike,
    answer_within_s: ArrayLike,
    model: Model = "erlang_c",
    patience_s: ArrayLike | None = None,
    max_occupancy: ArrayLike | None = None,
    max_asa_s: ArrayLike | None = None,
    max_abandon_rate: ArrayLike | None = None,
    concurrency: ArrayLike = 1,
) -> StaffingResult:
    """The minimal whole number of agents meeting every given target, per interval.

    Targets: ``sl`` ≥ ``sl_target`` at ``answer_within_s``, and optionally ``asa_s`` ≤
    ``max_asa_s``, ``occupancy`` ≤ ``max_occupancy``, ``abandon_rate`` ≤ ``max_abandon_rate``
    (Erlang A). Exact: the returned N meets all targets and N − 1 fails one. Zero calls give
    zero agents. Every numeric argument may be a scalar or an array (broadcast together).

    Erlang C searches upward from the smallest stable staffing, one agent at a time, with the
    Erlang B recursion carried along (no restart per candidate); Erlang A brackets the answer
    around the Erlang C one and bisects. Both run in a compiled loop over intervals.

    >>> int(required_agents(100, 180, interval_s=1800, sl_target=0.8, answer_within_s=20).agents)
    14
    """
    m, arrays = _common(calls, aht_s, interval_s, answer_within_s, model, patience_s, concurrency)
    arrays["sl_target"] = check(
        "sl_target",
        as_float("sl_target", sl_target),
        lower=0.0,
        lower_open=True,
        upper=1.0,
        upper_open=True,
        expected="a share in (0, 1), e.g. 0.8",
    )
    arrays["max_occupancy"] = _optional_target(
        "max_occupancy", max_occupancy, upper=1.0, expected="a share in (0, 1]"
    )
    arrays["max_asa_s"] = _optional_target(
        "max_asa_s", max_asa_s, upper=None, expected="seconds > 0"
    )
    if max_abandon_rate is not None and m != "erlang_a":
        raise InputError(
            "max_abandon_rate: Erlang C has no abandonment; use model='erlang_a' with patience_s",
            field="max_abandon_rate",
            expected="model='erlang_a'",
        )
    arrays["max_abandon_rate"] = _optional_target(
        "max_abandon_rate", max_abandon_rate, upper=1.0, expected="a share in (0, 1]"
    )
    shape, flat = broadcast(**arrays)
    load = flat["calls"] * flat["aht_s"] / flat["interval_s"]
    conc = flat["concurrency"].astype(np.int64)
    n = load.shape[0]
    agents = np.zeros(n, dtype=np.int64)
    out = [np.empty(n, dtype=np.float64) for _ in range(5)]
    failed = _kernels.required_batch(
        m == "erlang_a",
        load,
        conc,
        flat["answer_within_s"],
        flat["aht_s"],
        flat["patience_s"],
        flat["sl_target"],
        flat["max_occupancy"],
        flat["max_asa_s"],
        flat["max_abandon_rate"],
        agents,
        *out,
    )
    if failed >= 0:
        index = np.unravel_index(failed, shape) if shape else ()
        where = f"[{', '.join(str(int(i)) for i in index)}]" if shape else ""
        raise InputError(
            f"targets{where}: cannot be met by any staffing that double precision can "
            f"represent (load {load[failed]:.6g} Erlangs, sl_target {flat['sl_target'][failed]!r})",
            field="sl_target",
            row=failed if shape else None,
            expected="a target below 1 that more agents can reach",
        )
    return _result(m, agents, load, out, shape)


def _servers_batch(load_erl: ArrayLike, agents: ArrayLike, kernel: Any) -> FloatArray:
    """Validate (load, agents), broadcast, and run a per-element kernel into a new array."""
    load = check("load_erl", as_float("load_erl", load_erl), lower=0.0, expected="Erlangs >= 0")
    n = check_integral("agents", as_float("agents", agents), expected="whole agents >= 0")
    shape, flat = broadcast(load_erl=load, agents=n)
    out = np.empty(flat["load_erl"].shape[0], dtype=np.float64)
    kernel(flat["load_erl"], flat["agents"].astype(np.int64), out)
    return out.reshape(shape)


def erlang_b(load_erl: ArrayLike, agents: ArrayLike) -> FloatArray:
    """Erlang B blocking probability (M/M/N/N) for offered load ``load_erl`` and ``agents``."""
    return _servers_batch(load_erl, agents, _kernels.erlang_b_batch)


def erlang_c(load_erl: ArrayLike, agents: ArrayLike) -> FloatArray:
    """Erlang C probability of waiting (M/M/N); 1 when ``agents`` ≤ load (unstable)."""
    return _servers_batch(load_erl, agents, _kernels.erlang_c_batch)


def fte(agents: ArrayLike, shrinkage: ArrayLike) -> FloatArray:
    """Agents on the phones → full-time equivalents on the schedule: agents / (1 − shrinkage).

    ``shrinkage`` is the share of paid time not available for contacts (breaks, meetings,
    training, absence), in [0, 1)."""
    n = check("agents", as_float("agents", agents), lower=0.0, expected="agents >= 0")
    sh = check(
        "shrinkage",
        as_float("shrinkage", shrinkage),
        lower=0.0,
        upper=1.0,
        upper_open=True,
        expected="a share in [0, 1)",
    )
    result: FloatArray = n / (1.0 - sh)
    return result
