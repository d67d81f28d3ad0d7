"""The alert lifecycle: events open alerts, people acknowledge, resolve or answer "not a leak".

`raise_alerts` turns a detection event frame into alerts. It is idempotent
over rescans: an event already alerted updates its alert, and a new event of a
pattern that already has an active alert updates that alert rather than
opening a second one. A pattern is a meter, an event kind and the event's
``concern`` (an optional column of the event frame: what the event says, such
as water_loss or operations), so a pump's surge and a sag on the same sensor
are two alerts. Rules set the severity and the score an event needs;
earlier "not a leak" answers suppress the pattern or raise its threshold, and
a suppressed event is still recorded, closed, with the reason. Every change
is written to `alert_history`. Functions take a cursor and never commit: the
caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb
import pandas as pd

from alerts.book import AlertBook
from alerts.feedback import Feedback, feedback_by_pattern, record_feedback
from alerts.rules import load_rules, meter_categories, rule_for
from alerts.schema import ACTIVE_STATES, SEVERITIES, ensure_alert_tables

EVENT_COLUMNS = ("event_id", "meter_id", "zone_id", "kind", "detector", "start", "end", "score",
                 "severity", "explanation", "lost_volume_l", "cost")
OPTIONAL_COLUMNS = ("concern",)
SERVICE_ACTOR = "waterline"
RANK = {s: i for i, s in enumerate(SEVERITIES)}


class AlertStateError(ValueError):
    """An action that the alert's current state does not allow, or an unknown alert."""


@dataclass
class RaiseResult:
    opened: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)
    below_threshold: int = 0


def _check_events(events: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in EVENT_COLUMNS if c not in events.columns]
    if missing:
        raise ValueError(f"event frame lacks columns: {', '.join(missing)}")
    frame = events.reindex(columns=[*EVENT_COLUMNS, *OPTIONAL_COLUMNS])
    frame["start"] = pd.to_datetime(frame["start"])
    frame["end"] = pd.to_datetime(frame["end"]).fillna(frame["start"])
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce").fillna(0.0).clip(0.0, 1.0)
    frame = frame.astype({"event_id": str, "meter_id": str, "kind": str}).astype(object)
    return frame.where(pd.notna(frame), None).sort_values(["start", "event_id"])


def _row(cur: duckdb.DuckDBPyConnection, where: str, params: list) -> dict | None:
    frame = cur.execute(f"SELECT * FROM alerts WHERE {where} ORDER BY updated_at DESC LIMIT 1", params).df()
    if frame.empty:
        return None
    return frame.astype(object).where(frame.notna(), None).iloc[0].to_dict()


def _history(cur: duckdb.DuckDBPyConnection, alert_id: str, at: datetime, actor: str, action: str,
             from_state: str | None, to_state: str | None, note: str | None = None) -> None:
    cur.execute("INSERT INTO alert_history VALUES (?, ?, ?, ?, ?, ?, ?)",
                [alert_id, at, actor, action, from_state, to_state, note])


def _suppression(feedback: Feedback, score: float, min_score: float) -> str | None:
    if feedback.suppress:
        return f"Suppressed: {feedback.reason}; this pattern on this meter no longer opens alerts."
    threshold = feedback.threshold(min_score)
    if score < threshold:
        return (f"Suppressed: score {score:.2f} is below the raised threshold {threshold:.2f} "
                f"(normally {min_score:.2f}) because {feedback.reason}.")
    return None


def _merge(book: AlertBook, alert: dict, event: dict, category: str | None, severity: str, now: datetime) -> None:
    """Fold an event into an alert; a new event or a higher severity is noted in the history. An alert follows its
    meter to the zone and category the register now gives it (`meters set` or `meters load` moved it)."""
    same_event = alert["event_id"] == event["event_id"]
    place = (event["zone_id"], category)
    if place != (alert["zone_id"], alert["category"]):
        book.note(alert["alert_id"], now, SERVICE_ACTOR, "moved", alert["state"], alert["state"],
                  f"its meter is now in {_place(*place)}, was {_place(alert['zone_id'], alert['category'])}")
        book.change(alert, zone_id=event["zone_id"], category=category)
    new_severity = max(alert["severity"], severity, key=lambda s: RANK.get(s, 0))
    if not same_event or new_severity != alert["severity"]:
        note = f"event {event['event_id']}" + ("" if new_severity == alert["severity"] else
                                               f"; severity {alert['severity']} → {new_severity}")
        book.note(alert["alert_id"], now, SERVICE_ACTOR, "updated", alert["state"], alert["state"], note)
    book.change(
        alert, event_id=event["event_id"], severity=new_severity, explanation=event["explanation"],
        concern=alert["concern"] or event["concern"],
        last_event_end=max(alert["last_event_end"], event["end"]),
        event_start=min(alert["event_start"], event["start"]), score=max(alert["score"], event["score"]),
        lost_volume_l=event["lost_volume_l"] if same_event else _greatest(alert["lost_volume_l"], event["lost_volume_l"]),
        cost=event["cost"] if same_event else _greatest(alert["cost"], event["cost"]), updated_at=now,
    )


