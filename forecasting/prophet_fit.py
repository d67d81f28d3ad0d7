"""Prophet fits of the forecasting pipeline: the calendar-and-weather model, and a second one that also
sees the same local hour of recent weeks.

The second fit is an ensemble member, not a replacement: on the BWDF selection weeks neither
alone beat the other inside the blend, their average did (docs/FORECASTING.md). Both work in the
pipeline's log space; ``forecasting.model`` blends them with the trees and the seasonal naive forecast.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from forecasting.model import ForecastConfig

LAG_REGRESSORS = ("last_week", "median_of_weeks")


def fit_prophet(train: pd.DataFrame, future: pd.DataFrame, freq: str, config: ForecastConfig,
                regressors: list[str]) -> tuple[np.ndarray, np.ndarray, object]:
    """Fit on ``train`` (columns ds, y, the calendar flags and ``regressors``); fitted and future values."""
    from prophet import Prophet

    logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
    hourly = freq == "h"
    model = Prophet(growth=config.growth if hourly else "linear", yearly_seasonality=not hourly and len(train) >= 700,
                    weekly_seasonality=True, daily_seasonality=False if (hourly and config.split_daily_profiles) else hourly,
                    uncertainty_samples=0, seasonality_mode="additive")
    if hourly and config.split_daily_profiles:
        model.add_seasonality("daily_workday", period=1, fourier_order=config.daily_fourier, condition_name="workday")
        model.add_seasonality("daily_day_off", period=1, fourier_order=config.daily_fourier, condition_name="day_off")
    if not hourly:
        train = train.assign(holiday_effect=train["day_off"].astype(float) - (train["ds"].dt.day_of_week >= 5))
        future = future.assign(holiday_effect=future["day_off"].astype(float) - (future["ds"].dt.day_of_week >= 5))
        model.add_regressor("holiday_effect")
    for name in regressors:
        model.add_regressor(name)
    model.fit(train)
    both = model.predict(pd.concat([train, future], ignore_index=True))["yhat"].to_numpy()   # one call: half the overhead
    return both[:len(train)], both[len(train):], model


def recent_weeks(z_local: pd.Series, local: pd.DatetimeIndex, week: pd.Timedelta, weeks: int = 4) -> pd.DataFrame:
    """The same local period one week before and the median of the last ``weeks`` weeks (log space);
    a missing last week falls back to the median."""
    lags = np.column_stack([z_local.reindex(local - week * k).to_numpy() for k in range(1, weeks + 1)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        middle = np.nanmedian(lags, axis=1)
    return pd.DataFrame({"last_week": np.where(np.isnan(lags[:, 0]), middle, lags[:, 0]), "median_of_weeks": middle})


def fit_prophet_with_recent_weeks(train: pd.DataFrame, future: pd.DataFrame, freq: str, config: ForecastConfig,
                                  regressors: list[str], z_local: pd.Series,
                                  week: pd.Timedelta) -> tuple[np.ndarray, np.ndarray, object] | None:
    """Prophet with the recent-weeks regressors added; training rows without them are left out, and
    the fitted values there are NaN. ``z_local`` must cover the future's lags (observed or predicted).
    None when fewer than two weeks of rows have them (a young series)."""
    train_lags = recent_weeks(z_local, pd.DatetimeIndex(train["ds"]), week)
    future_lags = recent_weeks(z_local, pd.DatetimeIndex(future["ds"]), week)
    usable = np.isfinite(train_lags["median_of_weeks"].to_numpy())
    if usable.sum() < 2 * (week / (pd.Timedelta(hours=1) if freq == "h" else pd.Timedelta(days=1))) or \
            not np.isfinite(future_lags["median_of_weeks"].to_numpy()).all():
        return None
    rows = train.assign(**{name: train_lags[name].to_numpy() for name in LAG_REGRESSORS})[usable]
    ahead_rows = future.assign(**{name: future_lags[name].to_numpy() for name in LAG_REGRESSORS})
    fitted_rows, ahead, model = fit_prophet(rows, ahead_rows, freq, config, [*regressors, *LAG_REGRESSORS])
    fitted = np.full(len(train), np.nan)
    fitted[usable] = fitted_rows
    return fitted, ahead, model


def coefficients(model, names: list[str], weight: float) -> dict[str, float]:
    """Regressor effects per unit of each regressor in the blend's (log) space, for what-if scenarios."""
    from prophet.utilities import regressor_coefficients

    if not names:
        return {}
    table = regressor_coefficients(model).set_index("regressor")["coef"]
    return {f"{name}_effect": float(table[name]) * weight for name in names}
