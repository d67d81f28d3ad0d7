"""Live publishing end to end: simulator -> Mosquitto -> the real listener -> the store."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from dashapp.runtime import Runtime
from dashapp.settings import load_settings
from sim.config import SimConfig
from sim.events import EventConfig
from sim.live import LiveOptions, LiveReport, run_live
from sim.loadtest import parse_mix
from tests.sim.conftest import SMALL


def _runtime(tmp_path: Path, broker) -> Runtime:
    flags = {"db": str(tmp_path / "store.duckdb"), "broker": f"{broker.host}:{broker.port}",
             "mqtt_client_id": f"listener-{tmp_path.name}", "reconnect_max_s": 1}
    return Runtime.open(load_settings(flags, environ={}))


def _count(runtime: Runtime, sql: str) -> int:
    cur = runtime.store.cursor()
    try:
        return cur.execute(sql).fetchall()[0][0]
    finally:
        cur.close()


def _settle(runtime: Runtime, expected: int, timeout_s: float = 30.0) -> int:
    """Messages received by the listener once it has caught up with ``expected``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and runtime.metrics.snapshot().messages < expected:
        time.sleep(0.1)
    time.sleep(0.5)
    return runtime.metrics.snapshot().messages


def _publish(broker, tmp_path: Path, pattern: str, arrays: bool, store=None, seconds: float = 3.0,
             config: SimConfig = SMALL, start: str | None = "-2h") -> LiveReport:
    begin = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(start)).isoformat() if start else None
    return run_live(f"{broker.host}:{broker.port}", threading.Event(), store, seed=9, config=config,
                    options=LiveOptions(speed=0, arrays=arrays, mix=parse_mix(pattern)), start=begin,
                    duration_s=seconds, labels_file=tmp_path / "labels.jsonl", client_id=f"sim-{tmp_path.name}")


def test_the_city_arrives_in_the_store_in_arrays_with_its_labels(mosquitto_module, tmp_path):
    runtime = _runtime(tmp_path, mosquitto_module)
    try:
        eventful = replace(SMALL, events=EventConfig(rate_multiplier=20))
        report = _publish(mosquitto_module, tmp_path, "normal", arrays=True, config=eventful)
        _settle(runtime, report.messages)
        stored = _count(runtime, "SELECT count(*) FROM readings")
        assert report.readings > 300 and stored == report.readings
        assert _count(runtime, "SELECT count(*) FROM quarantine") == 0
        assert report.messages < report.readings / 5                   # gateways send arrays
        zoned = _count(runtime, "SELECT count(*) FROM meters WHERE zone_id IS NOT NULL AND category IS NOT NULL")
        assert zoned == _count(runtime, "SELECT count(*) FROM meters WHERE meter_id <> 'WX-1'")
        newest = _count(runtime, "SELECT max(ts) FROM readings")
        assert pd.Timestamp.now() - pd.Timestamp(newest) < pd.Timedelta(minutes=20)   # caught up with the clock
    finally:
        runtime.close()
    labels = [json.loads(line) for line in (tmp_path / "labels.jsonl").read_text().splitlines()]
    assert len(labels) == report.labels > 0
    assert all(pd.Timestamp(label["start"]) <= pd.Timestamp.now(tz="UTC") for label in labels)


def test_corrupt_missing_and_burst_patterns_do_what_they_claim(mosquitto_module, tmp_path):
    runtime = _runtime(tmp_path, mosquitto_module)
    try:
        report = _publish(mosquitto_module, tmp_path, "corrupt=0.1,missing=0.1,bursts=0.3", arrays=True, seconds=4)
        _settle(runtime, report.messages)
        snapshot = runtime.metrics.snapshot()
        assert report.missing > 0 and report.replayed > 0 and report.expected_quarantine > 0
        assert _count(runtime, "SELECT count(*) FROM readings") == report.readings
        assert snapshot.duplicates == report.replayed
        assert _count(runtime, "SELECT count(*) FROM quarantine") == report.expected_quarantine
    finally:
        runtime.close()


def test_single_readings_and_corrupt_singles(mosquitto_module, tmp_path):
    runtime = _runtime(tmp_path, mosquitto_module)
    try:
        report = _publish(mosquitto_module, tmp_path, "corrupt=0.05", arrays=False, start="-40min")
        _settle(runtime, report.messages)
        assert report.readings > 50 and report.messages == report.readings + report.expected_quarantine
        assert _count(runtime, "SELECT count(*) FROM readings") == report.readings
        assert _count(runtime, "SELECT count(*) FROM quarantine") == report.expected_quarantine
    finally:
        runtime.close()


@pytest.mark.slow
def test_live_continues_a_backfill_in_the_same_store(mosquitto_module, tmp_path):
    from sim.backfill import backfill_into_store

    runtime = _runtime(tmp_path, mosquitto_module)
    try:
        eventful = replace(SMALL, events=EventConfig(rate_multiplier=20))  # labels in any half day
        backfill_into_store(runtime.store, 0.5, end=pd.Timestamp.now(tz="UTC") - pd.Timedelta(hours=1),
                            seed=9, config=eventful)
        history = _count(runtime, "SELECT max(ts) FROM readings WHERE meter_id = 'Z1-INLET'")
        report = _publish(mosquitto_module, tmp_path, "normal", arrays=True, store=runtime.store, start=None)
        _settle(runtime, report.messages)
        assert pd.Timestamp(report.sim_start) == pd.Timestamp(history) + pd.Timedelta(minutes=15)
        seam = f"FROM consumption WHERE ts_start = TIMESTAMP '{pd.Timestamp(history)}'"  # first live interval
        assert _count(runtime, f"SELECT count(*) {seam}") > 0
        resets = _count(runtime, f"SELECT count(*) {seam} AND flags & 32 > 0")
        jumps = _count(runtime, f"SELECT count(*) {seam} AND flags & 128 > 0")
        assert resets == 0 and jumps == 0                       # registers continue where the backfill left them
        assert _count(runtime, "SELECT count(*) FROM event_labels") >= 1
    finally:
        runtime.close()
