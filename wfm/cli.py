"""The ``wfm`` command line (adapter layer): staffing what-ifs, forecasting, scheduling, simulation,
the dialer and the sample centre.

Every command calls ``wfm.services``; errors print one line on stderr and exit with code 2.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
import threading
from collections.abc import Hashable, Mapping
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Annotated, NoReturn

import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from typer.exceptions import TyperException

from wfm.domain import BillingModel
from wfm.errors import InputError, WfmError
from wfm.services.dialer import DialerReport, RuleCompliance
from wfm.services.forecasting import (
    MODEL_NAMES,
    BacktestResult,
    ForecastResult,
    auto_choices,
    check_model,
)
from wfm.services.simulation import SimulationReport
from wfm.services.staffing import IntervalStaffing, Scenario, WhatIfResult, staff_interval

if TYPE_CHECKING:  # the scheduling service loads OR-Tools: imported when `wfm schedule` runs
    from wfm.batch.sweep import SweepResult
    from wfm.services.economics import WhatIfEconomics
    from wfm.services.replan import ReplanResult
    from wfm.services.scheduling import ScheduleRun

__all__ = ["app", "main"]

app = typer.Typer(
    name="wfm",
    help="Workforce management for outsourced, multi-project contact centres.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


class ModelOption(StrEnum):
    ERLANG_C = "erlang-c"
    ERLANG_A = "erlang-a"

    @property
    def engine_name(self) -> str:
        return self.value.replace("-", "_")


def _fail(message: str) -> NoReturn:
    """One line on stderr (a multi-line message is joined), exit code 2."""
    line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    sys.stderr.write(f"wfm: error: {line}\n")
    raise SystemExit(2)


def _fmt(value: float, digits: int = 3) -> str:
    return "∞" if math.isinf(value) else f"{value:.{digits}f}"


def _json_default(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(type(value).__name__)


@app.command()
def staff(
    calls: Annotated[float, typer.Option(help="Calls offered in the interval.")],
    aht_s: Annotated[float, typer.Option("--aht-s", help="Average handle time, seconds.")],
    sl: Annotated[float, typer.Option(help="Service-level target, a share (0.8 = 80 %).")],
    within_s: Annotated[
        float, typer.Option("--within-s", help="Answer-time threshold of the target, seconds.")
    ],
    interval_min: Annotated[int, typer.Option("--interval-min", help="Interval length.")] = 30,
    model: Annotated[ModelOption, typer.Option(help="Queueing model.")] = ModelOption.ERLANG_C,
    patience_s: Annotated[
        float | None,
        typer.Option("--patience-s", help="Mean caller patience, seconds (Erlang A)."),
    ] = None,
    shrinkage: Annotated[float, typer.Option(help="Share of paid time not on the phones.")] = 0.0,
    max_occupancy: Annotated[
        float | None, typer.Option("--max-occupancy", help="Occupancy ceiling, a share.")
    ] = None,
    max_asa_s: Annotated[
        float | None, typer.Option("--max-asa-s", help="Average speed of answer ceiling, s.")
    ] = None,
    max_abandon: Annotated[
        float | None,
        typer.Option("--max-abandon", help="Abandonment ceiling, a share (Erlang A)."),
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Contacts an agent handles at once (chat).")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Required agents for one interval, and the service they give."""
    if model is ModelOption.ERLANG_A and patience_s is None:
        _fail("--patience-s is required with --model erlang-a")
    result = staff_interval(
        calls,
        interval_min=interval_min,
        aht_s=aht_s,
        sl_target=sl,
        answer_within_s=within_s,
        model="erlang_a" if model is ModelOption.ERLANG_A else "erlang_c",
        patience_s=patience_s,
        shrinkage=shrinkage,
        max_occupancy=max_occupancy,
        max_asa_s=max_asa_s,
        max_abandon_rate=max_abandon,
        concurrency=concurrency,
    )
    if as_json:
        keys = ("agents", "sl", "asa_s", "occupancy", "abandon_rate", "fte")
        full = result.as_dict()
        payload = {k: full[k] for k in keys} | {
            "p_wait": full["p_wait"],
            "load_erl": full["load_erl"],
            "model": full["model"],
        }
        typer.echo(json.dumps(payload))
        return
    _print_staff(result)


