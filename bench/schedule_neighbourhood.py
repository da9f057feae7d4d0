"""Is the shift optimizer's schedule locally optimal for many agents at once? Column generation
over the weeks of a neighbourhood of agents, then CP-SAT over the columns (a research tool,
not run by ``make bench``: it takes minutes).

The benchmark week (``bench/schedule_instance.py``) is planned by ``solve_week``; then, per
neighbourhood (``--size`` agents that hold one randomly drawn project), the others' coverage is
held and the neighbourhood's weeks are chosen afresh among columns:

- its current weeks, and one greedy week per agent (``scheduler._polish``'s whole-week move,
  agents in turn, each against the others' coverage so far);
- ``--rounds`` of column generation on the neighbourhood's master LP (each agent one convex
  combination of its columns; per project and slot under- and over-coverage at the engine's
  weights; switches, preferred-start and instability penalties per column): per agent, the
  whole-week move against the LP's dual prices, added when it prices out;
- CP-SAT (2 workers, ``--cp-time`` s) over whole choices of the columns, hinted with the
  current weeks; with ``--dive N``, also a dive on the LP (fix the agents it does not split,
  or else the N heaviest, to their heaviest week; ``--dive-rounds`` more rounds; repeat).

It prints, per neighbourhood, the objective's part that depends on the neighbourhood (coverage
of every slot given the others, the neighbourhood's penalties; fairness spreads are kept as
bounds, not counted) for the current weeks, the LP's value (an upper bound on the LP optimum
over all weeks: the columns are a subset), how many agents the LP splits over several weeks,
and CP-SAT's best whole choice and bound (over the columns). The schedule is
changed only when the whole objective drops (it did not in any measured run).

    .venv/bin/python bench/schedule_neighbourhood.py --agents 300 --hoods 6 --size 25
    .venv/bin/python bench/schedule_neighbourhood.py --agents 300 --hoods 1 --size 100 \\
        --rounds 30 --cp-time 60 --dive 10
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Sequence

import numpy as np
from ortools.linear_solver import pywraplp  # type: ignore[import-untyped]  # no type information
from ortools.sat.python import cp_model
from schedule_instance import make_instance

from scheduler import SolveParams, Weights, solve_week
from scheduler._agents import History, limits_of
from scheduler._assign import LATE_END_MIN
from scheduler._bound import WeekTables, WeekWork, agent_types
from scheduler._instance import Instance, build_instance
from scheduler._intraday import LUNCH, PlacedShift, work_cover
from scheduler._polish import (
    WEEKEND,
    PolishCosts,
    _agent_gain,
    _best_week_of,
    _InsideTables,
    _minute_of_day,
    _Spreads,
    _week_penalty,
    _WeekRules,
    count_switches,
)
from scheduler.model import _read_shifts

SEED = 20260427
CP_SCALE = 100  # CP-SAT coefficients: centi-agents, costs ×400 (whole units)

Week = list[PlacedShift]


class Hood:
    """One neighbourhood: the agents, the others' coverage held, each agent's columns."""

    def __init__(
        self, inst: Instance, costs: PolishCosts, weeks: dict[int, Week], agents: list[int]
    ):
        self.inst, self.costs, self.agents = inst, costs, agents
        others = [sh for a, w in weeks.items() if a not in agents for sh in w]
        self.need = inst.required - work_cover(inst, others).astype(float)  # left for them
        self.cols: dict[int, list[Week]] = {a: [weeks[a]] for a in agents}
        self.seen = {a: {tuple(weeks[a])} for a in agents}
        self.worked = {(a, 0): self._worked(weeks[a]) for a in agents}
        self.minute_of = _minute_of_day(inst)
        self.tools = WeekTables.of(inst)
        # as the polish: the inside tables up to the longest shift, scratch arrays for best_week
        shifts = [sh.length for w in weeks.values() for sh in w]
        longest = max([*shifts, int(inst.type_len.max(initial=0)), inst.layout.max_len])
        self.tables = _InsideTables.of(inst, longest)
        self.work = WeekWork()
        self.rules = self._rules(weeks)

    def late(self, start: int, length: int) -> bool:
        return int(self.minute_of[start]) + length * 15 > LATE_END_MIN

    def _rules(self, weeks: dict[int, Week]) -> dict[int, _WeekRules]:
        """The polish's bounds on each agent's new week: contract, and the current spreads
        over all agents (computed once)."""

        def paid(w: Week) -> int:
            return sum(sh.length - sum(1 for x in sh.activity if x == LUNCH) for sh in w)

        inst = self.inst
        above = {b: paid(w) - limits_of(inst, b)[0] for b, w in weeks.items()}
        late = {b: sum(self.late(sh.start, sh.length) for sh in w) for b, w in weeks.items()}
        weekend = {b: sum(1 for sh in w if sh.day in WEEKEND) for b, w in weeks.items()}
        spreads = _Spreads(
            (min(above.values()), max(above.values())),
            (min(late.values()), max(late.values())),
            (min(weekend.values()), max(weekend.values())),
        )
        out = {}
        for a in self.agents:
            lo, hi, _ = limits_of(inst, a)
            types = agent_types(inst, a)
            out[a] = _WeekRules(
                types=types[inst.type_start[types] + inst.type_len[types] <= inst.n_slots],
                paid_range=(
                    max(lo, lo + min(spreads.above[0], above[a])),
                    min(hi, lo + max(spreads.above[1], above[a])),
                ),
                late_range=(min(spreads.late[0], late[a]), max(spreads.late[1], late[a])),
                weekend_range=(
                    min(spreads.weekend[0], weekend[a]),
                    max(spreads.weekend[1], weekend[a]),
                ),
                history=History(),
            )
        return out

    def _worked(self, w: Week) -> list[tuple[int, int]]:
        """The (project, slot) cells a week works."""
        return [(int(p), int(t)) for p, t in np.argwhere(self.cover([w]) > 0)]

    def cover(self, weeks: Iterable[Week]) -> np.ndarray:
        return work_cover(self.inst, [sh for w in weeks for sh in w]).astype(float)

    def penalty(self, a: int, w: Week) -> float:
        starts = [int(self.minute_of[sh.start]) for sh in w]
        pref = self.inst.agents[a].preferred_start
        return self.costs.switch * count_switches(w) + _week_penalty(starts, pref, self.costs)

    def best_week(self, a: int, need: np.ndarray) -> tuple[Week, float] | None:
        inst = self.inst
        skills = [inst.pidx(p) for p in inst.groups[int(inst.agent_group[a])]]
        gain = _agent_gain(inst, skills, need, self.costs)  # _best_week_of takes the gain
        return _best_week_of(
            inst,
            a,
            self.rules[a],
            gain,
            self.costs,
            self.tools,
            self.tables,
            self.minute_of,
            self.late,
            self.work,
        )

    def add(self, a: int, w: Week) -> bool:
        if tuple(w) in self.seen[a]:
            return False
        self.seen[a].add(tuple(w))
        self.cols[a].append(w)
        self.worked[a, len(self.cols[a]) - 1] = self._worked(w)
        return True

    def cells(self) -> dict[tuple[int, int], list[tuple[int, int]]]:
        """Per (project, slot) that some column works: the (agent, column) pairs working it."""
        out: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for a in self.agents:
            for c in range(len(self.cols[a])):
                for cell in self.worked[a, c]:
                    out.setdefault(cell, []).append((a, c))
        return out

    def untouched(self, cells: Iterable[tuple[int, int]]) -> float:
        """The coverage cost of the cells no column works (the same for every choice)."""
        left = self.need.copy()
        for p, t in cells:
            left[p, t] = 0.0
        under, over = self.costs.under[0], self.costs.over[0]
        return float(under * np.clip(left, 0, None).sum() + over * np.clip(-left, 0, None).sum())

    def value(self, choice: dict[int, Week]) -> float:
        """The neighbourhood's part of the objective for whole weeks ``choice``."""
        left = self.need - self.cover(choice.values())
        under, over = self.costs.under[0], self.costs.over[0]
        coverage = under * np.clip(left, 0, None).sum() + over * np.clip(-left, 0, None).sum()
        return float(coverage) + sum(self.penalty(a, w) for a, w in choice.items())


