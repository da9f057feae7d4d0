"""The nightly replan of many sites and weeks as one batch (``wfm replan --sites DIR``).

``replan_sites(root, weeks, ...)`` runs ``wfm.services.replan.replan`` once per site and week,
each a task of ``wfm.batch.run_graph``: serially, on a LocalCluster or on a remote Dask
scheduler. Sites are the sub-folders of ``root`` that hold a ``projects.csv`` (each like
``data/samples``); each has its own database (``db`` with ``{site}`` in it, by default
``sqlite:///OUT/{site}/wfm.db``) and its files under ``OUT/<site>/<week>/``.

- A site's weeks run in order (week 2 is warm-started from what week 1 published); different
  sites run in parallel.
- A site-week's seed is ``seed_for("<site>/<week>", seed)``: the same plan wherever it runs.
- A site-week is a task that runs one plan run (sync → forecast → requirements → schedule →
  simulation → loop → economics → store, stored in one transaction at its end). On a Dask
  worker it hands its per-project work to the same cluster (``worker_client``): one task per
  project's forecast and one per project's staffing, as ``PlanRunner`` does serially
  elsewhere; the schedule is the site-week's own. A sweep (``wfm.batch.sweep``) splits by
  scenario, project and simulation replications.
- Faults: a site-week that fails is reported with its key and input and its later weeks are
  skipped; the other sites finish. A worker killed mid-run has its task retried by Dask: the
  retry finds the killed run ``running`` with the same inputs, marks it failed and plans
  again, so nothing is stored twice (and a run already done is reused, not redone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from wfm.batch._graph import BatchProgress, Ref, Task, TaskFailure, run_graph, seed_for
from wfm.errors import InputError

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["SiteWeekResult", "SitesResult", "list_sites", "replan_sites", "site_db_url"]

MAX_WEEKS = 8


@dataclass(frozen=True)
class SiteWeekResult:
    """One site-week: the plan run, whether it was reused, the verdict, the publication's
    version (if published), the per-project summary (``wfm.services.replan.SUMMARY_COLUMNS``),
    where its files are and seconds per step."""

    site: str
    week: dt.date
    run_id: int
    reused: bool
    passed: bool
    failing: tuple[str, ...]
    published_version: int | None
    summary: pd.DataFrame
    out: str | None
    timings_s: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SitesResult:
    """Every site-week that finished, the failures, and where and how long the batch ran."""

    results: tuple[SiteWeekResult, ...]
    failures: tuple[TaskFailure, ...]
    wall_s: float
    ran_on: str
    workers: int
    task_s: Mapping[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Every site-week ran and passes its targets."""
        return not self.failures and all(r.passed for r in self.results)


def list_sites(root: Path) -> tuple[str, ...]:
    """Names of ``root`` 's sub-folders with a ``projects.csv``, sorted."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"sites: {root} is not a folder", field="sites", expected="a folder")
    sites = tuple(sorted(p.name for p in root.iterdir() if (p / "projects.csv").is_file()))
    if not sites:
        raise InputError(
            f"sites: {root} has no sub-folder with a projects.csv",
            field="sites",
            expected="one sub-folder per site, each like data/samples",
        )
    return sites


def site_db_url(template: str | None, site: str, out: Path) -> str:
    """The database URL of ``site``: ``template`` with ``{site}`` replaced, by default a SQLite
    file ``OUT/<site>/wfm.db`` (its folder is created)."""
    if template is None:
        folder = Path(out) / site
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder / 'wfm.db'}"
    return template.replace("{site}", site)


def _on_a_worker() -> bool:
    """Whether this runs as a task on a Dask worker."""
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


def _task(
    data: str, week: dt.date, db_url: str, out: str | None, options: Mapping[str, Any], _: Any
) -> SiteWeekResult:
    """One site-week (runs on a worker): open its database, replan, close it."""
    from wfm.services._db import open_database
    from wfm.services.replan import ReplanOptions, replan

    replan_options = ReplanOptions(
        data=Path(data), week=week, out=None if out is None else Path(out), **options
    )
    engine = open_database(db_url)
    try:
        if _on_a_worker():
            from distributed import worker_client

            # the plan run's forecast and staffing tasks go to the same cluster (this task
            # leaves its worker's thread pool while it waits for them)
            with worker_client() as client:
                r = replan(engine, replan_options, client=client)
        else:
            r = replan(engine, replan_options)
    finally:
        engine.dispose()
    return SiteWeekResult(
        site=Path(data).name,
        week=week,
        run_id=r.run.run_id,
        reused=r.reused,
        passed=r.passed,
        failing=r.failing,
        published_version=None if r.publication is None else r.publication.version,
        summary=r.summary,
        out=out,
        timings_s=dict(r.timings_s),
    )


def replan_sites(
    root: Path,
    weeks: Sequence[dt.date],
    *,
    out: Path,
    db: str | None = None,
    options: Mapping[str, Any] | None = None,
    seed: int = 0,
    client: Client | None = None,
    progress: BatchProgress | None = None,
) -> SitesResult:
    """Replan every site of ``root`` for each of ``weeks`` (see the module docstring).
    ``options``: the other fields of ``ReplanOptions`` (``time_limit_s``, ``loop_rounds``,
    ``publish_if_pass`` …; not ``data``, ``week``, ``out``, ``seed``)."""
    sites = list_sites(root)
    if not weeks or len(weeks) > MAX_WEEKS:
        raise InputError(
            f"weeks: {len(weeks)} weeks", field="weeks", expected=f"1..{MAX_WEEKS} weeks"
        )
    if len(set(weeks)) != len(weeks) or list(weeks) != sorted(weeks):
        raise InputError("weeks: repeated or out of order", field="weeks", expected="ascending")
    if db is not None and "{site}" not in db and len(sites) > 1:
        raise InputError(
            f"db: {db} has no {{site}}: {len(sites)} sites would share one database",
            field="db",
            expected="a URL with {site} in it, e.g. sqlite:///plans/{site}.db",
        )
    fixed = dict(options or {})
    for name in ("data", "week", "out", "seed"):
        if name in fixed:
            raise InputError(
                f"options: {name!r} is set per site-week", field=name, expected="not given"
            )
    tasks: list[Task] = []
    for site in sites:
        url = site_db_url(db, site, out)
        previous: str | None = None
        for week in weeks:
            key = f"{site}/{week.isoformat()}"
            folder = str(Path(out) / site / week.isoformat())
            kwargs = {**fixed, "seed": seed_for(key, seed)}
            tasks.append(
                Task(
                    key=key,
                    fn=_task,
                    args=(
                        str(Path(root) / site),
                        week,
                        url,
                        folder,
                        kwargs,
                        None if previous is None else Ref(previous),
                    ),
                    about=f"site folder {Path(root) / site}, week {week}",
                )
            )
            previous = key
    batch = run_graph(tasks, client=client, progress=progress)
    results = tuple(batch.results[t.key] for t in tasks if t.key in batch.results)
    return SitesResult(
        results=results,
        failures=batch.failures,
        wall_s=batch.wall_s,
        ran_on=batch.ran_on,
        workers=batch.workers,
        task_s=dict(batch.task_s),
    )
