"""Process wiring: the one store, the broker (embedded or external), the listener, the writer,
and the background detection and alert cycles.

`serve`, `listen` and `demo` each build one `Runtime` and start it once (never at
import time: Dash's reloader imports modules twice). The web app finds the
running store and metrics through `current()`.

Detection scans recent readings and stores events (`detected_events`); the
alert cycle turns stored events into alerts and notifications. Each writes only
its own tables, through its own cursor, beside the ingest writer.

Shutdown order matters for at-least-once delivery: the background cycles stop,
the writer commits and acknowledges what is queued, then the listener
disconnects (anything that arrived after is redelivered on the next start),
then the store checkpoints.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from dashapp.broker import EmbeddedBroker
from dashapp.settings import Settings
from data.ingest_queue import ReadingQueue
from data.listener import ListenerConfig, MqttListener
from data.metrics import IngestMetrics
from data.store import Store, StoreOptions
from data.validation import ValidationRules
from data.writer import IngestWriter

if TYPE_CHECKING:
    from alerts.service import AlertService
    from detection.streaming import DetectionLoop

log = logging.getLogger(__name__)

LIVE_DETECTORS = {"rules": ("rules",), "rules+zscore": ("rules", "zscore"), "all": ("rules", "zscore", "forest")}

_current: Runtime | None = None


def store_options(settings: Settings) -> StoreOptions:
    return StoreOptions(unknown_meters=settings.unknown_meters, default_tz=settings.default_tz,  # type: ignore[arg-type]
                        threads=settings.db_threads)


def validation_rules(settings: Settings) -> ValidationRules:
    return ValidationRules(
        max_future_s=settings.max_future_s,
        max_past_s=settings.max_past_days * 86400,
        late_after_s=settings.late_after_s,
    )


def listener_config(settings: Settings, host: str, port: int) -> ListenerConfig:
    return ListenerConfig(
        host=host,
        port=port,
        client_id=settings.mqtt_client_id,
        topic=settings.mqtt_topic,
        username=settings.mqtt_username,
        password=settings.mqtt_password,
        tls=settings.mqtt_tls,
        ca_file=settings.mqtt_ca_file,
        cert_file=settings.mqtt_cert_file,
        key_file=settings.mqtt_key_file,
        keepalive_s=settings.mqtt_keepalive_s,
        reconnect_max_s=settings.reconnect_max_s,
        max_payload_bytes=settings.max_payload_bytes,
        max_readings_per_message=settings.max_readings_per_message,
    )


@dataclass
class Runtime:
    """Everything one serving process owns."""

    settings: Settings
    store: Store
    metrics: IngestMetrics = field(default_factory=IngestMetrics)
    broker: EmbeddedBroker | None = None
    listener: MqttListener | None = None
    writer: IngestWriter | None = None
    detection: DetectionLoop | None = None
    alerts: AlertService | None = None

    @property
    def broker_address(self) -> tuple[str, int]:
        if self.broker is not None:
            return self.broker.host, self.broker.port
        address = self.settings.broker_address
        assert address is not None
        return address

    @classmethod
    def open(cls, settings: Settings, ingest: bool = True) -> Runtime:
        """Open the store and, with ``ingest``, start the broker (if embedded), writer, listener
        and background cycles. On any failure, or a signal, while starting, it closes what it started."""
        runtime = cls.create(settings)
        if ingest:
            try:
                runtime.start()
            except BaseException:
                runtime.close()
                raise
        return runtime

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        """Open the store only; `start` begins ingest. Commands hold the runtime before starting it,
        so a signal that arrives while it starts still finds something to close."""
        global _current
        runtime = cls(settings, Store(settings.db, store_options(settings)))
        _current = runtime
        return runtime

    def start(self) -> None:
        """The broker (if embedded), writer, listener and the background cycles."""
        self._start_ingest()
        self._start_background_cycles()

    def _start_ingest(self) -> None:
        s = self.settings
        if s.broker_address is None:
            self.broker = EmbeddedBroker("127.0.0.1", s.embedded_broker_port)
            self.broker.start()
            log.info("embedded MQTT broker on %s:%s", self.broker.host, self.broker.port)
        host, port = self.broker_address
        queue = ReadingQueue(s.queue_capacity_readings)
        self.metrics = IngestMetrics(queue_depth=lambda: queue.depth, broker=f"{host}:{port}")
        self.listener = MqttListener(listener_config(s, host, port), queue, self.metrics)
        self.writer = IngestWriter(self.store, queue, self.metrics, validation_rules(s), self.listener.ack,
                                   s.batch_max_readings, s.batch_max_wait_ms, self.listener.config.limits,
                                   s.batch_target_ms)
        self.writer.start()
        self.listener.start()

    def wait_for_broker(self, timeout_s: float) -> bool:
        """Wait until the listener is connected and subscribed (a fresh session receives nothing
        published before it subscribed); False if it is not within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while not self.metrics.broker_connected and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.metrics.broker_connected

    def _start_background_cycles(self) -> None:
        """Streaming detection and the alert cycle, as the settings ask."""
        s = self.settings
        if s.detection_service:
            from detection.events import Tariff
            from detection.scan import DETECTORS, RULES
            from detection.streaming import DetectionLoop

            wanted = LIVE_DETECTORS.get(s.detection_live_detectors)
            if wanted is None:
                raise ValueError(f"detection_live_detectors must be one of {', '.join(LIVE_DETECTORS)}")
            detectors = [d for d in DETECTORS if (d in RULES and "rules" in wanted)
                         or (d == "zscore" and "zscore" in wanted) or (d == "isolation_forest" and "forest" in wanted)]
            self.detection = DetectionLoop(self.store, every=timedelta(seconds=s.detection_interval_s),
                                           lookback=timedelta(minutes=s.detection_lookback_min),
                                           tariff=Tariff(s.tariff_per_m3, s.currency),
                                           training_days=s.detection_training_days, detectors=detectors,
                                           catch_up=timedelta(hours=s.detection_catch_up_h),
                                           confirm={"zscore", "forest"} <= set(wanted),
                                           on_saved=self._wake_alerts)
            self.detection.start()
        if s.alert_service:
            from alerts.service import AlertService
            from alerts.sources import stored_events

            self.alerts = AlertService(self.store, stored_events(), s)
            self.alerts.start()

    def _wake_alerts(self) -> None:
        if self.alerts is not None:
            self.alerts.wake()

    def close(self) -> None:
        """Stop the background cycles, commit what is held, disconnect, stop the broker, close the store."""
        global _current
        if self.detection is not None:
            self.detection.stop()
            self.detection.join(60)
        if self.alerts is not None:
            self.alerts.stop()
        if self.listener is not None:
            self.listener.pause()
        if self.writer is not None:
            self.writer.stop()
        if self.listener is not None:
            self.listener.stop()
        if self.broker is not None:
            self.broker.stop()
        self.store.checkpoint()
        self.store.close()
        if _current is self:
            _current = None

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def current() -> Runtime:
    """The running process's runtime (set by `Runtime.open`)."""
    if _current is None:
        raise RuntimeError("no Waterline runtime is open in this process")
    return _current


def install(runtime: Runtime) -> None:
    """Make ``runtime`` the current one (tests and embedding)."""
    global _current
    _current = runtime
