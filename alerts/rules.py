"""Alert rules: the severity and score threshold an event gets, per zone, meter category and kind.

A rule matches on each of zone, category and kind either exactly or with '*';
the most specific match wins (exact kind counts most, then category, then
zone). Rules are what make the zone status of the Overview mean something
local: a burst on a hospital's zone can be critical while a dripping tap on a
garden meter stays informational.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from alerts.schema import SEVERITIES


@dataclass(frozen=True)
class Rule:
    zone_id: str
    category: str
    kind: str
    severity: str | None
    min_score: float

    def matches(self, zone_id: str | None, category: str | None, kind: str) -> bool:
        return (self.zone_id in ("*", zone_id) and self.category in ("*", category)
                and self.kind in ("*", kind))

    @property
    def specificity(self) -> tuple[bool, bool, bool]:
        return self.kind != "*", self.category != "*", self.zone_id != "*"


FALLBACK = Rule("*", "*", "*", None, 0.0)


def load_rules(cur: duckdb.DuckDBPyConnection) -> list[Rule]:
    rows = cur.execute("SELECT zone_id, category, kind, severity, min_score FROM alert_rules").fetchall()
    return [Rule(*row) for row in rows]


def rule_for(rules: list[Rule], zone_id: str | None, category: str | None, kind: str) -> Rule:
    """The most specific rule matching the event's zone, meter category and kind."""
    matching = [r for r in rules if r.matches(zone_id, category, kind)]
    return max(matching, key=lambda r: r.specificity, default=FALLBACK)


def save_rule(cur: duckdb.DuckDBPyConnection, zone_id: str = "*", category: str = "*", kind: str = "*",
              severity: str | None = None, min_score: float = 0.0) -> Rule:
    """Add or replace the rule for one (zone, category, kind); bad values raise ValueError."""
    if severity is not None and severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    if not 0.0 <= float(min_score) <= 1.0:
        raise ValueError(f"min_score must be between 0 and 1, got {min_score!r}")
    cur.execute(
        """INSERT INTO alert_rules VALUES (?, ?, ?, ?, ?) ON CONFLICT (zone_id, category, kind)
           DO UPDATE SET severity = excluded.severity, min_score = excluded.min_score""",
        [zone_id or "*", category or "*", kind or "*", severity, float(min_score)],
    )
    return Rule(zone_id or "*", category or "*", kind or "*", severity, float(min_score))


def meter_categories(cur: duckdb.DuckDBPyConnection, meter_ids: pd.Series) -> dict[str, str | None]:
    """Each event's meter category; zone-level events ('ZONE:<id>') have the category 'zone'."""
    ids = sorted({m for m in meter_ids.astype(str) if not m.startswith("ZONE:")})
    found = dict(cur.execute(
        "SELECT meter_id, category FROM meters WHERE meter_id IN (SELECT unnest(?::VARCHAR[]))", [ids]
    ).fetchall()) if ids else {}
    return {m: ("zone" if m.startswith("ZONE:") else found.get(m)) for m in set(meter_ids.astype(str))}
