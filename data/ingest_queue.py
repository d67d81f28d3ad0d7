"""The bounded hand-over between the MQTT network thread and the store's writer.

Capacity is counted in readings, not messages, because a gateway's array can
hold thousands. A full queue blocks the producer: paho stops reading the socket,
the broker holds the rest (QoS 1), and memory stays bounded.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from data.payload import PayloadLimits, RawReading, Rejection, decode_message

#: A gathering batch closes once nothing has arrived for this long: the end of a burst is
#: committed at once instead of waiting out the batch's gather time.
QUIET_GAP_S = 0.05


@dataclass
class Envelope:
    """One MQTT message waiting for its batch to be committed before it is acknowledged.

    The listener hands over the raw ``payload`` (with its ``topic``) and leaves
    decoding to the writer, which decodes a whole batch at once; ``readings`` and
    ``rejections`` hold what was decoded already (a refused oversized message).
    """

    mid: int
    qos: int
    generation: int
    readings: list[RawReading]
    rejections: list[Rejection]
    received_at: datetime
    payload: bytes | None = None
    topic: str = ""
    size: int = field(init=False)

    def __post_init__(self) -> None:
        if self.payload is None:
            self.size = max(1, len(self.readings) + len(self.rejections))
        else:  # every reading is a JSON object: an upper bound, counted without decoding
            self.size = max(1, self.payload.count(b"{"))

    def decoded(self, limits: PayloadLimits) -> tuple[list[RawReading], list[Rejection]]:
        """The message's readings and refusals, decoded one by one (the writer's careful path)."""
        if self.payload is None:
            return self.readings, self.rejections
        return decode_message(self.payload, self.topic, self.received_at, limits.max_bytes, limits.max_readings)


class ReadingQueue:
    """A FIFO of envelopes bounded by the number of readings it holds."""

    def __init__(self, capacity_readings: int):
        self.capacity = capacity_readings
        self._items: deque[Envelope] = deque()
        self._size = 0
        self._closed = False
        self._wake_at = 1
        self._cond = threading.Condition()

    @property
    def depth(self) -> int:
        """Readings waiting."""
        return self._size

    def __len__(self) -> int:
        return len(self._items)

    def put(self, envelope: Envelope) -> None:
        """Add an envelope, waiting while the queue is full (an oversize one waits for empty)."""
        self.put_many([envelope])

    def put_many(self, envelopes: list[Envelope]) -> None:
        """Add envelopes in order, each waiting while the queue is full."""
        with self._cond:
            for envelope in envelopes:
                while self._size and self._size + envelope.size > self.capacity and not self._closed:
                    self._cond.notify_all()
                    self._cond.wait(0.5)
                self._items.append(envelope)
                self._size += envelope.size
            if self._size >= self._wake_at:
                self._cond.notify_all()

    def take(self, max_readings: int, max_wait_s: float, idle_timeout_s: float = 0.5,
             quiet_gap_s: float = QUIET_GAP_S) -> list[Envelope]:
        """A batch: waits up to ``idle_timeout_s`` for a first envelope, then lets more gather
        until ``max_readings`` are waiting, ``max_wait_s`` after the first arrived, or
        nothing more has arrived for ``quiet_gap_s``.

        While a batch gathers, producers do not wake the consumer for each envelope
        (thousands of thread switches a second would cost the network thread its time);
        the consumer looks at the queue once per quiet gap instead.
        """
        with self._cond:
            if not self._items:
                self._wake_at = 1
                self._cond.wait(idle_timeout_s)
            if not self._items:
                return []
            deadline = time.monotonic() + max_wait_s
            self._wake_at = max_readings
            while self._size < max_readings and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                waiting = self._size
                if not self._cond.wait(min(remaining, quiet_gap_s)) and self._size == waiting:
                    break
            self._wake_at = 1
            batch: list[Envelope] = []
            taken = 0
            while self._items and (not batch or taken + self._items[0].size <= max_readings):
                envelope = self._items.popleft()
                self._size -= envelope.size
                taken += envelope.size
                batch.append(envelope)
            self._cond.notify_all()
            return batch

    def close(self) -> None:
        """Stop blocking producers and consumers (used at shutdown)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
