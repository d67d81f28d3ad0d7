"""The hydraulic leak bench: its leaks are where and when it says, EPANET feels them, and it scores honestly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench import hydraulic_leaks as hl


@pytest.fixture(scope="module")
def net3():
    return hl.load_network(None)


def test_net3_s_lake_source_opens_every_day_not_only_in_its_first_week(net3, tmp_path):
    sensors = ["10", "15"]
    areas = hl.area_of_junctions(net3, 3, seed=0)
    pressure = hl.simulate(None, 10, 0, sensors, areas, None, tmp_path)
    at_lake = pressure["n10"]
    hour = at_lake.index.hour
    open_hours = at_lake[(hour >= 2) & (hour < 14)].resample("D").median()
    shut_hours = at_lake[hour >= 16].resample("D").median()
    assert len(open_hours) == 10 and (open_hours - shut_hours > 5).all()


def test_a_leak_lowers_the_pressure_nearest_it_most_and_only_from_its_start(net3, tmp_path):
    sensors = hl.sensor_nodes(net3, 8, seed=0)
    areas = hl.area_of_junctions(net3, 3, seed=0)
    node = "15"
    leak = hl.Leak(node=node, start=hl.START + pd.Timedelta(days=3, hours=6), m3_h=150.0)
    without = hl.simulate(None, 6, 0, sensors, areas, None, tmp_path)
    with_leak = hl.simulate(None, 6, 0, sensors, areas, leak, tmp_path)
    fall = (without - with_leak)
    assert fall[fall.index < leak.start].abs().to_numpy().max() == 0.0
    after = fall[fall.index >= leak.start + pd.Timedelta(hours=1)].mean()
    distance = hl.pipe_distance(net3, [node])[node]
    nearest = min(sensors, key=lambda s: distance[s])
    assert after.idxmax() == f"n{nearest}" and after.max() > 0.5


def test_a_growing_leak_reaches_its_size_after_its_ramp(net3):
    leak = hl.Leak(node="15", start=hl.START + pd.Timedelta(days=2), m3_h=36.0, ramp_days=2.0)
    hl.add_leak(net3, leak, days=6)
    share = np.asarray(net3.get_pattern("LEAK").multipliers)
    assert share[:48].max() == 0.0 and share[72] == pytest.approx(0.5) and (share[96:] == 1.0).all()
    assert net3.get_node("15").demand_timeseries_list[-1].base_value * 3600 == pytest.approx(36.0)


def test_scenarios_are_drawn_reproducibly_after_the_training_weeks(net3):
    leaks = hl.draw_leaks(net3, 6, 2, 70, seed=4)
    assert leaks == hl.draw_leaks(net3, 6, 2, 70, seed=4) and leaks.count(None) == 2
    drawn = [leak for leak in leaks if leak is not None]
    assert all(leak.start >= hl.START + pd.Timedelta(days=hl.TRAINING_DAYS + 7) for leak in drawn)
    assert sum(leak.ramp_days > 0 for leak in drawn) == 2


def test_only_signs_of_water_leaving_count_as_found_or_as_false_alarms():
    leak = hl.Leak(node="15", start=pd.Timestamp("2024-02-10"), m3_h=50.0)
    events = pd.DataFrame([
        ("S00", "S00-n15", "local_pressure_drop", "2024-02-10 07:00", "water_loss"),
        ("S00", "S00-n10", "local_pressure_drop", "2024-02-01 07:00", "water_loss"),
        ("S00", "S00-n10", "pressure_out_of_band", "2024-02-10 02:00", "operations"),
        ("S01", "S01-n10", "pressure_out_of_band", "2024-02-03 02:00", "water_loss"),
        ("S01", "S01-n15", "sensor_drift", "2024-02-04 02:00", "instrument"),
    ], columns=["zone", "meter_id", "kind", "raised_at", "concern"]).assign(
        raised_at=lambda f: pd.to_datetime(f["raised_at"]))
    distance = {"15": {"15": 0.0, "10": 900.0}}
    found, false = hl.score(events, [leak, None], ["10", "15"], distance)
    first = found.iloc[0]
    assert first["first_by"] == "local_pressure_drop" and first["first_delay_h"] == 7.0
    assert first["local_sensor_rank"] == 1
    assert sorted(false["meter_id"]) == ["S00-n10", "S01-n10"]
