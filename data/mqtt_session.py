"""The MQTT session in a process of its own: paho's network thread gets an interpreter to itself.

paho needs Python's interpreter lock for every message (reading and decoding the
packet, matching its topic: about 50 µs on this kind of machine). In the writer's
process it waited for the writer's Python between DuckDB statements, and the writer
for it. Here it only holds messages and forwards them to the listener (`data.listener`)
in frames of many; the listener answers with the message ids it has committed, and
this process acknowledges them to the broker.

The two processes talk over a pipe (`multiprocessing.connection`). When the listener's
process dies, even by ``kill -9``, the pipe closes and this process ends at once,
without acknowledging anything more: the broker redelivers what was not committed.

Frames from here: ``("connected", generation, session_present)``,
``("refused", reason)``, ``("unreachable",)`` (no connection at all), ``("disconnected", failed, reason)`` and
``("messages", [(generation, mid, qos, received_at, topic, payload), ...])``.
Frames to here: ``("ack", generation, [mid, ...])`` and ``("stop",)``.
Imports stay light (no pandas, no DuckDB): the process starts in a fraction of a second.
"""

from __future__ import annotations

import os
import signal
import ssl
import struct
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

#: A frame of messages is sent once it holds this many, or this long after its first arrived.
FRAME_MESSAGES = 1000
FRAME_WAIT_S = 0.005
#: Messages held and not yet sent; past this paho's thread waits (and so stops reading the socket).
MAX_HELD = 20_000
PUBACK_HEAD = (mqtt.PUBACK << 24) | (2 << 16)  # fixed header: PUBACK, remaining length 2; the id fills the low 16 bits


def make_client(settings: dict[str, Any]) -> mqtt.Client:
    """The listener's paho client: fixed client id, persistent session, manual acknowledgement,
    credentials and TLS from the settings (a missing or unreadable CA, certificate or key raises here)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=settings["client_id"],
                         clean_session=False, protocol=mqtt.MQTTv311, manual_ack=True)
    client.reconnect_delay_set(min_delay=1, max_delay=int(settings["reconnect_max_s"]))
    if settings.get("username"):
        client.username_pw_set(settings["username"], settings.get("password"))
    if settings.get("tls"):
        client.tls_set(ca_certs=settings.get("ca_file"), certfile=settings.get("cert_file"),
                       keyfile=settings.get("key_file"), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    return client


def acknowledge(client: mqtt.Client, mids: list[int]) -> None:
    """PUBACK each QoS 1 message id, all in one write.

    paho's ``ack`` queues one 4-byte packet per message, and each costs a wake-up
    of the network thread and a ``send`` of its own: two system calls a message.
    A commit acknowledges hundreds of messages at once, so their PUBACKs go as one
    buffer through paho's packet queue (a private method of the pinned paho 2.2;
    on a paho without it, one ``ack`` per message as before). docs/PERFORMANCE.md
    has what it saves.
    """
    queue = getattr(client, "_packet_queue", None)
    if queue is None or len(mids) == 1:
        for mid in mids:
            client.ack(mid, 1)
        return
    queue(mqtt.PUBACK, struct.pack(f"!{len(mids)}I", *(PUBACK_HEAD | mid for mid in mids)), 0, 0)


class MqttSession:
    """One paho client; forwards messages in frames and acknowledges what the listener committed."""

    def __init__(self, pipe: Connection, settings: dict[str, Any], first_generation: int):
        self.pipe = pipe
        self.settings = settings
        self._generation = first_generation
        self._held: list[tuple] = []
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()
        self._stopping = False
        self.client = make_client(settings)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_connect_fail = lambda client, userdata: self._send(("unreachable",))
        self.client.on_message = self._on_message

    def run(self) -> None:
        """Connect (paho retries with backoff while the broker is away) and serve the listener until told to stop."""
        forwarder = threading.Thread(target=self._forward_loop, name="waterline-mqtt-forward", daemon=True)
        forwarder.start()
        self.client.connect_async(self.settings["host"], self.settings["port"], keepalive=self.settings["keepalive_s"])
        self.client.loop_start()
        while True:
            try:
                frame = self.pipe.recv()
            except (EOFError, OSError):  # the listener's process is gone: acknowledge nothing more
                os._exit(0)
            if frame[0] == "ack":
                self._ack(frame[1], frame[2])
            elif frame[0] == "stop":
                break
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self.client.disconnect()
        self.client.loop_stop()

    def _ack(self, generation: int, mids: list[int]) -> None:
        if generation != self._generation:  # a packet id of an earlier connection may be reused by now
            return
        acknowledge(self.client, mids)

    def _send(self, frame: tuple) -> None:
        with self._send_lock:
            try:
                self.pipe.send(frame)
            except OSError:
                os._exit(0)

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: mqtt.ConnectFlags,
                    reason_code: mqtt.ReasonCode, properties: object) -> None:
        if reason_code.is_failure:
            self._send(("refused", str(reason_code)))
            return
        self._generation += 1  # paho's thread, like `_on_message`: messages held keep the generation they came on
        client.subscribe(self.settings["topic"], qos=1)
        self._send(("connected", self._generation, bool(flags.session_present)))

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: mqtt.DisconnectFlags,
                       reason_code: mqtt.ReasonCode, properties: object) -> None:
        self._send(("disconnected", bool(reason_code.is_failure), str(reason_code)))

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        item = (self._generation, message.mid, message.qos, time.time(), message.topic, message.payload)
        with self._cond:
            while len(self._held) >= MAX_HELD and not self._stopping:
                self._cond.wait(0.5)
            self._held.append(item)
            if len(self._held) == 1 or len(self._held) == FRAME_MESSAGES:
                self._cond.notify_all()

    def _forward_loop(self) -> None:
        while True:
            with self._cond:
                while not self._held:
                    self._cond.wait()
                deadline = time.monotonic() + FRAME_WAIT_S
                while len(self._held) < FRAME_MESSAGES and (remaining := deadline - time.monotonic()) > 0:
                    self._cond.wait(remaining)
                held, self._held = self._held, []
                self._cond.notify_all()
            self._send(("messages", held))


def main() -> None:
    """Entry point of the child process: ``python -m data.mqtt_session FD``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C and SIGTERM are for the listener, which stops us
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    pipe = Connection(int(sys.argv[1]))
    try:
        settings, first_generation = pipe.recv()
    except EOFError:  # the listener ended while this process started
        return
    MqttSession(pipe, settings, first_generation).run()


if __name__ == "__main__":
    main()
