"""What the Leaks & alerts page reads: alerts by filter, zone status, one alert's story and its chart.

Alert tables are created by the alert service on first use; until then every
query here answers empty rather than failing. Zone-level alerts
('ZONE:<zone_id>') are in a scope when any meter of their zone is. The chart
around an alert reads hourly rollups only: a customer meter's hourly volume,
a sensor's hourly mean and range, a zone's inlet flow.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import duckdb
import pandas as pd

from data.queries.catalog import table_columns
from data.queries.night_flow import zone_inflow_hourly_sql
from data.queries.scope import Scope, meter_filter
from data.queries.supply import SUPPLY_POINTS
from data.queries.zone_status import ZoneStatus as RuledZoneStatus
from data.units import is_consumption_meter

ALERT_COLUMNS = ["alert_id", "event_id", "meter_id", "zone_id", "category", "kind", "detector", "severity",
                 "state", "opened_at", "updated_at", "event_start", "last_event_end", "score", "explanation",
                 "lost_volume_l", "cost", "acknowledged_by", "note", "escalation_level", "suppressed_reason",
                 "concern"]
STATUS_RANK = {"normal": 0, "warning": 1, "critical": 2}
SEVERITY_ORDER = "CASE severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END"


def has_alerts(cur: duckdb.DuckDBPyConnection) -> bool:
    return cur.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'alerts' "
                       "AND schema_name = 'main'").fetchall()[0][0] > 0


def _alert_columns(cur: duckdb.DuckDBPyConnection) -> str:
    """`ALERT_COLUMNS` to select; one an older alerts table lacks (the alert service adds it) reads NULL."""
    present = table_columns(cur, "alerts")
    return ", ".join(c if c in present else f"NULL AS {c}" for c in ALERT_COLUMNS)


def _scope_filter(scope: Scope) -> tuple[str, list]:
    if scope is None:
        return "TRUE", []
    where, params = meter_filter(scope)
    zones_where, zones_params = meter_filter(scope)
    return (f"({where} OR (meter_id LIKE 'ZONE:%' AND zone_id IN "
            f"(SELECT zone_id FROM meters WHERE {zones_where})))", params + zones_params)


def _in(column: str, values: list[str] | None) -> tuple[str, list]:
    if not values:
        return "TRUE", []
    return f"{column} IN (SELECT unnest(?::VARCHAR[]))", [list(values)]


def list_alerts(cur: duckdb.DuckDBPyConnection, scope: Scope = None, zones: list[str] | None = None,
                kinds: list[str] | None = None, severities: list[str] | None = None,
                states: list[str] | None = None, limit: int = 200,
                concerns: list[str] | None = None) -> pd.DataFrame:
    """Alerts matching the filters (empty list or None = any), worst and newest first."""
    if not has_alerts(cur):
        return pd.DataFrame(columns=ALERT_COLUMNS)
    parts = [_scope_filter(scope), _in("zone_id", zones), _in("kind", kinds), _in("severity", severities),
             _in("state", states), _in("concern", concerns)]
    where = " AND ".join(p[0] for p in parts)
    params = [v for p in parts for v in p[1]]
    frame = cur.execute(
        f"""SELECT * FROM (SELECT {_alert_columns(cur)} FROM alerts) WHERE {where}
            ORDER BY state IN ('open', 'acknowledged') DESC, {SEVERITY_ORDER} DESC, last_event_end DESC
            LIMIT {int(limit)}""", params).df()
    return frame.astype(object).where(frame.notna(), None)


@dataclass(frozen=True)
class ZoneStatus:
    zone_id: str
    name: str
    status: str          # normal | warning | critical (info alerts leave a zone normal)
    open_alerts: int
    supply: str | None
    reason: str = ""     # why, when the zone-status rules judge the zone worse than its alerts do


def zone_status(cur: duckdb.DuckDBPyConnection, scope: Scope = None) -> list[ZoneStatus]:
    """Every zone with the worst severity among its open and acknowledged alerts."""
    zones = cur.execute("SELECT zone_id, coalesce(name, zone_id), attrs FROM zones ORDER BY zone_id").fetchall()
    if scope is not None:
        where, params = meter_filter(scope)
        visible = {z for (z,) in cur.execute(f"SELECT DISTINCT zone_id FROM meters WHERE {where}", params).fetchall()}
        zones = [z for z in zones if z[0] in visible]
    worst: dict[str, tuple[int, int]] = {}
    if has_alerts(cur):
        where, params = _scope_filter(scope)
        worst = {z: (rank, n) for z, rank, n in cur.execute(
            f"""SELECT zone_id, max({SEVERITY_ORDER}), count(*) FROM alerts
                WHERE state IN ('open', 'acknowledged') AND {where} GROUP BY zone_id""", params).fetchall()}
    statuses = []
    for zone_id, name, attrs in zones:
        rank, n = worst.get(zone_id, (0, 0))
        supply = (json.loads(attrs) if attrs else {}).get("supply")
        statuses.append(ZoneStatus(zone_id, name, {3: "critical", 2: "warning"}.get(rank, "normal"), n, supply))
    return statuses


def with_zone_rules(statuses: list[ZoneStatus], judged: Iterable[RuledZoneStatus]) -> list[ZoneStatus]:
    """Each zone at the status the Overview gives it (`data.queries.zone_status`, whose rules weigh the
    alerts too), so that no page calls a zone Normal that another calls Critical; when those rules judge
    it worse than its alerts do, their first reason says why."""
    by_zone = {z.zone_id: z for z in judged}
    merged = []
    for zone in statuses:
        ruled = by_zone.get(zone.zone_id)
        level = ruled.status.lower() if ruled else zone.status
        if STATUS_RANK[level] > STATUS_RANK[zone.status]:
            zone = replace(zone, status=level, reason=ruled.reasons[0])
        merged.append(zone)
    return merged


def alert_kinds(cur: duckdb.DuckDBPyConnection, scope: Scope = None) -> list[str]:
    if not has_alerts(cur):
        return []
    where, params = _scope_filter(scope)
    return [k for (k,) in cur.execute(f"SELECT DISTINCT kind FROM alerts WHERE {where} ORDER BY kind",
                                      params).fetchall()]


def alert_concerns(cur: duckdb.DuckDBPyConnection, scope: Scope = None) -> list[str]:
    """The concerns alerts in scope carry (an older alerts table has none)."""
    if not has_alerts(cur):
        return []
    where, params = _scope_filter(scope)
    return [c for (c,) in cur.execute(f"SELECT DISTINCT concern FROM (SELECT {_alert_columns(cur)} FROM alerts) "
                                      f"WHERE {where} AND concern IS NOT NULL ORDER BY concern", params).fetchall()]


def zone_choices(cur: duckdb.DuckDBPyConnection, scope: Scope = None) -> list[tuple[str, str]]:
    return [(z.zone_id, z.name) for z in zone_status(cur, scope)]


def alert_detail(cur: duckdb.DuckDBPyConnection, alert_id: str, scope: Scope = None) -> dict | None:
    """One alert (within scope) with its history, newest change last; None when not found."""
    if not alert_id or not has_alerts(cur):
        return None
    where, params = _scope_filter(scope)
    frame = cur.execute(f"SELECT {_alert_columns(cur)} FROM alerts WHERE alert_id = ? AND {where}",
                        [alert_id] + params).df()
    if frame.empty:
        return None
    alert = frame.astype(object).where(frame.notna(), None).iloc[0].to_dict()
    alert["history"] = cur.execute(
        """SELECT changed_at, actor, action, to_state, note FROM alert_history WHERE alert_id = ?
           ORDER BY changed_at, CASE action WHEN 'opened' THEN 0 WHEN 'suppressed' THEN 0 ELSE 1 END""",
        [alert_id]).df().to_dict("records")
    return alert


@dataclass(frozen=True)
class AlertSeries:
    """An hourly series around an alert: value per hour with an optional min-max band."""

    frame: pd.DataFrame  # hour, value, low, high
    label: str
    unit: str


def _meter_quantity(cur: duckdb.DuckDBPyConnection, meter_id: str) -> tuple[str | None, str | None]:
    rows = cur.execute("SELECT quantity, category FROM meters WHERE meter_id = ?", [meter_id]).fetchall()
    return rows[0] if rows else (None, None)


def _supply_points_of(cur: duckdb.DuckDBPyConnection, zone_id: str | None) -> list[tuple[str, str]]:
    """(meter_id, category) of the zone's supply points (`data.queries.supply`)."""
    return cur.execute(f"SELECT meter_id, category FROM {SUPPLY_POINTS} WHERE zone_id = ? ORDER BY meter_id",
                       [zone_id]).fetchall()


