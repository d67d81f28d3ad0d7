"""`local_pressure_drop` on one zone's pressure sensors, read straight from constructed readings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detection.features import Window, hourly_means
from detection.rules_pressure_peers import local_pressure_drop
from tests.detection import series as s

DAY = pd.Timedelta(days=1)
WINDOW = Window(s.START + 28 * DAY, s.START + 35 * DAY)
SENSORS = {"PA": (4.6, 0.08), "PB": (4.2, 0.12), "PC": (3.8, 0.15), "PD": (3.4, 0.2), "PE": (3.0, 0.25)}
LEAK = {"PA": 0.05, "PB": 0.02}


#: How much each sensor rises while the zone's booster pump runs: the first two sit on its delivery.
PUMP_LIFT = {"PA": 0.0, "PB": 0.0, "PC": 0.25, "PD": 0.2, "PE": 0.05}


def zone(spells: list[tuple[pd.Timestamp, pd.Timestamp]] = (), sensors: dict = SENSORS,
         daily: tuple[str, float] | None = None, seed: int = 1, pump: bool = False,
         drift: tuple[str, float] | None = None, offline: tuple[str, pd.Timestamp] | None = None,
         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hourly means of one zone's pressure sensors, read every 15 min, with ``LEAK`` during each spell, and its
    catalogue; ``daily`` = (sensor, bar) lowers that sensor from 02:00 to 08:00 every day (a valve on a timer);
    ``pump`` runs a booster (`PUMP_LIFT`) for a few hours at random; ``drift`` = (sensor, bar) makes that
    sensor read high by ``bar`` more each day of the window; ``offline`` = (sensor, from) stops its readings."""
    flow = s.inlet_flow(seed=seed)
    rng = np.random.default_rng(seed)
    running = np.repeat(np.random.default_rng(seed + 1).random(len(flow) // 16 + 1) < 0.4, 16)[:len(flow)]
    frames = []
    for name, (head, friction) in sensors.items():
        values = head - friction * flow ** 2 + rng.normal(0, 0.01, len(flow))
        if pump:
            values += PUMP_LIFT[name] * running
        if drift and drift[0] == name:
            values += drift[1] * np.clip((values.index - WINDOW.start) / DAY, 0, None)
        if offline and offline[0] == name:
            values = values[values.index < offline[1]]
        for start, end in spells:
            values[(values.index >= start) & (values.index < end)] -= LEAK.get(name, 0.0)
        if daily and daily[0] == name:
            values[(values.index.hour >= 2) & (values.index.hour < 8)] -= daily[1]
        frames.append(pd.DataFrame({"meter_id": name, "ts": values.index, "value": values.to_numpy()}))
    catalogue = pd.DataFrame({"meter_id": list(sensors), "zone_id": "Z", "quantity": "pressure"})
    return hourly_means(pd.concat(frames, ignore_index=True), WINDOW), catalogue


def test_a_leak_found_in_an_earlier_window_is_still_raised_in_the_next():
    events = local_pressure_drop(*zone([(s.START + 16 * DAY, WINDOW.end)]), WINDOW)
    assert [(e["meter_id"], e["start"], e["end"]) for e in events] == [("PA", WINDOW.start, WINDOW.end)]


def test_a_leak_repaired_before_the_window_does_not_hide_the_next_one():
    new_leak = s.START + 30 * DAY
    events = local_pressure_drop(*zone([(s.START + 10 * DAY, s.START + 14 * DAY), (new_leak, WINDOW.end)]), WINDOW)
    assert [e["meter_id"] for e in events] == ["PA"]
    assert events[0]["start"] == new_leak and events[0]["raised_at"] <= new_leak + pd.Timedelta(hours=7)


def test_a_fall_that_comes_every_day_is_the_sensor_s_normal():
    assert local_pressure_drop(*zone(daily=("PC", 0.05)), WINDOW) == []


def test_three_sensors_are_not_enough_to_outvote_a_faulty_one():
    three = {k: SENSORS[k] for k in ("PA", "PB", "PC")}
    assert local_pressure_drop(*zone([(s.START + 30 * DAY, WINDOW.end)], sensors=three), WINDOW) == []
    assert len(local_pressure_drop(*zone([(s.START + 30 * DAY, WINDOW.end)]), WINDOW)) == 1


def test_a_zone_with_a_booster_pump_is_read_through_the_sensors_on_its_delivery():
    leak = s.START + 30 * DAY
    events = local_pressure_drop(*zone([(leak, WINDOW.end)], pump=True), WINDOW)
    assert [e["meter_id"] for e in events] == ["PA"]
    assert events[0]["raised_at"] <= leak + pd.Timedelta(hours=8)
    assert local_pressure_drop(*zone(pump=True), WINDOW) == []


def test_an_instrument_drifting_up_does_not_make_the_healthy_sensors_read_low():
    for name in SENSORS:
        assert local_pressure_drop(*zone(drift=(name, 0.05)), WINDOW) == [], name


def test_a_sensor_going_offline_leaves_the_others_predicted_and_judged():
    leak = s.START + 31 * DAY
    events = local_pressure_drop(*zone([(leak, WINDOW.end)], offline=("PE", s.START + 29 * DAY)), WINDOW)
    assert [e["meter_id"] for e in events] == ["PA"]
    assert events[0]["start"] == leak
