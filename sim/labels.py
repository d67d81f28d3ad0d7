"""The ground-truth table: every injected event, so detectors can be scored and demos explained.

``event_labels`` lives in the store beside the readings (timestamps naive UTC,
like the rest of the store). Writing is idempotent on ``event_id``: a live run
that continues a backfill re-derives the same events and adds only new ones.
Where the simulator runs in another process than the store's owner, labels go
to a JSON-lines file instead (`write_labels_file`).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from sim.events import LABEL_COLUMNS

LABELS_DDL = """
CREATE TABLE IF NOT EXISTS event_labels (
    event_id  VARCHAR PRIMARY KEY,
    kind      VARCHAR NOT NULL,
    asset     VARCHAR NOT NULL,
    zone_id   VARCHAR,
    start     TIMESTAMP NOT NULL,
    "end"     TIMESTAMP NOT NULL,
    magnitude DOUBLE,
    unit      VARCHAR,
    note      VARCHAR
)
"""


def _frame(events: pd.DataFrame) -> pd.DataFrame:
    frame = events[LABEL_COLUMNS].copy()
    for column in ("start", "end"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[us]")
    frame["magnitude"] = pd.to_numeric(frame["magnitude"], errors="coerce").astype("float64")
    for column in ("event_id", "kind", "asset", "zone_id", "unit", "note"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


def write_labels(cur: duckdb.DuckDBPyConnection, events: pd.DataFrame) -> int:
    """Add events not yet labelled; returns how many were new.

    ``cur`` is a cursor of its own (`Store.cursor()`): the labels table is
    nobody else's, so this write never conflicts with the ingest writer's.
    """
    cur.execute(LABELS_DDL)
    if events.empty:
        return 0
    cur.register("new_labels", _frame(events))
    before = cur.execute("SELECT count(*) FROM event_labels").fetchall()[0][0]
    cur.execute("INSERT INTO event_labels BY NAME SELECT * FROM new_labels ON CONFLICT (event_id) DO NOTHING")
    cur.unregister("new_labels")
    return int(cur.execute("SELECT count(*) FROM event_labels").fetchall()[0][0] - before)


def read_labels(cur: duckdb.DuckDBPyConnection, start: object = None, end: object = None) -> pd.DataFrame:
    """Labels overlapping [start, end) (all when not given), by start."""
    cur.execute(LABELS_DDL)
    lo = pd.Timestamp(start or "1900-01-01").tz_localize(None)
    hi = pd.Timestamp(end or "2200-01-01").tz_localize(None)
    return cur.execute(
        f"""SELECT {", ".join(c if c != "end" else '"end"' for c in LABEL_COLUMNS)} FROM event_labels
            WHERE start < ? AND ("end" > ? OR ("end" = start AND start >= ?)) ORDER BY start, event_id""",
        [hi, lo, lo],
    ).df()


def write_labels_file(path: str | Path, events: pd.DataFrame, known: set[str]) -> int:
    """Append events not in ``known`` to a JSON-lines file (``known`` is updated)."""
    new = events[~events["event_id"].isin(known)]
    if new.empty:
        return 0
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        for row in _frame(new).to_dict("records"):
            row["start"], row["end"] = row["start"].isoformat() + "Z", row["end"].isoformat() + "Z"
            row["magnitude"] = None if row["magnitude"] is None or np.isnan(row["magnitude"]) else row["magnitude"]
            handle.write(json.dumps(row) + "\n")
            known.add(row["event_id"])
    return len(new)
