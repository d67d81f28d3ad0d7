"""One meter seen whole, for the Meters page: who it is, what it used, how good its data is, what happened.

Consumption comes from the hourly and daily rollups, sensor values (flow,
pressure, level) from `reading_hourly`; raw readings and intervals are read
only inside the shown window, where the store's time-ordered zone maps keep
the scan short. Events come from the simulator's ground truth (`event_labels`)
and from the detectors' `detected_events` and `alerts` when those tables exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import pandas as pd

from data.register_rows import REGISTER_COLUMNS
from data.quality import Flag, describe
from data.queries.catalog import table_columns
from data.queries.scope import Scope, meter_filter
from data.units import VOLUME_QUANTITIES

#: Above this many days the page shows daily volumes and values rather than hourly ones.
HOURLY_UP_TO_DAYS = 31

#: Gaps and reading flags are counted over at most this many recent days (they scan raw rows).
QUALITY_DAYS = 30


@dataclass(frozen=True)
class MeterInfo:
    meter_id: str
    zone_id: str | None
    category: str | None
    quantity: str
    unit: str | None
    tz: str
    interval_s: float | None
    last_ts: datetime | None
    last_seen_at: datetime | None

    @property
    def is_consumption(self) -> bool:
        return self.quantity in ("volume", "interval_volume", "flow")


@dataclass(frozen=True)
class MeterQuality:
    volume_l: float
    estimated_l: float
    gaps: int                  # intervals spread over a gap in the readings (last QUALITY_DAYS days)
    gap_hours: float
    counted_days: int          # days over which gaps and flags were counted
    flags: pd.DataFrame        # flag, readings
    quarantine: pd.DataFrame   # reason, messages, last_at
    quarantine_recent: pd.DataFrame

    @property
    def estimated_share(self) -> float | None:
        return self.estimated_l / self.volume_l if self.volume_l > 0 else None


def meter_choices(cur: duckdb.DuckDBPyConnection, search: str | None = None, scope: Scope = None,
                  limit: int = 100, keep: str | None = None) -> list[dict]:
    """Meters in scope matching ``search`` (id, zone or category, any case) as dropdown options.

    At most ``limit`` options, ordered by id; ``keep`` (the chosen meter) is always among them.
    """
    where, params = meter_filter(scope)
    pattern = f"%{(search or '').strip()}%"
    rows = cur.execute(
        f"""SELECT meter_id, coalesce(zone_id, '–'), coalesce(category, '?'), quantity FROM meters
            WHERE {where} AND (meter_id ILIKE ? OR zone_id ILIKE ? OR category ILIKE ? OR meter_id = ?)
            ORDER BY meter_id = ? DESC, meter_id LIMIT {int(limit)}""",
        [*params, pattern, pattern, pattern, keep, keep]).fetchall()
    options = [{"label": f"{m} · {z} · {c} ({q})", "value": m} for m, z, c, q in rows]
    return sorted(options, key=lambda o: o["value"])


def meter_info(cur: duckdb.DuckDBPyConnection, meter_id: str, scope: Scope = None) -> MeterInfo | None:
    """The meter's registration and state, or None when it is unknown or out of scope."""
    where, params = meter_filter(scope)
    row = cur.execute(
        f"""SELECT meter_id, zone_id, category, quantity, unit, tz, interval_s, last_ts, last_seen_at
            FROM meters WHERE meter_id = ? AND {where}""", [meter_id, *params]).fetchone()
    return MeterInfo(*row) if row else None


def meter_window(info: MeterInfo, now: datetime, days: int) -> tuple[datetime, datetime]:
    """The shown window: ``days`` days ending at the meter's newest reading (or ``now``)."""
    end = min(now, info.last_seen_at or now) if info.last_ts is None else min(now, info.last_ts)
    end = end.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return end - timedelta(days=days), end


