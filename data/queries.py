"""Read-only queries the pages and exports build on. Each takes a cursor and the caller's scope.

`scope` is the set of meter ids a user may see (None = all): access control
becomes a parameter of every query, not a rewrite, when roles arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Collection

import duckdb

Scope = Collection[str] | None


@dataclass(frozen=True)
class StoreSummary:
    meters: int
    readings: int
    quarantined: int
    last_reading_at: datetime | None


def _meter_filter(scope: Scope, column: str = "meter_id") -> tuple[str, list]:
    if scope is None:
        return "TRUE", []
    return f"{column} IN (SELECT unnest(?::VARCHAR[]))", [list(scope)]


def store_summary(cur: duckdb.DuckDBPyConnection, scope: Scope = None) -> StoreSummary:
    """Counts for the overview: meters, readings, quarantined messages, freshness."""
    where, params = _meter_filter(scope)
    meters, last = cur.execute(f"SELECT count(*), max(last_ts) FROM meters WHERE {where}", params).fetchone()
    readings = cur.execute(f"SELECT count(*) FROM readings WHERE {where}", params).fetchone()[0]
    quarantined = cur.execute(f"SELECT count(*) FROM quarantine WHERE {where}", params).fetchone()[0]
    return StoreSummary(meters, readings, quarantined, last)


def recent_quarantine(cur: duckdb.DuckDBPyConnection, limit: int = 20, scope: Scope = None) -> list[dict]:
    """Newest quarantined messages with their reasons."""
    where, params = _meter_filter(scope)
    frame = cur.execute(
        f"""SELECT received_at, source, meter_id, reason, left(payload, 200) AS payload
            FROM quarantine WHERE {where} ORDER BY received_at DESC LIMIT {int(limit)}""",
        params,
    ).df()
    return frame.to_dict("records")
