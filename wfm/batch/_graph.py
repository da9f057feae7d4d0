"""Task graphs run serially or on a Dask client: one code path (private).

A batch is a list of ``Task`` s in dependency order. A task calls a module-level function (so
Dask can pickle it) with arguments in which ``Ref(key)`` stands for the result of an earlier
task and ``Shared(name)`` for one of the batch's shared objects (frames shipped to the workers
once). ``run_graph`` runs the list:

- with ``client=None`` in this process, one task after the other;
- with a ``distributed.Client``: the shared objects are scattered once, every task is submitted
  with its dependencies as futures (Dask runs it where and when it can), and results are
  gathered as they complete. Tasks that name the same ``group`` go to Dask as one task that
  runs them in list order (each of Dask's tasks costs a few milliseconds of scheduling and
  messages on top of its work; a group of short tasks pays it once); their results, times
  and failures are still per task.

Either way a task that raises is recorded (``TaskFailure``: its key, its error and a short
description of its input) and the tasks that depend on it are recorded as skipped; the others
finish. Progress is reported per finished task. Seeds come from ``seed_for(key, seed)``, so a
task draws the same numbers wherever it runs.
"""

from __future__ import annotations

import hashlib
import pickle
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wfm.errors import InputError

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = [
    "BatchProgress",
    "BatchResult",
    "Ref",
    "Shared",
    "Task",
    "TaskFailure",
    "run_graph",
    "seed_for",
]

BatchProgress = Callable[[int, int, str], None]
"""``progress(done, total, key)``: ``done`` of ``total`` tasks finished, the last one's key."""


@dataclass(frozen=True, slots=True)
class Ref:
    """The result of the task with this key (an argument of a later task)."""

    key: str


@dataclass(frozen=True, slots=True)
class Shared:
    """The batch's shared object with this name (shipped to the workers once)."""

    name: str


@dataclass(frozen=True)
class Task:
    """One unit of work: ``fn(*args, **kwargs)``, ``Ref`` and ``Shared`` resolved. ``key`` is
    unique in the batch and stable across runs (e.g. ``"sweep/calls+10%/simulate"``);
    ``about`` says what its input is, for the failure report. Tasks with the same ``group``
    run together as one Dask task (in list order; they may need each other's results); a
    task without one is its own group, named by its key."""

    key: str
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    about: str = ""
    group: str | None = None

    @property
    def runs_in(self) -> str:
        """The name of the Dask task this task runs in: its group, or its key."""
        return self.key if self.group is None else self.group

    def refs(self) -> tuple[str, ...]:
        """Keys of the tasks this one needs."""
        found = [a.key for a in (*self.args, *self.kwargs.values()) if isinstance(a, Ref)]
        return tuple(dict.fromkeys(found))


@dataclass(frozen=True, slots=True)
class TaskFailure:
    """A task that raised (``skipped`` False: ``error`` is its exception and ``trace`` the
    traceback's last lines) or did not run because a task it needs failed (``skipped``)."""

    key: str
    about: str
    error: str
    skipped: bool = False
    trace: str = ""
    exception: BaseException | None = field(default=None, compare=False, repr=False)
    """The exception itself (None if skipped), for callers that re-raise it."""

    def __str__(self) -> str:
        what = "skipped" if self.skipped else "failed"
        about = f" ({self.about})" if self.about else ""
        return f"{self.key}{about} {what}: {self.error}"


@dataclass(frozen=True)
class BatchResult:
    """Results by task key (tasks that finished), the failures, seconds per task as measured
    where it ran, the wall time and where it ran (``serial`` or the scheduler's address with
    its worker count)."""

    results: Mapping[str, Any]
    failures: tuple[TaskFailure, ...]
    task_s: Mapping[str, float]
    wall_s: float
    ran_on: str
    workers: int

    @property
    def ok(self) -> bool:
        return not self.failures