def _place(zone_id: str | None, category: str | None) -> str:
    return f"zone {zone_id or '(none)'} as {category or '(no category)'}"


def _greatest(a: float | None, b: float | None) -> float | None:
    present = [v for v in (a, b) if v is not None]
    return max(present) if present else None


def raise_alerts(cur: duckdb.DuckDBPyConnection, events: pd.DataFrame, now: datetime) -> RaiseResult:
    """Open, update, reopen or suppress alerts for the events of one scan."""
    ensure_alert_tables(cur)
    result = RaiseResult()
    if events is None or events.empty:
        return result
    frame = _check_events(events)
    rules = load_rules(cur)
    categories = meter_categories(cur, frame["meter_id"])
    feedback = feedback_by_pattern(cur, list(frame["meter_id"]))
    book = AlertBook.load(cur, list(frame["event_id"]), list(frame["meter_id"]))
    for event in frame.to_dict("records"):
        category = categories.get(event["meter_id"])
        rule = rule_for(rules, event["zone_id"], category, event["kind"], event["concern"])
        if event["score"] < rule.min_score:
            result.below_threshold += 1
            continue
        severity = rule.severity or (event["severity"] if event["severity"] in SEVERITIES else "warning")
        alert = book.match(event["event_id"], event["meter_id"], event["kind"], event["concern"])
        if alert is not None and alert["state"] in ACTIVE_STATES:
            _merge(book, alert, event, category, severity, now)
            result.updated.append(alert["alert_id"])
        elif alert is not None and alert["state"] == "resolved":
            if event["end"] > alert["updated_at"]:
                _merge(book, alert, event, category, severity, now)
                book.change(alert, state="open", escalation_level=0, opened_at=now)
                book.note(alert["alert_id"], now, SERVICE_ACTOR, "reopened", "resolved", "open",
                          "the event went on after the alert was resolved")
                result.reopened.append(alert["alert_id"])
        elif alert is not None:  # not a leak: the operator's answer stands for this event
            if event["end"] > alert["last_event_end"]:
                book.change(alert, last_event_end=event["end"])
        else:
            reason = _suppression(feedback.get(event["meter_id"], event["kind"], event["concern"]),
                                  event["score"], rule.min_score)
            state = "not_a_leak" if reason else "open"
            alert = book.open({
                "event_id": event["event_id"], "meter_id": event["meter_id"], "zone_id": event["zone_id"],
                "category": category, "kind": event["kind"], "detector": event["detector"], "severity": severity,
                "state": state, "opened_at": now, "updated_at": now, "event_start": event["start"],
                "last_event_end": event["end"], "score": event["score"], "explanation": event["explanation"],
                "lost_volume_l": event["lost_volume_l"], "cost": event["cost"], "suppressed_reason": reason,
                "concern": event["concern"],
            })
            book.note(alert["alert_id"], now, SERVICE_ACTOR, "suppressed" if reason else "opened", None, state,
                      reason or event["explanation"])
            (result.suppressed if reason else result.opened).append(alert["alert_id"])
    book.save(cur)
    if result.reopened:  # a reopened alert is news again on every channel
        cur.execute("UPDATE notifications SET status = 'reopened' WHERE status <> 'held' AND "
                    "alert_id IN (SELECT unnest(?::VARCHAR[]))", [result.reopened])
    return result


