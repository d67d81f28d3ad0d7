"""Overview queries on a small hand-built city whose answers are worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from data.queries.overview import (
    city_inflow,
    consumption_today,
    consumption_yesterday,
    live_series,
    open_alert_count,
)
from data.queries.zone_status import StatusLimits
from data.store import Store
from tests.data.builders import ingest, reading

AT = datetime(2024, 6, 12, 10, 0, tzinfo=UTC)  # a Wednesday, 12:00 in Europe/Rome (CEST)
NOW = AT.replace(tzinfo=None)  # the store is naive UTC


@pytest.fixture
def city():
    with Store(":memory:") as store:
        store.register_zones(pd.DataFrame({"zone_id": ["A", "B"], "name": ["Alto", "Basso"],
                                           "tz": ["Europe/Rome", "Europe/Rome"]}))
        store.register_meters(pd.DataFrame({
            "meter_id": ["A-IN", "B-IN", "A-P", "A-P2", "A-1"],
            "zone_id": ["A", "B", "A", "A", "A"],
            "category": ["inlet", "inlet", "sensor", "sensor", "residential"],
            "quantity": ["flow", "flow", "pressure", "pressure", "volume"],
            "unit": ["L/s", "L/s", "bar", "bar", "L"],
            "tz": ["Europe/Rome"] * 5,
        }))
        yield store


def _utc(local: str) -> datetime:
    return pd.Timestamp(local, tz="Europe/Rome").tz_convert("UTC").to_pydatetime()


def test_current_inflow_sums_each_inlets_latest_reading(city):
    ingest(city, [reading("A-IN", AT - timedelta(minutes=30), 3.0, "flow", "L/s"),
                  reading("A-IN", AT - timedelta(minutes=15), 1.5, "flow", "L/s"),
                  reading("B-IN", AT - timedelta(minutes=15), 150, "flow", "L/min")], now=AT)
    inflow = city_inflow(city.cursor(), NOW)
    assert inflow.total_l_s == pytest.approx(1.5 + 2.5)
    assert (inflow.zones_reporting, inflow.zones_with_inlet) == (2, 2)


def test_an_inlet_silent_for_hours_no_longer_counts(city):
    ingest(city, [reading("A-IN", AT - timedelta(hours=3), 3.0, "flow", "L/s"),
                  reading("B-IN", AT - timedelta(minutes=5), 2.0, "flow", "L/s")], now=AT)
    inflow = city_inflow(city.cursor(), NOW)
    assert (inflow.total_l_s, inflow.zones_reporting) == (2.0, 1)


def test_an_inlet_counts_as_reporting_by_the_zone_status_rule(city):
    ingest(city, [reading("A-IN", AT - timedelta(minutes=90), 3.0, "flow", "L/s"),
                  reading("B-IN", AT - timedelta(minutes=5), 2.0, "flow", "L/s")], now=AT)
    assert city_inflow(city.cursor(), NOW).zones_reporting == 1  # silent for over the default 60 min
    lenient = city_inflow(city.cursor(), NOW, limits=StatusLimits(stale_after_min=120))
    assert (lenient.total_l_s, lenient.zones_reporting) == (5.0, 2)


def _three_wednesdays() -> list[dict]:
    """A-1's hourly register on 2024-06-12 (30 L/h) and the two Wednesdays before it (10 and 20 L/h)."""
    rows = []
    for weeks_ago, litres_per_hour in ((0, 30.0), (1, 10.0), (2, 20.0)):
        midnight = _utc(f"{(pd.Timestamp('2024-06-12') - pd.Timedelta(weeks=weeks_ago)).date()} 00:00")
        rows += [reading("A-1", midnight + timedelta(hours=h), 1000 * weeks_ago + litres_per_hour * h)
                 for h in range(24)]
    return rows


def test_today_is_compared_with_the_same_hours_of_previous_same_weekdays(city):
    rows = _three_wednesdays()
    ingest(city, [r for r in rows if datetime.fromisoformat(r["ts"]) <= AT], now=AT)
    today = consumption_today(city.cursor(), NOW, "Europe/Rome")
    assert today.hours == 12 and today.weeks == 2
    assert today.volume_l == pytest.approx(12 * 30.0)
    assert today.typical_l == pytest.approx((12 * 10.0 + 12 * 20.0) / 2)
    assert today.change == pytest.approx(12 * 30.0 / (12 * 15.0) - 1)


def test_today_counts_only_the_hours_the_customer_meters_have_delivered(city):
    """A head-end system that delivers the customer meters late must not read as a day of low use."""
    rows = _three_wednesdays()
    ingest(city, [r for r in rows if datetime.fromisoformat(r["ts"]) <= AT - timedelta(hours=4)]
           + [reading("A-IN", AT - timedelta(minutes=5), 3.0, "flow", "L/s")], now=AT)
    today = consumption_today(city.cursor(), NOW, "Europe/Rome")
    assert today.hours == 8 and today.weeks == 2 and not today.whole_day
    assert today.volume_l == pytest.approx(8 * 30.0)
    assert today.typical_l == pytest.approx((8 * 10.0 + 8 * 20.0) / 2)
    tomorrow = NOW + timedelta(days=1)
    assert consumption_today(city.cursor(), tomorrow, "Europe/Rome").hours == 0
    yesterday = consumption_yesterday(city.cursor(), tomorrow, "Europe/Rome")
    assert (yesterday.day, yesterday.hours, yesterday.whole_day) == ("2024-06-12", 8, False)
    assert yesterday.volume_l == today.volume_l


def test_yesterday_whole_is_every_hour_of_the_local_day(city):
    midnight = _utc("2024-06-11 00:00")
    ingest(city, [reading("A-1", midnight + timedelta(hours=h), 10.0 * h) for h in range(26)], now=AT)
    yesterday = consumption_yesterday(city.cursor(), NOW, "Europe/Rome")
    assert (yesterday.day, yesterday.hours, yesterday.whole_day) == ("2024-06-11", 24, True)
    assert yesterday.volume_l == pytest.approx(240.0)


def test_consumption_today_without_customer_readings_is_none_not_zero(city):
    today = consumption_today(city.cursor(), NOW, "Europe/Rome")
    assert (today.volume_l, today.typical_l, today.change) == (None, None, None)


def test_live_series_takes_the_lowest_pressure_of_a_zone(city):
    ts = AT - timedelta(minutes=15)
    ingest(city, [reading("A-P", ts, 3.2, "pressure", "bar"), reading("A-P2", ts, 2.1, "pressure", "bar"),
                  reading("A-IN", ts, 4.0, "flow", "L/s"),
                  reading("A-IN", AT - timedelta(hours=7), 9.0, "flow", "L/s")], now=AT)
    points = live_series(city.cursor(), NOW - timedelta(hours=6), NOW)
    assert points[["zone_id", "quantity", "value"]].values.tolist() == [["A", "flow", 4.0], ["A", "pressure", 2.1]]


def test_open_alerts_are_unknown_until_alerting_creates_its_table(city):
    cur = city.cursor()
    assert open_alert_count(cur) is None
    cur.execute("CREATE TABLE alerts (meter_id VARCHAR, state VARCHAR)")
    cur.execute("INSERT INTO alerts VALUES ('A-1', 'open'), ('A-1', 'resolved'), ('B-IN', 'acknowledged')")
    assert open_alert_count(cur) == 2
    assert open_alert_count(cur, scope=["A-1"]) == 1
