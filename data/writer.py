"""The writer: batches from the queue, validated and committed, then acknowledged.

It is the store's only writer. Two threads form a pipeline: one validates the
next batch while the other commits the last one (DuckDB works outside Python's
interpreter lock, so validation runs while a commit does); each batch takes as many
readings as `data.batch_budget` says fit its time budget. A batch that fails to
commit is retried one message at a time, and a message that still fails is
quarantined with the error, so one poisonous message can neither stop ingest
nor be lost.
"""

from __future__ import annotations

import json
import logging
import queue as queues
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from data.batch_budget import FULL_SHARE, BatchBudget, BatchPlan
from data.batch_decode import BatchDecoder, validate_one_by_one
from data.ingest_queue import Envelope, ReadingQueue
from data.metrics import IngestMetrics
from data.payload import PayloadLimits, Rejection
from data.store import Store
from data.validation import ValidatedBatch, ValidationRules, empty_rows

log = logging.getLogger(__name__)

STATS_EVERY_S = 60.0
#: When messages arrive by the hundreds per batch, a batch's fixed cost (its SQL statements
#: and commit) is spread over more of them: the writer then lets readings gather at least this
#: many times as long as its last batch took, so committing takes at most a third of its time.
#: Lighter traffic is committed every ``max_wait_ms``, which keeps publish-to-queryable latency low.
BUSY_BATCH_MESSAGES = 200
GATHER_PER_COMMIT = 2.0
MAX_GATHER_S = 0.4
#: While more batches wait, volume deltas are queued and folded into the rollups once
#: this much time has passed since the last fold (see `data.rollups`); an idle writer
#: folds at once.
FOLD_ROLLUPS_EVERY_S = 1.0


@dataclass
class PreparedBatch:
    """A batch of messages with its validated readings (None when validation itself failed) and the
    budget's plan it was taken under (None: not taken by the budget, e.g. a message retried alone)."""

    envelopes: list[Envelope]
    validated: ValidatedBatch | None
    validate_s: float
    plan: BatchPlan | None = None

    @property
    def checkpoint(self) -> bool:
        """The store checkpoints after this batch."""
        return self.plan is not None and self.plan.checkpoint

    @property
    def size(self) -> int:
        """Readings, as the queue counted them when the batch was taken."""
        return sum(envelope.size for envelope in self.envelopes)


