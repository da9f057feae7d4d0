"""Outbound (dialler) workload: agents or hours to reach a target of contacts.

A *contact* is a dial that reaches the right party and is talked to. Every contact costs talk
plus wrap time; every other dial attempt (no answer, busy, voicemail, wrong party) costs
``attempt_s`` of agent time — dialling, ringing up to the timeout, logging the outcome and
opening the next record. Dials per contact are given directly, or derived as
1 / (connect_rate × contact_rate): ``connect_rate`` is the share of dials answered by a person,
``contact_rate`` the share of those that are the right party.

Agent time is productive time: an agent on a ``shift_h`` shift is productive ``occupancy`` of
it (the rest is breaks, coaching, system time). Defaults: 8-hour shifts, occupancy 0.85,
wrap 15 s and 120 s per unsuccessful attempt (a preview/manual dialler). With them, the two
cases a provider quoted are reproduced exactly:

- 3,000 contacts in 19 working days, 2.8 dials per contact, 4-minute talk → 4 operators
  (3,000 × 255 s + 5,400 × 120 s = 392.5 h; 19 × 8 h × 0.85 = 129.2 h per operator → 3.04);
- 25,000 contacts in a month (22 working days), 1.1 dials per contact, 2-minute talk →
  7 operators (25,000 × 135 s + 2,500 × 120 s = 1,020.8 h; 22 × 8 × 0.85 = 149.6 h → 6.82).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wfm.errors import InputError
from wfm.staffing._validate import ArrayLike, as_float, broadcast, check

__all__ = ["OutboundWorkload", "outbound_agents", "outbound_workload"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class OutboundWorkload:
    """Workload of an outbound target (arrays of the broadcast shape)."""

    contacts: FloatArray
    dials: FloatArray
    talk_wrap_h: FloatArray  # contacts × (talk + wrap)
    attempts_h: FloatArray  # unsuccessful dials × attempt time
    productive_h: FloatArray  # talk_wrap_h + attempts_h
    productive_h_per_agent: FloatArray  # working_days × shift_h × occupancy
    agents_exact: FloatArray  # productive_h / productive_h_per_agent
    agents: IntArray  # whole agents: ceil(agents_exact)
    paid_h: FloatArray  # agents_exact × working_days × shift_h


def _dials_per_contact(
    dials_per_contact: ArrayLike | None,
    connect_rate: ArrayLike | None,
    contact_rate: ArrayLike | None,
) -> FloatArray:
    if dials_per_contact is not None:
        if connect_rate is not None or contact_rate is not None:
            raise InputError(
                "dials_per_contact: give it or connect_rate and contact_rate, not both",
                field="dials_per_contact",
                expected="one way to state the dialling effort",
            )
        return _dials(dials_per_contact)
    if connect_rate is None or contact_rate is None:
        raise InputError(
            "dials_per_contact: missing; give it, or both connect_rate and contact_rate",
            field="dials_per_contact",
            expected="dials per contact >= 1",
        )
    conn = _share("connect_rate", connect_rate)
    cont = _share("contact_rate", contact_rate)
    result: FloatArray = 1.0 / (conn * cont)
    return result


def _share(name: str, value: ArrayLike) -> FloatArray:
    return check(
        name,
        as_float(name, value),
        lower=0.0,
        lower_open=True,
        upper=1.0,
        expected="a share in (0, 1]",
    )


def _dials(value: ArrayLike) -> FloatArray:
    name = "dials_per_contact"
    return check(name, as_float(name, value), lower=1.0, expected="dials per contact >= 1")


def _positive(name: str, value: ArrayLike, *, allow_zero: bool = False) -> FloatArray:
    return check(
        name,
        as_float(name, value),
        lower=0.0,
        lower_open=not allow_zero,
        expected="a number >= 0" if allow_zero else "a number > 0",
    )


def outbound_workload(
    contacts: ArrayLike,
    *,
    working_days: ArrayLike,
    talk_s: ArrayLike,
    wrap_s: ArrayLike = 15.0,
    attempt_s: ArrayLike = 120.0,
    dials_per_contact: ArrayLike | None = None,
    connect_rate: ArrayLike | None = None,
    contact_rate: ArrayLike | None = None,
    shift_h: ArrayLike = 8.0,
    occupancy: ArrayLike = 0.85,
) -> OutboundWorkload:
    """Agents (and hours) to make ``contacts`` contacts in ``working_days`` days.

    >>> int(outbound_workload(3000, working_days=19, talk_s=240, dials_per_contact=2.8).agents)
    4
    >>> int(outbound_workload(25000, working_days=22, talk_s=120, dials_per_contact=1.1).agents)
    7
    """
    arrays = {
        "contacts": _positive("contacts", contacts, allow_zero=True),
        "working_days": _positive("working_days", working_days),
        "talk_s": _positive("talk_s", talk_s),
        "wrap_s": _positive("wrap_s", wrap_s, allow_zero=True),
        "attempt_s": _positive("attempt_s", attempt_s, allow_zero=True),
        "dials_per_contact": _dials_per_contact(dials_per_contact, connect_rate, contact_rate),
        "shift_h": check(
            "shift_h",
            as_float("shift_h", shift_h),
            lower=0.0,
            lower_open=True,
            upper=24.0,
            expected="hours in (0, 24]",
        ),
        "occupancy": _share("occupancy", occupancy),
    }
    shape, f = broadcast(**arrays)
    dials = f["contacts"] * f["dials_per_contact"]
    talk_wrap_h = f["contacts"] * (f["talk_s"] + f["wrap_s"]) / 3600.0
    attempts_h = (dials - f["contacts"]) * f["attempt_s"] / 3600.0
    productive_h = talk_wrap_h + attempts_h
    per_agent_h = f["working_days"] * f["shift_h"] * f["occupancy"]
    exact = productive_h / per_agent_h
    # a hair of tolerance so that 4.000000000000001 (rounding noise) is 4 agents, not 5
    agents = np.ceil(exact - 1e-9).astype(np.int64)
    return OutboundWorkload(
        contacts=f["contacts"].reshape(shape),
        dials=dials.reshape(shape),
        talk_wrap_h=talk_wrap_h.reshape(shape),
        attempts_h=attempts_h.reshape(shape),
        productive_h=productive_h.reshape(shape),
        productive_h_per_agent=per_agent_h.reshape(shape),
        agents_exact=exact.reshape(shape),
        agents=agents.reshape(shape),
        paid_h=(exact * f["working_days"] * f["shift_h"]).reshape(shape),
    )


def outbound_agents(
    contacts: ArrayLike,
    aht_s: ArrayLike,
    *,
    interval_s: ArrayLike,
    dials_per_contact: ArrayLike,
    attempt_s: ArrayLike = 120.0,
    occupancy: ArrayLike = 0.85,
) -> IntArray:
    """Whole agents per interval to make ``contacts`` contacts of handle time ``aht_s``
    (talk + wrap) in ``interval_s``, with the unsuccessful dials' time on top."""
    arrays = {
        "contacts": _positive("contacts", contacts, allow_zero=True),
        "aht_s": _positive("aht_s", aht_s),
        "interval_s": _positive("interval_s", interval_s),
        "dials_per_contact": _dials(dials_per_contact),
        "attempt_s": _positive("attempt_s", attempt_s, allow_zero=True),
        "occupancy": _share("occupancy", occupancy),
    }
    shape, f = broadcast(**arrays)
    work_s = f["contacts"] * (f["aht_s"] + (f["dials_per_contact"] - 1.0) * f["attempt_s"])
    exact = work_s / (f["interval_s"] * f["occupancy"])
    result: IntArray = np.ceil(exact - 1e-9).astype(np.int64).reshape(shape)
    return result
