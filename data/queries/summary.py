"""What the store holds right now: counts, freshness and the newest quarantined messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from data.queries.scope import Scope, meter_filter


@dataclass(frozen=True)
class StoreSummary:
    meters: int
    readings: int
    quarantined: int
    last_reading_at: datetime | None


def store_summary(cur: duckdb.DuckDBPyConnection, scope: Scope = None) -> StoreSummary:
    """Counts for the overview: meters, readings, quarantined messages, freshness."""
    where, params = meter_filter(scope)
    meters, last = cur.execute(f"SELECT count(*), max(last_ts) FROM meters WHERE {where}", params).fetchone()
    readings = cur.execute(f"SELECT count(*) FROM readings WHERE {where}", params).fetchone()[0]
    quarantined = cur.execute(f"SELECT count(*) FROM quarantine WHERE {where}", params).fetchone()[0]
    return StoreSummary(meters, readings, quarantined, last)


def recent_quarantine(cur: duckdb.DuckDBPyConnection, limit: int = 20, scope: Scope = None) -> list[dict]:
    """Newest quarantined messages with their reasons."""
    where, params = meter_filter(scope)
    frame = cur.execute(
        f"""SELECT received_at, source, meter_id, reason, left(payload, 200) AS payload
            FROM quarantine WHERE {where} ORDER BY received_at DESC LIMIT {int(limit)}""",
        params,
    ).df()
    return frame.to_dict("records")