def seed_for(key: str, seed: int = 0) -> int:
    """A seed in [0, 2**31) from a task key and a base seed (SHA-256: the same everywhere)."""
    digest = hashlib.sha256(f"{seed}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def _check(tasks: Sequence[Task], shared: Mapping[str, Any]) -> None:
    seen: dict[str, Task] = {}
    # each Dask task's position (first appearance): a group may only need groups before it,
    # so the groups form a graph without cycles
    order: dict[str, int] = {}
    keys = {t.key for t in tasks}
    for i, task in enumerate(tasks):
        if not task.key or task.key in seen:
            raise InputError(
                f"tasks: row {i}: key {task.key!r} is empty or repeated",
                field="key",
                row=i,
                expected="a unique key per task",
            )
        if task.group is not None and (not task.group or task.group in keys):
            raise InputError(
                f"tasks: row {i} ({task.key}): group {task.group!r} is empty or a task's key",
                field="group",
                row=i,
                expected="a group name that is no task's key",
            )
        order.setdefault(task.runs_in, len(order))
        for ref in task.refs():
            if ref not in seen:
                raise InputError(
                    f"tasks: row {i} ({task.key}) needs {ref!r}, which does not come before it",
                    field="args",
                    row=i,
                    expected="tasks in dependency order",
                )
            needed = seen[ref].runs_in
            if needed != task.runs_in and order[needed] > order[task.runs_in]:
                raise InputError(
                    f"tasks: row {i} ({task.key}) in group {task.runs_in!r} needs {ref!r} of "
                    f"group {needed!r}, which starts after it",
                    field="group",
                    row=i,
                    expected="groups that only need groups started before them",
                )
        for a in (*task.args, *task.kwargs.values()):
            if isinstance(a, Shared) and a.name not in shared:
                raise InputError(
                    f"tasks: row {i} ({task.key}) uses shared {a.name!r}, which is not given",
                    field="shared",
                    row=i,
                    expected="names of the shared objects",
                )
        seen[task.key] = task


@dataclass(frozen=True, slots=True)
class _Failed:
    """What a task returns instead of raising: its error (or the task it needed that failed)."""

    key: str
    error: str
    trace: str = ""
    upstream: str | None = None
    exception: BaseException | None = None


def _timed(
    key: str,
    fn: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    unwrap_args: tuple[int, ...] = (),
    unwrap_kwargs: tuple[str, ...] = (),
) -> tuple[Any, float]:
    """Run task ``key`` 's ``fn`` and measure it where it runs. Its result travels with its
    seconds, so the arguments that are earlier tasks' outputs (positions ``unwrap_args``,
    names ``unwrap_kwargs``) arrive as such pairs and are unwrapped first. An exception is
    returned as ``_Failed`` (Dask then has nothing to log or retry: a bad input fails the
    same way everywhere), and a task whose input failed does not run."""
    args = [a[0] if i in unwrap_args else a for i, a in enumerate(args)]
    kwargs = {k: v[0] if k in unwrap_kwargs else v for k, v in kwargs.items()}
    for value in (*args, *kwargs.values()):
        if isinstance(value, _Failed):
            return _Failed(key, f"needs {value.key}, which failed", upstream=value.key), 0.0
    clock = time.perf_counter()
    try:
        out = fn(*args, **kwargs)
    except Exception as exc:
        failed = _Failed(key, f"{type(exc).__name__}: {exc}", _trace(exc), exception=_portable(exc))
        return failed, time.perf_counter() - clock
    return out, time.perf_counter() - clock


def _portable(exc: BaseException) -> BaseException | None:
    """``exc`` if it survives pickling (it travels from a worker), else None."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return None
    return exc


def _trace(exc: BaseException) -> str:
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return "".join(lines[-3:]).strip()


def run_graph(
    tasks: Sequence[Task],
    *,
    client: Client | None = None,
    shared: Mapping[str, Any] | None = None,
    progress: BatchProgress | None = None,
) -> BatchResult:
    """Run ``tasks`` (see the module docstring) and gather what they return."""
    shared = dict(shared or {})
    _check(tasks, shared)
    if client is None:
        return _serial(tasks, shared, progress)
    return _dask(tasks, client, shared, progress)


def _resolve(value: Any, done: Mapping[str, Any], shared: Mapping[str, Any]) -> Any:
    if isinstance(value, Ref):
        return done[value.key]
    if isinstance(value, Shared):
        return shared[value.name]
    return value


def _call(task: Task, done: Mapping[str, Any], shared: Mapping[str, Any]) -> tuple[Any, ...]:
    """The arguments of ``_timed`` for ``task`` run serially: outputs of earlier tasks from
    ``done`` (pairs of output and seconds), shared objects from ``shared``."""
    args = tuple(_resolve(a, done, shared) for a in task.args)
    kwargs = {k: _resolve(v, done, shared) for k, v in task.kwargs.items()}
    unwrap_args = tuple(i for i, a in enumerate(task.args) if isinstance(a, Ref))
    unwrap_kwargs = tuple(k for k, v in task.kwargs.items() if isinstance(v, Ref))
    return (task.key, task.fn, args, kwargs, unwrap_args, unwrap_kwargs)


def _result(
    tasks: Sequence[Task],
    outputs: Mapping[str, tuple[Any, float]],
    wall_s: float,
    where: str,
    n: int,
) -> BatchResult:
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    failures: list[TaskFailure] = []
    for task in tasks:
        value, s = outputs[task.key]
        if isinstance(value, _Failed):
            failures.append(
                TaskFailure(
                    task.key,
                    task.about,
                    value.error,
                    value.upstream is not None,
                    value.trace,
                    value.exception,
                )
            )
        else:
            results[task.key] = value
            seconds[task.key] = s
    return BatchResult(
        results=results,
        failures=tuple(failures),
        task_s=seconds,
        wall_s=wall_s,
        ran_on=where,
        workers=n,
    )


def _serial(
    tasks: Sequence[Task], shared: Mapping[str, Any], progress: BatchProgress | None
) -> BatchResult:
    clock = time.perf_counter()
    outputs: dict[str, tuple[Any, float]] = {}
    for n, task in enumerate(tasks, start=1):
        outputs[task.key] = _timed(*_call(task, outputs, shared))
        if progress is not None:
            progress(n, len(tasks), task.key)
    return _result(tasks, outputs, time.perf_counter() - clock, "serial", 1)


_Spec = tuple[str, Callable[..., Any], tuple[Any, ...], dict[str, Any], dict[int | str, str]]
"""A task as a group ships it: key, function, arguments, keywords, where its ``Ref`` s stand."""


def _run_group(specs: Sequence[_Spec]) -> dict[str, tuple[Any, float]]:
    """One Dask task: a group's tasks in order, each through ``_timed``. ``specs`` holds per
    task its key, function, arguments and where its ``Ref`` s stand (argument position or
    keyword → the key needed); at such a place is the output mapping of the group that made it
    (Dask resolves that group's future), or None when it is a task of this group."""
    outputs: dict[str, tuple[Any, float]] = {}

    def pick(made: Any, key: str) -> tuple[Any, float]:
        return outputs[key] if made is None else made[key]

    for key, fn, args, kwargs, refs in specs:
        args = tuple(pick(a, refs[i]) if i in refs else a for i, a in enumerate(args))
        kwargs = {k: pick(v, refs[k]) if k in refs else v for k, v in kwargs.items()}
        unwrap_args = tuple(i for i in refs if isinstance(i, int))
        unwrap_kwargs = tuple(k for k in refs if isinstance(k, str))
        outputs[key] = _timed(key, fn, args, kwargs, unwrap_args, unwrap_kwargs)
    return outputs


def _dask(
    tasks: Sequence[Task],
    client: Client,
    shared: Mapping[str, Any],
    progress: BatchProgress | None,
) -> BatchResult:
    from distributed import as_completed

    clock = time.perf_counter()
    # shipped once: every task gets a future of the shared object, not a copy of it
    scattered = {
        name: client.scatter(value, broadcast=False, hash=False) for name, value in shared.items()
    }
    runs_in = {t.key: t.runs_in for t in tasks}
    groups: dict[str, list[Task]] = {}
    for task in tasks:
        groups.setdefault(task.runs_in, []).append(task)
    futures: dict[str, Future[Any]] = {}

    def arg(value: Any, group: str) -> Any:
        if isinstance(value, Ref):
            made = runs_in[value.key]
            return None if made == group else futures[made]
        if isinstance(value, Shared):
            return scattered[value.name]
        return value

    # a Dask key is the group's name and this batch's token: batches running at once on one
    # cluster (e.g. two sites' plan runs, each with a task "forecast/bank") never share a key
    token = uuid.uuid4().hex[:12]
    for group, members in groups.items():  # in order of first appearance: needs come first
        specs: list[_Spec] = []
        for t in members:
            refs: dict[int | str, str] = {}
            refs |= {i: a.key for i, a in enumerate(t.args) if isinstance(a, Ref)}
            refs |= {k: v.key for k, v in t.kwargs.items() if isinstance(v, Ref)}
            args = tuple(arg(a, group) for a in t.args)
            kwargs = {k: arg(v, group) for k, v in t.kwargs.items()}
            specs.append((t.key, t.fn, args, kwargs, refs))
        # futures inside the specs (lists, tuples, dicts) are resolved by Dask before the call
        futures[group] = client.submit(_run_group, specs, key=f"{group}#{token}", pure=False)
    by_future = {f.key: g for g, f in futures.items()}
    outputs: dict[str, tuple[Any, float]] = {}
    done = 0
    # results come in batches as tasks finish (one round trip per batch, not per task)
    for future, output in as_completed(list(futures.values()), with_results=True):
        for t in groups[by_future[future.key]]:
            outputs[t.key] = output[t.key]  # _timed never raises; lost workers' tasks re-run
            done += 1
            if progress is not None:
                progress(done, len(tasks), t.key)
    for future in (*futures.values(), *scattered.values()):
        future.release()
    info = client.scheduler_info()
    where = str(info.get("address", "dask"))
    return _result(tasks, outputs, time.perf_counter() - clock, where, len(info.get("workers", {})))
