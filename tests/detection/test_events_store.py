"""Event ids are stable across scans; saving is idempotent and updates ongoing events; the streaming scan."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest

from detection.events import EVENT_COLUMNS, event, event_id, frame
from detection.events_store import load_events, save_events
from detection.scan import scan_range, scan_recent
from tests.detection.conftest import (
    BURST_FROM,
    PEER_LEAK_FROM,
    SCAN_END,
    SCAN_START,
    SILENT,
    TOILET_FROM,
    ZONE_DROP_FROM,
)


@pytest.fixture
def writable(constructed_db, tmp_path):
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(constructed_db, copy)
    with duckdb.connect(str(copy)) as conn:
        yield conn.cursor()


@pytest.fixture
def writable_store(constructed_db, tmp_path):
    from data.store import Store

    copy = tmp_path / "store.duckdb"
    shutil.copyfile(constructed_db, copy)
    with Store(str(copy)) as store:
        yield store


def test_event_ids_are_the_same_when_the_same_data_is_scanned_again(constructed_db):
    with duckdb.connect(str(constructed_db), read_only=True) as conn:
        first = scan_range(conn.cursor(), None, SCAN_START, SCAN_END)
        second = scan_range(conn.cursor(), None, SCAN_START, SCAN_END)
        shifted = scan_range(conn.cursor(), ["H-TOILET"], SCAN_START, SCAN_END, chunk_days=3)
    assert list(first.columns) == EVENT_COLUMNS
    assert first["event_id"].tolist() == second["event_id"].tolist()
    toilet = first[(first["meter_id"] == "H-TOILET") & (first["detector"] == "continuous_flow")]
    again = shifted[(shifted["detector"] == "continuous_flow")]
    assert toilet["event_id"].tolist() == again["event_id"].tolist()
    assert toilet.iloc[0]["event_id"] == event_id("continuous_flow", "H-TOILET", "continuous_flow", TOILET_FROM)


def test_saving_twice_stores_each_event_once_and_updates_an_ongoing_one(constructed_db, writable):
    with duckdb.connect(str(constructed_db), read_only=True) as conn:
        events = scan_range(conn.cursor(), None, SCAN_START, SCAN_END)
    assert save_events(writable, events) == len(events)
    assert save_events(writable, events) == 0
    later = events.copy()
    later.loc[0, "end"] = later.loc[0, "end"] + pd.Timedelta(hours=5)
    later.loc[0, "lost_volume_l"] = 12345.0
    later.loc[0, "zone_id"] = "Z-ELSEWHERE"   # its meter moved in the register since the first scan
    assert save_events(writable, later) == 0
    stored = load_events(writable).set_index("event_id")
    assert len(stored) == len(events)
    first = stored.loc[events.loc[0, "event_id"]]
    assert first["end"] == later.loc[0, "end"] and first["lost_volume_l"] == 12345.0
    assert first["zone_id"] == "Z-ELSEWHERE"
    assert stored["detected_at"].notna().all()


def test_a_streaming_scan_sees_a_meter_that_is_still_silent(constructed_db):
    now = SILENT[0] + pd.Timedelta(hours=9)
    with duckdb.connect(str(constructed_db), read_only=True) as conn:
        recent = scan_recent(conn.cursor(), now.to_pydatetime())
    silent = recent[(recent["meter_id"] == "H-SILENT") & (recent["kind"] == "silent_meter")]
    assert len(silent) == 1
    assert "and counting" in silent.iloc[0]["explanation"] and silent.iloc[0]["end"] == now


def test_a_scan_of_history_that_ends_while_a_meter_is_silent_raises_it_as_still_silent(constructed_db):
    end = SILENT[0] + pd.Timedelta(hours=9)
    with duckdb.connect(str(constructed_db), read_only=True) as conn:
        found = scan_range(conn.cursor(), ["H-SILENT", "H-NORMAL"], SCAN_START, end)
    silent = found[found["kind"] == "silent_meter"]
    assert list(silent["meter_id"]) == ["H-SILENT"]
    assert "and counting" in silent.iloc[0]["explanation"] and silent.iloc[0]["end"] == end


def test_a_streaming_scan_raises_the_running_toilet_within_hours(constructed_db):
    now = TOILET_FROM + pd.Timedelta(hours=6)
    with duckdb.connect(str(constructed_db), read_only=True) as conn:
        recent = scan_recent(conn.cursor(), now.to_pydatetime())
    toilet = recent[(recent["meter_id"] == "H-TOILET") & (recent["detector"] == "continuous_flow")]
    assert len(toilet) == 1 and toilet.iloc[0]["start"] == TOILET_FROM


@pytest.mark.parametrize("hours_after, raised", [(5, False), (7, True), (30, True)])
def test_a_streaming_scan_raises_a_leak_between_pressure_sensors_and_keeps_raising_it(constructed_db, hours_after,
                                                                                       raised):
    now = PEER_LEAK_FROM + pd.Timedelta(hours=hours_after)
    with duckdb.connect(str(constructed_db), read_only=True) as conn:
        recent = scan_recent(conn.cursor(), now.to_pydatetime())
    local = recent[(recent["kind"] == "local_pressure_drop") & (recent["zone_id"] == "Z12")]
    assert list(local["meter_id"]) == ["Z12-PA"] * raised


def test_a_streaming_scan_raises_what_needs_more_evidence_than_its_lookback(constructed_db):
    """A drift and a zone's pressure drop need 12 h of a day-long median beyond its band; the loop looks back 6 h."""
    now = ZONE_DROP_FROM + pd.Timedelta(hours=24)
    with duckdb.connect(str(constructed_db), read_only=True) as conn:
        recent = scan_recent(conn.cursor(), now.to_pydatetime(), lookback=pd.Timedelta(hours=6))
    found = set(zip(recent["meter_id"], recent["kind"]))
    assert {("ZONE:Z5", "zone_pressure_drop"), ("Z6-PA", "sensor_drift")} <= found
    assert (recent["end"] >= now - pd.Timedelta(hours=6)).all()


