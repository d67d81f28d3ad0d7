"""The listener over TLS with a client certificate and a password, against a real Mosquitto.

The certificates come from a throwaway CA (trustme); Mosquitto requires the client
certificate and a password from its password file, and refuses anonymous clients.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import trustme

from dashapp.mosquitto import MOSQUITTO, MosquittoBroker
from tests.fixtures.listening import TOPIC, count, open_runtime, reading, wait_until
from tests.fixtures.mqtt_probe import MqttProbe

pytestmark = pytest.mark.mqtt
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


@pytest.fixture
def secured(tmp_path):
    if not MOSQUITTO.exists() or not Path(MOSQUITTO_PASSWD).exists():
        pytest.skip("Mosquitto not installed (mosquitto, mosquitto_passwd); `make test` installs it")
    ca = trustme.CA()
    files = tmp_path / "tls"
    files.mkdir()
    ca.cert_pem.write_to_path(str(files / "ca.pem"))
    server = ca.issue_cert("127.0.0.1", "localhost")
    server.private_key_and_cert_chain_pem.write_to_path(str(files / "server.pem"))
    client = ca.issue_cert("waterline-listener")
    client.cert_chain_pems[0].write_to_path(str(files / "client.crt"))
    client.private_key_pem.write_to_path(str(files / "client.key"))
    subprocess.run([MOSQUITTO_PASSWD, "-b", "-c", str(files / "passwords"), "listener", "s3cret"], check=True)
    broker = MosquittoBroker(tmp_path / "mosquitto", security=(
        "allow_anonymous false",
        f"password_file {files / 'passwords'}",
        f"cafile {files / 'ca.pem'}",
        f"certfile {files / 'server.pem'}",
        f"keyfile {files / 'server.pem'}",
        "require_certificate true",
    ))
    broker.start()
    tls = {"mqtt_tls": True, "mqtt_ca_file": str(files / "ca.pem"),
           "mqtt_cert_file": str(files / "client.crt"), "mqtt_key_file": str(files / "client.key")}
    device = {"ca_certs": str(files / "ca.pem"), "certfile": str(files / "client.crt"),
              "keyfile": str(files / "client.key")}
    try:
        yield broker, tls, device
    finally:
        broker.stop()


def test_readings_arrive_over_tls_with_a_client_certificate_and_a_password(secured, tmp_path):
    broker, tls, device_tls = secured
    runtime = open_runtime(tmp_path, broker.host, broker.port, mqtt_username="listener", mqtt_password="s3cret", **tls)
    try:
        assert wait_until(lambda: runtime.metrics.broker_connected, 20)
        with MqttProbe(broker.host, broker.port, username="listener", password="s3cret", tls=device_tls) as device:
            device.publish(TOPIC, json.dumps([reading("m-tls", 5, 10), reading("m-tls", 1, 25)]))
        assert wait_until(lambda: count(runtime, "SELECT count(*) FROM readings") == 2)
    finally:
        runtime.close()


def test_a_wrong_password_is_refused_and_the_listener_keeps_trying(secured, tmp_path, caplog):
    broker, tls, _ = secured
    runtime = open_runtime(tmp_path, broker.host, broker.port, mqtt_username="listener", mqtt_password="wrong", **tls)
    try:
        assert wait_until(lambda: caplog.text.count("broker refused the connection") >= 2, 20)
        assert not runtime.metrics.broker_connected
        assert runtime.metrics.snapshot().broker_problem == "the broker refused the connection: Not authorized"
    finally:
        runtime.close()


def test_a_missing_ca_file_fails_at_start_up(secured, tmp_path):
    broker, tls, _ = secured
    with pytest.raises(OSError):
        open_runtime(tmp_path, broker.host, broker.port, **{**tls, "mqtt_ca_file": str(tmp_path / "nowhere.pem")})
