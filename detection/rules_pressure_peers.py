"""A pressure sensor reading lower than its zone's other sensors say it should: water leaving near it.

Every pressure sensor of a zone moves with the zone's demand, its pumps and its tanks, so each
sensor's hourly pressure is well predicted from the others' over the training weeks
(`detection.peer_model`: the pair regressions of LILA, a leak localisation method of the BattLeDIM
competition, taken a step further to all the others at once). Demand cycles, weekends, seasons and
pump switching move the references too and cancel out; a leak draws extra water through the pipes
near it, and the sensors there fall below what the others predict, the nearest the furthest. That
finds leaks far smaller than the day-to-day spread of any one sensor, which `zone_pressure_drop`
needs to exceed.

It needs four or more pressure sensors in a zone (sensors with no zone are read as one network), so
that each is predicted by three or more. A reading below its sensor's limit (the sensor beside a
leak, a drifting instrument) or held high for a day (an instrument drifting up) is left out of the
others' predictions and of the fit, so that it neither makes healthy sensors look low nor teaches
the model its leak. When no second sensor reads low with the first, the fall may be its instrument
(`sensor_drift`), and the event says so at a lower severity.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import numpy as np
import pandas as pd

from detection.events import event, merge_runs, runs, squash
from detection.features import HOUR, Window
from detection.peer_model import pair_median, ridge

#: Each sensor is predicted by three or more others.
MIN_SENSORS = 4
MIN_HOURS = 6
MIN_TRAINING_HOURS = 7 * 24
#: The limit is at least this many times a sensor's usual error...
SIGMAS = 4.0
#: ...and this much deeper than the spells of MIN_HOURS its training held on one day in five or more (a
#: weekend's, a daily valve operation's): those recur and are normal; one that came once (a leak since repaired)
#: is not.
MARGIN = 1.5
RECURRING = 0.8
#: Below this (2 cm of head) a fall is within the resolution of the sensors.
FLOOR_BAR = 0.002
#: A rise held this long is a drifting instrument's, not a pump's or a timetable's.
HELD_HIGH_HOURS = 24
#: Hours above the limit that do not end a spell still running when training ends.
ONGOING_GAP = 12


@dataclass(frozen=True)
class PeerResiduals:
    """Each sensor's hourly reading against what the zone's other sensors predict."""

    deviation: pd.DataFrame   # hours x sensors: the residual minus its usual value in training
    spread: pd.Series         # the training residuals' robust standard deviation
    limit: pd.Series          # how far below its prediction a sensor must read to count
    references: pd.Series     # how many other sensors predict it


def peer_residuals(hourly: pd.DataFrame, training: np.ndarray) -> PeerResiduals | None:
    """Fit every sensor of ``hourly`` on the others over the ``training`` hours; None if fewer than
    ``MIN_SENSORS`` can be predicted. A first fit with the pair lines finds the readings below each sensor's
    limit, the low spell still running when training ends, and rises held high for a day (`_held_high`); the
    regression on all the others leaves them out. They are not found with the regression itself: it spreads
    one sensor's fall over the others as rises."""
    values = hourly.to_numpy(dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        values = values - np.nanmean(np.where(training[:, None], values, np.nan), axis=0)
    left_out = np.zeros(values.shape, dtype=bool)
    for i, fit in _fits(values, training, hourly.index, pair_median).items():
        left_out[:, i] = (fit.deviation < -fit.limit) | _held_high(fit, hourly.index) | fit.ongoing
    found = {hourly.columns[i]: fit
             for i, fit in _fits(values, training, hourly.index, partial(ridge, left_out=left_out)).items()}
    if len(found) < MIN_SENSORS:
        return None
    return PeerResiduals(deviation=pd.DataFrame({name: fit.deviation for name, fit in found.items()},
                                                index=hourly.index),
                         spread=pd.Series({name: fit.spread for name, fit in found.items()}),
                         limit=pd.Series({name: fit.limit for name, fit in found.items()}),
                         references=pd.Series({name: fit.references for name, fit in found.items()}))


class _Judged(NamedTuple):
    deviation: np.ndarray
    spread: float
    limit: float
    ongoing: np.ndarray
    usual: np.ndarray         # the training hours its usual value and spread come from
    references: int = 0


def _fits(values: np.ndarray, training: np.ndarray, hours: pd.DatetimeIndex, model: Callable
          ) -> dict[int, _Judged]:
    """Each predictable sensor's residual judged, by column."""
    found = {}
    for i in range(values.shape[1]):
        predicted = model(values, i, training, MIN_SENSORS - 1, MIN_TRAINING_HOURS)
        judged = _judged(values[:, i] - predicted[0], training, hours) if predicted else None
        if judged:
            found[i] = judged._replace(references=predicted[1])
    return found


def _judged(residual: np.ndarray, training: np.ndarray, hours: pd.DatetimeIndex) -> _Judged | None:
    """A sensor's residual against its usual training value."""
    usual = training & ~np.isnan(residual)
    if usual.sum() < MIN_TRAINING_HOURS:
        return None
    deviation, spread = _against(residual, usual)
    ongoing = _ongoing(deviation < -max(SIGMAS * spread, FLOOR_BAR) / 2, training)
    if ongoing.any() and (usual & ~ongoing).sum() >= MIN_TRAINING_HOURS:
        usual &= ~ongoing
        deviation, spread = _against(residual, usual)
    limit = max(SIGMAS * spread, FLOOR_BAR, MARGIN * _recurring(-deviation, usual, hours))
    return _Judged(deviation, spread, limit, ongoing, usual)


def _held_high(fit: _Judged, hours: pd.DatetimeIndex) -> np.ndarray:
    """The hours of rises past twice a sensor's usual ones held for a day or more: an instrument drifting up,
    not a pump's or a timetable's daily cycle (a sensor's fall also lifts the others a little in the median of
    the pair lines, hence twice)."""
    rise_limit = max(SIGMAS * fit.spread, FLOOR_BAR, MARGIN * _recurring(fit.deviation, fit.usual, hours))
    high = np.zeros(len(fit.deviation), dtype=bool)
    for first, last in merge_runs(runs(fit.deviation > 2 * rise_limit), gap=2):
        if last - first + 1 >= HELD_HIGH_HOURS:
            high[first:last + 1] = True
    return high


def _recurring(excess: np.ndarray, usual: np.ndarray, hours: pd.DatetimeIndex) -> float:
    """How far past its usual value a sensor's training held for ``MIN_HOURS`` on one day in five or more."""
    held = pd.Series(np.where(usual, excess, np.nan), index=hours).rolling(MIN_HOURS).min()
    daily = held.resample("D").max().dropna()
    return max(float(daily.quantile(RECURRING)), 0.0) if len(daily) else 0.0


def _against(residual: np.ndarray, usual: np.ndarray) -> tuple[np.ndarray, float]:
    """The residual minus its median over the ``usual`` hours, and their robust standard deviation."""
    centre = float(np.median(residual[usual]))
    return residual - centre, 1.4826 * float(np.median(np.abs(residual[usual] - centre)))


def _ongoing(low: np.ndarray, training: np.ndarray) -> np.ndarray:
    """The low spell still running when training ends: what the scan judges (a leak found in an earlier
    window), not the sensor's normal. Its hours vary about the limit while that limit is learnt with them, so
    short breaks do not end it."""
    ongoing = np.zeros(len(training), dtype=bool)
    spells = merge_runs(runs(low & training, min_length=MIN_HOURS), gap=ONGOING_GAP)
    if spells and spells[-1][1] >= int(np.flatnonzero(training)[-1]) - 2:
        ongoing[spells[-1][0]:spells[-1][1] + 1] = True
    return ongoing


def local_pressure_drop(hourly: pd.DataFrame, series: pd.DataFrame, window: Window) -> list[dict]:
    """Zones where a pressure sensor reads below what the zone's other sensors predict, by more than its limit,
    for ``MIN_HOURS`` or more; one event per zone and spell, on the sensor that fell furthest. ``hourly`` holds
    the hourly means of network series (`features.hourly_means`); those of pressure series are read."""
    hours = hourly.index
    training = np.asarray(hours < window.start)
    scanned = np.asarray((hours >= window.start) & (hours < window.end))
    pressure = series[(series["quantity"] == "pressure") & series["meter_id"].isin(hourly.columns)]
    rows = []
    for zone, names in pressure.groupby(pressure["zone_id"].fillna(""), sort=True)["meter_id"]:
        if len(names) >= MIN_SENSORS and (fit := peer_residuals(hourly[sorted(names)], training)):
            rows += _spells(fit, zone or None, hours, scanned, window)
    return rows


def _spells(fit: PeerResiduals, zone: str | None, hours: pd.DatetimeIndex, scanned: np.ndarray,
            window: Window) -> list[dict]:
    low = (fit.deviation < -fit.limit).to_numpy() & scanned[:, None]
    lowish = (fit.deviation < -fit.limit / 2).to_numpy() & scanned[:, None]
    held = {column: merge_runs(runs(low[:, column], min_length=MIN_HOURS), gap=2) for column in range(low.shape[1])}
    rows = []
    for first, last in merge_runs(sorted(run for found in held.values() for run in found), gap=2):
        part = fit.deviation.iloc[first:last + 1]
        falling = [c for c, found in held.items() if any(first <= a <= last for a, _ in found)]
        deepest = min(falling, key=lambda c: part.iloc[:, c].mean())
        name = str(fit.deviation.columns[deepest])
        raised = min(a for a, _ in held[deepest] if first <= a <= last) + MIN_HOURS - 1
        also = [str(fit.deviation.columns[c]) for c in np.argsort(part.mean().to_numpy())
                if c != deepest and lowish[first:last + 1, c].sum() >= MIN_HOURS]
        fell, worst = -float(part.iloc[:, deepest].mean()), -float(part.iloc[:, deepest].min())
        cause = (f"{', '.join(also)} read low too, less so: water is leaving the network nearest {name}, or a valve "
                 f"near it was throttled" if also else
                 f"No other sensor reads low with it: a leak close to {name}, or the sensor itself drifting")
        rows.append(event(
            detector="local_pressure_drop", meter_id=name, zone_id=zone, kind="local_pressure_drop",
            start=hours[first], end=hours[last] + HOUR, raised_at=hours[raised] + HOUR,
            score=squash(fell / fit.limit[name]), severity="warning" if also else "info",
            explanation=(f"Pressure at {name} has read {fell:.3f} bar below what {fit.references[name]} other "
                         f"pressure sensors of {'zone ' + zone if zone else 'the network'} predict, for "
                         f"{last - first + 1} h (up to {worst:.3f} bar; it counts from {fit.limit[name]:.3f} bar: "
                         f"{SIGMAS:g}x its usual error of {fit.spread[name]:.4f} bar or more, and past the "
                         f"{MIN_HOURS} h spells that recur in its {window.training_days} training days). {cause}")))
    return rows
