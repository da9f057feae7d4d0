"""Predictive-dialer simulation of an outbound campaign (private; engine layer).

One event-driven replication, compiled with numba, over ``days`` calling windows.

**The model.** ``agents`` agents work the campaign during the calling window of every day
(``window_start``–``window_end``, local time in ``tz``; DST is handled by working in real
seconds). The dialer takes records from the list — due retries first (oldest first), then
fresh records in list order — and dials them:

- The dialled party picks up with probability ``answer_rate`` after a time to answer drawn
  from ``answer_time_dist`` (mean ``answer_time_s``); a pick-up later than ``ring_timeout_s``
  (at least 15 s of ringing) is a *no answer* at the timeout.
- A pick-up is an answering machine with probability ``machine_rate``, otherwise a live
  person, who is the right party with probability ``right_party_rate``.
- Answering-machine detection (AMD) decides at the pick-up: it recognises a machine with
  probability ``amd_accuracy`` (the line is hung up) and misclassifies a live person as a
  machine with probability ``amd_false_positive_rate`` (hung up on: an *AMD false positive*,
  abandoned under the UK rule).
- A call AMD passes as live needs an agent within ``connect_within_s`` (2 s) of the pick-up:
  the longest-idle free agent takes it at once, or the first agent to free up takes the
  oldest waiting one; otherwise the line is hung up — a *drop* (abandoned call) when it was a
  person, a silent hang-up on a machine AMD missed.
- An agent spends ``talk + wrap`` on a right-party contact (each drawn from its distribution,
  exponential or lognormal with a coefficient of variation), ``wrong_party_s`` on a live wrong
  party and ``machine_agent_s`` on a machine AMD missed; then takes the next call.
- A record is finished by a right-party contact or after ``max_attempts`` dials; any other
  outcome (no answer, machine, wrong party, drop, AMD false positive) retries it
  ``retry_delay_min`` after the outcome, in a later window if that one has closed (dropped
  records too: the UK's 72-hour no-redial rule for abandoned calls is not modelled).
- Dialling happens only inside the window; lines ringing at its end are followed to their
  outcome, and the agents finish their calls (the *overrun*).

**Pacing** (``Pacing``, parsed from text by ``parse_pacing``): after every event the dialer
tops the lines in progress (ringing, or answered and waiting for an agent) up to a target set
by the free agents ``F``:

- ``preview``: the agent is seized when the line is dialled and hears it ring, so one line per
  free agent and no AMD (the agent recognises a machine in ``machine_agent_s``); the ringing
  time counts as busy.
- ``progressive``: ``F`` lines; no agent is tied to a line. A live pick-up always finds a free
  agent (the lines never outnumber the free agents), so there are no drops.
- ``fixed:R``: ``round(R × F)`` lines, ``1 ≤ R ≤ 10`` (round half up).
- ``adaptive:TARGET``: as ``fixed`` with a ratio ``r`` that a controller moves after every live
  pick-up's outcome ``x`` (1 if abandoned — dropped or an AMD false positive —, else 0):
  ``r ← clip(r · exp(ADAPTIVE_GAIN · (1 − x / TARGET)), 1, 10)``, starting at ``r = 1``
  (progressive) on the first day and carrying over between days. Over any stretch of ``n``
  live pick-ups with abandonment rate ``a``, ``log r`` moves by ``ADAPTIVE_GAIN · n ·
  (1 − a / TARGET)``: the ratio climbs while the recent abandonment rate is below the target
  and falls while above (with ``ADAPTIVE_GAIN`` = 0.005, from 1 to 3 in about 220 live
  pick-ups; one abandoned call at a 2.5 % target cuts it by 18 %). Because ``r`` stays
  bounded, the long-run abandonment rate (UK definition, AMD false positives included) is
  the target unless the ratio is pinned at a bound (at 1: AMD false positives alone exceed
  the target). The controller reads each outcome as it happens (a simulation knows which
  hang-ups were people; a real dialer estimates AMD false positives).

**Compliance.** US rule (FTC TSR): dropped ÷ live pick-ups over a rolling 30 days of the
campaign (the days so far in the first 30), limit 3 %. UK rule (Ofcom): (dropped + AMD false
positives) ÷ live pick-ups per 24 h (per day), limit 3 %. Outcomes count on the day and the
15-minute interval of their dial.

Times in the per-dial table are seconds from ``DialerReport.origin`` (the first window's
start, floored to a quarter-hour). Randomness: one ``numpy.random.Generator`` from ``seed``
draws every dial's numbers, so a seed gives the same frames bit for bit.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt
import pandas as pd

from wfm.errors import InputError
from wfm.grid import check_tz, parse_hhmm
from wfm.sim._acd import _heap_pop as _pop

F = TypeVar("F", bound=Callable[..., Any])
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

Dist = Literal["exponential", "lognormal"]
PacingMode = Literal["preview", "progressive", "fixed", "adaptive"]

__all__ = [
    "ABANDON_LIMIT",
    "ADAPTIVE_GAIN",
    "OUTCOMES",
    "Campaign",
    "DialerReport",
    "DialerTotals",
    "Pacing",
    "RuleCompliance",
    "campaign_from_mapping",
    "parse_pacing",
    "simulate_dialer",
]

ADAPTIVE_GAIN = 0.005
"""Step of the adaptive controller: ``log r`` rises by this per live pick-up connected and
falls by ``ADAPTIVE_GAIN × (1 / TARGET − 1)`` per live pick-up abandoned."""
ABANDON_LIMIT = 0.03
"""The US and UK abandonment limit (3 %)."""
RATIO_MAX = 10.0
INTERVAL_S = 900.0  # the report's 15-minute intervals

# outcome codes of a dial (the kernel's ``out_outcome``)
PENDING = -1
NO_ANSWER = 0
MACHINE_DETECTED = 1  # AMD recognised the machine: hung up
MACHINE_TO_AGENT = 2  # AMD missed the machine: an agent got it (preview: every machine)
MACHINE_DROPPED = 3  # AMD missed the machine, no agent within connect_within_s: hung up
RIGHT_PARTY = 4  # live, connected, right party: a contact
WRONG_PARTY = 5  # live, connected, wrong party
DROPPED = 6  # live, no agent within connect_within_s: abandoned
AMD_FALSE_POSITIVE = 7  # live, classified as a machine: hung up on

OUTCOMES: tuple[str, ...] = (
    "no_answer",
    "machine_detected",
    "machine_to_agent",
    "machine_dropped",
    "right_party",
    "wrong_party",
    "dropped",
    "amd_false_positive",
)
"""Names of the outcome codes 0…7, as in the ``outcome`` column of ``DialerReport.calls``."""

_MODES: dict[str, int] = {"preview": 0, "progressive": 1, "fixed": 2, "adaptive": 3}
MODE_PREVIEW, MODE_PROGRESSIVE, MODE_FIXED, MODE_ADAPTIVE = 0, 1, 2, 3

# event kinds (heap key = id * 8 + kind)
EV_RING = 0  # a line's ringing ends: pick-up or timeout (id: dial)
EV_DEADLINE = 1  # a waiting pick-up's connect deadline (id: dial)
EV_AGENT = 2  # an agent frees up (id: agent)
EV_OPEN = 3  # a calling window opens (id: day)
EV_WAKE = 4  # a retry falls due while agents wait for records


# --------------------------------------------------------------------------------------------
# inputs


def _require(ok: bool, name: str, message: str, expected: str) -> None:
    if not ok:
        raise InputError(f"{name}: {message}", field=name, expected=expected)


def _number(name: str, value: object) -> float:
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    _require(ok, name, f"{value!r} is not a number", "a number")
    number = float(cast(float, value))
    _require(math.isfinite(number), name, f"{value!r} is not finite", "a finite number")
    return number


def _whole(name: str, value: object, minimum: int) -> int:
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
    _require(ok, name, f"{value!r} is not a whole number", f"a whole number >= {minimum}")
    number = int(cast(int, value))
    _require(
        number >= minimum, name, f"{number} is below {minimum}", f"a whole number >= {minimum}"
    )
    return number


@dataclass(frozen=True, slots=True)
class Campaign:
    """An outbound campaign: the list, the people on it, the dialer's settings and the calling
    window. Validated on construction; errors name the field. Shares are in [0, 1], times in
    seconds unless the name says otherwise (see the module docstring for the model)."""

    records: int  # list size
    max_attempts: int  # dials per record at most
    answer_rate: float  # probability a dialled number picks up (person or machine)
    machine_rate: float  # share of pick-ups that are answering machines
    right_party_rate: float  # share of live pick-ups that are the right person
    amd_accuracy: float  # share of machines AMD recognises
    amd_false_positive_rate: float  # share of live people AMD takes for machines
    talk_s: float  # mean talk time of a right-party contact
    wrap_s: float  # mean wrap (after-call work) time
    answer_time_s: float  # mean time from the dial to the pick-up
    ring_timeout_s: float  # ringing before giving up (>= 15 s)
    window_start: dt.time  # calling window, local time
    window_end: dt.time
    retry_delay_min: float  # from an unsuccessful outcome to the record's next dial
    talk_dist: Dist = "exponential"
    talk_cv: float = 1.0  # coefficient of variation (lognormal)
    wrap_dist: Dist = "exponential"
    wrap_cv: float = 1.0
    answer_time_dist: Dist = "exponential"
    answer_time_cv: float = 1.0
    wrong_party_s: float = 20.0  # agent time on a live wrong party
    machine_agent_s: float = 8.0  # agent time on a machine AMD missed
    connect_within_s: float = 2.0  # a pick-up with no agent by then is dropped (<= 2 s)
    tz: str = "UTC"
    start_date: dt.date = dt.date(2026, 1, 5)  # the first simulated day
    name: str = "campaign"

    def __post_init__(self) -> None:
        _whole("records", self.records, 1)
        _whole("max_attempts", self.max_attempts, 1)
        for name in (
            "answer_rate",
            "machine_rate",
            "right_party_rate",
            "amd_accuracy",
            "amd_false_positive_rate",
        ):
            share = _number(name, getattr(self, name))
            _require(0.0 <= share <= 1.0, name, f"{share} is not a share", "a number in [0, 1]")
        for name in ("talk_s", "answer_time_s"):
            value = _number(name, getattr(self, name))
            _require(value > 0.0, name, f"{value} is not positive", "seconds > 0")
        for name in ("wrap_s", "wrong_party_s", "machine_agent_s", "retry_delay_min"):
            value = _number(name, getattr(self, name))
            _require(value >= 0.0, name, f"{value} is negative", "a number >= 0")
        timeout = _number("ring_timeout_s", self.ring_timeout_s)
        _require(timeout >= 15.0, "ring_timeout_s", f"{timeout} s", "at least 15 s of ringing")
        within = _number("connect_within_s", self.connect_within_s)
        _require(0.0 < within <= 2.0, "connect_within_s", f"{within} s", "seconds in (0, 2] (rule)")
        for name in ("talk", "wrap", "answer_time"):
            dist = getattr(self, f"{name}_dist")
            _require(
                dist in ("exponential", "lognormal"),
                f"{name}_dist",
                f"{dist!r} is not a distribution",
                "exponential or lognormal",
            )
            cv = _number(f"{name}_cv", getattr(self, f"{name}_cv"))
            _require(cv > 0.0, f"{name}_cv", f"{cv} is not positive", "a number > 0")
        for name in ("window_start", "window_end"):
            value = getattr(self, name)
            _require(
                isinstance(value, dt.time) and value.tzinfo is None,
                name,
                f"{value!r} is not a time of day",
                "a local time HH:MM",
            )
        _require(
            self.window_start < self.window_end,
            "window_end",
            f"{self.window_end:%H:%M} is not after window_start {self.window_start:%H:%M}",
            "a window inside one day (start < end)",
        )
        check_tz(self.tz, field="tz")
        _require(
            isinstance(self.start_date, dt.date) and not isinstance(self.start_date, dt.datetime),
            "start_date",
            f"{self.start_date!r} is not a date",
            "a date YYYY-MM-DD",
        )
        _require(isinstance(self.name, str) and self.name != "", "name", "empty", "a campaign name")

    @property
    def window_h(self) -> float:
        """The calling window's length in hours (wall clock)."""
        start = self.window_start.hour * 60 + self.window_start.minute
        end = self.window_end.hour * 60 + self.window_end.minute
        return (end - start) / 60.0


