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
    """Timestamp of the newest reading of any meter or network sensor in scope.

    Meter state (`meters.last_ts`) follows consumption quantities. Sensors (pressure loggers,
    tank levels, pump states) have none: their newest reading is read from the last hour of
    their hourly statistics (about 4 ms on a year's store). Both count, so a store whose customer
    meters deliver a day at a time while its SCADA reports live ends at the SCADA's newest
    reading. Weather stations do not move the clock: a weather file often runs past the water data.
    """
    where, params = meter_filter(scope)
    return cur.execute(
        f"""WITH in_scope AS (SELECT meter_id, last_ts, category FROM meters WHERE {where}),
                 sensors AS (SELECT meter_id FROM in_scope
                              WHERE last_ts IS NULL AND coalesce(category, '') <> 'weather'),
                 last_hour AS (SELECT max(hour) AS hour FROM reading_hourly
                                WHERE meter_id IN (SELECT meter_id FROM sensors)),
                 sensed AS (SELECT max(r.ts) AS ts FROM readings r, last_hour
                             WHERE r.ts >= last_hour.hour AND r.ts < last_hour.hour + INTERVAL 1 HOUR
                               AND r.meter_id IN (SELECT meter_id FROM sensors))
            SELECT max(ts) FROM (SELECT max(last_ts) AS ts FROM in_scope UNION ALL SELECT ts FROM sensed)""",
        params).fetchone()[0]


def data_now(cur: duckdb.DuckDBPyConnection, scope: Scope = None, wall_clock: datetime | None = None) -> datetime:
    """The moment views end at: ``min(wall clock, newest reading)``; the wall clock when there is no data."""
    return anchored_now(newest_reading_at(cur, scope), wall_clock)


def anchored_now(newest: datetime | None, wall_clock: datetime | None = None) -> datetime:
    """`data_now` for a caller that already knows the newest reading."""
    wall = wall_clock or datetime.now(UTC).replace(tzinfo=None)
    return wall if newest is None else min(wall, newest)
