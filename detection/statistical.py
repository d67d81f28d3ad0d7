"""Statistical detectors: a moving-window z-score (the baseline), and the combination of it with the forest.

Both statistical detectors work on hourly values (litres per hour of consumption
meters, hourly means of network sensors); the isolation forest is `detection.forest`.
Alone, either raises far more false alarms than the rules, so `confirmed` keeps
only what the other one saw too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from detection.events import event, merge_runs, runs, squash
from detection.features import Window


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
