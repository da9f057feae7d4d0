"""Interval call-volume and AHT forecasting (engine layer).

One estimator protocol: ``Model(tz=..., calendar=...).fit(history) -> self`` and
``.predict(at, level=(80, 95)) -> demand frame`` (``project, ts, calls, aht_s`` and
``calls_lo_80 … calls_hi_95``; see ``wfm.contracts.DEMAND``). Models: ``SeasonalNaive``,
``SlotMean`` (same slot, last four weeks), ``DailyEtsProfile`` (statsmodels exponential
smoothing on daily totals × intraday profile), ``MstlModel`` (statsmodels MSTL),
``CalendarRegression`` (time-weighted calendar regression on daily totals × profile) and
``Combination``. ``backtest`` scores them on rolling origins; ``AutoForecaster`` picks per
project from a backtest inside the training history.
"""

from forecasting._backtest import (
    AUTO_CANDIDATES,
    AutoForecaster,
    BacktestResult,
    backtest,
    origins_of,
)
from forecasting._calendar import EVENT_KINDS, Calendar, DayInfo
from forecasting._models import (
    MODELS,
    CalendarRegression,
    Combination,
    DailyEtsProfile,
    Forecaster,
    MstlModel,
    SeasonalNaive,
    SlotMean,
    make_model,
)
from forecasting._prep import horizon_at, infer_interval_min, prepare

__all__ = [
    "AUTO_CANDIDATES",
    "EVENT_KINDS",
    "MODELS",
    "AutoForecaster",
    "BacktestResult",
    "Calendar",
    "CalendarRegression",
    "Combination",
    "DailyEtsProfile",
    "DayInfo",
    "Forecaster",
    "MstlModel",
    "SeasonalNaive",
    "SlotMean",
    "backtest",
    "horizon_at",
    "infer_interval_min",
    "make_model",
    "origins_of",
    "prepare",
]
