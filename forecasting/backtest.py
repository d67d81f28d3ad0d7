"""Rolling-origin backtests with the Battle of Water Demand Forecasting measures, beside two naive baselines.

For each origin (by default every Monday 00:00 local time in the chosen range) the
model is trained on data up to the hour before and forecasts one week. Measures,
in the series' unit, hours with no observation skipped:

- PI1: mean absolute error of the first 24 hours,
- PI2: maximum absolute error of the first 24 hours,
- PI3: mean absolute error of hours 25..168,
- MAPE: mean absolute percentage error over the week (observations > 0).

Baselines: the previous week copied, and the mean of the previous four weeks, both on
the local clock (the same local hour a week before, across DST changes too).
Daily series use the first day / days 2..7 the same way.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from forecasting.model import (
    DEFAULT_CONFIG,
    PERIODS_PER_WEEK,
    ForecastConfig,
    ForecastError,
    forecast,
    on_local_clock,
)
from forecasting.series import DemandSeries

MODELS = ("model", "previous week", "mean of 4 weeks")
MEASURES = ("PI1", "PI2", "PI3", "MAPE")


@dataclass(frozen=True)
class WeekScore:
    series: str
    origin: pd.Timestamp
    model: str
    PI1: float
    PI2: float
    PI3: float
    MAPE: float


def measures(actual: np.ndarray, predicted: np.ndarray, freq: str) -> dict[str, float]:
    """PI1, PI2, PI3 and MAPE of one forecast week (NaN actuals skipped)."""
    first = 24 if freq == "h" else 1
    error = np.abs(predicted - actual)
    head, tail = error[:first], error[first:]
    with np.errstate(all="ignore"):
        positive = actual > 0
        ape = np.where(positive, error / np.where(positive, actual, 1), np.nan)
        return {
            "PI1": float(np.nanmean(head)) if np.isfinite(head).any() else np.nan,
            "PI2": float(np.nanmax(head)) if np.isfinite(head).any() else np.nan,
            "PI3": float(np.nanmean(tail)) if np.isfinite(tail).any() else np.nan,
            "MAPE": float(np.nanmean(ape) * 100) if np.isfinite(ape).any() else np.nan,
        }


def naive_baselines(history: pd.Series, targets: pd.DatetimeIndex, freq: str, tz: str = "UTC") -> dict[str, np.ndarray]:
    """Previous week, and the mean of the previous four weeks, for each target period (same local hour)."""
    week = (pd.Timedelta(hours=1) if freq == "h" else pd.Timedelta(days=1)) * PERIODS_PER_WEEK[freq]
    local_history = on_local_clock(history, tz, freq)
    local_targets = targets if freq == "D" else targets.tz_localize("UTC").tz_convert(tz).tz_localize(None)
    lags = [local_history.reindex(local_targets - week * k).to_numpy() for k in range(1, 5)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return {"previous week": lags[0], "mean of 4 weeks": np.nanmean(np.vstack(lags), axis=0)}


def weekly_origins(series: DemandSeries, start: str, end: str) -> list[pd.Timestamp]:
    """Local Mondays 00:00 in [start, end) as naive UTC (local days for daily series)."""
    mondays = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="W-MON", inclusive="left")
    if series.freq == "D":
        return list(mondays)
    return list(mondays.tz_localize(series.tz).tz_convert("UTC").tz_localize(None))


def backtest(series: DemandSeries, origins: Iterable[pd.Timestamp], weather: pd.DataFrame | None = None,
             config: ForecastConfig = DEFAULT_CONFIG, min_observed: float = 0.5,
             progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """One row per (origin, model) with the measures; weeks with under ``min_observed`` observed are skipped."""
    step = pd.Timedelta(hours=1) if series.freq == "h" else pd.Timedelta(days=1)
    horizon = PERIODS_PER_WEEK[series.freq]
    origins = list(origins)
    rows = []
    for done, origin in enumerate(origins):
        if progress:
            progress(done, len(origins))
        targets = pd.date_range(origin, periods=horizon, freq=step)
        actual = series.values.reindex(targets).to_numpy(float)
        if np.isfinite(actual).mean() < min_observed:
            continue
        history = series.values.loc[series.values.index < origin]
        past = replace(series, values=history)
        try:
            predicted = forecast(past, horizon, weather, config).frame["yhat"].reindex(targets).to_numpy()
        except ForecastError:
            continue
        candidates = {"model": predicted, **naive_baselines(history, targets, series.freq, series.tz)}
        for name, values in candidates.items():
            rows.append(WeekScore(series.key.ident, origin, name, **measures(actual, values, series.freq)))
    if progress:
        progress(len(origins), len(origins))
    return pd.DataFrame([r.__dict__ for r in rows])


def summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean of each measure per model, and the model's change against the previous-week baseline (%).

    Only weeks where every model has a score are compared.
    """
    if scores.empty:
        return pd.DataFrame(columns=list(MEASURES))
    complete = scores.dropna(subset=["PI1", "PI3"])
    counts = complete.groupby(["series", "origin"])["model"].transform("count")
    complete = complete[counts == complete["model"].nunique()]
    table = complete.groupby("model")[list(MEASURES)].mean().reindex([m for m in MODELS if m in set(complete["model"])])
    table["weeks"] = complete.groupby("model").size()
    return table
