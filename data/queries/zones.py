"""Queries of the Zones page: the zones in the store, their hourly flow and pressure, and the daily water balance.

The water balance of a district metered area is the oldest leakage measure:
what the inlet meters put into the zone, minus what the customer meters
recorded, is unaccounted-for water (leaks, theft, meter under-registration).
Days are the zone's local calendar days, read from the daily rollups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from data.queries.rollup_source import NON_CUSTOMER, zone_volumes_sql
from data.queries.scope import Scope, meter_filter
from data.queries.supply import SUPPLY_POINTS, supply_volumes_sql


@dataclass(frozen=True)
class ZoneInfo:
    zone_id: str
    name: str
    tz: str
    customers: int
    inlets: list[str]               # its supply points: inlets, outlets, and the boundary meters into it
    pressure_sensors: list[str]


def zone_list(cur: duckdb.DuckDBPyConnection, scope: Scope = None) -> list[ZoneInfo]:
    """Zones with their customer meters, supply points (`data.queries.supply`) and pressure sensors (within
    scope)."""
    where, params = meter_filter(scope, "m.meter_id")
    supply_where, supply_params = meter_filter(scope, "p.meter_id")
    rows = cur.execute(
        f"""
        WITH supply AS (
            SELECT p.zone_id, list(DISTINCT p.meter_id ORDER BY p.meter_id) AS points
            FROM {SUPPLY_POINTS} p WHERE {supply_where} GROUP BY p.zone_id)
        SELECT z.zone_id, coalesce(z.name, z.zone_id), z.tz,
               count(m.meter_id) FILTER (WHERE m.category NOT IN (SELECT unnest(?::VARCHAR[]))),
               any_value(s.points),
               list(m.meter_id ORDER BY m.meter_id) FILTER (WHERE m.quantity = 'pressure')
        FROM zones z LEFT JOIN meters m ON m.zone_id = z.zone_id AND {where}
        LEFT JOIN supply s ON s.zone_id = z.zone_id
        GROUP BY z.zone_id, z.name, z.tz ORDER BY z.zone_id
        """,
        supply_params + [list(NON_CUSTOMER)] + params,
    ).fetchall()
    zones = [ZoneInfo(z, name, tz, int(n), inlets or [], sensors or []) for z, name, tz, n, inlets, sensors in rows]
    if scope is not None:
        zones = [z for z in zones if z.customers or z.inlets or z.pressure_sensors]
    return zones


def zone_flow_pressure(cur: duckdb.DuckDBPyConnection, zone_id: str, start: datetime, end: datetime,
                       scope: Scope = None, step_hours: int = 1) -> pd.DataFrame:
    """Mean, minimum and maximum of the flows of the zone's supply points (L/s) and of its pressures (bar) per
    ``step_hours``. Flows are signed as the zone sees them: what an outlet takes out of the zone is below zero.

    Columns: meter_id, quantity ('flow' or 'pressure'), hour (UTC start of the step), mean, minimum,
    maximum. Steps longer than an hour downsample long periods for the chart (means weighted by readings).
    """
    where, params = meter_filter(scope, "r.meter_id")
    step = max(int(step_hours), 1)
    return cur.execute(
        f"""
        WITH points AS (
            SELECT meter_id, sign, 'flow' AS quantity FROM {SUPPLY_POINTS} WHERE zone_id = ?
            UNION ALL
            SELECT meter_id, 1.0, 'pressure' FROM meters WHERE zone_id = ?)
        SELECT r.meter_id, r.quantity, time_bucket(INTERVAL '{step} hours', r.hour) AS hour,
               any_value(p.sign) * sum(r.total) / sum(r.n) AS mean,
               CASE WHEN any_value(p.sign) > 0 THEN min(r.minimum) ELSE -max(r.maximum) END AS minimum,
               CASE WHEN any_value(p.sign) > 0 THEN max(r.maximum) ELSE -min(r.minimum) END AS maximum
        FROM reading_hourly r JOIN points p ON p.meter_id = r.meter_id AND p.quantity = r.quantity
        WHERE r.hour >= ? AND r.hour < ? AND {where}
        GROUP BY r.meter_id, r.quantity, time_bucket(INTERVAL '{step} hours', r.hour) ORDER BY r.meter_id, hour
        """,
        [zone_id, zone_id, start, end] + params,
    ).df()


def water_balance(cur: duckdb.DuckDBPyConnection, zone_id: str, first_day: date, last_day: date,
                  scope: Scope = None) -> pd.DataFrame:
    """Daily water balance of a zone, local days ``first_day`` to ``last_day`` inclusive.

    Columns: day, inflow_l (net supply: inlets and outlets into the zone, less its outlets), customers_l
    (sum of customer meters), unaccounted_l (inflow minus customers), unaccounted_pct (of inflow; NaN
    without inflow), estimated_l (customer volume from gap-filled intervals).
    """
    source, params = zone_volumes_sql("day", scope)
    supply, supply_params = supply_volumes_sql("day", scope)
    return cur.execute(
        f"""
        WITH customers AS (
            SELECT bucket,
                   coalesce(sum(volume_l) FILTER (WHERE category NOT IN (SELECT unnest(?::VARCHAR[]))), 0)
                       AS customers_l,
                   coalesce(sum(estimated_l) FILTER (WHERE category NOT IN (SELECT unnest(?::VARCHAR[]))), 0)
                       AS estimated_l
            FROM ({source}) v WHERE zone_id = ? AND bucket BETWEEN ? AND ? GROUP BY bucket),
        supply AS (
            SELECT bucket, sum(volume_l) AS inflow_l
            FROM ({supply}) s WHERE zone_id = ? AND bucket BETWEEN ? AND ? GROUP BY bucket)
        SELECT bucket AS day, s.inflow_l, coalesce(c.customers_l, 0) AS customers_l,
               coalesce(c.estimated_l, 0) AS estimated_l
        FROM customers c FULL JOIN supply s USING (bucket)
        ORDER BY bucket
        """,
        [list(NON_CUSTOMER), list(NON_CUSTOMER)] + params + [zone_id, first_day, last_day]
        + supply_params + [zone_id, first_day, last_day],
    ).df().pipe(_with_unaccounted)


def _with_unaccounted(frame: pd.DataFrame) -> pd.DataFrame:
    frame["unaccounted_l"] = frame["inflow_l"] - frame["customers_l"]
    inflow = frame["inflow_l"].where(frame["inflow_l"] > 0)
    frame["unaccounted_pct"] = 100 * frame["unaccounted_l"] / inflow
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame[["day", "inflow_l", "customers_l", "unaccounted_l", "unaccounted_pct", "estimated_l"]]
