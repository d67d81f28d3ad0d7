"""Seeded and deterministic: the same seed gives the same city, readings and labels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.config import SimConfig
from sim.engine import CitySimulation
from tests.sim.conftest import DAY, JULY


def _run(seed: int, days: int = 2, config: SimConfig = SimConfig()
         ) -> tuple[CitySimulation, pd.DataFrame, pd.DataFrame]:
    simulation = CitySimulation(seed, config)
    end = JULY + days * DAY
    events = simulation.schedule(JULY, end)
    period, _ = simulation.run(simulation.initial_state(JULY), end, events)
    return simulation, period.readings, events


def test_the_same_seed_gives_the_same_city_readings_and_labels():
    first, readings_a, labels_a = _run(11)
    second, readings_b, labels_b = _run(11)
    pd.testing.assert_frame_equal(first.customers, second.customers)
    pd.testing.assert_frame_equal(first.sensors, second.sensors)
    pd.testing.assert_frame_equal(readings_a, readings_b)
    pd.testing.assert_frame_equal(labels_a, labels_b)
    assert len(readings_a) > 30_000 and len(labels_a) > 0


def test_another_seed_gives_another_city():
    first, readings_a, _ = _run(11, days=1)
    other, readings_b, _ = _run(12, days=1)
    assert not np.allclose(first.customers["base_l_day"], other.customers["base_l_day"])
    assert len(first.customers) == len(other.customers)    # same zone table, different people
    assert not readings_a["value"].equals(readings_b["value"])


def test_a_day_is_the_same_whichever_window_simulates_it():
    simulation = CitySimulation(5)
    events = simulation.schedule(JULY, JULY + 2 * DAY)
    whole, _ = simulation.run(simulation.initial_state(JULY), JULY + 2 * DAY, events)
    first, state = simulation.run(simulation.initial_state(JULY), JULY + DAY, events)
    second, _ = simulation.run(state, JULY + 2 * DAY, events)
    assert np.allclose(whole.use_l, np.vstack([first.use_l, second.use_l]), rtol=1e-9, atol=1e-9)
    assert np.allclose(whole.registers_l, np.vstack([first.registers_l, second.registers_l]), rtol=1e-12)
    level = np.concatenate([first.hydraulics.pressure_m["T1"], second.hydraulics.pressure_m["T1"]])
    assert np.abs(whole.hydraulics.pressure_m["T1"].to_numpy() - level).max() < 0.05
    later = simulation.schedule(JULY + DAY, JULY + 2 * DAY)
    assert set(later["event_id"]) <= set(events["event_id"])   # a day's events do not depend on the window


def test_default_city_is_big_enough_and_has_every_kind_of_customer():
    simulation = CitySimulation(0)
    customers = simulation.customers
    assert len(customers) >= 500
    assert set(customers["category"]) == {"residential", "commercial", "industrial", "municipal"}
    assert set(customers["interval_s"]) == {900, 3600}
    assert {z.kind for z in simulation.city.zones} >= {"elevated", "mid-level", "low-lying", "industrial"}
    assert customers["meter_id"].str.fullmatch(r"Z\d-[RCIM]-\d{4}").all()
    sensors = set(simulation.sensors["meter_id"])
    assert {"Z1-INLET", "Z1-P1", "Z1-P2", "T1-LEVEL", "BT1-LEVEL", "B1-P", "WX-1"} <= sensors


def test_a_new_zone_is_one_row_of_the_zone_table():
    from sim.city import CityOptions, ZoneSpec

    extension = ZoneSpec(zone_id="Z5", name="Nuova Espansione", kind="mid-level", supply="prv", prv_setting_bar=4.0,
                         inlet_elevation_m=85.0, critical_elevation_m=92.0, customers={"residential": 30})
    simulation = CitySimulation(1, SimConfig(city=CityOptions(extra_zones=(extension,))))
    period, _ = simulation.run(simulation.initial_state(JULY), JULY + DAY, simulation.schedule(JULY, JULY + DAY))
    meters = set(period.readings["meter_id"].astype(str))
    assert {"Z5-INLET", "Z5-P1", "Z5-P2", "Z5-R-0001"} <= meters
    inlet = period.hydraulics.pressure_m["Z5-J1"].to_numpy() * 0.0980665
    assert 3.5 < inlet.min() and inlet.max() <= 4.01          # held by its PRV at 4 bar