def test_the_detection_loop_saves_what_a_tick_finds(writable_store):
    from detection.events_store import load_events
    from detection.streaming import DetectionLoop

    saved = []
    loop = DetectionLoop(writable_store, on_saved=lambda: saved.append(True))
    wall = (SILENT[0] + pd.Timedelta(hours=9)).to_pydatetime()
    events = loop.tick(wall_clock=wall)
    again = loop.tick(wall_clock=wall)
    stored = load_events(writable_store.cursor())
    assert "H-SILENT" in set(events["meter_id"])
    assert sorted(stored["event_id"]) == sorted(events["event_id"]) == sorted(again["event_id"])
    assert len(saved) == 2 and (stored["detected_at"] == pd.Timestamp(wall)).all()


def test_a_loop_set_to_confirm_saves_the_statistical_events_the_other_detector_confirms(writable_store):
    from datetime import timedelta

    from detection.streaming import DetectionLoop

    statistical, day = ("zscore", "isolation_forest"), timedelta(hours=24)
    wall = (BURST_FROM + pd.Timedelta(hours=8)).to_pydatetime()
    kept = DetectionLoop(writable_store, detectors=statistical, lookback=day, confirm=True).tick(wall_clock=wall)
    stored = load_events(writable_store.cursor())
    everything = scan_recent(writable_store.cursor(), wall, day, detectors=statistical)

    def pairs(events):
        return set(zip(events["meter_id"], events["detector"]))

    assert sorted(stored["event_id"]) == sorted(kept["event_id"])
    assert {("Z1-IN", "zscore"), ("Z1-IN", "isolation_forest")} <= pairs(kept)
    assert ("P-LOW", "zscore") in pairs(everything) - pairs(kept)


def test_streaming_ticks_hours_apart_give_the_running_toilet_one_id(constructed_db):
    with duckdb.connect(str(constructed_db), read_only=True) as conn:
        ids = set()
        for hours in (6, 9, 12):
            recent = scan_recent(conn.cursor(), (TOILET_FROM + pd.Timedelta(hours=hours)).to_pydatetime(),
                                 detectors=("continuous_flow",))
            ids |= set(recent.loc[recent["meter_id"] == "H-TOILET", "event_id"])
    assert ids == {event_id("continuous_flow", "H-TOILET", "continuous_flow", TOILET_FROM)}


def leak(detector: str, start: str, end: str, meter_id: str = "H-1", kind: str = "continuous_flow") -> dict:
    return event(detector=detector, meter_id=meter_id, zone_id="Z", kind=kind, start=start, end=end,
                 raised_at=end, score=0.9, explanation=f"{detector} from {start}", lost_volume_l=100.0)


