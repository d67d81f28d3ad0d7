"""The `mosquitto` fixture starts a real broker that keeps sessions across restarts."""

from __future__ import annotations

from tests.fixtures.mosquitto import MosquittoBroker
from tests.fixtures.mqtt_probe import MqttProbe


def test_round_trips_a_qos1_message(mosquitto: MosquittoBroker) -> None:
    with MqttProbe(mosquitto.host, mosquitto.port) as probe:
        probe.subscribe("waterline/meters/M-001", qos=1)
        probe.publish("waterline/meters/M-001", b'{"volume_l": 12.5}', qos=1)
        [message] = probe.receive(1)

    assert (message.topic, message.payload, message.qos) == (
        "waterline/meters/M-001", b'{"volume_l": 12.5}', 1)
    assert "mosquitto version" in mosquitto.log_path.read_text()


def test_restart_keeps_queued_messages_of_a_persistent_session(
    mosquitto: MosquittoBroker,
) -> None:
    listener = MqttProbe(mosquitto.host, mosquitto.port, client_id="listener",
                         clean_session=False)
    with listener:
        listener.subscribe("waterline/meters/#", qos=1)
    with MqttProbe(mosquitto.host, mosquitto.port) as publisher:
        for i in range(5):
            publisher.publish("waterline/meters/M-001", str(i), qos=1)

    mosquitto.restart()

    with listener:
        received = listener.receive(5)
        assert listener.session_present is True
    assert [m.payload for m in received] == [str(i).encode() for i in range(5)]
