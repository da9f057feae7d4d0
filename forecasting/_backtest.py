"""Rolling-origin backtests, their scores, and automatic model selection per project.

Origins are the first days of the last ``origins`` blocks of ``horizon_days`` distinct local
dates of the history; each block is forecast from everything strictly before it (the model is
refitted at every origin and never sees the block). Scores per project and model, overall and
by day of horizon:

- ``wmape`` = Σ|actual − forecast| / Σ actual over all forecast intervals;
- ``mase`` = mean |error| / in-sample mean |y_t − y_{t−1 week}| of the training history;
- ``bias`` = Σ(forecast − actual) / Σ actual;
- ``coverage_80``, ``coverage_95`` = share of actuals inside the prediction intervals;
- ``aht_wmape`` = Σ calls·|aht − forecast aht| / Σ calls·aht (the AHT forecast's own score).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from forecasting._calendar import Calendar
from forecasting._models import MODELS, Forecaster, make_model
from forecasting._prep import ProjectHistory, local_slots, prepare
from wfm import contracts
from wfm.errors import InputError

__all__ = ["AUTO_CANDIDATES", "AutoForecaster", "BacktestResult", "backtest", "origins_of"]

AUTO_CANDIDATES = (
    "seasonal_naive",
    "slot_mean_4",
    "ets_daily_profile",
    "calendar_regression",
    "combination",
)

Progress = Callable[[int, int, str], None]


def origins_of(history: pd.DataFrame, *, tz: str, origins: int, horizon_days: int) -> list[dt.date]:
    """First dates of the last ``origins`` blocks of ``horizon_days`` distinct local dates."""
    if origins < 1 or horizon_days < 1:
        raise InputError(
            "origins and horizon_days must be at least 1",
            field="origins" if origins < 1 else "horizon_days",
            expected="a positive whole number",
        )
    dates = np.unique(local_slots(history["ts"], tz).day_number)
    need = origins * horizon_days + 14
    if dates.size < need:
        raise InputError(
            f"history: {dates.size} days is too short for {origins} origins of {horizon_days} "
            f"days (needs at least {need}: two weeks to learn from before the first origin)",
            field="history",
            expected=f">= {need} days of history",
        )
    starts = [dates.size - k * horizon_days for k in range(origins, 0, -1)]
    return [dt.date.fromordinal(int(dates[i])) for i in starts]


@dataclass(frozen=True)
class BacktestResult:
    """Scores (``scores``: overall rows have ``horizon_day`` 0) and every forecast row."""

    scores: pd.DataFrame
    forecasts: pd.DataFrame
    origins: tuple[dt.date, ...]
    horizon_days: int
    timings_s: dict[str, float] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """The overall scores, one row per project and model, best wMAPE first."""
        overall = self.scores[self.scores["horizon_day"] == 0].drop(columns="horizon_day")
        return overall.sort_values(["project", "wmape"]).reset_index(drop=True)


def _split(
    history: pd.DataFrame, tz: str, origin: dt.date, end: dt.date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    dates = local_slots(history["ts"], tz).day_number
    o, e = origin.toordinal(), end.toordinal()
    return history[dates < o], history[(dates >= o) & (dates <= e)]


def _weekly_scale(train: pd.DataFrame, tz: str) -> dict[str, float]:
    """Per project: in-sample mean |y_t − y_{t−7 days}| (the seasonal-naive error)."""
    out: dict[str, float] = {}
    for project, rows in train.groupby("project", sort=False):
        s = pd.Series(rows["calls"].to_numpy(), index=pd.DatetimeIndex(rows["ts"]).tz_convert(tz))
        lagged = s.copy()
        lagged.index = lagged.index + pd.Timedelta(days=7)
        both = pd.concat([s, lagged], axis=1, join="inner")
        diff = (both.iloc[:, 0] - both.iloc[:, 1]).abs()
        out[str(project)] = float(diff.mean()) if len(diff) else float("nan")
    return out


def backtest(
    history: pd.DataFrame,
    *,
    tz: str,
    calendar: Calendar | None = None,
    models: Sequence[str] = (*MODELS, "auto"),
    origins: int = 4,
    horizon_days: int = 10,
    level: Sequence[int] = (80, 95),
    progress: Progress | None = None,
) -> BacktestResult:
    """Score ``models`` on rolling origins (see the module docstring)."""
    frame = contracts.validate(history, contracts.CALL_HISTORY)
    calendar = calendar or Calendar()
    starts = origins_of(frame, tz=tz, origins=origins, horizon_days=horizon_days)
    all_dates = sorted(set(local_slots(frame["ts"], tz).day_number.tolist()))
    pieces: list[pd.DataFrame] = []
    timings: dict[str, float] = dict.fromkeys(models, 0.0)
    total = len(starts) * len(models)
    step = 0
    for origin in starts:
        first = all_dates.index(origin.toordinal())
        end = dt.date.fromordinal(all_dates[min(first + horizon_days, len(all_dates)) - 1])
        train, test = _split(frame, tz, origin, end)
        prepared = prepare(train, tz=tz, calendar=calendar)
        scale = _weekly_scale(train, tz)
        test = test[test["project"].astype(str).isin(prepared)]
        for name in models:
            clock = time.perf_counter()
            model = _model(name, tz, calendar)
            model.fit_prepared(prepared)
            fc = model.predict(test[["project", "ts"]], level=level)
            timings[name] += time.perf_counter() - clock
            fc["model"] = name
            fc["origin"] = origin
            fc["actual"] = test["calls"].to_numpy()
            fc["actual_aht_s"] = (
                test["aht_s"].to_numpy() if "aht_s" in test else np.full(len(test), np.nan)
            )
            fc["scale"] = fc["project"].astype(str).map(scale).to_numpy()
            day = local_slots(fc["ts"], tz).day_number
            fc["horizon_day"] = np.searchsorted(all_dates, day) - first + 1
            pieces.append(fc)
            step += 1
            if progress is not None:
                progress(step, total, f"{name} @ {origin}")
    forecasts = pd.concat(pieces, ignore_index=True)
    return BacktestResult(
        scores=_scores(forecasts, level),
        forecasts=forecasts,
        origins=tuple(starts),
        horizon_days=horizon_days,
        timings_s=timings,
    )


def _model(name: str, tz: str, calendar: Calendar) -> Forecaster:
    if name == "auto":
        return AutoForecaster(tz=tz, calendar=calendar)
    return make_model(name, tz=tz, calendar=calendar)


def _score_group(g: pd.DataFrame, level: Sequence[int]) -> dict[str, float]:
    y = g["actual"].to_numpy(dtype=np.float64)
    f = g["calls"].to_numpy(dtype=np.float64)
    err = np.abs(y - f)
    total = float(y.sum())
    scale = g["scale"].to_numpy(dtype=np.float64)
    ok = np.isfinite(scale) & (scale > 0)
    out: dict[str, float] = {
        "wmape": float(err.sum() / total) if total > 0 else float("nan"),
        "mase": float(np.mean(err[ok] / scale[ok])) if ok.any() else float("nan"),
        "bias": float((f - y).sum() / total) if total > 0 else float("nan"),
        "intervals": float(len(g)),
        "calls": total,
    }
    for lv in level:
        inside = (y >= g[f"calls_lo_{lv}"].to_numpy()) & (y <= g[f"calls_hi_{lv}"].to_numpy())
        out[f"coverage_{lv}"] = float(inside.mean()) if len(g) else float("nan")
    aht = g["actual_aht_s"].to_numpy(dtype=np.float64)
    good = np.isfinite(aht) & (y > 0)
    weight = float((y[good] * aht[good]).sum())
    out["aht_wmape"] = (
        float((y[good] * np.abs(aht[good] - g["aht_s"].to_numpy()[good])).sum() / weight)
        if weight > 0
        else float("nan")
    )
    return out


def _scores(forecasts: pd.DataFrame, level: Sequence[int]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for (project, model), g in forecasts.groupby(["project", "model"], sort=True):
        rows.append(
            {"project": project, "model": model, "horizon_day": 0, **_score_group(g, level)}
        )
        for h, gh in g.groupby("horizon_day", sort=True):
            rows.append(
                {
                    "project": project,
                    "model": model,
                    "horizon_day": int(str(h)),
                    **_score_group(gh, level),
                }
            )
    return pd.DataFrame(rows)


class AutoForecaster(Forecaster):
    """Per project, the candidate with the lowest wMAPE in a rolling-origin backtest inside
    the training history (``origins`` blocks of ``horizon_days``), refitted on all of it.
    Projects too short for that backtest get ``fallback``."""

    name: ClassVar[str] = "auto"

    def __init__(
        self,
        *,
        tz: str,
        calendar: Calendar | None = None,
        candidates: Sequence[str] = AUTO_CANDIDATES,
        origins: int = 3,
        horizon_days: int = 10,
        fallback: str = "slot_mean_4",
    ) -> None:
        super().__init__(tz=tz, calendar=calendar)
        self.candidates = tuple(candidates)
        self.origins = origins
        self.horizon_days = horizon_days
        self.fallback = fallback

    def fit_prepared(self, projects: dict[str, ProjectHistory], intervals: bool = True) -> Self:
        self.history_ = projects
        self.chosen_: dict[str, str] = {}
        self.selection_: dict[str, dict[str, float]] = {}
        self.members_: dict[str, Forecaster] = {}
        for project, ph in projects.items():
            scores = self._select(ph)
            self.selection_[project] = scores
            best = min(scores, key=lambda m: scores[m]) if scores else self.fallback
            self.chosen_[project] = best
            model = make_model(best, tz=self.tz, calendar=self.calendar)
            model.fit_prepared({project: ph}, intervals)
            self.members_[project] = model
        self.state_ = {p: m.state_[p] for p, m in self.members_.items()}
        self.dispersion_ = {p: m.dispersion_[p] for p, m in self.members_.items()}
        self.aht_ = {p: m.aht_[p] for p, m in self.members_.items()}
        return self

    def _select(self, ph: ProjectHistory) -> dict[str, float]:
        days = ph.day_number
        need = self.origins * self.horizon_days + 21
        if days.size < need:
            return {}
        num = dict.fromkeys(self.candidates, 0.0)
        den = 0.0
        for k in range(self.origins, 0, -1):
            start = days.size - k * self.horizon_days
            origin = int(days[start])
            end = int(days[min(start + self.horizon_days, days.size) - 1])
            sub = ph.until(origin)
            keep = (ph.slots.day_number >= origin) & (ph.slots.day_number <= end)
            actual = ph.calls[keep]
            at = _at_frame(ph, keep)
            den += float(actual.sum())
            for name in self.candidates:
                model = make_model(name, tz=self.tz, calendar=self.calendar)
                try:
                    model.fit_prepared({ph.project: sub}, intervals=False)
                    pred = model.predict(at, level=(80,))["calls"].to_numpy()
                except (InputError, ValueError, np.linalg.LinAlgError):
                    num[name] = float("inf")
                    continue
                num[name] += float(np.abs(actual - pred).sum())
        if den <= 0:
            return {}
        return {m: v / den for m, v in num.items()}

    def fit_project(self, ph: ProjectHistory) -> Any:
        return None  # members hold the state

    def point(self, state: Any, ph: ProjectHistory, rows: Any) -> Any:
        member = self.members_[ph.project]
        return member.point(member.state_[ph.project], ph, rows)

    def _masked_point(self, state: Any, ph: ProjectHistory, rows: Any) -> Any:
        member = self.members_[ph.project]
        return member._masked_point(member.state_[ph.project], ph, rows)


def _at_frame(ph: ProjectHistory, keep: np.ndarray[Any, np.dtype[np.bool_]]) -> pd.DataFrame:
    """The (project, ts) rows of ``ph`` selected by ``keep``, as an ``at`` frame."""
    return pd.DataFrame({"project": ph.project, "ts": ph.ts[keep]})
