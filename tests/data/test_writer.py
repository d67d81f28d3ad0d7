"""The writer pipeline: everything queued is stored and acknowledged in order, and a message that
breaks a commit is isolated and quarantined while its batch neighbours land."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from data.batch_budget import BatchBudget
from data.ingest_queue import Envelope, ReadingQueue
from data.metrics import IngestMetrics
from data.payload import RawReading
from data.store import Store
from data.validation import ValidationRules
from data.writer import IngestWriter
from tests.data.builders import ingest, readings_row_groups, register_series
from tests.fixtures.listening import wait_until

NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)


class FailingStore(Store):
    """A real store whose disk "fails" whenever a batch holds the meter ``poison``."""

    def ingest(self, rows, rejections=(), registered_by="mqtt", fold_rollups=True):
        if (rows["meter_id"] == "poison").any():
            raise OSError("disk error")
        return super().ingest(rows, rejections, registered_by, fold_rollups)


class CheckpointCountingStore(Store):
    """A real store that records each checkpoint asked of it: whether it could merge row groups."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.merge_asked: list[bool] = []

    @property
    def checkpoints(self) -> int:
        return len(self.merge_asked)

    def try_checkpoint(self, merge_row_groups: bool = True) -> bool:
        self.merge_asked.append(merge_row_groups)
        return super().try_checkpoint(merge_row_groups)


def envelope(mid: int, meter_id: str, minute: int) -> Envelope:
    fields = {"meter_id": meter_id, "ts": (NOW - timedelta(minutes=60 - minute)).isoformat(), "quantity": "volume",
              "value": 1000.0 + minute, "unit": "L"}
    return Envelope(mid, 1, 0, [RawReading(fields, "gw", NOW)], [], NOW)


def queued_writer(store: Store, envelopes: list[Envelope], **options) -> tuple[IngestWriter, list[int]]:
    """A writer over a queue that holds ``envelopes``, not started; and the list it acknowledges into."""
    acknowledged: list[int] = []
    queue = ReadingQueue(capacity_readings=10_000)
    for item in envelopes:
        queue.put(item)
    writer = IngestWriter(store, queue, IngestMetrics(), ValidationRules(),
                          lambda batch: acknowledged.extend(e.mid for e in batch), **options)
    return writer, acknowledged


def run_writer(store: Store, envelopes: list[Envelope]) -> list[int]:
    writer, acknowledged = queued_writer(store, envelopes)
    writer.start()
    writer.stop()
    return acknowledged


def test_everything_queued_is_stored_and_acknowledged_in_order_when_the_writer_stops(tmp_path):
    store = Store(tmp_path / "w.duckdb")
    envelopes = [envelope(mid, f"m{mid % 3}", minute=mid) for mid in range(30)]
    assert run_writer(store, envelopes) == list(range(30))
    stored = store.cursor().execute("SELECT count(*) FROM readings").fetchone()[0]
    assert stored == 30


def test_a_message_that_breaks_the_commit_is_quarantined_and_its_neighbours_land(tmp_path):
    store = FailingStore(tmp_path / "w.duckdb")
    envelopes = [envelope(1, "good-a", 1), envelope(2, "poison", 2), envelope(3, "good-b", 3)]
    assert sorted(run_writer(store, envelopes)) == [1, 2, 3]
    cur = store.cursor()
    meters = cur.execute("SELECT meter_id FROM readings ORDER BY meter_id").df()["meter_id"].tolist()
    assert meters == ["good-a", "good-b"]
    quarantined = cur.execute("SELECT reason, payload FROM quarantine").df()
    assert len(quarantined) == 1
    assert quarantined["reason"].iat[0].startswith("store error: OSError('disk error')")
    assert '"poison"' in quarantined["payload"].iat[0]
    assert not pd.isna(quarantined["payload"].iat[0])


def test_the_writer_checkpoints_after_the_batches_its_budget_planned(tmp_path):
    store = CheckpointCountingStore(tmp_path / "w.duckdb")
    store.cursor().execute("SET checkpoint_threshold = '128KiB'")
    envelopes = [envelope(mid, f"m{mid % 50}", minute=mid // 50) for mid in range(3_000)]
    writer, acknowledged = queued_writer(store, envelopes, max_batch_readings=200)
    assert writer.budget.checkpoint_bytes == 128 * 1024
    writer.start()
    writer.stop()
    assert len(acknowledged) == 3_000
    assert store.cursor().execute("SELECT count(*) FROM readings").fetchone()[0] == 3_000
    assert store.checkpoints >= 3
    assert store.wal_bytes() < 128 * 1024


def test_checkpoints_behind_a_backlog_leave_merging_row_groups_to_the_idle_writer(tmp_path):
    store = CheckpointCountingStore(tmp_path / "w.duckdb")
    store.cursor().execute("SET checkpoint_threshold = '128KiB'")
    envelopes = [envelope(mid, f"m{mid % 50}", minute=mid // 50) for mid in range(3_000)]
    writer, acknowledged = queued_writer(store, envelopes, max_batch_readings=200)
    # DuckDB's automatic checkpoint, which merges, out of the way: at this size it would come before the
    # planned ones (it counts a commit's WAL before writing it, and over-estimates it).
    store.cursor().execute("SET checkpoint_threshold = '1GiB'")
    writer.start()
    assert wait_until(lambda: len(acknowledged) == 3_000)
    assert store.checkpoints >= 3
    assert store.merge_asked[:2] == [False, False]
    ingest(store, register_series("m-late", [1.0]))  # something in the WAL for the idle writer's checkpoint
    assert wait_until(lambda: readings_row_groups(store) == 1)
    writer.stop()


def test_a_writer_that_keeps_up_lets_its_checkpoints_merge_row_groups(tmp_path):
    store = CheckpointCountingStore(tmp_path / "w.duckdb")
    store.cursor().execute("SET checkpoint_threshold = '256KiB'")
    writer, acknowledged = queued_writer(store, [], max_batch_readings=2_000)
    writer.start()
    for round_ in range(10):
        for mid in range(round_ * 100, (round_ + 1) * 100):
            writer.queue.put(envelope(mid, f"m{mid % 50}", minute=mid // 50))
        assert wait_until(lambda: len(acknowledged) == (round_ + 1) * 100)
    writer.stop()
    assert len(acknowledged) == 1_000
    assert store.checkpoints >= 2
    assert all(store.merge_asked)


class BrokenBudget(BatchBudget):
    """A budget with a fault in what it learns."""

    def observe(self, readings: int, elapsed_s: float, limit: int) -> None:
        raise ZeroDivisionError("a fault in the budget")


def test_a_fault_in_the_budget_does_not_stop_the_writer(tmp_path):
    store = Store(tmp_path / "w.duckdb")
    envelopes = [envelope(mid, f"m{mid % 20}", minute=mid // 20) for mid in range(600)]
    writer, acknowledged = queued_writer(store, envelopes, max_batch_readings=200)
    writer.budget = BrokenBudget(writer.budget.target_s, 200)
    writer.start()
    writer.stop()
    assert acknowledged == list(range(600))
    assert store.cursor().execute("SELECT count(*) FROM readings").fetchone()[0] == 600
