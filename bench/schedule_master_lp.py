"""How far the shift optimizer's lower bound could rise: column generation on the week-pattern
master LP of the benchmark week (a research tool, not run by ``make bench``: it takes minutes).

The master: each agent works at most one week (a convex combination, in the LP) of the weeks
generated so far; each slot's working agents of a skill set cover that set's projects in any
split; under-coverage is what is left of the requirement:

    min  sum u[p,t]
    s.t. u[p,t] + sum_g y[g,p,t] >= r[p,t]                      (prices pi[p,t])
         sum_p y[g,p,t] <= sum_{a in g} sum_c work_c[t] x[a,c]  (skill set g's agents at t)
         sum_c x[a,c] <= 1                                      (agent a)

Its optimum, over every week an agent may work (relaxed insides as in ``scheduler._bound``:
the cheapest lunch in its window, breaks on the cheapest slots), is the best bound a
per-agent decomposition can give. Columns come from ``scheduler._bound.best_week`` at the
master's prices, smoothed towards the best Lagrangian prices so far (Wentges). Every round
prints the Lagrangian bound at the prices tried (a valid lower bound on under-coverage), the
best one so far, and the master's value (an upper bound on the LP optimum): the LP optimum
lies between the two.

    .venv/bin/python bench/schedule_master_lp.py --agents 150 --rounds 40
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np
from ortools.linear_solver import pywraplp
from schedule_instance import make_instance

from scheduler import Weights
from scheduler._bound import (
    NEG,
    WeekTables,
    agent_types,
    group_values,
    relaxed_week,
    slot_terms,
)
from scheduler._counts import solve_counts
from scheduler._instance import Instance, build_instance
from scheduler.model import _costs

SEED = 20260427


def price(
    inst: Instance, tab: WeekTables, pi: np.ndarray
) -> tuple[float, list[tuple[int, float, np.ndarray]]]:
    """The Lagrangian bound (agent-slots) at ``pi`` and each agent's best week there:
    (agent, value, worked slots)."""
    req = inst.required
    pi = np.clip(np.where(req > 0, pi, 0.0), 0.0, 1.0)
    total = float(slot_terms(req, pi).sum())
    values = np.zeros(inst.n_types)
    lunch_at = np.empty(inst.n_types, dtype=np.int64)
    chosen = np.full(8, -1, dtype=np.int64)
    weeks: list[tuple[int, float, np.ndarray]] = []
    for g in range(len(inst.groups)):
        members = np.flatnonzero(inst.agent_group == g)
        if not members.size:
            continue
        m = group_values(inst, tab, g, pi, values, lunch_at)
        for a in members.tolist():
            best = relaxed_week(inst, tab, a, values, chosen)
            if best <= NEG:
                continue
            ks = agent_types(inst, a)
            total -= max(best, 0.0)
            slots: list[np.ndarray] = []
            for j in chosen.tolist():
                if j < 0:
                    break
                k = int(ks[j])
                start, n = int(inst.type_start[k]), int(inst.type_len[k])
                work = np.ones(n, dtype=bool)
                lunch = int(tab.lunch_of_len[n])
                if lunch and lunch_at[k] >= 0:
                    work[lunch_at[k] : lunch_at[k] + lunch] = False
                n_breaks = int(tab.breaks_of_len[n])
                if n_breaks:
                    free = np.flatnonzero(work)
                    work[free[np.argsort(m[start + free], kind="stable")[:n_breaks]]] = False
                slots.append(start + np.flatnonzero(work))
            weeks.append((a, best, np.concatenate(slots) if slots else np.zeros(0, np.int64)))
    return total, weeks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--smoothing", type=float, default=0.7, help="Wentges alpha in [0, 1)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    b = make_instance(args.agents, args.seed)
    inst = build_instance(b.requirements, b.agents, b.rules, tz=b.tz, week=b.week)
    under_cost, over_cost = _costs(inst, Weights())
    counts = solve_counts(inst, under_cost=under_cost, over_cost=over_cost, time_s=30)
    tab = WeekTables.of(inst)
    req = inst.required
    n_t = req.shape[1]
    lp = pywraplp.Solver.CreateSolver("GLOP")
    cover: dict[tuple[int, int], Any] = {}
    for p, t in zip(*np.nonzero(req > 0), strict=True):
        u = lp.NumVar(0.0, lp.infinity(), "")
        row = lp.Constraint(float(req[p, t]), lp.infinity())
        row.SetCoefficient(u, 1.0)
        lp.Objective().SetCoefficient(u, 1.0)
        cover[int(p), int(t)] = row
    supply: dict[tuple[int, int], Any] = {}
    for g, group in enumerate(inst.groups):
        for t in range(n_t):
            ps = [inst.pidx(q) for q in group if req[inst.pidx(q), t] > 0]
            if not ps:
                continue
            row = lp.Constraint(-lp.infinity(), 0.0)
            for p in ps:
                y = lp.NumVar(0.0, lp.infinity(), "")
                row.SetCoefficient(y, 1.0)
                cover[p, t].SetCoefficient(y, 1.0)
            supply[g, t] = row
    one = [lp.Constraint(-lp.infinity(), 1.0) for _ in inst.agents]
    lp.Objective().SetMinimization()

    def add(a: int, slots: np.ndarray) -> None:
        x = lp.NumVar(0.0, lp.infinity(), "")
        one[a].SetCoefficient(x, 1.0)
        g = int(inst.agent_group[a])
        for t in np.unique(slots).tolist():
            row = supply.get((g, t))
            if row is not None:
                row.SetCoefficient(x, -1.0)

    q = 0.25  # hours per slot
    center = np.where(req > 0, counts.under_prices, 0.0)
    best = -np.inf
    master_pi: np.ndarray | None = None
    mu = np.zeros(len(inst.agents))
    clock = time.perf_counter()
    print(
        f"{args.agents} agents; LP bound of stage 1: {counts.under_lb_slots * q:.2f} h", flush=True
    )
    for r in range(args.rounds):
        trial = (
            center
            if master_pi is None
            else (args.smoothing * center + (1 - args.smoothing) * master_pi)
        )
        value, weeks = price(inst, tab, trial)
        if value > best:
            best, center = value, trial
        added = 0
        for a, v, slots in weeks:
            if master_pi is None or v - mu[a] > 1e-6:
                add(a, slots)
                added += 1
        if added == 0 and master_pi is not None:  # smoothing found nothing: the master's prices
            value2, weeks = price(inst, tab, master_pi)
            if value2 > best:
                best, center = value2, master_pi
            for a, v, slots in weeks:
                if v - mu[a] > 1e-6:
                    add(a, slots)
                    added += 1
        if lp.Solve() != pywraplp.Solver.OPTIMAL:
            print("master not solved", file=sys.stderr)
            return 1
        master = lp.Objective().Value()
        master_pi = np.zeros_like(req)
        for (p, t), row in cover.items():
            master_pi[p, t] = row.dual_value()
        mu = -np.array([row.dual_value() for row in one])
        print(
            f"round {r:3d}: Lagrangian {value * q:8.2f} h, best {best * q:8.2f} h, "
            f"master {master * q:8.2f} h, {added} weeks added, "
            f"{time.perf_counter() - clock:6.1f} s",
            flush=True,
        )
        if added == 0 or master - best <= 1e-4 * master:
            break
    print(f"LP optimum of the master in [{best * q:.2f}, {master * q:.2f}] h", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
