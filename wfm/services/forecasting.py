"""Forecasting services: demand for the planning horizon (``wfm forecast``) and rolling-origin
backtests of the models (``wfm forecast backtest``).

Adapters (CLI, API, notebooks) call these and get typed results; the engine underneath is
``forecasting``. The calendar a model sees is the site's public holidays (``site.json``:
``country``, ``subdiv``) plus its known events (``events.csv``), both from the history's
folder unless given.

The planning horizon is the same for every project: the ``horizon_days`` local days after the
last day of the whole history, not after each project's own last row (a project closed on
Sundays, or whose export stops a day early, still gets the same days as the others). Inside
it a project gets the intervals it usually opens, minus days the calendar closes for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting import (
    AUTO_CANDIDATES,
    MODELS,
    AutoForecaster,
    BacktestResult,
    Calendar,
    Forecaster,
    backtest,
    horizon_at,
    make_model,
    prepare,
)
from wfm import contracts
from wfm.errors import InputError
from wfm.grid import Grid, check_tz
from wfm.services._files import iso_text, write_csv_atomic
from wfm.services.sitedata import load_events, load_site, site_tz

__all__ = [
    "AUTO",
    "DEFAULT_BACKTEST_MODELS",
    "DEMAND_COLUMNS",
    "MODEL_NAMES",
    "BacktestResult",
    "ForecastResult",
    "Progress",
    "ProjectForecast",
    "auto_choices",
    "backtest_files",
    "check_model",
    "forecast",
    "forecast_files",
    "load_calendar",
    "load_history",
    "write_demand_csv",
]

AUTO = "auto"
MODEL_NAMES: tuple[str, ...] = (*MODELS, AUTO)
#: what a backtest scores unless told otherwise: every model but MSTL (slow on 15-minute data)
DEFAULT_BACKTEST_MODELS: tuple[str, ...] = tuple(n for n in MODEL_NAMES if n != "mstl")
"""Every name ``model``/``models`` accept: the engine's models and ``auto``."""

DEMAND_COLUMNS: tuple[str, ...] = (
    "project",
    "ts",
    "calls",
    "calls_lo_80",
    "calls_hi_80",
    "calls_lo_95",
    "calls_hi_95",
    "aht_s",
)
"""Column order of the demand CSV ``forecast_files`` writes."""

Progress = Callable[[int, int, str], None]
"""``progress(done, total, label)``: ``done`` of ``total`` steps finished, ``label`` says what
is running (forecasts) or what just finished (backtests)."""

_AT = contracts.FrameSchema(
    name="at",
    keys=("project", "ts"),
    columns=(contracts.Column("project", "str"), contracts.Column("ts", "ts")),
)


@dataclass(frozen=True, slots=True)
class ProjectForecast:
    """One project's part of a forecast: the model used, its intervals (rows of the demand
    frame), the calls forecast in total, the mean width of the 80 % prediction interval per
    interval, and the first and last interval start."""

    project: str
    model: str
    intervals: int
    calls: float
    mean_band_80: float
    first_ts: pd.Timestamp | None
    last_ts: pd.Timestamp | None


@dataclass(frozen=True)
class ForecastResult:
    """A forecast: ``demand`` (the DEMAND contract of ``wfm.contracts``, sorted by project and
    ``ts`` in the site zone), the model asked for, the model used per project (``chosen``; the
    same name for every project unless ``model`` is ``auto``), and for ``auto`` the wMAPE of
    every candidate in its selection backtest (``selection``, project → model → wMAPE)."""

    demand: pd.DataFrame
    model: str
    chosen: Mapping[str, str]
    projects: tuple[ProjectForecast, ...]
    tz: str
    horizon_days: int | None
    level: tuple[int, ...]
    selection: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    timings_s: Mapping[str, float] = field(default_factory=dict)
    out_path: Path | None = None


# --------------------------------------------------------------------------------------------
# inputs


def check_model(name: str) -> str:
    """``name`` if it is a model ``forecast`` accepts; ``InputError`` naming the choices."""
    if name not in MODEL_NAMES:
        raise InputError(
            f"model: {name!r} is unknown; expected auto or one of {', '.join(MODELS)}",
            field="model",
            expected="auto, " + ", ".join(MODELS),
        )
    return name


