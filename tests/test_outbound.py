"""Outbound workload: the provider's two quoted cases, hand arithmetic, and bad input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from wfm.errors import InputError
from wfm.staffing import outbound_agents, outbound_workload


def test_case_a_3000_contacts_in_19_days_took_4_operators() -> None:
    w = outbound_workload(3000, working_days=19, talk_s=240, dials_per_contact=2.8)
    # by hand: 3,000 × (240 + 15) s + 5,400 failed dials × 120 s = 392.5 h;
    # 19 days × 8 h × 0.85 = 129.2 productive hours per operator → 3.04 → 4 operators
    assert float(w.productive_h) == pytest.approx(392.5)
    assert float(w.productive_h_per_agent) == pytest.approx(129.2)
    assert abs(int(w.agents) - 4) <= 1
    assert int(w.agents) == 4


def test_case_b_25000_contacts_in_a_month_took_7_operators() -> None:
    w = outbound_workload(25000, working_days=22, talk_s=120, dials_per_contact=1.1)
    # 25,000 × 135 s + 2,500 × 120 s = 1,020.83 h; 22 × 8 × 0.85 = 149.6 h → 6.82 → 7
    assert float(w.productive_h) == pytest.approx(25000 * 135 / 3600 + 2500 * 120 / 3600)
    assert int(w.agents) == 7


def test_rates_give_the_same_dials_as_dials_per_contact() -> None:
    by_rates = outbound_workload(
        1000, working_days=5, talk_s=200, connect_rate=0.5, contact_rate=0.8
    )
    direct = outbound_workload(1000, working_days=5, talk_s=200, dials_per_contact=2.5)
    assert float(by_rates.dials) == pytest.approx(2500.0)
    assert float(by_rates.agents_exact) == pytest.approx(float(direct.agents_exact))


def test_broadcasts_over_arrays() -> None:
    w = outbound_workload(
        np.array([0.0, 1000.0, 2000.0]), working_days=10, talk_s=180, dials_per_contact=2.0
    )
    assert w.agents.shape == (3,)
    assert int(w.agents[0]) == 0
    assert float(w.agents_exact[2]) == pytest.approx(2 * float(w.agents_exact[1]))


def test_interval_agents_by_hand() -> None:
    # 20 contacts of 255 s plus 1.8 failed dials each of 120 s in 15 minutes at 85 %:
    # 20 × (255 + 216) / (900 × 0.85) = 12.31 → 13
    n = outbound_agents(20, 255, interval_s=900, dials_per_contact=2.8)
    assert int(n) == 13
    assert int(outbound_agents(0, 255, interval_s=900, dials_per_contact=2.8)) == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"dials_per_contact": 0.5}, "dials_per_contact"),
        ({"dials_per_contact": 2, "connect_rate": 0.5, "contact_rate": 0.5}, "dials_per_contact"),
        ({"connect_rate": 0.5}, "dials_per_contact"),
        ({"connect_rate": 1.5, "contact_rate": 0.5}, "connect_rate"),
        ({"dials_per_contact": 2, "occupancy": 0}, "occupancy"),
        ({"dials_per_contact": 2, "shift_h": 30}, "shift_h"),
    ],
)
def test_bad_input_names_the_argument(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as err:
        outbound_workload(100, working_days=5, talk_s=100, **kwargs)
    assert err.value.field == field
    assert field in str(err.value)


def test_negative_contacts_names_the_index() -> None:
    with pytest.raises(ValueError, match=r"contacts\[1\]"):
        outbound_workload([10, -1], working_days=5, talk_s=100, dials_per_contact=2)
