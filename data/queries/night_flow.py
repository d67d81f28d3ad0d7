"""Minimum night flow per zone and night: the classic leakage indicator of a district meter area.

At night, between 01:00 and 05:00 local time, almost nobody draws water, so the
lowest hourly inflow of the night is mostly leakage plus a little legitimate use.
A night that rises above the zone's usual minimum points at a new leak. Read from
the hourly statistics of the zone's supply points (`reading_hourly`, `data.queries.supply`).
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from data.queries.scope import Scope, meter_filter
from data.queries.supply import SUPPLY_POINTS

NIGHT_START_HOUR = 1  # local, inclusive
NIGHT_END_HOUR = 5    # local, exclusive


def zone_inflow_hourly_sql(scope: Scope) -> tuple[str, list]:
    """SQL of hourly zone inflow (L/s, mean of the hour, the signed sum of a zone's supply points:
    `data.queries.supply`) with its parameters.

    An hour in which fewer of a zone's supply points reported than in its best hour of the window is left
    out: a sum that misses a silent inlet reads as a fall (as in `detection.zone_inflow`), one that misses
    a silent outlet as a rise.
    Columns: zone_id, tz, hour (UTC), local_hour (zone's wall clock), inflow_l_s, readings.
    Takes two more parameters after these: the UTC start and end of the window.
    """
    where, params = meter_filter(scope, "r.meter_id")
    sql = f"""
        SELECT zone_id, tz, hour, local_hour, inflow_l_s, readings FROM (
            SELECT p.zone_id, z.tz, r.hour,
                   timezone(z.tz, r.hour AT TIME ZONE 'UTC') AS local_hour,
                   sum(p.sign * r.total / r.n) AS inflow_l_s, sum(r.n) AS readings, count(*) AS points
            FROM reading_hourly r
            JOIN {SUPPLY_POINTS} p USING (meter_id)
            JOIN zones z ON z.zone_id = p.zone_id
            WHERE r.quantity = 'flow' AND {where}
              AND r.hour >= ? AND r.hour < ?
            GROUP BY ALL
        )
        QUALIFY points = max(points) OVER (PARTITION BY zone_id)
    """
    return sql, params


def night_flow_minima(cur: duckdb.DuckDBPyConnection, start: datetime, end: datetime,
                      zone_id: str | None = None, scope: Scope = None) -> pd.DataFrame:
    """Per zone and local night (the date the night ends on): minimum hourly inflow in L/s and its hour.

    Columns: zone_id, night (date), night_flow_l_s, at_local (local start of that hour),
    complete (the night's window ended by ``end``). Only nights with at least one night hour of inlet data appear.
    """
    inflow, params = zone_inflow_hourly_sql(scope)
    zone_clause = "AND zone_id = ?" if zone_id is not None else ""
    zone_params = [zone_id] if zone_id is not None else []
    return cur.execute(
        f"""
        SELECT zone_id, CAST(local_hour AS DATE) AS night,
               min(inflow_l_s) AS night_flow_l_s, arg_min(local_hour, inflow_l_s) AS at_local,
               CAST(local_hour AS DATE) + INTERVAL {NIGHT_END_HOUR} HOUR
                   <= timezone(any_value(tz), ?::TIMESTAMP AT TIME ZONE 'UTC') AS complete
        FROM ({inflow}) inflow
        WHERE hour(local_hour) >= {NIGHT_START_HOUR} AND hour(local_hour) < {NIGHT_END_HOUR} {zone_clause}
        GROUP BY zone_id, night
        ORDER BY zone_id, night
        """,
        [end] + params + [start, end] + zone_params,
    ).df()