_FIELDS = {f.name for f in fields(Campaign)}
_REQUIRED = tuple(
    f.name for f in fields(Campaign) if f.default is MISSING and f.default_factory is MISSING
)


def campaign_from_mapping(data: Mapping[str, object]) -> Campaign:
    """A ``Campaign`` from a parsed JSON/TOML object: the keys are the field names; times of
    day are ``"HH:MM"`` text, ``start_date`` is ``"YYYY-MM-DD"`` text (or a TOML date).
    Unknown and missing keys raise ``InputError`` naming them."""
    if not isinstance(data, Mapping):
        raise InputError(
            "campaign: not an object of keys", field="campaign", expected="a JSON/TOML table"
        )
    unknown = sorted(str(k) for k in data if k not in _FIELDS)
    if unknown:
        raise InputError(
            f"{unknown[0]}: unknown campaign key",
            field=unknown[0],
            expected="one of " + ", ".join(sorted(_FIELDS)),
        )
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise InputError(
            f"{missing[0]}: missing from the campaign", field=missing[0], expected="a value"
        )
    values: dict[str, Any] = dict(data)
    for name in ("window_start", "window_end"):
        text = values[name]
        if isinstance(text, dt.time):
            continue
        try:
            values[name] = parse_hhmm(text) if isinstance(text, str) else None
        except InputError:
            values[name] = None
        if values[name] is None:
            raise InputError(
                f"{name}: {text!r} is not a time of day",
                field=name,
                expected="HH:MM between 00:00 and 23:59",
            )
    if "start_date" in values and not isinstance(values["start_date"], dt.date):
        text = values["start_date"]
        try:
            values["start_date"] = dt.date.fromisoformat(str(text)) if isinstance(text, str) else 0
        except ValueError:
            values["start_date"] = 0
        if values["start_date"] == 0:
            raise InputError(
                f"start_date: {text!r} is not a date", field="start_date", expected="YYYY-MM-DD"
            )
    return Campaign(**values)


