"""Ingest metrics for the System health page and the benchmarks.

The writer and the MQTT callbacks record into one `IngestMetrics`; pages read a
`snapshot()`, an immutable copy, so no page ever holds the lock while it renders.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

RATE_WINDOW_S = 10.0
#: Meters report every 15 minutes or hourly, so a city's readings come in waves: "how many in the last
#: quarter hour" says whether data is flowing when the rate over ten seconds reads 0.
RECENT_WINDOW_S = 900.0


@dataclass(frozen=True)
class IngestSnapshot:
    messages: int
    readings: int
    stored: int
    duplicates: int
    quarantined: int
    batch_errors: int
    messages_per_s: float
    readings_per_s: float
    readings_recent: int
    batch_p50_ms: float | None
    batch_p95_ms: float | None
    queue_depth: int
    error_rate: float
    broker_connected: bool
    broker: str
    connects: int
    last_message_at: float | None
    last_error: str | None
    broker_problem: str | None
    broker_problem_at: float | None
    session_restarts: int

    def as_dict(self) -> dict:
        return self.__dict__.copy()


class IngestMetrics:
    """Thread-safe counters, rates over the last ten seconds, readings over the last quarter hour and
    batch-time percentiles."""

    def __init__(self, queue_depth: Callable[[], int] = lambda: 0, broker: str = ""):
        self._lock = threading.Lock()
        self._queue_depth = queue_depth
        self.broker = broker
        self.messages = self.readings = self.stored = self.duplicates = 0
        self.quarantined = self.batch_errors = self.connects = 0
        self.broker_connected = False
        self.last_message_at: float | None = None
        self.last_error: str | None = None
        self.broker_problem: str | None = None
        self.broker_problem_at: float | None = None
        self.session_restarts = 0
        self._batch_ms: deque[float] = deque(maxlen=2000)
        self._recent: deque[tuple[float, int, int]] = deque([(time.time(), 0, 0)])  # (time, messages, readings)
        self._quarter: deque[tuple[float, int]] = deque([(time.time(), 0)])  # (time, readings)

    def messages_received(self, count: int = 1, at: float | None = None) -> None:
        """Called by the listener's receiving thread (the only writer of these fields): no lock."""
        self.messages += count
        self.last_message_at = time.time() if at is None else at

    def readings_decoded(self, readings: int) -> None:
        """Called by the writer, which decodes messages a batch at a time."""
        with self._lock:
            self.readings += readings

    def batch_committed(self, elapsed_ms: float, stored: int, duplicates: int, quarantined: int) -> None:
        now = time.time()
        with self._lock:
            self._batch_ms.append(elapsed_ms)
            self.stored += stored
            self.duplicates += duplicates
            self.quarantined += quarantined
            self._sample(now)

    def _sample(self, now: float) -> None:
        self._recent.append((now, self.messages, self.readings))
        while len(self._recent) > 2 and self._recent[1][0] < now - RATE_WINDOW_S:
            self._recent.popleft()
        self._quarter.append((now, self.readings))
        while len(self._quarter) > 1 and self._quarter[1][0] <= now - RECENT_WINDOW_S:
            self._quarter.popleft()

    def batch_failed(self, error: str) -> None:
        with self._lock:
            self.batch_errors += 1
            self.last_error = error

    def connection_changed(self, connected: bool) -> None:
        with self._lock:
            self.broker_connected = connected
            self.connects += int(connected)

    def connection_problem(self, problem: str) -> None:
        """The broker refused us, could not be reached or dropped the connection (kept until the next one)."""
        with self._lock:
            self.broker_problem, self.broker_problem_at = problem, time.time()

    def session_restarted(self) -> None:
        with self._lock:
            self.session_restarts += 1

    def batch_times_ms(self) -> list[float]:
        with self._lock:
            return list(self._batch_ms)

    def snapshot(self) -> IngestSnapshot:
        now = time.time()
        with self._lock:
            self._sample(now)
            oldest = self._recent[0]
            span = max(now - oldest[0], 1e-9)
            times = np.array(self._batch_ms) if self._batch_ms else None
            handled = self.stored + self.duplicates + self.quarantined
            return IngestSnapshot(
                messages=self.messages,
                readings=self.readings,
                stored=self.stored,
                duplicates=self.duplicates,
                quarantined=self.quarantined,
                batch_errors=self.batch_errors,
                messages_per_s=(self.messages - oldest[1]) / span if span > 0.5 else 0.0,
                readings_per_s=(self.readings - oldest[2]) / span if span > 0.5 else 0.0,
                readings_recent=self.readings - self._quarter[0][1],
                batch_p50_ms=float(np.percentile(times, 50)) if times is not None else None,
                batch_p95_ms=float(np.percentile(times, 95)) if times is not None else None,
                queue_depth=self._queue_depth(),
                error_rate=self.quarantined / handled if handled else 0.0,
                broker_connected=self.broker_connected,
                broker=self.broker,
                connects=self.connects,
                last_message_at=self.last_message_at,
                last_error=self.last_error,
                broker_problem=self.broker_problem,
                broker_problem_at=self.broker_problem_at,
                session_restarts=self.session_restarts,
            )
