"""The MQTT listener: receives readings through an MQTT session process and hands them to the writer.

At-least-once, end to end: QoS 1, a fixed client id and a persistent session
(the broker keeps our subscription and queues messages while we are away), and
manual acknowledgement — a message is acknowledged only after the batch holding
it is committed (`ack`). Redeliveries are absorbed by the store's idempotence.

The paho client runs in a child process (`data.mqtt_session`), so that its network
thread and the writer do not take turns at one interpreter lock; this side turns
its frames of messages into envelopes for the `ReadingQueue`. A session process that
dies is started again; the broker redelivers what it had not acknowledged.

Acknowledgements carry the connection *generation* they were received on: after
a reconnect the broker redelivers what we had not acknowledged, and a stale
packet id must never acknowledge a newer message that reused it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from multiprocessing import Pipe
from pathlib import Path

from data.ingest_queue import Envelope, ReadingQueue
from data.metrics import IngestMetrics
from data.mqtt_session import make_client
from data.payload import PayloadLimits, decode_message

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RESTART_DELAY_S = 1.0


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
    """Runs the MQTT session process and feeds the `ReadingQueue`; acknowledges on request."""

    def __init__(self, config: ListenerConfig, queue: ReadingQueue, metrics: IngestMetrics):
        self.config = config
        self.queue = queue
        self.metrics = metrics
        self._generation = 0
        self._paused = threading.Event()
        self._stopping = threading.Event()
        self._send_lock = threading.Lock()
        self._pipe = None
        self._session: subprocess.Popen | None = None
        self._receiver = threading.Thread(target=self._receive_loop, name="waterline-listener", daemon=True)
        make_client(self._session_settings())  # a bad CA file or certificate fails here, at start-up

    def _session_settings(self) -> dict:
        return {k: v for k, v in asdict(self.config).items()
                if k not in ("max_payload_bytes", "max_readings_per_message")}

    def start(self) -> None:
        """Start the session process; it connects in the background and retries with backoff while the broker is away."""
        self._start_session()
        self._receiver.start()

    def pause(self) -> None:
        """Stop taking messages; those not taken stay unacknowledged and are redelivered later."""
        self._paused.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Disconnect after the acknowledgements sent so far, and end the session process."""
        self.pause()
        self._stopping.set()
        self._send(("stop",))
        session = self._session
        if session is not None:
            try:
                session.wait(timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("the MQTT session process did not stop in %.0f s; killing it", timeout_s)
                session.kill()
                session.wait()
        if self._receiver.is_alive():
            self._receiver.join(timeout_s)

    @property
    def session_pid(self) -> int | None:
        """The MQTT session process's id (for tests and diagnostics)."""
        return self._session.pid if self._session else None

    def ack(self, envelopes: Iterable[Envelope]) -> None:
        """Acknowledge committed messages received on the current connection."""
        current = self._generation
        mids = [envelope.mid for envelope in envelopes if envelope.qos > 0 and envelope.generation == current]
        if mids:
            self._send(("ack", current, mids))

    def _start_session(self) -> None:
        ours, theirs = Pipe()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
        self._session = subprocess.Popen([sys.executable, "-m", "data.mqtt_session", str(theirs.fileno())],
                                         pass_fds=(theirs.fileno(),), env=env)
        theirs.close()
        ours.send((self._session_settings(), self._generation))
        self._pipe = ours

    def _send(self, frame: tuple) -> None:
        with self._send_lock:
            try:
                if self._pipe is not None:
                    self._pipe.send(frame)
            except OSError:  # the session process is gone; what it did not acknowledge is redelivered
                pass

    def _receive_loop(self) -> None:
        while True:
            self._serve_session()
            self.metrics.connection_changed(False)
            if self._stopping.is_set():
                return
            code = self._session.wait()
            log.error("the MQTT session process ended (exit code %s); starting it again", code)
            self.metrics.session_restarted()
            self.metrics.connection_problem(f"the MQTT session process ended (exit code {code})")
            self._pipe.close()
            time.sleep(RESTART_DELAY_S)
            with self._send_lock:  # `stop` either finds the new session or stops this loop
                if self._stopping.is_set():
                    return
                self._start_session()

    def _serve_session(self) -> None:
        while True:
            try:
                frame = self._pipe.recv()
            except (EOFError, OSError):
                return
            kind = frame[0]
            if kind == "messages":
                self._take(frame[1])
            elif kind == "connected":
                self._generation = frame[1]
                self.metrics.connection_changed(True)
                log.info("connected to %s:%s (session present: %s)", self.config.host, self.config.port, frame[2])
            elif kind == "disconnected":  # also after a refusal, whose reason says more: that one stays
                was_connected = self.metrics.broker_connected
                self.metrics.connection_changed(False)
                if frame[1]:
                    log.warning("lost the broker (%s); reconnecting", frame[2])
                    if was_connected:
                        self.metrics.connection_problem(f"lost the connection ({frame[2]}); reconnecting")
            elif kind == "refused":
                log.warning("broker refused the connection: %s", frame[1])
                self.metrics.connection_problem(f"the broker refused the connection: {frame[1]}")
            elif kind == "unreachable":
                self.metrics.connection_problem(f"cannot reach {self.config.host}:{self.config.port}; retrying")

    def _take(self, messages: list[tuple]) -> None:
        if self._paused.is_set():
            return
        envelopes = []
        for generation, mid, qos, received, topic, payload in messages:
            received_at = datetime.fromtimestamp(received, UTC)
            if len(payload) > self.config.max_payload_bytes:  # refused at once, never decoded
                readings, rejections = decode_message(payload, topic, received_at, self.config.max_payload_bytes,
                                                      self.config.max_readings_per_message)
                envelopes.append(Envelope(mid, qos, generation, readings, rejections, received_at))
            else:
                envelopes.append(Envelope(mid, qos, generation, [], [], received_at, payload, topic))
        self.metrics.messages_received(len(envelopes), envelopes[-1].received_at.timestamp())
        self.queue.put_many(envelopes)
