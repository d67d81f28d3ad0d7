"""Alert rules: the severity and score threshold an event gets, per zone, meter category, kind and concern.

A rule matches on each of zone, category, kind and concern either exactly or
with '*'; the most specific match wins (exact kind counts most, then concern,
then category, then zone). Rules are what make the zone status of the Overview
mean something local: a burst on a hospital's zone can be critical while a
dripping tap on a garden meter stays informational, and a pump's surge above the
pressure band (concern ``operations``) can stay quieter than a sag below it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pandas as pd

from alerts.schema import RULE_COLUMNS, SEVERITIES
from detection.events import CONCERNS, KINDS, concerns_of_kind

ANY = "*"


@dataclass(frozen=True)
class Rule:
    zone_id: str = ANY
    category: str = ANY
    kind: str = ANY
    concern: str = ANY
    severity: str | None = None
    min_score: float = 0.0

    def matches(self, zone_id: str | None, category: str | None, kind: str, concern: str | None = None) -> bool:
        return (self.zone_id in (ANY, zone_id) and self.category in (ANY, category)
                and self.kind in (ANY, kind) and self.concern in (ANY, concern))

    @property
    def specificity(self) -> tuple[bool, bool, bool, bool]:
        return self.kind != ANY, self.concern != ANY, self.category != ANY, self.zone_id != ANY

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.zone_id, self.category, self.kind, self.concern

    def overlaps(self, other: Rule) -> bool:
        """Whether some event could match both rules."""
        return all(ANY in (a, b) or a == b for a, b in zip(self.key, other.key))


def describe(rule: Rule) -> str:
    """A rule in one line of words: 'zone Z1 · inlet meters · burst · any concern'."""
    return " · ".join([f"zone {rule.zone_id}" if rule.zone_id != ANY else "any zone",
                       f"{rule.category} meters" if rule.category != ANY else "any meter",
                       rule.kind.replace("_", " ") if rule.kind != ANY else "any kind",
                       rule.concern.replace("_", " ") if rule.concern != ANY else "any concern"])


def exceptions_to(rules: list[Rule], rule: Rule) -> list[Rule]:
    """The rules that win over ``rule`` for some of the events it matches (more specific, and overlapping)."""
    return [r for r in rules if r.key != rule.key and r.overlaps(rule) and r.specificity > rule.specificity]


FALLBACK = Rule()
CATCH_ALL = FALLBACK.key


def load_rules(cur: duckdb.DuckDBPyConnection) -> list[Rule]:
    rows = cur.execute(f"SELECT {RULE_COLUMNS} FROM alert_rules").fetchall()
    return [Rule(*row) for row in rows]


def rule_for(rules: list[Rule], zone_id: str | None, category: str | None, kind: str,
             concern: str | None = None) -> Rule:
    """The most specific rule matching the event's zone, meter category, kind and concern."""
    matching = [r for r in rules if r.matches(zone_id, category, kind, concern)]
    return max(matching, key=lambda r: r.specificity, default=FALLBACK)


def checked_rule(zone_id: str | None = ANY, category: str | None = ANY, kind: str | None = ANY,
                 concern: str | None = ANY, severity: str | None = None, min_score: object = 0.0) -> Rule:
    """A rule from what a person typed or chose, or ValueError saying what is wrong with it."""
    zone_id, category, kind, concern = ((str(v).strip() or ANY) if v is not None else ANY
                                        for v in (zone_id, category, kind, concern))
    severity = (severity or "").strip().lower() or None
    if severity is not None and severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)} (or none to keep the detector's), "
                         f"got {severity!r}")
    try:
        score = float(min_score.strip().replace(",", ".") if isinstance(min_score, str) else min_score)
    except (TypeError, ValueError):
        raise ValueError("the score that opens an alert (min_score) must be a number between 0 and 1, "
                         f"got {min_score!r}") from None
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"the score that opens an alert (min_score) must be between 0 and 1, got {min_score!r}")
    if kind != ANY and kind not in KINDS:
        raise ValueError(f"kind must be '*' or one of {', '.join(KINDS)}, got {kind!r}")
    if concern != ANY and concern not in CONCERNS:
        raise ValueError(f"concern must be '*' or one of {', '.join(CONCERNS)}, got {concern!r}")
    if kind != ANY and concern != ANY and concern not in concerns_of_kind(kind):
        raise ValueError(f"a {kind.replace('_', ' ')} event is never about {concern.replace('_', ' ')} "
                         f"(it can be: {', '.join(c.replace('_', ' ') for c in concerns_of_kind(kind))}), "
                         "so this rule would match nothing")
    return Rule(zone_id, category, kind, concern, severity, score)


def save_rule(cur: duckdb.DuckDBPyConnection, zone_id: str = ANY, category: str = ANY, kind: str = ANY,
              severity: str | None = None, min_score: float = 0.0, concern: str = ANY, actor: str | None = None,
              now: datetime | None = None) -> Rule:
    """Add or replace the rule for one (zone, category, kind, concern); bad values raise ValueError."""
    rule = checked_rule(zone_id, category, kind, concern, severity, min_score)
    cur.execute(
        f"""INSERT INTO alert_rules ({RULE_COLUMNS}, changed_by, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (zone_id, category, kind, concern) DO UPDATE SET severity = excluded.severity,
                min_score = excluded.min_score, changed_by = excluded.changed_by, changed_at = excluded.changed_at""",
        [*rule.key, rule.severity, rule.min_score, actor, now or datetime.now(UTC).replace(tzinfo=None)],
    )
    return rule


def delete_rule(cur: duckdb.DuckDBPyConnection, zone_id: str = ANY, category: str = ANY, kind: str = ANY,
                concern: str = ANY) -> bool:
    """Remove one rule; False when there was none. The catch-all rule can be changed, not removed."""
    key = tuple((v or ANY) for v in (zone_id, category, kind, concern))
    if key == CATCH_ALL:
        raise ValueError("the catch-all rule (* * * *) gives every event without a closer rule its threshold; "
                         "change its severity or score instead of removing it")
    return bool(cur.execute("""DELETE FROM alert_rules WHERE zone_id = ? AND category = ? AND kind = ? AND concern = ?
                               RETURNING kind""", list(key)).fetchall())


def meter_categories(cur: duckdb.DuckDBPyConnection, meter_ids: pd.Series) -> dict[str, str | None]:
    """Each event's meter category; zone-level events ('ZONE:<id>') have the category 'zone'."""
    ids = sorted({m for m in meter_ids.astype(str) if not m.startswith("ZONE:")})
    found = dict(cur.execute(
        "SELECT meter_id, category FROM meters WHERE meter_id IN (SELECT unnest(?::VARCHAR[]))", [ids]
    ).fetchall()) if ids else {}
    return {m: ("zone" if m.startswith("ZONE:") else found.get(m)) for m in set(meter_ids.astype(str))}
