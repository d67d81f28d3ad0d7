"""Operators' "not a leak" answers and what they do to the next alert of the same pattern.

An answer is kept per meter, event kind and concern (what the event says: a pressure
above its band is a pump at work, below it water may be leaving; "not a leak" on
the first must not silence the second). Its effect is either `suppress` (the same
pattern on that meter never opens an alert again; it is recorded as suppressed,
with the reason) or `raise_threshold` (the score an event needs is multiplied by a
factor, so only a clearly worse event gets through). An answer given before alerts
kept a concern has none, and stands for every concern of its kind, as it did then.
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
    """Answers (concern, effect, factor, reason, actor, created_at), oldest first, as one effect."""
    if not rows:
        return NO_FEEDBACK
    factor = 1.0
    for _, effect, f, *_ in rows:
        if effect == "raise_threshold":
            factor *= f or DEFAULT_FACTOR
    concern, _, _, reason, actor, created_at = rows[-1]
    what = kind.replace("_", " ") + (f" ({concern.replace('_', ' ')})" if concern else "")
    said = f"{actor or 'an operator'} marked {what} on {meter_id} as not a leak " \
           f"on {created_at:%Y-%m-%d %H:%M} UTC" + (f" ({reason})" if reason else "")
    return Feedback(any(r[1] == "suppress" for r in rows), factor, said)


class FeedbackBook:
    """The "not a leak" answers of some meters, to look up per pattern."""

    def __init__(self, rows: list[tuple]) -> None:
        self._answers: dict[tuple[str, str], list[tuple]] = {}
        for meter_id, kind, *answer in rows:
            self._answers.setdefault((meter_id, kind), []).append(tuple(answer))

    def get(self, meter_id: str, kind: str, concern: str | None) -> Feedback:
        """What the answers say about a new event of this pattern (answers without a concern count for any)."""
        answers = [a for a in self._answers.get((meter_id, kind), []) if a[0] is None or a[0] == concern]
        return _combine(meter_id, kind, answers)


def feedback_by_pattern(cur: duckdb.DuckDBPyConnection, meter_ids: list[str]) -> FeedbackBook:
    """Every "not a leak" answer about ``meter_ids``, oldest first."""
    return FeedbackBook(cur.execute(
        """SELECT meter_id, kind, concern, effect, factor, reason, actor, created_at FROM alert_feedback
           WHERE meter_id IN (SELECT unnest(?::VARCHAR[])) AND verdict = 'not_a_leak'
           ORDER BY created_at""",
        [sorted(set(meter_ids))],
    ).fetchall())


def record_feedback(cur: duckdb.DuckDBPyConnection, meter_id: str, kind: str, concern: str | None, effect: str,
                    factor: float | None, reason: str | None, alert_id: str | None, actor: str,
                    now: datetime) -> None:
    if effect not in EFFECTS:
        raise ValueError(f"effect must be one of {', '.join(EFFECTS)}, got {effect!r}")
    if effect == "raise_threshold" and not (factor or DEFAULT_FACTOR) > 1.0:
        raise ValueError(f"a raised threshold needs a factor above 1, got {factor!r}")
    cur.execute(
        """INSERT INTO alert_feedback (meter_id, kind, concern, verdict, effect, factor, reason, alert_id, actor,
                                      created_at) VALUES (?, ?, ?, 'not_a_leak', ?, ?, ?, ?, ?, ?)""",
        [meter_id, kind, concern, effect, (factor or DEFAULT_FACTOR) if effect == "raise_threshold" else None,
         reason, alert_id, actor, now],
    )
