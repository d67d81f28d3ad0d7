"""Alert transactions run beside the ingest writer on the same store without conflicts."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from alerts.lifecycle import acknowledge, raise_alerts
from alerts.writes import alert_transaction
from data.payload import RawReading
from data.store import Store
from data.validation import ValidationRules, validate_readings
from tests.alerts.builders import T0, event, events

NOW = datetime.now(UTC)


def batch(index: int):
    readings = [RawReading({"meter_id": f"m-{i}", "ts": (NOW - timedelta(minutes=600 - index * 10)).isoformat(),
                            "quantity": "volume", "value": 1000.0 + index * 10, "unit": "L"}, "test", NOW)
                for i in range(50)]
    return validate_readings(readings, ValidationRules()).rows


@pytest.mark.slow
def test_alert_writes_and_ingest_interleave(tmp_path):
    store = Store(str(tmp_path / "both.duckdb"))
    errors: list[BaseException] = []

    def ingest() -> None:
        try:
            for i in range(15):
                store.ingest(batch(i))
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    def alerting(prefix: str) -> None:
        try:
            for i in range(15):
                with alert_transaction(store) as cur:
                    [alert_id] = raise_alerts(cur, events(event(f"{prefix}-{i}", meter_id=f"m-{i}", kind=prefix)), T0).opened
                with alert_transaction(store) as cur:
                    acknowledge(cur, alert_id, "maria", T0)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=ingest), threading.Thread(target=alerting, args=("burst",)),
               threading.Thread(target=alerting, args=("continuous_flow",))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    cur = store.cursor()
    assert errors == []
    assert cur.execute("SELECT count(*) FROM readings").fetchall()[0][0] == 15 * 50
    assert cur.execute("SELECT state, count(*) FROM alerts GROUP BY state").fetchall() == [("acknowledged", 30)]
    store.close()
