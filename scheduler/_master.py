"""Stage 2, first choice — each agent's week from the week-pattern master LP (private).

The master: each agent works at most one week (a convex combination, in the LP) of the weeks
generated so far; each slot's working agents of a skill set are split over that set's open
projects; under- and over-coverage are what is short of and above the requirement, at a cost
per agent-slot and project (``w_u``, ``w_o``; under-coverage alone by default):

    min  sum w_u[p] u[p,t] + w_o[p] o[p,t]
    s.t. u[p,t] + Y[p,t] >= r[p,t]                             (prices pi[p,t])
         u[p,t] + f[p,t] Y[p,t] >= f[p,t] ceil(r[p,t])         (rho[p,t], f = r - floor(r))
         o[p,t] - Y[p,t] >= -r[p,t]                            (sigma[p,t])
         o[p,t] - (1 - f[p,t]) Y[p,t] >= -(1 - f) floor(r)     (tau[p,t])
         sum_p y[g,p,t] = sum_{a in g} sum_c work_c[t] x[a,c]   (skill set g's agents at t)
         sum_c x[a,c] <= 1                                      (agent a)

with ``Y[p,t] = sum_g y[g,p,t]``; where nothing is required but the project is open, ``y``
costs ``w_o`` directly, and where ``w_o`` is 0 the over rows are left out. A skill set's slot
gets a supply row only where its agents have a choice that matters: with one project
required whose over-coverage costs no more than the other open ones', a week's agent-slot
enters that cell's rows itself (one more agent there costs at most that ``w_o``), and with
none required it adds the cheapest open project's ``w_o`` to the week's cost (the same LP:
at 300 agents 9,124 rows instead of 16,780, and 60 s of rounds reach 548.6 agent-h in 41
rounds instead of 555.7 in 38). The second and
fourth rows make the convex hull of the cost over whole ``Y`` (a schedule puts a whole number
of agents on a project at a time), so the master's dual is a Lagrangian bound like
``_bound``'s; the price of an agent-slot at work is ``pi + f rho - sigma - (1 - f) tau``, in
``[-w_o, w_u]``.

Column generation starts from one greedy week per agent (``greedy_weeks``) improved by 3
passes of best responses (each agent's week re-planned against the others': 300 agents, 60 s
of rounds, 541.9 agent-h where the greedy weeks alone gave 546.1), so the first prices
already come from a whole schedule. Each round prices every agent's relaxed best week
(``_bound.relaxed_weeks``, on 2 threads with 2 workers: 300 agents, 0.36 s a round instead
of 0.56, and 542.3 h after 60 s of rounds instead of 546.3) at the master's prices, smoothed
towards the best Lagrangian prices so far (Wentges); the weeks of the 5 % of agents whose
week prices out most join the master, and HiGHS's primal simplex re-solves from the last
basis (a few columns a round keep the re-solve short). Afterwards each agent takes the week
of largest weight — stage 1's pooled counts do not see an agent's own week, and the master
does.

Measured on the 300-agent benchmark week: 58 s of rounds, greedy start included
(``bench/schedule_master_lp.py --agents 300 --rounds 400 --seconds 58``), bring the master's
value to 548.6 agent-h in 41 rounds (31 rounds and 561.9 h while the first LP was solved by
the primal simplex without presolve and every skill set's slot had a supply row); placed
and polished in the benchmark's 120-s solve (``bench/bench_schedule.py``, with the
best-response start, 2 pricing threads and 66 rounds on an Intel Xeon), the heaviest weeks
give 544.5 agent-h of under-coverage (546.9 in 55 rounds on a slower AMD EPYC),
against 571.1 when the rounds started from stage 1's prices with every agent's week added
each round, and 590.3 from the search over stage 1's candidates. Left to run until it stops
by itself, the master converges in 223 rounds (705 s) to an optimum in [514.43, 514.48] h.

The relaxed weeks keep availability, days off, opening, one shift a day, days, contract hours
and rest inside the week exactly; ``solve_week`` uses them only without a previous plan or pins
and checks consecutive days itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import highspy
import numpy as np
from highspy._core import _Highs  # highspy.Highs prints a banner to stdout when first built

from scheduler._agents import Candidate
from scheduler._assign import candidate_of
from scheduler._bound import (
    NEG,
    WeekTables,
    WeekWork,
    agent_types,
    group_values,
    relaxed_week,
    relaxed_weeks,
    slot_terms,
)
from scheduler._instance import FloatArray, Instance, IntArray

SMOOTHING = 0.7  # Wentges: the share of the best Lagrangian prices in the next round's
FRESH_SHARE = 0.05  # the share of agents whose new weeks join the master each round
MIN_FRESH = 10
START_PASSES = 3  # best-response passes over the greedy weeks before the first LP …
START_SHARE = 0.1  # … begun within this share of the time to the deadline


@dataclass(frozen=True, eq=False)
class Week:
    """One agent's relaxed best week at some prices: its value there, its shift types and the
    slots it works (lunch at the cheapest start of its window, breaks on the cheapest slots)."""

    agent: int
    value: float
    types: IntArray
    worked: IntArray


def _worked(
    inst: Instance, tab: WeekTables, types: IntArray, lunch_at: IntArray, m: FloatArray
) -> IntArray:
    """The slots a week of shift ``types`` works: lunch at ``lunch_at`` (per type, from
    ``group_values``), breaks on the slots cheapest by ``m`` (T,)."""
    slots: list[IntArray] = [np.zeros(0, dtype=np.int64)]
    for k in types.tolist():
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
    return np.concatenate(slots).astype(np.int64)


def best_weeks(
    inst: Instance,
    tab: WeekTables,
    prices: FloatArray,
    under_w: FloatArray,
    over_w: FloatArray,
    threads: int = 1,
) -> tuple[float, list[Week]]:
    """The Lagrangian bound (cost of agent-slots) at ``prices`` and each agent's best week
    there (``threads`` for ``relaxed_weeks``). An agent-slot on a project earns its price,
    clipped to ``[-over_w, under_w]`` where something is required and ``-over_w`` elsewhere."""
    req = inst.required
    w_u, w_o = under_w[:, None], over_w[:, None]
    pi = np.where(req > 0, np.clip(prices, -w_o, w_u), -w_o)
    n_g = len(inst.groups)
    values = np.zeros((n_g, inst.n_types))
    lunch_at = np.empty((n_g, inst.n_types), dtype=np.int64)
    m = np.zeros((n_g, req.shape[1]))
    for g in range(n_g):
        m[g] = group_values(inst, tab, g, pi, values[g], lunch_at[g])
    best, chosen = relaxed_weeks(inst, tab, values, threads)
    total = float(slot_terms(req, pi, w_u, w_o).sum() - np.maximum(best, 0.0).sum())
    weeks = [
        Week(a, float(best[a]), chosen[a], _worked(inst, tab, chosen[a], lunch_at[g], m[g]))
        for a, g in enumerate(inst.agent_group.tolist())
        if best[a] > NEG
    ]
    return total, weeks


def greedy_weeks(
    inst: Instance,
    tab: WeekTables,
    under_w: FloatArray,
    over_w: FloatArray,
    *,
    passes: int = 0,
    until: float | None = None,
) -> list[Week]:
    """One week per agent, greedily: agents of fewer skills first, each takes its relaxed best
    week at what one more agent is worth on what the earlier weeks leave (per project and
    slot, with ``c = min(1, max(0, r - y))``: ``under_w * c - over_w * (1 - c)``), on the
    open project where that is largest. Then up to ``passes`` rounds of best responses: each
    agent in turn re-plans its week against all the others' (while ``time.perf_counter()`` is
    before ``until``, if given)."""
    req = inst.required
    cover = np.zeros_like(req)
    values = np.zeros(inst.n_types)
    lunch_at = np.empty(inst.n_types, dtype=np.int64)
    chosen = np.full(8, -1, dtype=np.int64)
    work = WeekWork()
    weeks: dict[int, Week] = {}
    booked: dict[int, tuple[IntArray, IntArray]] = {}
    order = sorted(range(len(inst.agents)), key=lambda a: len(inst.groups[inst.agent_group[a]]))
    for done in range(1 + passes):
        if done and until is not None and time.perf_counter() > until:
            break
        for a in order:
            if a in booked:
                np.subtract.at(cover, booked.pop(a), 1.0)
            g = int(inst.agent_group[a])
            short = np.clip(req - cover, 0.0, 1.0)
            gain = under_w[:, None] * short - over_w[:, None] * (1.0 - short)
            m = group_values(inst, tab, g, gain, values, lunch_at)
            best = relaxed_week(inst, tab, a, values, chosen, work)
            if best <= NEG:
                continue
            types = agent_types(inst, a)[chosen[chosen >= 0]]
            worked = _worked(inst, tab, types, lunch_at, m)
            sk = np.array([inst.pidx(q) for q in inst.groups[g]])
            on = np.where(inst.open_[sk][:, worked], gain[sk][:, worked], -np.inf)
            take = np.isfinite(on.max(axis=0))
            booked[a] = (sk[on.argmax(axis=0)][take], worked[take])
            np.add.at(cover, booked[a], 1.0)
            weeks[a] = Week(a, best, types, worked)
    return [weeks[a] for a in order if a in weeks]


class Master:
    """The master LP in HiGHS: ``u`` (and ``o`` where over-coverage costs) per cell with a
    requirement, ``y`` per skill set, open project and slot where the skill set has a supply
    row, one column per week.
    ``under_w``/``over_w`` (P,): the cost of an agent-slot short of / above the requirement."""

    def __init__(self, inst: Instance, under_w: FloatArray, over_w: FloatArray) -> None:
        req = inst.required
        self.inst = inst
        h = _Highs()
        h.setOptionValue("output_flag", False)
        # the first solve from scratch: dual simplex after presolve (300 agents: 0.7 s, against
        # 13.4 s for the primal simplex without presolve); ``solve`` then switches to the primal
        # simplex without presolve, which re-solves from the last basis as columns are added
        h.setOptionValue("presolve", "on")
        h.setOptionValue("simplex_strategy", 1)
        h.setOptionValue("threads", 1)
        self.h = h
        self.inf = highspy.kHighsInf
        cells = [(int(p), int(t)) for p, t in zip(*np.nonzero(req > 0), strict=True)]
        self.cells = cells
        self.at = tuple(np.array(cells, dtype=np.int64).reshape(-1, 2).T)  # (projects, slots)
        n_c = len(cells)
        r = np.array([req[p, t] for p, t in cells], dtype=np.float64)
        low = np.floor(r)
        self.frac = frac = r - low
        # rows: cover, hull, then (over-coverage priced) over and over-hull rows
        lower = [*r, *(frac * np.ceil(r))]
        self.over_row = np.full(n_c, -1)
        self.hull_over_row = np.full(n_c, -1)
        cols: list[tuple[float, list[tuple[int, float]]]] = []
        for i, (p, _) in enumerate(cells):
            cols.append((float(under_w[p]), [(i, 1.0), (n_c + i, 1.0)]))  # u
            if over_w[p] > 0:
                self.over_row[i] = len(lower)
                lower.append(-r[i])
                o = [(len(lower) - 1, 1.0)]
                if frac[i] > 0:
                    self.hull_over_row[i] = len(lower)
                    lower.append(-(1.0 - frac[i]) * low[i])
                    o.append((len(lower) - 1, 1.0))
                cols.append((float(over_w[p]), o))
        self._rows(len(lower), np.array(lower), np.full(len(lower), self.inf))
        cell = {c: i for i, c in enumerate(cells)}

        def on_cell(i: int) -> list[tuple[int, float]]:
            """An agent-slot's entries in cell ``i`` 's rows."""
            y = [(i, 1.0), (n_c + i, float(frac[i]))]
            if self.over_row[i] >= 0:
                y.append((int(self.over_row[i]), -1.0))
            if self.hull_over_row[i] >= 0:
                y.append((int(self.hull_over_row[i]), -(1.0 - float(frac[i]))))
            return y

        # supply rows only where a skill set's agents have a choice that matters (see the
        # module docstring); elsewhere a week's agent-slot goes into a cell's rows or its cost
        self.supply: dict[tuple[int, int], int] = {}
        self.direct: dict[tuple[int, int], list[tuple[int, float]]] = {}
        self.direct_cost: dict[tuple[int, int], float] = {}
        for g, group in enumerate(inst.groups):
            ps_all = [inst.pidx(q) for q in group]
            for t in range(req.shape[1]):
                ps = [p for p in ps_all if inst.open_[p, t] or req[p, t] > 0]
                if not ps:
                    continue
                need = [p for p in ps if (p, t) in cell]
                cheapest = float(min(over_w[p] for p in ps))
                if not need:
                    if cheapest > 0:
                        self.direct_cost[g, t] = cheapest
                    continue
                if len(need) == 1 and over_w[need[0]] <= cheapest:
                    # one project required, its over-coverage no dearer than the others': all
                    # the skill set's agents may as well count there (one more there costs at
                    # most its over_w, and less under-coverage)
                    self.direct[g, t] = on_cell(cell[need[0], t])
                    continue
                row = len(lower) + len(self.supply)
                self.supply[g, t] = row
                for p in ps:
                    i = cell.get((p, t), -1)
                    if i < 0:  # open, nothing required: over-coverage only
                        cols.append((float(over_w[p]), [(row, 1.0)]))
                    else:
                        cols.append((0.0, [*on_cell(i), (row, 1.0)]))
        n_s = len(self.supply)
        self._rows(n_s, np.zeros(n_s), np.zeros(n_s))  # every working agent is on a project
        self.one = len(lower) + n_s
        n_a = len(inst.agents)
        self._rows(n_a, np.full(n_a, -self.inf), np.ones(n_a))
        self._cols([c for _, c in cols], np.array([w for w, _ in cols]))
        self.first_week = len(cols)
        self.weeks: list[Week] = []
        self.pending: list[list[tuple[int, float]]] = []
        self.pending_cost: list[float] = []

    def _rows(self, n: int, lower: FloatArray, upper: FloatArray) -> None:
        empty = np.zeros(0, dtype=np.int32)
        self.h.addRows(n, lower, upper, 0, np.zeros(n, dtype=np.int32), empty, np.zeros(0))

    def _cols(self, cols: list[list[tuple[int, float]]], cost: FloatArray | None = None) -> None:
        starts: list[int] = []
        index: list[int] = []
        value: list[float] = []
        for col in cols:
            starts.append(len(index))
            index += [i for i, _ in col]
            value += [v for _, v in col]
        n = len(cols)
        self.h.addCols(
            n,
            np.zeros(n) if cost is None else cost,
            np.zeros(n),
            np.full(n, self.inf),
            len(index),
            np.array(starts, dtype=np.int32),
            np.array(index, dtype=np.int32),
            np.array(value, dtype=np.float64),
        )

    def add(self, week: Week) -> None:
        g = int(self.inst.agent_group[week.agent])
        col = [(self.one + week.agent, 1.0)]
        cost = 0.0
        for t in np.unique(week.worked).tolist():
            row = self.supply.get((g, t))
            if row is not None:
                col.append((row, -1.0))
            elif (g, t) in self.direct:
                col += self.direct[g, t]
            else:
                cost += self.direct_cost.get((g, t), 0.0)
        self.pending.append(col)
        self.pending_cost.append(cost)
        self.weeks.append(week)

    def solve(self) -> tuple[float, FloatArray, FloatArray, FloatArray]:
        """The master's value (cost of agent-slots), the prices per project and slot, each agent's
        dual and each week's weight. Raises ``RuntimeError`` if HiGHS finds no optimum."""
        if self.pending:
            self._cols(self.pending, np.array(self.pending_cost))
            self.pending, self.pending_cost = [], []
        self.h.run()
        if self.h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"master LP: {self.h.modelStatusToString(self.h.getModelStatus())}")
        self.h.setOptionValue("presolve", "off")  # keeps the basis warm as columns are added
        self.h.setOptionValue("simplex_strategy", 4)  # primal: the last basis stays feasible
        sol = self.h.getSolution()
        dual = np.asarray(sol.row_dual, dtype=np.float64)
        n_c, frac = len(self.cells), self.frac
        over, hull = self.over_row, self.hull_over_row
        pi = np.zeros_like(self.inst.required)
        pi[self.at] = (
            dual[:n_c]
            + frac * dual[n_c : 2 * n_c]
            - np.where(over >= 0, dual[over], 0.0)
            - np.where(hull >= 0, (1.0 - frac) * dual[hull], 0.0)
        )
        mu: FloatArray = -dual[self.one : self.one + len(self.inst.agents)]
        x: FloatArray = np.asarray(sol.col_value, dtype=np.float64)[self.first_week :]
        return float(self.h.getInfo().objective_function_value), pi, mu, x


