"""Tank level prediction by linear regression on the flows around the tank (a mass balance, learned).

A tank's level changes each hour by (inflow - outflow) / area. Neither the area
nor every inflow is known to the store, so the hourly change is regressed on
what is measured (ordinary least squares, `numpy.linalg.lstsq`):

    level[t+1] - level[t] = b0 + b1 * outflow_l_s[t] + b2 * pump_on[t]     (a pump fills it)
    level[t+1] - level[t] = b0 + b1 * outflow_l_s[t] + b3 * level[t]       (no metered inflow)
                            + daily harmonics of the local hour (sin/cos of 1 and 2 cycles a day)

``outflow_l_s`` is the mean flow of the zone inlet(s) the tank feeds (b1 comes
out near -3.6 / area in m2); ``pump_on`` is the share of the hour the filling
pump ran; without a pump sensor, ``level`` lets the model learn a float valve
that refills the tank as it drops; the harmonics take the daily rhythm of what
is not measured. A pump's switching levels are learnt from its history (the
median level at which it started and stopped).

To look ahead, the future outflow is the mean of each local hour of day over the
last week of history; the pump starts and stops at its learnt levels (or, if
none could be learnt, runs its typical share of each hour), and the level is
rolled forward hour by hour from the newest one.

The error shown with it is a backtest on held-out recent days: the model is
fitted on the history before them, then (1) predicts each held-out hour from
the hour before with the observed flows, and (2) rolls forward over the whole
held-out span from its first hour as the forecast would; persistence (the
level stays where it was) is scored beside (2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MIN_TRAINING_HOURS = 72
PROFILE_DAYS = 7


class TankModelError(ValueError):
    """The history cannot support a model; the message says why, in words for the page."""


@dataclass(frozen=True)
class TankLevelModel:
    features: tuple[str, ...]
    coefficients: np.ndarray      # intercept first, then one per feature
    tz: str
    profile: pd.DataFrame         # local hour of day -> typical outflow_l_s, pump_on
    trained_hours: int
    pump_switching: tuple[float, float] | None = None   # levels (m) the pump was seen to start and stop at


@dataclass(frozen=True)
class Backtest:
    holdout_hours: int
    step_mae_m: float             # one hour ahead, observed flows
    step_rmse_m: float
    run_mae_m: float              # rolled forward over the held-out span
    run_rmse_m: float
    persistence_mae_m: float      # the level stays where it was at the span's start


@dataclass(frozen=True)
class ThresholdCrossing:
    threshold: str                # 'low' or 'high'
    level_m: float
    at: pd.Timestamp | None       # first predicted hour at or past it, None if not within the horizon
    hours: float | None


def _local_hour(hours: pd.Series, tz: str) -> np.ndarray:
    stamps = pd.DatetimeIndex(hours).tz_localize("UTC").tz_convert(tz)
    return (stamps.hour + stamps.minute / 60).to_numpy(dtype=float)


def _harmonics(local_hour: np.ndarray) -> np.ndarray:
    angle = 2 * np.pi * local_hour / 24
    return np.column_stack([np.sin(angle), np.cos(angle), np.sin(2 * angle), np.cos(2 * angle)])


def _design(frame: pd.DataFrame, features: tuple[str, ...], tz: str) -> np.ndarray:
    columns = [np.ones(len(frame))] + [frame[f].to_numpy(dtype=float) for f in features]
    return np.column_stack(columns + [_harmonics(_local_hour(frame["hour"], tz))])


def _regular(history: pd.DataFrame) -> pd.DataFrame:
    """The history on a complete hourly index (missing hours as NaN rows), sorted."""
    if history.empty:
        return history.assign(hour=pd.Series(dtype="datetime64[us]"))
    frame = history.copy()
    frame["hour"] = pd.to_datetime(frame["hour"])
    full = pd.date_range(frame["hour"].min(), frame["hour"].max(), freq="h")
    return frame.set_index("hour").reindex(full).rename_axis("hour").reset_index()


def _profile(frame: pd.DataFrame, features: tuple[str, ...], tz: str) -> pd.DataFrame:
    recent = frame[frame["hour"] > frame["hour"].max() - pd.Timedelta(days=PROFILE_DAYS)]
    flows = [f for f in features if f != "level_m"]
    hour_of_day = np.floor(_local_hour(recent["hour"], tz)).astype(int)
    profile = recent[flows].groupby(hour_of_day).mean().reindex(range(24))
    return profile.interpolate(limit_direction="both").fillna(0.0)


def fit_tank_model(history: pd.DataFrame, tz: str = "UTC") -> TankLevelModel:
    """Fit on an hourly frame with columns hour (naive UTC), level_m, outflow_l_s and optionally pump_on."""
    frame = _regular(history)
    if "level_m" not in frame or frame["level_m"].notna().sum() == 0:
        raise TankModelError("This tank has no level readings to learn from.")
    if "outflow_l_s" not in frame or frame["outflow_l_s"].notna().sum() == 0:
        raise TankModelError("No outflow is metered for this tank's zone (no inlet flow meter), "
                             "so its level cannot be predicted.")
    if "pump_on" in frame and frame["pump_on"].notna().any():
        features = ("outflow_l_s", "pump_on")         # the inflow is metered: a plain mass balance
    else:
        features = ("outflow_l_s", "level_m")         # unmetered refill (a float valve) follows the level
    target = frame["level_m"].shift(-1) - frame["level_m"]
    usable = target.notna() & frame[list(features)].notna().all(axis=1)
    if usable.sum() < MIN_TRAINING_HOURS:
        raise TankModelError(f"Only {int(usable.sum())} complete hours of level and flow history; "
                             f"the prediction needs at least {MIN_TRAINING_HOURS} ({MIN_TRAINING_HOURS // 24} days).")
    design = _design(frame[usable], features, tz)
    coefficients, *_ = np.linalg.lstsq(design, target[usable].to_numpy(dtype=float), rcond=None)
    return TankLevelModel(features, coefficients, tz, _profile(frame, features, tz), int(usable.sum()),
                          _pump_switching(frame) if "pump_on" in features else None)


def _pump_switching(frame: pd.DataFrame) -> tuple[float, float] | None:
    """The levels a level-switched pump starts and stops at, learnt from its run-state history.

    A start lies between the levels of the hour before and the hour it began: their midpoint is
    taken. A pump stops within the hour it reaches its stop level (as `roll_forward` assumes):
    the level of the first hour stopped is taken. Then the median over all starts and all stops. None unless the pump started
    and stopped at least twice, with the start level below the stop level.
    """
    running = (frame["pump_on"] > 0).to_numpy()
    known = frame["pump_on"].notna().to_numpy()
    level = frame["level_m"].to_numpy(dtype=float)
    starts, stops = [], []
    for k in range(1, len(frame)):
        if known[k] and known[k - 1] and running[k] and not running[k - 1]:
            starts.append((level[k - 1] + level[k]) / 2)
        elif known[k] and known[k - 1] and running[k - 1] and not running[k]:
            stops.append(level[k])
    starts, stops = [v for v in starts if np.isfinite(v)], [v for v in stops if np.isfinite(v)]
    if len(starts) < 2 or len(stops) < 2 or np.median(starts) >= np.median(stops):
        return None
    return float(np.median(starts)), float(np.median(stops))


def step_change(model: TankLevelModel, frame: pd.DataFrame) -> np.ndarray:
    """Predicted level change over each hour of ``frame`` from that hour's features."""
    return _design(frame, model.features, model.tz) @ model.coefficients


