"""Detected events in the store: `detected_events`, idempotent on event_id.

Re-scanning the same data gives the same ids; an event that is still going on
comes back with a later end, a new score and a larger lost volume, and is
updated in place. ``detected_at`` keeps the first time it was saved.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pandas as pd

from detection.events import EVENT_COLUMNS, public

EVENTS_DDL = """
CREATE TABLE IF NOT EXISTS detected_events (
    event_id      VARCHAR PRIMARY KEY,
    meter_id      VARCHAR NOT NULL,
    zone_id       VARCHAR,
    kind          VARCHAR NOT NULL,
    detector      VARCHAR NOT NULL,
    start         TIMESTAMP NOT NULL,
    "end"         TIMESTAMP NOT NULL,
    score         DOUBLE NOT NULL,
    severity      VARCHAR NOT NULL,
    explanation   VARCHAR NOT NULL,
    lost_volume_l DOUBLE NOT NULL,
    cost          DOUBLE NOT NULL,
    detected_at   TIMESTAMP NOT NULL
)
"""
_QUOTED = ", ".join('"end"' if c == "end" else c for c in EVENT_COLUMNS)


def save_events(cur: duckdb.DuckDBPyConnection, frame: pd.DataFrame, detected_at: datetime | None = None) -> int:
    """Insert new events and update the end, score, severity, explanation, lost volume and cost of known ones.

    Returns how many events were new. ``cur`` must be the writer's cursor (or any
    cursor when nothing else writes).
    """
    cur.execute(EVENTS_DDL)
    if frame.empty:
        return 0
    rows = public(frame).drop_duplicates("event_id", keep="last").copy()
    rows["detected_at"] = pd.Timestamp(detected_at or datetime.now(UTC).replace(tzinfo=None))
    rows["detected_at"] = rows["detected_at"].astype("datetime64[us]")
    cur.register("incoming_events", rows)
    try:
        before = cur.execute("SELECT count(*) FROM detected_events").fetchall()[0][0]
        cur.execute(f"""
            INSERT INTO detected_events ({_QUOTED}, detected_at)
            SELECT {_QUOTED}, detected_at FROM incoming_events
            ON CONFLICT (event_id) DO UPDATE SET
                "end" = greatest(detected_events."end", excluded."end"),
                score = excluded.score, severity = excluded.severity, explanation = excluded.explanation,
                lost_volume_l = excluded.lost_volume_l, cost = excluded.cost""")
        return int(cur.execute("SELECT count(*) FROM detected_events").fetchall()[0][0] - before)
    finally:
        cur.unregister("incoming_events")


def load_events(cur: duckdb.DuckDBPyConnection, start: object = None, end: object = None) -> pd.DataFrame:
    """Saved events overlapping [start, end) (all when not given), with detected_at, by start.

    Works on a read-only store: no table yet means no events.
    """
    known = cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'detected_events'")
    if not known.fetchall()[0][0]:
        return pd.DataFrame(columns=[*EVENT_COLUMNS, "detected_at"])
    lo = pd.Timestamp(start or "1900-01-01").to_pydatetime()
    hi = pd.Timestamp(end or "2200-01-01").to_pydatetime()
    return cur.execute(f"""SELECT {_QUOTED}, detected_at FROM detected_events
                           WHERE start < ? AND "end" >= ? ORDER BY start, event_id""", [hi, lo]).df()
