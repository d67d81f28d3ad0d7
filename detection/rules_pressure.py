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
from detection.features import Window
from detection.rules_sensor import daily_offset

#: Hours the fall must last (on a rolling 24 h median, so a fall of a few hours never counts).
MIN_HOURS = 12


def zone_pressure_drop(pressures: pd.DataFrame, series: pd.DataFrame, window: Window,
                       sigmas: float = 6.0) -> list[dict]:
    """Zones where two or more pressure sensors sit below their usual daily profile by more than ``sigmas``
    times its day-to-day variation, at the same hours, for ``MIN_HOURS`` or more; one event per zone."""
    zone_of = series.set_index("meter_id")["zone_id"]
    falls: dict[str, dict[str, tuple]] = {}
    for meter_id, group in pressures.groupby("meter_id", sort=True):
        zone = zone_of.get(meter_id)
        found = daily_offset(group.set_index("ts")["value"].sort_index(), window, sigmas) if pd.notna(zone) else None
        if found is not None:
            beyond, _, deviation, spread = found
            falls.setdefault(zone, {})[meter_id] = (beyond & (deviation < 0), deviation, spread)
    rows = []
    for zone, sensors in sorted(falls.items()):
        if len(sensors) < 2:
            continue
        falling = pd.DataFrame({m: f[0] for m, f in sensors.items()}).fillna(False).astype(bool)
        deviation = pd.DataFrame({m: f[1] for m, f in sensors.items()}).reindex(falling.index)
        shared = (falling.sum(axis=1) >= 2).to_numpy()
        hours = falling.index
        for first, last in merge_runs(runs(shared, min_length=MIN_HOURS), gap=6):
            part = falling.iloc[first:last + 1]
            names = [m for m in part.columns if part[m].any()]
            worst = {m: float(-np.nanmin(deviation[m].iloc[first:last + 1])) for m in names}
            deepest = max(worst, key=worst.get)
            spread = sensors[deepest][2]
            rows.append(event(
                detector="zone_pressure_drop", meter_id=f"ZONE:{zone}", zone_id=zone, kind="pressure_out_of_band",
                start=hours[first] - pd.Timedelta(hours=23), end=hours[last],
                raised_at=hours[first + MIN_HOURS - 1] + pd.Timedelta(hours=1),
                score=squash(worst[deepest] / (sigmas * spread)), severity="warning",
                explanation=(f"Pressure at {', '.join(names)} has stayed below its usual daily profile for "
                             f"{last - first + 1} h, by up to {worst[deepest]:.3f} bar at {deepest} (day-to-day "
                             f"variation {spread:.3f} bar): the whole zone, not one instrument. A leak drawing on the "
                             f"zone, or a valve or booster setting changed")))
    return rows
