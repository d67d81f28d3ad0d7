"""The night-flow alert and the zone status read the same minimum night flow, so the Zones page and the
Leaks & alerts page never give two figures for one night."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from data.queries.zone_status import zone_statuses
from data.store import Store
from detection.scan import scan_range
from tests.data.builders import ingest, reading

START = datetime(2025, 3, 1, tzinfo=UTC)
DAYS = 20
QUARTER = timedelta(minutes=15)
WOBBLE = (-0.03, 0.03, -0.01, 0.01)  # the quarter-hours of a night hour read about its mean


def _inlet_flow(ts: datetime) -> float:
    if not 1 <= ts.hour < 5:
        return 1.0
    night = 0.20 if ts >= START + timedelta(days=DAYS - 3) else 0.10
    return night + WOBBLE[ts.minute // 15]


def test_the_alert_and_the_zone_status_give_the_same_night():
    end = START + timedelta(days=DAYS)
    with Store(":memory:") as store:
        store.register_zones(pd.DataFrame([{"zone_id": "ZA", "name": "Alto", "kind": "dma", "tz": "UTC"}]))
        store.register_meters(pd.DataFrame([{"meter_id": "ZA-INLET", "zone_id": "ZA", "category": "inlet",
                                             "quantity": "flow", "unit": "L/s", "tz": "UTC"}]))
        steps = int((end - START) / QUARTER)
        ingest(store, [reading("ZA-INLET", START + i * QUARTER, _inlet_flow(START + i * QUARTER), quantity="flow",
                               unit="L/s") for i in range(steps)], now=end)
        naive_end = end.replace(tzinfo=None)
        status = next(s for s in zone_statuses(store.cursor(), naive_end) if s.zone_id == "ZA")
        events = scan_range(store.cursor(), "ZA", naive_end - timedelta(days=7), naive_end,
                            detectors=("night_flow_rise",))

    [said] = [r for r in status.reasons if r.startswith("Minimum night flow")]
    shown = re.match(r"Minimum night flow ([0-9.]+) L/s on the night to (\d\d \w+) .* typical ([0-9.]+) L/s", said)
    [explanation] = events["explanation"]
    raised = re.match(r"Minimum night flow ([0-9.]+) L/s on the night to (\d\d \w+), against the median "
                      r"([0-9.]+) L/s", explanation)
    assert shown and raised, (said, explanation)
    assert raised.group(2) == shown.group(2) == "20 Mar"
    night, typical = (pytest.approx(value, abs=0.005) for value in (0.20, 0.10))
    assert (float(raised.group(1)), float(raised.group(3))) == (night, typical)
    assert (float(shown.group(1)), float(shown.group(3))) == (night, typical)
