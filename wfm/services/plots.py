"""Plotly pages for planners (service layer; plotly is imported only when a page is made)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from wfm.services.staffing import WhatIfResult

if TYPE_CHECKING:
    from wfm.services.forecasting import BacktestResult
    from wfm.services.scheduling import ScheduleRun
    from wfm.services.simulation import SimulationReport

__all__ = [
    "backtest_figure",
    "schedule_figure",
    "simulation_figure",
    "whatif_figure",
    "write_backtest_html",
    "write_schedule_html",
    "write_simulation_html",
    "write_whatif_html",
]


def whatif_figure(result: WhatIfResult) -> Any:
    """One panel per project: required agents per interval, base vs scenario."""
    from plotly.subplots import make_subplots

    projects = sorted(result.base_requirements["project"].unique())
    fig = make_subplots(
        rows=len(projects),
        cols=1,
        shared_xaxes=True,
        subplot_titles=[f"{p}: required agents per {result.interval_min} min" for p in projects],
        vertical_spacing=0.06 if len(projects) > 1 else 0.1,
    )
    for row, project in enumerate(projects, start=1):
        for label, req, color in (
            ("base", result.base_requirements, "#1f77b4"),
            ("scenario", result.scenario_requirements, "#d62728"),
        ):
            part = _with_gaps(req.loc[req["project"] == project, ["ts", "agents"]])
            fig.add_scatter(
                x=part["ts"],
                y=part["agents"],
                mode="lines",
                line={"shape": "hv", "color": color, "width": 1.2},
                name=label,
                legendgroup=label,
                showlegend=row == 1,
                row=row,
                col=1,
            )
        fig.update_yaxes(title_text="agents", row=row, col=1)
    s = result.scenario
    fig.update_layout(
        title=(
            f"What-if: calls ×{s.calls_scale:g}, AHT ×{s.aht_scale:g}, model {s.model}"
            + (f", SL target {s.sl_target:g}" if s.sl_target is not None else "")
            + (f" within {s.answer_within_s:g} s" if s.answer_within_s is not None else "")
            + f", shrinkage {s.shrinkage:g} (time zone {result.tz})"
        ),
        height=260 * len(projects) + 120,
        hovermode="x unified",
        template="plotly_white",
    )
    return fig


def write_whatif_html(result: WhatIfResult, path: Path) -> Path:
    """Write the what-if page as a self-contained HTML file (plotly.js embedded)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    whatif_figure(result).write_html(path, include_plotlyjs=True, full_html=True)
    return path


_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")


