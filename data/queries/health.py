"""The ingest pipeline's health from the store: its recorded history, quarantine reasons and silent meters.

Live figures (rates, batch times, queue depth, broker state) come from the
listener's metrics snapshot; this module answers what the store remembers.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from data.queries.scope import Scope, meter_filter

#: A meter is silent after this many of its usual reporting intervals without a reading.
SILENT_AFTER_INTERVALS = 3

#: Values inside quotes and numbers vary per message; reasons are grouped without them.
_REASON_KIND = r"""regexp_replace(regexp_replace(reason, '''[^'']*''', '''…''', 'g'),
                                  '\b[0-9][0-9.:eT+-]*', '#', 'g')"""


def ingest_history(cur: duckdb.DuckDBPyConnection, since: datetime) -> pd.DataFrame:
    """Recorded ingest metrics since ``since``, with rates between rows.

    Columns: recorded_at, readings_per_s, batch_p50_ms, batch_p95_ms, queue_depth, error_rate.
    """
    return cur.execute(
        """WITH rows AS (
               SELECT recorded_at, readings, stored, duplicates, quarantined, batch_p50_ms, batch_p95_ms,
                      queue_depth,
                      lag(recorded_at) OVER w AS prev_at, lag(readings) OVER w AS prev_readings,
                      lag(quarantined) OVER w AS prev_quarantined,
                      lag(stored + duplicates + quarantined) OVER w AS prev_handled
               FROM ingest_stats WHERE recorded_at >= ? WINDOW w AS (ORDER BY recorded_at))
           SELECT recorded_at,
                  CASE WHEN readings >= prev_readings AND recorded_at > prev_at
                       THEN (readings - prev_readings) / epoch(recorded_at - prev_at) END AS readings_per_s,
                  batch_p50_ms, batch_p95_ms, queue_depth,
                  CASE WHEN stored + duplicates + quarantined > prev_handled AND quarantined >= prev_quarantined
                       THEN (quarantined - prev_quarantined) / (stored + duplicates + quarantined - prev_handled)
                  END AS error_rate
           FROM rows ORDER BY recorded_at""",
        [since]).df()


def quarantine_reasons(cur: duckdb.DuckDBPyConnection, scope: Scope = None, limit: int = 15) -> pd.DataFrame:
    """Quarantined messages grouped by kind of reason: columns reason (an example), kind, messages, last_at."""
    where, params = _quarantine_filter(scope)
    return cur.execute(
        f"""SELECT any_value(reason) AS reason, {_REASON_KIND} AS kind, count(*) AS messages,
                   max(received_at) AS last_at
            FROM quarantine WHERE {where} GROUP BY kind ORDER BY messages DESC, kind LIMIT {int(limit)}""",
        params).df()


def recent_quarantine(cur: duckdb.DuckDBPyConnection, scope: Scope = None, limit: int = 15) -> pd.DataFrame:
    """The newest quarantined messages: columns received_at, source, meter_id, reason, payload."""
    where, params = _quarantine_filter(scope)
    return cur.execute(
        f"""SELECT received_at, source, meter_id, reason, left(payload, 120) AS payload FROM quarantine
            WHERE {where} ORDER BY received_at DESC LIMIT {int(limit)}""", params).df()


def _quarantine_filter(scope: Scope) -> tuple[str, list]:
    """Scoped users see their meters' quarantined messages; messages with no meter are operators' only."""
    return meter_filter(scope)


def silent_meters(cur: duckdb.DuckDBPyConnection, now: datetime, scope: Scope = None) -> pd.DataFrame:
    """Meters with no reading for more than three of their usual intervals before ``now``.

    The usual interval is the meter's own (median of its recent intervals); for
    sensors without one it is learnt from their last day of hourly counts.
    Columns: meter_id, zone_id, category, last_reading, interval_s, silent_h.
    """
    where, params = meter_filter(scope, "m.meter_id")
    return cur.execute(
        f"""WITH sensor AS (
                SELECT meter_id, 3600.0 * count(*) / sum(n) AS interval_s, max(hour) + INTERVAL 1 HOUR AS seen_to
                FROM reading_hourly WHERE hour >= ?::TIMESTAMP - INTERVAL 2 DAY AND hour < ?
                GROUP BY meter_id),
            state AS (
                SELECT m.meter_id, m.zone_id, m.category,
                       coalesce(m.last_ts, least(m.last_seen_at, s.seen_to)) AS last_reading,
                       coalesce(m.interval_s, s.interval_s) AS interval_s
                FROM meters m LEFT JOIN sensor s USING (meter_id) WHERE {where})
            SELECT meter_id, zone_id, category, last_reading, interval_s,
                   epoch(?::TIMESTAMP - last_reading) / 3600.0 AS silent_h
            FROM state
            WHERE last_reading IS NOT NULL AND interval_s > 0
              AND epoch(?::TIMESTAMP - last_reading) > {SILENT_AFTER_INTERVALS} * interval_s
            ORDER BY silent_h DESC, meter_id""",
        [now, now, *params, now, now]).df()


def never_reported(cur: duckdb.DuckDBPyConnection, scope: Scope = None) -> int:
    """Registered meters that have not sent a single reading."""
    where, params = meter_filter(scope)
    return cur.execute(
        f"SELECT count(*) FROM meters WHERE last_ts IS NULL AND last_seen_at IS NULL AND {where}", params).fetchone()[0]

