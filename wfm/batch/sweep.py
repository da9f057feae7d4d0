"""What-if sweeps: many scenarios of one site, staffed, simulated and costed, serially or on
Dask (services layer, ``wfm sweep``).

A *grid* (``load_grid``: YAML or CSV) lists scenarios; each changes the week's volume
(``calls_scale``) and handle time (``aht_scale``), the planning targets (``sl_target``,
``answer_within_s``), the shrinkage, the queueing model (``erlang_c``/``erlang_a``, with
``patience_s``) and projects' billing (``billing.<project>``, ``rate_eur.<project>``).

``sweep`` reads the site folder once and evaluates every scenario on one demand week: the week
of ``week`` (a Monday) in ``history.csv``, by default the last full week of the history (the
latest week whose last open day — Sunday, or e.g. Friday at a site closed at weekends — the
history reaches). That is an observed week, not a forecast: a
sweep compares scenarios on the same known demand. Each project's rows of that week are
shipped to the workers once (``Shared``), with the site's projects and cost rates. Per
scenario, the tasks are (keys are stable: they name the scenario and the project):

1. staffing — each project's required agents per interval (the service
   ``wfm.services.staffing.scenario_requirements`` on that project's week: Erlang C or A for
   inbound, chat at its concurrency, the outbound workload model for outbound campaigns),
   computed inside the project's simulation task (projects without a service target: inside
   the economics task). It takes about 4 ms, less than a task's own cost on Dask, so it is
   no task of its own (the samples' 50-scenario sweep on 2 workers took 12.0–12.8 s this
   way, 13.2–13.9 s with a staffing task per scenario);
2. ``"<scenario>/<project>/simulate"`` (inbound and chat projects) — does that staffing meet
   the target? A synthetic schedule puts exactly the required agents on the project in each
   interval (agents dedicated to the project, one work segment per run of intervals) and the
   ACD simulator (``wfm.services.simulation.simulate_plan``) replays the week
   ``replications`` times with the seed ``seed_for(key, seed)``; its summary row comes back.
   With more replications than ``chunk_replications`` (``CHUNK_REPLICATIONS`` by default) the
   replications run as chunk tasks ``"<scenario>/<project>/simulate/<i>"`` (replications
   ``i·chunk`` onwards, raw statistics: ``simulate_chunk``) and the ``…/simulate`` task
   combines them
   (``combine_chunks``). The seed stays that of the ``…/simulate`` key and replication r
   always draws from the r-th stream of that seed, so the result is the same, bit for bit,
   whatever the chunking;
3. ``"<scenario>/economics"`` — revenue, cost and margin per project with the engine
   ``wfm.economics.evaluate``, as ``wfm.services.economics.whatif_economics`` builds its
   inputs (productive hours = required agent-hours, paid = productive ÷ (1 − shrinkage), the
   mean hourly cost of the agents holding the project) but at the *simulated* service level
   with its 95 % interval and answered = offered × (1 − abandon rate) of the simulation; the
   scenario's contract changes apply; bonus and penalty are counted against the contract's
   own target. Outbound projects: answered = the week's contacts, no SL.

On Dask a scenario's tasks run as one Dask task, the group ``"<scenario>/scenario"`` (with
chunks: each chunk of its simulations as one more, ``"<scenario>/simulations/<i>"``); each of
Dask's tasks costs milliseconds of scheduling and messages. Results, times and failures stay
per task. On 2 workers, the samples' 50-scenario sweep ran 1.76–1.77× the serial speed with a
Dask task per simulation and 1.92× with one per scenario's simulations; a tiny site (two
projects open 4 h a day, tasks of about 20 ms) 1.62–1.66× with the simulations grouped and
1.73–1.76× with the whole scenario as one.

Every task's result depends only on its inputs and its key, so a sweep gives the same frames
serially, on a ``LocalCluster`` or on a remote scheduler. A task that raises is reported with
its key and input (``SweepResult.failures``) and the scenarios that do not need it finish.
Files (``write_sweep``) are written by the process that called ``sweep`` — never by a worker —
each under a name made from its key, atomically and with content that depends only on the
results: a re-run, or a task Dask re-ran after losing a worker, writes the same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import itertools
import json
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml

from wfm.batch._graph import BatchProgress, Ref, Shared, Task, TaskFailure, run_graph, seed_for
from wfm.domain import BillingModel, Project
from wfm.economics import (
    DEFAULT_FULL_TIME_WEEK_H,
    AgentHours,
    CostSettings,
    ProjectWeek,
    ServiceLevel,
    evaluate,
)
from wfm.errors import InputError
from wfm.grid import Grid
from wfm.services._files import write_csv_atomic, write_text_atomic
from wfm.services.economics import (
    changed_contracts,
    economics_frame,
    grade_rates,
    project_rates,
)
from wfm.services.simulation import (
    SimProjects,
    SimulationReport,
    combine_chunks,
    simulate_chunk,
    simulate_plan,
)
from wfm.services.sitedata import load_site_data
from wfm.services.staffing import (
    Scenario,
    infer_interval_min,
    load_demand,
    scenario_requirements,
)
from wfm.sim import SimChunk, SimProject

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "CHUNK_REPLICATIONS",
    "MAX_SCENARIOS",
    "MODIFIERS",
    "PROJECT_COLUMNS",
    "SUMMARY_COLUMNS",
    "SweepResult",
    "SweepRun",
    "SweepScenario",
    "load_grid",
    "pareto_frontier",
    "scenario_file_name",
    "sweep",
    "sweep_figure",
    "sweep_scenario",
    "write_sweep",
]

CHUNK_REPLICATIONS = 25
"""Replications per simulation task by default. A chunk task checks and prepares the plan
again (about 45 ms on a week of the samples) and ten replications of a project's week take
about 30 ms, so small numbers of replications run best as one task: measured on 4 scenarios
of the samples with 10 replications, 2.17 s as one task per simulation, 2.99 s in chunks of 5."""

MAX_SCENARIOS = 2000
"""The most scenarios one grid may hold."""

MODIFIERS: tuple[str, ...] = (
    "calls_scale",
    "aht_scale",
    "sl_target",
    "answer_within_s",
    "shrinkage",
    "model",
    "patience_s",
)
"""Staffing modifiers of a scenario (``wfm.services.staffing.Scenario``); contract changes are
``billing.<project>`` (a billing model) and ``rate_eur.<project>`` (its rate)."""

_SHORT = {
    "calls_scale": "calls",
    "aht_scale": "aht",
    "sl_target": "sl",
    "answer_within_s": "within",
    "shrinkage": "shrink",
    "model": "model",
    "patience_s": "patience",
}
_SHARES = frozenset({"calls_scale", "aht_scale", "sl_target", "shrinkage"})
_MODELS = ("erlang_c", "erlang_a")
_EXPECTED_KEYS = ", ".join((*MODIFIERS, "billing.<project>", "rate_eur.<project>"))
_NAME_MAX = 120

SUMMARY_COLUMNS: tuple[str, ...] = (
    "scenario",
    *MODIFIERS,
    "contracts",
    "calls",
    "agent_hours",
    "fte",
    "peak_agents",
    "erlang_sl",
    "offered",
    "sl",
    "sl_lo",
    "sl_hi",
    "abandon_rate",
    "revenue_eur",
    "revenue_eur_lo",
    "revenue_eur_hi",
    "cost_eur",
    "margin_eur",
    "margin_eur_lo",
    "margin_eur_hi",
    "margin_pct",
    "frontier",
    "n_failed_projects",
)
"""Columns of ``SweepResult.summary`` (one row per scenario, in grid order): the modifiers
(``sl_target``, ``answer_within_s``, ``patience_s`` empty = each project's own value;
``contracts`` lists the billing changes, e.g. ``retail=per_hour@30``), the week's calls,
required agent-hours, FTE (paid hours ÷ a 40-hour week), the peak of agents at once (all
projects), the offered-weighted Erlang SL and the simulated SL with its 95 % interval over the
simulated projects (the projects taken as independent), the abandon rate, revenue, cost and
margin with their bounds (the sum of the projects' bounds), the margin in % of revenue,
whether the scenario is on the margin-vs-SL Pareto frontier, and how many of its projects
failed (a scenario with a failure has no economics: NaN)."""

PROJECT_COLUMNS: tuple[str, ...] = (
    "scenario",
    "project",
    "kind",
    "billing",
    "rate_eur",
    "calls",
    "agent_hours",
    "fte",
    "peak_agents",
    "erlang_sl",
    "offered",
    "sl",
    "sl_lo",
    "sl_hi",
    "abandon_rate",
    "asa_s",
    "occupancy",
    "answered",
    "revenue_eur",
    "revenue_eur_lo",
    "revenue_eur_hi",
    "cost_eur",
    "margin_eur",
    "margin_eur_lo",
    "margin_eur_hi",
    "margin_pct",
    "failed",
)
"""Columns of ``SweepResult.by_project`` (scenario × project; simulation columns empty for
outbound; ``failed`` names the project's task that failed, else empty)."""


# --------------------------------------------------------------------------------------------
# scenarios and grids


@dataclass(frozen=True)
class SweepScenario:
    """One scenario of a sweep: a unique ``name``, the staffing modifiers (``staffing``) and
    contract changes (project, billing model or ``None`` to keep it, rate or ``None``);
    ``source`` says where it was defined (``grid.yaml line 7``)."""

    name: str
    staffing: Scenario = field(default_factory=Scenario)
    contracts: tuple[tuple[str, BillingModel | None, float | None], ...] = ()
    source: str = ""

    def contract_changes(self) -> dict[str, tuple[BillingModel | None, float | None]]:
        """``contract_changes`` for ``wfm.services.economics.changed_contracts``."""
        return {project: (billing, rate) for project, billing, rate in self.contracts}

    def modifiers(self) -> dict[str, object]:
        """The staffing modifiers and ``contracts`` (text), flat: the summary's columns."""
        s = self.staffing
        return {
            "calls_scale": s.calls_scale,
            "aht_scale": s.aht_scale,
            "sl_target": math.nan if s.sl_target is None else s.sl_target,
            "answer_within_s": math.nan if s.answer_within_s is None else s.answer_within_s,
            "shrinkage": s.shrinkage,
            "model": s.model,
            "patience_s": math.nan if s.patience_s is None else s.patience_s,
            "contracts": self.contracts_text(),
        }

    def contracts_text(self) -> str:
        """``retail=per_hour@30; bank=@28`` (billing and/or rate per changed project)."""
        parts = []
        for project, billing, rate in self.contracts:
            text = "" if billing is None else BillingModel(billing).value
            if rate is not None:
                text += f"@{rate:g}"
            parts.append(f"{project}={text}")
        return "; ".join(parts)

    def describe(self) -> str:
        """What differs from the defaults, for failure reports: ``calls_scale=1.2, ...``."""
        s, d = self.staffing, Scenario()
        parts = [
            f"{name}={getattr(s, name)}"
            for name in MODIFIERS
            if getattr(s, name) != getattr(d, name)
        ]
        if self.contracts:
            parts.append(f"contracts={self.contracts_text()}")
        return ", ".join(parts) or "no changes"


def _where(source: str, key: str | None = None) -> str:
    return source if key is None else f"{source}, {key}"


def _number(value: object, key: str, source: str, row: int | str | None) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        ok = False
    elif isinstance(value, int | float):
        ok, number = True, float(value)
    elif isinstance(value, str):
        try:
            number, ok = float(value.strip()), True
        except ValueError:
            ok = False
    else:
        ok = False
    if not ok or not math.isfinite(number):
        raise InputError(
            f"{_where(source, key)}: {value!r} is not a number",
            field=key,
            row=row,
            expected="a finite number",
        )
    return number


def sweep_scenario(
    name: object, modifiers: Mapping[str, object], *, source: str = "", row: int | str | None = None
) -> SweepScenario:
    """A scenario from its name and modifiers (``MODIFIERS``, ``billing.<project>``,
    ``rate_eur.<project>``; a missing, empty or ``None`` value keeps the default). Numbers may
    be given as text (CSV cells). Errors name ``source`` (e.g. ``grid.csv line 3``), the
    field and the row."""
    if not isinstance(name, str | int | float) or isinstance(name, bool) or not str(name).strip():
        raise InputError(
            f"{_where(source, 'name')}: the scenario has no name",
            field="name",
            row=row,
            expected="a name per scenario",
        )
    text = str(name).strip()
    if "/" in text or len(text) > _NAME_MAX or any(ord(c) < 32 for c in text):
        raise InputError(
            f"{_where(source, 'name')}: {text[:40]!r} has a '/', a control character or more "
            f"than {_NAME_MAX} characters",
            field="name",
            row=row,
            expected=f"a name of at most {_NAME_MAX} characters without '/'",
        )
    source = source or f"scenario {text!r}"
    staffing: dict[str, Any] = {}
    changes: dict[str, list[object]] = {}
    for key, value in modifiers.items():
        if key in MODIFIERS and key != "model":
            number = _number(value, key, source, row)
            if number is not None:
                staffing[key] = number
        elif key == "model":
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            model = str(value).strip().lower().replace("-", "_")
            if model not in _MODELS:
                raise InputError(
                    f"{_where(source, key)}: {value!r} is not a queueing model",
                    field=key,
                    row=row,
                    expected=" or ".join(_MODELS),
                )
            staffing[key] = model
        elif key.startswith(("billing.", "rate_eur.")) and key.split(".", 1)[1].strip():
            kind, project = key.split(".", 1)
            slot = changes.setdefault(project.strip(), [None, None])
            if kind == "billing":
                if value is None or (isinstance(value, str) and not value.strip()):
                    continue
                try:
                    slot[0] = BillingModel(str(value).strip())
                except ValueError:
                    raise InputError(
                        f"{_where(source, key)}: {value!r} is not a billing model",
                        field=key,
                        row=row,
                        expected="one of " + ", ".join(m.value for m in BillingModel),
                    ) from None
            else:
                rate = _number(value, key, source, row)
                if rate is not None and rate < 0.0:
                    raise InputError(
                        f"{_where(source, key)}: {rate:g} is negative",
                        field=key,
                        row=row,
                        expected="a rate >= 0",
                    )
                slot[1] = rate
        else:
            raise InputError(
                f"{_where(source, key)}: unknown modifier {key!r}",
                field=key,
                row=row,
                expected="one of " + _EXPECTED_KEYS,
            )
    try:
        scenario = Scenario(**staffing)
    except InputError as exc:
        raise InputError(
            f"{source}: {exc}", field=exc.field, row=row, expected=exc.expected
        ) from exc
    contracts = tuple(
        (project, _billing_or_none(b), _float_or_none(r))
        for project, (b, r) in sorted(changes.items())
        if b is not None or r is not None
    )
    return SweepScenario(name=text, staffing=scenario, contracts=contracts, source=source)


def _billing_or_none(value: object) -> BillingModel | None:
    return None if value is None else BillingModel(str(value))


def _float_or_none(value: object) -> float | None:
    return None if value is None else float(str(value))


def _label(key: str, value: object) -> str:
    if key.startswith("billing."):
        return f"{key}={value}"
    if key.startswith("rate_eur."):
        return f"rate.{key.split('.', 1)[1]}={value}"
    short = _SHORT.get(key, key)
    if key in _SHARES and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{short}={value:.2f}"
    if isinstance(value, float):
        return f"{short}={value:g}"
    return f"{short}={value}"


def _flatten(values: Mapping[str, object], source: str, row: int) -> dict[str, object]:
    """``{billing: {retail: per_hour}}`` → ``{"billing.retail": "per_hour"}``."""
    out: dict[str, object] = {}
    for key, value in values.items():
        key = str(key)
        if key in ("billing", "rate_eur"):
            if not isinstance(value, Mapping):
                raise InputError(
                    f"{_where(source, key)}: expected a mapping of project to value",
                    field=key,
                    row=row,
                    expected=f"{key}: {{<project>: value}}",
                )
            for project, inner in value.items():
                out[f"{key}.{project}"] = inner
        else:
            out[key] = value
    return out


class _GridLoader(yaml.SafeLoader):
    """PyYAML's safe loader that remembers the line of each mapping it builds."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.lines: dict[int, int] = {}


def _mapping_with_line(loader: _GridLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    out = dict(mapping)
    loader.lines[id(out)] = node.start_mark.line + 1
    return out


_GridLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _mapping_with_line,
)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(
            f"{path}: no such grid file", field="grid", expected="a YAML or CSV grid file"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: cannot read it ({exc})", field="grid", expected="a readable UTF-8 file"
        ) from exc


def _yaml_grid(path: Path) -> list[SweepScenario]:
    loader = _GridLoader(_read_text(path))
    try:
        doc = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise InputError(
            f"{path.name}: not valid YAML ({' '.join(str(exc).split())})",
            field="grid",
            expected="a YAML mapping with 'scenarios' and/or 'grid'",
        ) from exc
    finally:
        loader.dispose()
    lines = loader.lines
    if not isinstance(doc, dict) or not ({"scenarios", "grid"} & set(doc)):
        raise InputError(
            f"{path.name}: expected a mapping with 'scenarios' (a list) and/or 'grid' (lists "
            "of values per modifier)",
            field="grid",
            expected="scenarios: [...] and/or grid: {...}",
        )
    unknown = sorted(str(k) for k in doc if k not in ("scenarios", "grid"))
    if unknown:
        raise InputError(
            f"{path.name} line {lines.get(id(doc), 1)}: unknown key {unknown[0]!r}",
            field=unknown[0],
            row=lines.get(id(doc), 1),
            expected="scenarios, grid",
        )
    out: list[SweepScenario] = []
    listed = doc.get("scenarios") or []
    if not isinstance(listed, list):
        raise InputError(
            f"{path.name}: 'scenarios' is not a list",
            field="scenarios",
            expected="a list of mappings with a name and modifiers",
        )
    for i, item in enumerate(listed):
        line = lines.get(id(item), 0)
        source = f"{path.name} line {line}" if line else f"{path.name} scenarios[{i}]"
        if not isinstance(item, dict):
            raise InputError(
                f"{source}: scenario {i + 1} is not a mapping",
                field="scenarios",
                row=line or i,
                expected="name: ..., and modifiers",
            )
        values = _flatten({k: v for k, v in item.items() if k != "name"}, source, line or i)
        out.append(sweep_scenario(item.get("name"), values, source=source, row=line or i))
    grid = doc.get("grid")
    if grid is not None:
        out.extend(_product(path, grid, lines.get(id(grid), 0)))
    return out


def _product(path: Path, grid: object, line: int) -> list[SweepScenario]:
    source = f"{path.name} line {line}" if line else f"{path.name} grid"
    if not isinstance(grid, dict) or not grid:
        raise InputError(
            f"{source}: 'grid' is not a mapping of modifier to values",
            field="grid",
            row=line,
            expected="grid: {calls_scale: [0.8, 1.0, 1.2], ...}",
        )
    axes = _flatten(grid, source, line)
    values: dict[str, list[object]] = {}
    total = 1
    for key, raw in axes.items():
        items = list(raw) if isinstance(raw, list) else [raw]
        if not items:
            raise InputError(
                f"{_where(source, key)}: no values",
                field=key,
                row=line,
                expected="a list of at least one value",
            )
        values[key] = items
        total *= len(items)
    if total > MAX_SCENARIOS:
        raise InputError(
            f"{source}: the grid has {total:,} scenarios, more than {MAX_SCENARIOS:,}",
            field="grid",
            row=line,
            expected=f"at most {MAX_SCENARIOS} scenarios",
        )
    out = []
    keys = list(values)
    for combo in itertools.product(*(values[k] for k in keys)):
        name = " ".join(_label(k, v) for k, v in zip(keys, combo, strict=True))
        out.append(sweep_scenario(name, dict(zip(keys, combo, strict=True)), source=source))
    return out


def _csv_grid(path: Path) -> list[SweepScenario]:
    text = _read_text(path)
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise InputError(
            f"{path.name}: empty file", field="grid", expected="a header with 'name' and modifiers"
        )
    columns = [c.strip() for c in header]
    if "name" not in columns:
        raise InputError(
            f"{path.name} line 1: no 'name' column",
            field="name",
            row=1,
            expected="columns name, " + _EXPECTED_KEYS,
        )
    for column in columns:
        known = column in MODIFIERS or column == "name"
        if not known and not (column.startswith(("billing.", "rate_eur.")) and "." in column):
            raise InputError(
                f"{path.name} line 1: unknown column {column!r}",
                field=column,
                row=1,
                expected="columns name, " + _EXPECTED_KEYS,
            )
    if len(set(columns)) != len(columns):
        twice = next(c for c in columns if columns.count(c) > 1)
        raise InputError(
            f"{path.name} line 1: column {twice!r} is given twice",
            field=twice,
            row=1,
            expected="distinct columns",
        )
    out = []
    for line, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(columns):
            raise InputError(
                f"{path.name} line {line}: {len(record)} cells for {len(columns)} columns",
                field="name",
                row=line,
                expected=f"{len(columns)} cells per line",
            )
        cells = dict(zip(columns, record, strict=True))
        name = cells.pop("name")
        out.append(sweep_scenario(name, cells, source=f"{path.name} line {line}", row=line))
        if len(out) > MAX_SCENARIOS:
            raise InputError(
                f"{path.name} line {line}: more than {MAX_SCENARIOS:,} scenarios",
                field="grid",
                row=line,
                expected=f"at most {MAX_SCENARIOS} scenarios",
            )
    return out


def load_grid(path: Path) -> tuple[SweepScenario, ...]:
    """The scenarios of a grid file.

    YAML (``.yaml``/``.yml``): ``scenarios`` — a list of mappings, each with a ``name`` and
    modifiers — and/or ``grid`` — a mapping of modifier to a list of values, whose cartesian
    product is the scenarios, named from their values (``calls=1.20 aht=0.90 sl=0.85``).
    Billing changes: ``billing: {retail: per_hour}`` and ``rate_eur: {retail: 30}``. CSV: one
    line per scenario, a ``name`` column and one column per modifier (``billing.retail``,
    ``rate_eur.retail``; an empty cell keeps the default). At most ``MAX_SCENARIOS``; names
    are unique. Errors name the file, the line and the field."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        scenarios = _yaml_grid(path)
    elif suffix == ".csv":
        scenarios = _csv_grid(path)
    else:
        raise InputError(
            f"{path.name}: unknown grid format {suffix or '(no suffix)'!r}",
            field="grid",
            expected="a .yaml, .yml or .csv file",
        )
    if not scenarios:
        raise InputError(
            f"{path.name}: no scenarios", field="grid", expected="at least one scenario"
        )
    if len(scenarios) > MAX_SCENARIOS:
        raise InputError(
            f"{path.name}: {len(scenarios):,} scenarios, more than {MAX_SCENARIOS:,}",
            field="grid",
            expected=f"at most {MAX_SCENARIOS} scenarios",
        )
    _check_names(scenarios)
    return tuple(scenarios)


def _check_names(scenarios: Sequence[SweepScenario]) -> None:
    seen: dict[str, SweepScenario] = {}
    for i, s in enumerate(scenarios):
        if s.name in seen:
            first = seen[s.name].source or "an earlier scenario"
            raise InputError(
                f"{s.source or f'scenario {i}'}, name: {s.name!r} is used twice (first at {first})",
                field="name",
                row=i,
                expected="a unique name per scenario",
            )
        seen[s.name] = s


# --------------------------------------------------------------------------------------------
# the tasks (module-level: Dask pickles them by reference)


@dataclass(frozen=True)
class _Site:
    """What every task needs of the site (small; shipped once)."""

    tz: str
    interval_min: int
    projects: Mapping[str, Project]
    rates: Mapping[str, float]
    settings: CostSettings


@dataclass(frozen=True)
class _Staffing:
    """A staffing task's result, kept small (it travels to a simulation task and to the
    client): the required agents per row of the project's demand frame, and totals."""

    project: str
    agents: npt.NDArray[np.int32]
    calls: float
    agent_hours: float
    peak_agents: int
    erlang_sl: float


@dataclass(frozen=True)
class _Simulated:
    """A simulation task's result: its project's staffing (computed in the same task) and the
    simulated service of that staffing."""

    project: str
    offered: float
    sl: float
    sl_lo: float
    sl_hi: float
    abandon_rate: float
    asa_s: float
    occupancy: float
    staffing: _Staffing | None = None


@dataclass(frozen=True)
class _Economics:
    by_project: pd.DataFrame  # wfm.services.economics.ECONOMICS_COLUMNS
    staffed: Mapping[str, _Staffing]  # the projects without simulation (outbound)


def _staff(
    scenario: SweepScenario, project: Project, demand: pd.DataFrame, site: _Site
) -> _Staffing:
    """Task 1: the required agents of one project for one scenario (the what-if service)."""
    req = scenario_requirements(
        demand, {project.project: project}, tz=site.tz, scenario=scenario.staffing
    )
    # the service keeps the demand's row order within a project: the agents align with it
    assert req["ts"].reset_index(drop=True).equals(demand["ts"].reset_index(drop=True))
    calls = float(req["calls"].sum())
    erlang = math.nan
    if req["sl"].notna().any():
        erlang = float((req["sl"] * req["calls"]).sum()) / calls if calls > 0 else 1.0
    return _Staffing(
        project=project.project,
        agents=req["agents"].to_numpy(dtype=np.int32),
        calls=calls,
        agent_hours=float(req["agents"].sum()) * site.interval_min / 60.0,
        peak_agents=int(req["agents"].max()) if len(req) else 0,
        erlang_sl=erlang,
    )


def synthetic_schedule(requirements: pd.DataFrame, *, interval_min: int) -> pd.DataFrame:
    """A schedule that puts exactly the required agents on the project in each interval:
    agent ``<project>:<k>`` works wherever ``agents >= k``, one work segment per run of
    consecutive intervals (``agent, start, end, activity, project``)."""
    project = str(requirements["project"].iloc[0]) if len(requirements) else ""
    ts = pd.DatetimeIndex(requirements["ts"])
    step = pd.Timedelta(minutes=interval_min)
    agents = requirements["agents"].to_numpy(dtype=np.int64)
    n = len(agents)
    follows = np.zeros(n, dtype=bool)
    if n > 1:
        follows[1:] = (ts[1:] - ts[:-1]) == step
    begins: list[npt.NDArray[np.intp]] = []
    finals: list[npt.NDArray[np.intp]] = []
    names: list[str] = []
    width = len(str(int(agents.max()))) if n else 1
    for k in range(int(agents.max()) if n else 0):
        on = agents > k
        prev_on = np.zeros(n, dtype=bool)
        prev_on[1:] = on[:-1]
        begin = np.flatnonzero(on & ~(prev_on & follows))
        next_on = np.zeros(n, dtype=bool)
        next_on[:-1] = on[1:] & follows[1:]
        end = np.flatnonzero(on & ~next_on)
        name = f"{project}:{k + 1:0{width}d}"
        begins.append(begin)
        finals.append(end)
        names.extend([name] * len(begin))
    # positions first, timestamps once (boxing a Timestamp per segment is slow)
    first = np.concatenate(begins) if begins else np.zeros(0, dtype=np.intp)
    last = np.concatenate(finals) if finals else np.zeros(0, dtype=np.intp)
    return pd.DataFrame(
        {
            "agent": names,
            "start": ts[first],
            "end": ts[last] + step if last.size else ts[:0],
            "activity": "work",
            "project": project,
        }
    )


@dataclass(frozen=True)
class _SimInputs:
    """What the simulation of one project for one scenario plays: the scenario's demand, the
    synthetic schedule of the required agents, the agents' skills and the project."""

    demand: pd.DataFrame
    schedule: pd.DataFrame
    agents: Mapping[str, Sequence[str]]
    projects: SimProjects


def _sim_inputs(
    scenario: SweepScenario,
    project: Project,
    staffing: _Staffing,
    demand: pd.DataFrame,
    site: _Site,
) -> _SimInputs | None:
    """The simulation's inputs, or None when the project has no calls (nothing to simulate)."""
    assert project.target is not None  # only projects with a service target are simulated
    if staffing.calls <= 0.0:
        return None
    s = scenario.staffing
    # the scenario's demand, scaled as the staffing service scales it
    req = demand[["project", "ts"]].assign(
        calls=demand["calls"].to_numpy(dtype=np.float64) * s.calls_scale,
        aht_s=demand["aht_s"].to_numpy(dtype=np.float64) * s.aht_scale,
        agents=staffing.agents,
    )
    schedule = synthetic_schedule(req, interval_min=site.interval_min)
    agents = dict.fromkeys(dict.fromkeys(schedule["agent"]), (project.project,))
    sim = SimProject(
        project=project.project,
        answer_within_s=(
            s.answer_within_s if s.answer_within_s is not None else project.target.answer_within_s
        ),
        patience_s=s.patience_s or project.patience_s,
        sl_target=s.sl_target or project.target.sl_target,
        concurrency=project.concurrency,
    )
    return _SimInputs(
        demand=req[["project", "ts", "calls", "aht_s"]],
        schedule=schedule,
        agents=agents,
        projects=SimProjects(projects={project.project: sim}),
    )


def _no_calls(project: Project, staffing: _Staffing) -> _Simulated:
    """No calls: the target is met (the convention of wfm.staffing)."""
    return _Simulated(project.project, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, math.nan, staffing)


def _simulated(project: Project, report: SimulationReport, staffing: _Staffing) -> _Simulated:
    row = report.summary.iloc[0]
    return _Simulated(
        staffing=staffing,
        project=project.project,
        offered=float(row["offered"]),
        sl=float(row["sl"]),
        sl_lo=float(row["sl_lo"]),
        sl_hi=float(row["sl_hi"]),
        abandon_rate=float(row["abandon_rate"]),
        asa_s=float(row["asa_s"]),
        occupancy=float(row["occupancy"]),
    )


def _simulate(
    scenario: SweepScenario,
    project: Project,
    demand: pd.DataFrame,
    site: _Site,
    replications: int,
    seed: int,
) -> _Simulated:
    """Task 2 in one piece: the ACD simulator on the synthetic schedule of the required
    agents, all replications."""
    staffing = _staff(scenario, project, demand, site)
    inputs = _sim_inputs(scenario, project, staffing, demand, site)
    if inputs is None:
        return _no_calls(project, staffing)
    report = simulate_plan(
        inputs.demand,
        inputs.schedule,
        inputs.agents,
        inputs.projects,
        tz=site.tz,
        replications=replications,
        seed=seed,
    )
    return _simulated(project, report, staffing)


def _simulate_chunk(
    scenario: SweepScenario,
    project: Project,
    demand: pd.DataFrame,
    site: _Site,
    seed: int,
    first: int,
    count: int,
) -> SimChunk | None:
    """Task 2, one chunk: replications ``first`` … ``first + count - 1`` of the simulation
    (raw statistics; None when the project has no calls)."""
    staffing = _staff(scenario, project, demand, site)
    inputs = _sim_inputs(scenario, project, staffing, demand, site)
    if inputs is None:
        return None
    return simulate_chunk(
        inputs.demand,
        inputs.schedule,
        inputs.agents,
        inputs.projects,
        tz=site.tz,
        seed=seed,
        first=first,
        count=count,
    )


def _combine_simulation(
    scenario: SweepScenario,
    project: Project,
    demand: pd.DataFrame,
    site: _Site,
    replications: int,
    seed: int,
    *chunks: SimChunk | None,
) -> _Simulated:
    """Task 2, combined: the chunks' replications in order, summarised — the same, bit for
    bit, as ``_simulate`` with all replications at once."""
    staffing = _staff(scenario, project, demand, site)
    inputs = _sim_inputs(scenario, project, staffing, demand, site)
    if inputs is None:
        return _no_calls(project, staffing)
    report = combine_chunks(
        [c for c in chunks if c is not None],
        inputs.demand,
        inputs.schedule,
        inputs.agents,
        inputs.projects,
        tz=site.tz,
        replications=replications,
        seed=seed,
    )
    return _simulated(project, report, staffing)


def _economics(
    scenario: SweepScenario, site: _Site, outbound: tuple[str, ...], *rest: Any
) -> _Economics:
    """Task 3: revenue, cost and margin per project at the simulated service level. ``rest``:
    the week's demand of each ``outbound`` project (staffed here: it is not simulated), then
    the simulation tasks' results (each with its project's staffing)."""
    demands, sims = rest[: len(outbound)], rest[len(outbound) :]
    staffed = {
        p: _staff(scenario, site.projects[p], demand, site)
        for p, demand in zip(outbound, demands, strict=True)
    }
    parts: list[_Staffing | _Simulated] = [*staffed.values()]
    for sim in sims:
        assert isinstance(sim, _Simulated) and sim.staffing is not None
        parts += [sim.staffing, sim]
    changes = changed_contracts(site.projects, scenario.contract_changes())
    contracts = {p: project.contract for p, project in site.projects.items()}
    contracts |= {c.project: c.scenario for c in changes}
    simulated = {p.project: p for p in parts if isinstance(p, _Simulated)}
    shrinkage = scenario.staffing.shrinkage
    weeks: list[ProjectWeek] = []
    for staffing in sorted((p for p in parts if isinstance(p, _Staffing)), key=lambda p: p.project):
        project = site.projects[staffing.project]
        level = None
        answered = staffing.calls
        sim = simulated.get(staffing.project)
        if sim is not None:
            level = ServiceLevel(mean=sim.sl, lo=min(sim.sl_lo, sim.sl), hi=max(sim.sl_hi, sim.sl))
            answered = sim.offered * (
                1.0 - (0.0 if math.isnan(sim.abandon_rate) else sim.abandon_rate)
            )
        weeks.append(
            ProjectWeek(
                project=staffing.project,
                contract=contracts[staffing.project],
                work_h=staffing.agent_hours,
                agents=(
                    AgentHours(
                        agent=f"required:{staffing.project}",
                        paid_h=staffing.agent_hours / (1.0 - shrinkage),
                        hourly_cost_eur=site.rates[staffing.project],
                    ),
                ),
                answered=answered,
                sl=level,
                sl_target=None if project.target is None else project.target.sl_target,
            )
        )
    return _Economics(by_project=economics_frame(evaluate(weeks, site.settings)), staffed=staffed)


# --------------------------------------------------------------------------------------------
# the sweep


@dataclass(frozen=True)
class SweepRun:
    """Where and how long the batch ran: ``ran_on`` is ``serial`` or the scheduler's address,
    ``workers`` its worker count, ``wall_s`` the batch's wall time, ``task_s`` each finished
    task's seconds as measured where it ran, ``tasks`` the number of tasks, ``dependencies``
    the tasks each one needs and ``groups`` the Dask task each one runs in (a scenario's
    simulations of one chunk run as one)."""

    ran_on: str
    workers: int
    wall_s: float
    tasks: int
    task_s: Mapping[str, float]
    dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    groups: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SweepResult:
    """A sweep: ``summary`` (``SUMMARY_COLUMNS``, one row per scenario), ``by_project``
    (``PROJECT_COLUMNS``), the failed or skipped tasks (key, input, error), where it ran, the
    demand week (its Monday), the site's time zone and interval, the simulation settings
    (``chunk_replications``: replications per simulation task; the results do not depend on
    it) and the files written (``write_sweep``)."""

    summary: pd.DataFrame
    by_project: pd.DataFrame
    failures: tuple[TaskFailure, ...]
    batch: SweepRun
    scenarios: tuple[SweepScenario, ...]
    week: dt.date
    tz: str
    interval_min: int
    replications: int
    seed: int
    timings_s: Mapping[str, float] = field(default_factory=dict)
    files: Mapping[str, Path] = field(default_factory=dict)
    chunk_replications: int = CHUNK_REPLICATIONS

    @property
    def ok(self) -> bool:
        return not self.failures


def _week(
    history: pd.DataFrame, tz: str, week: dt.date | None, last_open: int
) -> tuple[dt.date, pd.DataFrame]:
    """The Monday and the rows of the demand week (see the module docstring); ``last_open``
    is the site's last open ISO weekday (a site closed at weekends has full weeks that end on
    Friday)."""
    dates = Grid(tz=tz, interval_min=15).local_date(pd.DatetimeIndex(history["ts"]))
    if week is None:
        last = max(dates)
        monday = last - dt.timedelta(days=last.weekday())
        if last.isoweekday() < last_open:  # the last week is not complete: the one before
            monday -= dt.timedelta(days=7)
        if monday < min(dates):
            raise InputError(
                f"history.csv: {min(dates)} … {last} holds no full week",
                field="week",
                expected="a history of at least one full week, or --week",
            )
    else:
        if week.weekday() != 0:
            raise InputError(
                f"week: {week} is a {week:%A}, not a Monday",
                field="week",
                expected="the Monday of a week in the history",
            )
        monday = week
    keep = (dates >= monday) & (dates < monday + dt.timedelta(days=7))
    rows = history[np.asarray(keep, dtype=bool)].reset_index(drop=True)
    if rows.empty:
        raise InputError(
            f"week: history.csv has no rows in the week of {monday}",
            field="week",
            expected=f"a Monday between {min(dates)} and {max(dates)}",
        )
    return monday, rows


def _prepare(
    data_dir: Path, scenarios: Sequence[SweepScenario], week: dt.date | None
) -> tuple[_Site, dt.date, dict[str, pd.DataFrame]]:
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(
            f"data: {data_dir} is not a folder", field="data", expected="a site folder"
        )
    site = load_site_data(data_dir)
    history_path = data_dir / "history.csv"
    if not history_path.is_file():
        raise InputError(
            f"data: {history_path} is missing",
            field="data",
            expected="a site folder with history.csv",
        )
    tz = site.site.tz
    history = load_demand(history_path, tz=tz)
    projects = dict(site.projects)
    last_open = max(
        7 if p.opening is None else max(p.opening.hours, default=1) for p in projects.values()
    )
    monday, demand = _week(history, tz, week, last_open)
    unknown = sorted(set(demand["project"].astype(str)) - set(projects))
    if unknown:
        raise InputError(
            f"history.csv: project {unknown[0]!r} is not in projects.csv",
            field="project",
            row=unknown[0],
            expected="one of " + ", ".join(sorted(projects)),
        )
    interval_min = infer_interval_min(demand)
    settings = CostSettings(grade_rates_eur_per_h=grade_rates(site.agents))
    rates = project_rates(projects, site.agents, settings)
    per_project = {
        str(p): rows.sort_values("ts", kind="stable").reset_index(drop=True)
        for p, rows in demand.groupby("project", sort=True)
    }
    missing = sorted(set(per_project) - set(rates))
    if missing:
        raise InputError(
            f"agents.csv: no agent holds project {missing[0]!r}, so its hourly cost is unknown",
            field="skills",
            row=missing[0],
            expected="at least one agent per project",
        )
    for s in scenarios:  # contract changes: checked before any task runs
        try:
            changed_contracts(projects, s.contract_changes())
        except InputError as exc:
            raise InputError(
                f"{s.source or s.name}: {exc}", field=exc.field, row=exc.row, expected=exc.expected
            ) from exc
    return _Site(tz, interval_min, projects, rates, settings), monday, per_project


def _chunks(replications: int, chunk_replications: int) -> list[tuple[int, int]]:
    """(first, count) of each chunk of a simulation: ``chunk_replications`` replications
    each, in order, the last one the rest."""
    return [
        (first, min(chunk_replications, replications - first))
        for first in range(0, replications, chunk_replications)
    ]


def _tasks(
    scenarios: Sequence[SweepScenario],
    site: _Site,
    projects: Sequence[str],
    *,
    replications: int,
    seed: int,
    chunk_replications: int,
) -> list[Task]:
    tasks: list[Task] = []
    for s in scenarios:
        about = f"scenario {s.name!r}: {s.describe()}"
        parts: list[Ref] = []
        outbound = tuple(p for p in projects if site.projects[p].target is None)
        for p in projects:
            project = site.projects[p]
            if project.target is not None:
                sim_key = f"{s.name}/{p}/simulate"
                # the seed comes from the simulation's key, whatever the chunks
                sim_seed = seed_for(sim_key, seed)
                inputs = (s, project, Shared(f"demand/{p}"), Shared("site"))
                spans = _chunks(replications, chunk_replications)
                if len(spans) == 1:
                    tasks.append(
                        Task(
                            sim_key,
                            _simulate,
                            (*inputs, replications, sim_seed),
                            about=f"{about}; project {p}; {replications} replications",
                            group=f"{s.name}/scenario",
                        )
                    )
                else:
                    for i, (first, count) in enumerate(spans):
                        tasks.append(
                            Task(
                                f"{sim_key}/{i}",
                                _simulate_chunk,
                                (*inputs, sim_seed, first, count),
                                about=f"{about}; project {p}; replications {first}…"
                                f"{first + count - 1} of {replications}",
                                group=f"{s.name}/simulations/{i}",
                            )
                        )
                    tasks.append(
                        Task(
                            sim_key,
                            _combine_simulation,
                            (
                                *inputs,
                                replications,
                                sim_seed,
                                *(Ref(f"{sim_key}/{i}") for i in range(len(spans))),
                            ),
                            about=f"{about}; project {p}; {replications} replications "
                            f"in {len(spans)} chunks",
                            group=f"{s.name}/scenario",
                        )
                    )
                parts.append(Ref(sim_key))
        tasks.append(
            Task(
                f"{s.name}/economics",
                _economics,
                (s, Shared("site"), outbound, *(Shared(f"demand/{p}") for p in outbound), *parts),
                about=about,
                group=f"{s.name}/scenario",
            )
        )
    return tasks


def sweep(
    data_dir: Path,
    scenarios: Sequence[SweepScenario],
    *,
    client: Client | None = None,
    week: dt.date | None = None,
    replications: int = 10,
    seed: int = 0,
    out: Path | None = None,
    progress: BatchProgress | None = None,
    chunk_replications: int = CHUNK_REPLICATIONS,
) -> SweepResult:
    """Staff, simulate and cost every scenario on the site's demand week (see the module
    docstring); serially with ``client=None``, else on that Dask client. Each simulation runs
    as tasks of at most ``chunk_replications`` replications, combined in one more task (one
    task when they all fit in one chunk); the results do not depend on it. With ``out``, the
    results are written there (``write_sweep``). Bad input raises ``InputError`` before any
    task runs; a task that fails at run time is in ``failures``, with the tasks that needed
    it, and the other scenarios finish."""
    clock = time.perf_counter()
    scenarios = tuple(scenarios)
    if not scenarios:
        raise InputError("scenarios: none given", field="grid", expected="at least one scenario")
    if len(scenarios) > MAX_SCENARIOS:
        raise InputError(
            f"scenarios: {len(scenarios):,}, more than {MAX_SCENARIOS:,}",
            field="grid",
            expected=f"at most {MAX_SCENARIOS} scenarios",
        )
    _check_names(scenarios)
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 2:
        raise InputError(
            f"replications: {replications!r}; at least 2 are needed for a confidence interval",
            field="replications",
            expected="an integer >= 2",
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"seed: {seed!r} is not an integer >= 0", field="seed", expected=">= 0")
    if (
        isinstance(chunk_replications, bool)
        or not isinstance(chunk_replications, int)
        or chunk_replications < 1
    ):
        raise InputError(
            f"chunk_replications: {chunk_replications!r} is not an integer >= 1",
            field="chunk_replications",
            expected="replications per simulation task, >= 1",
        )
    site, monday, demand = _prepare(Path(data_dir), scenarios, week)
    projects = sorted(demand)
    tasks = _tasks(
        scenarios,
        site,
        projects,
        replications=replications,
        seed=seed,
        chunk_replications=chunk_replications,
    )
    t_prepare = time.perf_counter()
    shared: dict[str, object] = {"site": site} | {f"demand/{p}": f for p, f in demand.items()}
    batch = run_graph(tasks, client=client, shared=shared, progress=progress)
    t_run = time.perf_counter()
    summary, by_project = _frames(
        scenarios,
        demand,
        site,
        batch.results,
        batch.failures,
        _chunks(replications, chunk_replications),
    )
    t_done = time.perf_counter()
    result = SweepResult(
        summary=summary,
        by_project=by_project,
        failures=batch.failures,
        batch=SweepRun(
            ran_on=batch.ran_on,
            workers=batch.workers,
            wall_s=batch.wall_s,
            tasks=len(tasks),
            task_s=dict(batch.task_s),
            dependencies={t.key: t.refs() for t in tasks},
            groups={t.key: t.runs_in for t in tasks},
        ),
        scenarios=scenarios,
        week=monday,
        tz=site.tz,
        interval_min=site.interval_min,
        replications=replications,
        seed=seed,
        chunk_replications=chunk_replications,
        timings_s={
            "prepare": t_prepare - clock,
            "run": t_run - t_prepare,
            "gather": t_done - t_run,
        },
    )
    if out is not None:
        result = write_sweep(result, Path(out))
    return result


def _strata(values: Sequence[tuple[float, float, float, float]]) -> tuple[float, float, float]:
    """Offered-weighted mean SL and its 95 % bounds over independent projects: (weight, sl,
    lo, hi) per project; the half-widths add in quadrature."""
    weights = np.array([v[0] for v in values])
    if not len(values) or weights.sum() <= 0:
        return math.nan, math.nan, math.nan
    w = weights / weights.sum()
    sl = float(np.dot(w, [v[1] for v in values]))
    half = float(np.sqrt(np.sum((w * (np.array([v[3] - v[2] for v in values]) / 2.0)) ** 2)))
    return sl, max(sl - half, 0.0), min(sl + half, 1.0)


def _frames(
    scenarios: Sequence[SweepScenario],
    demand: Mapping[str, pd.DataFrame],
    site: _Site,
    results: Mapping[str, Any],
    failures: Sequence[TaskFailure],
    spans: Sequence[tuple[int, int]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    failed = {f.key for f in failures if not f.skipped}
    # a simulation in chunks: a chunk that failed fails it (the combining task is skipped)
    sim_tasks = (
        ("simulate", *(f"simulate/{i}" for i in range(len(spans))))
        if len(spans) > 1
        else ("simulate",)
    )
    projects = sorted(demand)
    rows: list[dict[str, object]] = []
    summary: list[dict[str, object]] = []
    for s in scenarios:
        shrinkage = s.staffing.shrinkage
        econ = results.get(f"{s.name}/economics")
        money = (
            {str(r["project"]): r for r in econ.by_project.to_dict(orient="records")}
            if isinstance(econ, _Economics)
            else {}
        )
        changed = {
            c.project: c.scenario for c in changed_contracts(site.projects, s.contract_changes())
        }
        agents_at: list[pd.Series] = []
        n_failed = 0
        levels: list[tuple[float, float, float, float]] = []
        mine: list[dict[str, object]] = []
        for p in projects:
            project = site.projects[p]
            sim = results.get(f"{s.name}/{p}/simulate")
            staff = (
                sim.staffing
                if isinstance(sim, _Simulated)
                else econ.staffed.get(p)
                if isinstance(econ, _Economics)
                else None
            )
            broken = [t for t in sim_tasks if f"{s.name}/{p}/{t}" in failed]
            if project.target is None and f"{s.name}/economics" in failed:
                broken.append("economics")
            n_failed += bool(broken)
            row: dict[str, object] = dict.fromkeys(PROJECT_COLUMNS, math.nan)
            contract = changed.get(p, project.contract)
            row |= {
                "scenario": s.name,
                "project": p,
                "kind": project.kind.value,
                "billing": BillingModel(contract.billing).value,
                "rate_eur": contract.rate_eur,
                "failed": broken[0] if broken else "",
            }
            if isinstance(staff, _Staffing):
                row |= {
                    "calls": staff.calls,
                    "agent_hours": staff.agent_hours,
                    "fte": staff.agent_hours / (1.0 - shrinkage) / DEFAULT_FULL_TIME_WEEK_H,
                    "peak_agents": staff.peak_agents,
                    "erlang_sl": staff.erlang_sl,
                }
                agents_at.append(pd.Series(staff.agents, index=demand[p]["ts"]))
            if isinstance(sim, _Simulated):
                row |= {
                    "offered": sim.offered,
                    "sl": sim.sl,
                    "sl_lo": sim.sl_lo,
                    "sl_hi": sim.sl_hi,
                    "abandon_rate": sim.abandon_rate,
                    "asa_s": sim.asa_s,
                    "occupancy": sim.occupancy,
                    "answered": sim.offered * (1.0 - sim.abandon_rate),
                }
                levels.append((sim.offered, sim.sl, sim.sl_lo, sim.sl_hi))
            elif project.target is None and isinstance(staff, _Staffing):
                row["answered"] = staff.calls
            m = money.get(p)
            if m is not None:
                for c in (
                    "revenue_eur",
                    "revenue_eur_lo",
                    "revenue_eur_hi",
                    "cost_eur",
                    "margin_eur",
                    "margin_eur_lo",
                    "margin_eur_hi",
                    "margin_pct",
                ):
                    row[c] = m[c]
            mine.append(row)
        rows.extend(mine)
        sl, sl_lo, sl_hi = _strata(levels)
        offered = math.fsum(v[0] for v in levels)
        abandoned = _sum(_f(r["offered"]) * _f(r["abandon_rate"]) for r in mine)
        calls_sl = [(_f(r["calls"]), _f(r["erlang_sl"])) for r in mine]
        calls_sl = [(c, v) for c, v in calls_sl if not math.isnan(v)]
        calls_total = math.fsum(c for c, _ in calls_sl)
        # agents at once over all projects (each project's agents are its own)
        peak = int(pd.concat(agents_at, axis=1).fillna(0).sum(axis=1).max()) if agents_at else 0
        agent_hours = _sum(_f(r["agent_hours"]) for r in mine)
        line: dict[str, object] = {"scenario": s.name, **s.modifiers()}
        line |= {
            "calls": _sum(_f(r["calls"]) for r in mine),
            "agent_hours": agent_hours,
            "fte": agent_hours / (1.0 - shrinkage) / DEFAULT_FULL_TIME_WEEK_H,
            "peak_agents": peak,
            "erlang_sl": (
                math.fsum(c * v for c, v in calls_sl) / calls_total if calls_total > 0 else math.nan
            ),
            "offered": offered,
            "sl": sl,
            "sl_lo": sl_lo,
            "sl_hi": sl_hi,
            "abandon_rate": abandoned / offered if offered > 0 else math.nan,
            "n_failed_projects": n_failed,
        }
        if isinstance(econ, _Economics):
            line |= _totals(econ)
        else:
            line |= {
                c: math.nan for c in SUMMARY_COLUMNS if c.startswith(("revenue", "cost", "margin"))
            }
        summary.append(line)
    frame = pd.DataFrame(summary)
    frame["frontier"] = pareto_frontier(frame)
    frame = frame[list(SUMMARY_COLUMNS)]
    return frame, pd.DataFrame(rows, columns=list(PROJECT_COLUMNS))


def _f(value: object) -> float:
    return float(value) if isinstance(value, int | float | np.number) else math.nan


def _sum(values: Iterable[float]) -> float:
    """The sum of the values that are not NaN (failed projects have none)."""
    return math.fsum(v for v in values if not math.isnan(v))


def _totals(econ: _Economics) -> dict[str, float]:
    f = econ.by_project
    out = {
        c: math.fsum(f[c].to_numpy(dtype=np.float64))
        for c in (
            "revenue_eur",
            "revenue_eur_lo",
            "revenue_eur_hi",
            "cost_eur",
            "margin_eur",
            "margin_eur_lo",
            "margin_eur_hi",
        )
    }
    revenue = out["revenue_eur"]
    out["margin_pct"] = 100.0 * out["margin_eur"] / revenue if revenue else math.nan
    return out


def pareto_frontier(summary: pd.DataFrame) -> list[bool]:
    """Per row of a summary frame: is the scenario on the margin-vs-SL frontier — no other
    scenario has at least its SL and its margin, and more of one? Rows without both are not."""
    sl = summary["sl"].to_numpy(dtype=np.float64)
    margin = summary["margin_eur"].to_numpy(dtype=np.float64)
    ok = ~(np.isnan(sl) | np.isnan(margin))
    out = []
    for i in range(len(summary)):
        if not ok[i]:
            out.append(False)
            continue
        better = ok & (sl >= sl[i]) & (margin >= margin[i]) & ((sl > sl[i]) | (margin > margin[i]))
        out.append(not bool(better.any()))
    return out


# --------------------------------------------------------------------------------------------
# files


def scenario_file_name(name: str) -> str:
    """The file of a scenario's results: its name made safe for any file system, plus a short
    hash of the exact name (two names that clean up alike stay apart)."""
    safe = re.sub(r"[^A-Za-z0-9._=+-]+", "_", name).strip("._") or "scenario"
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{safe[:80]}-{digest}.json"


def _json_value(value: object) -> object:
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def write_sweep(result: SweepResult, out: Path) -> SweepResult:
    """Write the sweep to the folder ``out`` on this machine (the client's side: workers
    write nothing): ``sweep_summary.csv``, ``sweep_projects.csv``, ``sweep.html`` (margin vs
    SL with the Pareto frontier) and ``scenarios/<name>.json`` per scenario with economics
    (its summary row and project rows, no timings). Every file is written to a temporary file
    and renamed: the same results give the same bytes, so a re-run replaces a file by an equal
    one. Returns the result with ``files``."""
    out = Path(out)
    where = "a writable folder"
    files: dict[str, Path] = {
        "sweep_summary.csv": write_csv_atomic(result.summary, out / "sweep_summary.csv"),
        "sweep_projects.csv": write_csv_atomic(result.by_project, out / "sweep_projects.csv"),
    }
    for rec in result.summary.to_dict(orient="records"):
        name = str(rec["scenario"])
        if int(str(rec["n_failed_projects"])) or math.isnan(float(str(rec["margin_eur"]))):
            continue
        projects = result.by_project[result.by_project["scenario"] == name]
        doc = {
            "key": f"{name}/economics",
            "scenario": name,
            "week": result.week.isoformat(),
            "tz": result.tz,
            "replications": result.replications,
            "seed": result.seed,
            "summary": {str(k): _json_value(v) for k, v in rec.items()},
            "projects": [
                {str(k): _json_value(v) for k, v in r.items()}
                for r in projects.to_dict(orient="records")
            ],
        }
        text = json.dumps(doc, indent=1, sort_keys=True, allow_nan=False) + "\n"
        path = out / "scenarios" / scenario_file_name(name)
        files[f"scenarios/{path.name}"] = write_text_atomic(
            text, path, expected="a writable folder"
        )
    html = sweep_figure(result).to_html(include_plotlyjs=True, full_html=True, div_id="sweep")
    page = write_text_atomic(html, out / "sweep.html", expected=where)
    files["sweep.html"] = page
    return replace(result, files=files)


def sweep_figure(result: SweepResult) -> Any:
    """Margin vs simulated SL, one point per scenario with both 95 % intervals as error bars,
    the Pareto frontier (the most margin for a given SL) drawn as a line; hover names the
    scenario and its modifiers."""
    import plotly.graph_objects as go

    s = result.summary.dropna(subset=["sl", "margin_eur"])
    hover = [
        f"{rec['scenario']}<br>agent-h {float(str(rec['agent_hours'])):,.0f}, "
        f"peak {rec['peak_agents']} agents<br>SL {float(str(rec['sl'])):.3f} "
        f"({float(str(rec['sl_lo'])):.3f}–{float(str(rec['sl_hi'])):.3f})<br>margin "
        f"{float(str(rec['margin_eur'])):,.0f} EUR ({float(str(rec['margin_pct'])):.1f} %)"
        for rec in s.to_dict(orient="records")
    ]
    fig = go.Figure()
    fig.add_scatter(
        x=s["sl"],
        y=s["margin_eur"],
        mode="markers",
        name="scenario",
        text=hover,
        hoverinfo="text",
        marker={
            "size": 8,
            "color": s["agent_hours"],
            "colorscale": "Viridis",
            "colorbar": {"title": "agent-h"},
        },
        error_x={
            "type": "data",
            "symmetric": False,
            "array": s["sl_hi"] - s["sl"],
            "arrayminus": s["sl"] - s["sl_lo"],
            "thickness": 0.8,
            "color": "#999",
        },
        error_y={
            "type": "data",
            "symmetric": False,
            "array": s["margin_eur_hi"] - s["margin_eur"],
            "arrayminus": s["margin_eur"] - s["margin_eur_lo"],
            "thickness": 0.8,
            "color": "#999",
        },
    )
    front = s[s["frontier"]].sort_values("sl")
    fig.add_scatter(
        x=front["sl"],
        y=front["margin_eur"],
        mode="lines+markers",
        name="Pareto frontier",
        line={"color": "#d62728", "width": 2},
        marker={"size": 11, "symbol": "circle-open", "color": "#d62728"},
        text=front["scenario"],
        hoverinfo="text",
    )
    fig.update_layout(
        title=(
            f"What-if sweep: {len(result.summary)} scenarios, week of {result.week} "
            f"({result.replications} replications, seed {result.seed}); margin vs simulated SL"
        ),
        xaxis_title="simulated service level (offered-weighted, 95 % interval)",
        yaxis_title="margin EUR per week (95 % interval)",
        template="plotly_white",
        height=650,
    )
    return fig
