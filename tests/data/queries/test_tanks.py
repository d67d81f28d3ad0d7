"""Tank and pump queries on the simulated city: tanks found from the store, levels, run hours."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from data.queries.tanks import latest_level, level_hourly, newest_hour, pump_run_hours, pumps, tank_hourly, tanks

START, END = datetime(2025, 7, 1), datetime(2025, 7, 9)


def test_tanks_are_found_with_their_zone_meters_and_ranges(city):
    found = {t.meter_id: t for t in tanks(city)}
    assert set(found) == {"T1-LEVEL", "BT1-LEVEL"}
    storage = found["T1-LEVEL"]
    assert (storage.zone_id, storage.outflow_meters, storage.pump_meters) == ("Z1", ("Z1-INLET",), ("B1-STATE",))
    assert (storage.low_level_m, storage.high_level_m) == (0.3, 6.0)
    assert found["BT1-LEVEL"].pump_meters == ()
    assert tanks(city, scope=["BT1-LEVEL"])[0].outflow_meters == ()   # the inlet is out of scope


def test_tank_hourly_joins_level_outflow_and_pump_share(city):
    storage = next(t for t in tanks(city) if t.meter_id == "T1-LEVEL")
    frame = tank_hourly(city, storage, START, END)
    assert len(frame) == 8 * 24
    assert frame["pump_on"].between(0, 1).all() and frame["pump_on"].max() > 0
    inlet = level_hourly(city, "T1-LEVEL", START, END)
    assert frame["level_m"].tolist() == pytest.approx(inlet["level_m"].tolist())
    assert frame["outflow_l_s"].gt(0).all()


def test_run_hours_count_the_running_readings_per_local_day(city):
    assert pumps(city) == [("B1-STATE", "Z1", "Europe/Rome")]
    days = pump_run_hours(city, "B1-STATE", "Europe/Rome", START, END)
    raw = city.execute(
        """SELECT (timezone('Europe/Rome', timezone('UTC', ts)))::DATE AS day, sum(value) * 0.25 AS run_h
           FROM readings WHERE meter_id = 'B1-STATE' AND ts >= ? AND ts < ? GROUP BY day ORDER BY day""",
        [START, END]).df()
    assert days["run_h"].tolist() == pytest.approx(raw["run_h"].tolist())
    assert days["observed_h"].iat[3] == 24 and 0 < days["run_h"].iat[3] < 24


def test_newest_hour_ends_after_the_last_sensor_reading(city):
    assert newest_hour(city, ["T1-LEVEL"]) == datetime(2025, 7, 10)
    assert newest_hour(city, ["nope"]) is None


def test_the_latest_level_is_the_newest_reading_before_the_end(city):
    newest = city.execute("SELECT max(ts) FROM readings WHERE meter_id = 'T1-LEVEL'").fetchone()[0]
    read_at, level = latest_level(city, "T1-LEVEL", newest.replace(minute=0), datetime(2025, 7, 10))
    assert read_at == newest
    assert level == city.execute("SELECT value FROM readings WHERE meter_id = 'T1-LEVEL' AND ts = ?",
                                 [newest]).fetchone()[0]
    earlier, _ = latest_level(city, "T1-LEVEL", datetime(2025, 7, 1), datetime(2025, 7, 2))
    assert earlier < datetime(2025, 7, 2)
    assert latest_level(city, "T1-LEVEL", datetime(2030, 1, 1), datetime(2030, 1, 2)) is None


def test_run_hours_follow_local_days_over_the_dst_change(store):
    from datetime import timedelta

    from tests.data.builders import ingest, reading

    start = datetime(2025, 10, 24, 22, tzinfo=UTC)     # local midnight, Oct 25 (CEST)
    ingest(store, [reading("PUMP-1", start + timedelta(minutes=15 * i), 1, quantity="pump_state", unit="state")
                   for i in range(4 * 73)])
    store.cursor().execute("UPDATE meters SET tz = 'Europe/Rome' WHERE meter_id = 'PUMP-1'")
    days = pump_run_hours(store.cursor(), "PUMP-1", "Europe/Rome", datetime(2025, 10, 20), datetime(2025, 11, 1))
    assert days["day"].astype(str).tolist() == ["2025-10-25", "2025-10-26", "2025-10-27"]
    assert days["run_h"].tolist() == [24.0, 25.0, 24.0]   # the day the clocks go back has 25 hours
