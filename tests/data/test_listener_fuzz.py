"""Fuzzing the listener over a real broker: malformed payloads never stop it or lose a reading.

Each published reading carries a unique ``probe`` field. Afterwards it must be in
exactly one place: stored (the probe kept in its attributes) or quarantined (the
probe in the kept payload, with a reason). A valid reading sent beside it lands.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashapp.mosquitto import MOSQUITTO, MosquittoBroker
from dashapp.runtime import Runtime
from dashapp.settings import load_settings
from tests.fixtures.mqtt_probe import MqttProbe

pytestmark = pytest.mark.mqtt
TOPIC = "waterline/v1/readings/fuzz-gw"
FIELDS = ["meter_id", "ts", "quantity", "value", "unit", "seq"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    if not MOSQUITTO.exists():
        pytest.skip("Mosquitto not installed (/usr/sbin/mosquitto); `make test` installs it")
    work = tmp_path_factory.mktemp("fuzz")
    broker = MosquittoBroker(Path(work) / "mosquitto")
    broker.start()
    runtime = Runtime.open(load_settings(
        {"db": str(work / "store.duckdb"), "broker": f"{broker.host}:{broker.port}",
         "mqtt_client_id": "fuzz-listener", "batch_max_wait_ms": 20}, environ={}))
    assert runtime.wait_for_broker(30), "the listener did not connect to the test broker"
    device = MqttProbe(broker.host, broker.port).connect()
    try:
        yield runtime, device
    finally:
        device.disconnect()
        runtime.close()
        broker.stop()


def good_reading(probe: str, meter: str = "fuzz-meter") -> dict:
    ts = datetime.now(UTC) - timedelta(seconds=1)
    return {"meter_id": meter, "ts": ts.isoformat(), "quantity": "pressure", "value": 3.2,
            "unit": "bar", "probe": probe}


def where_is(runtime: Runtime, probe: str) -> tuple[int, int]:
    cur = runtime.store.cursor()
    try:
        stored = cur.execute("SELECT count(*) FROM readings WHERE attrs LIKE ?", [f"%{probe}%"]).fetchone()[0]
        quarantined = cur.execute("SELECT count(*) FROM quarantine WHERE payload LIKE ? AND reason <> ''",
                                  [f"%{probe}%"]).fetchone()[0]
        return stored, quarantined
    finally:
        cur.close()


def settle(runtime: Runtime, sentinel: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if where_is(runtime, sentinel)[0] == 1:
            return
        time.sleep(0.02)
    raise AssertionError("the valid sentinel reading never arrived: the listener stopped taking input")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELDS + ["(delete)"]), replacement=json_values, delete=st.sampled_from(FIELDS))
def test_a_broken_field_is_quarantined_or_stored_never_lost(live, field, replacement, delete):
    runtime, device = live
    probe, sentinel = uuid.uuid4().hex, uuid.uuid4().hex
    broken = good_reading(probe, meter=f"m-{probe[:8]}")
    if field == "(delete)":
        broken.pop(delete, None)
    else:
        broken[field] = replacement
    payload = json.dumps([broken, good_reading(sentinel)], allow_nan=True, default=str)
    device.publish(TOPIC, payload)
    settle(runtime, sentinel)
    stored, quarantined = where_is(runtime, probe)
    assert stored + quarantined == 1, (broken, stored, quarantined)
    assert runtime.metrics.broker_connected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.binary(max_size=400))
def test_arbitrary_bytes_are_quarantined_with_a_reason(live, garbage):
    runtime, device = live
    cur = runtime.store.cursor()
    before = cur.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    cur.close()
    sentinel = uuid.uuid4().hex
    device.publish(TOPIC, garbage)
    device.publish(TOPIC, json.dumps(good_reading(sentinel)))
    settle(runtime, sentinel)
    cur = runtime.store.cursor()
    after, empty_reasons = cur.execute(
        "SELECT count(*), count(*) FILTER (WHERE reason = '') FROM quarantine").fetchone()
    cur.close()
    assert after >= before + 1 and empty_reasons == 0