def _print_staff(r: IntervalStaffing) -> None:
    table = Table(
        title=f"{r.calls:g} calls / {r.interval_min} min, AHT {r.aht_s:g} s",
        caption=f"target {r.sl_target:g} within {r.answer_within_s:g} s, {r.model}",
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("offered load (Erlangs)", f"{r.load_erl:.3f}"),
        ("agents", str(r.agents)),
        ("service level", _fmt(r.sl)),
        ("ASA (s)", _fmt(r.asa_s, 1)),
        ("occupancy", _fmt(r.occupancy)),
        ("probability of waiting", _fmt(r.p_wait)),
        ("abandonment", _fmt(r.abandon_rate)),
        (f"FTE at shrinkage {r.shrinkage:g}", f"{r.fte:.2f}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    Console().print(table)


@app.command()
def whatif(
    demand: Annotated[Path, typer.Option(help="History or demand CSV: project, ts, calls, aht_s.")],
    projects: Annotated[
        Path | None,
        typer.Option(
            help="Site folder with projects.csv and site.json (default: beside --demand)."
        ),
    ] = None,
    tz: Annotated[str | None, typer.Option(help="Site time zone (default: site.json).")] = None,
    start: Annotated[
        str | None, typer.Option(help="First local day to include, YYYY-MM-DD.")
    ] = None,
    end: Annotated[str | None, typer.Option(help="Last local day to include, YYYY-MM-DD.")] = None,
    calls_scale: Annotated[float, typer.Option("--calls-scale", help="Volume factor.")] = 1.0,
    aht_scale: Annotated[float, typer.Option("--aht-scale", help="Handle-time factor.")] = 1.0,
    sl: Annotated[
        float | None, typer.Option(help="Scenario SL target for every project (share).")
    ] = None,
    within_s: Annotated[
        float | None, typer.Option("--within-s", help="Scenario answer-time threshold, s.")
    ] = None,
    shrinkage: Annotated[float, typer.Option(help="Shrinkage for FTE (base and scenario).")] = 0.3,
    model: Annotated[
        ModelOption, typer.Option(help="Scenario queueing model (the base is Erlang C).")
    ] = ModelOption.ERLANG_C,
    patience_s: Annotated[
        float | None,
        typer.Option("--patience-s", help="Patience for Erlang A (default: the project's)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON to stdout.")] = False,
    csv: Annotated[Path | None, typer.Option(help="Write the per-day table as CSV.")] = None,
    html: Annotated[Path | None, typer.Option(help="Write a plotly page.")] = None,
    requirements_out: Annotated[
        Path | None,
        typer.Option(
            "--requirements-out",
            help="Write the scenario's agents required per project and interval (the input "
            "of wfm schedule).",
        ),
    ] = None,
    economics: Annotated[
        bool,
        typer.Option(
            "--economics",
            help="Also show revenue, cost and margin, base vs scenario (needs agents.csv).",
        ),
    ] = False,
    billing: Annotated[
        list[str] | None,
        typer.Option(
            "--billing",
            metavar="PROJECT=MODEL",
            help=f"Scenario billing model of a project ({', '.join(BillingModel)}); "
            "repeatable; a new model needs --rate-eur. Implies --economics.",
        ),
    ] = None,
    rate_eur: Annotated[
        list[str] | None,
        typer.Option(
            "--rate-eur",
            metavar="PROJECT=RATE",
            help="Scenario rate of a project in its (new) billing model's unit; repeatable. "
            "Implies --economics.",
        ),
    ] = None,
) -> None:
    """Base vs scenario staffing per project and day (agent-hours, FTE, peak, SL)."""
    from wfm.services.staffing import whatif_files, write_requirements_csv

    changes = _contract_change_options(billing or [], rate_eur or [])
    site = projects or demand.parent
    if changes:
        economics = True
        _check_contract_changes(site, changes)
    scenario = Scenario(
        calls_scale=calls_scale,
        aht_scale=aht_scale,
        sl_target=sl,
        answer_within_s=within_s,
        shrinkage=shrinkage,
        model="erlang_a" if model is ModelOption.ERLANG_A else "erlang_c",
        patience_s=patience_s,
    )
    result = whatif_files(
        demand,
        scenario=scenario,
        projects_dir=projects,
        tz=tz,
        start=_date("start", start),
        end=_date("end", end),
    )
    if csv is not None:
        csv.parent.mkdir(parents=True, exist_ok=True)
        result.daily.to_csv(csv, index=False, float_format="%.6g")
    if requirements_out is not None:
        write_requirements_csv(result, requirements_out)
    if html is not None:
        from wfm.services.plots import write_whatif_html

        write_whatif_html(result, html)
    money = None
    if economics:
        from wfm.services.economics import whatif_economics_files

        money = whatif_economics_files(result, site, contract_changes=changes)
    if as_json:
        payload: dict[str, object] = {
            "interval_min": result.interval_min,
            "tz": result.tz,
            "by_project": _records(result.by_project),
            "daily": _records(result.daily),
        }
        if money is not None:
            payload["economics"] = _records(money.delta)
            payload["contract_changes"] = [c.as_dict() for c in money.contract_changes]
        typer.echo(json.dumps(payload, default=_json_default, allow_nan=False))
        return
    _print_whatif(result, csv=csv, html=html)
    if money is not None:
        _print_whatif_economics(money)


def _pairs(option: str, values: list[str], what: str) -> dict[str, str]:
    """``PROJECT=VALUE`` options as a dict; a malformed or repeated project fails."""
    out: dict[str, str] = {}
    for value in values:
        project, sep, rhs = (part.strip() for part in value.partition("="))
        if not sep or not project or not rhs:
            _fail(f"{option} {value}: not PROJECT={what}; expected e.g. {option} retail={what}")
        if project in out:
            _fail(
                f"{option} {value}: project {project!r} is given twice; "
                f"expected one {option} per project"
            )
        out[project] = rhs
    return out


def _contract_change_options(
    billing: list[str], rate_eur: list[str]
) -> dict[str, tuple[BillingModel | None, float | None]]:
    """``--billing PROJECT=MODEL`` and ``--rate-eur PROJECT=RATE`` as the service's
    ``contract_changes``; the projects and a missing rate are checked against the site by
    ``_check_contract_changes``."""
    models = _pairs("--billing", billing, "MODEL")
    rates = _pairs("--rate-eur", rate_eur, "RATE")
    changes: dict[str, tuple[BillingModel | None, float | None]] = {}
    for project in sorted(models.keys() | rates.keys()):
        model: BillingModel | None = None
        if project in models:
            try:
                model = BillingModel(models[project])
            except ValueError:
                _fail(
                    f"--billing {project}={models[project]}: {models[project]!r} is not a "
                    f"billing model; expected one of {', '.join(BillingModel)}"
                )
        rate: float | None = None
        if project in rates:
            text = rates[project]
            try:
                rate = float(text)
            except ValueError:
                rate = math.nan
            if not (math.isfinite(rate) and rate >= 0.0):
                _fail(
                    f"--rate-eur {project}={text}: {text!r} is not a finite number >= 0; "
                    "expected the rate in EUR per unit of the project's billing model"
                )
        changes[project] = (model, rate)
    return changes


def _check_contract_changes(
    site: Path, changes: Mapping[str, tuple[BillingModel | None, float | None]]
) -> None:
    """Unknown projects and a new billing model without its rate fail before the what-if
    runs, naming the option (the service names the field)."""
    from wfm.services.economics import changed_contracts
    from wfm.services.sitedata import load_projects

    stored = load_projects(site)
    try:
        changed_contracts(stored, changes)
    except InputError as exc:
        project = str(exc.row)
        model, rate = changes[project]
        message = str(exc).removeprefix(f"{exc.field}: ")
        if exc.field == "rate_eur":  # a new billing model without its rate
            _fail(f"--rate-eur: {message}; expected --rate-eur {project}=RATE, {exc.expected}")
        option = (
            f"--billing {project}={model}"
            if model is not None
            else f"--rate-eur {project}={rate:g}"
        )
        _fail(f"{option}: {message}; expected {exc.expected}")


def _print_whatif_economics(money: WhatIfEconomics) -> None:
    for change in money.contract_changes:
        base, scen = change.base, change.scenario
        Console().print(
            f"scenario billing — {change.project}: {BillingModel(base.billing).value} "
            f"{base.rate_eur:.2f} → {BillingModel(scen.billing).value} {scen.rate_eur:.2f}",
            highlight=False,
        )
    table = Table(
        title="Economics (EUR): base → scenario",
        caption="paid h = required agent-hours ÷ (1 − shrinkage); SL from Erlang",
    )
    table.add_column("project", no_wrap=True)
    for name in ("revenue", "cost", "margin", "Δ margin"):
        table.add_column(name, justify="right", no_wrap=True)
    rows = money.delta.to_dict(orient="records")
    for rec in rows:
        cells = [str(rec["project"])]
        for key in ("revenue_eur", "cost_eur", "margin_eur"):
            cells.append(
                f"{float(str(rec[f'base_{key}'])):,.0f}→{float(str(rec[f'scenario_{key}'])):,.0f}"
            )
        cells.append(f"{float(str(rec['delta_margin_eur'])):+,.0f}")
        table.add_row(*cells)
    b, s = money.base.totals, money.scenario.totals
    table.add_row(
        "total",
        f"{b.revenue_eur:,.0f}→{s.revenue_eur:,.0f}",
        f"{b.cost_eur:,.0f}→{s.cost_eur:,.0f}",
        f"{b.margin_eur:,.0f}→{s.margin_eur:,.0f}",
        f"{s.margin_eur - b.margin_eur:+,.0f}",
    )
    Console().print(table)


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as JSON-ready dicts: NaN (not applicable) becomes null, dates ISO strings."""
    out: list[dict[str, object]] = []
    for rec in frame.to_dict(orient="records"):
        clean: dict[str, object] = {}
        for key, value in rec.items():
            if isinstance(value, float) and not math.isfinite(value):
                clean[str(key)] = None
            elif hasattr(value, "item"):
                clean[str(key)] = value.item()
            else:
                clean[str(key)] = value
        out.append(clean)
    return out


def _date(name: str, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail(f"--{name}: {value!r} is not a date; expected YYYY-MM-DD")


def _cell(rec: Mapping[Hashable, object], key: str, digits: int) -> str:
    """``base → scenario`` for one metric, ``—`` where it does not apply (outbound SL)."""
    base = float(str(rec[f"base_{key}"]))
    scen = float(str(rec[f"scenario_{key}"]))
    if math.isnan(base) and math.isnan(scen):
        return "—"
    return f"{base:.{digits}f}→{scen:.{digits}f}"


def _print_whatif(r: WhatIfResult, *, csv: Path | None, html: Path | None) -> None:
    console = Console()
    s = r.scenario
    title = (
        f"What-if: calls ×{s.calls_scale:g}, AHT ×{s.aht_scale:g}, {s.model}"
        + (f", SL {s.sl_target:g}" if s.sl_target is not None else "")
        + (f"/{s.answer_within_s:g}s" if s.answer_within_s is not None else "")
        + f", shrinkage {s.shrinkage:g}"
    )
    daily = r.daily
    per_day = len(daily) <= 60
    table = Table(
        title=title,
        caption="base → scenario" + (" per project and day" if per_day else " per project"),
    )
    table.add_column("project", no_wrap=True)
    if per_day:
        table.add_column("date", no_wrap=True, min_width=10)
    for name in ("agent-hours", "FTE", "peak", "SL"):
        table.add_column(name, justify="right", no_wrap=True)
    rows = daily if per_day else r.by_project
    for rec in rows.to_dict(orient="records"):
        cells = [str(rec["project"])]
        if per_day:
            cells.append(str(rec["date"]))
        cells += [
            _cell(rec, "agent_hours", 1),
            _cell(rec, "fte", 1),
            _cell(rec, "peak_agents", 0),
            _cell(rec, "sl", 3),
        ]
        table.add_row(*cells)
    console.print(table)
    if not per_day:
        console.print(
            f"{len(daily)} project-days; see them with --start/--end, --csv FILE or --json."
        )
    for label, path in (("CSV", csv), ("HTML", html)):
        if path is not None:
            console.print(f"{label}: {path}")


@app.command()
def samples(
    out: Annotated[Path, typer.Option(help="Folder to write.")] = Path("data/samples"),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 20260105,
) -> None:
    """Generate the bundled sample centre (deterministic for a seed)."""
    from wfm.services.samples import generate_samples

    summary = generate_samples(out, seed=seed)
    console = Console()
    for path in summary.files:
        console.print(f"wrote {path}")


# --------------------------------------------------------------------------------------------
# forecasting

forecast_app = typer.Typer(
    help=(
        "Forecast calls, AHT and 80/95 % bounds per project and interval into a demand CSV "
        "(give exactly one of --at FILE and --horizon-days N), or backtest the models."
    ),
    no_args_is_help=False,
    pretty_exceptions_enable=False,
)
app.add_typer(forecast_app, name="forecast")

# the site options shared by `forecast` and `forecast backtest`
SiteTz = Annotated[
    str | None, typer.Option(help="Site time zone (default: site.json beside --history).")
]
SiteCountry = Annotated[
    str | None, typer.Option(help="Holiday calendar country (default: site.json).")
]
SiteSubdiv = Annotated[
    str | None, typer.Option(help="Holiday calendar subdivision (default: site.json).")
]
SiteEvents = Annotated[
    Path | None, typer.Option(help="Events CSV (default: events.csv beside --history).")
]

_MODEL_HELP = "auto (per project, from a backtest inside the history) or one of: " + ", ".join(
    n for n in MODEL_NAMES if n != "auto"
)


class _ProgressBar:
    """A transient rich progress bar on stderr, fed by a service's ``progress`` callback.

    It appears only on a terminal and only once the work has run for ``delay_s`` (so quick
    runs print nothing), and it is gone when the work ends: stdout carries only the result."""

    def __init__(self, title: str, *, delay_s: float = 1.0, percent: bool = False) -> None:
        self._console = Console(stderr=True)
        self._delay_s = delay_s
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn() if percent else MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self._console,
            transient=True,
        )
        self._task = self._progress.add_task(title, total=None)
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._shown = False
        self._closed = False

    def __enter__(self) -> _ProgressBar:
        if self._console.is_terminal and not self._console.is_dumb_terminal:
            self._timer = threading.Timer(self._delay_s, self._show)
            self._timer.daemon = True
            self._timer.start()
        return self

    def _show(self) -> None:
        with self._lock:
            if not self._closed:
                self._progress.start()
                self._shown = True

    def update(self, done: int, total: int, label: str) -> None:
        self._progress.update(self._task, completed=done, total=total, description=label)

    def fraction(self, label: str, fraction: float) -> None:
        """``update`` for callbacks that report a share done (0 … 1)."""
        done = 100.0 * min(max(fraction, 0.0), 1.0)
        self._progress.update(self._task, completed=done, total=100.0, description=label)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            if self._shown:
                self._progress.stop()


def _models_option(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise InputError(
            f"--models: {value!r} names no model",
            field="models",
            expected="comma-separated names, e.g. seasonal_naive,slot_mean_4",
        )
    for name in names:
        check_model(name)
    return names


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


@forecast_app.callback(invoke_without_command=True)
def forecast(
    ctx: typer.Context,
    history: Annotated[
        Path | None, typer.Option(help="History CSV: project, ts, calls[, aht_s].")
    ] = None,
    at: Annotated[
        Path | None, typer.Option(help="CSV of the intervals to forecast: project, ts.")
    ] = None,
    horizon_days: Annotated[
        int | None,
        typer.Option("--horizon-days", min=1, help="Forecast the next N days after the history."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Demand CSV to write.")] = None,
    model: Annotated[str, typer.Option(help=_MODEL_HELP)] = "auto",
    tz: SiteTz = None,
    country: SiteCountry = None,
    subdiv: SiteSubdiv = None,
    events: SiteEvents = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Forecast calls, AHT and 80/95 % bounds per project and interval into a demand CSV
    (exactly one of --at FILE and --horizon-days N); without a subcommand only."""
    given = [
        name
        for name, value in (
            ("--history", history),
            ("--at", at),
            ("--horizon-days", horizon_days),
            ("--out", out),
            ("--tz", tz),
            ("--country", country),
            ("--subdiv", subdiv),
            ("--events", events),
        )
        if value is not None
    ]
    if ctx.invoked_subcommand is not None:
        if given or model != "auto" or as_json:
            option = given[0] if given else ("--model" if model != "auto" else "--json")
            raise InputError(
                f"{option}: options of `wfm forecast` go after it, not before "
                f"`{ctx.invoked_subcommand}`; see wfm forecast {ctx.invoked_subcommand} --help",
                field=option.lstrip("-"),
            )
        return
    if history is None:
        raise InputError("--history: missing; expected the history CSV", field="history")
    if (at is None) == (horizon_days is None):
        raise InputError(
            "give exactly one of --at FILE and --horizon-days N"
            + (" (got both)" if at is not None else " (got neither)"),
            field="horizon_days",
            expected="--at FILE or --horizon-days N",
        )
    if out is None:
        raise InputError("--out: missing; expected the demand CSV to write", field="out")
    check_model(model)
    from wfm.services.forecasting import forecast_files

    with _ProgressBar(f"forecast ({model})") as bar:
        result = forecast_files(
            history,
            at_path=at,
            horizon_days=horizon_days,
            out_path=out,
            model=model,
            tz=tz,
            country=country,
            subdiv=subdiv,
            events_path=events,
            progress=bar.update,
        )
    if as_json:
        typer.echo(json.dumps(_forecast_payload(result), allow_nan=False))
        return
    _print_forecast(result)


def _forecast_payload(r: ForecastResult) -> dict[str, object]:
    return {
        "out": None if r.out_path is None else str(r.out_path),
        "model": r.model,
        "tz": r.tz,
        "horizon_days": r.horizon_days,
        "intervals": len(r.demand),
        "calls": float(r.demand["calls"].sum()),
        "projects": [
            {
                "project": p.project,
                "model": p.model,
                "intervals": p.intervals,
                "calls": p.calls,
                "mean_band_80": p.mean_band_80,
                "first_ts": None if p.first_ts is None else p.first_ts.isoformat(),
                "last_ts": None if p.last_ts is None else p.last_ts.isoformat(),
            }
            for p in r.projects
        ],
        "selection": {
            project: {m: _finite(v) for m, v in scores.items()}
            for project, scores in r.selection.items()
        },
        "timings_s": dict(r.timings_s),
    }


def _print_forecast(r: ForecastResult) -> None:
    console = Console()
    starts = [p.first_ts for p in r.projects if p.first_ts is not None]
    ends = [p.last_ts for p in r.projects if p.last_ts is not None]
    span = f"the next {r.horizon_days} days" if r.horizon_days is not None else "the --at intervals"
    if starts and ends:
        span += f", {min(starts):%Y-%m-%d} to {max(ends):%Y-%m-%d}"
    table = Table(
        title=f"Forecast ({r.model}) for {span} ({r.tz})",
        caption="80 % band: mean width of the 80 % prediction interval, calls per interval",
    )
    table.add_column("project", no_wrap=True)
    table.add_column("model", no_wrap=True)
    for name in ("dates", "intervals", "calls", "80 % band"):
        table.add_column(name, justify="right")
    for p in r.projects:
        dates = (
            "—"
            if p.first_ts is None or p.last_ts is None
            else f"{p.first_ts:%m-%d}…{p.last_ts:%m-%d}"
        )
        table.add_row(
            p.project,
            p.model,
            dates,
            str(p.intervals),
            f"{p.calls:,.0f}",
            f"{p.mean_band_80:.1f}",
        )
    console.print(table)
    console.print(f"wrote {r.out_path} ({len(r.demand)} intervals)")


@forecast_app.command("backtest")
def forecast_backtest(
    history: Annotated[Path, typer.Option(help="History CSV: project, ts, calls[, aht_s].")],
    origins: Annotated[int, typer.Option(min=1, help="Rolling origins (blocks).")] = 4,
    horizon_days: Annotated[
        int, typer.Option("--horizon-days", min=1, help="Days forecast from each origin.")
    ] = 10,
    models: Annotated[
        str | None,
        typer.Option(help="Comma-separated models to score (default: all but mstl, and auto)."),
    ] = None,
    tz: SiteTz = None,
    country: SiteCountry = None,
    subdiv: SiteSubdiv = None,
    events: SiteEvents = None,
    html: Annotated[Path | None, typer.Option(help="Write a plotly page.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON to stdout.")] = False,
) -> None:
    """Score the models on rolling origins: wMAPE, MASE, bias, interval coverage, AHT wMAPE."""
    from wfm.services.forecasting import backtest_files

    names = _models_option(models)
    with _ProgressBar("backtest") as bar:
        result = backtest_files(
            history,
            origins=origins,
            horizon_days=horizon_days,
            models=names,
            tz=tz,
            country=country,
            subdiv=subdiv,
            events_path=events,
            progress=bar.update,
        )
    if html is not None:
        from wfm.services.plots import write_backtest_html

        write_backtest_html(result, html)
    choice = auto_choices(result)
    if as_json:
        scores = result.scores
        payload = {
            "origins": [o.isoformat() for o in result.origins],
            "horizon_days": result.horizon_days,
            "models": sorted(str(m) for m in result.table()["model"].unique()),
            "scores": _records(result.table()),
            "by_horizon_day": _records(scores[scores["horizon_day"] > 0]),
            "auto_choice": choice,
            "timings_s": dict(result.timings_s),
            "html": None if html is None else str(html),
        }
        typer.echo(json.dumps(payload, default=_json_default, allow_nan=False))
        return
    _print_backtest(result, choice, html)


def _pct(value: object) -> str:
    v = float(str(value))
    if not math.isfinite(v):
        return "—"
    text = f"{100.0 * v:.1f}"
    return "0.0" if text == "-0.0" else text


def _print_backtest(r: BacktestResult, choice: Mapping[str, str], html: Path | None) -> None:
    console = Console()
    origins = ", ".join(o.isoformat() for o in r.origins)
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        collapse_padding=True,
        title=f"Backtest: {len(r.origins)} origins × {r.horizon_days} days ({origins})",
        caption=(
            "in %: wMAPE, bias, coverage of the 80/95 % intervals, AHT wMAPE; best wMAPE first; "
            "◀ the candidate auto's rule (lowest wMAPE) picks here; s: the model's "
            "fit + predict time over all projects and origins"
        ),
    )
    table.add_column("project", no_wrap=True)
    table.add_column("model", no_wrap=True)
    for name in ("wMAPE\n%", "MASE", "bias\n%", "cover\n80 %", "cover\n95 %", "AHT\n%", "s"):
        table.add_column(name, justify="right", no_wrap=True)
    previous: str | None = None
    for rec in r.table().to_dict(orient="records"):
        project, model = str(rec["project"]), str(rec["model"])
        if previous is not None and project != previous:
            table.add_section()
        mase = float(str(rec["mase"]))
        table.add_row(
            project if project != previous else "",
            f"{model} ◀" if choice.get(project) == model else model,
            _pct(rec["wmape"]),
            "—" if not math.isfinite(mase) else f"{mase:.2f}",
            _pct(rec["bias"]),
            _pct(rec["coverage_80"]),
            _pct(rec["coverage_95"]),
            _pct(rec["aht_wmape"]),
            f"{r.timings_s.get(model, float('nan')):.1f}",
        )
        previous = project
    console.print(table)
    if html is not None:
        console.print(f"HTML: {html}")


# --------------------------------------------------------------------------------------------
# scheduling


@app.command("schedule")
def schedule_command(
    requirements: Annotated[
        Path, typer.Option(help="Requirements CSV: project, ts, agents (fractional agents ok).")
    ],
    agents: Annotated[
        Path, typer.Option(help="Agents CSV (the columns of data/samples/agents.csv).")
    ],
    week: Annotated[str, typer.Option(help="The Monday of the week to plan, YYYY-MM-DD.")],
    out: Annotated[Path, typer.Option(help="Schedule CSV to write.")],
    rules: Annotated[
        Path | None, typer.Option(help="Shift rules, TOML or YAML (default: the built-in rules).")
    ] = None,
    projects: Annotated[
        Path | None,
        typer.Option(
            help="Site folder with projects.csv, opening_hours.csv (default: beside --agents)."
        ),
    ] = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Solver time budget, seconds (all stages).")
    ] = 120.0,
    previous: Annotated[
        Path | None,
        typer.Option(
            help="Earlier schedule CSV: last week (rest, days in a row) and/or this week's "
            "prior plan (kept where it costs little; a 'pinned' column keeps rows exactly)."
        ),
    ] = None,
    pin: Annotated[
        Path | None, typer.Option(help="Schedule CSV of this week's shifts to keep exactly.")
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Solver random seed.")] = 0,
    workers: Annotated[
        int, typer.Option(min=1, help="Solver threads (1 + a fixed seed: reproducible).")
    ] = 2,
    html: Annotated[Path | None, typer.Option(help="Write a plotly page.")] = None,
    tz: Annotated[
        str | None, typer.Option(help="Site time zone (default: site.json beside --agents).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Plan a week of shifts (OR-Tools CP-SAT): covers the requirements per project and
    interval under the shift rules and contracts, then checks the result with the
    independent validator."""
    from wfm.services.scheduling import SolveParams, schedule_files, write_schedule_csv

    monday = _date("week", week)
    if monday is None:  # not reached: --week is required
        _fail("--week: missing; expected YYYY-MM-DD")
    if not time_limit > 0:
        _fail(f"--time-limit: {time_limit:g} is not positive; expected seconds > 0")
    params = SolveParams(time_limit_s=time_limit, workers=workers, seed=seed)
    with _ProgressBar("schedule", percent=True) as bar:
        run = schedule_files(
            requirements,
            agents,
            week=monday,
            rules=rules,
            previous=previous,
            pin=pin,
            projects=projects,
            tz=tz,
            params=params,
            progress=bar.fraction,
        )
    write_schedule_csv(run, out)
    if html is not None:
        from wfm.services.plots import write_schedule_html

        write_schedule_html(run, html)
    if as_json:
        payload = _schedule_payload(run, out, html)
        typer.echo(json.dumps(payload, default=_json_default, allow_nan=False))
    else:
        _print_schedule(run, out, html)
    if not run.validation.ok:
        by_rule = ", ".join(f"{rule} {n}" for rule, n in sorted(run.validation.by_rule().items()))
        _fail(
            f"the validator found {len(run.validation.violations)} broken hard rules in the "
            f"schedule ({by_rule}); first: {run.validation.violations[0]}; written to {out} "
            "for inspection"
        )


def _schedule_payload(r: ScheduleRun, out: Path, html: Path | None) -> dict[str, object]:
    s = r.solution
    return {
        "out": str(out),
        "html": None if html is None else str(html),
        "tz": r.tz,
        "week": r.week.isoformat(),
        "interval_min": r.interval_min,
        "status": s.status,
        "objective": _finite(s.objective),
        "bound": _finite(s.bound),
        "gap": _finite(s.gap),
        "under_h": _finite(s.under_h),
        "over_h": _finite(s.over_h),
        "under_lower_bound_h": _finite(s.under_lower_bound_h),
        "under_gap": _finite(s.under_gap),
        "gap_split": None
        if s.gap_split is None
        else {
            "bound_h": _finite(s.gap_split.bound_h),
            "agents_h": _finite(s.gap_split.agents_h),
            "slots_h": _finite(s.gap_split.slots_h),
            "agents": [{"agent": a, "h": _finite(h)} for a, h in s.gap_split.agents],
        },
        "wall_s": s.wall_s,
        "changed_shifts": s.changed_shifts,
        "shifts": r.shifts,
        "segments": len(r.schedule),
        "coverage": _records(r.coverage),
        "penalties": [
            {
                "name": p.name,
                "value": _finite(p.value),
                "unit": p.unit,
                "weight": _finite(p.weight),
                "cost": _finite(p.cost),
            }
            for p in s.penalties
        ],
        "stages": [
            {
                "name": st.name,
                "status": st.status,
                "objective": _finite(st.objective),
                "bound": _finite(st.bound),
                "wall_s": st.wall_s,
            }
            for st in s.stages
        ],
        "params": {
            "time_limit_s": r.params.time_limit_s,
            "workers": r.params.workers,
            "seed": r.params.seed,
        },
        "validation": {
            "ok": r.validation.ok,
            "by_rule": r.validation.by_rule(),
            "under_h": r.validation.under_h,
            "over_h": r.validation.over_h,
            "violations": [
                {
                    "rule": v.rule,
                    "agent": v.agent,
                    "start": None if v.start is None else v.start.isoformat(),
                    "detail": v.detail,
                }
                for v in r.validation.violations
            ],
        },
        "notes": list(r.notes),
        "timings_s": dict(r.timings_s),
    }


def _num(value: float, digits: int = 1) -> str:
    return "—" if not math.isfinite(value) else f"{value:,.{digits}f}"


def _print_schedule(r: ScheduleRun, out: Path, html: Path | None) -> None:
    console = Console()
    s = r.solution
    last = r.week + dt.timedelta(days=6)
    cover = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        title=f"Coverage {r.week:%Y-%m-%d}…{last:%m-%d} ({r.tz})",
        caption="agent-hours over the week (the validator's count);\n"
        "covered: share of the required agent-hours met",
    )
    cover.add_column("project", no_wrap=True)
    for name in ("required", "scheduled", "under", "over", "covered %"):
        cover.add_column(name, justify="right", no_wrap=True)
    frame = r.coverage
    totals = frame[["required_h", "scheduled_h", "under_h", "over_h"]].sum()
    rows = [*frame.to_dict(orient="records")]
    if len(rows) > 1:
        rows.append({"project": "all", **{str(k): float(v) for k, v in totals.items()}})
    for i, rec in enumerate(rows):
        required = float(str(rec["required_h"]))
        under = float(str(rec["under_h"]))
        if i == len(frame) and i > 0:
            cover.add_section()
        cover.add_row(
            str(rec["project"]),
            _num(required),
            _num(float(str(rec["scheduled_h"]))),
            _num(under),
            _num(float(str(rec["over_h"]))),
            _pct(1.0 - under / required) if required > 0 else "—",
        )
    console.print(cover)

    pens = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        title="Penalties (the objective's parts)",
        caption="cost = value × weight (per project where weights differ)",
    )
    pens.add_column("penalty", no_wrap=True)
    for name in ("value", "unit", "weight", "cost"):
        pens.add_column(name, justify="left" if name == "unit" else "right", no_wrap=True)
    for p in s.penalties:
        pens.add_row(p.name, _num(p.value, 2), p.unit, f"{p.weight:.4g}", _num(p.cost, 2))
    pens.add_section()
    pens.add_row("objective", "", "", "", _num(s.objective, 2))
    console.print(pens)

    lim = r.params
    solve = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        title=f"Solve: {s.status} in {s.wall_s:.1f} s",
        caption=f"limit {lim.time_limit_s:g} s, {lim.workers} workers, seed {lim.seed};\n"
        "gap = (value − bound) ÷ value; stages in their own integer units",
    )
    for name in ("", "value", "bound", "gap %"):
        solve.add_column(name, justify="right" if name else "left", no_wrap=True)
    solve.add_row("objective", _num(s.objective, 2), _num(s.bound, 2), _pct(s.gap))
    solve.add_row(
        "under-coverage, agent-h",
        _num(s.under_h, 2),
        _num(s.under_lower_bound_h, 2),
        _pct(s.under_gap),
    )
    split = s.gap_split
    if split is not None:
        solve.add_row("  above bound: agents' weeks", _num(split.agents_h, 2), "", "")
        solve.add_row("  above bound: coverage", _num(split.slots_h, 2), "", "")
    solve.add_row("over-coverage, agent-h", _num(s.over_h, 2), "", "")
    if s.changed_shifts is not None:
        solve.add_row("changed shifts (vs --previous)", str(s.changed_shifts), "", "")
    solve.add_section()
    for st in s.stages:
        solve.add_row(
            f"stage {st.name}", _num(st.objective, 0), _num(st.bound, 0), f"{st.status.lower()}"
        )
    console.print(solve)
    if split is not None and split.agents:
        most = ", ".join(f"{a} {h:.2f} h" for a, h in split.agents[:5])
        console.print(
            f"gap in agents' weeks: {len(split.agents)} agents below their best relaxed week "
            f"at the bound's prices; most: {most}",
            highlight=False,
        )

    v = r.validation
    if v.ok:
        console.print("validator: ✓ no hard rule broken", highlight=False)
    else:
        from wfm.services.scheduling import RULES

        bad = Table(
            box=box.SIMPLE_HEAD,
            show_edge=False,
            title=f"Validator: ✗ {len(v.violations)} broken hard rules",
            title_style="bold red",
        )
        bad.add_column("rule", no_wrap=True)
        bad.add_column("violations", justify="right")
        bad.add_column("rule says")
        for rule, n in sorted(v.by_rule().items()):
            bad.add_row(rule, str(n), RULES.get(rule, ""))
        console.print(bad)
        for violation in v.violations[:10]:
            console.print(f"  {violation}", highlight=False, markup=False)
        if len(v.violations) > 10:
            console.print(f"  … {len(v.violations) - 10} more (see --json)", highlight=False)
    for note in r.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
    console.print(f"wrote {out} ({r.shifts} shifts, {len(r.schedule)} segments)", highlight=False)
    if html is not None:
        console.print(f"HTML: {html}", highlight=False)


# --------------------------------------------------------------------------------------------
# simulation


class HandleDistOption(StrEnum):
    EXPONENTIAL = "exponential"
    LOGNORMAL = "lognormal"


@app.command("simulate")
def simulate_command(
    demand: Annotated[
        Path, typer.Option(help="Demand CSV: project, ts, calls, aht_s (a forecast works).")
    ],
    schedule: Annotated[
        Path, typer.Option(help="Schedule CSV: agent, start, end, activity, project.")
    ],
    agents: Annotated[
        Path, typer.Option(help="Agents CSV: agent, skills (';'-separated, in priority order).")
    ],
    projects: Annotated[
        Path,
        typer.Option(help="Projects CSV: project, sl_target, answer_within_s, patience_s."),
    ],
    out: Annotated[Path, typer.Option(help="KPI CSV to write (per project and interval).")],
    replications: Annotated[
        int, typer.Option(min=2, help="Independent runs (for the 95 % intervals).")
    ] = 20,
    seed: Annotated[
        int, typer.Option(min=0, help="Random seed: the same seed, the same file.")
    ] = 1,
    handle_dist: Annotated[
        HandleDistOption,
        typer.Option("--handle-dist", help="Handle-time distribution (lognormal: CV 1)."),
    ] = HandleDistOption.EXPONENTIAL,
    short_abandon_s: Annotated[
        float,
        typer.Option(
            "--short-abandon-s", min=0.0, help="Callers hanging up within S s are not counted."
        ),
    ] = 0.0,
    rate_cv: Annotated[
        str,
        typer.Option(
            "--rate-cv",
            help="Over-dispersed arrivals: a CV for every interval's rate, or 'forecast' "
            "(from the demand's 80 % bounds).",
        ),
    ] = "0",
    html: Annotated[Path | None, typer.Option(help="Write a plotly page.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    tz: Annotated[
        str | None, typer.Option(help="Site time zone (default: site.json beside --demand).")
    ] = None,
) -> None:
    """Simulate a schedule against the demand (ACD, seeded replications): per project the
    service level with its 95 % interval against the target, abandonment, ASA, occupancy."""
    from wfm.services.simulation import simulate_files

    with _ProgressBar("simulate") as bar:
        report = simulate_files(
            demand,
            schedule,
            agents,
            projects,
            out_path=out,
            replications=replications,
            seed=seed,
            handle_dist=handle_dist.value,
            tz=tz,
            short_abandon_s=short_abandon_s,
            rate_cv=_rate_cv_option(rate_cv),
            progress=bar.update,
        )
    if html is not None:
        from wfm.services.plots import write_simulation_html

        write_simulation_html(report, html)
    if as_json:
        typer.echo(json.dumps(_simulation_payload(report, html), allow_nan=False))
        return
    _print_simulation(report, html)


def _simulation_payload(r: SimulationReport, html: Path | None) -> dict[str, object]:
    ts = r.kpis["ts"]
    return {
        "out": None if r.out_path is None else str(r.out_path),
        "html": None if html is None else str(html),
        "tz": r.tz,
        "interval_min": r.interval_min,
        "first_ts": ts.min().isoformat(),
        "last_ts": ts.max().isoformat(),
        "replications": r.replications,
        "seed": r.seed,
        "handle_dist": r.handle_dist,
        "short_abandon_s": r.short_abandon_s,
        "projects": _records(r.summary),
        "notes": list(r.notes),
        "timings_s": dict(r.timings_s),
    }


def _verdict(rec: Mapping[Hashable, object]) -> str:
    if rec["meets_target_at_lo"]:
        return "✓ pass"
    return "~ unsure" if rec["meets_target_at_mean"] else "✗ fail"


def _print_simulation(r: SimulationReport, html: Path | None) -> None:
    console = Console()
    first = r.kpis["ts"].min()
    last = r.kpis["ts"].max() + dt.timedelta(minutes=r.interval_min)
    span = (
        f"{first:%Y-%m-%d %H:%M}–{last:%H:%M}"
        if last - first <= dt.timedelta(days=1)
        else f"{first:%Y-%m-%d}…{last:%m-%d}"
    )
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        title=f"Simulated {span} ({r.tz}), {r.replications} runs, seed {r.seed}",
        caption=(
            "95 % interval over the runs; pass: its low end ≥ target,\n"
            "unsure: only the mean ≥ target, fail: the mean < target"
        ),
    )
    table.add_column("project", no_wrap=True)
    for name in ("SL %", "95 % CI", "target", "", "aband.\n%", "ASA\ns", "occ.\n%"):
        table.add_column(name, justify="right", no_wrap=True)
    for rec in r.summary.to_dict(orient="records"):
        asa = float(str(rec["asa_s"]))
        table.add_row(
            str(rec["project"]),
            _pct(rec["sl"]),
            f"{_pct(rec['sl_lo'])}–{_pct(rec['sl_hi'])}",
            f"{100 * float(str(rec['sl_target'])):g}/{float(str(rec['answer_within_s'])):g}s",
            _verdict(rec),
            _pct(rec["abandon_rate"]),
            "—" if not math.isfinite(asa) else f"{asa:.1f}",
            _pct(rec["occupancy"]),
        )
    console.print(table)
    for note in r.notes:
        console.print(f"note: {note}", highlight=False)
    console.print(f"wrote {r.out_path} ({len(r.kpis)} project-intervals)", highlight=False)
    if html is not None:
        console.print(f"HTML: {html}", highlight=False)


# --------------------------------------------------------------------------------------------
# outbound dialer


@app.command("dialer")
def dialer_command(
    campaign: Annotated[Path, typer.Option(help="Campaign file (.json or .toml).")],
    agents: Annotated[int, typer.Option(help="Agents on the campaign during the window.")],
    pacing: Annotated[
        str, typer.Option(help="preview, progressive, fixed:R or adaptive:TARGET.")
    ] = "adaptive:0.025",
    days: Annotated[int, typer.Option(help="Days to simulate.")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same report.")] = 1,
    out: Annotated[
        Path | None, typer.Option(help="Folder to write days.csv and intervals.csv into.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Simulate a predictive-dialer campaign: drops, AMD, contacts and the abandonment rules
    (US: rolling 30 days; UK: per 24 h with AMD false positives), day by day."""
    from wfm.services.dialer import run_campaign

    report = run_campaign(campaign, agents=agents, pacing=pacing, days=days, seed=seed, out_dir=out)
    if as_json:
        payload = _dialer_payload(report)
        typer.echo(json.dumps(payload, default=_json_default, allow_nan=False))
        return
    _print_dialer(report)


def _rule_payload(rule: RuleCompliance) -> dict[str, object]:
    return {
        "rule": rule.rule,
        "definition": rule.definition,
        "limit": rule.limit,
        "mean": _finite(rule.mean),
        "p95": _finite(rule.p95),
        "worst": _finite(rule.worst),
        "worst_date": None if rule.worst_date is None else rule.worst_date.isoformat(),
        "days_over": rule.days_over,
        "days": rule.days,
        "overall": _finite(rule.overall),
    }


def _dialer_payload(r: DialerReport) -> dict[str, object]:
    from dataclasses import asdict

    totals = {k: _finite(v) if isinstance(v, float) else v for k, v in asdict(r.totals).items()}
    return {
        "campaign": r.campaign.name,
        "pacing": str(r.pacing),
        "agents": r.agents,
        "days": r.n_days,
        "seed": r.seed,
        "tz": r.campaign.tz,
        "start_date": r.campaign.start_date.isoformat(),
        "compliance": {"us": _rule_payload(r.us), "uk": _rule_payload(r.uk)},
        "totals": totals,
        "daily": _records(r.days),
        "files": [str(p) for p in r.files],
        "wall_s": r.wall_s,
    }


def _pct2(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{100.0 * value:.2f}"


def _print_dialer(r: DialerReport) -> None:
    console = Console()
    c, t = r.campaign, r.totals
    last = c.start_date + dt.timedelta(days=r.n_days - 1)
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        title=f"{c.name}: {r.pacing}, {r.agents} agents, {r.n_days} days, seed {r.seed}",
        caption=(
            f"{c.start_date:%Y-%m-%d}…{last:%Y-%m-%d} ({c.tz}); abandonment in % of live "
            "pick-ups;\nUS: dropped, rolling 30 days; UK: dropped + AMD false positives, "
            "per day"
        ),
    )
    table.add_column("rule", no_wrap=True)
    for name in ("limit", "mean", "p95", "worst", "worst day", "days over", "whole run"):
        table.add_column(name, justify="right", no_wrap=True)
    for rule, label in ((r.us, "US 30-day"), (r.uk, "UK 24 h")):
        table.add_row(
            label,
            _pct2(rule.limit),
            _pct2(rule.mean),
            _pct2(rule.p95),
            _pct2(rule.worst),
            "—" if rule.worst_date is None else f"{rule.worst_date:%Y-%m-%d}",
            f"{rule.days_over}/{rule.days}",
            _pct2(rule.overall),
        )
    console.print(table)
    totals = Table(box=box.SIMPLE, show_header=False, show_edge=False)
    for _ in range(2):
        totals.add_column(no_wrap=True)
        totals.add_column(justify="right", no_wrap=True)
    rows = [
        ("dials", f"{t.dials:,}", "occupancy", f"{_pct2(t.occupancy)} %"),
        ("live pick-ups", f"{t.live:,}", "contacts/agent-hour", f"{t.contacts_per_agent_hour:.2f}"),
        (
            "right-party contacts",
            f"{t.right_party:,}",
            "mean dial ratio",
            f"{t.mean_dial_ratio:.2f}",
        ),
        ("dropped", f"{t.dropped:,}", "records completed", f"{t.records_completed:,}"),
        (
            "AMD false positives",
            f"{t.amd_false_positives:,}",
            "records exhausted",
            f"{t.records_exhausted:,}",
        ),
        ("agent-hours", f"{t.staffed_h:,.0f}", "records untouched", f"{t.records_untouched:,}"),
    ]
    for row in rows:
        totals.add_row(*row)
    console.print(totals)
    for path in r.files:
        console.print(f"wrote {path}")


# --------------------------------------------------------------------------------------------
# the API: users and the server

users_app = typer.Typer(
    help="Users of the API and their bearer tokens.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(users_app, name="users")

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: WFM_DATABASE_URL, else sqlite:///./wfm.db)."),
]


class RoleOption(StrEnum):
    PLANNER = "planner"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


def _db_url(db: str | None) -> str:
    from wfm.db import DbSettings

    return db if db is not None else DbSettings().database_url


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The user's name (unique).")],
    role: Annotated[RoleOption, typer.Option(help="What the user may do.")],
    agent: Annotated[
        str | None, typer.Option(help="The agent id of a user with role agent.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Add a user and print their bearer token: it is shown this once, and stored only as
    its hash."""
    from wfm.services._db import open_database
    from wfm.services.users import add_user

    engine = open_database(_db_url(db))
    try:
        created = add_user(engine, name=name, role=role.value, agent=agent)
    finally:
        engine.dispose()
    p = created.principal
    sys.stderr.write(
        f"added {p.role.value} {p.name!r}"
        + (f" (agent {p.agent})" if p.agent else "")
        + "; the token below is shown once:\n"
    )
    typer.echo(created.token)


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    db: DbOption = None,
    samples: Annotated[
        Path | None,
        typer.Option(
            help="Site folder loaded into an empty database on start (projects, agents, history)."
        ),
    ] = Path("data/samples"),
    no_samples: Annotated[
        bool, typer.Option("--no-samples", help="Start on an empty database.")
    ] = False,
    tz: Annotated[
        str | None, typer.Option(help="Site time zone (default: site.json of --samples).")
    ] = None,
) -> None:
    """Start the API (uvicorn; OpenAPI docs at /docs). Add users with `wfm users add`."""
    import uvicorn

    from api import ApiSettings, create_app
    from wfm.services.sitedata import site_tz

    folder = None if no_samples or samples is None else samples
    if folder is not None and not (folder / "projects.csv").is_file():
        _fail(f"--samples: {folder} has no projects.csv (pass --no-samples to start empty)")
    settings = ApiSettings(database_url=_db_url(db), samples_dir=folder)
    if tz is not None or folder is not None:
        zone = site_tz(folder, tz) if folder is not None else tz
        settings = settings.model_copy(update={"tz": zone})
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


class PassOnOption(StrEnum):
    LO = "lo"
    MEAN = "mean"


@app.command("replan")
def replan_command(
    week: Annotated[str, typer.Option(help="The Monday of the week to plan, YYYY-MM-DD.")],
    data: Annotated[
        Path | None,
        typer.Option(help="Site folder (projects, agents, history: the format of data/samples)."),
    ] = None,
    sites: Annotated[
        Path | None,
        typer.Option(
            help="Folder of site folders: replan each (as a batch: --workers, --scheduler); "
            "--db may hold {site}, default OUT/<site>/wfm.db."
        ),
    ] = None,
    weeks: Annotated[
        int, typer.Option(min=1, max=8, help="With --sites: this many weeks from --week.")
    ] = 1,
    workers: Annotated[
        int,
        typer.Option(min=0, max=64, help="With --sites: Dask LocalCluster workers (0: serial)."),
    ] = 0,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="With --sites: a running Dask scheduler, tcp://HOST:PORT "
            "(default: $WFM_DASK_SCHEDULER)."
        ),
    ] = None,
    db: DbOption = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for the plan's files (CSV, plan.json, report.html)."),
    ] = None,
    publish_if_pass: Annotated[
        bool,
        typer.Option(
            "--publish-if-pass", help="Publish the plan if every project passes its target."
        ),
    ] = False,
    pass_on: Annotated[
        PassOnOption,
        typer.Option(
            "--pass-on",
            help="A project passes if the lower 95 % bound (lo) or the mean of its simulated "
            "week SL reaches the target.",
        ),
    ] = PassOnOption.LO,
    time_limit: Annotated[
        float,
        typer.Option("--time-limit", help="Solver time budget per solve, seconds."),
    ] = 120.0,
    loop_rounds: Annotated[
        int,
        typer.Option(
            "--loop-rounds",
            min=0,
            max=5,
            help="Rounds of raising the requirement where the simulation misses the target.",
        ),
    ] = 2,
    replications: Annotated[
        int, typer.Option(min=2, max=200, help="Simulation replications.")
    ] = 10,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the solver and the simulation.")] = 0,
    solver_workers: Annotated[
        int,
        typer.Option(
            "--solver-workers",
            min=1,
            max=16,
            help="Solver threads (1: the same inputs, the same plan).",
        ),
    ] = 1,
    pin: Annotated[
        Path | None, typer.Option(help="Schedule CSV of this week's shifts to keep exactly.")
    ] = None,
    forecast_model: Annotated[
        str, typer.Option("--forecast-model", help="Forecasting model (auto: by backtest).")
    ] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """The nightly batch: forecast → requirements → schedule (warm-started from the published
    one) → simulation → closing the loop → economics → a stored draft plan. Exit code 0 if
    every project passes its target in simulation, 1 if some project misses it, 2 on bad
    input, 3 if the run failed otherwise."""
    from wfm.services._db import open_database
    from wfm.services.replan import PlanFailedError, ReplanOptions, replan

    monday = _date("week", week)
    if monday is None:  # not reached: --week is required
        _fail("--week: missing; expected YYYY-MM-DD")
    if not (math.isfinite(time_limit) and time_limit > 0):
        _fail(f"--time-limit: {time_limit:g} is not positive; expected seconds > 0")
    if (data is None) == (sites is None):
        _fail(
            "--data / --sites: give exactly one of them; expected a site folder or a folder of them"
        )
    if sites is not None:
        _replan_sites(
            sites,
            [monday + dt.timedelta(days=7 * k) for k in range(weeks)],
            out=out,
            db=db,
            workers=workers,
            scheduler=scheduler,
            options={
                "publish_if_pass": publish_if_pass,
                "pass_on": "lo" if pass_on is PassOnOption.LO else "mean",
                "time_limit_s": time_limit,
                "loop_rounds": loop_rounds,
                "replications": replications,
                "workers": solver_workers,
                "forecast_model": forecast_model,
            },
            seed=seed,
            as_json=as_json,
        )
        return
    assert data is not None
    if weeks != 1 or workers != 0 or scheduler is not None:
        _fail("--weeks / --workers / --scheduler: only with --sites; expected --sites DIR")
    options = ReplanOptions(
        data=data,
        week=monday,
        out=out,
        publish_if_pass=publish_if_pass,
        pass_on="lo" if pass_on is PassOnOption.LO else "mean",
        time_limit_s=time_limit,
        loop_rounds=loop_rounds,
        replications=replications,
        seed=seed,
        workers=solver_workers,
        pins=pin,
        forecast_model=forecast_model,
    )
    engine = open_database(_db_url(db))
    log = _StepLog()
    try:
        with _ProgressBar("replan", percent=True, delay_s=0.2) as bar:

            def progress(label: str, fraction: float) -> None:
                bar.fraction(label, fraction)
                log.step(label)

            result = replan(engine, options, progress=progress)
    except PlanFailedError as exc:
        sys.stderr.write(f"wfm: error: {exc}\n")
        raise SystemExit(3) from None
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(_replan_payload(result), default=_json_default, allow_nan=False))
    else:
        _print_replan(result)
    if not result.passed:
        rule = "lower 95 % bound" if result.pass_on == "lo" else "mean"
        sys.stderr.write(
            f"wfm: plan {result.run.run_id} misses the SL target ({rule}) for: "
            f"{', '.join(result.failing)}\n"
        )
        raise SystemExit(1)


class _StepLog:
    """One timestamped line on stderr per step, when stderr is not a terminal (cron)."""

    def __init__(self) -> None:
        self._on = not Console(stderr=True).is_terminal
        self._last = ""

    def step(self, label: str) -> None:
        top = label.split(":", 1)[0]
        if not self._on or top == self._last:
            return
        self._last = top
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        sys.stderr.write(f"{now} wfm replan: {label}\n")
        sys.stderr.flush()


def _replan_sites(
    root: Path,
    weeks: list[dt.date],
    *,
    out: Path | None,
    db: str | None,
    workers: int,
    scheduler: str | None,
    options: dict[str, object],
    seed: int,
    as_json: bool,
) -> None:
    """``wfm replan --sites``: every site and week as one batch; exit 0/1/3 as one replan."""
    from wfm.batch import batch_client
    from wfm.batch.sites import list_sites, replan_sites

    if out is None:
        _fail("--out: required with --sites; expected a folder for each site's files")
    list_sites(root)  # bad input before a cluster starts
    with batch_client(workers, scheduler) as client, _ProgressBar("sites", delay_s=0.2) as bar:
        result = replan_sites(
            root,
            weeks,
            out=out,
            db=db,
            options=options,
            seed=seed,
            client=client,
            progress=bar.update,
        )
    if as_json:
        payload = {
            "ran_on": result.ran_on,
            "workers": result.workers,
            "wall_s": result.wall_s,
            "passed": result.passed,
            "site_weeks": [
                {
                    "site": r.site,
                    "week": r.week,
                    "run_id": r.run_id,
                    "reused": r.reused,
                    "passed": r.passed,
                    "failing": list(r.failing),
                    "published_version": r.published_version,
                    "out": r.out,
                    "summary": _records(r.summary),
                }
                for r in result.results
            ],
            "failures": [
                {"key": f.key, "input": f.about, "error": f.error, "skipped": f.skipped}
                for f in result.failures
            ],
        }
        typer.echo(json.dumps(payload, default=_json_default, allow_nan=False))
    else:
        console = Console() if Console().is_terminal else Console(width=132)
        table = Table(box=box.SIMPLE, title="site-weeks")
        for name in ("site", "week", "run", "plan", "verdict", "margin EUR", "published", "s"):
            table.add_column(name, justify="left" if name in ("site", "verdict") else "right")
        for r in result.results:
            margin = float(r.summary["margin_eur"].sum(min_count=1))
            table.add_row(
                r.site,
                str(r.week),
                str(r.run_id),
                "reused" if r.reused else "planned",
                "passes" if r.passed else "FAILS: " + ", ".join(r.failing),
                _num(margin, 0),
                "" if r.published_version is None else f"v{r.published_version}",
                f"{result.task_s.get(f'{r.site}/{r.week.isoformat()}', math.nan):.1f}",
            )
        console.print(table)
        console.print(
            f"ran on {result.ran_on} ({result.workers} worker(s)) in {result.wall_s:.1f} s; "
            f"files under {out}"
        )
    for f in result.failures:
        sys.stderr.write(f"wfm: {f}\n")
    if result.failures:
        raise SystemExit(3)
    if not result.passed:
        raise SystemExit(1)


def _replan_payload(r: ReplanResult) -> dict[str, object]:
    return {
        "run_id": r.run.run_id,
        "week": r.run.week,
        "reused": r.reused,
        "passed": r.passed,
        "pass_on": r.pass_on,
        "failing": list(r.failing),
        "inputs_hash": r.run.inputs_hash,
        "published_version": None if r.publication is None else r.publication.version,
        "summary": _records(r.summary),
        "loop": r.loop,
        "files": {k: str(v) for k, v in r.files.items()},
        "timings_s": dict(r.timings_s),
        "notes": list(r.notes),
    }


def _ci(lo: object, hi: object, digits: int = 3) -> str:
    if not isinstance(lo, float) or not isinstance(hi, float) or math.isnan(lo + hi):
        return ""
    return f"({lo:,.{digits}f}–{hi:,.{digits}f})"


def _print_replan(r: ReplanResult) -> None:
    console = Console()
    if not console.is_terminal:  # a log file (cron): room for the table
        console = Console(width=132)
    what = "reused (same inputs as before)" if r.reused else "planned"
    console.print(
        f"plan run {r.run.run_id} for the week of {r.run.week}: {what}; "
        f"inputs {r.run.inputs_hash[:12]}"
    )
    table = Table(box=box.SIMPLE, title="per project")
    for name in (
        "project",
        "SL target",
        "Erlang SL",
        "simulated SL (95 %)",
        "pass",
        "agents",
        "under h",
        "margin EUR (95 %)",
    ):
        table.add_column(name, justify="left" if name == "project" else "right")
    for rec in r.summary.to_dict(orient="records"):
        passes = rec["passes"]
        margin_ci = _ci(rec["margin_eur_lo"], rec["margin_eur_hi"], 0)
        table.add_row(
            str(rec["project"]),
            _num(float(str(rec["sl_target"])), 2),
            _num(float(str(rec["erlang_sl"])), 3),
            f"{_num(float(str(rec['sl'])), 3)} {_ci(rec['sl_lo'], rec['sl_hi'])}".strip(),
            "" if passes is None else ("✓" if passes else "✗ FAIL"),
            str(rec["agents"]),
            _num(float(str(rec["under_h"])), 1),
            f"{_num(float(str(rec['margin_eur'])), 0)} {margin_ci}".strip(),
        )
    console.print(table)
    if len(r.loop) > 1:
        loop = Table(box=box.SIMPLE, title="closing the loop: Erlang vs simulated SL per round")
        for name in ("round", "raised intervals", "required agent-h", "project", "Erlang SL"):
            loop.add_column(name, justify="left" if name == "project" else "right")
        loop.add_column("simulated SL (95 %)", justify="right")
        loop.add_column("pass", justify="right")
        watched = set(r.loop[0]["failing"])
        for rnd in r.loop:
            first = True
            for p in rnd["by_project"]:
                if p["project"] not in watched:
                    continue
                sim = f"{p['sl']:.3f} {_ci(p['sl_lo'], p['sl_hi'])}" if p["sl"] is not None else ""
                loop.add_row(
                    str(rnd["round"]) if first else "",
                    str(rnd["raised_intervals"]) if first else "",
                    f"{rnd['required_agent_h']:,.1f}" if first else "",
                    str(p["project"]),
                    "—" if p["erlang_sl"] is None else f"{p['erlang_sl']:.3f}",
                    sim,
                    "✓" if p["passes"] else "✗",
                )
                first = False
        console.print(loop)
        kept = (r.run.result or {}).get("loop", {}).get("kept_round", 0)
        console.print(f"kept: round {kept}")
    timings = Table(box=box.SIMPLE, title="seconds per step")
    timings.add_column("step")
    timings.add_column("s", justify="right")
    for step, seconds in r.timings_s.items():
        timings.add_row(step, f"{seconds:.1f}")
    console.print(timings)
    for note in r.notes:
        console.print(f"note: {note}")
    if r.publication is not None:
        console.print(
            f"published: week {r.publication.week} version {r.publication.version}"
            + (" (already published by an earlier run)" if r.publication.replayed else "")
        )
    report = r.files.get("report.html")
    if report is not None:
        console.print(f"report: {report}")
        console.print(f"files: {report.parent}")
    rule = "lower 95 % bound" if r.pass_on == "lo" else "mean"
    verdict = "every project passes" if r.passed else "FAILS for " + ", ".join(r.failing)
    console.print(f"verdict ({rule} of the simulated week SL vs target): {verdict}")


@app.command("report")
def report_command(
    plan: Annotated[
        str, typer.Option(help="A plan run id (in --db) or a plan folder written by wfm replan.")
    ],
    html: Annotated[Path, typer.Option(help="The report page to write (plotly HTML).")],
    db: DbOption = None,
    clients: Annotated[
        Path | None,
        typer.Option(help="Also write the client reports (daily, final, efficiency) here."),
    ] = None,
) -> None:
    """One page per planned week: forecast vs actual, requirement vs coverage, simulated SL
    with its interval vs target, the schedule and the margin per project."""
    from wfm.services.reports import load_plan_dir, write_client_reports, write_report_html

    folder = Path(plan)
    if folder.is_dir():
        art = load_plan_dir(folder)
    elif plan.strip().isdigit():
        from wfm.services._db import open_database
        from wfm.services.replan import plan_artifacts

        engine = open_database(_db_url(db), migrate=False)
        try:
            art = plan_artifacts(engine, int(plan))
        finally:
            engine.dispose()
    else:
        _fail(f"--plan: {plan!r} is neither a plan folder nor a plan run id; expected one of them")
    page = write_report_html(art, html)
    typer.echo(f"report: {page}")
    if clients is not None:
        for name, path in write_client_reports(art, clients).items():
            typer.echo(f"{name}: {path}")


@app.command("sweep")
def sweep_command(
    data: Annotated[
        Path,
        typer.Option(help="Site folder (projects, agents, history: the format of data/samples)."),
    ],
    grid: Annotated[
        Path, typer.Option(help="Scenarios: a YAML grid (scenarios and/or grid) or a CSV.")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for sweep_summary.csv, sweep_projects.csv, sweep.html, "
            "scenarios/*.json (written on this machine)."
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=0, max=256, help="Local Dask worker processes (0: serial, in this process)."
        ),
    ] = 0,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="A running Dask scheduler, tcp://HOST:PORT (default: $WFM_DASK_SCHEDULER)."
        ),
    ] = None,
    replications: Annotated[
        int, typer.Option(min=2, max=200, help="Simulation replications per project.")
    ] = 10,
    chunk_replications: Annotated[
        int,
        typer.Option(
            "--chunk-replications",
            min=1,
            max=200,
            help="Replications per simulation task (more: split into chunk tasks; the results "
            "do not depend on it).",
        ),
    ] = 25,
    seed: Annotated[int, typer.Option(min=0, help="Base seed (each task's: from its key).")] = 0,
    week: Annotated[
        str | None,
        typer.Option(help="The demand week's Monday, YYYY-MM-DD (default: the last full week)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Many what-if scenarios of one site (volume, AHT, targets, shrinkage, model, billing):
    staffed, simulated and costed per scenario, serially or on Dask. Exit code 0 if every task
    ran, 1 if some failed (they are listed on stderr; the others' results are written), 2 on
    bad input."""
    from wfm.batch import batch_client
    from wfm.batch.sweep import load_grid, sweep

    monday = _date("week", week)
    scenarios = load_grid(grid)
    with (
        batch_client(workers, scheduler) as client,
        _ProgressBar("sweep", delay_s=0.5) as bar,
    ):
        result = sweep(
            data,
            scenarios,
            client=client,
            week=monday,
            replications=replications,
            chunk_replications=chunk_replications,
            seed=seed,
            out=out,
            progress=bar.update,
        )
    if as_json:
        typer.echo(json.dumps(_sweep_payload(result), default=_json_default, allow_nan=False))
    else:
        _print_sweep(result)
    for failure in result.failures:
        sys.stderr.write(f"wfm: {failure}\n")
    if result.failures:
        failed = sum(not f.skipped for f in result.failures)
        sys.stderr.write(
            f"wfm: {failed} task(s) failed and {len(result.failures) - failed} were skipped; "
            "the other scenarios finished\n"
        )
        raise SystemExit(1)


def _sweep_payload(r: SweepResult) -> dict[str, object]:
    return {
        "week": r.week,
        "tz": r.tz,
        "scenarios": len(r.scenarios),
        "replications": r.replications,
        "seed": r.seed,
        "ran_on": r.batch.ran_on,
        "workers": r.batch.workers,
        "tasks": r.batch.tasks,
        "wall_s": r.batch.wall_s,
        "summary": _records(r.summary),
        "failures": [
            {"key": f.key, "about": f.about, "error": f.error, "skipped": f.skipped}
            for f in r.failures
        ],
        "files": {k: str(v) for k, v in r.files.items()},
    }


def _print_sweep(r: SweepResult, top: int = 15) -> None:
    console = Console()
    if not console.is_terminal:  # a file or a pipe: room for the table
        console = Console(width=160)
    s = r.summary
    ranked = s.sort_values("margin_eur", ascending=False, na_position="last", kind="stable")
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        title=(
            f"Sweep: {len(s)} scenarios on the week of {r.week} ({r.tz}), "
            f"{r.replications} runs, seed {r.seed}"
            + (f"; top {top} by margin" if len(s) > top else "")
        ),
        caption="SL: simulated, offered-weighted, 95 % interval; ◆ on the margin-vs-SL frontier",
    )
    table.add_column("scenario", no_wrap=True)
    for name in ("agent-h", "FTE", "peak", "SL %", "95 % CI", "margin EUR", "95 % CI", "%", ""):
        table.add_column(name, justify="right", no_wrap=True)
    for rec in ranked.head(top).to_dict(orient="records"):
        failed = int(str(rec["n_failed_projects"]))
        table.add_row(
            str(rec["scenario"]),
            f"{float(str(rec['agent_hours'])):,.0f}",
            f"{float(str(rec['fte'])):.1f}",
            str(rec["peak_agents"]),
            _pct(rec["sl"]),
            f"{_pct(rec['sl_lo'])}–{_pct(rec['sl_hi'])}",
            f"{_num(float(str(rec['margin_eur'])), 0)}",
            _ci(rec["margin_eur_lo"], rec["margin_eur_hi"], 0),
            _num(float(str(rec["margin_pct"])), 1),
            f"✗ {failed} failed" if failed else ("◆" if rec["frontier"] else ""),
        )
    console.print(table)
    where = "serially in this process" if r.batch.ran_on == "serial" else f"on {r.batch.ran_on}"
    console.print(
        f"ran {r.batch.tasks} tasks {where} ({r.batch.workers} worker"
        f"{'s' if r.batch.workers != 1 else ''}) in {r.batch.wall_s:.1f} s; "
        f"{len(r.failures)} failed or skipped",
        highlight=False,
    )
    if r.files:
        folder = Path(next(iter(r.files.values()))).parent
        n_json = sum(k.startswith("scenarios/") for k in r.files)
        console.print(
            f"wrote {folder}: sweep_summary.csv, sweep_projects.csv, sweep.html, "
            f"scenarios/ ({n_json} files)",
            highlight=False,
        )


def _rate_cv_option(value: str) -> float | str:
    if value.strip() == "forecast":
        return "forecast"
    try:
        return float(value)
    except ValueError:
        _fail(f"--rate-cv: {value!r} is neither a number nor 'forecast'")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; bad input → one line on stderr and exit code 2."""
    try:
        app(args=argv, standalone_mode=False)
    except WfmError as exc:
        _fail(str(exc))
    except typer.Abort:
        _fail("aborted")
    except TyperException as exc:
        message = exc.format_message().strip()
        if not message:  # `wfm` alone: the help was printed
            raise SystemExit(0) from None
        _fail(message.replace("\n", " "))
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None


if __name__ == "__main__":
    main()
