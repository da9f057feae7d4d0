"""Why an agent's week cannot be planned, in words.

Every hard rule of the agent's week is guarded by an assumption literal; CP-SAT's
``sufficient_assumptions_for_infeasibility`` then names a set of rules that cannot hold
together, which becomes a sentence such as "agent A017: min_hours_week 38 cannot be met
with earliest start 08:00, latest end 12:00, at most 5 days a week (shifts 4–10 h)".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ortools.sat.python import cp_model

from scheduler._agents import Candidate, History, add_agent, limits_of
from scheduler._assign import candidate_of
from scheduler._instance import Instance, availability_masks

RULE_ORDER = (
    "min_hours_week",
    "max_hours_week",
    "pinned",
    "days_off",
    "earliest_start",
    "latest_end",
    "opening",
    "max_days_week",
    "min_rest",
    "max_consecutive_days",
)


def _phrase(inst: Instance, a: int, rule: str, history: History) -> str:
    agent = inst.agents[a]
    _, _, max_days = limits_of(inst, a)
    if rule == "min_hours_week":
        return f"min_hours_week {agent.min_hours_week:g}"
    if rule == "max_hours_week":
        return f"max_hours_week {agent.max_hours_week:g}"
    if rule == "days_off":
        days = sorted(d for d in agent.days_off if inst.week <= d < inst.days[7])
        return "days off " + ", ".join(f"{d:%a %d %b}" for d in days)
    if rule == "earliest_start" and agent.earliest_start is not None:
        return f"earliest start {agent.earliest_start:%H:%M}"
    if rule == "latest_end" and agent.latest_end is not None:
        return f"latest end {agent.latest_end:%H:%M}"
    if rule == "opening":
        return "opening hours of " + ", ".join(agent.projects)
    if rule == "max_days_week":
        return f"at most {max_days} days a week"
    if rule == "min_rest":
        text = f"{inst.layout.rest * 15 / 60:g} h rest between shifts"
        if history.last_end is not None:
            text += f" (last week's shift ends {inst.ts(history.last_end):%a %H:%M})"
        return text
    if rule == "max_consecutive_days":
        before = len(history.worked_days)
        return f"at most {inst.max_consecutive_days} days in a row ({before} worked just before)"
    if rule == "pinned":
        return "its pinned shifts"
    return rule


def explain_agent(
    inst: Instance, a: int, history: History, pinned: Sequence[Candidate]
) -> tuple[str, tuple[str, ...]] | None:
    """A sentence naming the rules agent ``a`` cannot keep together (None if it can)."""
    g = int(inst.agent_group[a])
    agent = inst.agents[a]
    type_end = inst.type_start + inst.type_len
    masks = availability_masks(
        agent,
        inst.week,
        inst.days,
        inst.tz,
        inst.t0_s,
        inst.type_day,
        inst.type_start_min,
        type_end,
        inst.type_end_day,
    )
    masks["opening"] = inst.type_chunk_ok[g]
    model = cp_model.CpModel()
    guard = {rule: model.new_bool_var(rule) for rule in RULE_ORDER}
    cands = [candidate_of(inst, k) for k in range(inst.n_types)]
    cands += [c for c in pinned if c not in set(cands)]
    av = add_agent(model, inst, a, cands, history, pinned, guard=guard, name="x")
    for rule, mask in masks.items():
        for k in np.flatnonzero(~mask).tolist():
            model.add(av.y[cands[k]] == 0).only_enforce_if(guard[rule])
    model.add_assumptions(list(guard.values()))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 20.0
    status = solver.solve(model)
    if status != cp_model.INFEASIBLE:
        return None
    core_idx = set(solver.sufficient_assumptions_for_infeasibility())
    names = [r for r in RULE_ORDER if guard[r].index in core_idx]
    lay = inst.layout
    shifts = f"shifts {lay.min_len / 4:g}–{lay.max_len / 4:g} h, paid = shift − lunch"
    phrases = [_phrase(inst, a, r, history) for r in names]
    if names and names[0] in ("min_hours_week", "max_hours_week", "pinned") and len(names) > 1:
        text = f"agent {agent.agent}: {phrases[0]} cannot be met with {', '.join(phrases[1:])}"
    elif names:
        text = f"agent {agent.agent}: {', '.join(phrases)} cannot all hold"
    else:
        text = f"agent {agent.agent}: the shift rules leave no valid week"
    return f"{text} ({shifts})", tuple(names)