def roll_forward(model: TankLevelModel, start: pd.Timestamp, level_m: float, hours: int,
                 pump_running: bool | None = None) -> pd.DataFrame:
    """Levels predicted for the ``hours`` hours after ``start`` (whose level is ``level_m``).

    With a learnt pump switching rule the pump starts when the predicted level falls to its
    start level and stops within the hour it reaches its stop level (``pump_running``: its state at ``start``, else
    running if the level is below the start level); otherwise the pump runs its typical share
    of each hour of day. Returns columns hour, level_m (the first row is ``start`` itself).
    """
    stamps = pd.date_range(pd.Timestamp(start), periods=hours + 1, freq="h")
    local_hour = _local_hour(pd.Series(stamps), model.tz)
    typical = model.profile.reindex(np.floor(local_hour).astype(int))
    by_feature = dict(zip(model.features, model.coefficients[1:1 + len(model.features)]))
    switched = model.pump_switching is not None
    flows = [f for f in model.features if f != "level_m" and not (switched and f == "pump_on")]
    drive = (model.coefficients[0] + typical[flows].to_numpy(dtype=float) @ np.array([by_feature[f] for f in flows])
             + _harmonics(local_hour) @ model.coefficients[1 + len(model.features):])
    keep = 1.0 + by_feature.get("level_m", 0.0)
    levels = np.empty(hours + 1)
    levels[0] = level_m
    if not switched:
        for k in range(hours):
            levels[k + 1] = levels[k] * keep + drive[k]
        return pd.DataFrame({"hour": stamps, "level_m": levels})
    start_m, stop_m = model.pump_switching
    pump_gain = by_feature["pump_on"]
    running = level_m <= start_m if pump_running is None else pump_running
    for k in range(hours):
        if running and levels[k] >= stop_m:
            running = False
        elif not running and levels[k] <= start_m:
            running = True
        levels[k + 1] = levels[k] * keep + drive[k] + (pump_gain if running else 0.0)
        if running and levels[k + 1] > stop_m:   # it stops within the hour, at its stop level
            levels[k + 1], running = max(stop_m, levels[k] * keep + drive[k]), False
    return pd.DataFrame({"hour": stamps, "level_m": levels})


