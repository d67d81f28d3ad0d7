"""Tanks and pumps as the store sees them: level sensors, the flows around each tank, pump run hours.

Tanks are found, not named: every meter measuring ``level`` is a tank, the
inlet flow meters of its zone are its outflow (the tank floats on the zone),
and ``pump_state`` sensors of the same zone say when it is being filled. All
series come hourly from `reading_hourly`; nothing here reads raw readings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from data.queries.scope import Scope, meter_filter


@dataclass(frozen=True)
class Tank:
    meter_id: str
    zone_id: str | None
    tz: str
    low_level_m: float | None     # from the meter's attrs, when registered with them
    high_level_m: float | None
    outflow_meters: tuple[str, ...]
    pump_meters: tuple[str, ...]


def _attr(attrs: str | None, key: str) -> float | None:
    try:
        value = json.loads(attrs or "{}").get(key)
    except (TypeError, ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, (int, float)) else None


def tanks(cur: duckdb.DuckDBPyConnection, scope: Scope = None) -> list[Tank]:
    """Level sensors in scope, each with the zone meters that drain and fill it."""
    where, params = meter_filter(scope)
    levels = cur.execute(
        f"""SELECT meter_id, zone_id, tz, attrs::VARCHAR FROM meters
            WHERE quantity = 'level' AND {where} ORDER BY meter_id""", params).fetchall()
    around = cur.execute(
        f"""SELECT zone_id, meter_id, quantity, category FROM meters
            WHERE (category = 'inlet' OR quantity = 'pump_state') AND {where} ORDER BY meter_id""", params).fetchall()
    found = []
    for meter_id, zone_id, tz, attrs in levels:
        outflow = tuple(m for z, m, q, c in around if z == zone_id and zone_id is not None and c == 'inlet')
        pumps = tuple(m for z, m, q, c in around if z == zone_id and zone_id is not None and q == 'pump_state')
        found.append(Tank(meter_id, zone_id, tz, _attr(attrs, "low_level_m"), _attr(attrs, "high_level_m"),
                          outflow, pumps))
    return found


def pumps(cur: duckdb.DuckDBPyConnection, scope: Scope = None) -> list[tuple[str, str | None, str]]:
    """(meter_id, zone_id, tz) of every pump run-state sensor in scope."""
    where, params = meter_filter(scope)
    return cur.execute(
        f"SELECT meter_id, zone_id, tz FROM meters WHERE quantity = 'pump_state' AND {where} ORDER BY meter_id",
        params).fetchall()


def newest_hour(cur: duckdb.DuckDBPyConnection, meter_ids: list[str]) -> datetime | None:
    """The end of the newest hour any of these sensors reported in (sensors keep no register state)."""
    return cur.execute(
        """SELECT max(hour) + INTERVAL 1 HOUR FROM reading_hourly
           WHERE meter_id IN (SELECT unnest(?::VARCHAR[]))""", [list(meter_ids)]).fetchone()[0]


def tank_hourly(cur: duckdb.DuckDBPyConnection, tank: Tank, start: datetime, end: datetime) -> pd.DataFrame:
    """One row per hour: level_m (mean), outflow_l_s (sum of the zone inlets' means), pump_on (share of the hour).

    Hours without a level reading are absent; missing flows or pump states are NaN.
    """
    flows = list(tank.outflow_meters)
    pumps_ = list(tank.pump_meters)
    return cur.execute(
        """WITH level AS (
               SELECT hour, total / n AS level_m FROM reading_hourly
               WHERE meter_id = ? AND quantity = 'level' AND hour >= ? AND hour < ?),
           outflow AS (
               SELECT hour, sum(total / n) AS outflow_l_s, count(*) AS meters FROM reading_hourly
               WHERE meter_id IN (SELECT unnest(?::VARCHAR[])) AND quantity = 'flow' AND hour >= ? AND hour < ?
               GROUP BY hour),
           pump AS (
               SELECT hour, avg(total / n) AS pump_on FROM reading_hourly
               WHERE meter_id IN (SELECT unnest(?::VARCHAR[])) AND quantity = 'pump_state' AND hour >= ? AND hour < ?
               GROUP BY hour)
           SELECT level.hour, level_m,
                  CASE WHEN outflow.meters = ? THEN outflow_l_s END AS outflow_l_s, pump_on
           FROM level LEFT JOIN outflow USING (hour) LEFT JOIN pump USING (hour)
           ORDER BY level.hour""",
        [tank.meter_id, start, end, flows, start, end, pumps_, start, end, len(flows)]).df()


def level_hourly(cur: duckdb.DuckDBPyConnection, meter_id: str, start: datetime, end: datetime) -> pd.DataFrame:
    """Hourly mean, min and max level of one tank: columns hour, level_m, minimum, maximum."""
    return cur.execute(
        """SELECT hour, total / n AS level_m, minimum, maximum FROM reading_hourly
           WHERE meter_id = ? AND quantity = 'level' AND hour >= ? AND hour < ? ORDER BY hour""",
        [meter_id, start, end]).df()


def latest_level(cur: duckdb.DuckDBPyConnection, meter_id: str, since: datetime,
                 until: datetime) -> tuple[datetime, float] | None:
    """The tank's newest level reading in [``since``, ``until``): its time (naive UTC) and metres, or None.

    "Level now" is this reading, not the mean of an hour that may have only begun."""
    return cur.execute(
        """SELECT ts, value FROM readings WHERE meter_id = ? AND quantity = 'level' AND ts >= ? AND ts < ?
           ORDER BY ts DESC LIMIT 1""", [meter_id, since, until]).fetchone()


def pump_run_hours(cur: duckdb.DuckDBPyConnection, meter_id: str, tz: str, start: datetime,
                   end: datetime) -> pd.DataFrame:
    """Hours run per local day: each hour adds the share of its run-state readings that said running.

    Columns: day, run_h, observed_h (hours with a reading: a day with fewer than 24 is partly unknown).
    """
    return cur.execute(
        """SELECT timezone(?, timezone('UTC', hour))::DATE AS day,
                  sum(total / n) AS run_h, count(*) AS observed_h
           FROM reading_hourly
           WHERE meter_id = ? AND quantity = 'pump_state' AND hour >= ? AND hour < ?
           GROUP BY day ORDER BY day""",
        [tz, meter_id, start, end]).df()
