"""The hand-over queue: bounded by readings, batches gather without waking the writer per message."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

from data.ingest_queue import Envelope, ReadingQueue
from data.payload import RawReading
from data.store import Store
from data.writer import BUSY_BATCH_MESSAGES, GATHER_PER_COMMIT, MAX_GATHER_S, IngestWriter

NOW = datetime(2025, 7, 1, tzinfo=timezone.utc)


def envelope(mid: int, readings: int = 1) -> Envelope:
    raws = [RawReading({"meter_id": "m", "ts": 0, "quantity": "volume", "value": 1.0, "unit": "L"}, "t", NOW)
            for _ in range(readings)]
    return Envelope(mid, 1, 0, raws, [], NOW)


def test_a_batch_is_returned_as_soon_as_enough_readings_wait():
    queue = ReadingQueue(capacity_readings=1000)
    for mid in range(10):
        queue.put(envelope(mid, 10))
    started = time.monotonic()
    batch = queue.take(max_readings=50, max_wait_s=5.0)
    assert time.monotonic() - started < 1.0
    assert [e.mid for e in batch] == [0, 1, 2, 3, 4]
    assert queue.depth == 50


def _take_while_publishing(messages: int, every_s: float, max_wait_s: float) -> tuple[list[Envelope], float]:
    """Take a batch while a producer puts a message every ``every_s``; the batch and how long taking it took."""
    queue = ReadingQueue(capacity_readings=1000)
    queue.put(envelope(0))

    def publish() -> None:
        for mid in range(1, messages):
            time.sleep(every_s)
            queue.put(envelope(mid))

    producer = threading.Thread(target=publish)
    producer.start()
    started = time.monotonic()
    batch = queue.take(max_readings=100, max_wait_s=max_wait_s, quiet_gap_s=0.1)
    waited = time.monotonic() - started
    producer.join()
    return batch, waited


def test_a_small_batch_gathers_for_the_gather_time_while_messages_keep_coming():
    batch, waited = _take_while_publishing(21, every_s=0.02, max_wait_s=0.3)
    assert 0.25 <= waited < 1.0
    assert [e.mid for e in batch] == list(range(len(batch)))
    assert len(batch) >= 10


def test_a_batch_closes_once_messages_stop_coming_instead_of_waiting_out_its_gather_time():
    batch, waited = _take_while_publishing(6, every_s=0.01, max_wait_s=5.0)
    assert 0.1 <= waited < 1.0
    assert [e.mid for e in batch] == [0, 1, 2, 3, 4, 5]


def test_enough_readings_arriving_while_gathering_end_the_wait_early():
    queue = ReadingQueue(capacity_readings=1000)
    queue.put(envelope(0, 10))
    threading.Timer(0.05, queue.put, [envelope(1, 40)]).start()
    started = time.monotonic()
    batch = queue.take(max_readings=50, max_wait_s=5.0, quiet_gap_s=2.0)
    assert time.monotonic() - started < 1.0
    assert sum(e.size for e in batch) == 50


def test_a_full_queue_blocks_the_producer_until_the_writer_takes():
    queue = ReadingQueue(capacity_readings=20)
    queue.put(envelope(0, 20))
    done = threading.Event()
    threading.Thread(target=lambda: (queue.put(envelope(1, 5)), done.set()), daemon=True).start()
    assert not done.wait(0.2)
    assert [e.mid for e in queue.take(max_readings=20, max_wait_s=0.0)] == [0]
    assert done.wait(2.0)


def test_a_frame_larger_than_the_room_left_waits_in_order_for_the_writer():
    queue = ReadingQueue(capacity_readings=20)
    done = threading.Event()
    frame = [envelope(mid, 5) for mid in range(6)]  # 30 readings for a queue of 20
    threading.Thread(target=lambda: (queue.put_many(frame), done.set()), daemon=True).start()
    assert not done.wait(0.2)
    assert queue.depth == 20
    first = queue.take(max_readings=20, max_wait_s=0.0)
    assert done.wait(2.0)
    assert [e.mid for e in first + queue.take(max_readings=20, max_wait_s=0.0)] == [0, 1, 2, 3, 4, 5]


def test_the_writer_gathers_longer_only_while_messages_come_by_the_hundreds():
    writer = IngestWriter(store=Store(":memory:"), queue=ReadingQueue(10), metrics=None, rules=None,
                          acknowledge=lambda batch: None, max_wait_ms=100)
    writer._last_batch_s = 0.15
    writer._last_batch_messages = 10
    assert writer._gather_s() == 0.1
    writer._last_batch_messages = BUSY_BATCH_MESSAGES
    assert writer._gather_s() == GATHER_PER_COMMIT * 0.15
    writer._last_batch_s = 5.0
    assert writer._gather_s() == MAX_GATHER_S