def _check_models(models: Sequence[str]) -> tuple[str, ...]:
    names = tuple(models)
    if not names:
        raise InputError(
            "models: no model given", field="models", expected="auto, " + ", ".join(MODELS)
        )
    for name in names:
        check_model(name)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(
            f"models: {repeated[0]!r} is listed twice", field="models", expected="distinct names"
        )
    return names


def _check_level(level: Sequence[int]) -> tuple[int, ...]:
    levels = tuple(int(v) for v in level)
    missing = [v for v in (80, 95) if v not in levels]
    if missing:
        raise InputError(
            f"level: {levels} lacks {missing[0]} (the demand frame carries 80 and 95 % bounds)",
            field="level",
            expected="levels including 80 and 95",
        )
    return levels


def load_calendar(
    folder: Path | None,
    *,
    country: str | None = None,
    subdiv: str | None = None,
    events: Path | None = None,
) -> Calendar:
    """The planning calendar: holidays of ``country``/``subdiv`` and the events of ``events``.

    Defaults come from ``folder``: ``site.json`` (its ``country`` and ``subdiv``; an explicit
    ``country`` drops the site's ``subdiv`` unless it is the site's own country) and
    ``events.csv``, each when present. Without any, the calendar knows no holidays."""
    site = None
    if folder is not None and (Path(folder) / "site.json").is_file():
        site = load_site(Path(folder))
    if site is not None:
        if country is None:
            country = site.country
            subdiv = subdiv if subdiv is not None else site.subdiv
        elif subdiv is None and country == site.country:
            subdiv = site.subdiv
    if subdiv is not None and country is None:
        raise InputError(
            f"subdiv: {subdiv!r} given without a country",
            field="subdiv",
            expected="a country (--country) with the subdivision",
        )
    if events is None and folder is not None and (Path(folder) / "events.csv").is_file():
        events = Path(folder) / "events.csv"
    frame = load_events(events) if events is not None else None
    if frame is None:
        return Calendar(country=country, subdiv=subdiv)
    return Calendar(country=country, subdiv=subdiv, events=frame)


def load_history(path: Path, *, tz: str) -> pd.DataFrame:
    """Read a history CSV (``project, ts, calls[, aht_s]``) into the site zone; errors name the
    file, the line and the column."""
    schema = replace(contracts.CALL_HISTORY, name=Path(path).name)
    return contracts.read_frame_csv(path, schema, tz=tz)


def _load_at(path: Path, *, tz: str) -> pd.DataFrame:
    frame = contracts.read_frame_csv(path, replace(_AT, name=Path(path).name), tz=tz)
    if frame.empty:
        raise InputError(
            f"{Path(path).name}: no rows", field="at", expected="one row per (project, ts)"
        )
    return frame[["project", "ts"]]


# --------------------------------------------------------------------------------------------
# forecast


def _empty_ts(tz: str) -> pd.Series:
    return pd.Series(pd.DatetimeIndex([], tz=tz))


def _empty_demand(tz: str, level: Sequence[int]) -> pd.DataFrame:
    columns: dict[str, pd.Series] = {"project": pd.Series([], dtype=str), "ts": _empty_ts(tz)}
    for name in ("calls", "aht_s", *(f"calls_{s}_{lv}" for lv in level for s in ("lo", "hi"))):
        columns[name] = pd.Series([], dtype=np.float64)
    return pd.DataFrame(columns)


def _new_model(name: str, tz: str, calendar: Calendar) -> Forecaster:
    if name == AUTO:
        return AutoForecaster(tz=tz, calendar=calendar)
    return make_model(name, tz=tz, calendar=calendar)


