"""The ACD simulator against exact queueing theory, and its invariants from the call records.

The checks read the flat call records with code of their own (nothing from ``wfm.sim``'s
internals) and compare with ``wfm.staffing`` (itself checked against mpmath).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import pytest
import reference as ref
from scipy import stats

from wfm.sim import SimProject, simulate
from wfm.staffing import service_level

TZ = "Europe/Berlin"


def one_queue(
    calls: float, aht_s: float, agents: int, hours: int, patience_s: float | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, tuple[str, ...]], dict[str, SimProject]]:
    ts = pd.date_range("2026-03-02 00:00", periods=2 * hours, freq="30min", tz=TZ)
    demand = pd.DataFrame({"project": "p", "ts": ts, "calls": calls, "aht_s": aht_s})
    end = ts[-1] + pd.Timedelta(hours=3)  # staffed past the last arrival: the queue drains
    names = [f"A{i:02d}" for i in range(agents)]
    schedule = pd.DataFrame(
        {"agent": names, "start": ts[0], "end": end, "activity": "work", "project": None}
    )
    return (
        demand,
        schedule,
        dict.fromkeys(names, ("p",)),
        {"p": SimProject("p", answer_within_s=20.0, patience_s=patience_s, sl_target=0.8)},
    )


def steady_per_replication(records: pd.DataFrame, warmup_h: float, hours: int) -> pd.DataFrame:
    """Per replication, over calls arriving after the warm-up: SL (answered within 20 s ÷
    offered), ASA, abandonment — computed here from the records."""
    t0 = records["arrival"].min().floor("D")
    rel = (records["arrival"] - t0).dt.total_seconds() / 3600.0
    keep = records[(rel >= warmup_h) & (rel < hours)]
    out = []
    for r, g in keep.groupby("replication"):
        served = g["status"] == "served"
        wait = g["wait_s"]
        out.append(
            {
                "replication": r,
                "sl": float(((wait <= 20.0) & served).sum() / len(g)),
                "asa": float(wait[served].mean()),
                "abandon": float((g["status"] == "abandoned").mean()),
            }
        )
    return pd.DataFrame(out)


def ci(values: pd.Series) -> tuple[float, float]:
    n = len(values)
    half = stats.t.ppf(0.995, n - 1) * values.std(ddof=1) / math.sqrt(n)  # 99 %: few flakes
    return float(values.mean() - half), float(values.mean() + half)


def test_stationary_queue_matches_erlang_c() -> None:
    demand, schedule, agents, projects = one_queue(100.0, 180.0, 14, hours=12)
    res = simulate(demand, schedule, agents, projects, interval_min=30, replications=20,
                   seed=3, records=True)  # fmt: skip
    assert res.records is not None
    per = steady_per_replication(res.records, warmup_h=2.0, hours=12)
    exact = service_level(100.0, 180.0, 14, interval_s=1800, answer_within_s=20)
    lo, hi = ci(per["sl"])
    assert lo <= float(exact.sl) <= hi, (lo, float(exact.sl), hi)
    lo, hi = ci(per["asa"])
    assert lo <= float(exact.asa_s) <= hi, (lo, float(exact.asa_s), hi)


def test_stationary_queue_with_patience_matches_erlang_a() -> None:
    demand, schedule, agents, projects = one_queue(110.0, 180.0, 11, hours=12, patience_s=120.0)
    res = simulate(demand, schedule, agents, projects, interval_min=30, replications=20,
                   seed=5, records=True)  # fmt: skip
    assert res.records is not None
    per = steady_per_replication(res.records, warmup_h=2.0, hours=12)
    exact = service_level(110.0, 180.0, 11, interval_s=1800, answer_within_s=20,
                          model="erlang_a", patience_s=120.0)  # fmt: skip
    for col, value in (("abandon", exact.abandon_rate), ("sl", exact.sl), ("asa", exact.asa_s)):
        lo, hi = ci(per[col])
        assert lo <= float(value) <= hi, (col, lo, float(value), hi)


def test_chat_concurrency_matches_erlang_a_with_agents_times_concurrency() -> None:
    """Chat at concurrency 2: six agents are twelve servers (what ``wfm.staffing`` plans
    for). Reference: the mpmath M/M/12+M chain of ``tests/reference.py``; the agents served
    one chat at a time would give SL 0.12 and 44 % abandonment (M/M/6+M) at this load."""
    demand, schedule, agents, projects = one_queue(52.5, 360.0, 6, hours=12, patience_s=240.0)
    projects = {"p": SimProject("p", answer_within_s=20.0, patience_s=240.0, sl_target=0.8,
                                concurrency=2)}  # fmt: skip
    res = simulate(demand, schedule, agents, projects, interval_min=30, replications=20,
                   seed=7, records=True)  # fmt: skip
    assert res.records is not None
    per = steady_per_replication(res.records, warmup_h=2.0, hours=12)
    exact = ref.metrics(52.5, 360.0, 6, interval_s=1800.0, answer_within_s=20.0,
                        model="erlang_a", patience_s=240.0, concurrency=2)  # fmt: skip
    for col, value in (("abandon", exact.abandon_rate), ("sl", exact.sl), ("asa", exact.asa_s)):
        lo, hi = ci(per[col])
        assert lo <= float(value) <= hi, (col, lo, float(value), hi)
    check_invariants(res.records, schedule, agents, concurrency={"p": 2})
    # a chat keeps its agent half busy: utilisation stays a share of the work time
    assert (res.agents["utilisation"].between(0.5, 1.0 + 1e-9)).all()
    assert (res.kpis["occupancy"].dropna() <= 1.0 + 1e-9).all()


def test_chats_share_an_agent_but_a_call_takes_the_whole_agent() -> None:
    """Agents holding a chat (concurrency 3) and a voice project: from the records, never more
    than three chats at once, and never a call alongside any other contact."""
    ts = pd.date_range("2026-03-02 08:00", periods=8, freq="30min", tz=TZ)
    demand = pd.concat(
        [
            pd.DataFrame({"project": "chat", "ts": ts, "calls": 60.0, "aht_s": 400.0}),
            pd.DataFrame({"project": "voice", "ts": ts, "calls": 30.0, "aht_s": 200.0}),
        ],
        ignore_index=True,
    )
    names = [f"A{i:02d}" for i in range(10)]
    agents = {a: ("chat", "voice") if i % 2 else ("voice", "chat") for i, a in enumerate(names)}
    schedule = pd.DataFrame(
        {"agent": names, "start": ts[0], "end": ts[-1] + pd.Timedelta(minutes=30),
         "activity": "work", "project": None}
    )  # fmt: skip
    projects = {
        "chat": SimProject("chat", answer_within_s=60.0, patience_s=240.0, concurrency=3),
        "voice": SimProject("voice", answer_within_s=20.0, patience_s=120.0),
    }
    routings: tuple[Literal["priority", "longest_wait"], ...] = ("priority", "longest_wait")
    for routing in routings:
        res = simulate(demand, schedule, agents, projects, interval_min=30, replications=3,
                       seed=3, routing=routing, records=True)  # fmt: skip
        assert res.records is not None
        served = res.records[res.records["status"] == "served"]
        assert set(served["project"]) == {"chat", "voice"}
        check_invariants(res.records, schedule, agents, concurrency={"chat": 3, "voice": 1})
        assert (res.agents["utilisation"].between(0.0, 1.0 + 1e-9)).all()
    with pytest.raises(ValueError, match="concurrency"):
        SimProject("chat", answer_within_s=60.0, concurrency=0)


def check_invariants(
    records: pd.DataFrame,
    schedule: pd.DataFrame,
    agents: Mapping[str, Sequence[str]],
    concurrency: Mapping[str, int] | None = None,
) -> None:
    """No agent on more contacts at once than their project's ``concurrency`` (default 1:
    one call at a time), nor on contacts of two projects at once; every call answered inside
    one of the agent's work segments that allows its project; never a project the agent
    lacks."""
    work = schedule[schedule["activity"] == "work"]
    served = records[records["status"] == "served"]
    conc = dict(concurrency or {})
    for (_r, agent), calls in served.groupby(["replication", "agent"]):
        calls = calls.sort_values("answer")
        answers = calls["answer"].to_numpy()
        ends = calls["end"].to_numpy()
        projects = calls["project"].to_numpy()
        for i in range(len(calls)):
            # contacts in progress when contact i is answered (ends at that instant excluded)
            before = (answers[:i] <= answers[i]) & (ends[:i] > answers[i])
            limit = conc.get(str(projects[i]), 1)
            assert int(before.sum()) + 1 <= limit, (agent, answers[i])
            assert (projects[:i][before] == projects[i]).all(), (agent, answers[i])
        segs = work[work["agent"] == agent]
        for answer, project in zip(calls["answer"], calls["project"], strict=True):
            assert project in agents[str(agent)]
            inside = (segs["start"] <= answer) & (answer < segs["end"])
            allowed = segs["project"].isna() | (segs["project"] == project)
            assert (inside & allowed).any(), (agent, answer, project)
    assert (served["wait_s"] >= 0).all()


def test_conservation_and_reproducibility() -> None:
    demand, schedule, agents, projects = one_queue(140.0, 200.0, 12, hours=4, patience_s=90.0)
    schedule = schedule.assign(end=schedule["start"] + pd.Timedelta(hours=3))  # understaffed end
    a = simulate(demand, schedule, agents, projects, interval_min=30, replications=3, seed=9,
                 records=True)  # fmt: skip
    b = simulate(demand, schedule, agents, projects, interval_min=30, replications=3, seed=9,
                 records=True)  # fmt: skip
    pd.testing.assert_frame_equal(a.kpis, b.kpis)
    assert a.records is not None and b.records is not None
    pd.testing.assert_frame_equal(a.records, b.records)
    counts = a.records.groupby(["replication", "status"]).size().unstack(fill_value=0)
    total = a.records.groupby("replication").size()
    assert (counts.sum(axis=1) == total).all()
    assert (a.kpis["offered"] >= a.kpis["answered"] + a.kpis["abandoned"] - 1e-9).all()
    check_invariants(a.records, schedule, agents)


def multi_skill_site(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, tuple[str, ...]]]:
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2026-10-24 20:00", periods=24, freq="30min", tz=TZ)  # across DST night
    rows = []
    for p, rate in (("x", 40.0), ("y", 25.0), ("z", 10.0)):
        for t in ts:
            rows.append({"project": p, "ts": t, "calls": rate, "aht_s": 240.0})
    demand = pd.DataFrame(rows)
    skills = [("x",), ("y",), ("x", "y"), ("y", "z"), ("z", "x"), ("x", "y", "z")]
    agents = {f"B{i:02d}": skills[i % len(skills)] for i in range(14)}
    segments = []
    for agent, held in agents.items():
        start = ts[0] + pd.Timedelta(minutes=int(rng.integers(0, 4)) * 30)
        first = start + pd.Timedelta(hours=2)
        segments += [
            {"agent": agent, "start": start, "end": first, "activity": "work", "project": None},
            {"agent": agent, "start": first, "end": first + pd.Timedelta(minutes=15),
             "activity": "break", "project": None},
            {"agent": agent, "start": first + pd.Timedelta(minutes=15),
             "end": first + pd.Timedelta(minutes=30), "activity": "break", "project": None},
            {"agent": agent, "start": first + pd.Timedelta(minutes=30),
             "end": first + pd.Timedelta(hours=9), "activity": "work", "project": held[0]},
        ]  # fmt: skip
    return demand, pd.DataFrame(segments), agents


@pytest.mark.parametrize("seed", [1, 2])
def test_multi_skill_breaks_and_a_dst_night(seed: int) -> None:
    demand, schedule, agents = multi_skill_site(seed)
    projects = {p: SimProject(p, answer_within_s=30.0, patience_s=180.0) for p in "xyz"}
    res = simulate(demand, schedule, agents, projects, interval_min=30, replications=3,
                   seed=seed, records=True)  # fmt: skip
    assert res.records is not None
    check_invariants(res.records, schedule, agents)
    k = res.kpis
    assert set(k["project"]) == {"x", "y", "z"}
    for col in ("sl", "occupancy"):
        vals = k[col].dropna()
        assert ((vals >= 0) & (vals <= 1)).all()
    assert (res.agents["utilisation"].between(0, 1.0 + 1e-9)).all()


def test_bad_input_names_the_row() -> None:
    demand, schedule, agents, projects = one_queue(10.0, 100.0, 2, hours=1)
    bad = schedule.assign(project="nope")
    with pytest.raises(ValueError, match="row 0"):
        simulate(demand, bad, agents, projects, interval_min=30, replications=2)
    with pytest.raises(ValueError, match="replications"):
        simulate(demand, schedule, agents, projects, interval_min=30, replications=1)


def test_calls_in_progress_at_a_segment_end_overrun_and_are_recorded() -> None:
    ts = pd.date_range("2026-03-02 08:00", periods=2, freq="30min", tz=TZ)
    demand = pd.DataFrame({"project": "p", "ts": ts, "calls": 6.0, "aht_s": 900.0})
    schedule = pd.DataFrame(
        {
            "agent": ["A"],
            "start": [ts[0]],
            "end": [ts[0] + pd.Timedelta(minutes=40)],
            "activity": ["work"],
            "project": [None],
        }
    )
    projects = {"p": SimProject("p", answer_within_s=20.0)}
    res = simulate(demand, schedule, {"A": ("p",)}, projects, interval_min=30, replications=5,
                   seed=2, records=True)  # fmt: skip
    assert res.records is not None
    served = res.records[res.records["status"] == "served"]
    end_of_shift = ts[0] + pd.Timedelta(minutes=40)
    assert (served["answer"] < end_of_shift).all()  # nothing starts after the segment
    # the overrun the engine reports equals the overrun seen in the records
    late = (served["end"] - end_of_shift).dt.total_seconds().clip(lower=0.0)
    per_rep = late.groupby(served["replication"]).sum().reindex(range(5), fill_value=0.0)
    overrun = float(res.agents["overrun_s"].iloc[0])
    assert overrun == pytest.approx(float(per_rep.mean()))
    assert overrun > 0.0
    # never answered callers stay queued (no patience): offered = answered + still waiting
    assert (res.records["status"] != "abandoned").all()


def test_routing_rules_differ_only_in_who_is_served_first() -> None:
    demand, schedule, agents = multi_skill_site(4)
    projects = {p: SimProject(p, answer_within_s=30.0, patience_s=180.0) for p in "xyz"}
    a = simulate(demand, schedule, agents, projects, interval_min=30, replications=3, seed=4,
                 routing="priority", records=True)  # fmt: skip
    b = simulate(demand, schedule, agents, projects, interval_min=30, replications=3, seed=4,
                 routing="longest_wait", records=True)  # fmt: skip
    assert a.records is not None
    assert b.records is not None
    check_invariants(a.records, schedule, agents)
    check_invariants(b.records, schedule, agents)
    # the same callers arrive (common random numbers); only the service order changes
    assert a.kpis["offered"].sum() == b.kpis["offered"].sum()
    assert not a.records.equals(b.records)
    with pytest.raises(ValueError, match="routing"):
        simulate(demand, schedule, agents, projects, interval_min=30, replications=2,
                 routing="random")  # type: ignore[arg-type]  # fmt: skip


def test_a_break_inside_a_work_segment_is_taken_out_of_it() -> None:
    ts = pd.date_range("2026-03-02 08:00", periods=4, freq="30min", tz=TZ)
    demand = pd.DataFrame({"project": "p", "ts": ts, "calls": 20.0, "aht_s": 60.0})
    at = ts[0]
    schedule = pd.DataFrame(
        {
            "agent": ["A", "A"],
            "start": [at, at + pd.Timedelta(minutes=30)],
            "end": [at + pd.Timedelta(hours=2), at + pd.Timedelta(minutes=90)],
            "activity": ["work", "break"],
            "project": [None, None],
        }
    )
    projects = {"p": SimProject("p", answer_within_s=20.0)}
    res = simulate(demand, schedule, {"A": ("p",)}, projects, interval_min=30, replications=3,
                   seed=1, records=True)  # fmt: skip
    assert res.records is not None
    answered = res.records.loc[res.records["status"] == "served", "answer"]
    in_break = (answered >= at + pd.Timedelta(minutes=30)) & (
        answered < at + pd.Timedelta(minutes=90)
    )
    assert not in_break.any()
    assert len(answered) > 0
    assert float(res.agents["available_s"].iloc[0]) == pytest.approx(3600.0)


def test_engine_input_errors() -> None:
    demand, schedule, agents, projects = one_queue(10.0, 100.0, 2, hours=1)
    overlapping = pd.concat([schedule, schedule.iloc[[0]]], ignore_index=True)
    with pytest.raises(ValueError, match="overlapping work segments"):
        simulate(demand, overlapping, agents, projects, interval_min=30, replications=2)
    with pytest.raises(ValueError, match="seed"):
        simulate(demand, schedule, agents, projects, interval_min=30, replications=2, seed=-1)
    moved = pd.DatetimeIndex(demand["ts"]).to_series(index=demand.index)
    moved.iloc[1] = moved.iloc[1] + pd.Timedelta(minutes=7)
    shifted = demand.assign(ts=moved)
    with pytest.raises(ValueError, match="grid"):
        simulate(shifted, schedule, agents, projects, interval_min=30, replications=2)


def test_arrivals_vary_as_much_as_the_forecast_band_says() -> None:
    demand, schedule, agents, projects = one_queue(100.0, 60.0, 6, hours=12)
    # a band with variance 100 + 0.04·100² = 500: sd 22.36, 80 % band ±1.2816 sd
    half = 1.2815515655446004 * math.sqrt(500.0)
    banded = demand.assign(calls_lo_80=100.0 - half, calls_hi_80=100.0 + half)
    counts = {}
    for label, frame, cv in (("poisson", demand, 0.0), ("forecast", banded, "forecast")):
        res = simulate(frame, schedule, agents, projects, interval_min=30, replications=8,
                       seed=6, rate_cv=cv, records=True)  # fmt: skip
        assert res.records is not None
        slot = res.records["arrival"].dt.floor("30min")
        per = res.records.groupby([res.records["replication"], slot]).size()
        counts[label] = float(per.var())
    assert 70.0 < counts["poisson"] < 140.0
    assert 350.0 < counts["forecast"] < 700.0
    with pytest.raises(ValueError, match="calls_lo_80"):
        simulate(demand, schedule, agents, projects, interval_min=30, replications=2,
                 rate_cv="forecast")  # fmt: skip


@pytest.mark.parametrize(("dist", "cv"), [("exponential", 1.0), ("lognormal", 0.5), ("fixed", 1.0)])
def test_patience_distributions(dist: str, cv: float) -> None:
    """Nobody staffed: every caller abandons at their patience, so the records show it."""
    ts = pd.date_range("2026-03-02 08:00", periods=8, freq="30min", tz=TZ)
    demand = pd.DataFrame({"project": "p", "ts": ts, "calls": 200.0, "aht_s": 60.0})
    schedule = pd.DataFrame(
        {"agent": ["A"], "start": [ts[0]], "end": [ts[0]], "activity": ["off"], "project": [None]}
    )
    projects = {
        "p": SimProject("p", 20.0, patience_s=90.0, patience_dist=dist, patience_cv=cv)  # type: ignore[arg-type]
    }
    res = simulate(demand, schedule, {"A": ("p",)}, projects, interval_min=30, replications=2,
                   seed=8, records=True)  # fmt: skip
    assert res.records is not None
    assert (res.records["status"] == "abandoned").all()
    waited = (res.records["end"] - res.records["arrival"]).dt.total_seconds()
    assert float(waited.mean()) == pytest.approx(90.0, rel=0.03)
    expected_cv = {"exponential": 1.0, "lognormal": 0.5, "fixed": 0.0}[dist]
    assert float(waited.std() / waited.mean()) == pytest.approx(expected_cv, abs=0.03)
    with pytest.raises(ValueError, match="patience_dist"):
        SimProject("p", 20.0, patience_s=90.0, patience_dist="weibull")  # type: ignore[arg-type]
