"""The isolation forest: one per series, trained on a schedule, scoring each new hour against it.

A forest learns a series' normal from engineered hourly features over the
``training_days`` before a re-training date, and those dates fall every
``retrain_days`` counted from 2000-01-01, so every caller (a minute's streaming
tick, a week of a history scan, `detect`) agrees on which model judges an hour.
Between two dates the model is cached: a live loop fits each series once per
schedule step, and a scan of history once per step, not once per window. The
training hours are read for the model itself (``history``), since a window's own
weeks of history need not reach back to the date's training span.

A series new to the store (a meter just installed, a file just imported) may have
too little history at its last date; until the next date it is then trained at
each weekly step on the 28 days before the step, so it waits one to two weeks for
a forest, not up to five.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from detection.events import Tariff, event, merge_runs, runs, squash
from detection.features import Window

FEATURE_NAMES = {
    "value": "hourly value",
    "deviation": "deviation from the same hour's typical value",
    "min_6h": "lowest value of the last 6 h",
    "min_24h": "lowest value of the last 24 h",
    "change": "change from the previous hour",
    "continuous_h": "hours of continuous flow",
}
MIN_TRAINING_HOURS = 7 * 24
#: Steps at which a series with too little history at its re-training date is tried again.
INTERIM_STEP_DAYS = 7
#: Hours read before a training span so that its first hours have their 24-hour features.
WARM_UP = pd.Timedelta(days=1)

#: Hourly values (one column per series) of the series asked, for the hours in [start, end).
History = Callable[[Sequence[str], pd.Timestamp, pd.Timestamp], pd.DataFrame]


def typical_by_hour(values: pd.Series) -> pd.Series:
    """The median of each hour of day (0-23)."""
    return values.groupby(values.index.hour).median()


def features(values: pd.Series, typical: pd.Series, consumption: bool) -> pd.DataFrame:
    """Engineered hourly features of one series (see `FEATURE_NAMES`), deviations from ``typical``."""
    table = pd.DataFrame({
        "value": values,
        "deviation": values - typical.reindex(values.index.hour).to_numpy(),
        "min_6h": values.rolling(6, min_periods=6).min(),
        "min_24h": values.rolling(24, min_periods=24).min(),
    })
    if consumption:
        used = (values.fillna(0) > 0).astype(int)
        table["continuous_h"] = used.groupby((used == 0).cumsum()).cumsum()
    else:
        table["change"] = values.diff()
    return table


@dataclass
class ForestModel:
    forest: IsolationForest
    threshold: float
    trained_on: tuple[pd.Timestamp, pd.Timestamp]
    typical: pd.Series
    centre: pd.Series
    scale: pd.Series


def fit(values: pd.Series, since: pd.Timestamp, until: pd.Timestamp, consumption: bool) -> ForestModel | None:
    """A forest of the series' hours in [since, until) (``values`` may start earlier, to warm the features up);
    None when fewer than `MIN_TRAINING_HOURS` of them are complete."""
    span = values[values.index < until]
    typical = typical_by_hour(span[span.index >= since])
    table = features(span, typical, consumption)
    train = table[table.index >= since].dropna()
    if len(train) < MIN_TRAINING_HOURS:
        return None
    forest = IsolationForest(n_estimators=30, max_samples=min(128, len(train)), random_state=0)
    forest.fit(train.to_numpy())
    scores = forest.score_samples(train.to_numpy())
    centre = train.median()
    scale = (1.4826 * (train - centre).abs().median()).replace(0, np.nan).fillna(train.std()).replace(0, 1.0)
    return ForestModel(forest, float(scores.min()), (max(since, train.index[0].floor("D")), until), typical, centre,
                       scale)


class ForestCache:
    """Fitted forests (None: too little training) keyed by (series, training span); least recently used dropped
    first."""

    def __init__(self, size: int = 4096):
        self.size = size
        self._models: OrderedDict = OrderedDict()
        self.fits = 0

    def __contains__(self, key: tuple) -> bool:
        return key in self._models

    def get(self, key: tuple) -> ForestModel | None:
        self._models.move_to_end(key)
        return self._models[key]

    def put(self, key: tuple, model: ForestModel | None) -> None:
        self._models[key] = model
        self.fits += 1
        if len(self._models) > self.size:
            self._models.popitem(last=False)


FORESTS = ForestCache()


def training_date(moment: pd.Timestamp, every_days: int) -> pd.Timestamp:
    """The last re-training date at or before ``moment``."""
    origin = pd.Timestamp("2000-01-01")
    return origin + pd.Timedelta(days=every_days * ((moment - origin).days // every_days))


def isolation_forest(hourly: pd.DataFrame, window: Window, units: dict[str, str], zones: dict[str, str | None],
                     consumption: set[str], cache: ForestCache = FORESTS, tariff: Tariff = Tariff(),
                     min_hours: int = 3, retrain_days: int = 28, history: History | None = None) -> list[dict]:
    """Hours scoring as more isolated than any hour the series' forest was trained on, 3+ hours in a row.

    Each series' forest is trained on the ``window.training_days`` before the last re-training date (every
    ``retrain_days``), or before the last weekly step when that date found too little (see the module's
    docstring); ``history`` reads those hours (without it, only what ``hourly`` holds is used).
    """
    models = _models(cache, hourly, window, retrain_days, consumption, history)
    rows = []
    scanned_mask = (hourly.index >= window.start) & (hourly.index < window.end)
    for meter_id in hourly.columns:
        model = models[meter_id]
        if model is None:
            continue
        scan = features(hourly[meter_id], model.typical, meter_id in consumption)[scanned_mask].dropna()
        if scan.empty:
            continue
        scores = model.forest.score_samples(scan.to_numpy())
        for first, last in merge_runs(runs(scores < model.threshold, min_length=min_hours), gap=1):
            rows.append(_event(meter_id, scan.iloc[first:last + 1], scores[first:last + 1], model,
                               scan.index[first + min_hours - 1], units.get(meter_id, ""), zones.get(meter_id),
                               meter_id in consumption, tariff))
    return rows


def _models(cache: ForestCache, hourly: pd.DataFrame, window: Window, retrain_days: int, consumption: set[str],
            history: History | None) -> dict[str, ForestModel | None]:
    """Each series' forest for the window: of its re-training date, else of the last weekly step after it."""
    models: dict[str, ForestModel | None] = {}
    wanting = list(hourly.columns)
    dated = training_date(window.start, retrain_days)
    interim = training_date(window.start, INTERIM_STEP_DAYS)
    for until in (dated, interim) if interim > dated else (dated,):
        since = until - pd.Timedelta(days=window.training_days)
        fitted = _fit_missing(cache, [m for m in wanting if (m, since, until) not in cache], hourly, since, until,
                              consumption, history)
        models.update({meter_id: fitted[meter_id] if meter_id in fitted else cache.get((meter_id, since, until))
                       for meter_id in wanting})
        wanting = [meter_id for meter_id in wanting if models[meter_id] is None]
    return models


