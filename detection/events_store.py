"""Detected events in the store: `detected_events`, idempotent on event_id.

Re-scanning the same data gives the same ids; an event that is still going on
comes back with a later end, a new score and a larger lost volume, and is
updated in place. ``detected_at`` keeps the first time it was saved.

An event's id comes from its start, and a streaming scan may see one problem
under another id at a later tick: the start of a leak found an hour earlier or
later, or the same leak raised by another rule (sustained flow by day, a steady
trickle at night). So an incoming event that continues a saved event of the same
meter, kind and concern (overlapping it, or starting within an hour of its end) is
saved as that event: one leak, one event (measured on the simulated city: hourly ticks
over 20 days gave 4 of 9 customer leaks two or three events before this).

Stores saved before events carried a ``concern`` gain the column on the next save,
filled from each event's kind (and, for a pressure out of its band, the side its
explanation names); readers of an older store get the same values computed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pandas as pd

from data.queries.catalog import table_columns
from detection.events import CONCERN_OF_KIND, EVENT_COLUMNS, public

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
    detected_at   TIMESTAMP NOT NULL,
    concern       VARCHAR
)
"""
_QUOTED = ", ".join('"end"' if c == "end" else c for c in EVENT_COLUMNS)
CONTINUES_WITHIN = pd.Timedelta(hours=1)
#: An event's concern from what a store written before concerns kept (kind and explanation).
CONCERN_FROM_KIND = ("CASE WHEN kind = 'pressure_out_of_band' AND explanation LIKE 'Pressure above%' "
                     "THEN 'operations' ELSE CASE kind "
                     + " ".join(f"WHEN '{kind}' THEN '{concern}'" for kind, concern in CONCERN_OF_KIND.items())
                     + " ELSE 'anomaly' END END")


def ensure_events_table(cur: duckdb.DuckDBPyConnection) -> None:
    """Create `detected_events`, or give an older one its ``concern`` column, filled."""
    cur.execute(EVENTS_DDL)
    if "concern" not in table_columns(cur, "detected_events"):
        cur.execute("ALTER TABLE detected_events ADD COLUMN concern VARCHAR")
        cur.execute(f"UPDATE detected_events SET concern = {CONCERN_FROM_KIND}")


def save_events(cur: duckdb.DuckDBPyConnection, frame: pd.DataFrame, detected_at: datetime | None = None) -> int:
    """Insert new events and update the end, score, severity, explanation, lost volume, cost and zone of known ones
    (a meter moved in the register takes its ongoing events with it).

    Returns how many events were new. ``cur`` must be the writer's cursor (or any
    cursor when nothing else writes).
    """
    ensure_events_table(cur)
    if frame.empty:
        return 0
    rows = _as_saved_events(cur, public(frame).copy())
    by_event = rows.groupby("event_id")
    rows = rows.assign(start=by_event["start"].transform("min"), end=by_event["end"].transform("max"))
    rows = rows.drop_duplicates("event_id", keep="last")
    rows["detected_at"] = pd.Timestamp(detected_at or datetime.now(UTC).replace(tzinfo=None))
    rows["detected_at"] = rows["detected_at"].astype("datetime64[us]")
    cur.register("incoming_events", rows)
    try:
        before = cur.execute("SELECT count(*) FROM detected_events").fetchall()[0][0]
        cur.execute(f"""
            INSERT INTO detected_events ({_QUOTED}, detected_at)
            SELECT {_QUOTED}, detected_at FROM incoming_events
            ON CONFLICT (event_id) DO UPDATE SET
                start = least(detected_events.start, excluded.start),
                "end" = greatest(detected_events."end", excluded."end"),
                score = excluded.score, severity = excluded.severity, explanation = excluded.explanation,
                lost_volume_l = excluded.lost_volume_l, cost = excluded.cost, concern = excluded.concern,
                zone_id = excluded.zone_id""")
        return int(cur.execute("SELECT count(*) FROM detected_events").fetchall()[0][0] - before)
    finally:
        cur.unregister("incoming_events")


def _as_saved_events(cur: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with the id of the saved event each continues (same meter, kind and concern), where its own id is
    new."""
    saved = cur.execute(
        """SELECT event_id AS saved_id, meter_id, kind, concern, start AS saved_start, "end" AS saved_end
           FROM detected_events
           WHERE meter_id IN (SELECT unnest(?::VARCHAR[])) AND "end" >= ?""",
        [sorted(set(rows["meter_id"])), (rows["start"].min() - CONTINUES_WITHIN).to_pydatetime()]).df()
    new = rows[~rows["event_id"].isin(saved["saved_id"])]
    pairs = new.reset_index().merge(saved, on=["meter_id", "kind", "concern"])
    pairs = pairs[(pairs["saved_start"] <= pairs["end"]) & (pairs["saved_end"] + CONTINUES_WITHIN >= pairs["start"])]
    earliest = pairs.sort_values("saved_start").drop_duplicates("index")
    rows.loc[earliest["index"], "event_id"] = earliest["saved_id"].to_numpy()
    return rows


def load_events(cur: duckdb.DuckDBPyConnection, start: object = None, end: object = None) -> pd.DataFrame:
    """Saved events overlapping [start, end) (all when not given), with detected_at, by start.

    Works on a read-only store: no table yet means no events, and an older table's concerns are computed.
    """
    known = cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'detected_events'")
    if not known.fetchall()[0][0]:
        return pd.DataFrame(columns=[*EVENT_COLUMNS, "detected_at"])
    lo = pd.Timestamp(start or "1900-01-01").to_pydatetime()
    hi = pd.Timestamp(end or "2200-01-01").to_pydatetime()
    columns = _QUOTED if "concern" in table_columns(cur, "detected_events") else _QUOTED.replace("concern", f"{CONCERN_FROM_KIND} AS concern")
    return cur.execute(f"""SELECT {columns}, detected_at FROM detected_events
                           WHERE start < ? AND "end" >= ? ORDER BY start, event_id""", [hi, lo]).df()