@dataclass(frozen=True, slots=True)
class Pacing:
    """A pacing policy: ``mode``, the fixed dial ratio (``fixed``) or the abandonment target
    (``adaptive``). ``str(pacing)`` is its text form, which ``parse_pacing`` reads back."""

    mode: PacingMode
    ratio: float = 1.0
    target: float | None = None

    def __post_init__(self) -> None:
        _require(self.mode in _MODES, "pacing", f"{self.mode!r} is not a mode", _PACING_FORMS)
        if self.mode == "fixed":
            _require(1.0 <= self.ratio <= RATIO_MAX, "pacing", f"ratio {self.ratio}", _PACING_FORMS)
        if self.mode == "adaptive":
            target = self.target
            ok = target is not None and math.isfinite(target) and 0.0 < target < 0.5
            _require(ok, "pacing", f"target {target}", _PACING_FORMS)

    def __str__(self) -> str:
        if self.mode == "fixed":
            return f"fixed:{self.ratio:g}"
        if self.mode == "adaptive":
            return f"adaptive:{self.target:g}"
        return self.mode


_PACING_FORMS = (
    "preview, progressive, fixed:R (1 <= R <= 10) or adaptive:TARGET "
    "(0 < TARGET < 0.5, e.g. adaptive:0.025)"
)


def parse_pacing(text: str) -> Pacing:
    """``preview``, ``progressive``, ``fixed:R`` or ``adaptive:TARGET``; anything else raises
    ``InputError`` (field ``pacing``)."""
    if not isinstance(text, str):
        raise InputError(f"pacing: {text!r}", field="pacing", expected=_PACING_FORMS)
    head, sep, tail = text.strip().lower().partition(":")
    bad = InputError(
        f"pacing: {text!r} is not a pacing policy; expected {_PACING_FORMS}",
        field="pacing",
        expected=_PACING_FORMS,
    )
    if head in ("preview", "progressive") and not sep:
        return Pacing(mode=cast(PacingMode, head))
    if head not in ("fixed", "adaptive") or not sep:
        raise bad
    try:
        value = float(tail)
    except ValueError:
        raise bad from None
    try:
        if head == "fixed":
            return Pacing(mode="fixed", ratio=value)
        return Pacing(mode="adaptive", target=value)
    except InputError:
        raise bad from None


# --------------------------------------------------------------------------------------------
# the kernel


def _jit(func: F) -> F:
    return cast(F, numba.njit(cache=True, nogil=True)(func))