def backtest(history: pd.DataFrame, tz: str = "UTC", holdout_days: int = 2) -> Backtest:
    """Fit on the history before the last ``holdout_days`` days and score the prediction on them."""
    frame = _regular(history)
    if frame.empty:
        raise TankModelError("This tank has no level readings to learn from.")
    cut = frame["hour"].max() - pd.Timedelta(days=holdout_days)
    model = fit_tank_model(frame[frame["hour"] <= cut], tz)
    held = frame[frame["hour"] >= cut].reset_index(drop=True)
    observed = held["level_m"].to_numpy(dtype=float)
    if len(held) < 2 or np.isnan(observed[0]):
        raise TankModelError("The held-out days have no level readings to score the prediction on.")
    step = observed[:-1] + step_change(model, held.iloc[:-1])
    step_error = (step - observed[1:])[~np.isnan(step - observed[1:])]
    running = bool(held["pump_on"].iat[0] > 0) if "pump_on" in held and pd.notna(held["pump_on"].iat[0]) else None
    run = roll_forward(model, held["hour"].iat[0], observed[0], len(held) - 1, running)["level_m"].to_numpy()
    keep = ~np.isnan(observed)
    run_error = (run - observed)[keep][1:]
    persistence = (observed[0] - observed)[keep][1:]
    if len(step_error) == 0 or len(run_error) == 0:
        raise TankModelError("The held-out days have too few complete hours to score the prediction on.")
    return Backtest(len(held) - 1, float(np.mean(np.abs(step_error))), float(np.sqrt(np.mean(step_error ** 2))),
                    float(np.mean(np.abs(run_error))), float(np.sqrt(np.mean(run_error ** 2))),
                    float(np.mean(np.abs(persistence))))


def threshold_crossings(prediction: pd.DataFrame, low_m: float | None, high_m: float | None) -> list[ThresholdCrossing]:
    """When the predicted level first reaches the low or the high threshold (None: not within the prediction)."""
    start = prediction["hour"].iat[0]
    crossings = []
    for name, level, past in (("low", low_m, prediction["level_m"] <= (low_m or 0)),
                              ("high", high_m, prediction["level_m"] >= (high_m or 0))):
        if level is None:
            continue
        hit = prediction.loc[past.to_numpy() & (np.arange(len(prediction)) > 0), "hour"]
        at = hit.iat[0] if len(hit) else None
        crossings.append(ThresholdCrossing(name, float(level), at,
                                           (at - start).total_seconds() / 3600 if at is not None else None))
    return crossings
