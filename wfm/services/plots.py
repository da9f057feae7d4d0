"""Plotly pages for planners (service layer; plotly is imported only when a page is made)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wfm.services.staffing import WhatIfResult

__all__ = ["whatif_figure", "write_whatif_html"]


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
            part = req[req["project"] == project]
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
