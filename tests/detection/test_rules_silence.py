"""`silent_meter` read straight from reading times: one event per silent meter, one per outage behind a gateway."""

from __future__ import annotations

import pandas as pd

from detection.features import Window
from detection.rules_silence import silent_meter

START = pd.Timestamp("2025-03-01")
WINDOW = Window(START + pd.Timedelta(days=7), START + pd.Timedelta(days=14))
HOUR = pd.Timedelta(hours=1)
OUTAGE = (START + pd.Timedelta(days=9, hours=3), START + pd.Timedelta(days=9, hours=13))


def times(meters: dict[str, tuple[str, list[tuple[pd.Timestamp, pd.Timestamp]]]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reading times of each meter (its interval, its silences [from, to)) and the catalogue of zones."""
    frames, zones = [], {}
    for meter_id, (zone, (interval, gaps)) in meters.items():
        stamps = pd.date_range(START, WINDOW.end, freq=interval, inclusive="left")
        for start, end in gaps:
            stamps = stamps[(stamps < start) | (stamps >= end)]
        frames.append(pd.DataFrame({"meter_id": meter_id, "ts": stamps}))
        zones[meter_id] = zone
    return pd.concat(frames, ignore_index=True), pd.DataFrame({"meter_id": list(zones), "zone_id": list(zones.values())})


def test_meters_behind_one_gateway_going_silent_together_are_one_outage():
    behind = {f"Z1-R-{k:04d}": ("Z1", ("h", [OUTAGE])) for k in range(12)}
    # a 15-minute sensor behind the same link: its last reading comes 30 minutes after the hourly meters'
    behind["Z1-P"] = ("Z1", ("15min", [(OUTAGE[0] - pd.Timedelta(minutes=15), OUTAGE[1])]))
    elsewhere = {"Z2-R-0001": ("Z2", ("h", [OUTAGE])), "Z1-R-0100": ("Z1", ("h", [(OUTAGE[0] + 2 * HOUR, OUTAGE[1])]))}
    stamps, catalogue = times(behind | elsewhere | {"Z1-R-0200": ("Z1", ("h", []))})
    events = {e["meter_id"]: e for e in silent_meter(stamps, catalogue, WINDOW)}
    assert sorted(events) == ["Z1-R-0100", "Z2-R-0001", "ZONE:Z1"]
    outage = events["ZONE:Z1"]
    assert (outage["zone_id"], outage["kind"], outage["detector"]) == ("Z1", "silent_meter", "silent_meter")
    assert outage["start"] == OUTAGE[0] - HOUR and outage["end"] == OUTAGE[1]
    assert outage["raised_at"] == OUTAGE[0] - HOUR + pd.Timedelta(hours=6)
    assert outage["explanation"].startswith("13 meters and sensors of zone Z1 stopped reporting together")
    assert "(Z1-P, Z1-R-0000, Z1-R-0001" in outage["explanation"] and "and 5 more" in outage["explanation"]
    assert "gateway" in outage["explanation"]
    assert events["Z1-R-0100"]["explanation"].startswith("No reading for 9.0 h")  # went quiet later: its own


def test_a_meter_silent_on_its_own_keeps_its_own_event_and_meters_with_no_zone_stand_alone():
    later = (OUTAGE[0] + pd.Timedelta(days=2), OUTAGE[1] + pd.Timedelta(days=2))
    stamps, catalogue = times({"Z1-R-0001": ("Z1", ("h", [OUTAGE])), "Z1-R-0002": ("Z1", ("h", [later])),
                               "A": (None, ("h", [OUTAGE])), "B": (None, ("h", [OUTAGE]))})
    events = silent_meter(stamps, catalogue, WINDOW)
    assert sorted(e["meter_id"] for e in events) == ["A", "B", "Z1-R-0001", "Z1-R-0002"]
    assert all(e["explanation"].startswith("No reading for 11.0 h") for e in events)


def test_an_outage_still_going_on_is_open_and_counting():
    now = OUTAGE[0] + pd.Timedelta(hours=8)
    stamps, catalogue = times({f"Z3-R-{k}": ("Z3", ("h", [(OUTAGE[0], WINDOW.end)])) for k in range(3)})
    [outage] = silent_meter(stamps[stamps["ts"] < now], catalogue, WINDOW, now=now)
    assert outage["meter_id"] == "ZONE:Z3" and outage["end"] == now
    assert "no reading came for up to 9.0 h and counting (Z3-R-0, Z3-R-1, Z3-R-2)" in outage["explanation"]


def test_two_meters_of_a_large_zone_resting_together_are_chance_and_outages_that_overlap_are_one():
    big = {f"Z4-R-{k:02d}": ("Z4", ("h", [OUTAGE] if k < 2 else [])) for k in range(30)}
    later = (OUTAGE[0] + 3 * HOUR, OUTAGE[1] + 6 * HOUR)
    small = {f"Z5-R-{k}": ("Z5", ("h", [(OUTAGE[0], later[1])] if k < 3 else [later] if k < 7 else []))
             for k in range(10)}
    stamps, catalogue = times(big | small)
    events = {e["meter_id"]: e for e in silent_meter(stamps, catalogue, WINDOW)}
    assert sorted(events) == ["Z4-R-00", "Z4-R-01", "ZONE:Z5"]
    outage = events["ZONE:Z5"]
    assert outage["start"] == OUTAGE[0] - HOUR and outage["end"] == later[1]
    assert outage["explanation"].startswith("7 meters and sensors of zone Z5 stopped reporting together")


def test_a_live_scan_raises_a_gateway_outage_as_one_event_while_its_meters_cross_their_limits():
    minute = pd.Timedelta(minutes=1)
    frames = []
    for k in range(12):  # hourly meters, each at its own minute, behind a gateway that dies at 10:00 on day 9
        stamps = pd.date_range(START + 5 * k * minute, WINDOW.end, freq="h", inclusive="left")
        frames.append(pd.DataFrame({"meter_id": f"Z6-R-{k:02d}", "ts": stamps[stamps < OUTAGE[0]]}))
    stamps = pd.concat(frames, ignore_index=True)
    catalogue = pd.DataFrame({"meter_id": [f"Z6-R-{k:02d}" for k in range(12)], "zone_id": "Z6"})
    last_seen = OUTAGE[0] - HOUR
    first_ticks = [last_seen + pd.Timedelta(hours=6) + m * minute for m in (1, 7)]  # 1 and 2 meters past 6 h
    for now in first_ticks + [last_seen + pd.Timedelta(hours=7)]:
        [outage] = silent_meter(stamps, catalogue, WINDOW, now=now)
        assert outage["meter_id"] == "ZONE:Z6" and outage["raised_at"] == last_seen + pd.Timedelta(hours=6)
        assert outage["explanation"].startswith("12 meters and sensors of zone Z6 stopped reporting together")
    assert silent_meter(stamps, catalogue, WINDOW, now=last_seen + pd.Timedelta(hours=5)) == []
