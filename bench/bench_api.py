"""API load on loopback: 100 concurrent clients reading a published week and agents' iCal.

Run by ``make bench`` (``bench/run.sh``) as ``bench/bench_api.py --out BENCHMARKS.md``; it
writes the ``## API load`` section of that file (replacing it if present, leaving every other
section byte-identical).

What it does, all on a temporary SQLite file:

1. Migrates the database, loads the bundled samples (``data/samples``: projects, agents,
   history) with the same service ``wfm serve`` uses, and stores a finished plan run whose
   draft is a schedule for the current week (see ``schedule_frame``), a planner token and one
   agent token per sampled agent (``wfm.services.users.add_user``, as ``wfm users add``).
2. Starts the real server in a subprocess (``python -m wfm.cli serve --db ... --samples
   data/samples --port P``: uvicorn, one process, access log on) and publishes the draft
   through HTTP (``POST /plans/{id}/publish``).
3. Runs 100 clients (``httpx.AsyncClient``, one connection each, one process): 20 read
   ``GET /schedules/{week}`` with the planner's token (a supervisor's screen), 80 read their
   own ``GET /agents/{agent}/schedule.ics`` (no query: the URL a calendar app subscribes
   to) with their agent's token. No ``If-None-Match``: every answer is a full body. Each
   client's first request is a warm-up, reported apart; then each run is bounded by a
   duration and a request count, whichever comes first:

   (a) closed loop: each client sends its next request as soon as the answer is read;
   (b) think time: each client waits uniform 0.5–1.5 s (seeded) after each answer (~100
       requests/s in all: calendar apps and screens poll).

   Both again with the response cache off (``WFM_RESPONSE_CACHE_BYTES=0``) to show what it
   buys. An error is any status other than 200/304, or an exception (timeout, refused).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pandas as pd
from sqlmodel import Session

from wfm.db import make_engine, upgrade
from wfm.db import repositories as repo
from wfm.db.tables import RunStatus
from wfm.domain import Agent
from wfm.services.catalog import load_site_folder
from wfm.services.sitedata import load_site_data
from wfm.services.users import add_user

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
SECTION = "## API load"
CLIENTS = 100
WEEK_CLIENTS = 20
SEED = 20260427


# --------------------------------------------------------------------------------------------
# the published week


def _local(day: dt.date, at: dt.time, tz: str) -> pd.Timestamp:
    naive = pd.Timestamp(dt.datetime.combine(day, at))
    return naive.tz_localize(tz, nonexistent="shift_forward", ambiguous=True)


def schedule_frame(agents: list[Agent], week: dt.date, tz: str, seed: int) -> pd.DataFrame:
    """A realistic schedule frame for ``week``: not an optimised plan, the shape of one.

    Every agent works ``min(max_days_week, 5)`` days of the week (Monday first, skipping
    days off), shifts of their weekly maximum hours spread evenly (4–10 paid hours, on the
    quarter-hour), starting at their preferred start, else their earliest start, else a
    seeded quarter-hour between 07:00 and 12:00 (moved earlier to end by their latest
    end). A shift is work on the first skill, a 15-min break after about a quarter, a
    30-min lunch at the middle of shifts over 6 h, another 15-min break at about three
    quarters; after the lunch, agents with two skills or more work on the second."""
    rng = np.random.default_rng(seed)
    q = dt.timedelta(minutes=15)
    rows: list[dict[str, Any]] = []
    for agent in agents:
        days = [
            week + dt.timedelta(days=d)
            for d in range(7)
            if week + dt.timedelta(days=d) not in agent.days_off
        ][: min(agent.max_days_week, 5)]
        hours = min(max(agent.max_hours_week / max(len(days), 1), 4.0), 10.0)
        length = q * round(hours * 4)
        start = agent.preferred_start or agent.earliest_start
        if start is None:
            minutes = 7 * 60 + 15 * int(rng.integers(0, 21))
            start = dt.time(minutes // 60, minutes % 60)
        if agent.latest_end is not None:
            end_min = agent.latest_end.hour * 60 + agent.latest_end.minute
            start_min = start.hour * 60 + start.minute
            if start_min < end_min < start_min + length.seconds // 60:
                moved = max(end_min - length.seconds // 60, 0)
                start = dt.time(moved // 60, moved % 60)
        projects = [s.project for s in agent.skills]
        for day in days:
            begin = _local(day, start, tz)
            pieces: list[tuple[dt.timedelta, str]] = []  # (length, activity)
            quarters = round(length / q)
            if quarters > 24:  # over 6 h: break, lunch, break
                first = quarters // 4
                lunch_at = quarters // 2
                second = (3 * quarters) // 4
                pieces = [
                    (q * first, "work"),
                    (q, "break"),
                    (q * (lunch_at - first - 1), "work"),
                    (q * 2, "lunch"),
                    (q * (second - lunch_at - 2), "work"),
                    (q, "break"),
                    (q * (quarters - second - 1), "work"),
                ]
            else:
                half = quarters // 2
                pieces = [(q * half, "work"), (q, "break"), (q * (quarters - half - 1), "work")]
            at = begin
            after_lunch = False
            for span, activity in pieces:
                if span <= dt.timedelta(0):
                    continue
                after_lunch = after_lunch or activity == "lunch"
                project = None
                if activity == "work":
                    project = projects[1] if after_lunch and len(projects) > 1 else projects[0]
                rows.append(
                    {
                        "agent": agent.agent,
                        "start": at,
                        "end": at + span,
                        "activity": activity,
                        "project": project,
                    }
                )
                at = at + span
    return pd.DataFrame(rows)


@dataclass
class Fixture:
    url: str
    week: dt.date
    run_id: int
    planner: str
    agent_tokens: dict[str, str]
    segments: int
    agents: int


def prepare(folder: Path, week: dt.date, n_agent_clients: int, seed: int) -> Fixture:
    url = f"sqlite:///{folder / 'wfm.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        load_site_folder(engine, SAMPLES)
        site = load_site_data(SAMPLES)
        frame = schedule_frame(list(site.agents), week, site.site.tz, seed)
        with Session(engine, expire_on_commit=False) as s, s.begin():
            run = repo.create_plan_run(s, week=week, inputs_hash="bench", code_version="bench")
            assert run.id is not None
            repo.save_schedule_draft(s, week=week, frame=frame, plan_run_id=run.id)
            repo.update_plan_run(s, run_id=run.id, status=RunStatus.DONE, progress=1.0)
            run_id = run.id
        planner = add_user(engine, name="bench-planner", role="planner").token
        picked = random.Random(seed).sample(sorted(a.agent for a in site.agents), n_agent_clients)
        tokens = {
            a: add_user(engine, name=f"bench-{a}", role="agent", agent=a).token for a in picked
        }
        return Fixture(
            url=url,
            week=week,
            run_id=run_id,
            planner=planner,
            agent_tokens=tokens,
            segments=len(frame),
            agents=len(site.agents),
        )
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------------
# the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """``wfm serve`` in a subprocess, stopped (SIGINT, then SIGKILL) on exit."""

    def __init__(self, fixture: Fixture, folder: Path, *, cache_bytes: int | None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.pop("WFM_RESPONSE_CACHE_BYTES", None)
        if cache_bytes is not None:
            env["WFM_RESPONSE_CACHE_BYTES"] = str(cache_bytes)
        self.log = (folder / f"server-{self.port}.log").open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wfm.cli",
                "serve",
                "--db",
                fixture.url,
                "--samples",
                str(SAMPLES),
                "--port",
                str(self.port),
            ],
            cwd=folder,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start (exit code {self.proc.poll()})")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        self.log.close()


# --------------------------------------------------------------------------------------------
# the load


@dataclass
class Tally:
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    not_modified: int = 0
    bytes: int = 0
    first_error: str = ""


@dataclass
class RunResult:
    name: str
    wall_s: float
    by_endpoint: dict[str, Tally]
    warmup: dict[str, Tally]
    stopped_by: str


ENDPOINTS = ("GET /schedules/{week}", "GET /agents/{agent}/schedule.ics")


async def run_load(
    base: str,
    fixture: Fixture,
    *,
    name: str,
    think_s: tuple[float, float] | None,
    duration_s: float,
    max_requests: int,
    seed: int,
) -> RunResult:
    agents = list(fixture.agent_tokens)
    clients: list[tuple[str, str, str]] = []  # (endpoint, path, token)
    for _ in range(WEEK_CLIENTS):
        clients.append((ENDPOINTS[0], f"/schedules/{fixture.week}", fixture.planner))
    for agent in agents:
        clients.append((ENDPOINTS[1], f"/agents/{agent}/schedule.ics", fixture.agent_tokens[agent]))
    results = {e: Tally() for e in ENDPOINTS}
    warmup = {e: Tally() for e in ENDPOINTS}
    sent = 0
    stop = asyncio.Event()
    start_line = asyncio.Event()

    async def one(client: httpx.AsyncClient, endpoint: str, path: str, into: Tally) -> None:
        t0 = time.perf_counter()
        try:
            response = await client.get(path)
            body = response.content
            ok = response.status_code in (200, 304)
        except Exception as exc:  # any failure of the request counts as an error
            ok, body = False, b""
            into.first_error = into.first_error or f"{type(exc).__name__}: {exc}"
            response = None
        into.latencies_s.append(time.perf_counter() - t0)
        into.bytes += len(body)
        if not ok:
            into.errors += 1
            if response is not None and not into.first_error:
                into.first_error = f"HTTP {response.status_code}: {response.text[:200]}"
        elif response is not None and response.status_code == 304:
            into.not_modified += 1

    async def client_loop(index: int, endpoint: str, path: str, token: str) -> None:
        nonlocal sent
        rng = random.Random(seed * 1000 + index)
        async with httpx.AsyncClient(
            base_url=base,
            headers={"Authorization": f"Bearer {token}"},
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            timeout=httpx.Timeout(30.0),
        ) as client:
            await one(client, endpoint, path, warmup[endpoint])
            await start_line.wait()
            if think_s is not None:  # spread the clients' first requests over a think time
                await asyncio.sleep(rng.uniform(0, think_s[1]))
            while not stop.is_set():
                if sent >= max_requests:
                    stop.set()
                    break
                sent += 1
                await one(client, endpoint, path, results[endpoint])
                if think_s is not None:
                    await asyncio.sleep(rng.uniform(*think_s))

    tasks = [asyncio.create_task(client_loop(i, *c)) for i, c in enumerate(clients)]
    while sum(len(t.latencies_s) for t in warmup.values()) < len(clients):
        await asyncio.sleep(0.05)
        if all(t.done() for t in tasks):
            break
    started = time.perf_counter()
    start_line.set()
    stopped_by = "duration"
    try:
        await asyncio.wait_for(stop.wait(), timeout=duration_s)
        stopped_by = "request count"
    except TimeoutError:
        stop.set()
    # the requests in flight finish (each bounded by its 30 s timeout)
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    wall = time.perf_counter() - started
    return RunResult(
        name=name, wall_s=wall, by_endpoint=results, warmup=warmup, stopped_by=stopped_by
    )


# --------------------------------------------------------------------------------------------
# what a cache miss of the week costs, by JSON encoder


def render_costs(fixture: Fixture) -> dict[str, float]:
    """Best-of-7 milliseconds, in this process, of rendering the published week's body:
    building the response model from the stored version, and encoding it with pydantic's
    serializer (what the API uses), with ``model_dump`` + ``json.dumps``, and with
    FastAPI's ``jsonable_encoder`` + ``json.dumps`` (FastAPI's generic path)."""
    import json

    from fastapi.encoders import jsonable_encoder

    from api.models import ScheduleOut, SegmentOut
    from wfm.services import schedules

    engine = make_engine(fixture.url)
    try:
        found = schedules.published_schedule(engine, week=fixture.week)

        def build() -> ScheduleOut:
            return ScheduleOut(
                schedule_id=found.schedule_id,
                week=found.week,
                version=found.version,
                versions=list(found.versions),
                etag=found.etag,
                plan_run_id=found.plan_run_id,
                published_from_id=found.published_from_id,
                created_at=found.created_at,
                segments=[
                    SegmentOut(
                        agent=x.agent,
                        start=x.start,
                        end=x.end,
                        activity=x.activity,
                        project=x.project,
                    )
                    for x in found.segments
                ],
            )

        model = build()
        compact = (",", ":")  # json.dumps separators: no spaces
        work: dict[str, Callable[[], object]] = {
            "read the version (segments cached)": lambda: schedules.published_schedule(
                engine, week=fixture.week
            ),
            "build the response model": build,
            "pydantic `model_dump_json` (used)": model.model_dump_json,
            "`model_dump(mode='json')` + `json.dumps`": lambda: json.dumps(
                model.model_dump(mode="json"), separators=compact
            ),
            "FastAPI `jsonable_encoder` + `json.dumps`": lambda: json.dumps(
                jsonable_encoder(model), separators=compact
            ),
        }
        out: dict[str, float] = {}
        for name, call in work.items():
            times = []
            for _ in range(7):
                t0 = time.perf_counter()
                call()
                times.append(time.perf_counter() - t0)
            out[name] = min(times) * 1000
        out["bytes"] = float(len(model.model_dump_json()))
        return out
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------------
# report


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) * 1000 if values else float("nan")


def row(label: str, endpoint: str, tally: Tally, wall_s: float) -> str:
    n = len(tally.latencies_s)
    return (
        f"| {label} | `{endpoint}` | {n:,} | {tally.errors} | {pct(tally.latencies_s, 50):.1f} "
        f"| {pct(tally.latencies_s, 95):.1f} | {pct(tally.latencies_s, 99):.1f} "
        f"| {pct(tally.latencies_s, 100):.1f} | {n / wall_s:,.0f} "
        f"| {tally.bytes / max(n, 1) / 1024:,.1f} |"
    )


def combined(result: RunResult) -> Tally:
    out = Tally()
    for t in result.by_endpoint.values():
        out.latencies_s += t.latencies_s
        out.errors += t.errors
        out.bytes += t.bytes
    return out


def table(results: list[RunResult]) -> list[str]:
    lines = [
        "| run | endpoint | requests | errors | p50 ms | p95 ms | p99 ms | max ms | req/s "
        "| KiB/answer |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        for endpoint in ENDPOINTS:
            lines.append(row(r.name, endpoint, r.by_endpoint[endpoint], r.wall_s))
        lines.append(row(r.name, "both", combined(r), r.wall_s).replace("`both`", "**both**"))
    return lines


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    libs = ", ".join(
        f"{p} {version(p)}"
        for p in ("fastapi", "starlette", "uvicorn", "pydantic", "sqlalchemy", "httpx", "icalendar")
    )
    return (
        f"{cpu}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; {libs}; load average over the last minute "
        f"{os.getloadavg()[0]:.2f} (server and load generator share the cores)"
    )


def write_section(out: Path, text: str) -> None:
    """Replace the ``## API load`` section of ``out`` (up to the next ``## `` heading) or
    append it; every other byte stays as it was."""
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    found = re.search(rf"^{re.escape(SECTION)}\n", old, flags=re.MULTILINE)
    if found is None:
        new = (
            old
            + ("" if old.endswith("\n\n") or not old else "\n" if old.endswith("\n") else "\n\n")
            + text
        )
    else:
        following = re.search(r"^## ", old[found.end() :], flags=re.MULTILINE)
        end = len(old) if following is None else found.end() + following.start()
        new = old[: found.start()] + text + ("\n" if following is not None else "") + old[end:]
    out.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write the section into this file")
    parser.add_argument("--closed-s", type=float, default=20.0, help="closed loop: duration")
    parser.add_argument("--think-s", type=float, default=30.0, help="think time: duration")
    parser.add_argument("--max-requests", type=int, default=50_000, help="per run")
    parser.add_argument("--no-cache-runs", action="store_true", help="skip the cache-off runs")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    when = dt.datetime.now(dt.UTC)
    site = load_site_data(SAMPLES)
    today = dt.datetime.now(ZoneInfo(site.site.tz)).date()
    week = today - dt.timedelta(days=today.weekday())
    plan: list[tuple[str, int | None, tuple[float, float] | None, float]] = [
        ("(a) closed loop", None, None, args.closed_s),
        ("(b) think 0.5–1.5 s", None, (0.5, 1.5), args.think_s),
    ]
    if not args.no_cache_runs:
        plan += [
            ("(a) closed loop, cache off", 0, None, args.closed_s),
            ("(b) think 0.5–1.5 s, cache off", 0, (0.5, 1.5), args.think_s),
        ]
    results: list[RunResult] = []
    with tempfile.TemporaryDirectory(prefix="wfm-bench-api-") as tmp:
        folder = Path(tmp)
        fixture = prepare(folder, week, CLIENTS - WEEK_CLIENTS, SEED)
        published = False
        for name, cache_bytes, think, duration in plan:
            server = Server(fixture, folder, cache_bytes=cache_bytes)
            try:
                server.wait_ready()
                if not published:
                    done = httpx.post(
                        f"{server.base}/plans/{fixture.run_id}/publish",
                        headers={
                            "Authorization": f"Bearer {fixture.planner}",
                            "Idempotency-Key": "bench",
                        },
                        timeout=60,
                    )
                    if done.status_code != 201:
                        raise RuntimeError(f"publish: HTTP {done.status_code} {done.text}")
                    published = True
                result = asyncio.run(
                    run_load(
                        server.base,
                        fixture,
                        name=name,
                        think_s=think,
                        duration_s=duration,
                        max_requests=args.max_requests,
                        seed=SEED,
                    )
                )
            finally:
                server.stop()
            results.append(result)
            print(
                f"{name}: {sum(len(t.latencies_s) for t in result.by_endpoint.values())} "
                f"requests in {result.wall_s:.1f} s",
                flush=True,
            )
        costs = render_costs(fixture)
    text = report(args, when, fixture, results, costs, time.perf_counter() - began)
    print(text)
    if args.out is not None:
        write_section(args.out, text)
    return 0


def report(
    args: argparse.Namespace,
    when: dt.datetime,
    fixture: Fixture,
    results: list[RunResult],
    costs: dict[str, float],
    total_s: float,
) -> str:
    by_name = {r.name: r for r in results}
    closed, think = by_name["(a) closed loop"], by_name["(b) think 0.5–1.5 s"]
    goal_p95 = 50.0
    think_all, closed_all = combined(think), combined(closed)
    think_p95 = max(pct(t.latencies_s, 95) for t in think.by_endpoint.values())
    closed_p95 = max(pct(t.latencies_s, 95) for t in closed.by_endpoint.values())
    errors = sum(combined(r).errors for r in results)
    first_errors = [
        f"{r.name} {e}: {t.first_error}"
        for r in results
        for e, t in {**r.by_endpoint}.items()
        if t.first_error
    ]
    warm = [t for r in results[:1] for t in r.warmup.values()]
    lines = [
        SECTION,
        "",
        f"`.venv-bench/bin/python bench/bench_api.py --out BENCHMARKS.md` (run by `make bench`), "
        f"{when:%Y-%m-%d %H:%M} UTC. On loopback, a temporary SQLite file (WAL): the bundled "
        f"samples loaded by the service `wfm serve` uses ({fixture.agents} agents), and one "
        f"published week, {fixture.week} (the current week, so that the calendar's default "
        f"range holds it): a plan run's draft of {fixture.segments:,} segments published "
        "through `POST /plans/{id}/publish`. The draft is not an optimised plan but the "
        "shape of one (`schedule_frame` in the script): each agent works up to 5 days of "
        "their maximum weekly hours, 4–10 h shifts at their preferred or earliest start "
        "(else a seeded quarter-hour 07:00–12:00), work on their first skill, a 15-min "
        "break, a 30-min lunch over 6 h and another break, the second skill after lunch "
        "(the scheduler's output for the sample week has about 3,850 segments; this one "
        "is larger). The server is the real one: `python -m wfm.cli serve --db ... "
        "--samples data/samples --port P` (uvicorn, one process, access log on), "
        "restarted for each run.",
        "",
        f"Clients: {CLIENTS} `httpx.AsyncClient`s in one process, one connection each: "
        f"{WEEK_CLIENTS} read `GET /schedules/{{week}}` with a planner's token (a "
        f"supervisor's screen), {CLIENTS - WEEK_CLIENTS} read their own `GET "
        "/agents/{agent}/schedule.ics` (no query string: the URL a calendar subscribes "
        "to) with their own agent token (`wfm users add`), 80 agents sampled with seed "
        f"{SEED}. No `If-None-Match`: every answer is a full body. Each client's first "
        "request is a warm-up, not counted; then (a) closed loop: the next request as "
        "soon as the answer is read, for "
        f"{args.closed_s:.0f} s; (b) think time: each client waits uniform 0.5–1.5 s "
        f"after each answer (about 100 requests/s in all), for {args.think_s:.0f} s; "
        f"both stop at {args.max_requests:,} requests at most. Latency: from sending the "
        "request to having read the whole body, in the client. Error: any status but "
        "200/304, or an exception (timeout 30 s). `cache off`: the same runs with "
        "`WFM_RESPONSE_CACHE_BYTES=0` (every answer rendered from the database).",
        "",
        *table(results),
        "",
        "First request of each client (warm-up: the server's caches are empty, 100 "
        "requests arrive at once): "
        + "; ".join(
            f"`{e}` p50 {pct(t.latencies_s, 50):.0f} ms, max {pct(t.latencies_s, 100):.0f} ms"
            for e, t in zip(ENDPOINTS, warm, strict=True)
        )
        + ".",
        "",
        f"What the response cache saves, per version of the week "
        f"({costs['bytes'] / 1024:,.0f} KiB of JSON; in the benchmark's process, best of 7): "
        + ", ".join(f"{k} {v:.1f} ms" for k, v in costs.items() if k != "bytes")
        + ". The API encodes with pydantic's serializer, the fastest JSON encoder the "
        "stack has (orjson is not a dependency; it would still need the `model_dump` "
        "dicts); with the cache it runs once per version, not per request.",
        "",
        "The goal is judged on run (b): clients that poll with a pause, as calendar apps "
        "and supervisors' screens do. In a closed loop with no think time, 100 clients "
        "always have a request waiting, so each request's latency is mostly its wait "
        "behind the others (Little's law: latency ≈ 100 ÷ throughput) on two cores "
        "shared by the server and the load generator: run (a) measures the throughput "
        "ceiling, not the latency a reader sees.",
        "",
        f"- Goal p95 < 50 ms at 100 polling clients (run (b), the slower endpoint): "
        f"**{'met' if think_p95 < goal_p95 else 'not met'}** ({think_p95:.1f} ms; both "
        f"endpoints together {pct(think_all.latencies_s, 95):.1f} ms).",
        f"- Goal zero errors (every run above): **{'met' if errors == 0 else 'not met'}** "
        f"({errors}).",
        f"- For comparison, the same p95 threshold on the closed loop (a): "
        f"**{'met' if closed_p95 < goal_p95 else 'not met'}** ({closed_p95:.1f} ms, slower "
        f"endpoint; {pct(closed_all.latencies_s, 95):.1f} ms together, at "
        f"{len(closed_all.latencies_s) / closed.wall_s:,.0f} requests/s).",
    ]
    if first_errors:
        lines += ["", "First error of each kind: " + "; ".join(first_errors) + "."]
    lines += [
        "",
        f"Machine: {machine()}. Benchmark run time {total_s:.0f} s.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