def _fit_missing(cache: ForestCache, meter_ids: list[str], hourly: pd.DataFrame, since: pd.Timestamp,
                 until: pd.Timestamp, consumption: set[str], history: History | None) -> dict[str, ForestModel | None]:
    if not meter_ids:
        return {}
    past = history(meter_ids, since - WARM_UP, until) if history is not None else hourly[meter_ids]
    fitted = {}
    for meter_id in meter_ids:
        values = past[meter_id] if meter_id in past else pd.Series(dtype="float64")
        fitted[meter_id] = fit(values, since, until, meter_id in consumption)
        cache.put((meter_id, since, until), fitted[meter_id])
    return fitted


def _event(meter_id: str, part: pd.DataFrame, scores: np.ndarray, model: ForestModel,
           raised_hour: pd.Timestamp, unit: str, zone_id: str | None, consumption: bool, tariff: Tariff) -> dict:
    since, until = model.trained_on
    standing = ((part.median() - model.centre) / model.scale).abs().sort_values(ascending=False)
    reasons = ", ".join(f"{FEATURE_NAMES[name]} {part[name].median():.2f} (usual {model.centre[name]:.2f})"
                        for name in standing.index[:2])
    lost = float(part["min_24h"].clip(lower=0).sum()) if consumption else 0.0
    return event(
        detector="isolation_forest", meter_id=meter_id, zone_id=zone_id, kind="isolation_forest",
        start=part.index[0], end=part.index[-1] + pd.Timedelta(hours=1), raised_at=raised_hour + pd.Timedelta(hours=1),
        score=squash((model.threshold - float(scores.min())) / abs(model.threshold) * 10),
        tariff=tariff, lost_volume_l=lost,
        explanation=(f"Isolation forest: {len(part)} h unlike any hour it was trained on ({since:%Y-%m-%d} to "
                     f"{until - pd.Timedelta(days=1):%Y-%m-%d}, {unit}): {reasons}"))
