"""Batches on Dask (``wfm.batch``): the same results serially and on a LocalCluster of two
worker processes, failures reported by key while the rest finish, a killed worker's tasks
retried without storing anything twice, and the multi-site replan (``wfm replan --sites``).

The cluster tests start a real ``distributed.LocalCluster`` (2 processes, 1 thread each).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from _sites import WEEK
from _sites import write_site as site
from cli_helpers import run

from wfm.batch import Ref, Shared, Task, batch_client, run_graph, seed_for
from wfm.batch.sites import replan_sites
from wfm.errors import InputError

# --------------------------------------------------------------------------------------------
# task functions (module level: the workers import them)


def draw(key: str, n: int, scale: float) -> float:
    """A seeded random sum: the same wherever it runs, because the seed is the key's."""
    rng = np.random.default_rng(seed_for(key, 7))
    return float(rng.normal(size=n).sum() * scale)


def add(a: float, b: float) -> float:
    return a + b


def boom(x: float) -> float:
    raise ValueError(f"no good: {x:.3f}")


def slow_write(folder: str, key: str, seconds: float) -> str:
    """Sleep, then write ``key``'s result atomically (temp file + rename): idempotent by key,
    so a retried task leaves the same one file. A worker killed between its temp file and the
    rename leaves that temp file behind; the retry removes its key's stale ones first."""
    time.sleep(seconds)
    path = Path(folder) / f"{key}.json"
    for stale in Path(folder).glob(f"{key}.*.tmp"):
        stale.unlink(missing_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"key": key, "value": seed_for(key)}))
    os.replace(tmp, path)
    return key


def _graph() -> list[Task]:
    tasks = [Task(f"d{i}", draw, (f"d{i}", 500, Shared("scale"))) for i in range(6)]
    tasks.append(Task("sum", add, (Ref("d0"), Ref("d1"))))
    tasks.append(Task("bad", boom, (Ref("d2"),), about="d2's draw"))
    tasks.append(Task("after-bad", add, (Ref("bad"), 1.0)))
    tasks.append(Task("sum2", add, (Ref("sum"), Ref("d5"))))
    return tasks


def _kill(client: Any, worker: str) -> None:
    """SIGKILL the process of ``worker`` (the test runs on this machine's LocalCluster)."""
    pid = client.run(os.getpid, workers=[worker])[worker]
    os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with batch_client(2) as c:
        assert c is not None
        yield c


# --------------------------------------------------------------------------------------------
# the graph runner


@pytest.mark.dask
def test_serial_and_a_local_cluster_give_the_same_results(client: Any) -> None:
    serial = run_graph(_graph(), shared={"scale": 2.0})
    seen: list[tuple[int, int, str]] = []
    dask = run_graph(
        _graph(), client=client, shared={"scale": 2.0}, progress=lambda *a: seen.append(a)
    )
    assert serial.ran_on == "serial" and dask.ran_on.startswith("tcp://") and dask.workers == 2
    # the local workers run without Dask's MALLOC_TRIM_THRESHOLD_ (see wfm.batch._client)
    assert set(client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values()) == {None}
    assert dask.results == serial.results and set(serial.results) == {
        "d0", "d1", "d2", "d3", "d4", "d5", "sum", "sum2"
    }  # fmt: skip
    assert serial.results["sum"] == serial.results["d0"] + serial.results["d1"]
    assert len(seen) == len(_graph()) and seen[-1][:2] == (len(_graph()), len(_graph()))
    for result in (serial, dask):
        bad, after = result.failures
        assert (bad.key, bad.about, bad.skipped) == ("bad", "d2's draw", False)
        assert bad.error.startswith("ValueError: no good") and "boom" in bad.trace
        assert (after.key, after.skipped) == ("after-bad", True)
        assert "needs bad" in after.error


def _grouped() -> list[Task]:
    """``_graph`` with its tasks in groups: d0–d2 in one, the sums and the failing task (and
    the task that needs it) in another, d3–d5 alone."""
    by_key = {t.key: t for t in _graph()}
    groups = {"d0": "draws", "d1": "draws", "d2": "draws", "sum": "rest", "bad": "rest"}
    groups |= {"after-bad": "rest", "sum2": "rest"}
    return [replace(t, group=groups.get(k)) for k, t in by_key.items()]


@pytest.mark.dask
def test_tasks_in_groups_give_the_same_results_and_failures_per_task(client: Any) -> None:
    serial = run_graph(_graph(), shared={"scale": 2.0})
    seen: list[tuple[int, int, str]] = []
    grouped = run_graph(
        _grouped(), client=client, shared={"scale": 2.0}, progress=lambda *a: seen.append(a)
    )
    assert grouped.results == serial.results and grouped.failures == serial.failures
    assert set(grouped.task_s) == set(serial.task_s)  # times stay per task
    assert [n for n, _, _ in seen] == list(range(1, len(_graph()) + 1))
    assert {k for _, _, k in seen} == {t.key for t in _graph()}
    assert grouped.results["sum"] == serial.results["d0"] + serial.results["d1"]
    # the same groups serially: the same again
    assert run_graph(_grouped(), shared={"scale": 2.0}).results == serial.results


