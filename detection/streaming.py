"""Streaming detection: every so often, scan the last hours and save what was found.

`DetectionLoop` is a thread that the serving process starts beside the
listener. Each tick anchors "now" to the data (`data_now`: a simulated or
replayed store lives in the past), runs `scan_recent`, and saves the events
through its own cursor into `detected_events` (a table nobody else writes, so
it never conflicts with the ingest writer). ``on_saved`` is called after a
tick that saved events: the alert cycle, which reads them from the store, runs
then rather than at the end of its own interval. With ``confirm``, a z-score or
isolation-forest event is saved only when the other of the two confirms it, as
`detect` writes by default (`statistical.confirmed`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import pandas as pd

from data.queries.clock import data_now
from data.store import Store
from detection.events import Tariff
from detection.events_store import save_events
from detection.scan import DETECTORS, scan_recent
from detection.statistical import confirmed

log = logging.getLogger(__name__)


class DetectionLoop(threading.Thread):
    """Scan the store every ``every`` and save events; `tick` runs one scan (tests call it directly).

    With ``catch_up``, the first scan runs at once and looks back that far: what
    arrived while nothing was scanning (a restart, a backfill) is not missed.
    """

    def __init__(self, store: Store, every: timedelta = timedelta(minutes=1),
                 lookback: timedelta = timedelta(hours=6), tariff: Tariff = Tariff(), training_days: int = 28,
                 on_saved: Callable[[], None] | None = None, detectors: Iterable[str] = DETECTORS,
                 catch_up: timedelta | None = None, confirm: bool = False):
        super().__init__(name="waterline-detection", daemon=True)
        self.store, self.every, self.lookback, self.catch_up = store, every, lookback, catch_up
        self.tariff, self.training_days, self.on_saved = tariff, training_days, on_saved
        self.detectors, self.confirm = tuple(detectors), confirm
        self._stopping = threading.Event()

    def tick(self, wall_clock: datetime | None = None, lookback: timedelta | None = None) -> pd.DataFrame:
        """One scan: the events with evidence in the lookback before the data's 'now', saved."""
        cur = self.store.cursor()
        try:
            now = data_now(cur, wall_clock=wall_clock)
            events = scan_recent(cur, now, lookback or self.lookback, tariff=self.tariff,
                                 training_days=self.training_days,
                                 detectors=self.detectors)
            if self.confirm:
                events = confirmed(events)
            save_events(cur, events, detected_at=now)
        finally:
            cur.close()
        if self.on_saved is not None and not events.empty:
            self.on_saved()
        return events

    def run(self) -> None:
        if self.catch_up is not None:
            self._scan(max(self.lookback, self.catch_up))
        while not self._stopping.wait(self.every.total_seconds()):
            self._scan(self.lookback)

    def _scan(self, lookback: timedelta) -> None:
        try:
            events = self.tick(lookback=lookback)
            if not events.empty:
                log.info("detection: %d events with evidence in the last %s", len(events), lookback)
        except Exception:  # a failed scan must not end the loop; the next tick tries again
            log.exception("detection scan failed")

    def stop(self) -> None:
        self._stopping.set()
