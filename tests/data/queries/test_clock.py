"""The moment views end at: the wall clock, or the newest reading of a store that ends in the past."""

from __future__ import annotations

from datetime import datetime

from data.queries.clock import data_now, newest_reading_at
from tests.data.builders import at, ingest, reading, register_series

WALL = datetime(2026, 11, 25, 12, 0)


def utc(hours: float = 0.0, minutes: float = 0.0) -> datetime:
    """`at` as the store keeps times: naive UTC."""
    return at(hours, minutes).replace(tzinfo=None)


def test_a_store_of_meters_ends_at_its_newest_register_reading(store):
    ingest(store, register_series("M-1", [100.0, 110.0, 125.0]))
    assert data_now(store.cursor(), wall_clock=WALL) == utc(hours=2)


def test_a_store_of_pressure_loggers_alone_ends_at_their_newest_reading(store):
    """Sensors have no consumption state: their newest reading comes from their readings, in or out of scope."""
    ingest(store, [reading("P-1", at(minutes=5 * k), 4.1, "pressure", "bar") for k in range(30)]
           + [reading("P-2", at(minutes=5 * k), 3.8, "pressure", "bar") for k in range(10)])
    cur = store.cursor()
    assert data_now(cur, wall_clock=WALL) == utc(minutes=5 * 29)
    assert newest_reading_at(cur, ["P-2"]) == utc(minutes=45)
    assert newest_reading_at(cur, ["NOT-A-METER"]) is None
    assert data_now(store.cursor(), wall_clock=utc(hours=1)) == utc(hours=1)



def test_meters_a_day_behind_do_not_hold_back_live_sensors_and_weather_does_not_count(store):
    """Customer meters that deliver a day at a time must not hide the live SCADA's hours; a weather file that runs
    on past the water data does not move the clock."""
    ingest(store, register_series("M-1", [100.0, 110.0, 125.0])
           + [reading("P-1", at(minutes=15 * k), 4.1, "pressure", "bar") for k in range(21)]
           + [reading("W-1", at(hours=k), 11.0, "air_temperature", "degC") for k in range(10)])
    cur = store.cursor()
    assert data_now(cur, wall_clock=WALL) == utc(hours=5)
    assert newest_reading_at(cur, ["M-1"]) == utc(hours=2)
    assert newest_reading_at(cur, ["P-1", "W-1"]) == utc(hours=5)
    assert newest_reading_at(cur, ["W-1"]) is None
