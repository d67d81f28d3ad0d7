"""A two-zone store with numbers small enough to check by hand, for the zone and explore query tests.

Zone ZA (Europe/Rome) has an inlet flowing 0.05 L/s (180 L an hour, 4,320 L a
local day), a pressure sensor at 3.0 bar, a residential meter using 60 L an hour
and a commercial one using 90 L an hour: 3,600 L of the 4,320 L reach customers,
so 720 L a day (16.7 %) are unaccounted for. Zone ZB has no meters at all.
Data starts at local midnight of 2024-06-01 (22:00 UTC the day before).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from data.store import Store
from tests.data.builders import ingest, reading

START = datetime(2024, 5, 31, 22, 0, tzinfo=UTC)  # 2024-06-01 00:00 in Rome
QUARTER = timedelta(minutes=15)


def build_small_city(store: Store, days: int = 6, last_night_flow_l_s: float | None = None,
                     last_hour_pressure_bar: float | None = None, inlet_flow_l_s: float = 0.05) -> datetime:
    """Fill ``store``; returns the time of the last reading (naive UTC)."""
    store.register_zones(pd.DataFrame([
        {"zone_id": "ZA", "name": "Alto", "kind": "dma", "tz": "Europe/Rome"},
        {"zone_id": "ZB", "name": "Basso", "kind": "dma", "tz": "UTC"},
    ]))
    store.register_meters(pd.DataFrame([
        {"meter_id": "ZA-INLET", "zone_id": "ZA", "category": "inlet", "quantity": "flow", "unit": "L/s",
         "tz": "Europe/Rome"},
        {"meter_id": "ZA-P1", "zone_id": "ZA", "category": "sensor", "quantity": "pressure", "unit": "bar",
         "tz": "Europe/Rome"},
        {"meter_id": "ZA-R-1", "zone_id": "ZA", "category": "residential", "quantity": "volume", "unit": "L",
         "tz": "Europe/Rome"},
        {"meter_id": "ZA-C-1", "zone_id": "ZA", "category": "commercial", "quantity": "volume", "unit": "L",
         "tz": "Europe/Rome"},
    ]))
    end = START + timedelta(days=days)
    last_night = (end - timedelta(days=1)).replace(hour=23)  # 01:00 local of the last day
    readings = []
    steps = int((end - START) / QUARTER)
    for i in range(steps + 1):
        ts = START + i * QUARTER
        flow = inlet_flow_l_s
        if last_night_flow_l_s is not None and last_night - timedelta(hours=2) <= ts <= last_night + timedelta(hours=5):
            flow = last_night_flow_l_s
        readings.append(reading("ZA-INLET", ts, flow, quantity="flow", unit="L/s"))
        pressure = 3.0 if last_hour_pressure_bar is None or ts < end - timedelta(hours=1) else last_hour_pressure_bar
        readings.append(reading("ZA-P1", ts, pressure, quantity="pressure", unit="bar"))
        if i % 4 == 0:
            hours = i // 4
            readings.append(reading("ZA-R-1", ts, 1000 + 60 * hours))
            readings.append(reading("ZA-C-1", ts, 5000 + 90 * hours))
    ingest(store, readings, now=end + timedelta(minutes=5))
    return end.replace(tzinfo=None)