@_jit
def _push(
    times: FloatArray, keys: IntArray, size: int, t: float, key: int
) -> tuple[FloatArray, IntArray, int]:
    """Push (t, key) on a binary min-heap of times, doubling its arrays when full."""
    if size == times.shape[0]:
        grown_t = np.empty(2 * size + 16, dtype=np.float64)
        grown_k = np.empty(2 * size + 16, dtype=np.int64)
        grown_t[:size] = times[:size]
        grown_k[:size] = keys[:size]
        times = grown_t
        keys = grown_k
    i = size
    times[i] = t
    keys[i] = key
    while i > 0:
        parent = (i - 1) // 2
        if times[parent] <= times[i]:
            break
        times[parent], times[i] = times[i], times[parent]
        keys[parent], keys[i] = keys[i], keys[parent]
        i = parent
    return times, keys, size + 1


@_jit
def _adapt(ratio: float, abandoned: bool, target: float, gain: float) -> float:
    x = 1.0 if abandoned else 0.0
    ratio *= math.exp(gain * (1.0 - x / target))
    return min(max(ratio, 1.0), RATIO_MAX)


@_jit
def run(
    win_start: FloatArray,
    win_end: FloatArray,
    n_agents: int,
    mode: int,
    ratio0: float,
    target: float,
    gain: float,
    n_records: int,
    max_attempts: int,
    retry_delay_s: float,
    ring_timeout_s: float,
    connect_within_s: float,
    answer_rate: float,
    machine_rate: float,
    amd_accuracy: float,
    amd_fp_rate: float,
    right_party_rate: float,
    wrong_party_s: float,
    machine_agent_s: float,
    draws: FloatArray,
    answer_time: FloatArray,
    talk_wrap: FloatArray,
    out_i: IntArray,
    out_f: FloatArray,
) -> int:
    """Simulate; returns the number of dials, or -1 when the pre-drawn numbers ran out (the
    caller draws more and runs again).

    Per dial ``i``: ``draws[i]`` = uniforms (pick-up, machine, AMD, right party),
    ``answer_time[i]``, ``talk_wrap[i]`` (talk + wrap of a right-party contact). Outputs:
    ``out_i[i]`` = (record, attempt, day, agent, outcome), ``out_f[i]`` = (dial, pick-up,
    agent start, agent end, dial ratio) in seconds (NaN / -1 where none)."""
    n_days = win_start.shape[0]
    cap = draws.shape[0]
    attempts = np.zeros(n_records, dtype=np.int64)
    # retries: FIFO of records (due times never decrease; a record is queued at most once)
    retry_rec = np.empty(n_records, dtype=np.int64)
    retry_due = np.empty(n_records, dtype=np.float64)
    r_head = 0
    r_count = 0
    fresh = 0
    # free agents: FIFO, longest idle first
    free = np.arange(n_agents).astype(np.int64)
    f_head = 0
    f_count = n_agents
    # pick-ups waiting for an agent (FIFO; stale entries skipped)
    lines_cap = int(RATIO_MAX * n_agents) + n_agents + 8
    wait = np.empty(lines_cap, dtype=np.int64)
    w_head = 0
    w_count = 0
    heap_t = np.empty(n_days + 2 * lines_cap + n_agents + 16, dtype=np.float64)
    heap_k = np.empty(heap_t.shape[0], dtype=np.int64)
    hsize = 0
    for d in range(n_days):
        heap_t, heap_k, hsize = _push(heap_t, heap_k, hsize, win_start[d], d * 8 + EV_OPEN)
    ratio = ratio0
    lines = 0  # ringing, or picked up and waiting for an agent
    n = 0
    day = 0
    wake_at = math.inf
    while hsize > 0:
        t = heap_t[0]
        key = heap_k[0]
        hsize = _pop(heap_t, heap_k, hsize)
        kind = key % 8
        ident = key // 8
        take = -1  # dial to hand to agent ``agent``
        agent = -1
        if kind == EV_RING:
            i = ident
            rec = out_i[i, 0]
            retry = True
            if not (draws[i, 0] < answer_rate and answer_time[i] < ring_timeout_s):
                out_i[i, 4] = NO_ANSWER
                lines -= 1
                if mode == MODE_PREVIEW:
                    out_f[i, 3] = t
                    a = out_i[i, 3]
                    heap_t, heap_k, hsize = _push(heap_t, heap_k, hsize, t, a * 8 + EV_AGENT)
            else:
                out_f[i, 1] = t
                machine = draws[i, 1] < machine_rate
                if mode == MODE_PREVIEW:
                    take = i
                    agent = out_i[i, 3]
                    retry = False
                elif machine and draws[i, 2] < amd_accuracy:
                    out_i[i, 4] = MACHINE_DETECTED
                    lines -= 1
                elif not machine and draws[i, 2] < amd_fp_rate:
                    out_i[i, 4] = AMD_FALSE_POSITIVE
                    lines -= 1
                    if mode == MODE_ADAPTIVE:
                        ratio = _adapt(ratio, True, target, gain)
                elif f_count > 0:
                    take = i
                    agent = free[f_head]
                    f_head = (f_head + 1) % n_agents
                    f_count -= 1
                    retry = False
                else:
                    wait[(w_head + w_count) % lines_cap] = i
                    w_count += 1
                    deadline = t + connect_within_s
                    heap_t, heap_k, hsize = _push(
                        heap_t, heap_k, hsize, deadline, i * 8 + EV_DEADLINE
                    )
                    retry = False
            if retry and attempts[rec] < max_attempts:
                slot = (r_head + r_count) % n_records
                retry_rec[slot] = rec
                retry_due[slot] = t + retry_delay_s
                r_count += 1
        elif kind == EV_DEADLINE:
            i = ident
            if out_i[i, 4] == PENDING:  # still waiting: hang up
                machine = draws[i, 1] < machine_rate
                out_i[i, 4] = MACHINE_DROPPED if machine else DROPPED
                lines -= 1
                if mode == MODE_ADAPTIVE and not machine:
                    ratio = _adapt(ratio, True, target, gain)
                rec = out_i[i, 0]
                if attempts[rec] < max_attempts:
                    slot = (r_head + r_count) % n_records
                    retry_rec[slot] = rec
                    retry_due[slot] = t + retry_delay_s
                    r_count += 1
        elif kind == EV_AGENT:
            while w_count > 0:
                i = wait[w_head]
                w_head = (w_head + 1) % lines_cap
                w_count -= 1
                if out_i[i, 4] == PENDING:
                    take = i
                    break
            if take >= 0:
                agent = ident
            else:
                free[(f_head + f_count) % n_agents] = ident
                f_count += 1
        elif kind == EV_WAKE and t >= wake_at:
            wake_at = math.inf
        if take >= 0:  # dial ``take`` goes to ``agent`` now
            i = take
            machine = draws[i, 1] < machine_rate
            out_i[i, 3] = agent
            if mode != MODE_PREVIEW:
                out_f[i, 2] = t
            if machine:
                out_i[i, 4] = MACHINE_TO_AGENT
                end = t + machine_agent_s
            elif draws[i, 3] < right_party_rate:
                out_i[i, 4] = RIGHT_PARTY
                end = t + talk_wrap[i]
            else:
                out_i[i, 4] = WRONG_PARTY
                end = t + wrong_party_s
            out_f[i, 3] = end
            lines -= 1
            heap_t, heap_k, hsize = _push(heap_t, heap_k, hsize, end, agent * 8 + EV_AGENT)
            if mode == MODE_ADAPTIVE and not machine:
                ratio = _adapt(ratio, False, target, gain)
            rec = out_i[i, 0]
            if out_i[i, 4] != RIGHT_PARTY and attempts[rec] < max_attempts:
                slot = (r_head + r_count) % n_records
                retry_rec[slot] = rec
                retry_due[slot] = t + retry_delay_s
                r_count += 1
        # top the lines up
        while day < n_days and win_end[day] <= t:
            day += 1
        if day >= n_days or t < win_start[day]:
            continue
        if mode == MODE_PREVIEW:
            goal = lines + f_count
        elif mode == MODE_PROGRESSIVE:
            goal = f_count
        else:
            goal = int(math.floor(ratio * f_count + 0.5))
        while lines < goal:
            if r_count > 0 and retry_due[r_head] <= t:
                rec = retry_rec[r_head]
                r_head = (r_head + 1) % n_records
                r_count -= 1
            elif fresh < n_records:
                rec = fresh
                fresh += 1
            else:
                if r_count > 0 and retry_due[r_head] < win_end[day] and retry_due[r_head] < wake_at:
                    wake_at = retry_due[r_head]
                    heap_t, heap_k, hsize = _push(heap_t, heap_k, hsize, wake_at, EV_WAKE)
                break
            if n >= cap:
                return -1
            i = n
            n += 1
            attempts[rec] += 1
            out_i[i, 0] = rec
            out_i[i, 1] = attempts[rec]
            out_i[i, 2] = day
            out_i[i, 3] = -1
            out_i[i, 4] = PENDING
            out_f[i, 0] = t
            out_f[i, 1] = math.nan
            out_f[i, 2] = math.nan
            out_f[i, 3] = math.nan
            out_f[i, 4] = ratio
            if draws[i, 0] < answer_rate and answer_time[i] < ring_timeout_s:
                t_ring = t + answer_time[i]
            else:
                t_ring = t + ring_timeout_s
            heap_t, heap_k, hsize = _push(heap_t, heap_k, hsize, t_ring, i * 8 + EV_RING)
            lines += 1
            if mode == MODE_PREVIEW:  # the agent is on the line from the dial
                out_i[i, 3] = free[f_head]
                out_f[i, 2] = t
                f_head = (f_head + 1) % n_agents
                f_count -= 1
    return n


