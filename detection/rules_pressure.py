"""A zone's pressure falling and staying low: the water, not an instrument.

A leak that is not a burst draws water through the zone day and night, and the
pressure at its sensors settles lower than their usual daily profile. One sensor
moving alone is an instrument (`sensor_drift` raises it); two or more falling
together are the water: a leak drawing on the zone, or a valve or booster setting
changed. Readings of the zone's pressure sensors only, no inlet meter needed, so a
district with pressure loggers alone is watched too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from detection.events import event, merge_runs, runs, squash
from detection.rules_sensor import DailyOffset

#: Hours the fall must last (on a rolling 24 h median, so a fall of a few hours never counts).
MIN_HOURS = 12


def zone_pressure_drop(offsets: dict[str, DailyOffset], series: pd.DataFrame) -> list[dict]:
    """Zones where two or more pressure sensors sit below their usual daily profile by more than its limit
    (``offsets`` from `rules_sensor.daily_offsets`), at the same hours, for ``MIN_HOURS`` or more; one event
    per zone."""
    known = series.set_index("meter_id")
    falls: dict[str, dict[str, DailyOffset]] = {}
    for meter_id, found in offsets.items():
        zone = known.at[meter_id, "zone_id"]
        if known.at[meter_id, "quantity"] == "pressure" and pd.notna(zone):
            falls.setdefault(zone, {})[meter_id] = found._replace(beyond=found.beyond & (found.deviation < 0))
    rows = []
    for zone, sensors in sorted(falls.items()):
        if len(sensors) < 2:
            continue
        falling = pd.DataFrame({m: f.beyond for m, f in sensors.items()}).fillna(False).astype(bool)
        deviation = pd.DataFrame({m: f.deviation for m, f in sensors.items()}).reindex(falling.index)
        shared = (falling.sum(axis=1) >= 2).to_numpy()
        hours = falling.index
        for first, last in merge_runs(runs(shared, min_length=MIN_HOURS), gap=6):
            part = falling.iloc[first:last + 1]
            names = [m for m in part.columns if part[m].any()]
            worst = {m: float(-np.nanmin(deviation[m].iloc[first:last + 1])) for m in names}
            deepest = max(worst, key=worst.get)
            spread, limit = sensors[deepest].spread, sensors[deepest].limit
            rows.append(event(
                detector="zone_pressure_drop", meter_id=f"ZONE:{zone}", zone_id=zone, kind="zone_pressure_drop",
                start=hours[first] - pd.Timedelta(hours=23), end=hours[last],
                raised_at=hours[first + MIN_HOURS - 1] + pd.Timedelta(hours=1),
                score=squash(worst[deepest] / limit), severity="warning",
                explanation=(f"Pressure at {', '.join(names)} has stayed below its usual daily profile for "
                             f"{last - first + 1} h, by up to {worst[deepest]:.3f} bar at {deepest} (day-to-day "
                             f"variation {spread:.3f} bar): the whole zone, not one instrument. A leak drawing on the "
                             f"zone, or a valve or booster setting changed")))
    return rows
