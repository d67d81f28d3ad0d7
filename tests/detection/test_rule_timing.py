"""The rules that decide how soon a customer leak is raised and how often nothing is raised for nothing.

Pure detector calls on constructed frames (no store): a running toilet raised after
4 h of quiet hours, a dripping tap in its first quiet hours, a zone's sensors moving together,
a daily schedule that is news once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from detection.features import Window
from detection.rules_flow import burst, continuous_flow, night_flow_rise
from detection.rules_sensor import daily_offsets, sensor_drift, sensor_spike
from tests.detection import series as s

DAY = pd.Timedelta(days=1)
HOUR = pd.Timedelta(hours=1)
SCAN_START = s.START + 28 * DAY


def _volumes(*households: tuple[str, pd.Series]) -> pd.DataFrame:
    return pd.DataFrame(dict(households)).astype("float64")


def _catalogue(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"meter_id": m, "zone_id": z, "category": "sensor", "quantity": q, "tz": "UTC"}
                         for m, z, q in rows])


def _readings(meter_id: str, values: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"meter_id": meter_id, "ts": values.index, "value": values.to_numpy()})


def test_a_running_toilet_is_raised_four_hours_after_it_starts_in_quiet_hours():
    leak_from = SCAN_START + 2 * DAY + 22 * HOUR
    toilet = s.household_hourly(seed=3, leak_l_h=40.0, leak_from=leak_from)
    window = Window(SCAN_START, SCAN_START + 7 * DAY)
    found = continuous_flow(_volumes(("H", toilet)), window, {"H": None})
    assert [e["detector"] for e in found] == ["continuous_flow"]
    assert found[0]["start"] == leak_from
    assert found[0]["raised_at"] - leak_from == 4 * HOUR
    assert "below 40 L/h" in found[0]["explanation"] and "at this time of day" in found[0]["explanation"]


def test_weekly_garden_watering_at_its_usual_hour_is_not_a_leak():
    use = s.household_hourly(seed=5)
    saturday_evening = (use.index.day_of_week == 5) & (use.index.hour >= 18) & (use.index.hour < 23)
    use[saturday_evening] += 150.0
    window = Window(SCAN_START, SCAN_START + 7 * DAY)
    assert continuous_flow(_volumes(("H", use)), window, {"H": None}) == []


def test_a_sleepless_night_of_uneven_use_is_not_a_trickle():
    use = s.household_hourly(seed=1)
    for night in (3, 4):
        midnight = SCAN_START + night * DAY
        use[(use.index >= midnight + HOUR) & (use.index < midnight + 5 * HOUR)] = [3.0, 11.0, 2.0, 8.0]
    window = Window(SCAN_START, SCAN_START + 7 * DAY)
    assert continuous_flow(_volumes(("H", use)), window, {"H": None}) == []


def test_a_dripping_tap_is_raised_in_its_first_quiet_hours():
    window = Window(SCAN_START, SCAN_START + 7 * DAY)
    for hour, within in ((10, 8 * HOUR), (22, 4 * HOUR)):
        drip_from = SCAN_START + 2 * DAY + hour * HOUR
        use = s.household_hourly(seed=1, leak_l_h=6.0, leak_from=drip_from)
        found = continuous_flow(_volumes(("H", use)), window, {"H": None})
        assert [e["detector"] for e in found] == ["steady_trickle"]
        assert found[0]["start"] == drip_from
        assert found[0]["raised_at"] - drip_from <= within


def _level(seed: int, shift_from: pd.Timestamp | None, shift: float) -> pd.Series:
    stamps = pd.date_range(s.START, periods=s.DAYS * 96, freq="15min")
    level = 3.0 + 0.5 * np.sin(2 * np.pi * np.arange(len(stamps)) / 96) + \
        np.random.default_rng(seed).normal(0, 0.01, len(stamps))
    if shift_from is not None:
        level[stamps >= shift_from] += shift
    return pd.Series(level, index=stamps)


def test_a_sensor_that_moves_alone_drifts_but_a_zone_that_moves_together_does_not():
    moved = SCAN_START + 2 * DAY
    readings = pd.concat([_readings("A-1", _level(1, moved, 0.5)), _readings("A-2", _level(2, moved, 0.5)),
                          _readings("B-1", _level(3, moved, 0.5)), _readings("B-2", _level(4, None, 0.0))])
    catalogue = _catalogue([("A-1", "A", "level"), ("A-2", "A", "level"), ("B-1", "B", "level"),
                            ("B-2", "B", "level")])
    found = sensor_drift(daily_offsets(readings, Window(SCAN_START, SCAN_START + 7 * DAY)), catalogue)
    assert [e["meter_id"] for e in found] == ["B-1"]
    assert "no other sensor of the zone moved with it" in found[0]["explanation"]


def test_a_night_is_judged_once_it_has_ended_not_on_its_first_hours():
    """One night of a late user keeps the zone's first night hour high; the night before was high all
    through. Scanned at 01:45, the night's first 45 minutes are not its minimum; nor are they when the
    logger fell silent at 01:45 and the scan comes after the night."""
    flow = s.inlet_flow(seed=7)
    high_night = SCAN_START + 3 * DAY
    tonight = high_night + DAY
    flow[(flow.index >= high_night + HOUR) & (flow.index < high_night + 5 * HOUR)] += 0.3
    flow[(flow.index >= tonight + HOUR) & (flow.index < tonight + 2 * HOUR)] += 0.3
    catalogue = pd.DataFrame([{"meter_id": "Z-IN", "zone_id": "Z", "category": "inlet", "tz": "UTC"}])
    for now in (tonight + 1.75 * HOUR, tonight + 6 * HOUR):
        seen = _readings("Z-IN", flow[flow.index < now])
        assert night_flow_rise(seen, catalogue, Window(SCAN_START, now)) == [], now
    seen = _readings("Z-IN", flow[flow.index < tonight + 1.75 * HOUR])
    assert night_flow_rise(seen, catalogue, Window(SCAN_START, tonight + 5 * HOUR)) == []


def test_a_new_daily_schedule_is_a_burst_on_its_first_day_only():
    flow = s.inlet_flow(seed=7)
    first_evening = SCAN_START + 2 * DAY + pd.Timedelta(hours=20, minutes=30)
    for day in range(4):
        at = first_evening + day * DAY
        flow[(flow.index >= at) & (flow.index < at + 2 * HOUR)] += 2.0
    found = burst(_readings("Z-IN", flow), _readings("Z-P", flow.iloc[:0]),
                  _catalogue([("Z-IN", "Z", "flow")]), Window(SCAN_START, SCAN_START + 7 * DAY))
    assert [e["start"] for e in found] == [first_evening]


def test_a_burst_on_a_day_without_the_schedule_is_still_raised():
    flow = s.inlet_flow(seed=6, step_l_s=2.0, step_from=SCAN_START + 3 * DAY + 10 * HOUR)
    found = burst(_readings("Z-IN", flow), _readings("Z-P", flow.iloc[:0]),
                  _catalogue([("Z-IN", "Z", "flow")]), Window(SCAN_START, SCAN_START + 7 * DAY))
    assert len(found) == 1 and found[0]["raised_at"] - found[0]["start"] == pd.Timedelta(minutes=15)


def test_a_burst_two_days_after_another_at_the_same_hour_is_raised_again():
    flow = s.inlet_flow(seed=6)
    first, second = SCAN_START + 2 * DAY + 20 * HOUR, SCAN_START + 4 * DAY + 21 * HOUR
    flow[(flow.index >= first) & (flow.index < first + 6 * HOUR)] += 3.0
    flow[(flow.index >= second) & (flow.index < second + 6 * HOUR)] += 2.5
    found = burst(_readings("Z-IN", flow), _readings("Z-P", flow.iloc[:0]),
                  _catalogue([("Z-IN", "Z", "flow")]), Window(SCAN_START, SCAN_START + 7 * DAY))
    assert [e["start"] for e in found] == [first, second]


def test_jumps_that_two_sensors_of_a_zone_share_are_not_a_faulty_sensor():
    stamps = [SCAN_START + 2 * DAY + pd.Timedelta(hours=h) for h in (1, 2.5, 4)]
    flows = [s.inlet_flow(seed=seed) for seed in (21, 22, 23)]
    sensors = {name: s.pressure(flow, seed=seed) for name, flow, seed in zip(("A-1", "A-2", "B-1"), flows, (31, 32, 33))}
    for values in sensors.values():
        values[values.index.isin(stamps)] -= 2.0
    readings = pd.concat([_readings(name, values) for name, values in sensors.items()])
    catalogue = _catalogue([("A-1", "A", "pressure"), ("A-2", "A", "pressure"), ("B-1", "B", "pressure")])
    found = sensor_spike(readings, catalogue, Window(SCAN_START, SCAN_START + 7 * DAY))
    assert [e["meter_id"] for e in found] == ["B-1"]


def test_a_long_burst_in_the_training_weeks_does_not_hide_the_next_one():
    flow = s.inlet_flow(seed=6)
    earlier, later = s.START + 20 * DAY + 7 * HOUR, SCAN_START + 3 * DAY + 17 * HOUR
    flow[(flow.index >= earlier) & (flow.index < earlier + 12 * HOUR)] += 4.0
    flow[(flow.index >= later) & (flow.index < later + 6 * HOUR)] += 2.5
    found = burst(_readings("Z-IN", flow), _readings("Z-P", flow.iloc[:0]),
                  _catalogue([("Z-IN", "Z", "flow")]), Window(SCAN_START, SCAN_START + 7 * DAY))
    assert [e["start"] for e in found] == [later]
    assert found[0]["raised_at"] - later == pd.Timedelta(minutes=15)


def test_an_event_joined_across_scan_windows_keeps_the_time_it_was_first_raised():
    from detection.events import event, frame
    from detection.scan import join_continuing

    day = SCAN_START + 7 * DAY
    common = dict(detector="continuous_flow", meter_id="H", zone_id=None, kind="continuous_flow", score=0.7,
                  explanation="flow has not stopped")
    first_window = event(start=day - 15 * HOUR, end=day, raised_at=day - 11 * HOUR, **common)
    # The next window looks back from its own start and finds the run began an hour earlier; it raises
    # at its first hour, which is later than the first window did.
    next_window = event(start=day - 16 * HOUR, end=day + 5 * HOUR, raised_at=day + HOUR, **common)
    joined = join_continuing(frame([first_window, next_window]))
    assert len(joined) == 1
    assert joined["start"].iat[0] == day - 16 * HOUR
    assert joined["end"].iat[0] == day + 5 * HOUR
    assert joined["raised_at"].iat[0] == day - 11 * HOUR


def test_one_leak_raised_by_two_rules_in_two_scan_windows_is_one_event():
    from detection.events import event, frame
    from detection.scan import join_continuing

    day = SCAN_START + 7 * DAY
    common = dict(meter_id="H", zone_id=None, kind="continuous_flow", score=0.7, lost_volume_l=100.0)
    sustained = event(detector="continuous_flow", start=day - 10 * HOUR, end=day, raised_at=day - 6 * HOUR,
                      explanation="flow has not dropped below 60 L/h", **common)
    trickle = event(detector="steady_trickle", start=day + HOUR / 2, end=day + 20 * HOUR, raised_at=day + 9 * HOUR,
                    explanation="a steady flow of about 60 L/h", **common)
    stuck = event(detector="sensor_stuck", start=day, end=day + 3 * HOUR, raised_at=day + 3 * HOUR,
                  explanation="stuck", **{**common, "kind": "sensor_stuck"})
    joined = join_continuing(frame([trickle, stuck, sustained]))
    leak = joined[joined["kind"] == "continuous_flow"]
    assert len(joined) == 2 and len(leak) == 1
    assert list(leak[["detector", "start", "end", "raised_at"]].iloc[0]) == \
        ["continuous_flow", day - 10 * HOUR, day + 20 * HOUR, day - 6 * HOUR]
    assert leak["lost_volume_l"].iat[0] == 200.0 and "below 60 L/h" in leak["explanation"].iat[0]


def test_a_pressure_above_its_band_then_below_it_stays_two_events():
    from detection.events import event, frame
    from detection.scan import join_continuing

    day = SCAN_START + 7 * DAY
    common = dict(detector="pressure_band", meter_id="P", zone_id=None, kind="pressure_out_of_band", score=0.7)
    surge = event(start=day - 2 * HOUR, end=day, raised_at=day - HOUR, explanation="Pressure above its band",
                  concern="operations", **common)
    sag = event(start=day + HOUR / 2, end=day + 3 * HOUR, raised_at=day + HOUR, explanation="Pressure below its band",
                **common)
    joined = join_continuing(frame([surge, sag]))
    assert list(joined["concern"]) == ["operations", "water_loss"]
    assert list(joined["raised_at"]) == [day - HOUR, day + HOUR]
