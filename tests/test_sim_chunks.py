"""Simulation replications in chunks (``simulate_chunk`` + ``combine_chunks``) give exactly the
report of one ``simulate_plan`` call.

What is checked: replication r's stream, ``SeedSequence(seed, spawn_key=(r,))``, is the r-th
child of ``SeedSequence(seed).spawn(R)`` (numpy's own spawn is the reference); on a small plan
of three simulated projects (one a chat at concurrency 2, one agent with a break) and one
skipped outbound project, every chunking of 10 replications — in one piece, in halves, in
3 + 3 + 4, one by one, and handed over out of order — combines into KPIs, days, agents and
summary equal bit for bit to ``simulate_plan``, with the same notes, also with lognormal handle
times, over-dispersed arrivals and short abandons; a chunk's statistics are those rows of the
whole run's (its counts stored as unsigned integers); chunk sets with a gap, an overlap, a
missing tail, replications beyond R, another seed or other inputs are refused with
``InputError``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from wfm.errors import InputError
from wfm.services.simulation import (
    SimChunk,
    SimProjects,
    SimulationReport,
    combine_chunks,
    simulate_chunk,
    simulate_plan,
)
from wfm.sim import SimProject, combine_replications, simulate, simulate_replications

TZ = "Europe/Berlin"
R = 10
SEED = 42


def plan() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, tuple[str, ...]], SimProjects]:
    """One morning of three inbound/chat projects and an outbound campaign (left out)."""
    ts = pd.date_range("2026-03-27 08:00", periods=8, freq="30min", tz=TZ)
    rows = [
        pd.DataFrame({"project": p, "ts": ts, "calls": calls, "aht_s": aht})
        for p, calls, aht in (("bank", 24.0, 240.0), ("chat", 12.0, 480.0), ("shop", 9.0, 300.0))
    ]
    rows.append(pd.DataFrame({"project": "out", "ts": ts, "calls": 50.0, "aht_s": 120.0}))
    demand = pd.concat(rows, ignore_index=True)
    skills = {
        "A1": ("bank",),
        "A2": ("bank", "shop"),
        "A3": ("shop", "bank"),
        "A4": ("chat",),
        "A5": ("chat", "bank"),
        "A6": ("bank",),
        "D1": ("out",),
    }
    start, end = ts[0], ts[-1] + pd.Timedelta(minutes=30)
    segments = [
        {"agent": a, "start": start, "end": end, "activity": "work", "project": None}
        for a in skills
        if a != "D1"
    ]
    segments += [
        {"agent": "A1", "start": ts[3], "end": ts[3] + pd.Timedelta(minutes=15),
         "activity": "break", "project": None},
        {"agent": "D1", "start": start, "end": end, "activity": "work", "project": "out"},
    ]  # fmt: skip
    projects = SimProjects(
        projects={
            "bank": SimProject("bank", answer_within_s=20.0, patience_s=90.0, sl_target=0.8),
            "chat": SimProject("chat", answer_within_s=60.0, patience_s=300.0, sl_target=0.8),
            "shop": SimProject("shop", answer_within_s=30.0, patience_s=None, sl_target=0.7),
        },
        skipped={"out": "an outbound campaign"},
        concurrency={"chat": 2},
    )
    return demand, pd.DataFrame(segments), skills, projects


def chunks_of(sizes: list[int], **options: Any) -> list[SimChunk]:
    demand, schedule, agents, projects = plan()
    out, first = [], 0
    for size in sizes:
        out.append(
            simulate_chunk(
                demand, schedule, agents, projects, tz=TZ, seed=SEED, first=first, count=size,
                **options,
            )
        )  # fmt: skip
        first += size
    return out


def combined(chunks: list[SimChunk], **options: Any) -> SimulationReport:
    demand, schedule, agents, projects = plan()
    return combine_chunks(
        chunks, demand, schedule, agents, projects, tz=TZ, replications=R, seed=SEED, **options
    )


def whole(**options: Any) -> SimulationReport:
    demand, schedule, agents, projects = plan()
    return simulate_plan(
        demand, schedule, agents, projects, tz=TZ, replications=R, seed=SEED, **options
    )


def assert_same_report(a: SimulationReport, b: SimulationReport) -> None:
    for name in ("kpis", "daily", "agents"):
        pd.testing.assert_frame_equal(
            getattr(a.result, name), getattr(b.result, name), check_exact=True
        )
    pd.testing.assert_frame_equal(a.summary, b.summary, check_exact=True)
    assert a.notes == b.notes and a.notes  # the outbound campaign's note
    assert (a.replications, a.seed, a.interval_min, a.tz) == (
        b.replications,
        b.seed,
        b.interval_min,
        b.tz,
    )
    assert a.result.replications == b.result.replications == R
    assert a.result.records is None and b.result.records is None


@pytest.mark.parametrize("seed", [0, 1, SEED, 2**40 + 3])
def test_replication_r_stream_is_the_r_th_spawned_child(seed: int) -> None:
    spawned = np.random.SeedSequence(seed).spawn(R)
    for r, child in enumerate(spawned):
        direct = np.random.SeedSequence(seed, spawn_key=(r,))
        assert direct.state == child.state
        assert np.array_equal(direct.generate_state(8), child.generate_state(8))
        a, b = np.random.default_rng(direct), np.random.default_rng(child)
        assert np.array_equal(a.random(5), b.random(5))


@pytest.mark.parametrize(
    "sizes", [[10], [5, 5], [3, 3, 4], [1] * 10], ids=["10", "5+5", "3+3+4", "1x10"]
)
def test_chunks_combine_into_the_whole_run_bit_for_bit(sizes: list[int]) -> None:
    assert_same_report(combined(chunks_of(sizes)), whole())


def test_chunks_in_any_order_and_with_other_options() -> None:
    options: dict[str, Any] = {
        "handle_dist": "lognormal",
        "handle_cv": 0.7,
        "rate_cv": 0.25,
        "short_abandon_s": 5.0,
    }
    parts = chunks_of([4, 2, 4], **options)
    assert_same_report(combined(parts[::-1], **options), whole(**options))
    # the options matter: the same chunking without them is another simulation
    assert not whole().summary.equals(whole(**options).summary)


def test_a_chunk_holds_the_whole_runs_rows_of_its_replications() -> None:
    demand, schedule, agents, projects = plan()
    sims = dict(projects.projects)
    keep = demand["project"] != "out"
    sched = schedule[schedule["agent"] != "D1"]
    skills = {a: s for a, s in agents.items() if a != "D1"}
    full = simulate_replications(
        demand[keep], sched, skills, sims, interval_min=30, seed=SEED, first=0, count=R
    )
    part = simulate_replications(
        demand[keep], sched, skills, sims, interval_min=30, seed=SEED, first=6, count=3
    )
    assert (part.first, part.count, part.stop, part.seed) == (6, 3, 9, SEED)
    assert part.fingerprint == full.fingerprint
    # counts travel as small unsigned integers (exact), seconds as float64
    assert part.counts.dtype.kind == "u" and part.seconds.dtype == np.float64
    assert part.stats.shape == (3, 6, 3, 8) and part.stats.dtype == np.float64
    for name in ("stats", "occ_busy", "agent_busy", "agent_overrun"):
        assert np.array_equal(getattr(part, name), getattr(full, name)[6:9])
    # the engine's one-shot simulate equals its combination of chunks too
    rest = [
        simulate_replications(
            demand[keep], sched, skills, sims, interval_min=30, seed=SEED, first=f, count=c
        )
        for f, c in ((0, 6), (9, 1))
    ]
    result = combine_replications(
        [rest[0], part, rest[1]], demand[keep], sched, skills, sims, interval_min=30,
        replications=R, seed=SEED,
    )  # fmt: skip
    one = simulate(demand[keep], sched, skills, sims, interval_min=30, replications=R, seed=SEED)
    for name in ("kpis", "daily", "agents"):
        pd.testing.assert_frame_equal(getattr(result, name), getattr(one, name), check_exact=True)


def test_bad_chunk_sets_are_refused() -> None:
    five, rest = chunks_of([5, 5])
    three = chunks_of([3, 3, 4])
    cases: list[tuple[list[SimChunk], str, str]] = [
        ([], "none given", "chunks"),
        ([three[0], rest], r"replications 3…4 are missing", "chunks"),  # a gap
        ([five, three[1], rest], r"replication 3 is in more than one chunk", "chunks"),
        ([five, rest, rest], r"replication 5 is in more than one chunk", "chunks"),
        ([five], r"replications 5…9 are missing", "chunks"),  # no tail
        ([*chunks_of([5, 7])], r"beyond 9", "chunks"),
    ]
    for chunks, match, field in cases:
        with pytest.raises(InputError, match=match) as info:
            combined(chunks)
        assert info.value.field == field
    # another seed
    demand, schedule, agents, projects = plan()
    other = simulate_chunk(
        demand, schedule, agents, projects, tz=TZ, seed=SEED + 1, first=5, count=5
    )
    with pytest.raises(InputError, match=rf"has seed {SEED + 1}, not {SEED}") as info:
        combined([five, other])
    assert info.value.field == "seed"
    # other inputs: more calls on one project, or another option
    busier = demand.assign(calls=demand["calls"] * np.where(demand["project"] == "bank", 1.1, 1))
    moved = simulate_chunk(busier, schedule, agents, projects, tz=TZ, seed=SEED, first=5, count=5)
    lognormal = chunks_of([5, 5], handle_dist="lognormal")[1]
    for chunk in (moved, lognormal):
        with pytest.raises(InputError, match="other inputs or options") as info:
            combined([five, chunk])
        assert info.value.field == "chunks"
    # a chunk needs a replication; its first is >= 0
    for first, count in ((0, 0), (-1, 2)):
        with pytest.raises(InputError, match=r"^(first|count): "):
            simulate_chunk(
                demand, schedule, agents, projects, tz=TZ, seed=SEED, first=first, count=count
            )
