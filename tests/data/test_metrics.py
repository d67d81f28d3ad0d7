"""Ingest metrics: the readings of the last quarter hour."""

from __future__ import annotations

import pytest

from data import metrics as metrics_module
from data.metrics import RECENT_WINDOW_S, IngestMetrics


@pytest.fixture
def clock(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(metrics_module.time, "time", lambda: now[0])
    return now


def commit(metrics: IngestMetrics, clock: list[float], at: float, readings: int) -> None:
    clock[0] = at
    metrics.readings_decoded(readings)
    metrics.batch_committed(10.0, readings, 0, 0)


def test_readings_of_the_last_quarter_hour_count_waves_the_rate_misses(clock):
    metrics = IngestMetrics(broker="localhost:1883")
    commit(metrics, clock, 1000.0, 100)
    commit(metrics, clock, 1500.0, 50)
    clock[0] = 1600.0
    first = metrics.snapshot()
    assert first.readings_recent == 150 and first.readings_per_s == 0.0
    clock[0] = 1000.0 + RECENT_WINDOW_S + 1
    assert metrics.snapshot().readings_recent == 50
    clock[0] = 1500.0 + RECENT_WINDOW_S + 1
    assert metrics.snapshot().readings_recent == 0

