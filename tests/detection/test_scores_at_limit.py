"""An event just past its rule's limit clears the default alert rule's bar.

Each explanation names its rule's limit ("alarm after 6.0 h", "alarm above 0.105 L/s"); an operator
reading it expects the alert then, not at some larger multiple that only the score knows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alerts.rules import Rule, rule_for
from alerts.schema import DEFAULT_RULES
from detection.features import Window
from detection.rules_flow import night_flow_rise
from detection.rules_sensor import pressure_out_of_band
from detection.rules_silence import silent_meter

START = pd.Timestamp("2025-03-01")
DEFAULTS = [Rule(*row) for row in DEFAULT_RULES]


def bar(kind: str, category: str, concern: str) -> float:
    return rule_for(DEFAULTS, "Z1", category, kind, concern).min_score


def test_a_meter_silent_just_past_its_limit():
    stamps = pd.date_range(START, START + pd.Timedelta(days=3), freq="h")
    now = stamps[-1] + pd.Timedelta(hours=6, minutes=30)
    times = pd.DataFrame({"meter_id": "Z1-R-0001", "ts": stamps})
    catalogue = pd.DataFrame({"meter_id": ["Z1-R-0001"], "zone_id": ["Z1"]})
    [silence] = silent_meter(times, catalogue, Window(START, now), now=now)
    assert silence["explanation"] == "No reading for 6.5 h and counting (usual interval 60 min; alarm after 6.0 h)"
    assert silence["score"] >= bar("silent_meter", "residential", "reporting")


def test_a_night_flow_just_above_its_alarm():
    """Fourteen nights at 0.100 L/s: the alarm is 5 % above, at 0.105; two nights at 0.107 cross it."""
    stamps = pd.date_range(START, START + pd.Timedelta(days=17), freq="15min", inclusive="left")
    hour = stamps.hour
    flow = np.where((hour >= 1) & (hour < 5), 0.100, 1.0)
    flow[(stamps >= START + pd.Timedelta(days=15)) & (hour >= 1) & (hour < 5)] = 0.107
    readings = pd.DataFrame({"meter_id": "Z1-INLET", "ts": stamps, "value": flow})
    catalogue = pd.DataFrame([{"meter_id": "Z1-INLET", "zone_id": "Z1", "category": "inlet", "tz": "UTC"}])
    [rise] = night_flow_rise(readings, catalogue, Window(START + pd.Timedelta(days=14), stamps[-1]))
    assert "(alarm above 0.105 L/s); above the alarm 2 nights running" in rise["explanation"]
    assert rise["score"] >= bar("night_flow_rise", "zone", "water_loss")


def test_a_pressure_just_outside_its_band():
    """Three days between 3.0 and 3.5 bar: the band is widened by a fifth of that, to 2.90-3.60 bar."""
    stamps = pd.date_range(START, START + pd.Timedelta(days=4), freq="15min", inclusive="left")
    pressure = 3.25 + 0.25 * np.sin(np.arange(len(stamps)) * 2 * np.pi / 96)
    dip = (stamps >= START + pd.Timedelta(days=3, hours=12)) & (stamps < START + pd.Timedelta(days=3, hours=13))
    pressure[dip] = 2.89
    readings = pd.DataFrame({"meter_id": "Z1-P1", "ts": stamps, "value": pressure})
    catalogue = pd.DataFrame([{"meter_id": "Z1-P1", "zone_id": "Z1", "category": "sensor", "tz": "UTC"}])
    [low] = pressure_out_of_band(readings, catalogue, Window(START + pd.Timedelta(days=3), stamps[-1]))
    assert low["explanation"].startswith("Pressure below its usual band 2.90-3.60 bar for 4 readings, reaching 2.89")
    assert low["score"] >= bar("pressure_out_of_band", "sensor", "water_loss")
