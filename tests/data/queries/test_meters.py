"""Meter page queries on the simulated city: search, consumption, data quality and events."""

from __future__ import annotations

from datetime import datetime

import pytest

from data.quality import Flag
from data.queries.clock import data_now
from data.queries.meters import (
    meter_choices,
    meter_consumption,
    meter_events,
    meter_flow,
    meter_info,
    meter_quality,
    meter_window,
)


def test_search_finds_meters_by_id_zone_or_category_in_any_case(city):
    found = [o["value"] for o in meter_choices(city, "z3-r-006")]
    assert found == [f"Z3-R-006{i}" for i in range(10) if f"Z3-R-006{i}" in found] and "Z3-R-0060" in found
    assert {o["value"] for o in meter_choices(city, "inlet")} == {"Z1-INLET", "Z2-INLET", "Z3-INLET", "Z4-INLET"}
    assert len(meter_choices(city, None, limit=100)) == 100


def test_search_keeps_the_chosen_meter_and_respects_scope(city):
    options = meter_choices(city, "Z1-R", limit=5, keep="Z4-I-0001")
    assert "Z4-I-0001" in [o["value"] for o in options] and len(options) == 5
    scoped = meter_choices(city, "", scope=["Z1-R-0001", "Z1-R-0002"])
    assert [o["value"] for o in scoped] == ["Z1-R-0001", "Z1-R-0002"]
    assert meter_info(city, "Z1-R-0003", scope=["Z1-R-0001"]) is None


def test_consumption_hourly_and_daily_add_up_to_the_stored_intervals(city):
    info = meter_info(city, "Z1-R-0001")
    start, end = datetime(2025, 7, 1), datetime(2025, 7, 8)
    hourly = meter_consumption(city, info, start, end)
    assert len(hourly) == 7 * 24
    intervals = city.execute("""SELECT sum(volume_l) FROM consumption WHERE meter_id = 'Z1-R-0001'
                                AND ts_end > ? AND ts_end <= ?""", [start, end]).fetchone()[0]
    assert hourly["volume_l"].sum() == pytest.approx(intervals, rel=0.02)
    daily = meter_consumption(city, info, datetime(2025, 6, 1), datetime(2025, 7, 10))
    assert daily["period"].dt.hour.eq(0).all() and len(daily) <= 15
    flow = meter_flow(city, info, start, end)
    assert flow["mean"].sum() * 3600 == pytest.approx(hourly["volume_l"].sum())


def test_sensor_values_come_hourly_with_their_range(city):
    info = meter_info(city, "T1-LEVEL")
    assert not info.is_consumption
    start, end = meter_window(info, data_now(city), 7)
    frame = meter_flow(city, info, start, end)
    assert set(frame["quantity"]) == {"level"}
    assert (frame["minimum"] <= frame["mean"]).all() and (frame["mean"] <= frame["maximum"]).all()
    assert 0.3 <= frame["mean"].min() and frame["mean"].max() <= 6.0


def test_quality_counts_estimated_volume_gaps_and_flags(city):
    meter_id = city.execute("""SELECT meter_id FROM meter_daily GROUP BY meter_id
                               ORDER BY sum(estimated_l) DESC LIMIT 1""").fetchone()[0]
    info = meter_info(city, meter_id)
    start, end = meter_window(info, data_now(city), 14)
    quality = meter_quality(city, info, start, end)
    estimated_intervals = city.execute(
        f"""SELECT count(*), sum(volume_l) FROM consumption WHERE meter_id = ? AND ts_end >= ? AND ts_end < ?
            AND (flags & {int(Flag.ESTIMATED)}) <> 0""", [meter_id, start, end]).fetchone()
    assert quality.gaps == estimated_intervals[0] > 0
    assert 0 < quality.estimated_share < 1


def test_quality_flags_are_decoded_into_words_and_counted(city):
    meter_id = city.execute("""SELECT meter_id FROM readings WHERE flags <> 0 AND quantity = 'volume'
                               GROUP BY meter_id ORDER BY count(*) DESC, meter_id LIMIT 1""").fetchone()[0]
    info = meter_info(city, meter_id)
    start, end = meter_window(info, data_now(city), 14)
    masks = city.execute("SELECT flags FROM readings WHERE meter_id = ? AND flags <> 0 AND ts >= ? AND ts < ?",
                         [meter_id, start, end]).fetchall()
    expected: dict[str, int] = {}
    for (mask,) in masks:
        for flag in Flag:
            if mask & flag:
                expected[flag.name.lower()] = expected.get(flag.name.lower(), 0) + 1
    quality = meter_quality(city, info, start, end)
    assert dict(zip(quality.flags["flag"], quality.flags["readings"])) == expected and expected


def test_events_show_the_simulated_ground_truth_labelled_as_such(city):
    events = meter_events(city, "Z3-R-0060")
    assert list(events["kind"]) == ["silent_meter"]
    assert list(events["source"]) == ["simulated ground truth"]
    assert meter_events(city, "Z3-R-0060", scope=["Z1-R-0001"]).empty


def test_events_include_detections_and_alerts_when_their_tables_exist(tmp_path):
    import duckdb

    conn = duckdb.connect(str(tmp_path / "events.duckdb"))
    conn.execute("""CREATE TABLE detected_events (meter_id VARCHAR, kind VARCHAR, start TIMESTAMP, "end" TIMESTAMP,
                    score DOUBLE, explanation VARCHAR)""")
    conn.execute("""CREATE TABLE alerts (meter_id VARCHAR, kind VARCHAR, severity VARCHAR, state VARCHAR,
                    opened_at TIMESTAMP, explanation VARCHAR)""")
    conn.execute("""INSERT INTO detected_events VALUES ('M1', 'continuous_flow', '2025-07-01', '2025-07-02', 0.91,
                    'never below 2 L/h for 24 h')""")
    conn.execute("INSERT INTO alerts VALUES ('M1', 'continuous_flow', 'warning', 'open', '2025-07-02', 'leak?')")
    events = meter_events(conn, "M1")
    assert list(events["source"]) == ["alert", "detected"]
    assert list(events["detail"]) == ["warning, open: leak?", "never below 2 L/h for 24 h (score 0.91)"]
    assert meter_events(conn, "M2").empty
    for table in ("detected_events", "alerts"):  # stores since 2026-11-24 keep each event's concern
        conn.execute(f"ALTER TABLE {table} ADD COLUMN concern VARCHAR DEFAULT 'water_loss'")
    assert list(meter_events(conn, "M1")["detail"]) == ["warning, open, water loss: leak?",
                                                         "water loss: never below 2 L/h for 24 h (score 0.91)"]
