"""How often observed demand falls inside the forecast interval, by weeks ahead: is the 80 % band honest?

A planner reads the band as "eight days in ten land here". `interval_coverage`
forecasts from each origin with only the data before it and counts the observed
periods inside the band, so a band that is too wide (or too narrow) shows as a
share far from the nominal one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import pandas as pd

from forecasting.model import PERIODS_PER_WEEK, DEFAULT_CONFIG, ForecastConfig, ForecastError, forecast
from forecasting.series import DemandSeries


def interval_coverage(series: DemandSeries, origins: Iterable[pd.Timestamp], horizon: int,
                      weather: pd.DataFrame | None = None, config: ForecastConfig = DEFAULT_CONFIG) -> pd.DataFrame:
    """One row per observed period: series, origin, weeks ahead (0 = the first week), inside the band."""
    rows = []
    for origin in origins:
        past = replace(series, values=series.values.loc[series.values.index < origin])
        try:
            band = forecast(past, horizon, weather, config).frame
        except ForecastError:
            continue
        actual = series.values.reindex(band.index)
        seen = actual.notna().to_numpy()
        inside = ((actual >= band["yhat_lower"]) & (actual <= band["yhat_upper"])).to_numpy()
        weeks = np.arange(horizon) // PERIODS_PER_WEEK[series.freq]
        rows.append(pd.DataFrame({"series": series.key.ident, "origin": origin, "weeks_ahead": weeks[seen],
                                  "inside": inside[seen]}))
    return pd.concat(rows, ignore_index=True) if rows else \
        pd.DataFrame(columns=["series", "origin", "weeks_ahead", "inside"])


def coverage_report(periods: pd.DataFrame, nominal: float) -> str:
    """Plain text: the share inside overall and per week ahead, against the nominal share."""
    if periods.empty:
        return "No observed period after any origin."
    by_week = periods.groupby("weeks_ahead")["inside"].agg(["mean", "size"])
    lines = [f"Inside the {nominal:.0%} interval: {periods['inside'].mean():.1%} of {len(periods)} observed periods "
             f"({periods['series'].nunique()} series, {periods['origin'].nunique()} origins)", "",
             "weeks ahead | inside | periods", "---|---|---"]
    lines += [f"{int(week) + 1} | {row['mean']:.1%} | {int(row['size'])}" for week, row in by_week.iterrows()]
    return "\n".join(lines)
