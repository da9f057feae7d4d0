"""Large-neighbourhood search over named agents: one agent's week at a time, solved exactly.

Starting from a complete assignment, each step takes one agent out of the plan and lets a small
CP-SAT model choose the agent's best week against what the others leave uncovered: every hard
rule of the agent (``_agents.add_agent``), candidates = the allowed shift types that fill the
most of the residual requirement on the agent's projects, value of a shift = its expected work
(length less lunch and breaks, spread evenly) credited to the project that needs it most in
each slot, under-coverage removed at the project's weight and over-coverage added at its
weight. Passes over all agents in a seeded random order repeat until a pass brings no
improvement or the time share is spent. The result seeds the global stage-2 model.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np
from ortools.sat.python import cp_model

from scheduler._agents import Candidate, History, add_agent
from scheduler._instance import FloatArray, Instance

TOP_PER_DAY = 24


def _share(inst: Instance, c: Candidate) -> float:
    return inst.layout.work(c.length) / c.length


def improve(
    inst: Instance,
    start: Mapping[tuple[int, int], Candidate],
    wide: Sequence[Sequence[Candidate]],
    *,
    histories: Sequence[History],
    pinned: Sequence[Sequence[Candidate]],
    prior: Sequence[Mapping[int, Candidate]],
    under_w: FloatArray,  # per project: cost of one agent-slot under
    over_w: FloatArray,  # per project: cost of one agent-slot over
    preferred_w: float,  # per slot of deviation from the preferred start
    change_w: float,  # per shift changed against the previous plan
    has_prior: bool,
    deadline: float,
    seed: int,
) -> tuple[dict[tuple[int, int], Candidate], int, bool]:
    """The improved assignment, the number of agent moves made and whether a pass ended
    without a move (False: the deadline came first)."""
    n_a, n_t = len(inst.agents), inst.n_slots
    projects = [[inst.pidx(p) for p in skills] for skills in inst.groups]
    plan: list[dict[int, Candidate]] = [{} for _ in range(n_a)]
    for (a, d), c in start.items():
        plan[a][d] = c
    residual = inst.required.astype(float).copy()
    credit: dict[tuple[int, int], np.ndarray] = {}

    def gains(a: int) -> tuple[np.ndarray, np.ndarray]:
        """Best value of one agent-slot of work per slot, and the project earning it."""
        skills = projects[int(inst.agent_group[a])]
        best = np.full(n_t, -1e9)
        where = np.full(n_t, -1, dtype=np.int64)
        for p in skills:
            need = np.maximum(residual[p], 0.0)
            value = under_w[p] * np.minimum(1.0, need) - over_w[p] * np.maximum(0.0, 1.0 - need)
            value = np.where(inst.open_[p], value, -1e9)
            better = value > best
            best = np.where(better, value, best)
            where = np.where(better, p, where)
        return best, where

    def insert(a: int, c: Candidate) -> None:
        _, where = gains(a)
        share = _share(inst, c)
        cols = np.arange(c.start, min(c.end, n_t))
        rows = where[cols]
        ok = rows >= 0
        residual[rows[ok], cols[ok]] -= share
        credit[a, c.day] = np.stack([rows, cols])

    def remove(a: int, d: int) -> None:
        c = plan[a][d]
        rows, cols = credit.pop((a, d))
        ok = rows >= 0
        residual[rows[ok], cols[ok]] += _share(inst, c)

    for a in range(n_a):
        for c in plan[a].values():
            insert(a, c)

    arrays = []
    for a in range(n_a):
        cs = wide[a]
        pref = inst.agents[a].preferred_start
        pmin = pref.hour * 60 + pref.minute if pref is not None else None
        devs = [
            0
            if pmin is None
            else min(abs(c.start_min - pmin), 1440 - abs(c.start_min - pmin)) // 15
            for c in cs
        ]
        arrays.append(
            {
                "start": np.array([c.start for c in cs], dtype=np.int64),
                "end": np.array([min(c.end, n_t) for c in cs], dtype=np.int64),
                "day": np.array([c.day for c in cs], dtype=np.int64),
                "share": np.array([_share(inst, c) for c in cs]),
                "pref_dev": np.array(devs, dtype=float),
                "prior": np.array([prior[a].get(c.day) == c for c in cs], dtype=bool),
            }
        )
    rng = np.random.default_rng(seed)
    moves = 0
    converged = False
    while time.perf_counter() < deadline:
        changed = 0
        for a in rng.permutation(n_a).tolist():
            if time.perf_counter() >= deadline:
                break
            if not wide[a]:
                continue
            old = dict(plan[a])
            for d in list(old):
                remove(a, d)
            plan[a] = {}
            best, _ = gains(a)
            prefix = np.concatenate(([0.0], np.cumsum(best)))
            arr = arrays[a]
            value = (prefix[arr["end"]] - prefix[arr["start"]]) * arr["share"]
            value -= preferred_w * arr["pref_dev"]
            if has_prior:
                value += np.where(arr["prior"], change_w, -change_w)
            scored = dict(zip(wide[a], value.tolist(), strict=True))
            keep: set[Candidate] = set(old.values()) | set(pinned[a])
            for d in range(7):
                idx = np.flatnonzero(arr["day"] == d)
                if idx.size:
                    top = idx[np.argsort(-value[idx], kind="stable")[:TOP_PER_DAY]]
                    keep.update(wide[a][i] for i in top.tolist())
            cands = sorted(keep, key=lambda c: (c.day, c.start, c.length))
            model = cp_model.CpModel()
            av = add_agent(model, inst, a, cands, histories[a], pinned[a])
            for c, v in av.y.items():
                model.add_hint(v, 1 if old.get(c.day) == c else 0)
            model.maximize(sum(round(100 * scored.get(c, 0.0)) * v for c, v in av.y.items()))
            solver = cp_model.CpSolver()
            solver.parameters.num_workers = 1
            solver.parameters.max_deterministic_time = 1.0
            solver.parameters.max_time_in_seconds = 5.0
            solver.parameters.random_seed = seed
            status = solver.solve(model)
            new = dict(old)
            if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                found = {c.day: c for c, v in av.y.items() if solver.value(v)}
                gain = sum(scored.get(c, 0.0) for c in found.values()) - sum(
                    scored.get(c, 0.0) for c in old.values()
                )
                if gain > 1e-6:
                    new = found
            for c in new.values():
                insert(a, c)
            plan[a] = new
            if new != old:
                changed += 1
        moves += changed
        if not changed:
            converged = True
            break
    out = {(a, d): c for a in range(n_a) for d, c in plan[a].items()}
    return out, moves, converged