def test_a_tick_that_sees_a_saved_leak_under_another_start_or_rule_updates_that_event(tmp_path):
    with duckdb.connect(str(tmp_path / "events.duckdb")) as conn:
        cur = conn.cursor()
        assert save_events(cur, frame([leak("continuous_flow", "2025-09-01 13:00", "2025-09-02 11:00")])) == 1
        later_ticks = frame([leak("continuous_flow", "2025-09-01 14:00", "2025-09-02 15:00"),  # start an hour on
                             leak("steady_trickle", "2025-09-01 14:00", "2025-09-03 02:00"),   # the night's rule
                             leak("silent_meter", "2025-09-02 00:00", "2025-09-02 08:00", kind="silent_meter"),
                             leak("continuous_flow", "2025-09-05 10:00", "2025-09-05 16:00")])  # a new leak
        assert save_events(cur, later_ticks) == 2
        stored = load_events(cur)
    leaks = stored[stored["kind"] == "continuous_flow"].reset_index(drop=True)
    assert leaks["event_id"].tolist() == [event_id("continuous_flow", "H-1", "continuous_flow",
                                                   pd.Timestamp("2025-09-01 13:00")),
                                          event_id("continuous_flow", "H-1", "continuous_flow",
                                                   pd.Timestamp("2025-09-05 10:00"))]
    assert leaks.loc[0, "start"] == pd.Timestamp("2025-09-01 13:00")
    assert leaks.loc[0, "end"] == pd.Timestamp("2025-09-03 02:00")
    assert (stored["kind"] == "silent_meter").sum() == 1


def test_two_events_of_one_tick_that_continue_a_saved_one_keep_the_latest_end(tmp_path):
    with duckdb.connect(str(tmp_path / "events.duckdb")) as conn:
        cur = conn.cursor()
        save_events(cur, frame([leak("continuous_flow", "2025-09-01 13:00", "2025-09-02 11:00")]))
        save_events(cur, frame([leak("steady_trickle", "2025-09-01 14:00", "2025-09-03 02:00"),
                                leak("continuous_flow", "2025-09-01 14:00", "2025-09-02 15:00")]))
        stored = load_events(cur)
    assert len(stored) == 1 and stored.loc[0, "end"] == pd.Timestamp("2025-09-03 02:00")


def test_loading_from_a_store_without_events_gives_an_empty_frame(constructed_db):
    with duckdb.connect(str(constructed_db), read_only=True) as conn:
        frame = load_events(conn.cursor())
    assert frame.empty and list(frame.columns) == [*EVENT_COLUMNS, "detected_at"]


def band(side: str, start: str, end: str) -> dict:
    return event(detector="pressure_band", meter_id="P-1", zone_id="Z", kind="pressure_out_of_band", start=start,
                 end=end, raised_at=start, score=0.7, explanation=f"Pressure {side} its usual band 2.10-3.40 bar",
                 concern="water_loss" if side == "below" else "operations")


def test_a_surge_then_a_sag_within_the_hour_are_saved_as_two_events(tmp_path):
    with duckdb.connect(str(tmp_path / "events.duckdb")) as conn:
        cur = conn.cursor()
        save_events(cur, frame([band("above", "2025-09-01 06:00", "2025-09-01 07:00")]))
        assert save_events(cur, frame([band("below", "2025-09-01 07:30", "2025-09-01 09:00")])) == 1
        stored = load_events(cur)
    assert list(stored["concern"]) == ["operations", "water_loss"]
    assert list(stored["start"]) == [pd.Timestamp("2025-09-01 06:00"), pd.Timestamp("2025-09-01 07:30")]


def test_a_store_saved_before_concerns_gains_them_from_kind_and_side(tmp_path):
    path = str(tmp_path / "older.duckdb")
    older = frame([band("above", "2025-09-01 06:00", "2025-09-01 07:00"),
                   band("below", "2025-09-02 06:00", "2025-09-02 07:00"),
                   leak("continuous_flow", "2025-09-01 13:00", "2025-09-02 11:00"),
                   leak("silent_meter", "2025-09-03 00:00", "2025-09-03 08:00", kind="silent_meter")])
    with duckdb.connect(path) as conn:
        save_events(conn.cursor(), older)
        conn.execute("ALTER TABLE detected_events DROP COLUMN concern")
    expected = ["operations", "water_loss", "water_loss", "reporting"]
    with duckdb.connect(path, read_only=True) as conn:
        assert list(load_events(conn.cursor())["concern"]) == expected
    with duckdb.connect(path) as conn:
        cur = conn.cursor()
        continuing = frame([band("above", "2025-09-01 07:30", "2025-09-01 08:00"),
                            band("below", "2025-09-02 07:30", "2025-09-02 09:00")])
        assert save_events(cur, continuing) == 0
        stored = load_events(cur)
    assert list(stored["concern"]) == expected
    bands = stored[stored["kind"] == "pressure_out_of_band"]
    assert list(bands["end"]) == [pd.Timestamp("2025-09-01 08:00"), pd.Timestamp("2025-09-02 09:00")]
