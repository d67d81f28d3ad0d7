"""Statistical detectors: a moving-window z-score (the baseline) and an isolation forest per series.

Both work on hourly values (litres per hour of consumption meters, hourly means
of network sensors). The forest is trained on the series' own training window
of engineered features and cached by series and window, so a streaming scan
re-trains once per schedule step (the window start is floored to the day), not
at every call.
"""

from __future__ import annotations

from collections import OrderedDict
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


def zscore_anomaly(hourly: pd.DataFrame, window: Window, units: dict[str, str], zones: dict[str, str | None],
                   span_h: int = 168, limit: float = 4.0, min_hours: int = 2) -> list[dict]:
    """Hours more than ``limit`` standard deviations from the mean of the previous ``span_h`` hours."""
    if hourly.empty:
        return []
    past = hourly.shift(1).rolling(span_h, min_periods=span_h // 2)
    mean, std = past.mean(), past.std()
    floor = 0.05 * mean.abs() + 1e-6
    z = ((hourly - mean) / np.maximum(std, floor)).to_numpy()
    scanned = (hourly.index >= window.start) & (hourly.index < window.end)
    rows = []
    for column, meter_id in enumerate(hourly.columns):
        flagged = (np.abs(np.nan_to_num(z[:, column])) > limit) & scanned
        for first, last in merge_runs(runs(flagged, min_length=min_hours), gap=1):
            peak = int(first + np.nanargmax(np.abs(z[first:last + 1, column])))
            unit = units.get(meter_id, "")
            rows.append(event(
                detector="zscore", meter_id=meter_id, zone_id=zones.get(meter_id), kind="zscore_anomaly",
                start=hourly.index[first], end=hourly.index[last] + pd.Timedelta(hours=1),
                raised_at=hourly.index[first + min_hours - 1] + pd.Timedelta(hours=1),
                score=squash(abs(z[peak, column]) / limit - 0.5),
                explanation=(f"Hourly value {hourly.iat[peak, column]:.2f} {unit} is {z[peak, column]:+.1f} standard "
                             f"deviations from the mean {mean.iat[peak, column]:.2f} {unit} of the previous "
                             f"{span_h} h, for {last - first + 1} h")))
    return rows


def features(values: pd.Series, training_end: pd.Timestamp, consumption: bool) -> pd.DataFrame:
    """Engineered hourly features of one series (see `FEATURE_NAMES`)."""
    training = values[values.index < training_end]
    typical = training.groupby(training.index.hour).median()
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
    centre: pd.Series
    scale: pd.Series


class ForestCache:
    """Fitted forests keyed by (series, training start, training end); least recently used dropped first."""

    def __init__(self, size: int = 4096):
        self.size = size
        self._models: OrderedDict = OrderedDict()

    def get(self, key: tuple, train: pd.DataFrame) -> ForestModel:
        if key in self._models:
            self._models.move_to_end(key)
            return self._models[key]
        forest = IsolationForest(n_estimators=30, max_samples=min(128, len(train)), random_state=0)
        forest.fit(train.to_numpy())
        scores = forest.score_samples(train.to_numpy())
        centre = train.median()
        scale = (1.4826 * (train - centre).abs().median()).replace(0, np.nan).fillna(train.std()).replace(0, 1.0)
        model = ForestModel(forest, float(scores.min()), centre, scale)
        self._models[key] = model
        if len(self._models) > self.size:
            self._models.popitem(last=False)
        return model


FORESTS = ForestCache()


def _schedule(moment: pd.Timestamp, every_days: int) -> pd.Timestamp:
    """The last re-training date at or before ``moment``."""
    origin = pd.Timestamp("2000-01-01")
    return origin + pd.Timedelta(days=every_days * ((moment - origin).days // every_days))


def isolation_forest(hourly: pd.DataFrame, window: Window, units: dict[str, str], zones: dict[str, str | None],
                     consumption: set[str], cache: ForestCache = FORESTS, tariff: Tariff = Tariff(),
                     min_hours: int = 3, retrain_days: int = 28) -> list[dict]:
    """Hours scoring as more isolated than any hour of the series' training window, 3+ hours in a row.

    Forests are re-trained every ``retrain_days`` (at fixed dates counted from
    2000-01-01, so every caller agrees on the schedule) on the weeks before.
    """
    rows = []
    scanned_mask = (hourly.index >= window.start) & (hourly.index < window.end)
    for meter_id in hourly.columns:
        trained_until = _schedule(window.start, retrain_days)
        table = features(hourly[meter_id], trained_until, meter_id in consumption)
        train = table[(table.index < trained_until) & (table.index >= window.training_start)].dropna()
        if len(train) < 7 * 24:
            continue
        model = cache.get((meter_id, window.training_start, trained_until), train)
        scan = table[scanned_mask].dropna()
        if scan.empty:
            continue
        scores = model.forest.score_samples(scan.to_numpy())
        flagged = scores < model.threshold
        for first, last in merge_runs(runs(flagged, min_length=min_hours), gap=1):
            part = scan.iloc[first:last + 1]
            standing = ((part.median() - model.centre) / model.scale).abs().sort_values(ascending=False)
            unit = units.get(meter_id, "")
            reasons = ", ".join(f"{FEATURE_NAMES[name]} {part[name].median():.2f} (usual {model.centre[name]:.2f})"
                                for name in standing.index[:2])
            lost = float((part["min_24h"] if meter_id in consumption else part["deviation"]).clip(lower=0).sum()) \
                if meter_id in consumption else 0.0
            rows.append(event(
                detector="isolation_forest", meter_id=meter_id, zone_id=zones.get(meter_id), kind="isolation_forest",
                start=part.index[0], end=part.index[-1] + pd.Timedelta(hours=1),
                raised_at=scan.index[first + min_hours - 1] + pd.Timedelta(hours=1),
                score=squash((model.threshold - float(scores[first:last + 1].min())) / abs(model.threshold) * 10),
                tariff=tariff, lost_volume_l=lost,
                explanation=(f"Isolation forest: {last - first + 1} h unlike any hour of the previous "
                             f"{window.training_days} days ({unit}): {reasons}")))
    return rows


STATISTICAL = ("zscore", "isolation_forest")


def confirmed(events: pd.DataFrame) -> pd.DataFrame:
    """Every rule event, and the z-score and isolation-forest events that the other of the two confirms (an
    overlapping event on the same series): what `detect` writes by default, the evaluation's "combination".
    Alone, either statistical detector raises an order of magnitude more false alarms than the rules."""
    forest = events[events["detector"] == "isolation_forest"]
    zscore = events[events["detector"] == "zscore"]
    kept = ~events["detector"].isin(STATISTICAL)
    for mine, other in ((forest, zscore), (zscore, forest)):
        kept[_overlapped_by(mine, other)] = True
    return events[kept]


def _overlapped_by(events: pd.DataFrame, others: pd.DataFrame) -> list:
    """Index labels of ``events`` that an event of ``others`` overlaps on the same series."""
    if events.empty or others.empty:
        return []
    pairs = events.reset_index().merge(others[["meter_id", "start", "end"]], on="meter_id", suffixes=("", "_other"))
    overlapping = pairs[(pairs["start_other"] <= pairs["end"]) & (pairs["end_other"] >= pairs["start"])]
    return sorted(set(overlapping["index"]))