def forecast(
    history: pd.DataFrame,
    *,
    tz: str,
    calendar: Calendar | None = None,
    model: str = AUTO,
    at: pd.DataFrame | None = None,
    horizon_days: int | None = None,
    level: Sequence[int] = (80, 95),
    progress: Progress | None = None,
) -> ForecastResult:
    """Forecast calls, AHT and prediction bounds per project and interval.

    ``history`` is ``project, ts, calls[, aht_s]`` (tz-aware ``ts``). Give exactly one of
    ``at`` (the ``project, ts`` intervals to forecast) and ``horizon_days`` (the next N local
    days after the history's last day, see the module docstring). ``model`` is a name of
    ``MODEL_NAMES``; ``auto`` picks per project (see ``forecasting.AutoForecaster``).
    ``progress(done, total, label)`` is called before each project's fit and before predicting.
    """
    clock = time.perf_counter()
    check_model(model)
    levels = _check_level(level)
    if (at is None) == (horizon_days is None):
        raise InputError(
            "at/horizon_days: give exactly one of them "
            + ("(got both)" if at is not None else "(got neither)"),
            field="horizon_days",
            expected="either the intervals to forecast (at) or a number of days",
        )
    check_tz(tz)
    calendar = calendar or Calendar()
    frame = contracts.validate(history, contracts.CALL_HISTORY, tz=tz)
    if frame.empty:
        raise InputError("history: no rows", field="history", expected="at least one row")
    prepared = prepare(frame, tz=tz, calendar=calendar)
    if at is not None:
        wanted = contracts.validate(at, _AT, tz=tz)[["project", "ts"]]
        unknown = sorted(set(wanted["project"].astype(str)) - set(prepared))
        if unknown:
            raise InputError(
                f"at: project {unknown[0]!r} has no history "
                f"(the history has {', '.join(sorted(prepared))})",
                field="project",
                expected="projects present in the history",
            )
        minutes = min(ph.interval_min for ph in prepared.values())
        on_grid = Grid(tz=tz, interval_min=minutes).on_grid(pd.DatetimeIndex(wanted["ts"]))
        if not on_grid.all():
            pos = int(np.flatnonzero(~on_grid)[0])
            raise InputError(
                f"at: ts {wanted['ts'].iloc[pos].isoformat()} (project "
                f"{wanted['project'].iloc[pos]}) is not an interval start of the history's "
                f"{minutes}-minute grid",
                field="ts",
                row=pos,
                expected=f"interval starts every {minutes} minutes",
            )
    else:
        assert horizon_days is not None
        wanted = horizon_at(dict(prepared), calendar=calendar, horizon_days=horizon_days)
    t_prep = time.perf_counter()

    projects = sorted(set(wanted["project"].astype(str)))
    total = len(projects) + 1
    fitted: dict[str, Forecaster] = {}
    chosen: dict[str, str] = {}
    selection: dict[str, dict[str, float]] = {}
    for i, project in enumerate(projects):
        if progress is not None:
            progress(i, total, f"fitting {project} ({model})")
        m = _new_model(model, tz, calendar).fit_prepared({project: prepared[project]})
        fitted[project] = m
        if isinstance(m, AutoForecaster):
            chosen[project] = m.chosen_[project]
            selection[project] = dict(m.selection_[project])
        else:
            chosen[project] = model
    t_fit = time.perf_counter()
    if progress is not None:
        progress(len(projects), total, "predicting")

    parts: list[pd.DataFrame] = []
    for project in projects:
        rows = wanted[wanted["project"].astype(str) == project]
        parts.append(fitted[project].predict(rows, level=levels))
    demand = pd.concat(parts, ignore_index=True) if parts else _empty_demand(tz, levels)
    extra = [c for c in demand.columns if c not in DEMAND_COLUMNS]
    demand = demand[[*DEMAND_COLUMNS, *extra]]
    demand = demand.sort_values(["project", "ts"], kind="stable").reset_index(drop=True)
    demand = contracts.validate(demand, contracts.DEMAND, tz=tz)
    if progress is not None:
        progress(total, total, "done")
    t_done = time.perf_counter()
    return ForecastResult(
        demand=demand,
        model=model,
        chosen=chosen,
        projects=_summaries(demand, chosen),
        tz=tz,
        horizon_days=horizon_days,
        level=levels,
        selection=selection,
        timings_s={
            "prepare": t_prep - clock,
            "fit": t_fit - t_prep,
            "predict": t_done - t_fit,
            "total": t_done - clock,
        },
    )


def _summaries(demand: pd.DataFrame, chosen: Mapping[str, str]) -> tuple[ProjectForecast, ...]:
    out: list[ProjectForecast] = []
    for project in sorted(chosen):
        rows = demand[demand["project"] == project]
        band = rows["calls_hi_80"] - rows["calls_lo_80"]
        out.append(
            ProjectForecast(
                project=project,
                model=chosen[project],
                intervals=len(rows),
                calls=float(rows["calls"].sum()),
                mean_band_80=float(band.mean()) if len(rows) else 0.0,
                first_ts=rows["ts"].min() if len(rows) else None,
                last_ts=rows["ts"].max() if len(rows) else None,
            )
        )
    return tuple(out)