@_jit
def _spread(
    start: FloatArray, end: FloatArray, width: float, weight: float, out: FloatArray
) -> None:
    """Add ``weight`` × the seconds of each [start, end) span to the ``width``-second bins of
    ``out`` (bin k covers [k·width, (k+1)·width))."""
    for j in range(start.shape[0]):
        s = start[j]
        e = end[j]
        if not e > s:
            continue
        k = int(math.floor(s / width))
        while s < e and k < out.shape[0]:
            edge = (k + 1) * width
            out[k] += weight * (min(e, edge) - s)
            s = edge
            k += 1


# --------------------------------------------------------------------------------------------
# the report


@dataclass(frozen=True, slots=True)
class RuleCompliance:
    """One abandonment rule's daily distribution: the value of each simulated day (``days``
    with live pick-ups), their ``mean``, 95th percentile (``p95``), the ``worst`` day and its
    date, the days over the ``limit``, and the rate over the whole run (``overall``)."""

    rule: str
    definition: str
    limit: float
    mean: float
    p95: float
    worst: float
    worst_date: dt.date | None
    days_over: int
    days: int
    overall: float


@dataclass(frozen=True, slots=True)
class DialerTotals:
    """The whole run: counts of dials by outcome, agent time in hours, rates and the list."""

    dials: int
    no_answer: int
    machines: int
    live: int
    connected: int
    right_party: int
    dropped: int
    amd_false_positives: int
    abandon_rate_us: float  # dropped ÷ live
    abandon_rate_uk: float  # (dropped + AMD false positives) ÷ live
    staffed_h: float  # agents × calling windows
    busy_h: float  # agent time on lines inside the windows
    overrun_h: float  # agent time on calls after a window's end
    occupancy: float  # busy_h ÷ staffed_h
    contacts_per_agent_hour: float  # right-party contacts ÷ staffed_h
    mean_dial_ratio: float  # lines per free agent at the dials (mean over dials)
    records_completed: int  # reached the right party
    records_exhausted: int  # max_attempts dials without a contact
    records_pending: int  # dialled, a retry still to come
    records_untouched: int  # never dialled


