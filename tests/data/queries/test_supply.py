"""A district fed through another's outlet: each zone's inflow, and the city's, counted once.

Zone UP takes 10 L/s through its inlet UP-IN. It passes 4 L/s on to zone DOWN through the boundary
meter UP-DOWN (an outlet of UP into DOWN) and sells 1 L/s to a neighbouring utility through UP-SALE
(an outlet to no zone). So UP's net inflow is 5 L/s, DOWN's 4 L/s, and the city's 9 L/s, whatever the
hour; DOWN has no inlet of its own. Readings every 15 minutes for three UTC days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from data.queries.alerts import alert_series
from data.queries.night_flow import night_flow_minima
from data.queries.overview import city_inflow, live_series, monitoring_points
from data.queries.zone_status import zone_statuses
from data.queries.zones import water_balance, zone_flow_pressure, zone_list
from forecasting.series import SeriesKey, load_hourly
from tests.data.builders import ingest, reading

START = datetime(2024, 6, 1, tzinfo=UTC)
DAYS = 3
FLOWS = {"UP-IN": 10.0, "UP-DOWN": 4.0, "UP-SALE": 1.0}


@pytest.fixture
def cascade(store):
    store.register_zones(pd.DataFrame([{"zone_id": z, "name": z.title(), "kind": "dma", "tz": "UTC"}
                                       for z in ("UP", "DOWN")]))
    store.register_meters(pd.DataFrame([
        {"meter_id": "UP-IN", "zone_id": "UP", "category": "inlet"},
        {"meter_id": "UP-DOWN", "zone_id": "UP", "category": "outlet", "to_zone_id": "DOWN"},
        {"meter_id": "UP-SALE", "zone_id": "UP", "category": "outlet"},
    ]).assign(quantity="flow", unit="L/s", tz="UTC"))
    end = START + timedelta(days=DAYS)
    ingest(store, [reading(meter, START + i * timedelta(minutes=15), flow, quantity="flow", unit="L/s")
                   for i in range(DAYS * 96) for meter, flow in FLOWS.items()], now=end)
    return store, end.replace(tzinfo=None) - timedelta(minutes=15)


def test_the_city_takes_in_what_its_sources_bring_less_what_it_sells(cascade):
    store, last = cascade
    inflow = city_inflow(store.cursor(), last)
    assert inflow.total_l_s == pytest.approx(9.0)
    assert (inflow.zones_reporting, inflow.zones_with_inlet, inflow.outlets) == (2, 2, 1)  # UP-DOWN is neither


def test_each_zone_takes_in_its_inlets_and_the_outlets_into_it_less_its_own_outlets(cascade):
    store, last = cascade
    statuses = {s.zone_id: s for s in zone_statuses(store.cursor(), last)}
    assert statuses["UP"].inflow_l_s == pytest.approx(5.0)
    assert statuses["DOWN"].inflow_l_s == pytest.approx(4.0)
    assert any("Outlet UP-DOWN reporting" in reason for reason in statuses["DOWN"].reasons)
    series = live_series(store.cursor(), last - timedelta(hours=1), last)
    flows = series[series["quantity"] == "flow"].groupby("zone_id")["value"].agg(["min", "max"])
    assert flows.loc["UP"].tolist() == pytest.approx([5.0, 5.0])
    assert flows.loc["DOWN"].tolist() == pytest.approx([4.0, 4.0])


def test_night_flow_and_the_water_balance_read_the_net_inflow(cascade):
    store, last = cascade
    cur = store.cursor()
    nights = night_flow_minima(cur, START.replace(tzinfo=None), last)
    assert nights.groupby("zone_id")["night_flow_l_s"].max().to_dict() == pytest.approx({"UP": 5.0, "DOWN": 4.0})
    balance = water_balance(cur, "DOWN", date(2024, 6, 1), date(2024, 6, 2))
    assert balance["inflow_l"].tolist() == pytest.approx([4.0 * 86400] * 2)
    assert water_balance(cur, "UP", date(2024, 6, 1), date(2024, 6, 1))["inflow_l"].tolist() \
        == pytest.approx([5.0 * 86400])


def test_the_zones_page_lists_a_boundary_meter_under_both_zones_and_draws_an_outflow_below_zero(cascade):
    store, last = cascade
    cur = store.cursor()
    zones = {z.zone_id: z for z in zone_list(cur)}
    assert zones["DOWN"].inlets == ["UP-DOWN"]
    assert zones["UP"].inlets == ["UP-DOWN", "UP-IN", "UP-SALE"]
    flows = zone_flow_pressure(cur, "UP", last - timedelta(hours=2), last).groupby("meter_id")["mean"].mean()
    assert flows.to_dict() == pytest.approx({"UP-IN": 10.0, "UP-DOWN": -4.0, "UP-SALE": -1.0})
    assert zone_flow_pressure(cur, "DOWN", last - timedelta(hours=2), last)["mean"].tolist() == pytest.approx([4.0] * 2)
    points = monitoring_points(cur)
    assert sorted(points.loc[points["zone_id"] == "DOWN", "meter_id"]) == ["UP-DOWN"]


def test_a_zone_without_customer_meters_forecasts_its_net_inflow(cascade):
    store, _ = cascade
    cur = store.cursor()
    day = pd.Timestamp("2024-06-02")
    down = load_hourly(cur, SeriesKey("zone", "DOWN")).values
    city = load_hourly(cur, SeriesKey("city")).values
    assert down[day:day + pd.Timedelta(hours=23)].tolist() == pytest.approx([4.0 * 3600] * 24)
    assert city[day:day + pd.Timedelta(hours=23)].tolist() == pytest.approx([9.0 * 3600] * 24)


def test_a_zone_alerts_chart_is_the_zones_net_inflow(cascade):
    store, last = cascade
    around = alert_series(store.cursor(), "ZONE:UP", "UP", last - timedelta(hours=6), last - timedelta(hours=3))
    assert around.frame["value"].tolist() == pytest.approx([5.0] * len(around.frame)) and len(around.frame) >= 48
    assert around.label.startswith("zone UP inflow through UP-DOWN, UP-IN, UP-SALE") and around.unit == "L/s"
