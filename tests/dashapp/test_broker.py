"""The demo's embedded amqtt broker delivers QoS 1 traffic like the production broker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dashapp.broker import EmbeddedBroker
from dashapp.netutil import free_port, port_accepts
from tests.fixtures.mqtt_probe import MqttProbe


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(port=free_port()) as running:
        yield running


def test_delivers_every_qos1_message(broker: EmbeddedBroker) -> None:
    payloads = [f'{{"meter": "M-{i:03d}", "volume_l": {i * 10}}}'.encode() for i in range(50)]
    with MqttProbe(broker.host, broker.port) as subscriber, \
            MqttProbe(broker.host, broker.port) as publisher:
        subscriber.subscribe("waterline/meters/#", qos=1)
        for i, payload in enumerate(payloads):
            publisher.publish(f"waterline/meters/M-{i:03d}", payload, qos=1)
        received = subscriber.receive(50)

    assert sorted(m.payload for m in received) == sorted(payloads)
    assert {m.qos for m in received} == {1}
    assert subscriber.messages.empty()


def test_queues_qos1_messages_for_an_offline_persistent_session(
    broker: EmbeddedBroker,
) -> None:
    listener = MqttProbe(broker.host, broker.port, client_id="listener", clean_session=False)
    with listener:
        listener.subscribe("waterline/meters/#", qos=1)
    with MqttProbe(broker.host, broker.port) as publisher:
        for i in range(20):
            publisher.publish("waterline/meters/M-001", str(i), qos=1)

    with listener:
        received = listener.receive(20)
        assert listener.session_present is True

    assert [m.payload for m in received] == [str(i).encode() for i in range(20)]


def test_second_broker_on_a_taken_port_fails_clearly(broker: EmbeddedBroker) -> None:
    with pytest.raises(RuntimeError, match=rf"127\.0\.0\.1:{broker.port} is already in use"):
        EmbeddedBroker(port=broker.port).start()
    with MqttProbe(broker.host, broker.port) as probe:
        probe.subscribe("still/serving")


def test_stop_frees_the_port() -> None:
    port = free_port()
    with EmbeddedBroker(port=port) as broker:
        assert broker.url == f"mqtt://127.0.0.1:{port}"
        assert port_accepts("127.0.0.1", port)
    assert not port_accepts("127.0.0.1", port)
    with EmbeddedBroker(port=port), MqttProbe("127.0.0.1", port) as probe:
        probe.subscribe("restarted")