def greedy_columns(hood: Hood) -> None:
    left = hood.need - hood.cover(hood.cols[a][0] for a in hood.agents)
    for a in hood.agents:
        left += hood.cover([hood.cols[a][0]])
        got = hood.best_week(a, left)
        week = hood.cols[a][0] if got is None else got[0]
        if got is not None:
            hood.add(a, week)
        left -= hood.cover([week])


def master_lp(hood: Hood, rounds: int) -> tuple[float, int, dict[int, list[float]]]:
    """Column generation; returns the last LP value, how many agents it splits and each
    agent's weights on its columns (those in that LP)."""
    under, over = hood.costs.under[0], hood.costs.over[0]
    value, split, weights = float("nan"), 0, {}
    for _ in range(rounds):
        lp = pywraplp.Solver.CreateSolver("GLOP")
        x = {(a, c): lp.NumVar(0, 1, "") for a in hood.agents for c in range(len(hood.cols[a]))}
        conv = {a: lp.Add(sum(x[a, c] for c in range(len(hood.cols[a]))) == 1) for a in hood.agents}
        cells = hood.cells()
        rows = {}
        terms = []
        for (p, t), pairs in cells.items():
            u, o = lp.NumVar(0, lp.infinity(), ""), lp.NumVar(0, lp.infinity(), "")
            y = sum(x[pair] for pair in pairs)
            rows[p, t] = (lp.Add(u + y >= hood.need[p, t]), lp.Add(o - y >= -hood.need[p, t]))
            terms += [under * u, over * o]
        terms += [hood.penalty(a, hood.cols[a][c]) * v for (a, c), v in x.items()]
        lp.Minimize(sum(terms))
        lp.Solve()
        value = lp.Objective().Value() + hood.untouched(cells)
        weights = {
            a: [x[a, c].solution_value() for c in range(len(hood.cols[a]))] for a in hood.agents
        }
        split = sum(1 for a in hood.agents if max(weights[a]) < 0.99)
        # the dual price of one more agent per cell, as the "need" that gives that gain
        n = hood.need
        gain = np.where(n >= 1, under, np.where(n <= 0, -over, under * n - over * (1 - n)))
        for (p, t), (ru, ro) in rows.items():
            gain[p, t] = ru.dual_value() - ro.dual_value()
        priced = np.clip((gain + over) / (under + over), 0.0, 1.0)
        new = 0
        for a in hood.agents:
            got = hood.best_week(a, priced)
            if got is not None and got[1] > conv[a].dual_value() + 1e-6:
                new += hood.add(a, got[0])
        if not new:
            break
    return value, split, weights