@dataclass(frozen=True)
class DialerReport:
    """A simulated campaign.

    ``days``: one row per simulated day (``date``); ``intervals``: one row per 15-minute
    interval of the calling windows (``date``, tz-aware ``ts``). Both carry the counts
    ``dials`` = ``no_answer`` + ``machines`` + ``live``, ``live`` = ``connected`` +
    ``dropped`` + ``amd_false_positives``, ``right_party`` (contacts, part of ``connected``),
    ``abandoned_uk`` = ``dropped`` + ``amd_false_positives``; agent time ``staffed_s``,
    ``busy_s`` (inside the window), ``idle_s``, ``occupancy``, ``contacts_per_agent_hour``
    and the mean ``dial_ratio`` of the dials. ``days`` adds ``abandon_rate_us`` (the day's
    dropped ÷ live), ``abandon_rate_us_30d`` (the US rule, rolling 30 days),
    ``abandon_rate_uk`` (the UK rule) and ``overrun_s``. ``calls``: one row per dial (times in
    seconds from ``origin``; ``outcome`` one of ``OUTCOMES``). ``us`` and ``uk`` summarise the
    daily values of the two rules."""

    campaign: Campaign
    pacing: Pacing
    agents: int
    n_days: int
    seed: int
    origin: pd.Timestamp
    days: pd.DataFrame
    intervals: pd.DataFrame
    calls: pd.DataFrame
    us: RuleCompliance
    uk: RuleCompliance
    totals: DialerTotals
    wall_s: float
    files: tuple[Path, ...] = ()  # CSV files written (by the service), if any


def _durations(rng: np.random.Generator, dist: str, mean: float, cv: float, n: int) -> FloatArray:
    """``n`` draws with this mean: exponential, or lognormal with coefficient of variation
    ``cv``."""
    if dist == "exponential":
        return rng.exponential(1.0, n) * mean
    sigma2 = math.log1p(cv**2)
    return mean * np.exp(rng.normal(-sigma2 / 2.0, math.sqrt(sigma2), n))


def _initial_dials(c: Campaign, agents: int, days: int, preview: bool) -> int:
    """A generous guess of the dials the run makes (more are drawn if it runs out)."""
    live = c.answer_rate * (1.0 - c.machine_rate)
    rp = c.right_party_rate
    agent_s = live * (rp * (c.talk_s + c.wrap_s) + (1.0 - rp) * c.wrong_party_s)
    missed = 1.0 if preview else 1.0 - c.amd_accuracy
    agent_s += c.answer_rate * c.machine_rate * missed * c.machine_agent_s
    if preview:
        agent_s += c.answer_rate * c.answer_time_s + (1.0 - c.answer_rate) * c.ring_timeout_s
    per_agent_hour = 3600.0 / max(agent_s, 1.0)
    guess = int(1.25 * days * agents * c.window_h * per_agent_hour) + 1024
    return max(1, min(guess, c.records * c.max_attempts))


def _windows(c: Campaign, days: int) -> tuple[pd.Timestamp, FloatArray, FloatArray]:
    """The origin (first window start floored to a quarter-hour, UTC) and every day's window
    in seconds from it (local wall times; a time DST skips moves forward)."""
    dates = [c.start_date + dt.timedelta(days=d) for d in range(days)]
    bounds: list[FloatArray] = []
    first: pd.Timestamp | None = None
    for clock in (c.window_start, c.window_end):
        naive = pd.DatetimeIndex([dt.datetime.combine(d, clock) for d in dates])
        local = naive.tz_localize(
            c.tz, ambiguous=np.ones(days, dtype=bool), nonexistent="shift_forward"
        )
        utc = local.tz_convert("UTC")
        if first is None:
            first = pd.Timestamp(utc[0]).floor("15min")
        bounds.append(np.asarray((utc - first).total_seconds(), dtype=np.float64))
    assert first is not None
    return first, bounds[0], bounds[1]


