"""The ACD event loop (private): one replication of one site, compiled with numba.

Calls arrive in time order. A new call goes to the longest-idle agent who may take its project
now (inside a work segment that allows it, holding the skill, with a free slot); otherwise it
waits in its project's FCFS queue. An agent who becomes free inside a work segment takes the
waiting call of the first project, in the agent's skill-priority order, that has one (or, with
``longest_wait_first``, the longest-waiting caller of the projects they may serve). A call in
progress at a segment's end is finished (overrun); no call starts outside a work segment. A
waiting caller abandons at arrival + patience; abandonment is applied lazily (when an agent
looks at the queue, or at the end), which is exact for FCFS queues.

Concurrency (chat): an agent handles up to ``concurrency[p]`` contacts of project ``p`` at once,
each for its own handle time, and never contacts of two projects at once (a voice call, with
concurrency 1, takes the whole agent). An agent with a free slot stays available for the
project in hand only; after taking a contact they go to the back of that project's idle
queue, so new contacts go to wholly idle agents first.

Time is in seconds from the simulation's origin. The loop knows nothing of the scheduler: its
inputs are arrays of calls and of agents' work segments.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

F = TypeVar("F", bound=Callable[..., Any])
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

QUEUED = 0
SERVED = 1
ABANDONED = 2

__all__ = ["ABANDONED", "QUEUED", "SERVED", "run"]


def _jit(func: F) -> F:
    return cast(F, numba.njit(cache=True, nogil=True)(func))


@_jit
def _heap_push(times: FloatArray, keys: IntArray, size: int, t: float, key: int) -> int:
    """Push (t, key) on a binary min-heap of times; returns the new size."""
    i = size
    times[i] = t
    keys[i] = key
    while i > 0:
        parent = (i - 1) // 2
        if times[parent] <= times[i]:
            break
        times[parent], times[i] = times[i], times[parent]
        keys[parent], keys[i] = keys[i], keys[parent]
        i = parent
    return size + 1


@_jit
def _heap_pop(times: FloatArray, keys: IntArray, size: int) -> int:
    """Drop the heap's top; returns the new size."""
    size -= 1
    times[0] = times[size]
    keys[0] = keys[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and times[left + 1] < times[left]:
            child = left + 1
        if times[i] <= times[child]:
            break
        times[i], times[child] = times[child], times[i]
        keys[i], keys[child] = keys[child], keys[i]
        i = child
    return size


@_jit
def _compact(
    agents: IntArray,
    versions: IntArray,
    head: IntArray,
    tail: IntArray,
    p: int,
    idle: npt.NDArray[np.bool_],
    version: IntArray,
) -> None:
    """Drop the stale entries of project ``p``'s idle ring, keeping the valid ones in order
    (at most one per agent, so the ring always has room afterwards)."""
    cap = agents.shape[1]
    keep_a = np.empty(cap, dtype=np.int64)
    keep_v = np.empty(cap, dtype=np.int64)
    n = 0
    for i in range(head[p], tail[p]):
        slot = i % cap
        a = agents[p, slot]
        v = versions[p, slot]
        if idle[a] and version[a] == v:
            keep_a[n] = a
            keep_v[n] = v
            n += 1
    for i in range(n):
        agents[p, i] = keep_a[i]
        versions[p, i] = keep_v[i]
    head[p] = 0
    tail[p] = n


@_jit
def run(
    arrival: FloatArray,
    project: IntArray,
    handle: FloatArray,
    patience: FloatArray,
    n_projects: int,
    seg_start: FloatArray,
    seg_end: FloatArray,
    seg_mask: IntArray,
    agent_first_seg: IntArray,
    agent_n_seg: IntArray,
    agent_priority: IntArray,
    concurrency: IntArray,
    longest_wait_first: bool,
    out_status: IntArray,
    out_answer: FloatArray,
    out_end: FloatArray,
    out_agent: IntArray,
) -> None:
    """Simulate. ``seg_*`` are all agents' work segments, grouped by agent (first index and
    count per agent, sorted by start); ``seg_mask`` is the bitmask of projects a segment allows
    (already intersected with the agent's skills). ``agent_priority[a, k]`` is the agent's k-th
    project in skill-priority order (-1 past the last). A free agent takes the head of the
    first queue with a caller in that order, or with ``longest_wait_first`` the longest-waiting
    caller among the queues they may serve (priority order breaking ties); ``concurrency[p]``
    is how many contacts of project ``p`` an agent handles at once. Outputs per call: status,
    answer time, end time and agent (NaN / -1 when not answered)."""
    n_calls = arrival.shape[0]
    n_agents = agent_first_seg.shape[0]
    # calls by project, in arrival order (arrival is sorted)
    counts = np.zeros(n_projects, dtype=np.int64)
    for c in range(n_calls):
        counts[project[c]] += 1
    offsets = np.zeros(n_projects + 1, dtype=np.int64)
    for p in range(n_projects):
        offsets[p + 1] = offsets[p] + counts[p]
    by_project = np.empty(n_calls, dtype=np.int64)
    fill = offsets[:-1].copy()
    for c in range(n_calls):
        p = project[c]
        by_project[fill[p]] = c
        fill[p] += 1
    head = offsets[:-1].copy()
    for c in range(n_calls):
        out_status[c] = QUEUED
        out_answer[c] = math.nan
        out_end[c] = math.nan
        out_agent[c] = -1
    # agent state: contacts in progress (their end times, all of project active_p)
    max_conc = 1
    for p in range(n_projects):
        max_conc = max(max_conc, concurrency[p])
    seg = agent_first_seg.copy()  # current segment index (absolute)
    n_active = np.zeros(n_agents, dtype=np.int64)
    active_p = np.full(n_agents, -1, dtype=np.int64)
    ends = np.empty((n_agents, max_conc), dtype=np.float64)
    idle = np.zeros(n_agents, dtype=np.bool_)  # available: in a segment with a free slot
    version = np.zeros(n_agents, dtype=np.int64)  # bumps on every change: stale idle entries
    wake_seg = np.full(n_agents, -1, dtype=np.int64)  # segment whose end wake-up is pending
    wake_start = np.full(n_agents, -1, dtype=np.int64)  # segment whose start wake-up is pending
    # idle FIFOs per project: (agent, version) rings
    cap = n_agents * 4 + 16
    idle_agent = np.empty((n_projects, cap), dtype=np.int64)
    idle_version = np.empty((n_projects, cap), dtype=np.int64)
    idle_head = np.zeros(n_projects, dtype=np.int64)
    idle_tail = np.zeros(n_projects, dtype=np.int64)
    # event heap of agents: key = agent (the agent's next moment to act)
    # agents' wake-ups: a contact's end (one per contact in progress), a segment's start, a
    # segment's end (at most two of each of the latter per agent are pending at ties)
    heap_t = np.empty(n_agents * (max_conc + 4) + 16, dtype=np.float64)
    heap_k = np.empty(n_agents * (max_conc + 4) + 16, dtype=np.int64)
    hsize = 0
    for a in range(n_agents):
        if agent_n_seg[a] > 0:
            first = seg_start[agent_first_seg[a]]
            hsize = _heap_push(heap_t, heap_k, hsize, first, a)
    next_call = 0
    while True:
        t_call = arrival[next_call] if next_call < n_calls else math.inf
        t_agent = heap_t[0] if hsize > 0 else math.inf
        if t_call == math.inf and t_agent == math.inf:
            break
        if t_agent <= t_call:
            t = t_agent
            a = heap_k[0]
            hsize = _heap_pop(heap_t, heap_k, hsize)
            # contacts that have ended by now free their slots
            kept = 0
            for k in range(n_active[a]):
                if ends[a, k] > t:
                    ends[a, kept] = ends[a, k]
                    kept += 1
            released = n_active[a] - kept
            n_active[a] = kept
            if kept > 0 and released == 0 and kept >= concurrency[active_p[a]]:
                continue  # a segment wake-up while every slot is taken: a contact's end is later
            idle[a] = False
            version[a] += 1
            last = agent_first_seg[a] + agent_n_seg[a]
            while seg[a] < last and seg_end[seg[a]] <= t:
                seg[a] += 1
            if seg[a] >= last:
                continue  # the agent's day is over
            s = seg[a]
            if t < seg_start[s]:
                if wake_start[a] != s:
                    wake_start[a] = s
                    hsize = _heap_push(heap_t, heap_k, hsize, seg_start[s], a)
                continue
            # inside a work segment: while a slot is free, the head of each allowed queue
            # (abandoned callers dropped), then the first in priority order or the
            # longest-waiting of them; with contacts in hand, only their project's queue
            while True:
                if n_active[a] > 0 and n_active[a] >= concurrency[active_p[a]]:
                    break
                taken = -1
                taken_p = -1
                for k in range(agent_priority.shape[1]):
                    p = agent_priority[a, k]
                    if p < 0:
                        break
                    if (seg_mask[s] >> p) & 1 == 0:
                        continue
                    if n_active[a] > 0 and p != active_p[a]:
                        continue
                    while head[p] < offsets[p + 1]:
                        c = by_project[head[p]]
                        if arrival[c] > t:
                            break
                        if out_status[c] != QUEUED:
                            head[p] += 1
                            continue
                        if arrival[c] + patience[c] <= t:
                            out_status[c] = ABANDONED
                            out_end[c] = arrival[c] + patience[c]
                            head[p] += 1
                            continue
                        if taken < 0 or arrival[c] < arrival[taken]:
                            taken = c
                            taken_p = p
                        break
                    if taken >= 0 and not longest_wait_first:
                        break
                if taken < 0:
                    break
                head[taken_p] += 1
                out_status[taken] = SERVED
                out_answer[taken] = t
                out_end[taken] = t + handle[taken]
                out_agent[taken] = a
                ends[a, n_active[a]] = t + handle[taken]
                n_active[a] += 1
                active_p[a] = taken_p
                hsize = _heap_push(heap_t, heap_k, hsize, t + handle[taken], a)
            if n_active[a] == 0 or n_active[a] < concurrency[active_p[a]]:
                idle[a] = True
                for k in range(agent_priority.shape[1]):
                    p = agent_priority[a, k]
                    if p < 0:
                        break
                    if (seg_mask[s] >> p) & 1 == 0:
                        continue
                    if n_active[a] > 0 and p != active_p[a]:
                        continue
                    if idle_tail[p] - idle_head[p] >= cap:
                        _compact(idle_agent, idle_version, idle_head, idle_tail, p, idle, version)
                    slot = idle_tail[p] % cap
                    idle_agent[p, slot] = a
                    idle_version[p, slot] = version[a]
                    idle_tail[p] += 1
                # wake up at the segment's end to move on to the next one (once per segment)
                if wake_seg[a] != s:
                    wake_seg[a] = s
                    hsize = _heap_push(heap_t, heap_k, hsize, seg_end[s], a)
        else:
            t = t_call
            c = next_call
            next_call += 1
            p = project[c]
            # longest-idle eligible agent: the first valid entry of the project's idle FIFO
            chosen = -1
            while idle_head[p] < idle_tail[p]:
                slot = idle_head[p] % cap
                a = idle_agent[p, slot]
                v = idle_version[p, slot]
                idle_head[p] += 1
                if not idle[a] or version[a] != v:
                    continue
                s = seg[a]
                if seg_end[s] <= t or seg_start[s] > t:
                    continue
                chosen = a
                break
            if chosen >= 0:
                a = chosen
                version[a] += 1
                out_status[c] = SERVED
                out_answer[c] = t
                out_end[c] = t + handle[c]
                out_agent[c] = a
                ends[a, n_active[a]] = t + handle[c]
                n_active[a] += 1
                active_p[a] = p
                hsize = _heap_push(heap_t, heap_k, hsize, t + handle[c], a)
                idle[a] = n_active[a] < concurrency[p]
                if idle[a]:
                    # a free slot left: back of this project's idle queue (only this project)
                    if idle_tail[p] - idle_head[p] >= cap:
                        _compact(idle_agent, idle_version, idle_head, idle_tail, p, idle, version)
                    slot = idle_tail[p] % cap
                    idle_agent[p, slot] = a
                    idle_version[p, slot] = version[a]
                    idle_tail[p] += 1
    # the end: callers still queued abandon at their patience, or are still waiting
    for c in range(n_calls):
        if out_status[c] == QUEUED and patience[c] < math.inf:
            out_status[c] = ABANDONED
            out_end[c] = arrival[c] + patience[c]
