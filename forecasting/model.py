"""The default demand forecasting pipeline: Prophet and gradient-boosted trees on log demand, blended with
recent weeks, level-corrected.

Vanilla Prophet loses to "copy last week" on real DMA inflows (docs/FORECASTING.md).
What the backtests kept, the same for every series:

1. Train on the recent window only (hourly: the last `window_days`; daily: all
   history), on the local clock, in log space (multiplicative seasonality), with
   hours far from their hour-of-week median dropped as outliers and missing hours
   simply absent.
2. Prophet with separate daily profiles for working days and for weekends/public
   holidays (the `holidays` package, country a setting), weekly seasonality,
   temperature and rainfall regressors, a flat trend for hourly windows; for hourly
   series averaged with a second Prophet fit that also sees the same local hour last
   week and the median of the last four weeks (`forecasting.prophet_fit`).
3. Gradient-boosted trees on calendar, weather and same-local-hour-of-past-weeks features,
   one model per training window of `gbm_window_days` (averaged), and the seasonal naive
   forecast (median of the same local hour of the last four weeks); all blended in log space.
4. Recent-level correction: the blend's mean error over the last `level_hours`, decaying
   with the horizon (half-life `level_half_life`).

Intervals come from the spread of out-of-sample errors over the training window: those of
the seasonal naive forecast one week ahead (the model's in-sample errors are too small,
the trees fit their training data closely); slightly conservative, since the blend beats
that forecast; beyond one week they widen with the square root of the weeks ahead (the level
drifts). Too short a history for those falls back to the blend's own errors.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass, field

import holidays as holiday_calendars
import numpy as np
import pandas as pd

from forecasting import weather as weather_regressors
from forecasting.prophet_fit import coefficients, fit_prophet, fit_prophet_with_recent_weeks
from forecasting.series import DemandSeries

logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
logging.getLogger("prophet").setLevel(logging.WARNING)

MIN_HISTORY = {"h": 7 * 24, "D": 21}
PERIODS_PER_WEEK = {"h": 168, "D": 7}
#: changes whenever the same settings give a different forecast, so cached forecasts of older code miss
MODEL_VERSION = "2026-11-23 measured daily interval growth"


class ForecastError(ValueError):
    """The series cannot be forecast (too short, empty); the message says why."""


@dataclass(frozen=True)
class ForecastConfig:
    """The pipeline's defaults; the same for every series (no per-series tuning)."""

    window_days: int = 56
    log_transform: bool = True
    outlier_mads: float = 6.0
    use_prophet: bool = True
    prophet_recent_weeks: bool = True
    split_daily_profiles: bool = True
    growth: str = "flat"
    naive_weeks: int = 4
    prophet_weight: float = 0.4
    level_hours: int = 72
    level_half_life: float = 96.0
    level_persist: float = 0.0
    daily_fourier: int = 10
    use_gbm: bool = True
    gbm_share: float = 0.75
    gbm_window_days: tuple[int, ...] = (168, 364)
    use_weather: bool = True
    country: str | None = "IT"
    interval: float = 0.8

    def key(self) -> str:
        return ",".join(f"{k}={v}" for k, v in sorted(asdict(self).items()))


DEFAULT_CONFIG = ForecastConfig()


@dataclass
class Forecast:
    """A forecast on naive UTC periods, in the series' unit."""

    frame: pd.DataFrame           # index naive UTC; yhat, yhat_lower, yhat_upper, temperature, rainfall
    unit: str
    tz: str
    freq: str
    meta: dict = field(default_factory=dict)
    model: object | None = None   # the fitted Prophet model, when the pipeline used one


def _step(freq: str) -> pd.Timedelta:
    return pd.Timedelta(hours=1) if freq == "h" else pd.Timedelta(days=1)


def _local_naive(index: pd.DatetimeIndex, tz: str, freq: str) -> pd.DatetimeIndex:
    if freq == "D":
        return index
    return index.tz_localize("UTC").tz_convert(tz).tz_localize(None)


def _day_off(local: pd.DatetimeIndex, country: str | None) -> np.ndarray:
    weekend = local.day_of_week >= 5
    if not country:
        return weekend
    years = range(local.year.min(), local.year.max() + 1)
    calendar = holiday_calendars.country_holidays(country, years=years)
    return weekend | np.isin(local.normalize().date, list(calendar.keys()))