def _transition(cur, alert_id: str, allowed: tuple[str, ...], to_state: str, actor: str,
                note: str | None, now: datetime, action: str) -> dict:
    ensure_alert_tables(cur)
    alert = _row(cur, "alert_id = ?", [alert_id])
    if alert is None:
        raise AlertStateError(f"there is no alert {alert_id!r}")
    if alert["state"] not in allowed:
        raise AlertStateError(f"alert {alert_id} is {alert['state'].replace('_', ' ')}: "
                              f"only {' or '.join(s.replace('_', ' ') for s in allowed)} alerts can be {action}")
    note = (note or "").strip() or None
    by = ", acknowledged_by = ?" if to_state == "acknowledged" else ""
    cur.execute(f"UPDATE alerts SET state = ?, updated_at = ?, note = coalesce(?, note){by} WHERE alert_id = ?",
                [to_state, now, note] + ([actor] if by else []) + [alert_id])
    _history(cur, alert_id, now, actor, to_state, alert["state"], to_state, note)
    return alert


def acknowledge(cur: duckdb.DuckDBPyConnection, alert_id: str, actor: str, now: datetime,
                note: str | None = None) -> None:
    """Someone is on it: stops escalation, keeps the alert active."""
    _transition(cur, alert_id, ("open",), "acknowledged", actor, note, now, "acknowledged")


def resolve(cur: duckdb.DuckDBPyConnection, alert_id: str, actor: str, now: datetime,
            note: str | None = None) -> None:
    """The leak is fixed or the fault cleared."""
    _transition(cur, alert_id, ACTIVE_STATES, "resolved", actor, note, now, "resolved")


def mark_not_a_leak(cur: duckdb.DuckDBPyConnection, alert_id: str, actor: str, now: datetime,
                    note: str | None = None, effect: str = "suppress", factor: float | None = None) -> None:
    """A false alarm: closes the alert and teaches the meter's pattern (suppress or raise threshold)."""
    if effect not in ("suppress", "raise_threshold"):
        raise AlertStateError(f"effect must be 'suppress' or 'raise_threshold', got {effect!r}")
    alert = _transition(cur, alert_id, ("open", "acknowledged", "resolved"), "not_a_leak", actor, note, now,
                        "marked not a leak")
    record_feedback(cur, alert["meter_id"], alert["kind"], alert["concern"], effect, factor, note, alert_id, actor,
                    now)


def escalate(cur: duckdb.DuckDBPyConnection, now: datetime, after_s: float, max_level: int) -> list[tuple[str, int]]:
    """Raise the escalation level of alerts left open (unacknowledged) for every ``after_s`` seconds."""
    ensure_alert_tables(cur)
    if after_s <= 0 or max_level <= 0:
        return []
    rows = cur.execute(
        """SELECT alert_id, escalation_level,
                  least(floor(epoch(?::TIMESTAMP - opened_at) / ?)::INTEGER, ?) AS due
           FROM alerts WHERE state = 'open'""",
        [now, after_s, max_level],
    ).fetchall()
    escalated = []
    for alert_id, level, due in rows:
        if due > level:
            cur.execute("UPDATE alerts SET escalation_level = ?, updated_at = ? WHERE alert_id = ?",
                        [due, now, alert_id])
            _history(cur, alert_id, now, SERVICE_ACTOR, "escalated", "open", "open",
                     f"open for over {due * after_s / 60:.0f} min without acknowledgement: level {due}")
            escalated.append((alert_id, due))
    return escalated


def resolve_cleared(cur: duckdb.DuckDBPyConnection, now: datetime, kinds: Iterable[str],
                   after: timedelta) -> list[str]:
    """Resolve active alerts of conditions that end by themselves (a silent meter reporting again,
    pressure back in its band) once their event has not been seen for ``after``.

    Leaks are left to people: flow that stops may be a repair or a pause. Should the
    same event go on later, `raise_alerts` reopens the alert as it does any resolved one.
    """
    ensure_alert_tables(cur)
    kinds = list(kinds)
    if not kinds or after <= timedelta(0):
        return []
    rows = cur.execute(
        """SELECT alert_id, state, last_event_end FROM alerts
           WHERE state IN (SELECT unnest(?::VARCHAR[])) AND kind IN (SELECT unnest(?::VARCHAR[]))
             AND last_event_end <= ?""",
        [list(ACTIVE_STATES), kinds, now - after]).fetchall()
    for alert_id, state, last_seen in rows:
        cur.execute("UPDATE alerts SET state = 'resolved', updated_at = ? WHERE alert_id = ?", [now, alert_id])
        _history(cur, alert_id, now, SERVICE_ACTOR, "resolved", state, "resolved",
                 f"cleared by itself: not seen since {last_seen:%Y-%m-%d %H:%M} UTC")
    return [alert_id for alert_id, _, _ in rows]
