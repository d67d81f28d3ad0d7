"""The alerts one scan can touch, held in memory and written back in three bulk statements.

A scan brings tens to hundreds of events; matching each against the store
with its own queries and updates costs tens of milliseconds per event in
DuckDB. The book loads every alert an event of the scan could match (same
event id, or an active alert on the same meter), lets the lifecycle decide in
Python, and writes the new alerts, the changed alerts and the history lines
back at once.

An active alert stands for one meter, kind and concern; one from before alerts
kept a concern (NULL) stands for any concern of its kind until an event gives it one.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import duckdb
import pandas as pd

from alerts.schema import ACTIVE_STATES

COLUMNS = ["alert_id", "event_id", "meter_id", "zone_id", "category", "kind", "detector", "severity", "state",
           "opened_at", "updated_at", "event_start", "last_event_end", "score", "explanation", "lost_volume_l",
           "cost", "acknowledged_by", "note", "escalation_level", "suppressed_reason", "concern"]
TIMES = ["opened_at", "updated_at", "event_start", "last_event_end"]
NUMBERS = ["score", "lost_volume_l", "cost"]
UPDATABLE = [c for c in COLUMNS if c not in ("alert_id", "meter_id", "kind")]


class AlertBook:
    def __init__(self, alerts: list[dict]) -> None:
        self.alerts = {a["alert_id"]: a for a in alerts}
        self.new: set[str] = set()
        self.changed: set[str] = set()
        self.history: list[tuple] = []
        self._by_event: dict[str, str] = {}
        self._active: dict[tuple[str, str, str | None], str] = {}
        self._pattern_of: dict[str, tuple[str, str, str | None]] = {}
        for alert in sorted(alerts, key=lambda a: a["updated_at"]):
            self._index(alert)

    @classmethod
    def load(cls, cur: duckdb.DuckDBPyConnection, event_ids: list[str], meter_ids: list[str]) -> AlertBook:
        frame = cur.execute(
            f"""SELECT {', '.join(COLUMNS)} FROM alerts
                WHERE event_id IN (SELECT unnest(?::VARCHAR[]))
                   OR (state IN ('open', 'acknowledged') AND meter_id IN (SELECT unnest(?::VARCHAR[])))""",
            [sorted(set(event_ids)), sorted(set(meter_ids))]).df()
        return cls(frame.astype(object).where(frame.notna(), None).to_dict("records"))

    def _index(self, alert: dict) -> None:
        self._by_event[alert["event_id"]] = alert["alert_id"]
        was = self._pattern_of.pop(alert["alert_id"], None)
        if was is not None and self._active.get(was) == alert["alert_id"]:
            del self._active[was]
        if alert["state"] in ACTIVE_STATES:
            pattern = (alert["meter_id"], alert["kind"], alert["concern"])
            self._active[pattern] = alert["alert_id"]
            self._pattern_of[alert["alert_id"]] = pattern

    def match(self, event_id: str, meter_id: str, kind: str, concern: str | None) -> dict | None:
        """The alert of this event, else the active alert of the same meter, kind and concern (or of no concern)."""
        alert_id = (self._by_event.get(event_id) or self._active.get((meter_id, kind, concern))
                    or self._active.get((meter_id, kind, None)))
        return self.alerts.get(alert_id) if alert_id else None

    def open(self, values: dict) -> dict:
        alert = {c: None for c in COLUMNS} | values | {"alert_id": f"AL-{uuid.uuid4().hex[:10]}",
                                                       "escalation_level": 0}
        self.alerts[alert["alert_id"]] = alert
        self.new.add(alert["alert_id"])
        self._index(alert)
        return alert

    def change(self, alert: dict, **values) -> None:
        alert.update(values)
        self.changed.add(alert["alert_id"])
        self._index(alert)

    def note(self, alert_id: str, at: datetime, actor: str, action: str, from_state: str | None,
             to_state: str | None, note: str | None) -> None:
        self.history.append((alert_id, at, actor, action, from_state, to_state, note))

    def _frame(self, ids: set[str]) -> pd.DataFrame:
        frame = pd.DataFrame([self.alerts[i] for i in sorted(ids)], columns=COLUMNS)
        for column in TIMES:
            frame[column] = pd.to_datetime(frame[column])
        for column in NUMBERS:
            frame[column] = pd.to_numeric(frame[column]).astype("float64")
        frame["escalation_level"] = frame["escalation_level"].astype("int32")
        return frame

    def save(self, cur: duckdb.DuckDBPyConnection) -> None:
        if self.new:
            cur.register("book_new", self._frame(self.new))
            cur.execute("INSERT INTO alerts BY NAME SELECT * FROM book_new")
            cur.unregister("book_new")
        if self.changed - self.new:
            cur.register("book_changed", self._frame(self.changed - self.new))
            assignments = ", ".join(f"{c} = u.{c}" for c in UPDATABLE)
            cur.execute(f"UPDATE alerts SET {assignments} FROM book_changed u WHERE alerts.alert_id = u.alert_id")
            cur.unregister("book_changed")
        if self.history:
            history = pd.DataFrame(self.history, columns=["alert_id", "changed_at", "actor", "action",
                                                          "from_state", "to_state", "note"])
            history["changed_at"] = pd.to_datetime(history["changed_at"])
            cur.register("book_history", history)
            cur.execute("INSERT INTO alert_history BY NAME SELECT * FROM book_history")
            cur.unregister("book_history")
