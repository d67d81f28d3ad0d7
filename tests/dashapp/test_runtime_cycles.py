"""A serving runtime scans what arrives and raises alerts by itself, and stops its cycles cleanly."""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timedelta

from dashapp.netutil import free_port
from dashapp.runtime import Runtime
from dashapp.settings import load_settings
from data.store import Store
from tests.data.builders import UTC, ingest, reading
from tests.fixtures.city import CITY_END

LEAKING = "Z1-R-0003"  # a household meter read every 15 min


def add_running_toilet(db, hours: int = 8, litres_per_hour: float = 120.0) -> None:
    """The meter's register keeps turning through the night after the simulated city's last reading."""
    with Store(str(db)) as store:
        last = store.cursor().execute("SELECT last_value FROM meters WHERE meter_id = ?", [LEAKING]).fetchone()[0]
        start = datetime.fromisoformat(CITY_END).replace(tzinfo=UTC)
        steps = [start + timedelta(minutes=15 * i) for i in range(1, 4 * hours + 1)]
        leak = [reading(LEAKING, ts, last + litres_per_hour / 4 * (i + 1)) for i, ts in enumerate(steps)]
        result = ingest(store, leak, received_at=steps[-1], now=steps[-1])
        assert result.stored == len(leak)


def _count(runtime: Runtime, sql: str) -> int:
    cur = runtime.store.cursor()
    try:
        present = cur.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                              [sql.split("FROM ")[1].split()[0]]).fetchone()[0]
        return cur.execute(sql).fetchone()[0] if present else 0
    finally:
        cur.close()


def test_serving_runtime_catches_up_on_history_and_alerts_on_its_own(city_db, tmp_path):
    """The regular scan and alert cycle are an hour away: only the first, catch-up scan over 3 days can find
    the leak, and the alert cycle it wakes raise it."""
    db = tmp_path / "city.duckdb"
    shutil.copyfile(city_db, db)
    add_running_toilet(db)
    settings = load_settings({"db": str(db), "embedded_broker_port": free_port(), "detection_interval_s": 3600,
                              "alert_interval_s": 3600, "detection_catch_up_h": 72}, environ={})
    runtime = Runtime.open(settings, ingest=True)
    try:
        assert runtime.detection is not None and runtime.alerts is not None
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and _count(runtime, "SELECT count(*) FROM alerts") == 0:
            time.sleep(0.5)
        leaks = _count(runtime, f"""SELECT count(*) FROM detected_events
                                    WHERE meter_id = '{LEAKING}' AND kind = 'continuous_flow'""")
        alerts = _count(runtime, "SELECT count(*) FROM alerts")
        assert leaks == 1 and alerts > 0
        assert _count(runtime, """SELECT count(*) FROM alerts a ANTI JOIN detected_events d
                                  ON d.event_id = a.event_id""") == 0  # every alert comes from a stored event
    finally:
        started = time.monotonic()
        runtime.close()
    assert time.monotonic() - started < 60
    assert not runtime.detection.is_alive()


def test_cycles_can_be_switched_off(tmp_path):
    settings = load_settings({"db": str(tmp_path / "s.duckdb"), "embedded_broker_port": free_port(),
                              "detection_service": False, "alert_service": False}, environ={})
    with Runtime.open(settings, ingest=True) as runtime:
        assert runtime.detection is None and runtime.alerts is None


def test_the_live_detector_setting_all_saves_confirmed_statistical_events_only(tmp_path):
    for setting, confirm in (("rules", False), ("rules+zscore", False), ("all", True)):
        settings = load_settings({"db": str(tmp_path / f"{setting}.duckdb"), "embedded_broker_port": free_port(),
                                  "alert_service": False, "detection_live_detectors": setting,
                                  "detection_interval_s": 3600}, environ={})
        with Runtime.open(settings, ingest=True) as runtime:
            assert runtime.detection is not None and runtime.detection.confirm is confirm
            assert ("zscore" in runtime.detection.detectors) is (setting != "rules")
