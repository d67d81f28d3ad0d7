"""Zone status: Normal, Warning or Critical per zone, with the rule that set it in plain words.

One function, `zone_statuses`, used by the Overview's zone cards and the Zones page.
It reads the zone's recent data — inlet freshness, the latest hourly pressure of
each sensor against the service band, last night's minimum flow against the
zone's typical night — and, when the alerts table exists, the worst open or
acknowledged alert of the zone. The worst finding sets the status; every finding
is kept as a reason, worst first, so a user sees why.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

import duckdb
import pandas as pd

from data.queries.night_flow import night_flow_minima
from data.queries.scope import Scope, meter_filter
from data.queries.supply import SUPPLY_POINTS

NORMAL, WARNING, CRITICAL = "Normal", "Warning", "Critical"
LEVELS = (NORMAL, WARNING, CRITICAL)
OPEN_ALERT_STATES = ("open", "acknowledged")
MIN_TYPICAL_NIGHTS = 3


@dataclass(frozen=True)
class StatusLimits:
    """Thresholds of the zone-status rules; `from_settings` takes them from the app's Settings."""

    pressure_min_bar: float = 1.5
    pressure_critical_bar: float = 1.0
    pressure_max_bar: float = 7.5
    stale_after_min: float = 60.0
    night_flow_warning_rise: float = 0.25
    night_flow_critical_rise: float = 0.60
    night_flow_min_rise_l_s: float = 0.05
    typical_nights: int = 14

    @classmethod
    def from_settings(cls, settings: object) -> StatusLimits:
        names = {"pressure_min_bar": "zone_pressure_min_bar", "pressure_critical_bar": "zone_pressure_critical_bar",
                 "pressure_max_bar": "zone_pressure_max_bar", "stale_after_min": "zone_stale_after_min",
                 "typical_nights": "night_flow_typical_nights"}
        return cls(**{f.name: getattr(settings, names.get(f.name, f.name), f.default) for f in fields(cls)})


@dataclass(frozen=True)
class ZoneStatus:
    zone_id: str
    name: str
    status: str                      # Normal | Warning | Critical
    reasons: list[str]               # worst first; for Normal, what was checked
    inflow_l_s: float | None         # latest hourly mean net inflow of the zone's reporting supply points
    pressure_bar: float | None       # lowest latest hourly mean pressure of the zone's sensors
    pressure_sensor: str | None


def zone_statuses(cur: duckdb.DuckDBPyConnection, now: datetime, scope: Scope = None,
                  limits: StatusLimits = StatusLimits()) -> list[ZoneStatus]:
    """Status of every zone (in scope) at ``now`` (naive UTC), ordered by zone id."""
    where, params = meter_filter(scope)
    zones = cur.execute(
        f"""SELECT zone_id, coalesce(name, zone_id) AS name FROM zones
            WHERE {'TRUE' if scope is None else f'zone_id IN (SELECT zone_id FROM meters WHERE {where})'}
            ORDER BY zone_id""",
        params,
    ).fetchall()
    if not zones:
        return []
    stale = timedelta(minutes=limits.stale_after_min)
    points = _supply_points(cur, scope)
    latest = _latest_hour(cur, now, stale, scope)
    nights = night_flow_minima(cur, now - timedelta(days=limits.typical_nights + 2), now, scope=scope)
    alerts = _open_alerts(cur)

    points_of = _by_zone(points)
    latest_of = _by_zone(latest)
    flow_of = {r["meter_id"]: r for r in latest.to_dict("records") if r["quantity"] == "flow"}
    nights_of = _by_zone(nights)
    statuses = []
    for zone_id, name in zones:
        zone_points = points_of.get(zone_id, [])
        flows = [flow_of[p["meter_id"]] for p in zone_points if p["meter_id"] in flow_of]
        pressures = [r for r in latest_of.get(zone_id, []) if r["quantity"] == "pressure"]
        supply_findings, reporting = _supply_findings(zone_points, flows, now, stale)
        current = [p["sign"] * flow_of[p["meter_id"]]["mean"] for p in zone_points if p["meter_id"] in reporting]
        findings = (_alert_findings(alerts.get(zone_id))
                    + _pressure_findings(pressures, now, stale, limits)
                    + _night_flow_findings(nights_of.get(zone_id, []), limits)
                    + supply_findings)
        level = max((f[0] for f in findings), default=0)
        reasons = [text for _, text in sorted(findings, key=lambda f: -f[0])]
        if not reasons:
            reasons = ["No inlet or pressure data to judge the zone by."]
        lowest = min(pressures, key=lambda r: r["mean"], default=None)
        statuses.append(ZoneStatus(
            zone_id, name, LEVELS[level], reasons,
            sum(current) if current else None,
            lowest["mean"] if lowest else None,
            lowest["meter_id"] if lowest else None,
        ))
    return statuses