def _with_gaps(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` (sorted by ``ts``) plus an empty row inside every break longer than one
    interval (closed nights, closed days), so that lines stop there instead of bridging it."""
    if len(rows) < 2:
        return rows
    steps = rows["ts"].diff()
    step = steps.dropna().min()
    breaks = rows.loc[steps > step, "ts"]
    if breaks.empty:
        return rows
    gaps = pd.DataFrame({"ts": breaks - step / 2})
    return pd.concat([rows, gaps], ignore_index=True).sort_values("ts", kind="stable")


def _band_polygons(rows: pd.DataFrame) -> tuple[list[Any], list[Any]]:
    """The 80 % band as one closed polygon per open stretch (``None`` between them), so the
    fill never bridges a closed night the way a fill between two traces does."""
    xs: list[Any] = []
    ys: list[Any] = []
    segment = rows["calls"].isna().cumsum()
    for _, part in rows[rows["calls"].notna()].groupby(segment[rows["calls"].notna()]):
        ts = list(part["ts"])
        xs += [*ts, *ts[::-1], ts[0], None]
        ys += [*part["calls_hi_80"], *part["calls_lo_80"][::-1], part["calls_hi_80"].iloc[0], None]
    return xs, ys


def backtest_figure(result: BacktestResult) -> Any:
    """Per project (one row each): left, the actual calls and the forecast of the project's
    best model (lowest overall wMAPE) with its 80 % prediction band over the backtest period;
    right, every model's mean absolute error by interval of the day (local clock of the
    timestamps, i.e. the site's)."""
    import numpy as np
    from plotly.subplots import make_subplots

    table = result.table()
    forecasts = result.forecasts
    projects = sorted(str(p) for p in table["project"].unique())
    models = sorted(str(m) for m in forecasts["model"].unique())
    colors = {m: _PALETTE[i % len(_PALETTE)] for i, m in enumerate(models)}
    best = {
        str(p): str(rows.sort_values("wmape", kind="stable").iloc[0]["model"])
        for p, rows in table.groupby("project", sort=True)
    }
    titles: list[str] = []
    for p in projects:
        titles.append(f"{p}: actual vs {best[p]} (80 % band)")
        titles.append(f"{p}: mean absolute error by time of day")
    fig = make_subplots(
        rows=len(projects),
        cols=2,
        column_widths=[0.68, 0.32],
        subplot_titles=titles,
        vertical_spacing=0.08 / max(len(projects) / 3.0, 1.0),
        horizontal_spacing=0.06,
    )
    for row, project in enumerate(projects, start=1):
        mine = forecasts[forecasts["project"] == project]
        top = _with_gaps(mine[mine["model"] == best[project]].sort_values("ts"))
        band_x, band_y = _band_polygons(top)
        fig.add_scatter(
            x=band_x,
            y=band_y,
            mode="lines",
            line={"width": 0},
            fill="toself",
            fillcolor="rgba(31, 119, 180, 0.2)",
            hoverinfo="skip",
            name="80 % band",
            legendgroup="band",
            showlegend=row == 1,
            row=row,
            col=1,
        )
        fig.add_scatter(
            x=top["ts"],
            y=top["calls"],
            mode="lines",
            line={"color": "#1f77b4", "width": 1.2, "shape": "hv"},
            name="best model's forecast",
            legendgroup="forecast",
            showlegend=row == 1,
            row=row,
            col=1,
        )
        fig.add_scatter(
            x=top["ts"],
            y=top["actual"],
            mode="lines",
            line={"color": "black", "width": 1.0, "shape": "hv"},
            name="actual",
            legendgroup="actual",
            showlegend=row == 1,
            row=row,
            col=1,
        )
        fig.update_yaxes(title_text="calls", row=row, col=1)
        ts = mine["ts"].dt
        hour = (ts.hour * 60 + ts.minute) / 60.0
        error = (mine["actual"] - mine["calls"]).abs()
        mae = error.groupby([mine["model"], hour]).mean()
        for model in models:
            if model not in mae.index.get_level_values(0):
                continue
            curve = mae.loc[model]
            fig.add_scatter(
                x=np.asarray(curve.index, dtype=float),
                y=curve.to_numpy(),
                mode="lines",
                line={"color": colors[model], "width": 1.2},
                name=model,
                legendgroup=model,
                showlegend=row == 1,
                row=row,
                col=2,
            )
        fig.update_xaxes(title_text="hour of day (local)", range=[0, 24], dtick=3, row=row, col=2)
        fig.update_yaxes(title_text="MAE (calls)", row=row, col=2)
    origins = ", ".join(str(o) for o in result.origins)
    fig.update_layout(
        title=(
            f"Backtest: {len(result.origins)} origins ({origins}) of {result.horizon_days} days"
        ),
        height=300 * len(projects) + 140,
        hovermode="x unified",
        template="plotly_white",
    )
    return fig


def write_backtest_html(result: BacktestResult, path: Path) -> Path:
    """Write the backtest page as a self-contained HTML file (plotly.js embedded)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    backtest_figure(result).write_html(path, include_plotlyjs=True, full_html=True)
    return path


def _ci_polygons(rows: pd.DataFrame, lo: str, hi: str) -> tuple[list[Any], list[Any]]:
    """The band between columns ``lo`` and ``hi`` as one closed polygon per stretch where both
    are defined (``None`` between them), so it never bridges a closed night."""
    xs: list[Any] = []
    ys: list[Any] = []
    ok = rows[lo].notna() & rows[hi].notna()
    segment = (~ok).cumsum()
    for _, part in rows[ok].groupby(segment[ok]):
        ts = list(part["ts"])
        xs += [*ts, *ts[::-1], ts[0], None]
        ys += [*part[hi], *part[lo][::-1], part[hi].iloc[0], None]
    return xs, ys


def simulation_figure(report: SimulationReport) -> Any:
    """Per project two panels: the simulated service level per interval with its 95 %
    confidence band against the target line, and the mean number of callers waiting."""
    from plotly.subplots import make_subplots

    kpis = report.kpis
    summary = report.summary
    projects = [str(p) for p in summary["project"]]
    targets = dict(zip(projects, summary["sl_target"].astype(float), strict=True))
    within = dict(zip(projects, summary["answer_within_s"].astype(float), strict=True))
    titles: list[str] = []
    for p in projects:
        goal = f"{100 * targets[p]:g} % within {within[p]:g} s"
        titles.append(f"{p}: service level (target {goal})")
        titles.append(f"{p}: callers waiting (time-average)")
    fig = make_subplots(
        rows=2 * len(projects),
        cols=1,
        shared_xaxes=True,
        subplot_titles=titles,
        vertical_spacing=0.05 / max(len(projects) / 2.0, 1.0),
    )
    for i, project in enumerate(projects):
        rows = _with_gaps(kpis[kpis["project"] == project].sort_values("ts"))
        sl_row, queue_row = 2 * i + 1, 2 * i + 2
        for row, column, color, label in (
            (sl_row, "sl", "#1f77b4", "service level"),
            (queue_row, "queue_len", "#9467bd", "callers waiting"),
        ):
            band_x, band_y = _ci_polygons(rows, f"{column}_lo", f"{column}_hi")
            fig.add_scatter(
                x=band_x,
                y=band_y,
                mode="lines",
                line={"width": 0},
                fill="toself",
                fillcolor="rgba(31, 119, 180, 0.2)",
                hoverinfo="skip",
                name="95 % confidence band",
                legendgroup="band",
                showlegend=i == 0 and column == "sl",
                row=row,
                col=1,
            )
            fig.add_scatter(
                x=rows["ts"],
                y=rows[column],
                mode="lines",
                line={"color": color, "width": 1.4},
                name=label,
                legendgroup=label,
                showlegend=i == 0,
                row=row,
                col=1,
            )
        target = targets[project]
        fig.add_scatter(
            x=[rows["ts"].min(), rows["ts"].max()],
            y=[target, target],
            mode="lines",
            line={"color": "#d62728", "width": 1.2, "dash": "dash"},
            name="target",
            legendgroup="target",
            showlegend=i == 0,
            row=sl_row,
            col=1,
        )
        fig.update_yaxes(title_text="SL", range=[0, 1.02], tickformat=".0%", row=sl_row, col=1)
        fig.update_yaxes(title_text="callers", rangemode="tozero", row=queue_row, col=1)
    fig.update_layout(
        title=(
            f"Simulation: {report.replications} replications (seed {report.seed}), "
            f"{report.handle_dist} handle times, {report.interval_min}-minute intervals "
            f"(time zone {report.tz})"
        ),
        height=440 * len(projects) + 140,
        hovermode="x unified",
        template="plotly_white",
    )
    return fig


def write_simulation_html(report: SimulationReport, path: Path) -> Path:
    """Write the simulation page as a self-contained HTML file (plotly.js embedded)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    simulation_figure(report).write_html(path, include_plotlyjs=True, full_html=True)
    return path


_PAUSE_COLORS = {"lunch": "#9e9e9e", "break": "#c7c7c7", "training": "#616161"}


def _wall(ts: pd.Series, tz: str) -> pd.Series:
    """Local wall-clock times without a zone (plotly draws them as given)."""
    local: pd.Series = ts.dt.tz_convert(tz).dt.tz_localize(None)
    return local


def schedule_figure(run: ScheduleRun) -> Any:
    """Top, a Gantt chart of the week: one row per agent, work coloured by project, lunch and
    breaks grey; below it, one panel per project: the agents required per interval against
    the agents scheduled (the validator's coverage), in local time."""
    from plotly.subplots import make_subplots

    schedule = run.schedule
    schedule = schedule[schedule["activity"].astype(str) != "off"]
    coverage = run.validation.coverage
    if coverage is None:
        coverage = pd.DataFrame(columns=["project", "ts", "required", "scheduled"])
    # the week's intervals, and those after it that Sunday-night shifts reach
    coverage = coverage[(coverage["ts"] < run.span[1]) | (coverage["scheduled"] > 0)]
    projects = sorted(
        {str(p) for p in coverage["project"]}
        | {str(p) for p in schedule.loc[schedule["activity"] == "work", "project"].dropna()}
    )
    colors = {p: _PALETTE[i % len(_PALETTE)] for i, p in enumerate(projects)}
    agents = sorted(str(a) for a in schedule["agent"].unique())
    gantt_h = max(260, 18 * len(agents) + 80)
    panel_h = 220
    fig = make_subplots(
        rows=1 + len(projects),
        cols=1,
        shared_xaxes=True,
        row_heights=[gantt_h, *([panel_h] * len(projects))],
        subplot_titles=[
            f"Shifts: {len(agents)} agents, {run.shifts} shifts",
            *(f"{p}: agents required vs scheduled per {run.interval_min} min" for p in projects),
        ],
        vertical_spacing=0.04 if projects else 0.1,
    )
    start = _wall(schedule["start"], run.tz)
    end = _wall(schedule["end"], run.tz)
    activity = schedule["activity"].astype(str)
    project = schedule["project"].astype(object).where(schedule["project"].notna(), "")
    groups: list[tuple[str, pd.Series, str]] = [
        (p, (activity == "work") & (project.astype(str) == p), colors[p]) for p in projects
    ]
    unassigned = (activity == "work") & ~project.astype(str).isin(projects)
    if unassigned.any():
        groups.append(("work (any project)", unassigned, "#17becf"))
    groups += [(a, activity == a, c) for a, c in _PAUSE_COLORS.items()]
    for label, mask, color in groups:
        if not mask.any():
            continue
        s0, s1 = start[mask], end[mask]
        hover = [
            f"{agent}: {act}{' on ' + proj if proj else ''}<br>{a:%a %d %H:%M}–{b:%H:%M}"
            for agent, act, proj, a, b in zip(
                schedule.loc[mask, "agent"].astype(str),
                activity[mask],
                project[mask].astype(str),
                s0,
                s1,
                strict=True,
            )
        ]
        fig.add_bar(
            x=(s1 - s0).dt.total_seconds() * 1000.0,
            base=s0,
            y=schedule.loc[mask, "agent"].astype(str),
            orientation="h",
            marker={"color": color, "line": {"width": 0}},
            name=label,
            legendgroup=label,
            hovertext=hover,
            hoverinfo="text",
            row=1,
            col=1,
        )
    fig.update_yaxes(
        categoryorder="array",
        categoryarray=agents,
        autorange="reversed",
        title_text="agent",
        row=1,
        col=1,
    )
    for i, name in enumerate(projects, start=2):
        rows = coverage[coverage["project"].astype(str) == name].sort_values("ts")
        rows = _with_gaps(
            rows.assign(ts=_wall(rows["ts"], run.tz))[["ts", "required", "scheduled"]]
        )
        for column, color, dash, label in (
            ("required", "black", "dot", "required"),
            ("scheduled", colors[name], None, f"scheduled ({name})"),
        ):
            fig.add_scatter(
                x=rows["ts"],
                y=rows[column],
                mode="lines",
                line={"shape": "hv", "color": color, "width": 1.3, "dash": dash},
                name=label,
                legendgroup=label,
                showlegend=column == "scheduled" or i == 2,
                row=i,
                col=1,
            )
        fig.update_yaxes(title_text="agents", rangemode="tozero", row=i, col=1)
    fig.update_xaxes(type="date")  # the bars' lengths are milliseconds on a date axis
    sol = run.solution
    last = run.week + dt.timedelta(days=6)
    fig.update_layout(
        title=(
            f"Schedule {run.week:%Y-%m-%d}…{last:%m-%d} ({run.tz}, local time): {sol.status}, "
            f"under-coverage {run.validation.under_h:.1f} agent-h "
            f"(lower bound {sol.under_lower_bound_h:.1f}), "
            f"over-coverage {run.validation.over_h:.1f} agent-h"
        ),
        barmode="overlay",
        height=gantt_h + panel_h * len(projects) + 160,
        template="plotly_white",
    )
    return fig


def write_schedule_html(run: ScheduleRun, path: Path) -> Path:
    """Write the schedule page as a self-contained HTML file (plotly.js embedded)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    schedule_figure(run).write_html(path, include_plotlyjs=True, full_html=True)
    return path
