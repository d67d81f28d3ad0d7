"""One call from a store to a forecast: load the series and its weather, then forecast through the cache.

The CLI and the Forecast page both go through `forecast_for`, so they agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from data.queries.scope import Scope
from forecasting.cache import ModelCache
from forecasting.model import DEFAULT_CONFIG, Forecast, ForecastConfig
from forecasting.series import DemandSeries, SeriesKey, load_series
from forecasting.weather import load_weather


@dataclass(frozen=True)
class ForecastRequest:
    key: SeriesKey
    freq: str = "h"
    horizon: int = 168
    until: pd.Timestamp | None = None      # naive UTC, inclusive
    weather_station: str | None = None      # overrides the series' linked station


def series_and_weather(cur: duckdb.DuckDBPyConnection, request: ForecastRequest,
                       scope: Scope = None) -> tuple[DemandSeries, pd.DataFrame]:
    series = load_series(cur, request.key, request.freq, scope, request.until)
    station = request.weather_station or series.weather_station
    return series, load_weather(cur, station)


def forecast_for(cur: duckdb.DuckDBPyConnection, request: ForecastRequest, config: ForecastConfig = DEFAULT_CONFIG,
                 cache_dir: str | Path | None = None, scope: Scope = None) -> tuple[DemandSeries, Forecast]:
    """Forecast ``request``; with ``cache_dir``, a fitted model for the same data and settings is reused."""
    series, weather = series_and_weather(cur, request, scope)
    cache = ModelCache(cache_dir) if cache_dir else None
    if cache is None:
        from forecasting.model import forecast
        return series, forecast(series, request.horizon, weather, config)
    return series, cache.forecast(series, request.horizon, weather, config)


def until_utc(text: str | None, tz: str) -> pd.Timestamp | None:
    """``--until``: a time with an offset, or a wall time on ``tz``; returned as naive UTC."""
    if not text:
        return None
    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        raise ValueError(f"cannot read the time {text!r}: use e.g. 2022-07-17T23:00 or 2022-07-17T23:00+02:00") from None
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return stamp.tz_convert("UTC").tz_localize(None)


@dataclass
class ForecastResult:
    """What the Forecast page shows: recent history, the forecast and the backtest beside it."""

    series: DemandSeries
    forecast: Forecast
    scores: pd.DataFrame          # backtest summary (rows: model, previous week, mean of 4 weeks)
    backtest_note: str


def recent_origins(series: DemandSeries, weeks: int = 3) -> list[pd.Timestamp]:
    """Up to ``weeks`` weekly origins ending one week before the data ends, with enough history before each."""
    from forecasting.model import MIN_HISTORY, PERIODS_PER_WEEK

    step = pd.Timedelta(hours=1) if series.freq == "h" else pd.Timedelta(days=1)
    week = step * PERIODS_PER_WEEK[series.freq]
    first = series.values.index.min() + step * MIN_HISTORY[series.freq]
    origins = [series.watermark + step - week * k for k in range(1, weeks + 1)]
    return sorted(o for o in origins if o >= first)


def forecast_with_scores(cur: duckdb.DuckDBPyConnection, request: ForecastRequest, config: ForecastConfig,
                         cache_dir: str | Path | None, scope: Scope = None,
                         progress=lambda fraction, stage: None) -> ForecastResult:
    """Forecast and a short rolling-origin backtest (the last three weeks) of the same pipeline."""
    from forecasting.backtest import backtest, summary

    progress(0.05, "reading the series")
    series, weather = series_and_weather(cur, request, scope)
    progress(0.15, "fitting the model")
    cache = ModelCache(cache_dir) if cache_dir else None
    if cache:
        result = cache.forecast(series, request.horizon, weather, config)
    else:
        from forecasting.model import forecast
        result = forecast(series, request.horizon, weather, config)
    origins = recent_origins(series)
    scores, note = pd.DataFrame(), ""
    if origins:
        def step(done: int, total: int) -> None:
            progress(0.4 + 0.6 * done / max(total, 1), f"backtesting week {min(done + 1, total)} of {total}")
        scores = summary(backtest(series, origins, weather, config, progress=step))
        note = f"rolling-origin backtest over the last {len(origins)} week(s), one-week forecasts"
    else:
        note = "not enough history for a backtest yet (it needs two weeks of data)"
    progress(1.0, "done")
    return ForecastResult(series, result, scores, note)
