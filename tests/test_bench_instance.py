"""The shift-optimizer benchmark's instance generator (``bench/schedule_instance.py``): the
shape the benchmark promises, and the same instance for the same seed.

Runs in the main venv (the generator needs only wfm's services, not the peer)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from wfm.domain import Agent

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def instance_module() -> ModuleType:
    # as the bench scripts import it (bench/ on the path), so mypy sees one module name
    if str(ROOT / "bench") not in sys.path:
        sys.path.insert(0, str(ROOT / "bench"))
    import schedule_instance as module

    return module


def _agent_key(a: Agent) -> tuple[object, ...]:
    return (
        a.agent,
        a.projects,
        a.min_hours_week,
        a.max_hours_week,
        a.max_days_week,
        a.earliest_start,
        a.latest_end,
        tuple(sorted(a.days_off)),
        a.preferred_start,
    )


def test_shape_and_values(instance_module: ModuleType) -> None:
    n = 60
    requirements, agents, rules, tz, week = instance_module.make_instance(n, 7)
    assert isinstance(requirements, pd.DataFrame)
    assert list(requirements.columns) == ["project", "ts", "agents"]
    assert tz == "Europe/Berlin"
    assert week.weekday() == 0 and week == dt.date(2026, 4, 27)

    projects = sorted(requirements["project"].unique())
    assert len(projects) in (4, 5)
    assert {"bank", "retail", "techsupport", "chat"} <= set(projects)
    ts = pd.DatetimeIndex(requirements["ts"])
    assert str(ts.tz) == tz
    per_project = requirements.groupby("project")["ts"].nunique()
    assert (per_project == 96 * 7).all()
    assert not requirements.duplicated(["project", "ts"]).any()
    local = ts.tz_convert(tz)
    assert set(local.date) == {week + dt.timedelta(days=d) for d in range(7)}
    assert set(local.minute) <= {0, 15, 30, 45}

    values = requirements["agents"].to_numpy(dtype=np.float64)
    assert np.isfinite(values).all() and (values >= 0).all() and values.sum() > 0
    # tight: the required agent-hours match the pool's maximum contract hours (±5 %)
    required_h = values.sum() * 0.25
    pool_h = sum(a.max_hours_week for a in agents)
    assert 0.95 <= required_h / pool_h <= 1.05

    assert len(agents) == n and len({a.agent for a in agents}) == n
    assert all(isinstance(a, Agent) and 1 <= len(a.skills) <= 3 for a in agents)
    assert all(set(a.projects) <= set(projects) for a in agents)
    assert set(rules.opening) == set(projects)


def test_same_seed_same_instance(instance_module: ModuleType) -> None:
    # a fast forecasting model keeps this quick; the cache is cleared so the forecast and the
    # staffing run again, not only the agent draw
    make = instance_module.make_instance
    first = make(40, 3, model="slot_mean_4")
    instance_module._erlang_requirements.cache_clear()
    second = make(40, 3, model="slot_mean_4")
    pd.testing.assert_frame_equal(first.requirements, second.requirements)
    assert [_agent_key(a) for a in first.agents] == [_agent_key(a) for a in second.agents]
    assert first.rules == second.rules
    other = make(40, 4, model="slot_mean_4")
    assert [_agent_key(a) for a in other.agents] != [_agent_key(a) for a in first.agents]


def test_single_project_instance(instance_module: ModuleType) -> None:
    requirements, agents, rules, _tz, _week = instance_module.make_single_project_instance(
        "bank", n_agents=5, model="slot_mean_4", min_shift_h=8.5, max_shift_h=8.5
    )
    assert set(requirements["project"]) == {"bank"}
    assert len(requirements) == 96 * 7
    values = requirements["agents"].to_numpy(dtype=np.float64)
    assert (values >= 0).all() and (values == np.round(values)).all()
    assert [a.projects for a in agents] == [("bank",)] * 5
    assert rules.min_shift_h == rules.max_shift_h == 8.5