@dataclass(frozen=True, eq=False)
class MasterResult:
    weeks: dict[int, Week]  # agent -> the week of largest weight
    rounds: int
    bound: float  # the best Lagrangian bound seen (cost of agent-slots)
    master: float  # the master's last value (cost of agent-slots)


def heaviest_weeks(
    inst: Instance,
    *,
    under_w: FloatArray | None = None,
    over_w: FloatArray | None = None,
    max_rounds: int,
    deadline: float | None,
    threads: int = 1,
    tick: Callable[[int, float, float], None] | None = None,
) -> MasterResult:
    """Column generation from the greedy weeks (``greedy_weeks``) for at most ``max_rounds``
    rounds, and while a round would end before ``deadline`` (``time.perf_counter()`` seconds;
    None: rounds only, deterministic); then each agent's week of largest weight.
    ``tick(round, master value, best Lagrangian bound)`` after each round. ``under_w`` and
    ``over_w`` (P,): the cost of an agent-slot short of and above the requirement (default 1
    and 0: the values are agent-slots of under-coverage).

    Each round adds the weeks of the ``max(MIN_FRESH, agents × FRESH_SHARE)`` agents whose
    week prices out the most: a few columns a round keep the simplex's re-solve short."""
    tab = WeekTables.of(inst)
    n_p = len(inst.projects)
    w_u = np.ones(n_p) if under_w is None else under_w
    w_o = np.zeros(n_p) if over_w is None else over_w
    master = Master(inst, w_u, w_o)
    now = time.perf_counter()
    until = None if deadline is None else now + START_SHARE * (deadline - now)
    for w in greedy_weeks(inst, tab, w_u, w_o, passes=START_PASSES, until=until):
        master.add(w)
    value_lp, prices, mu, x = master.solve()
    best = -np.inf
    center = prices
    n_fresh = max(MIN_FRESH, round(FRESH_SHARE * len(inst.agents)))
    rounds = 0
    last_s = 0.0
    while rounds < max_rounds:
        if deadline is not None and time.perf_counter() + 1.2 * last_s > deadline:
            break
        clock = time.perf_counter()
        trial = prices if best == -np.inf else SMOOTHING * center + (1 - SMOOTHING) * prices
        fresh: list[Week] = []
        # when smoothing finds nothing, the master's own prices
        for at in (trial,) if trial is prices else (trial, prices):
            value, weeks = best_weeks(inst, tab, at, w_u, w_o, threads)
            if value > best:
                best, center = value, at
            gain = {w.agent: w.value - mu[w.agent] for w in weeks}
            fresh = sorted((w for w in weeks if gain[w.agent] > 1e-6), key=lambda w: -gain[w.agent])
            if fresh:
                break
        for w in fresh[:n_fresh]:
            master.add(w)
        value_lp, prices, mu, x = master.solve()
        rounds += 1
        last_s = time.perf_counter() - clock
        if tick is not None:
            tick(rounds, value_lp, best)
        if not fresh or value_lp - best <= 1e-4 * max(value_lp, 1.0):
            break
    chosen: dict[int, Week] = {}
    weight: dict[int, float] = {}
    for w, xw in zip(master.weeks, x.tolist(), strict=True):
        if xw > weight.get(w.agent, -1.0):
            chosen[w.agent], weight[w.agent] = w, xw
    return MasterResult(chosen, rounds, max(best, 0.0), float(value_lp))


def week_shifts(inst: Instance, week: Week) -> dict[int, Candidate]:
    """The week's shifts by day, as stage 2's candidates."""
    return {int(inst.type_day[k]): candidate_of(inst, k) for k in week.types.tolist()}
