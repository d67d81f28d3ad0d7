"""Explore queries: drill-down buckets in the chosen time zone (exact over DST), heatmap, top consumers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from data.queries.explore import (
    ExploreFilter,
    consumption_by_child,
    explore_choices,
    period_total,
    top_consumers,
    weekday_hour_profile,
)
from data.queries.periods import parse_period
from data.store import Store
from tests.data.builders import ingest, reading
from tests.data.queries.small_city import build_small_city

ALL = ExploreFilter()


@pytest.fixture(scope="module")
def dst_store():
    """A Rome household using 10 L and a shop using 30 L every hour, over the October 2024 fall-back."""
    store = Store(":memory:")
    store.register_zones(pd.DataFrame([{"zone_id": "ZD", "name": "Duomo", "tz": "Europe/Rome"}]))
    store.register_meters(pd.DataFrame([
        {"meter_id": "D-R-1", "zone_id": "ZD", "category": "residential", "quantity": "volume", "unit": "L",
         "tz": "Europe/Rome"},
        {"meter_id": "D-C-1", "zone_id": "ZD", "category": "commercial", "quantity": "volume", "unit": "L",
         "tz": "Europe/Rome"},
    ]))
    start = datetime(2024, 10, 25, 22, tzinfo=UTC)  # 26 Oct 00:00 in Rome (CEST)
    hours = 24 * 4
    readings = [reading("D-R-1", start + timedelta(hours=h), 10 * h) for h in range(hours + 1)]
    readings += [reading("D-C-1", start + timedelta(hours=h), 30 * h) for h in range(hours + 1)]
    ingest(store, readings, now=start + timedelta(hours=hours, minutes=5))
    yield store
    store.close()


@pytest.fixture(scope="module")
def small_city():
    store = Store(":memory:")
    build_small_city(store, days=14)
    yield store
    store.close()


def test_the_fall_back_day_has_25_hours_with_the_repeated_hour_told_apart(dst_store):
    day = parse_period("day", "2024-10-27", "Europe/Rome")
    hours = consumption_by_child(dst_store.cursor(), day, ExploreFilter(meter_id="D-R-1"))
    assert len(hours) == 25
    assert hours["volume_l"].sum() == pytest.approx(250.0)
    assert hours["label"].tolist()[1:5] == ["01:00", "02:00 CEST", "02:00 CET", "03:00"]
    assert hours["key"].tolist()[2:4] == ["2024-10-27T02:00+02:00", "2024-10-27T02:00+01:00"]


def test_a_day_without_readings_has_no_hours_rather_than_an_error(dst_store):
    day = parse_period("day", "2024-11-20", "Europe/Rome")
    hours = consumption_by_child(dst_store.cursor(), day, ExploreFilter(meter_id="D-R-1"))
    assert hours.empty or hours["volume_l"].fillna(0).sum() == 0


def test_days_of_a_month_follow_the_chosen_time_zone(dst_store):
    rome = consumption_by_child(dst_store.cursor(), parse_period("month", "2024-10", "Europe/Rome"), ALL)
    utc = consumption_by_child(dst_store.cursor(), parse_period("month", "2024-10", "UTC"), ALL)
    new_york = consumption_by_child(dst_store.cursor(), parse_period("month", "2024-10", "America/New_York"), ALL)
    assert dict(zip(rome["key"], rome["volume_l"]))["2024-10-27"] == pytest.approx(25 * 40)
    assert dict(zip(utc["key"], utc["volume_l"]))["2024-10-27"] == pytest.approx(24 * 40)
    # New York is still on daylight time: 26 Oct 00:00 EDT = 04:00 UTC, a 24-hour day
    assert dict(zip(new_york["key"], new_york["volume_l"]))["2024-10-26"] == pytest.approx(24 * 40)
    assert rome["volume_l"].sum() == utc["volume_l"].sum() == pytest.approx(96 * 40)


def test_months_of_a_year_and_filters(small_city):
    cur = small_city.cursor()
    year = parse_period("year", "2024", "Europe/Rome")
    months = consumption_by_child(cur, year, ALL)
    assert months["key"].tolist() == ["2024-06"]
    assert months["volume_l"].tolist() == pytest.approx([14 * 3600.0])  # customers only: the inlet is left out
    shops = consumption_by_child(cur, year, ExploreFilter(category="commercial"))
    assert shops["volume_l"].tolist() == pytest.approx([14 * 24 * 90.0])
    assert consumption_by_child(cur, year, ExploreFilter(zone_id="ZB")).empty


def test_top_consumers_rank_meters_with_their_share(small_city):
    top = top_consumers(small_city.cursor(), parse_period("month", "2024-06", "UTC"), ALL)
    assert top["meter_id"].tolist() == ["ZA-C-1", "ZA-R-1"]
    assert top["share_pct"].tolist() == pytest.approx([60.0, 40.0])


def test_top_consumers_read_whole_days_and_edge_hours_exactly_in_another_time_zone(dst_store):
    cur = dst_store.cursor()
    for tz in ("UTC", "America/New_York", "Europe/Rome"):
        period = parse_period("month", "2024-10", tz)
        start, end = period.bounds_utc()
        expected = cur.execute("SELECT sum(volume_l) FROM meter_hourly WHERE meter_id = 'D-C-1' "
                               "AND hour >= ? AND hour < ?", [start, end]).fetchone()[0]
        top = top_consumers(cur, period, ALL)
        assert top.loc[top["meter_id"] == "D-C-1", "volume_l"].item() == pytest.approx(expected)


def test_heatmap_mean_per_hour_of_the_week(small_city):
    profile = weekday_hour_profile(small_city.cursor(), parse_period("month", "2024-06", "Europe/Rome"), ALL)
    assert len(profile) == 7 * 24
    assert profile["mean_l"].tolist() == pytest.approx([150.0] * (7 * 24))


def test_an_hour_total_and_the_choices(small_city):
    cur = small_city.cursor()
    total, estimated = period_total(cur, parse_period("hour", "2024-06-03T10:00+02:00", "Europe/Rome"), ALL)
    assert (total, estimated) == (pytest.approx(150.0), 0.0)
    choices = explore_choices(cur)
    assert choices["zones"] == [("ZA", "Alto")]
    assert choices["categories"] == ["commercial", "residential"]
    assert [m for m, _, _ in choices["meters"]] == ["ZA-C-1", "ZA-R-1"]