def simulate_dialer(
    campaign: Campaign,
    *,
    agents: int,
    pacing: Pacing | str,
    days: int,
    seed: int,
) -> DialerReport:
    """Simulate ``days`` calling days of ``campaign`` with ``agents`` agents and a pacing
    policy (a ``Pacing`` or its text, see ``parse_pacing``); deterministic for a ``seed``.
    See the module docstring for the model, the controller and the compliance rules."""
    clock = time.perf_counter()
    if not isinstance(campaign, Campaign):
        raise InputError("campaign: not a Campaign", field="campaign", expected="a Campaign")
    agents = _whole("agents", agents, 1)
    _require(agents <= 100_000, "agents", f"{agents} is too many", "at most 100000 agents")
    days = _whole("days", days, 1)
    _require(days <= 3660, "days", f"{days} is too many", "at most 3660 days")
    seed = _whole("seed", seed, 0)
    policy = parse_pacing(pacing) if isinstance(pacing, str) else pacing
    if not isinstance(policy, Pacing):
        raise InputError("pacing: not a pacing policy", field="pacing", expected=_PACING_FORMS)
    c = campaign
    mode = _MODES[policy.mode]
    origin, win_start, win_end = _windows(c, days)
    rng = np.random.default_rng(seed)
    size = _initial_dials(c, agents, days, mode == MODE_PREVIEW)
    blocks: list[tuple[FloatArray, FloatArray, FloatArray]] = []
    drawn = 0
    while True:
        block = size - drawn
        uniforms = rng.random((block, 4))
        answer_time = _durations(rng, c.answer_time_dist, c.answer_time_s, c.answer_time_cv, block)
        talk = _durations(rng, c.talk_dist, c.talk_s, c.talk_cv, block)
        wrap = _durations(rng, c.wrap_dist, c.wrap_s, c.wrap_cv, block)
        blocks.append((uniforms, answer_time, talk + wrap))
        drawn = size
        draws = np.concatenate([b[0] for b in blocks])
        out_i = np.empty((size, 5), dtype=np.int64)
        out_f = np.empty((size, 5), dtype=np.float64)
        n = run(
            win_start, win_end, agents, mode,
            1.0 if mode != MODE_FIXED else policy.ratio,
            policy.target if policy.target is not None else 1.0,
            ADAPTIVE_GAIN,
            c.records, c.max_attempts, c.retry_delay_min * 60.0, c.ring_timeout_s,
            c.connect_within_s, c.answer_rate, c.machine_rate, c.amd_accuracy,
            c.amd_false_positive_rate, c.right_party_rate, c.wrong_party_s, c.machine_agent_s,
            draws, np.concatenate([b[1] for b in blocks]), np.concatenate([b[2] for b in blocks]),
            out_i, out_f,
        )  # fmt: skip
        if n >= 0:
            break
        if size >= c.records * c.max_attempts:  # a record is dialled max_attempts times at most
            raise RuntimeError("dialer: more dials than records × max_attempts")
        size = min(2 * size, c.records * c.max_attempts)
    calls = _calls_frame(out_i[:n], out_f[:n])
    days_frame, intervals = _frames(c, agents, days, origin, win_start, win_end, calls)
    us, uk = _compliance(days_frame)
    totals = _totals(c, calls, days_frame)
    return DialerReport(
        campaign=c,
        pacing=policy,
        agents=agents,
        n_days=days,
        seed=seed,
        origin=origin,
        days=days_frame,
        intervals=intervals,
        calls=calls,
        us=us,
        uk=uk,
        totals=totals,
        wall_s=time.perf_counter() - clock,
    )


def _calls_frame(out_i: IntArray, out_f: FloatArray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record": out_i[:, 0],
            "attempt": out_i[:, 1],
            "day": out_i[:, 2],
            "dial_s": out_f[:, 0],
            "answer_s": out_f[:, 1],
            "agent_start_s": out_f[:, 2],
            "agent_end_s": out_f[:, 3],
            "agent": out_i[:, 3],
            "outcome": pd.Categorical.from_codes(out_i[:, 4], categories=pd.Index(OUTCOMES)),
            "dial_ratio": out_f[:, 4],
        }
    )


_COUNTS: dict[str, tuple[int, ...]] = {
    "no_answer": (NO_ANSWER,),
    "machines": (MACHINE_DETECTED, MACHINE_TO_AGENT, MACHINE_DROPPED),
    "live": (RIGHT_PARTY, WRONG_PARTY, DROPPED, AMD_FALSE_POSITIVE),
    "connected": (RIGHT_PARTY, WRONG_PARTY),
    "right_party": (RIGHT_PARTY,),
    "dropped": (DROPPED,),
    "amd_false_positives": (AMD_FALSE_POSITIVE,),
    "abandoned_uk": (DROPPED, AMD_FALSE_POSITIVE),
}


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _count_columns(key: IntArray, codes: IntArray, size: int) -> dict[str, IntArray]:
    """Dials per ``key`` (interval or day) in total and per outcome group of ``_COUNTS``."""
    n_codes = len(OUTCOMES)
    table = np.bincount(key * n_codes + codes, minlength=size * n_codes).reshape(size, n_codes)
    out = {"dials": table.sum(axis=1).astype(np.int64)}
    for name, members in _COUNTS.items():
        out[name] = table[:, list(members)].sum(axis=1).astype(np.int64)
    return out


