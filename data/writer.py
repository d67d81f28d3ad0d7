"""The writer thread: batches from the queue, validated and committed, then acknowledged.

It is the store's only writer. A batch that fails to commit is retried one
message at a time, and a message that still fails is quarantined with the error,
so one poisonous message can neither stop ingest nor be lost.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable

from data.ingest_queue import Envelope, ReadingQueue
from data.metrics import IngestMetrics
from data.payload import Rejection
from data.store import Store
from data.validation import ValidationRules, empty_rows, validate_readings

log = logging.getLogger(__name__)

STATS_EVERY_S = 60.0
#: When messages arrive by the hundreds per batch, the network thread needs the interpreter:
#: the writer then lets readings gather at least this many times as long as its last batch
#: took, so committing takes at most a third of its time. Lighter traffic is committed every
#: ``max_wait_ms``, which keeps publish-to-queryable latency low.
BUSY_BATCH_MESSAGES = 200
GATHER_PER_COMMIT = 2.0
MAX_GATHER_S = 0.4


class IngestWriter:
    """Drains the queue into the store until stopped; then drains what is left."""

    def __init__(
        self,
        store: Store,
        queue: ReadingQueue,
        metrics: IngestMetrics,
        rules: ValidationRules,
        acknowledge: Callable[[Iterable[Envelope]], None],
        max_batch_readings: int = 20_000,
        max_wait_ms: int = 100,
    ):
        self.store = store
        self.queue = queue
        self.metrics = metrics
        self.rules = rules
        self.acknowledge = acknowledge
        self.max_batch_readings = max_batch_readings
        self.max_wait_s = max_wait_ms / 1000
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="waterline-writer", daemon=True)
        self._last_stats = time.monotonic()
        self._last_batch_s = 0.0
        self._last_batch_messages = 0
        self._first_commit_logged = False

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Commit and acknowledge everything queued, then return."""
        self._stopping.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            batch = self.queue.take(self.max_batch_readings, self._gather_s(), idle_timeout_s=0.2)
            if batch:
                self.write(batch)
            elif self._stopping.is_set():
                return
            if time.monotonic() - self._last_stats > STATS_EVERY_S:
                self._record_stats()

    def _gather_s(self) -> float:
        if self._last_batch_messages < BUSY_BATCH_MESSAGES:
            return self.max_wait_s
        return max(self.max_wait_s, min(MAX_GATHER_S, GATHER_PER_COMMIT * self._last_batch_s))

    def write(self, batch: list[Envelope]) -> None:
        started = time.perf_counter()
        try:
            stored, duplicates, quarantined = self._commit(batch)
        except Exception as err:  # a poisonous message: isolate it
            log.exception("batch of %d messages failed; retrying one by one", len(batch))
            self.metrics.batch_failed(repr(err))
            stored = duplicates = quarantined = 0
            for envelope in batch:
                s, d, q = self._commit_alone(envelope)
                stored, duplicates, quarantined = stored + s, duplicates + d, quarantined + q
        self.acknowledge(batch)
        self._last_batch_s = time.perf_counter() - started
        self._last_batch_messages = len(batch)
        self.metrics.batch_committed(self._last_batch_s * 1000, stored, duplicates, quarantined)
        if not self._first_commit_logged:
            self._first_commit_logged = True
            log.info("first batch committed: %d readings stored, %d duplicates, %d quarantined",
                     stored, duplicates, quarantined)

    def _commit(self, batch: list[Envelope]) -> tuple[int, int, int]:
        raws = [reading for envelope in batch for reading in envelope.readings]
        rejections = [rejection for envelope in batch for rejection in envelope.rejections]
        validated = validate_readings(raws, self.rules)
        result = self.store.ingest(validated.rows, rejections + validated.rejections)
        return result.stored, result.duplicates, result.quarantined

    def _commit_alone(self, envelope: Envelope) -> tuple[int, int, int]:
        try:
            return self._commit([envelope])
        except Exception as err:
            log.exception("message %s could not be stored; quarantined", envelope.mid)
            quarantined = [
                Rejection(f"store error: {err!r}", json.dumps(reading.fields, default=str)[:65536], reading.source,
                          reading.received_at, None)
                for reading in envelope.readings
            ] + envelope.rejections
            result = self.store.ingest(empty_rows(), quarantined)
            return 0, 0, result.quarantined

    def _record_stats(self) -> None:
        self._last_stats = time.monotonic()
        try:
            self.store.record_ingest_stats(self.metrics.snapshot())
        except Exception:
            log.exception("could not record ingest stats")