def write_demand_csv(demand: pd.DataFrame, path: Path) -> Path:
    """Write a demand frame as CSV, atomically: to a temporary file beside ``path``, then
    renamed over it, so an interrupted run never leaves half a file (nor spoils an older one).
    Calls, bounds and AHT are rounded to 3 decimals (no exponent notation; rounding is
    monotone, so the bounds stay ordered). A path that cannot be written raises
    ``InputError`` (field ``out``)."""
    path = Path(path)
    out = demand[list(DEMAND_COLUMNS)].copy()
    out["ts"] = iso_text(out["ts"])
    for column in DEMAND_COLUMNS[2:]:
        out[column] = out[column].to_numpy(dtype=np.float64).round(3)
    return write_csv_atomic(out, path)


def forecast_files(
    history_path: Path,
    *,
    at_path: Path | None = None,
    horizon_days: int | None = None,
    out_path: Path,
    model: str = AUTO,
    tz: str | None = None,
    country: str | None = None,
    subdiv: str | None = None,
    events_path: Path | None = None,
    progress: Progress | None = None,
) -> ForecastResult:
    """``forecast`` over files: reads the history CSV (and the ``at`` CSV: ``project, ts``),
    takes the time zone from ``tz`` or ``site.json`` beside the history and the calendar from
    ``load_calendar`` on that folder, and writes the demand CSV to ``out_path`` (columns
    ``DEMAND_COLUMNS``, ``ts`` ISO-8601 with its UTC offset)."""
    check_model(model)
    if (at_path is None) == (horizon_days is None):
        raise InputError(
            "at/horizon_days: give exactly one of them "
            + ("(got both)" if at_path is not None else "(got neither)"),
            field="horizon_days",
            expected="either an at file (project, ts) or a number of days",
        )
    history_path = Path(history_path)
    folder = history_path.parent
    zone = site_tz(folder, tz)
    calendar = load_calendar(folder, country=country, subdiv=subdiv, events=events_path)
    history = load_history(history_path, tz=zone)
    at = _load_at(at_path, tz=zone) if at_path is not None else None
    result = forecast(
        history,
        tz=zone,
        calendar=calendar,
        model=model,
        at=at,
        horizon_days=horizon_days,
        progress=progress,
    )
    clock = time.perf_counter()
    write_demand_csv(result.demand, out_path)
    timings = dict(result.timings_s) | {"write": time.perf_counter() - clock}
    return replace(result, out_path=Path(out_path), timings_s=timings)


# --------------------------------------------------------------------------------------------
# backtest


def backtest_files(
    history_path: Path,
    *,
    origins: int = 4,
    horizon_days: int = 10,
    models: Sequence[str] | None = None,
    tz: str | None = None,
    country: str | None = None,
    subdiv: str | None = None,
    events_path: Path | None = None,
    progress: Progress | None = None,
) -> BacktestResult:
    """Rolling-origin backtest of ``models`` (default: ``DEFAULT_BACKTEST_MODELS``) on a history
    CSV; the time zone and calendar come as in ``forecast_files``. See
    ``forecasting.backtest`` for the origins and the scores."""
    names = _check_models(models if models is not None else DEFAULT_BACKTEST_MODELS)
    if origins < 1 or horizon_days < 1:
        raise InputError(
            f"{'origins' if origins < 1 else 'horizon_days'}: must be at least 1",
            field="origins" if origins < 1 else "horizon_days",
            expected="a positive whole number",
        )
    history_path = Path(history_path)
    folder = history_path.parent
    zone = site_tz(folder, tz)
    calendar = load_calendar(folder, country=country, subdiv=subdiv, events=events_path)
    history = load_history(history_path, tz=zone)
    return backtest(
        history,
        tz=zone,
        calendar=calendar,
        models=names,
        origins=origins,
        horizon_days=horizon_days,
        progress=progress,
    )


def auto_choices(result: BacktestResult) -> dict[str, str]:
    """Per project, the model ``auto``'s rule picks on this backtest: the lowest overall wMAPE
    among the scored models that are ``auto`` candidates (``forecasting.AUTO_CANDIDATES``).
    Projects where no candidate was scored are left out."""
    table = result.table()
    table = table[table["model"].isin(AUTO_CANDIDATES) & table["wmape"].notna()]
    out: dict[str, str] = {}
    for project, rows in table.groupby("project", sort=True):
        best = rows.sort_values("wmape", kind="stable").iloc[0]
        out[str(project)] = str(best["model"])
    return out
