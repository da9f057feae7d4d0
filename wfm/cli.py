"""The ``wfm`` command line (adapter layer): what-if staffing and the sample centre.

Every command calls ``wfm.services``; errors print one line on stderr and exit with code 2.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from collections.abc import Hashable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table
from typer.exceptions import TyperException

from wfm.errors import WfmError
from wfm.services.staffing import IntervalStaffing, Scenario, WhatIfResult, staff_interval

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
    """One line on stderr, exit code 2."""
    sys.stderr.write(f"wfm: error: {message}\n")
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
) -> None:
    """Base vs scenario staffing per project and day (agent-hours, FTE, peak, SL)."""
    from wfm.services.staffing import whatif_files

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
    if html is not None:
        from wfm.services.plots import write_whatif_html

        write_whatif_html(result, html)
    if as_json:
        payload = {
            "interval_min": result.interval_min,
            "tz": result.tz,
            "by_project": _records(result.by_project),
            "daily": _records(result.daily),
        }
        typer.echo(json.dumps(payload, default=_json_default, allow_nan=False))
        return
    _print_whatif(result, csv=csv, html=html)


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
    return f"{base:.{digits}f} → {scen:.{digits}f}"


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
    table.add_column("project")
    if per_day:
        table.add_column("date")
    for name in ("agent-hours", "Δ", "FTE", "peak agents", "SL"):
        table.add_column(name, justify="right")
    rows = daily if per_day else r.by_project
    for rec in rows.to_dict(orient="records"):
        cells = [str(rec["project"])]
        if per_day:
            cells.append(str(rec["date"]))
        cells += [
            _cell(rec, "agent_hours", 1),
            f"{float(str(rec['delta_agent_hours'])):+.1f}",
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
