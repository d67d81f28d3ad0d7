"""Zones page queries: zone inventory, flow and pressure steps, and the daily water balance by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from data.queries.night_flow import night_flow_minima
from data.queries.zones import water_balance, zone_flow_pressure, zone_list
from data.store import Store
from tests.data.builders import ingest, reading
from tests.data.queries.small_city import build_small_city


@pytest.fixture(scope="module")
def small_city():
    store = Store(":memory:")
    end = build_small_city(store, days=3)
    yield store, end
    store.close()


def test_zone_list_counts_customers_inlets_and_sensors(small_city):
    store, _ = small_city
    zones = {z.zone_id: z for z in zone_list(store.cursor())}
    assert (zones["ZA"].customers, zones["ZA"].inlets, zones["ZA"].pressure_sensors) == (2, ["ZA-INLET"], ["ZA-P1"])
    assert (zones["ZB"].customers, zones["ZB"].inlets) == (0, [])
    assert [z.zone_id for z in zone_list(store.cursor(), scope=["ZA-R-1"])] == ["ZA"]


def test_water_balance_is_inflow_minus_customers_per_local_day(small_city):
    store, _ = small_city
    balance = water_balance(store.cursor(), "ZA", date(2024, 6, 1), date(2024, 6, 3))
    assert balance["day"].tolist() == [date(2024, 6, 1), date(2024, 6, 2), date(2024, 6, 3)]
    assert balance["inflow_l"].tolist() == pytest.approx([4320.0] * 3)
    assert balance["customers_l"].tolist() == pytest.approx([3600.0] * 3)
    assert balance["unaccounted_l"].tolist() == pytest.approx([720.0] * 3)
    assert balance["unaccounted_pct"].tolist() == pytest.approx([100 * 720 / 4320] * 3)


def test_water_balance_of_a_zone_without_meters_is_empty(small_city):
    store, _ = small_city
    assert water_balance(store.cursor(), "ZB", date(2024, 6, 1), date(2024, 6, 3)).empty


def test_flow_and_pressure_in_steps_of_hours(small_city):
    store, _ = small_city
    hourly = zone_flow_pressure(store.cursor(), "ZA", datetime(2024, 6, 1), datetime(2024, 6, 2))
    assert len(hourly[hourly["quantity"] == "flow"]) == 24
    assert hourly.loc[hourly["quantity"] == "pressure", "mean"].tolist() == pytest.approx([3.0] * 24)
    six = zone_flow_pressure(store.cursor(), "ZA", datetime(2024, 6, 1), datetime(2024, 6, 2), step_hours=6)
    assert len(six[six["quantity"] == "flow"]) == 4
    assert six.loc[six["quantity"] == "flow", "mean"].tolist() == pytest.approx([0.05] * 4)


def test_night_flow_minimum_per_local_night(small_city):
    store, end = small_city
    nights = night_flow_minima(store.cursor(), datetime(2024, 5, 31), end, zone_id="ZA")
    assert [n.date() for n in nights["night"]] == [date(2024, 6, 1), date(2024, 6, 2), date(2024, 6, 3)]
    assert nights["night_flow_l_s"].tolist() == pytest.approx([0.05] * 3)
    assert nights["complete"].tolist() == [True, True, True]


def test_night_flow_leaves_out_the_hours_one_of_two_inlets_is_silent(store):
    store.register_zones(pd.DataFrame([{"zone_id": "ZC", "name": "Colle", "kind": "dma", "tz": "UTC"}]))
    store.register_meters(pd.DataFrame([
        {"meter_id": m, "zone_id": "ZC", "category": "inlet", "quantity": "flow", "unit": "L/s", "tz": "UTC"}
        for m in ("ZC-IN1", "ZC-IN2")]))
    start = datetime(2024, 6, 1, tzinfo=UTC)
    silent = (start + timedelta(days=2, hours=1), start + timedelta(days=2, hours=5))  # the third night
    readings = []
    for i in range(3 * 96):
        ts = start + i * timedelta(minutes=15)
        readings.append(reading("ZC-IN1", ts, 0.05, quantity="flow", unit="L/s"))
        if not silent[0] <= ts < silent[1]:
            readings.append(reading("ZC-IN2", ts, 0.10, quantity="flow", unit="L/s"))
    ingest(store, readings, now=start + timedelta(days=3))
    nights = night_flow_minima(store.cursor(), datetime(2024, 5, 31), datetime(2024, 6, 4), zone_id="ZC")
    assert [n.date() for n in nights["night"]] == [date(2024, 6, 1), date(2024, 6, 2)]
    assert nights["night_flow_l_s"].tolist() == pytest.approx([0.15, 0.15])
