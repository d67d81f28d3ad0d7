"""Finding the notifications that are due, sending them, and logging each delivery.

The `notifications` table is both the delivery log and the de-duplication:
one row per alert, channel, target and escalation level. A row that is `sent`
is never sent again; `failed` is tried again on later scans until the retry
budget is spent; `held` (quiet hours) goes out once the quiet period ends.
Planning and recording take a cursor; sending happens in between, outside any
transaction, so a slow SMTP server never holds the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from alerts.notify.channels import Channel, DeliveryError
from alerts.notify.message import AlertMessage
from alerts.notify.policy import NotifyPolicy
from alerts.schema import ensure_alert_tables


@dataclass(frozen=True)
class Delivery:
    channel: Channel
    target: str
    message: AlertMessage

    @property
    def key(self) -> tuple[str, str, str, int]:
        return self.message.alert_id, self.channel.name, self.target, self.message.escalation_level


@dataclass(frozen=True)
class DeliveryResult:
    delivery: Delivery
    status: str  # sent | failed | held
    attempts: int
    error: str | None = None


@dataclass(frozen=True)
class Plan:
    due: list[Delivery]
    held: list[Delivery]


def plan_deliveries(cur: duckdb.DuckDBPyConnection, channels: list[Channel], policy: NotifyPolicy,
                    now: datetime) -> Plan:
    """Deliveries owed for open alerts, less those sent, given up on, or held by quiet hours."""
    ensure_alert_tables(cur)
    alerts = cur.execute("SELECT * FROM alerts WHERE state = 'open' ORDER BY opened_at").df()
    logged = {(a, c, t, lvl): (status, attempts) for a, c, t, lvl, status, attempts in cur.execute(
        """SELECT alert_id, channel, target, escalation_level, status, attempts FROM notifications
           WHERE alert_id IN (SELECT alert_id FROM alerts WHERE state = 'open')""").fetchall()}
    due, held = [], []
    quiet_now = policy.is_quiet(now)
    for row in alerts.to_dict("records"):
        message = AlertMessage.from_row(row)
        if not policy.wants(message.severity):
            continue
        for channel in channels:
            for target in channel.targets(message.escalation_level):
                delivery = Delivery(channel, target, message)
                status, attempts = logged.get(delivery.key, (None, 0))
                if status == "sent" or (status == "failed" and attempts >= policy.max_attempts):
                    continue
                if quiet_now and message.severity != "critical":
                    if status != "held":
                        held.append(delivery)
                    continue
                due.append(delivery)
    return Plan(due, held)


def send(deliveries: list[Delivery]) -> list[DeliveryResult]:
    """Deliver each; a failure is recorded with its reason, never raised."""
    results = []
    for delivery in deliveries:
        try:
            attempts = delivery.channel.deliver(delivery.message, delivery.target)
            results.append(DeliveryResult(delivery, "sent", attempts))
        except DeliveryError as error:
            results.append(DeliveryResult(delivery, "failed", error.attempts, str(error)))
    return results


def record_deliveries(cur: duckdb.DuckDBPyConnection, results: list[DeliveryResult], now: datetime) -> None:
    ensure_alert_tables(cur)
    for result in results:
        alert_id, channel, target, level = result.delivery.key
        cur.execute(
            """INSERT INTO notifications VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (alert_id, channel, target, escalation_level) DO UPDATE SET
                   status = excluded.status, attempts = notifications.attempts + excluded.attempts,
                   error = excluded.error, updated_at = excluded.updated_at""",
            [alert_id, channel, target, level, result.status, result.attempts, result.error, now, now],
        )


def held_results(plan: Plan) -> list[DeliveryResult]:
    return [DeliveryResult(d, "held", 0, "quiet hours") for d in plan.held]


def notify_due(cur: duckdb.DuckDBPyConnection, channels: list[Channel], policy: NotifyPolicy,
               now: datetime) -> list[DeliveryResult]:
    """Plan, send and record in one go (a single-threaded caller, or tests)."""
    plan = plan_deliveries(cur, channels, policy, now)
    results = send(plan.due) + held_results(plan)
    record_deliveries(cur, results, now)
    return results
