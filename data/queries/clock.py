"""The 'now' that views are anchored to: the wall clock, or the newest reading when the data is older.

A store filled by an import or a backfill ends in the past; "the last 24 hours"
of such a store means the 24 hours before its newest reading, not an empty
chart. Live stores get the wall clock. Times are naive UTC, like the store.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from data.queries.scope import Scope, meter_filter


def newest_reading_at(cur: duckdb.DuckDBPyConnection, scope: Scope = None) -> datetime | None:
    """Timestamp of the newest reading of any meter in scope (from meter state, not a scan).

    Meter state follows consumption quantities; a store of sensors alone (pressure loggers, tank
    levels) has none, and its newest reading is read from the last hour of its hourly statistics.
    """
    where, params = meter_filter(scope)
    newest = cur.execute(f"SELECT max(last_ts) FROM meters WHERE {where}", params).fetchone()[0]
    if newest is not None:
        return newest
    return cur.execute(
        f"""WITH sensors AS (SELECT meter_id FROM meters WHERE {where}),
                 last_hour AS (SELECT max(hour) AS hour FROM reading_hourly
                                WHERE meter_id IN (SELECT meter_id FROM sensors))
            SELECT max(r.ts) FROM readings r, last_hour
             WHERE r.ts >= last_hour.hour AND r.ts < last_hour.hour + INTERVAL 1 HOUR
               AND r.meter_id IN (SELECT meter_id FROM sensors)""", params).fetchone()[0]


def data_now(cur: duckdb.DuckDBPyConnection, scope: Scope = None, wall_clock: datetime | None = None) -> datetime:
    """The moment views end at: ``min(wall clock, newest reading)``; the wall clock when there is no data."""
    return anchored_now(newest_reading_at(cur, scope), wall_clock)


def anchored_now(newest: datetime | None, wall_clock: datetime | None = None) -> datetime:
    """`data_now` for a caller that already knows the newest reading."""
    wall = wall_clock or datetime.now(UTC).replace(tzinfo=None)
    return wall if newest is None else min(wall, newest)
