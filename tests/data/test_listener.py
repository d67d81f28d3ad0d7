"""The listener against a real Mosquitto: readings in, bad input quarantined, broker outages survived."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dashapp.mosquitto import MosquittoBroker
from tests.fixtures.listening import TOPIC, count, open_runtime, reading, wait_until
from tests.fixtures.mqtt_probe import MqttProbe

REPO = Path(__file__).resolve().parents[2]


def test_arrays_singles_and_bad_messages_end_where_they_should(mosquitto, tmp_path):
    runtime = open_runtime(tmp_path, mosquitto.host, mosquitto.port)
    try:
        assert wait_until(lambda: runtime.metrics.broker_connected)
        with MqttProbe(mosquitto.host, mosquitto.port) as device:
            device.publish(TOPIC, json.dumps([reading("m-1", 30, 1000), reading("m-2", 30, 50),
                                              reading("m-1", 15, 1040, note="kitchen")]))
            device.publish("waterline/v1/readings/m-1", json.dumps(reading("m-1", 0, 1100)))
            device.publish(TOPIC, b"{not json")
            device.publish(TOPIC, b"\xff\xfe\x00bad utf-8")
            device.publish(TOPIC, json.dumps([reading("m-2", 10, 70),
                                              {**reading("m-2", 5, 0), "value": "eighty"}]))
            device.publish(TOPIC, '[{"meter_id": "m-3", "ts": 1700000000000, "quantity": "flow", '
                                  '"value": NaN, "unit": "L/s"}]')
        assert wait_until(lambda: count(runtime, "SELECT count(*) FROM quarantine") == 4)
        assert wait_until(lambda: count(runtime, "SELECT count(*) FROM readings") == 5)
        assert count(runtime, "SELECT sum(volume_l) FROM consumption WHERE meter_id = 'm-1'") == 100
        assert count(runtime, "SELECT sum(volume_l) FROM meter_hourly WHERE meter_id = 'm-2'") == pytest.approx(20)
        cur = runtime.store.cursor()
        reasons = [r[0] for r in cur.execute("SELECT reason FROM quarantine ORDER BY reason").fetchall()]
        attrs = cur.execute("SELECT attrs FROM readings WHERE attrs IS NOT NULL").fetchone()[0]
        cur.close()
        assert any("not valid JSON" in r for r in reasons)
        assert any("not UTF-8" in r for r in reasons)
        assert any("value must be a number" in r for r in reasons)
        assert any("NaN" in r or "nan" in r for r in reasons)
        assert json.loads(attrs) == {"note": "kitchen"}
        assert wait_until(lambda: runtime.metrics.snapshot().stored == 5)
        snapshot = runtime.metrics.snapshot()
        assert snapshot.messages == 6 and snapshot.quarantined == 4
    finally:
        runtime.close()


def test_listener_waits_for_a_broker_that_is_not_up_yet(tmp_path):
    broker = MosquittoBroker(tmp_path / "mosquitto")
    if not Path("/usr/sbin/mosquitto").exists():
        pytest.skip("Mosquitto not installed (/usr/sbin/mosquitto); `make test` installs it")
    runtime = open_runtime(tmp_path, broker.host, broker.port)
    try:
        time.sleep(2.0)
        assert not runtime.metrics.broker_connected
        assert runtime.metrics.snapshot().broker_problem == f"cannot reach {broker.host}:{broker.port}; retrying"
        broker.start()
        assert wait_until(lambda: runtime.metrics.broker_connected, 20)
        with MqttProbe(broker.host, broker.port) as device:
            device.publish(TOPIC, json.dumps([reading("m-1", 5, 10), reading("m-1", 1, 25)]))
        assert wait_until(lambda: count(runtime, "SELECT count(*) FROM readings") == 2)
    finally:
        runtime.close()
        broker.stop()


def test_broker_restart_loses_nothing_published_while_listener_was_cut_off(mosquitto, tmp_path):
    runtime = open_runtime(tmp_path, mosquitto.host, mosquitto.port)
    try:
        assert wait_until(lambda: runtime.metrics.broker_connected)
        mosquitto.restart()
        with MqttProbe(mosquitto.host, mosquitto.port) as device:
            device.publish(TOPIC, json.dumps([reading("m-9", 3, 5), reading("m-9", 2, 9)]))
        assert wait_until(lambda: count(runtime, "SELECT count(*) FROM readings") == 2, 30)
        snapshot = runtime.metrics.snapshot()
        assert snapshot.connects >= 2 and snapshot.broker_connected
        assert snapshot.broker_problem.startswith(("lost the connection", "cannot reach"))  # down, then back
    finally:
        runtime.close()


def test_stopped_listener_receives_what_was_published_while_it_was_away(mosquitto, tmp_path):
    """The persistent session: the broker queues QoS 1 messages for the fixed client id."""
    runtime = open_runtime(tmp_path, mosquitto.host, mosquitto.port)
    assert wait_until(lambda: runtime.metrics.broker_connected)
    runtime.close()
    with MqttProbe(mosquitto.host, mosquitto.port) as device:
        for minutes in (40, 30, 20, 10):
            device.publish(TOPIC, json.dumps(reading("m-4", minutes, 1000 + minutes)))
    runtime = open_runtime(tmp_path, mosquitto.host, mosquitto.port)
    try:
        assert wait_until(lambda: count(runtime, "SELECT count(*) FROM readings") == 4)
    finally:
        runtime.close()


def test_committed_messages_are_acknowledged_and_not_delivered_again(mosquitto, tmp_path):
    """Acknowledgements go to the broker in one write per commit: after a restart nothing comes back."""
    runtime = open_runtime(tmp_path, mosquitto.host, mosquitto.port)
    try:
        assert wait_until(lambda: runtime.metrics.broker_connected)
        with MqttProbe(mosquitto.host, mosquitto.port) as device:
            for minutes in range(300):
                device.publish(TOPIC, json.dumps(reading("m-5", 300 - minutes, 1000 + minutes)))
        assert wait_until(lambda: count(runtime, "SELECT count(*) FROM readings") == 300)
        time.sleep(0.5)  # the acknowledgements of the last commit reach the broker
    finally:
        runtime.close()
    runtime = open_runtime(tmp_path, mosquitto.host, mosquitto.port)
    try:
        assert wait_until(lambda: runtime.metrics.broker_connected)
        time.sleep(1.5)
        snapshot = runtime.metrics.snapshot()
        assert snapshot.messages == 0 and snapshot.duplicates == 0
        with MqttProbe(mosquitto.host, mosquitto.port) as device:
            device.publish(TOPIC, json.dumps(reading("m-5", 0, 1400)))
        assert wait_until(lambda: count(runtime, "SELECT count(*) FROM readings") == 301)
    finally:
        runtime.close()


def test_unknown_meters_are_quarantined_when_the_policy_says_so(mosquitto, tmp_path):
    runtime = open_runtime(tmp_path, mosquitto.host, mosquitto.port, unknown_meters="quarantine")
    try:
        assert wait_until(lambda: runtime.metrics.broker_connected)
        with MqttProbe(mosquitto.host, mosquitto.port) as device:
            device.publish(TOPIC, json.dumps(reading("stranger", 1, 5)))
        assert wait_until(lambda: count(runtime, "SELECT count(*) FROM quarantine") == 1)
        cur = runtime.store.cursor()
        reason, payload = cur.execute("SELECT reason, payload FROM quarantine").fetchone()
        cur.close()
        assert "unknown meter 'stranger'" in reason
        assert json.loads(payload)["meter_id"] == "stranger"
        assert count(runtime, "SELECT count(*) FROM readings") == 0
    finally:
        runtime.close()


def running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_killed_session_process_is_started_again_and_loses_nothing(mosquitto, tmp_path):
    runtime = open_runtime(tmp_path, mosquitto.host, mosquitto.port)
    try:
        assert wait_until(lambda: runtime.metrics.broker_connected)
        first = runtime.listener.session_pid
        os.kill(first, signal.SIGKILL)
        with MqttProbe(mosquitto.host, mosquitto.port) as device:
            device.publish(TOPIC, json.dumps([reading("m-5", 3, 5), reading("m-5", 2, 9)]))
        assert wait_until(lambda: count(runtime, "SELECT count(*) FROM readings") == 2, 30)
        assert runtime.listener.session_pid not in (None, first)
        snapshot = runtime.metrics.snapshot()
        assert snapshot.connects >= 2 and snapshot.session_restarts == 1
        assert snapshot.broker_problem == "the MQTT session process ended (exit code -9)"
    finally:
        runtime.close()


def test_session_process_ends_with_the_listener_even_when_that_is_killed(mosquitto):
    script = (
        "from data.ingest_queue import ReadingQueue\n"
        "from data.listener import ListenerConfig, MqttListener\n"
        "from data.metrics import IngestMetrics\n"
        "import time\n"
        f"listener = MqttListener(ListenerConfig({mosquitto.host!r}, {mosquitto.port}, client_id='orphan-check'),\n"
        "                        ReadingQueue(1000), metrics := IngestMetrics())\n"
        "listener.start()\n"
        "while not metrics.broker_connected: time.sleep(0.05)\n"
        "print(listener.session_pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        session = int(owner.stdout.readline())
        assert running(session)
        owner.kill()
        owner.wait(10)
        assert wait_until(lambda: not running(session), 10), "the session process outlived its listener"
    finally:
        owner.kill()