def meter_consumption(cur: duckdb.DuckDBPyConnection, info: MeterInfo, start: datetime,
                      end: datetime) -> pd.DataFrame:
    """Volume per hour (short windows) or per local day: columns period, volume_l, estimated_l."""
    if (end - start).days <= HOURLY_UP_TO_DAYS:
        sql = """SELECT hour AS period, volume_l, estimated_l FROM meter_hourly
                 WHERE meter_id = ? AND hour >= ? AND hour < ? ORDER BY hour"""
        return cur.execute(sql, [info.meter_id, start, end]).df()
    sql = """SELECT day::TIMESTAMP AS period, volume_l, estimated_l FROM meter_daily
             WHERE meter_id = ? AND day >= ?::DATE AND day < ?::DATE ORDER BY day"""
    return cur.execute(sql, [info.meter_id, start, end]).df()


def meter_flow(cur: duckdb.DuckDBPyConnection, info: MeterInfo, start: datetime, end: datetime) -> pd.DataFrame:
    """Mean, min and max of the meter's measured quantity per hour (per day over long windows).

    Registers give their mean flow (L/s) from the volume rollups. Columns: hour, mean, minimum, maximum, quantity.
    """
    daily = (end - start).days > HOURLY_UP_TO_DAYS
    if info.quantity in VOLUME_QUANTITIES:
        if daily:
            sql = """SELECT day::TIMESTAMP AS hour, volume_l / 86400.0 AS mean, NULL::DOUBLE AS minimum,
                            NULL::DOUBLE AS maximum, 'flow' AS quantity FROM meter_daily
                     WHERE meter_id = ? AND day >= ?::DATE AND day < ?::DATE ORDER BY day"""
        else:
            sql = """SELECT hour, volume_l / 3600.0 AS mean, NULL::DOUBLE AS minimum, NULL::DOUBLE AS maximum,
                            'flow' AS quantity FROM meter_hourly
                     WHERE meter_id = ? AND hour >= ? AND hour < ? ORDER BY hour"""
        return cur.execute(sql, [info.meter_id, start, end]).df()
    bucket = "time_bucket(INTERVAL 1 DAY, hour)" if daily else "hour"
    return cur.execute(
        f"""SELECT {bucket} AS hour, sum(total) / sum(n) AS mean, min(minimum) AS minimum, max(maximum) AS maximum,
                   quantity
            FROM reading_hourly WHERE meter_id = ? AND hour >= ? AND hour < ?
            GROUP BY ALL ORDER BY quantity, hour""",
        [info.meter_id, start, end]).df()


def _quarantine(cur: duckdb.DuckDBPyConnection, meter_id: str, limit: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    grouped = cur.execute(
        """SELECT reason, count(*) AS messages, max(received_at) AS last_at FROM quarantine
           WHERE meter_id = ? GROUP BY reason ORDER BY messages DESC, reason LIMIT 20""", [meter_id]).df()
    recent = cur.execute(
        f"""SELECT received_at, reason, left(payload, 160) AS payload FROM quarantine
            WHERE meter_id = ? ORDER BY received_at DESC LIMIT {int(limit)}""", [meter_id]).df()
    return grouped, recent


def meter_quality(cur: duckdb.DuckDBPyConnection, info: MeterInfo, start: datetime, end: datetime,
                  recent: int = 10) -> MeterQuality:
    """Estimated share in the window; gaps and reading flags over its last `QUALITY_DAYS` days;
    the meter's quarantined messages."""
    recent_start = max(start, end - timedelta(days=QUALITY_DAYS))
    volume_l, estimated_l = cur.execute(
        """SELECT coalesce(sum(volume_l), 0), coalesce(sum(estimated_l), 0) FROM meter_hourly
           WHERE meter_id = ? AND hour >= ? AND hour < ?""", [info.meter_id, start, end]).fetchone()
    gaps, gap_s = cur.execute(
        f"""SELECT count(*), coalesce(sum(epoch(ts_end - ts_start)), 0) FROM consumption
            WHERE meter_id = ? AND ts_end >= ? AND ts_end < ? AND (flags & {int(Flag.ESTIMATED)}) <> 0""",
        [info.meter_id, recent_start, end]).fetchone()
    by_mask = cur.execute(
        """SELECT flags, count(*) AS readings FROM readings
           WHERE meter_id = ? AND ts >= ? AND ts < ? AND flags <> 0 GROUP BY flags""",
        [info.meter_id, recent_start, end]).fetchall()
    counts: dict[str, int] = {}
    for mask, n in by_mask:
        for name in describe(mask):
            counts[name] = counts.get(name, 0) + n
    flags = pd.DataFrame(sorted(counts.items(), key=lambda kv: -kv[1]), columns=["flag", "readings"])
    grouped, latest = _quarantine(cur, info.meter_id, recent)
    return MeterQuality(float(volume_l), float(estimated_l), int(gaps), float(gap_s) / 3600,
                        round((end - recent_start).total_seconds() / 86400), flags, grouped, latest)


def _tables(cur: duckdb.DuckDBPyConnection, names: tuple[str, ...]) -> set[str]:
    rows = cur.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND table_name IN "
                       "(SELECT unnest(?::VARCHAR[]))", [list(names)]).fetchall()
    return {r[0] for r in rows}