def _transform(values: np.ndarray, floor: float, config: ForecastConfig) -> np.ndarray:
    return np.log(np.maximum(values, 0) + floor) if config.log_transform else values


def _inverse(values: np.ndarray, floor: float, config: ForecastConfig) -> np.ndarray:
    return np.maximum(np.exp(values) - floor, 0) if config.log_transform else np.maximum(values, 0)


def _training_window(series: DemandSeries, config: ForecastConfig) -> pd.Series:
    values = series.values.dropna()
    if series.freq == "h":
        values = values.loc[values.index > values.index.max() - pd.Timedelta(days=config.window_days)]
    return values


def on_local_clock(values: pd.Series, tz: str, freq: str) -> pd.Series:
    """Values on a complete grid of local wall-clock periods: "a week ago" means the same local hour
    (across a DST change too); the repeated autumn hour is averaged, the skipped spring hour is NaN."""
    if values.empty:
        return values
    local = values.groupby(_local_naive(values.index, tz, freq)).mean()
    return local.reindex(pd.date_range(local.index.min(), local.index.max(), freq=_step(freq)))


def _seasonal_naive(z: pd.Series, targets: pd.DatetimeIndex, freq: str, weeks: int) -> np.ndarray:
    """Median of the same local period of the last ``weeks`` weeks before the forecast origin (log space)."""
    if len(targets) == 0:
        return np.empty(0)
    week = _step(freq) * PERIODS_PER_WEEK[freq]
    origin = z.index.max()
    behind = np.maximum(np.ceil((targets - origin) / week).astype(int), 1)
    stacked = np.column_stack([z.reindex(targets - week * (behind + k - 1)).to_numpy() for k in range(1, weeks + 1)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(stacked, axis=1)


def _drop_outliers(z: pd.Series, freq: str, mads: float, local: pd.DatetimeIndex) -> pd.Series:
    slot = local.day_of_week * 24 + local.hour if freq == "h" else local.day_of_week
    grouped = z.groupby(np.asarray(slot))
    median = grouped.transform("median")
    spread = (z - median).abs().groupby(np.asarray(slot)).transform("median") * 1.4826
    spread = spread.clip(lower=max(float(spread.median()), 1e-6))
    return z[((z - median).abs() <= mads * spread).to_numpy()]


def _frame(index: pd.DatetimeIndex, series: DemandSeries, config: ForecastConfig, weather: pd.DataFrame,
           known_until: pd.Timestamp) -> pd.DataFrame:
    local = _local_naive(index, series.tz, series.freq)
    frame = pd.DataFrame({"ds": local}, index=index)
    off = _day_off(local, config.country)
    frame["day_off"] = off
    frame["workday"] = ~off
    frame["day_off_flag"] = off.astype(float)
    if config.use_weather and not weather.empty:
        if series.freq == "h":
            hours = index
            regs = weather_regressors.regressors(weather, hours, series.tz, known_until)
            frame["temperature"] = regs["temperature"].to_numpy()
            frame["rainfall"] = np.log1p(regs["rainfall"].rolling(24, min_periods=1).sum().to_numpy())
        else:
            hours = pd.date_range(index.min(), index.max() + pd.Timedelta(hours=23), freq="h")
            regs = weather_regressors.regressors(weather, hours, series.tz, known_until)
            daily = regs.groupby(hours.normalize()).agg({"temperature": "mean", "rainfall": "sum"})
            frame["temperature"] = daily["temperature"].reindex(index).to_numpy()
            frame["rainfall"] = np.log1p(daily["rainfall"].reindex(index).fillna(0).to_numpy())
    return frame


def forecast(series: DemandSeries, horizon: int, weather: pd.DataFrame | None = None,
             config: ForecastConfig = DEFAULT_CONFIG) -> Forecast:
    """Forecast ``horizon`` periods after the last observed period of ``series``."""
    weather = pd.DataFrame() if weather is None else weather
    values = _training_window(series, config)
    need = MIN_HISTORY[series.freq]
    unit_word = "hours" if series.freq == "h" else "days"
    if len(values) < need:
        raise ForecastError(f"{series.key.label} has {len(values)} {unit_word} of data; at least {need} are needed "
                            f"to forecast")
    if horizon < 1:
        raise ForecastError("the horizon must be at least one period")
    step = _step(series.freq)
    origin = values.index.max()
    floor = max(float(np.nanmedian(values)) * 0.01, 1e-6)
    z = pd.Series(_transform(values.to_numpy(), floor, config), index=values.index)
    future_index = pd.date_range(origin + step, periods=horizon, freq=step)

    train = _frame(z.index, series, config, weather, origin)
    clean = _drop_outliers(z, series.freq, config.outlier_mads, pd.DatetimeIndex(train["ds"])) \
        if config.outlier_mads else z
    train_clean = train.loc[clean.index].assign(y=clean.to_numpy())
    future = _frame(future_index, series, config, weather, origin)
    regressor_names = [c for c in ("temperature", "rainfall") if c in train]

    z_local = on_local_clock(clean, series.tz, series.freq)
    local_future = _local_naive(future_index, series.tz, series.freq)
    naive_future = _seasonal_naive(z_local, local_future, series.freq, config.naive_weeks)
    naive_past = _backcast_naive(z_local, series.freq, config.naive_weeks).reindex(
        _local_naive(z.index, series.tz, series.freq)).to_numpy()

    model, effects, members = None, {}, ["seasonal naive"]
    naive_errors = pd.Series(z.to_numpy() - naive_past, index=z.index).dropna()
    z_long, ahead_guess = z_local, naive_future
    if config.use_gbm:
        histories = [_tree_history(series, days, config, floor, z_local, train, weather, origin)
                     for days in _tree_windows(series, config)]
        predictions = [_gbm(*history, train, future, series) for history in histories]
        gbm_future = np.mean([ahead for ahead, _ in predictions], axis=0)
        gbm_past = np.mean([past for _, past in predictions], axis=0)
        z_long, ahead_guess = histories[-1][0], gbm_future
        members += [f"trees {days} d" if days else "trees" for days in _tree_windows(series, config)]
        share = config.gbm_share
        naive_future = np.where(np.isnan(naive_future), gbm_future, (1 - share) * naive_future + share * gbm_future)
        naive_past = np.where(np.isnan(naive_past), gbm_past, (1 - share) * naive_past + share * gbm_past)
    if config.use_prophet:
        fitted, ahead, model = fit_prophet(train_clean, future, series.freq, config, regressor_names)
        effects = coefficients(model, regressor_names, config.prophet_weight)
        members.append("prophet")
        second = None
        if config.prophet_recent_weeks and series.freq == "h":
            known = pd.Series(ahead_guess, index=local_future).dropna()
            known = known[~known.index.duplicated() & ~known.index.isin(z_long.index)]
            second = fit_prophet_with_recent_weeks(train_clean, future, series.freq, config, regressor_names,
                                                   pd.concat([z_long, known]).sort_index(), step * PERIODS_PER_WEEK["h"])
        if second is not None:
            fitted = np.where(np.isnan(second[0]), fitted, (fitted + second[0]) / 2)
            ahead = (ahead + second[1]) / 2
            more = coefficients(second[2], regressor_names, config.prophet_weight)
            effects = {name: (effects[name] + more[name]) / 2 for name in effects}
            members.append("prophet with recent weeks")
        fitted = pd.Series(fitted, index=train_clean.index).reindex(z.index).to_numpy()
        weight = np.where(np.isnan(naive_future), 1.0, config.prophet_weight)
        blend_future = weight * ahead + (1 - weight) * np.nan_to_num(naive_future)
        past_weight = np.where(np.isnan(naive_past), 1.0, config.prophet_weight)
        blend_past = past_weight * fitted + (1 - past_weight) * np.nan_to_num(naive_past)
    else:
        blend_future = np.where(np.isnan(naive_future), np.nanmean(z.to_numpy()), naive_future)
        blend_past = naive_past

    errors = pd.Series(z.to_numpy() - blend_past, index=z.index).dropna()
    recent = errors.loc[errors.index > origin - step * (config.level_hours if series.freq == "h" else 3)]
    level = float(recent.mean()) if len(recent) else 0.0
    ahead_steps = np.arange(1, horizon + 1)
    half_life = config.level_half_life if series.freq == "h" else config.level_half_life / 24
    decay = 0.5 ** (ahead_steps / half_life) if half_life > 0 else np.ones(horizon)
    week_errors = errors.loc[errors.index > origin - step * PERIODS_PER_WEEK[series.freq]]
    persistent = float(week_errors.mean()) * config.level_persist if len(week_errors) else 0.0
    corrected = blend_future + level * decay + persistent * (1 - decay)

    out_of_sample = len(naive_errors) >= PERIODS_PER_WEEK[series.freq]
    spread = (naive_errors if out_of_sample else errors).to_numpy()
    alpha = (1 - config.interval) / 2
    low_q, high_q = (np.quantile(spread, [alpha, 1 - alpha]) if len(spread) > 10 else (0.0, 0.0))
    weeks_ahead = ahead_steps / PERIODS_PER_WEEK[series.freq]
    if not out_of_sample:
        widen = np.sqrt(1 + np.minimum(weeks_ahead, 1.0))
    elif series.freq == "D":
        widen = _widening(z_local, series.freq, config.naive_weeks, weeks_ahead, alpha)
    else:
        widen = np.sqrt(np.maximum(weeks_ahead, 1.0))
    frame = pd.DataFrame({
        "yhat": _inverse(corrected, floor, config),
        "yhat_lower": _inverse(corrected + low_q * widen, floor, config),
        "yhat_upper": _inverse(corrected + high_q * widen, floor, config),
    }, index=future_index)
    for column in ("temperature", "rainfall"):
        if column in future:
            frame[column] = future[column].to_numpy()
    frame["day_off"] = future["day_off"].to_numpy()
    meta = {"origin": origin, "level_correction": level, "trained_periods": len(train_clean),
            "log_space": config.log_transform, "members": members, **effects}
    return Forecast(frame, series.unit, series.tz, series.freq, meta, model)


MIN_GROWTH_WEEKS = 2


def _widening(z_local: pd.Series, freq: str, weeks: int, weeks_ahead: np.ndarray, alpha: float) -> np.ndarray:
    """How much wider than one week ahead the interval is k weeks ahead, measured on the series itself.

    The seasonal naive forecast made k weeks before each training period (the median of weeks k to
    k + ``weeks`` - 1 before it) errs more as k grows, as much as the demand drifts (a season turning,
    a summer); the ratio of its error band k weeks ahead (from zero out to both quantiles, so that
    a drift in one direction counts) to one week ahead widens the interval.
    Horizons the history is too short to measure grow from the last measured one by the square
    root of the weeks; the widening never shrinks with the horizon. Used for daily series (their
    whole history trains); hourly ones (56 days) keep the square root of the weeks beyond the first,
    which held 78 % in the second week on BWDF where the measured growth held 73 %.
    """
    period = PERIODS_PER_WEEK[freq]
    needed = int(np.ceil(weeks_ahead.max()))
    bands: list[float] = []
    for k in range(1, needed + 1):
        shifted = np.vstack([z_local.shift(period * (k + j)).to_numpy() for j in range(weeks)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            errors = z_local.to_numpy() - np.nanmedian(shifted, axis=0)
        errors = errors[np.isfinite(errors)]
        if len(errors) < MIN_GROWTH_WEEKS * period:
            break
        low, high = np.quantile(errors, [alpha, 1 - alpha])
        bands.append(max(max(high, 0.0) - min(low, 0.0), 1e-9))
    if not bands:
        return np.sqrt(np.maximum(weeks_ahead, 1.0))
    factors = np.maximum.accumulate(np.array(bands) / bands[0])
    k = np.maximum(np.ceil(weeks_ahead).astype(int), 1)
    measured = np.minimum(k, len(factors))
    widen = factors[measured - 1] * np.sqrt(np.maximum(weeks_ahead, 1.0) / np.maximum(measured, 1.0))
    return np.where(k <= len(factors), factors[measured - 1], widen)


def _backcast_naive(z_grid: pd.Series, freq: str, weeks: int) -> pd.Series:
    """The seasonal naive value each training period would have had (median of the weeks before it)."""
    period = PERIODS_PER_WEEK[freq]
    shifted = np.vstack([z_grid.shift(period * k).to_numpy() for k in range(1, weeks + 1)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        naive = np.nanmedian(shifted, axis=0)
    return pd.Series(naive, index=z_grid.index)


def _lag_features(z_local: pd.Series, local: pd.DatetimeIndex, freq: str, weeks: int = 4) -> np.ndarray:
    week = _step(freq) * PERIODS_PER_WEEK[freq]
    lags = np.column_stack([z_local.reindex(local - week * k).to_numpy() for k in range(1, weeks + 1)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        middle = np.nanmedian(lags, axis=1)
    return np.column_stack([lags, middle])


def _calendar_features(frame: pd.DataFrame, freq: str) -> np.ndarray:
    local = pd.DatetimeIndex(frame["ds"])
    columns = [local.day_of_week.to_numpy(), frame["day_off_flag"].to_numpy()]
    if freq == "h":
        columns.append(local.hour.to_numpy())
    for name in ("temperature", "rainfall"):
        if name in frame:
            columns.append(frame[name].to_numpy())
    return np.column_stack(columns).astype(float)


def _tree_windows(series: DemandSeries, config: ForecastConfig) -> list[int]:
    """Training windows (days) of the tree models: each of ``gbm_window_days`` that adds history the
    series has (a series shorter than a window would fit the same trees twice); daily series use all history."""
    if series.freq != "h":
        return [0]
    span = (series.values.index.max() - series.values.index.min()) / pd.Timedelta(days=1)
    windows = sorted(set(config.gbm_window_days))
    return [days for i, days in enumerate(windows) if i == 0 or span > windows[i - 1]]


def _tree_history(series: DemandSeries, window_days: int, config: ForecastConfig, floor: float, z_local: pd.Series,
                  train: pd.DataFrame, weather: pd.DataFrame, origin: pd.Timestamp) -> tuple[pd.Series, pd.DataFrame]:
    """The trees' training data: the model's window, or a longer one of ``window_days``."""
    if series.freq != "h" or window_days <= config.window_days:
        return z_local, train
    values = series.values.dropna()
    values = values.loc[values.index > values.index.max() - pd.Timedelta(days=window_days)]
    z = pd.Series(_transform(values.to_numpy(), floor, config), index=values.index)
    frame = _frame(z.index, series, config, weather, origin)
    clean = _drop_outliers(z, series.freq, config.outlier_mads, pd.DatetimeIndex(frame["ds"]))
    return on_local_clock(clean, series.tz, series.freq), frame.loc[clean.index]


def _gbm(z_local: pd.Series, fit_rows: pd.DataFrame, train: pd.DataFrame, future: pd.DataFrame,
         series: DemandSeries) -> tuple[np.ndarray, np.ndarray]:
    """Gradient-boosted trees on calendar, weather and same-hour-of-past-weeks features (log space),
    fitted on ``fit_rows``; returns predictions for ``future`` and for the model's ``train`` rows.
    Beyond one week ahead the lags come from the trees' own earlier predictions."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    fit_local = pd.DatetimeIndex(fit_rows["ds"])
    x_fit = np.column_stack([_calendar_features(fit_rows, series.freq),
                             _lag_features(z_local, fit_local, series.freq)])
    y_fit = z_local.reindex(fit_local).to_numpy()
    keep = np.isfinite(y_fit)
    usable = np.isfinite(x_fit[keep]).any(axis=0)      # lags older than the history are all missing
    train_local = pd.DatetimeIndex(train["ds"])
    x_train = np.column_stack([_calendar_features(train, series.freq),
                               _lag_features(z_local, train_local, series.freq)])[:, usable]
    model = HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, max_leaf_nodes=15,
                                          min_samples_leaf=20, random_state=0)
    with threadpool_limits(1):   # OpenMP threads on a busy 2-core machine cost 30x
        model.fit(x_fit[keep][:, usable], y_fit[keep])
        past = model.predict(x_train)

    extended = z_local.copy()
    future_local = pd.DatetimeIndex(future["ds"])
    calendar = _calendar_features(future, series.freq)
    ahead = np.empty(len(future))
    week = PERIODS_PER_WEEK[series.freq]
    for start in range(0, len(future), week):
        chunk = slice(start, min(start + week, len(future)))
        x = np.column_stack([calendar[chunk], _lag_features(extended, future_local[chunk], series.freq)])[:, usable]
        with threadpool_limits(1):
            ahead[chunk] = model.predict(x)
        predicted = pd.Series(ahead[chunk], index=future_local[chunk])
        predicted = predicted[~predicted.index.duplicated()]
        extended = pd.concat([extended, predicted[~predicted.index.isin(extended.index)]]).sort_index()
    return ahead, past
