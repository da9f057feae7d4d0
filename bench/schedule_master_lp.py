"""How far the shift optimizer's lower bound could rise, and what the master LP's weeks are
worth with more time: column generation on the week-pattern master LP of the benchmark week
(``scheduler._master``, stage 2 of the optimizer) run for many rounds (a research tool, not
run by ``make bench``: it takes minutes).

Every round prints the best Lagrangian bound so far (a valid lower bound on under-coverage)
and the master's value (an upper bound on the LP's optimum, the best bound any per-agent
decomposition can give): the LP optimum lies between the two.

``--round``: afterwards ``solve_week`` runs with these rounds' heaviest weeks as its stage 2
(stage 1 and the bound, then lunch, breaks and projects placed per day, then the polish), and
the schedule is checked by the independent validator.

    .venv/bin/python bench/schedule_master_lp.py --agents 150 --rounds 40 --round
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from schedule_instance import make_instance

import scheduler.model as engine
from scheduler import SolveParams, Weights, solve_week
from scheduler._counts import solve_counts
from scheduler._instance import build_instance
from scheduler._master import MasterResult, heaviest_weeks
from scheduler.model import _costs
from scheduler.validator import validate_schedule

SEED = 20260427
H_PER_SLOT = 0.25


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--seconds", type=float, default=None, help="stop the rounds after")
    parser.add_argument("--round", action="store_true", help="plan the LP's heaviest weeks")
    parser.add_argument("--time-limit", type=float, default=120.0, help="solve_week's, --round")
    args = parser.parse_args(argv)
    b = make_instance(args.agents, args.seed)
    inst = build_instance(b.requirements, b.agents, b.rules, tz=b.tz, week=b.week)
    under_cost, over_cost = _costs(inst, Weights())
    counts = solve_counts(inst, under_cost=under_cost, over_cost=over_cost, time_s=30)
    q = H_PER_SLOT
    print(f"{args.agents} agents; LP bound of stage 1: {counts.under_lb_slots * q:.2f} h")
    clock = time.perf_counter()

    def show(r: int, master: float, best: float) -> None:
        print(
            f"round {r:3d}: best Lagrangian {best * q:8.2f} h, master {master * q:8.2f} h, "
            f"{time.perf_counter() - clock:6.1f} s",
            flush=True,
        )

    deadline = None if args.seconds is None else time.perf_counter() + args.seconds
    result = heaviest_weeks(inst, max_rounds=args.rounds, deadline=deadline, tick=show)
    print(f"LP optimum of the master in [{result.bound * q:.2f}, {result.master * q:.2f}] h")
    if not args.round:
        return 0

    def these_weeks(*_: Any, **__: Any) -> MasterResult:  # stage 2's rounds, done already
        return result

    # solve_week looks heaviest_weeks up in scheduler.model's namespace at each call (the
    # module imports it without re-exporting it, hence the namespace rather than the attribute)
    vars(engine)["heaviest_weeks"] = these_weeks
    clock = time.perf_counter()
    sol = solve_week(
        b.requirements,
        b.agents,
        b.rules,
        tz=b.tz,
        week=b.week,
        params=SolveParams(time_limit_s=args.time_limit, workers=2, seed=0),
    )
    wall = time.perf_counter() - clock
    report = validate_schedule(
        sol.schedule, b.agents, b.rules, tz=b.tz, requirements=b.requirements
    )
    print(
        f"the LP's heaviest weeks, placed and polished: under {report.under_h:.2f} h "
        f"(bound {sol.under_lower_bound_h:.2f} h), over {report.over_h:.2f} h, "
        f"{len(report.violations)} violations, {wall:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