class IngestWriter:
    """Drains the queue into the store until stopped; then drains what is left."""

    def __init__(
        self,
        store: Store,
        queue: ReadingQueue,
        metrics: IngestMetrics,
        rules: ValidationRules,
        acknowledge: Callable[[Iterable[Envelope]], None],
        max_batch_readings: int = 40_000,
        max_wait_ms: int = 100,
        limits: PayloadLimits = PayloadLimits(),
        batch_target_ms: int = 150,
    ):
        self.store = store
        self.queue = queue
        self.metrics = metrics
        self.rules = rules
        self.acknowledge = acknowledge
        self.budget = BatchBudget(batch_target_ms / 1000, max_batch_readings, store.checkpoint_threshold_bytes())
        self._wal_bytes = store.wal_bytes()
        self._readings_taken = 0
        self._readings_written = 0
        self.max_wait_s = max_wait_ms / 1000
        self.limits = limits
        self._decoder = BatchDecoder(limits)
        self._stopping = threading.Event()
        self._prepared: queues.Queue[PreparedBatch | None] = queues.Queue(maxsize=1)
        self._validator = threading.Thread(target=self._validate_loop, name="waterline-validator", daemon=True)
        self._thread = threading.Thread(target=self._write_loop, name="waterline-writer", daemon=True)
        self._last_stats = time.monotonic()
        self._last_batch_s = 0.0
        self._last_batch_messages = 0
        self._last_fold = time.monotonic()
        self._merge_deferred = False
        self._first_commit_logged = False

    def start(self) -> None:
        self._validator.start()
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Commit and acknowledge everything queued, then return."""
        self._stopping.set()
        deadline = time.monotonic() + timeout_s
        self._validator.join(timeout_s)
        self._thread.join(max(0.0, deadline - time.monotonic()))

    def _validate_loop(self) -> None:
        try:
            self._decoder.warm_up()
        except Exception:
            log.exception("the batch decoder could not warm up; the first batch will")
        while True:
            plan = self.budget.plan(self._wal_bytes, self._readings_taken - self._readings_written)
            batch = self.queue.take(plan.limit, self._gather_s(), idle_timeout_s=0.2)
            if batch:
                prepared = self.prepare(batch, plan)
                self._readings_taken += prepared.size
                self._prepared.put(prepared)
            elif self._stopping.is_set():
                self._decoder.close()
                self._prepared.put(None)
                return

    def _write_loop(self) -> None:
        while True:
            try:
                prepared = self._prepared.get(timeout=0.2)
            except queues.Empty:
                if self.store.rollups_pending:
                    self._fold_rollups()
                elif self._merge_deferred:
                    self._merge_row_groups()
                self._record_stats_when_due()
                continue
            if prepared is None:
                return
            self.write(prepared)
            self._record_stats_when_due()

    def prepare(self, batch: list[Envelope], plan: BatchPlan | None = None) -> PreparedBatch:
        """Decode and validate a batch's readings (the first stage of the pipeline)."""
        started = time.perf_counter()
        try:
            validated, readings = self._decoder.validate(batch, self.rules)
            self.metrics.readings_decoded(readings)
        except Exception:
            log.exception("validating a batch of %d messages failed; they will be stored one by one", len(batch))
            validated = None
        return PreparedBatch(batch, validated, time.perf_counter() - started, plan)

    def _gather_s(self) -> float:
        if self._last_batch_messages < BUSY_BATCH_MESSAGES:
            return self.max_wait_s
        return max(self.max_wait_s, min(MAX_GATHER_S, GATHER_PER_COMMIT * self._last_batch_s))

    def write(self, prepared: PreparedBatch) -> None:
        """Store a validated batch, then acknowledge its messages (the second stage)."""
        started = time.perf_counter()
        batch = prepared.envelopes
        wal_before = self.store.wal_bytes()
        try:
            stored, duplicates, quarantined = self._store(prepared)
        except Exception as err:  # a poisonous message: isolate it
            log.exception("batch of %d messages failed; retrying one by one", len(batch))
            self.metrics.batch_failed(repr(err))
            stored = duplicates = quarantined = 0
            for envelope in batch:
                s, d, q = self._commit_alone(envelope)
                stored, duplicates, quarantined = stored + s, duplicates + d, quarantined + q
        self.acknowledge(batch)
        checkpointed = self._follow_wal(prepared, wal_before)
        self._last_batch_s = prepared.validate_s + time.perf_counter() - started
        self._last_batch_messages = len(batch)
        self._teach_budget(prepared, checkpointed)
        self.metrics.batch_committed(self._last_batch_s * 1000, stored, duplicates, quarantined)
        if not self._first_commit_logged:
            self._first_commit_logged = True
            log.info("first batch committed: %d readings stored, %d duplicates, %d quarantined",
                     stored, duplicates, quarantined)

    def _follow_wal(self, prepared: PreparedBatch, wal_before: int) -> bool:
        """Tell the budget how the WAL grew; run the checkpoint it planned after this batch (True when done)."""
        self._readings_written += prepared.size
        self._wal_bytes = self.store.wal_bytes()
        if self._wal_bytes >= wal_before:  # else the store checkpointed on its own
            self.budget.observe_wal(prepared.size, self._wal_bytes - wal_before)
        if not prepared.checkpoint:
            return False
        merge = not self._behind(prepared)
        checkpointed = self.store.try_checkpoint(merge_row_groups=merge)
        if checkpointed:
            self._merge_deferred = not merge
        self._wal_bytes = self.store.wal_bytes()
        return checkpointed

    def _behind(self, prepared: PreparedBatch) -> bool:
        """The batch filled its limit, or more readings wait than the next batch will take: publishers
        are ahead of the store, and a checkpoint that merges row groups (`Store.try_checkpoint`) would
        hold up readings already waiting. Such checkpoints leave the merge to one taken with time to spare."""
        filled = prepared.plan is not None and prepared.size >= FULL_SHARE * prepared.plan.limit
        return filled or self.queue.depth >= self.budget.limit

    def _merge_row_groups(self) -> None:
        """Idle: the checkpoint that merges the row groups left part-filled while the writer was behind.
        DuckDB skips a checkpoint with nothing in its WAL; then the merge waits for the next checkpoint."""
        if self.store.wal_bytes() and self.store.try_checkpoint():
            self._merge_deferred = False
            self._wal_bytes = self.store.wal_bytes()

    def _teach_budget(self, prepared: PreparedBatch, checkpointed: bool) -> None:
        """Tell the budget what the batch cost. The budget only advises: a fault in it is logged and the
        writer goes on at the limit it had, never stops storing."""
        try:
            if prepared.checkpoint:
                self.budget.observe_checkpoint(prepared.size, self._last_batch_s, checkpointed, self._wal_bytes)
            elif prepared.plan is not None:
                self.budget.observe(prepared.size, self._last_batch_s, prepared.plan.limit)
        except Exception:
            log.exception("the batch budget failed to learn from a batch of %d readings", prepared.size)

    def _store(self, prepared: PreparedBatch) -> tuple[int, int, int]:
        if prepared.validated is None:
            raise ValueError("the batch could not be validated")
        rejections = [rejection for envelope in prepared.envelopes for rejection in envelope.rejections]
        more_waiting = self.queue.depth > 0 or not self._prepared.empty()
        fold = not more_waiting or time.monotonic() - self._last_fold >= FOLD_ROLLUPS_EVERY_S
        result = self.store.ingest(prepared.validated.rows, rejections + prepared.validated.rejections,
                                   fold_rollups=fold)
        if fold:
            self._last_fold = time.monotonic()
        return result.stored, result.duplicates, result.quarantined

    def _fold_rollups(self) -> None:
        try:
            self.store.fold_rollups()
            self._last_fold = time.monotonic()
        except Exception:
            log.exception("could not fold queued rollup deltas; will retry")

    def _commit(self, batch: list[Envelope]) -> tuple[int, int, int]:
        """Store messages on their own, the careful way (the batch decoder belongs to the validator thread)."""
        validated, _, _ = validate_one_by_one(batch, self.rules, self.limits)
        return self._store(PreparedBatch(batch, validated, 0.0))

    def _commit_alone(self, envelope: Envelope) -> tuple[int, int, int]:
        try:
            return self._commit([envelope])
        except Exception as err:
            log.exception("message %s could not be stored; quarantined", envelope.mid)
            readings, refused = envelope.decoded(self.limits)
            quarantined = [
                Rejection(f"store error: {err!r}", json.dumps(reading.fields, default=str)[:65536], reading.source,
                          reading.received_at, None)
                for reading in readings
            ] + refused
            result = self.store.ingest(empty_rows(), quarantined)
            return 0, 0, result.quarantined

    def _record_stats_when_due(self) -> None:
        if time.monotonic() - self._last_stats < STATS_EVERY_S:
            return
        self._last_stats = time.monotonic()
        try:
            self.store.record_ingest_stats(self.metrics.snapshot())
        except Exception:
            log.exception("could not record ingest stats")