def _concern_words(cur: duckdb.DuckDBPyConnection, table: str) -> str:
    """SQL for a row's concern in words (detected events and alerts keep one; older stores may not: NULL)."""
    return "replace(concern, '_', ' ')" if "concern" in table_columns(cur, table) else "NULL"


def meter_events(cur: duckdb.DuckDBPyConnection, meter_id: str, scope: Scope = None, limit: int = 50) -> pd.DataFrame:
    """Everything known to have happened at the meter, newest first.

    Columns: source ('simulated ground truth', 'detected', 'alert'), kind, start, end, detail (for detected
    events and alerts, their concern first: "water loss: ...").
    """
    if scope is not None and meter_id not in set(scope):
        return pd.DataFrame(columns=["source", "kind", "start", "end", "detail"])
    parts, args = [], []
    present = _tables(cur, ("event_labels", "detected_events", "alerts"))
    if "event_labels" in present:
        parts.append("""SELECT 'simulated ground truth' AS source, kind, start, "end",
                               coalesce(note, '') || CASE WHEN magnitude IS NULL THEN ''
                                   ELSE ' (' || round(magnitude, 3) || ' ' || coalesce(unit, '') || ')' END AS detail
                        FROM event_labels WHERE asset = ?""")
        args.append(meter_id)
    if "detected_events" in present:
        parts.append(f"""SELECT 'detected' AS source, kind, start, "end",
                                coalesce({_concern_words(cur, 'detected_events')} || ': ', '')
                                || coalesce(explanation, '') || ' (score ' || round(score, 2) || ')' AS detail
                         FROM detected_events WHERE meter_id = ?""")
        args.append(meter_id)
    if "alerts" in present:
        parts.append(f"""SELECT 'alert' AS source, kind, opened_at AS start, NULL::TIMESTAMP AS "end",
                                severity || ', ' || replace(state, '_', ' ')
                                || coalesce(', ' || {_concern_words(cur, 'alerts')}, '') || ': '
                                || coalesce(explanation, '') AS detail
                         FROM alerts WHERE meter_id = ?""")
        args.append(meter_id)
    if not parts:
        return pd.DataFrame(columns=["source", "kind", "start", "end", "detail"])
    sql = " UNION ALL ".join(f"({p})" for p in parts)
    return cur.execute(f"SELECT * FROM ({sql}) ORDER BY start DESC LIMIT {int(limit)}", args).df()


def meter_register(cur: duckdb.DuckDBPyConnection, zone_id: str | None = None,
                   category: str | None = None) -> pd.DataFrame:
    """The registered meters as an asset register (the columns `meters load` reads back), with how and when
    each was registered and last heard from; optionally one zone's (as a meter's zone or an outlet's
    destination) or one category's."""
    return cur.execute(
        f"""SELECT {', '.join(REGISTER_COLUMNS)}, registered_by, registered_at, last_seen_at FROM meters
            WHERE ($zone IS NULL OR zone_id = $zone OR to_zone_id = $zone)
              AND ($category IS NULL OR category = $category)
            ORDER BY meter_id""", {"zone": zone_id, "category": category}).df()