def _by_zone(frame: pd.DataFrame) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in frame.to_dict("records"):
        grouped.setdefault(row["zone_id"], []).append(row)
    return grouped


def _supply_points(cur, scope: Scope) -> pd.DataFrame:
    """Each zone's supply points (`data.queries.supply`) with their sign and newest reading."""
    where, params = meter_filter(scope, "p.meter_id")
    return cur.execute(
        f"""SELECT p.meter_id, p.zone_id, p.sign, p.category, m.last_ts
            FROM {SUPPLY_POINTS} p JOIN meters m USING (meter_id)
            WHERE {where} ORDER BY p.meter_id""", params).df()


def _latest_hour(cur, now: datetime, stale: timedelta, scope: Scope) -> pd.DataFrame:
    """Each flow/pressure meter's newest hourly mean within the look-back window."""
    where, params = meter_filter(scope, "r.meter_id")
    return cur.execute(
        f"""SELECT r.meter_id, m.zone_id, r.quantity, max(r.hour) AS hour,
                   arg_max(r.total / r.n, r.hour) AS mean
            FROM reading_hourly r JOIN meters m USING (meter_id)
            WHERE r.quantity IN ('flow', 'pressure') AND r.hour > ? AND r.hour <= ? AND {where}
            GROUP BY ALL""",
        [now - stale - timedelta(hours=2), now] + params,
    ).df()