def test_groups_that_would_need_each_other_are_refused() -> None:
    with pytest.raises(InputError, match=r"group 'g'.*starts after it"):
        run_graph(
            [
                Task("a", add, (1, 2), group="g"),
                Task("b", add, (Ref("a"), 2), group="h"),
                Task("c", add, (Ref("b"), 2), group="g"),
            ]
        )
    with pytest.raises(InputError, match="group 'a' is empty or a task's key"):
        run_graph([Task("a", add, (1, 2)), Task("b", add, (1, 2), group="a")])
    # a group may need its own earlier tasks and groups started before it
    ok = run_graph(
        [
            Task("a", add, (1, 2), group="g"),
            Task("b", add, (Ref("a"), 2), group="g"),
            Task("c", add, (Ref("b"), Ref("a")), group="h"),
        ]
    )
    assert ok.results == {"a": 3, "b": 5, "c": 8}


@pytest.mark.dask
def test_shared_objects_are_scattered_once(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    real = client.scatter

    def counting(value: object, **kwargs: Any) -> Any:
        calls.append(value)
        return real(value, **kwargs)

    monkeypatch.setattr(client, "scatter", counting)
    frame = pd.DataFrame({"x": np.arange(10_000.0)})
    tasks = [Task(f"t{i}", _frame_sum, (Shared("frame"), i)) for i in range(8)]
    result = run_graph(tasks, client=client, shared={"frame": frame})
    assert len(calls) == 1 and calls[0] is frame  # one transfer for eight tasks
    assert result.results["t3"] == float(frame["x"].sum()) + 3


def _frame_sum(frame: pd.DataFrame, i: int) -> float:
    return float(frame["x"].sum()) + i


def test_bad_graphs_are_refused() -> None:
    with pytest.raises(InputError, match="repeated"):
        run_graph([Task("a", add, (1, 2)), Task("a", add, (1, 2))])
    with pytest.raises(InputError, match="does not come before it"):
        run_graph([Task("b", add, (Ref("a"), 2)), Task("a", add, (1, 2))])
    with pytest.raises(InputError, match="shared 'x'"):
        run_graph([Task("a", add, (Shared("x"), 2))])


def test_seeds_depend_on_the_key_and_the_base_seed_only() -> None:
    assert seed_for("site/2026-04-27", 0) == seed_for("site/2026-04-27", 0)
    assert seed_for("site/2026-04-27", 0) != seed_for("site/2026-05-04", 0)
    assert seed_for("site/2026-04-27", 0) != seed_for("site/2026-04-27", 1)
    assert 0 <= seed_for("x", 3) < 2**31


@pytest.mark.dask
def test_a_killed_worker_is_replaced_and_its_tasks_retried_without_duplicates(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    tasks = [Task(f"k{i}", slow_write, (str(folder), f"k{i}", 1.0)) for i in range(6)]
    with batch_client(2) as c:
        assert c is not None
        outcome: dict[str, Any] = {}

        def kill_once(done: int, total: int, key: str) -> None:
            if "killed" in outcome:
                return
            busy = [w for w, keys in c.processing().items() if keys]
            if busy:  # SIGKILL a worker process that is running a task (its nanny restarts it)
                _kill(c, busy[0])
                outcome["killed"] = busy[0]

        result = run_graph(tasks, client=c, progress=kill_once)
    assert "killed" in outcome
    assert result.ok and sorted(result.results) == [f"k{i}" for i in range(6)]
    files = sorted(p.name for p in folder.iterdir())
    assert files == [f"k{i}.json" for i in range(6)]  # one file per key, no leftovers
    for i in range(6):
        assert json.loads((folder / f"k{i}.json").read_text())["value"] == seed_for(f"k{i}")


# --------------------------------------------------------------------------------------------
# many sites


OPTIONS: dict[str, Any] = {
    "time_limit_s": 2.0,
    "replications": 3,
    "loop_rounds": 0,
    "forecast_model": "seasonal_naive",
    "pass_on": "mean",
}


def _sites(root: Path) -> Path:
    site(root / "berlin")
    site(root / "leipzig", agents=10, seed=12)  # other calls: a mix-up between sites shows
    return root


@pytest.mark.dask
def test_many_sites_serial_and_on_a_local_cluster_plan_the_same(
    tmp_path: Path, client: Any
) -> None:
    root = _sites(tmp_path / "sites")
    weeks = [WEEK, WEEK + dt.timedelta(days=7)]
    serial = replan_sites(root, weeks, out=tmp_path / "serial", options=OPTIONS)
    from distributed import get_task_stream

    with get_task_stream(client) as stream:
        dask = replan_sites(root, weeks, out=tmp_path / "dask", options=OPTIONS, client=client)
    # the site-weeks handed their per-project forecast and staffing to the cluster
    ran = {str(t["key"]).split("#")[0] for t in stream.data}
    for step in ("forecast", "staff"):
        assert {f"{step}/bank", f"{step}/shop"} <= ran, ran
    assert {"berlin/2026-04-27", "leipzig/2026-05-04"} <= ran
    assert not serial.failures and not dask.failures
    assert [(r.site, r.week) for r in serial.results] == [
        ("berlin", weeks[0]), ("berlin", weeks[1]), ("leipzig", weeks[0]), ("leipzig", weeks[1])
    ]  # fmt: skip
    for a, b in zip(serial.results, dask.results, strict=True):
        assert (a.site, a.week, a.passed, a.failing) == (b.site, b.week, b.passed, b.failing)
        pd.testing.assert_frame_equal(a.summary, b.summary)
        for name in ("schedule.csv", "kpis.csv", "economics.csv"):
            assert (Path(str(a.out)) / name).read_bytes() == (Path(str(b.out)) / name).read_bytes()
    # each site has its own database; a second run reuses every plan and stores nothing
    again = replan_sites(root, weeks, out=tmp_path / "serial", options=OPTIONS)
    assert all(r.reused for r in again.results)
    assert [r.run_id for r in again.results] == [r.run_id for r in serial.results]


def test_a_broken_site_is_reported_and_the_others_finish(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _sites(tmp_path / "sites")
    agents = root / "leipzig" / "agents.csv"
    agents.write_text(agents.read_text().replace("A3,", "A3x,").replace(",8,20,5", ",8,x,5", 1))
    code, out, err = run(
        [
            *["replan", "--sites", str(root), "--week", WEEK.isoformat(), "--weeks", "2"],
            *["--out", str(tmp_path / "out"), "--time-limit", "2", "--replications", "3"],
            *["--loop-rounds", "0", "--forecast-model", "seasonal_naive", "--json"],
        ],
        capsys,
    )
    assert code == 3
    payload = json.loads(out)
    assert [(s["site"], s["week"]) for s in payload["site_weeks"]] == [
        ("berlin", "2026-04-27"),
        ("berlin", "2026-05-04"),
    ]
    failed, skipped = payload["failures"]
    assert failed["key"] == "leipzig/2026-04-27" and not failed["skipped"]
    assert "agents.csv" in failed["error"] and "leipzig" in failed["input"]
    assert skipped["key"] == "leipzig/2026-05-04" and skipped["skipped"]
    assert "wfm: leipzig/2026-04-27" in err


@pytest.mark.dask
def test_a_worker_killed_mid_replan_stores_each_plan_once(tmp_path: Path) -> None:
    root = tmp_path / "sites"
    for name in ("a", "b"):
        site(root / name)
    out = tmp_path / "out"
    with batch_client(2) as c:
        assert c is not None
        killed: list[str] = []

        def killer() -> None:
            # wait until a plan run is running in site a's database, then kill its worker
            db = out / "a" / "wfm.db"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not killed:
                if db.exists():
                    try:
                        engine = sa.create_engine(f"sqlite:///{db}")
                        with engine.connect() as conn:
                            running = conn.execute(
                                sa.text("SELECT count(*) FROM plan_run WHERE status = 'running'")
                            ).scalar_one()
                        engine.dispose()
                    except sa.exc.OperationalError:
                        running = 0
                    if running:
                        for worker, keys in c.processing().items():
                            if any(str(k).startswith("a/") for k in keys):
                                _kill(c, worker)
                                killed.append(worker)
                                return
                time.sleep(0.05)

        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        result = replan_sites(root, [WEEK], out=out, options=OPTIONS, client=c)
        thread.join(timeout=5)
    assert killed, "the worker running site a was not caught mid-run"
    assert not result.failures and [r.site for r in result.results] == ["a", "b"]
    engine = sa.create_engine(f"sqlite:///{out / 'a' / 'wfm.db'}")
    with engine.connect() as conn:
        runs = conn.execute(sa.text("SELECT status FROM plan_run ORDER BY id")).scalars().all()
        drafts = conn.execute(sa.text("SELECT count(*) FROM schedule_version")).scalar_one()
        forecasts = conn.execute(sa.text("SELECT count(*) FROM forecast")).scalar_one()
    engine.dispose()
    assert runs == ["failed", "done"]  # the killed run, marked by the retry; then the plan
    assert drafts == 1 and forecasts == 1  # stored once
    shutil.rmtree(out, ignore_errors=True)
