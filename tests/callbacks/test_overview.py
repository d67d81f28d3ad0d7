"""The Overview page: live ingest counts, called as a function and seen in Chromium."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from callbacks.overview import refresh_counts
from dashapp.runtime import Runtime
from dashapp.settings import load_settings
from data.payload import RawReading, decode_message
from data.validation import ValidationRules, validate_readings

NOW = datetime.now(timezone.utc)


@pytest.fixture
def store_runtime(tmp_path):
    runtime = Runtime.open(load_settings({"db": str(tmp_path / "store.duckdb")}, environ={}), ingest=False)
    readings = [RawReading({"meter_id": f"m-{i % 3}", "ts": (NOW - timedelta(minutes=60 - i)).isoformat(),
                            "quantity": "volume", "value": 100.0 + 10 * i, "unit": "L"}, "test", NOW)
                for i in range(12)]
    bad, rejections = decode_message(b"{broken", "waterline/v1/readings/gw", NOW, 1 << 20, 100)
    batch = validate_readings(readings, ValidationRules())
    runtime.store.ingest(batch.rows, rejections + batch.rejections)
    yield runtime
    runtime.close()


def test_counts_come_from_the_store(store_runtime):
    meters, readings, rate, quarantined, freshness, broker, table = refresh_counts(1)
    assert (meters, readings, quarantined) == ("3", "12", "1")
    assert broker == "not listening"
    assert "min ago" in str(freshness) and "UTC" in str(freshness)
    assert "not valid JSON" in str(table)


def test_empty_store_says_so(tmp_path):
    runtime = Runtime.open(load_settings({"db": str(tmp_path / "empty.duckdb")}, environ={}), ingest=False)
    try:
        meters, readings, _, quarantined, freshness, _, table = refresh_counts(1)
        assert (meters, readings, quarantined, freshness) == ("0", "0", "0", "no data yet")
        assert "Nothing quarantined" in str(table)
    finally:
        runtime.close()


def test_overview_page_shows_the_counts_in_a_browser(store_runtime, dash_duo, waterline_app):
    dash_duo.start_server(waterline_app)
    dash_duo.wait_for_text_to_equal("#overview-readings", "12", timeout=10)
    dash_duo.wait_for_text_to_equal("#overview-meters", "3", timeout=10)
    assert "not valid JSON" in dash_duo.find_element("#overview-quarantine-table").text
    assert dash_duo.get_logs() == []