def alert_series(cur: duckdb.DuckDBPyConnection, meter_id: str, zone_id: str | None, start: datetime,
                 end: datetime, before: timedelta = timedelta(hours=48),
                 after: timedelta = timedelta(hours=24)) -> AlertSeries:
    """The hourly series of the alert's meter (or its zone's inflow) from ``before`` start to ``after`` end."""
    lo, hi = start - before, end + after
    if meter_id.startswith("ZONE:"):
        zone_id = zone_id or meter_id.removeprefix("ZONE:")
        points = _supply_points_of(cur, zone_id)
        if len(points) > 1 or (points and points[0][1] != "inlet"):
            inflow, params = zone_inflow_hourly_sql(None)
            frame = cur.execute(
                f"""SELECT hour, inflow_l_s AS value, NULL AS low, NULL AS high FROM ({inflow}) i
                    WHERE zone_id = ? ORDER BY hour""", params + [lo, hi + timedelta(hours=1), zone_id]).df()
            return AlertSeries(frame, f"zone {zone_id} inflow through {', '.join(m for m, _ in points)} "
                                      "(hourly mean)", "L/s")
        if not points:
            frame = cur.execute(
                """SELECT hour, sum(volume_l) AS value, NULL AS low, NULL AS high FROM zone_hourly
                   WHERE zone_id = ? AND hour BETWEEN ? AND ? GROUP BY hour ORDER BY hour""",
                [zone_id, lo, hi]).df()
            return AlertSeries(frame, f"zone {zone_id} consumption", "L/h")
        meter_id = points[0][0]
    quantity, category = _meter_quantity(cur, meter_id)
    if is_consumption_meter(quantity, category):
        frame = cur.execute(
            """SELECT hour, volume_l AS value, NULL AS low, NULL AS high FROM meter_hourly
               WHERE meter_id = ? AND hour BETWEEN ? AND ? ORDER BY hour""", [meter_id, lo, hi]).df()
        return AlertSeries(frame, f"{meter_id} hourly consumption", "L/h")
    frame = cur.execute(
        """SELECT hour, total / n AS value, minimum AS low, maximum AS high FROM reading_hourly
           WHERE meter_id = ? AND quantity = ? AND hour BETWEEN ? AND ? ORDER BY hour""",
        [meter_id, quantity, lo, hi]).df()
    unit = {"flow": "L/s", "pressure": "bar", "level": "m"}.get(quantity or "", "")
    return AlertSeries(frame, f"{meter_id} {quantity or 'readings'} (hourly mean, min–max)", unit)