def dive(hood: Hood, rounds: int, step: int) -> dict[int, Week]:
    """Whole weeks from the LP: fix the agents the LP does not split (or else the ``step``
    heaviest) to their heaviest week, fold them into the coverage, run ``rounds`` of column
    generation for the rest, repeat."""
    agents, need = list(hood.agents), hood.need.copy()
    fixed: dict[int, Week] = {}
    while hood.agents:
        _, _, weights = master_lp(hood, rounds)
        ranked = sorted(hood.agents, key=lambda a: -max(weights[a]))
        whole = [a for a in ranked if max(weights[a]) >= 0.99]
        for a in whole if len(whole) >= step else ranked[:step]:
            fixed[a] = hood.cols[a][int(np.argmax(weights[a]))]
            hood.need = hood.need - hood.cover([fixed[a]])
        hood.agents = [a for a in hood.agents if a not in fixed]
    hood.agents, hood.need = agents, need
    return fixed


def whole_choice(hood: Hood, time_s: float) -> tuple[dict[int, Week], float, float]:
    """CP-SAT over the columns: the best whole choice found, its value and CP-SAT's bound."""
    m = cp_model.CpModel()
    xb = {(a, c): m.new_bool_var("") for a in hood.agents for c in range(len(hood.cols[a]))}
    for a in hood.agents:
        m.add_exactly_one(xb[a, c] for c in range(len(hood.cols[a])))
        for c in range(len(hood.cols[a])):
            m.add_hint(xb[a, c], c == 0)
    cells = hood.cells()
    now = hood.cover(hood.cols[a][0] for a in hood.agents)
    w_under = round(hood.costs.under[0] * 4)
    w_over = round(hood.costs.over[0] * 4)
    terms = []
    for (p, t), pairs in cells.items():
        xs = [xb[pair] for pair in pairs]
        need = round(hood.need[p, t] * CP_SCALE)
        u, o = m.new_int_var(0, 10**6, ""), m.new_int_var(0, 10**6, "")
        m.add(u >= need - CP_SCALE * sum(xs))
        m.add(o >= CP_SCALE * sum(xs) - need)
        y_now = round(now[p, t] * CP_SCALE)
        m.add_hint(u, max(0, need - y_now))
        m.add_hint(o, max(0, y_now - need))
        terms += [w_under * u, w_over * o]
    pens = [round(hood.penalty(a, hood.cols[a][c]) * 4 * CP_SCALE) * v for (a, c), v in xb.items()]
    m.minimize(sum(terms) + sum(pens))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_s
    solver.parameters.num_workers = 2
    solver.solve(m)
    choice = {
        a: next(hood.cols[a][c] for c in range(len(hood.cols[a])) if solver.value(xb[a, c]))
        for a in hood.agents
    }
    scale, fixed = 4 * CP_SCALE, hood.untouched(cells)
    return choice, hood.value(choice), solver.best_objective_bound / scale + fixed


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=300)
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--hoods", type=int, default=6)
    ap.add_argument("--size", type=int, default=25)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--cp-time", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dive", type=int, default=0, help="dive fixing this many agents a step")
    ap.add_argument("--dive-rounds", type=int, default=2)
    args = ap.parse_args(argv)

    bi = make_instance(args.agents, SEED)
    inst = build_instance(bi.requirements, bi.agents, bi.rules, tz=bi.tz, week=bi.week)
    sol = solve_week(
        bi.requirements, bi.agents, bi.rules, tz=bi.tz, week=bi.week,
        params=SolveParams(time_limit_s=args.time_limit, workers=2, seed=0),
    )  # fmt: skip
    print(f"schedule: under {sol.under_h:.2f} h, over {sol.over_h:.2f} h", flush=True)
    weeks: dict[int, Week] = {a: [] for a in range(len(inst.agents))}
    for known in _read_shifts(sol.schedule, inst, "schedule"):
        assert known.placed is not None
        weeks[known.agent].append(known.placed)
    w = Weights()
    slot_h = 0.25
    costs = PolishCosts(
        under=np.full(len(inst.projects), w.under_per_agent_h * slot_h),
        over=np.full(len(inst.projects), w.over_per_agent_h * slot_h),
        switch=w.switch_per_switch,
        preferred_per_slot=w.preferred_start_per_h * slot_h,
        instability_per_slot=w.start_instability_per_h * slot_h,
    )
    rng = np.random.default_rng(args.seed)
    for i in range(args.hoods):
        started = time.perf_counter()
        project = inst.projects[int(rng.integers(len(inst.projects)))]
        holders = [a for a in weeks if project in inst.groups[int(inst.agent_group[a])]]
        agents = sorted(
            rng.choice(holders, size=min(args.size, len(holders)), replace=False).tolist()
        )
        hood = Hood(inst, costs, weeks, agents)
        current = hood.value({a: hood.cols[a][0] for a in agents})
        greedy_columns(hood)
        lp, split, _ = master_lp(hood, args.rounds)
        choice, found, bound = whole_choice(hood, args.cp_time)
        if args.dive:
            dived = dive(hood, args.dive_rounds, args.dive)
            print(f"  dive: {hood.value(dived):.1f}", flush=True)
            if hood.value(dived) < hood.value(choice):
                choice = dived
        better = hood.value(choice) < current - 1e-6
        if better:
            weeks.update(choice)
        print(
            f"neighbourhood {i}: {len(agents)} agents of {project}, "
            f"{sum(len(c) for c in hood.cols.values())} weeks; current {current:.1f}, "
            f"LP {lp:.1f} ({split} agents split), CP-SAT {found:.1f} (bound {bound:.1f}); "
            f"{'improved' if better else 'no better whole choice'}; "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
