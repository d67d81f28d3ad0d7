"""Operators' "not a leak" answers and what they do to the next alert of the same pattern.

An answer is kept per meter and event kind. Its effect is either `suppress`
(the same pattern on that meter never opens an alert again; it is recorded as
suppressed, with the reason) or `raise_threshold` (the score an event needs is
multiplied by a factor, so only a clearly worse event gets through).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

EFFECTS = ("suppress", "raise_threshold")
DEFAULT_FACTOR = 1.5
MAX_THRESHOLD = 0.99


@dataclass(frozen=True)
class Feedback:
    """The combined effect of every answer on one meter and kind."""

    suppress: bool
    factor: float
    reason: str  # plain words for the page: who said what, when

    def threshold(self, min_score: float) -> float:
        if self.factor == 1.0:
            return min_score
        return min(max(min_score, 0.1) * self.factor, MAX_THRESHOLD)


NO_FEEDBACK = Feedback(False, 1.0, "")


def _combine(meter_id: str, kind: str, rows: list[tuple]) -> Feedback:
    """Answers (effect, factor, reason, actor, created_at), oldest first, as one effect."""
    if not rows:
        return NO_FEEDBACK
    factor = 1.0
    for effect, f, *_ in rows:
        if effect == "raise_threshold":
            factor *= f or DEFAULT_FACTOR
    _, _, reason, actor, created_at = rows[-1]
    said = f"{actor or 'an operator'} marked {kind.replace('_', ' ')} on {meter_id} as not a leak " \
           f"on {created_at:%Y-%m-%d %H:%M} UTC" + (f" ({reason})" if reason else "")
    return Feedback(any(r[0] == "suppress" for r in rows), factor, said)


def feedback_by_pattern(cur: duckdb.DuckDBPyConnection, meter_ids: list[str]) -> dict[tuple[str, str], Feedback]:
    """Every meter-and-kind pattern of ``meter_ids`` that has "not a leak" answers, with their effect."""
    rows = cur.execute(
        """SELECT meter_id, kind, effect, factor, reason, actor, created_at FROM alert_feedback
           WHERE meter_id IN (SELECT unnest(?::VARCHAR[])) AND verdict = 'not_a_leak'
           ORDER BY created_at""",
        [sorted(set(meter_ids))],
    ).fetchall()
    grouped: dict[tuple[str, str], list[tuple]] = {}
    for meter_id, kind, *answer in rows:
        grouped.setdefault((meter_id, kind), []).append(tuple(answer))
    return {key: _combine(*key, answers) for key, answers in grouped.items()}


def feedback_for(cur: duckdb.DuckDBPyConnection, meter_id: str, kind: str) -> Feedback:
    """What earlier "not a leak" answers say about a new event on ``meter_id`` of ``kind``."""
    return feedback_by_pattern(cur, [meter_id]).get((meter_id, kind), NO_FEEDBACK)


def record_feedback(cur: duckdb.DuckDBPyConnection, meter_id: str, kind: str, effect: str,
                    factor: float | None, reason: str | None, alert_id: str | None, actor: str,
                    now: datetime) -> None:
    if effect not in EFFECTS:
        raise ValueError(f"effect must be one of {', '.join(EFFECTS)}, got {effect!r}")
    if effect == "raise_threshold" and not (factor or DEFAULT_FACTOR) > 1.0:
        raise ValueError(f"a raised threshold needs a factor above 1, got {factor!r}")
    cur.execute(
        "INSERT INTO alert_feedback VALUES (?, ?, 'not_a_leak', ?, ?, ?, ?, ?, ?)",
        [meter_id, kind, effect, (factor or DEFAULT_FACTOR) if effect == "raise_threshold" else None,
         reason, alert_id, actor, now],
    )
