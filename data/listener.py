"""The MQTT listener: a paho-mqtt 2.x client that decodes readings and hands them to the writer.

At-least-once, end to end: QoS 1, a fixed client id and a persistent session
(the broker keeps our subscription and queues messages while we are away), and
manual acknowledgement — a message is acknowledged only after the batch holding
it is committed (`ack`). Redeliveries are absorbed by the store's idempotence.

Acknowledgements carry the connection *generation* they were received on: after
a reconnect the broker redelivers what we had not acknowledged, and a stale
packet id must never acknowledge a newer message that reused it.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from data.ingest_queue import Envelope, ReadingQueue
from data.metrics import IngestMetrics
from data.payload import PayloadLimits, decode_message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ListenerConfig:
    host: str
    port: int
    client_id: str = "waterline-listener"
    topic: str = "waterline/v1/readings/#"
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    keepalive_s: int = 30
    reconnect_max_s: float = 30.0
    max_payload_bytes: int = PayloadLimits.max_bytes
    max_readings_per_message: int = PayloadLimits.max_readings

    @property
    def limits(self) -> PayloadLimits:
        return PayloadLimits(self.max_payload_bytes, self.max_readings_per_message)


class MqttListener:
    """Subscribes to the readings topic and feeds the `ReadingQueue`; acknowledges on request."""

    def __init__(self, config: ListenerConfig, queue: ReadingQueue, metrics: IngestMetrics):
        self.config = config
        self.queue = queue
        self.metrics = metrics
        self._generation = 0
        self._paused = threading.Event()
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=config.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=int(config.reconnect_max_s))
        if config.username:
            self.client.username_pw_set(config.username, config.password)
        if config.tls:
            self.client.tls_set(ca_certs=config.ca_file, certfile=config.cert_file,
                                keyfile=config.key_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def start(self) -> None:
        """Connect in the background; paho keeps retrying with backoff while the broker is away."""
        self.client.connect_async(self.config.host, self.config.port, keepalive=self.config.keepalive_s)
        self.client.loop_start()

    def pause(self) -> None:
        """Stop taking messages; those not taken stay unacknowledged and are redelivered later."""
        self._paused.set()

    def stop(self) -> None:
        self.pause()
        self.client.disconnect()
        self.client.loop_stop()

    def ack(self, envelopes: Iterable[Envelope]) -> None:
        """Acknowledge committed messages received on the current connection."""
        with self._lock:
            current = self._generation
        for envelope in envelopes:
            if envelope.qos > 0 and envelope.generation == current:
                self.client.ack(envelope.mid, envelope.qos)

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: mqtt.ConnectFlags,
                    reason_code: mqtt.ReasonCode, properties: object) -> None:
        if reason_code.is_failure:
            log.warning("broker refused the connection: %s", reason_code)
            return
        with self._lock:
            self._generation += 1
        client.subscribe(self.config.topic, qos=1)
        self.metrics.connection_changed(True)
        log.info("connected to %s:%s (session present: %s)", self.config.host, self.config.port,
                 flags.session_present)

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: mqtt.DisconnectFlags,
                       reason_code: mqtt.ReasonCode, properties: object) -> None:
        self.metrics.connection_changed(False)
        if reason_code.is_failure:
            log.warning("lost the broker (%s); reconnecting", reason_code)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        if self._paused.is_set():
            return
        received_at = datetime.now(UTC)
        with self._lock:
            generation = self._generation
        payload = message.payload
        if len(payload) > self.config.max_payload_bytes:  # refused at once, never held in full
            readings, rejections = decode_message(payload, message.topic, received_at,
                                                  self.config.max_payload_bytes, self.config.max_readings_per_message)
            envelope = Envelope(message.mid, message.qos, generation, readings, rejections, received_at)
        else:
            envelope = Envelope(message.mid, message.qos, generation, [], [], received_at, payload, message.topic)
        self.metrics.message_received()
        self.queue.put(envelope)