def _ago(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h" if minutes < 2880 else \
        f"{minutes / 1440:.0f} days"


def _supply_findings(points: list[dict], flows: list[dict], now: datetime,
                     stale: timedelta) -> tuple[list[tuple[int, str]], set[str]]:
    """A finding per supply point (inlet or outlet), stale when its newest reading at or before ``now`` is
    older than ``stale``; and the points still reporting (only theirs is the zone's inflow now)."""
    if not points:
        return [(1, "No inlet flow meter in this zone: its inflow and night flow cannot be watched.")], set()
    newest_hour = {r["meter_id"]: r["hour"] for r in flows}
    findings, reporting = [], set()
    for point in points:
        meter_id, last, kind = point["meter_id"], point["last_ts"], point["category"]
        if not pd.isna(last) and last <= now:
            exact = True
        else:  # a past 'now' (or no state): judge by the hourly statistics, to the hour
            exact, hour = False, newest_hour.get(meter_id)
            last = None if hour is None else hour
        if last is None:
            findings.append((1, f"No reading from {kind} {meter_id} in the last {_ago(stale)}."))
        elif now - last - (timedelta(0) if exact else timedelta(minutes=59)) > stale:
            text = (f"No reading from {kind} {meter_id} for {_ago(now - last)} "
                    f"(last at {last:%Y-%m-%d %H:%M} UTC).")
            findings.append((1, text))
        else:
            when = f"last at {last:%H:%M} UTC" if exact else f"readings in the hour from {last:%H:%M} UTC"
            findings.append((0, f"{kind.capitalize()} {meter_id} reporting ({when})."))
            reporting.add(meter_id)
    return findings, reporting


def _pressure_findings(pressures: list[dict], now: datetime, stale: timedelta,
                       limits: StatusLimits) -> list[tuple[int, str]]:
    limits_broken = [  # (level, test, words): the first that holds applies
        (2, lambda bar: bar < limits.pressure_critical_bar,
         f"below the {limits.pressure_critical_bar:.1f} bar critical minimum"),
        (1, lambda bar: bar < limits.pressure_min_bar, f"below the {limits.pressure_min_bar:.1f} bar service minimum"),
        (1, lambda bar: bar > limits.pressure_max_bar, f"above the {limits.pressure_max_bar:.1f} bar maximum"),
    ]
    findings, fine = [], []
    for meter_id, hour, mean in sorted((r["meter_id"], r["hour"], r["mean"]) for r in pressures):
        if now - (hour + timedelta(hours=1)) > stale:
            since = hour + timedelta(hours=1)
            findings.append((1, f"No reading from pressure sensor {meter_id} since {since:%H:%M} UTC."))
            continue
        broken = next(((level, words) for level, test, words in limits_broken if test(mean)), None)
        if broken:
            findings.append((broken[0], f"Pressure at {meter_id} {mean:.1f} bar, {broken[1]}."))
        else:
            fine.append(mean)
    if fine:
        band = f"{limits.pressure_min_bar:.1f}–{limits.pressure_max_bar:.1f} bar band"
        findings.append((0, f"Pressure {min(fine):.1f}–{max(fine):.1f} bar, within the {band}."))
    return findings


def _night_flow_findings(nights: list[dict], limits: StatusLimits) -> list[tuple[int, str]]:
    """Compare the newest complete night with the median of the nights before it."""
    complete = [n for n in nights if n["complete"]]
    if len(complete) <= MIN_TYPICAL_NIGHTS:
        return []
    last = complete[-1]
    typical = float(statistics.median(n["night_flow_l_s"] for n in complete[-1 - limits.typical_nights:-1]))
    flow = float(last["night_flow_l_s"])
    rise = flow - typical
    share = rise / abs(typical) if typical else float("inf") if rise > 0 else 0.0
    text = (f"Minimum night flow {flow:.2f} L/s on the night to {last['night']:%d %b} "
            f"({pd.Timestamp(last['at_local']):%H:%M} local), {share:+.0%} against the zone's typical {typical:.2f} L/s.")
    if rise >= limits.night_flow_min_rise_l_s and share >= limits.night_flow_critical_rise:
        return [(2, text)]
    if rise >= limits.night_flow_min_rise_l_s and share >= limits.night_flow_warning_rise:
        return [(1, text)]
    return [(0, text)]


def _open_alerts(cur) -> dict[str, tuple[int, int, str]]:
    """Per zone: (worst level, open alerts, explanation of the worst); empty without an alerts table."""
    exists = cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'alerts'").fetchone()[0]
    if not exists:
        return {}
    rows = cur.execute(
        """SELECT zone_id,
                  max(CASE severity WHEN 'critical' THEN 2 WHEN 'warning' THEN 1 ELSE 0 END) AS level,
                  count(*) AS n,
                  arg_max(coalesce(explanation, kind, ''),
                          CASE severity WHEN 'critical' THEN 2 WHEN 'warning' THEN 1 ELSE 0 END) AS worst
           FROM alerts WHERE state IN (SELECT unnest(?::VARCHAR[])) AND zone_id IS NOT NULL
           GROUP BY zone_id""",
        [list(OPEN_ALERT_STATES)],
    ).fetchall()
    return {zone: (int(level), int(n), worst) for zone, level, n, worst in rows}


def _alert_findings(alert: tuple[int, int, str] | None) -> list[tuple[int, str]]:
    if alert is None:
        return []
    level, n, worst = alert
    plural = "alert" if n == 1 else "alerts"
    return [(level, f"{n} open {plural}, worst {LEVELS[level].lower() if level else 'info'}: {worst}")]