def _frames(
    c: Campaign,
    agents: int,
    days: int,
    origin: pd.Timestamp,
    win_start: FloatArray,
    win_end: FloatArray,
    calls: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    codes: IntArray = calls["outcome"].cat.codes.to_numpy().astype(np.int64)
    day: IntArray = calls["day"].to_numpy().astype(np.int64)
    dial = calls["dial_s"].to_numpy(dtype=np.float64)
    ratio = calls["dial_ratio"].to_numpy(dtype=np.float64)
    start = calls["agent_start_s"].to_numpy(dtype=np.float64)
    end = calls["agent_end_s"].to_numpy(dtype=np.float64)
    on_agent = np.isfinite(start) & np.isfinite(end)
    ws, we = win_start[day], win_end[day]
    busy_start = np.where(on_agent, np.maximum(start, ws), 0.0)
    busy_end = np.where(on_agent, np.maximum(np.minimum(end, we), busy_start), 0.0)
    overrun = np.where(on_agent, np.maximum(end - np.maximum(start, we), 0.0), 0.0)

    # intervals
    n_bins = int(math.ceil(float(win_end.max()) / INTERVAL_S))
    staffed = np.zeros(n_bins)
    _spread(win_start, win_end, INTERVAL_S, float(agents), staffed)
    busy = np.zeros(n_bins)
    _spread(busy_start, busy_end, INTERVAL_S, 1.0, busy)
    k = np.floor(dial / INTERVAL_S).astype(np.int64)
    counts = _count_columns(k, codes, n_bins)
    ratio_sum = np.bincount(k, weights=ratio, minlength=n_bins).astype(np.float64)
    keep = np.flatnonzero(staffed > 0)
    ts = pd.DatetimeIndex(origin + pd.to_timedelta(keep * INTERVAL_S, unit="s")).tz_convert(c.tz)
    intervals = pd.DataFrame({"date": ts.date, "ts": ts})
    for name, values in counts.items():
        intervals[name] = values[keep]
    intervals["staffed_s"] = staffed[keep]
    intervals["busy_s"] = busy[keep]
    intervals["idle_s"] = np.maximum(staffed[keep] - busy[keep], 0.0)
    intervals["occupancy"] = _ratio(busy[keep], staffed[keep])
    intervals["contacts_per_agent_hour"] = _ratio(
        counts["right_party"][keep].astype(np.float64), staffed[keep] / 3600.0
    )
    intervals["dial_ratio"] = _ratio(ratio_sum[keep], counts["dials"][keep].astype(np.float64))

    # days
    dates = [c.start_date + dt.timedelta(days=d) for d in range(days)]
    counts = _count_columns(day, codes, days)
    frame = pd.DataFrame({"date": dates})
    for name, values in counts.items():
        frame[name] = values
    live = counts["live"].astype(np.float64)
    dropped = counts["dropped"].astype(np.float64)
    frame["abandon_rate_us"] = _ratio(dropped, live)
    window = 30
    cum_drop = np.concatenate([[0.0], np.cumsum(dropped)])
    cum_live = np.concatenate([[0.0], np.cumsum(live)])
    lo = np.maximum(np.arange(days) + 1 - window, 0)
    hi = np.arange(days) + 1
    frame["abandon_rate_us_30d"] = _ratio(cum_drop[hi] - cum_drop[lo], cum_live[hi] - cum_live[lo])
    frame["abandon_rate_uk"] = _ratio(counts["abandoned_uk"].astype(np.float64), live)
    staffed_day = agents * (win_end - win_start)
    busy_day = np.bincount(day, weights=busy_end - busy_start, minlength=days).astype(np.float64)
    frame["staffed_s"] = staffed_day
    frame["busy_s"] = busy_day
    frame["idle_s"] = np.maximum(staffed_day - busy_day, 0.0)
    frame["overrun_s"] = np.bincount(day, weights=overrun, minlength=days)
    frame["occupancy"] = _ratio(busy_day, staffed_day)
    frame["contacts_per_agent_hour"] = _ratio(
        counts["right_party"].astype(np.float64), staffed_day / 3600.0
    )
    frame["dial_ratio"] = _ratio(
        np.bincount(day, weights=ratio, minlength=days).astype(np.float64),
        counts["dials"].astype(np.float64),
    )
    return frame, intervals


def _rule(
    rule: str, definition: str, values: FloatArray, dates: list[dt.date], overall: float
) -> RuleCompliance:
    ok = np.isfinite(values)
    v = values[ok]
    if v.size == 0:
        nan = math.nan
        return RuleCompliance(rule, definition, ABANDON_LIMIT, nan, nan, nan, None, 0, 0, overall)
    worst = int(np.argmax(v))
    return RuleCompliance(
        rule=rule,
        definition=definition,
        limit=ABANDON_LIMIT,
        mean=float(v.mean()),
        p95=float(np.percentile(v, 95)),
        worst=float(v[worst]),
        worst_date=[d for d, keep in zip(dates, ok, strict=True) if keep][worst],
        days_over=int((v > ABANDON_LIMIT).sum()),
        days=int(v.size),
        overall=overall,
    )


def _compliance(days: pd.DataFrame) -> tuple[RuleCompliance, RuleCompliance]:
    dates = list(days["date"])
    live = float(days["live"].sum())
    dropped = float(days["dropped"].sum())
    uk_num = float(days["abandoned_uk"].sum())
    us = _rule(
        "US",
        "dropped ÷ live pick-ups, rolling 30 days",
        days["abandon_rate_us_30d"].to_numpy(dtype=np.float64),
        dates,
        dropped / live if live > 0 else math.nan,
    )
    uk = _rule(
        "UK",
        "(dropped + AMD false positives) ÷ live pick-ups, per 24 h",
        days["abandon_rate_uk"].to_numpy(dtype=np.float64),
        dates,
        uk_num / live if live > 0 else math.nan,
    )
    return us, uk


def _totals(c: Campaign, calls: pd.DataFrame, days: pd.DataFrame) -> DialerTotals:
    def total(name: str) -> int:
        return int(days[name].sum())

    live = total("live")
    staffed_h = float(days["staffed_s"].sum()) / 3600.0
    busy_h = float(days["busy_s"].sum()) / 3600.0
    record = calls["record"].to_numpy(dtype=np.int64)
    contact = (calls["outcome"] == "right_party").to_numpy()
    attempts = np.bincount(record, minlength=c.records)
    completed = np.bincount(record[contact], minlength=c.records) > 0
    dialled = attempts > 0
    exhausted = dialled & ~completed & (attempts >= c.max_attempts)
    return DialerTotals(
        dials=total("dials"),
        no_answer=total("no_answer"),
        machines=total("machines"),
        live=live,
        connected=total("connected"),
        right_party=total("right_party"),
        dropped=total("dropped"),
        amd_false_positives=total("amd_false_positives"),
        abandon_rate_us=total("dropped") / live if live else math.nan,
        abandon_rate_uk=total("abandoned_uk") / live if live else math.nan,
        staffed_h=staffed_h,
        busy_h=busy_h,
        overrun_h=float(days["overrun_s"].sum()) / 3600.0,
        occupancy=busy_h / staffed_h if staffed_h > 0 else math.nan,
        contacts_per_agent_hour=total("right_party") / staffed_h if staffed_h > 0 else math.nan,
        mean_dial_ratio=float(calls["dial_ratio"].mean()) if len(calls) else math.nan,
        records_completed=int(completed.sum()),
        records_exhausted=int(exhausted.sum()),
        records_pending=int((dialled & ~completed & ~exhausted).sum()),
        records_untouched=int((~dialled).sum()),
    )
