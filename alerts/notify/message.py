"""An alert as a notification: a subject and text for people, a JSON document for machines."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

FIELDS = ("alert_id", "state", "severity", "kind", "meter_id", "zone_id", "event_start", "last_event_end",
          "score", "explanation", "lost_volume_l", "cost", "escalation_level", "concern")


@dataclass(frozen=True)
class AlertMessage:
    alert_id: str
    state: str
    severity: str
    kind: str
    meter_id: str
    zone_id: str | None
    event_start: datetime
    last_event_end: datetime
    score: float
    explanation: str | None
    lost_volume_l: float | None
    cost: float | None
    escalation_level: int
    concern: str | None  # water_loss, operations, instrument, reporting, anomaly (None: not said)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AlertMessage:
        values = {}
        for name in FIELDS:
            value = row.get(name)
            if isinstance(value, float) and math.isnan(value):
                value = None
            if isinstance(value, pd.Timestamp):
                value = value.to_pydatetime()
            values[name] = value
        return cls(**values)

    @property
    def what(self) -> str:
        return self.kind.replace("_", " ")

    @property
    def subject(self) -> str:
        escalated = f" (escalated, level {self.escalation_level})" if self.escalation_level else ""
        return f"[Waterline {self.severity.upper()}] {self.what.capitalize()} at {self.meter_id}" \
               f"{f' in zone {self.zone_id}' if self.zone_id else ''}{escalated}"

    @property
    def text(self) -> str:
        lines = [
            self.subject, "",
            self.explanation or "No explanation was given by the detector.", "",
            *([f"Concern: {self.concern.replace('_', ' ')}"] if self.concern else []),
            f"Since: {self.event_start:%Y-%m-%d %H:%M} UTC, last seen {self.last_event_end:%Y-%m-%d %H:%M} UTC",
            f"Score: {self.score:.2f}",
        ]
        if self.lost_volume_l is not None:
            lines.append(f"Estimated loss: {self.lost_volume_l:,.0f} L"
                         + (f", cost {self.cost:,.2f}" if self.cost is not None else ""))
        lines += ["", f"Alert {self.alert_id} is {self.state}. Acknowledge it on the Leaks & alerts page."]
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        document = {name: getattr(self, name) for name in FIELDS}
        for name in ("event_start", "last_event_end"):
            document[name] = document[name].isoformat() + "Z" if document[name] else None
        return document

    def render(self, template: str) -> str:
        """A short text from a ``str.format`` template over the alert's fields (SMS)."""
        values = {name: getattr(self, name) for name in FIELDS}
        values["kind"] = self.what
        values["zone_id"] = self.zone_id or "-"
        values["concern"] = (self.concern or "-").replace("_", " ")
        return template.format(**values)
