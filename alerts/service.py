"""The alert service: scan, raise, escalate and notify, once or on a background thread.

`AlertService(store, detect, settings)` is given the detector as a callable
(`detect(cursor, now) -> event frame`, e.g. `detection.scan.scan_recent`), so
alerts never import detection and tests can inject any events. `run_once(now)`
is one full cycle; `start()` repeats it every `alert_interval_s` on a daemon
thread until `stop()`, and `wake()` runs the next cycle at once (streaming
detection calls it when a scan saved events, so an alert does not wait out the
interval). A failing detector or channel is logged and the loop
goes on: one bad scan must not silence the next.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import duckdb
import pandas as pd

from alerts.lifecycle import RaiseResult, escalate, raise_alerts, resolve_cleared
from alerts.notify.channels import Channel, channels_from_settings
from alerts.notify.dispatch import (
    DeliveryResult,
    held_results,
    plan_deliveries,
    record_deliveries,
    send,
)
from alerts.notify.policy import NotifyPolicy, policy_from_settings
from alerts.writes import alert_transaction
from dashapp.settings import Settings
from data.queries.clock import data_now
from data.store import Store

log = logging.getLogger("waterline.alerts")

Detect = Callable[[duckdb.DuckDBPyConnection, datetime], pd.DataFrame]


@dataclass
class CycleReport:
    now: datetime
    events: int = 0
    raised: RaiseResult = field(default_factory=RaiseResult)
    escalated: list[tuple[str, int]] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)
    deliveries: list[DeliveryResult] = field(default_factory=list)
    error: str | None = None

    @property
    def sent(self) -> int:
        return sum(r.status == "sent" for r in self.deliveries)


class AlertService:
    """Turns the detector's events into alerts and notifications, on demand or on a timer."""

    def __init__(self, store: Store, detect: Detect, settings: Settings,
                 channels: list[Channel] | None = None, policy: NotifyPolicy | None = None,
                 clock: Callable[[duckdb.DuckDBPyConnection], datetime] = data_now) -> None:
        self.store = store
        self.detect = detect
        self.settings = settings
        self.channels = channels_from_settings(settings) if channels is None else channels
        self.policy = policy_from_settings(settings) if policy is None else policy
        self.clock = clock
        self.last_report: CycleReport | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, now: datetime | None = None) -> CycleReport:
        """One cycle: detect, raise alerts, escalate, then notify outside the transaction."""
        cur = self.store.cursor()
        try:
            now = now or self.clock(cur)
            report = CycleReport(now)
            events = self.detect(cur, now)
        finally:
            cur.close()
        report.events = 0 if events is None else len(events)
        s = self.settings
        with alert_transaction(self.store) as wcur:
            report.raised = raise_alerts(wcur, events, now)
            report.cleared = resolve_cleared(wcur, now, _kinds(s.alert_clear_kinds),
                                            timedelta(minutes=s.alert_clear_after_min))
            report.escalated = escalate(wcur, now, s.alert_escalate_after_min * 60, s.alert_max_escalation)
            plan = plan_deliveries(wcur, self.channels, self.policy, now)
        report.deliveries = send(plan.due) + held_results(plan)
        with alert_transaction(self.store) as wcur:
            record_deliveries(wcur, report.deliveries, now)
        self.last_report = report
        return report

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                report = self.run_once()
                if report.raised.opened or report.escalated or report.cleared or report.deliveries:
                    log.info("alerts: %d events, %d opened, %d escalated, %d cleared, %d notifications sent",
                             report.events, len(report.raised.opened), len(report.escalated), len(report.cleared),
                             report.sent)
            except Exception as error:
                log.exception("alert cycle failed")
                self.last_report = CycleReport(datetime.now(UTC).replace(tzinfo=None), error=str(error))
            self._wake.wait(self.settings.alert_interval_s)
            self._wake.clear()

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="waterline-alerts", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run the next cycle now instead of at the end of the interval."""
        self._wake.set()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None


def _kinds(text: str) -> list[str]:
    return [kind.strip() for kind in text.split(",") if kind.strip()]
