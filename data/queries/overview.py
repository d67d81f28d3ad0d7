"""What the Overview shows: the city's inflow now, today's consumption against a typical day, live series.

Zone inflow is measured by each zone's supply points (its ``inlet`` flow meters, and
``outlet`` meters taken off or, between two zones, added: `data.queries.supply`);
pressure per zone is the lowest of its pressure sensors, the service level
its worst-served customers see. Everything reads indexed rollups or a short
window of recent readings, never whole tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import pandas as pd

from data.queries.scope import Scope, meter_filter
from data.queries.supply import CITY_SUPPLY_POINTS, SUPPLY_POINTS
from data.queries.zone_status import StatusLimits
from data.units import NETWORK_CATEGORIES_SQL

#: How many previous same weekdays make "typical".
TYPICAL_WEEKS = 4


@dataclass(frozen=True)
class CityInflow:
    total_l_s: float | None       # None: no inlet is reporting
    zones_reporting: int
    zones_with_inlet: int         # the meters the city's inflow is summed from: inlets and outlets
    as_of: datetime | None
    outlets: int = 0              # of them, outlets (water leaving the network)


@dataclass(frozen=True)
class TodayConsumption:
    day: str                      # the local calendar day, ISO
    hours: int                    # local hours elapsed and compared
    volume_l: float | None        # None: no customer meter has readings in those hours (a store of inlets only)
    typical_l: float | None       # mean of the same hours on the previous same weekdays
    weeks: int                    # how many previous weekdays had data
    whole_day: bool = False       # the hours compared are the whole local day (23, 24 or 25 of them)

    @property
    def change(self) -> float | None:
        if not self.typical_l or self.volume_l is None:
            return None
        return self.volume_l / self.typical_l - 1.0


def monitoring_points(cur: duckdb.DuckDBPyConnection, scope: Scope = None) -> pd.DataFrame:
    """Zones' supply flow meters and pressure sensors: meter_id, zone_id, quantity (a boundary meter under
    both of its zones)."""
    where, params = meter_filter(scope, "meter_id")
    return cur.execute(
        f"""SELECT DISTINCT meter_id, zone_id, quantity FROM (
                SELECT p.meter_id, p.zone_id, m.quantity FROM {SUPPLY_POINTS} p JOIN meters m USING (meter_id)
                WHERE m.quantity = 'flow'
                UNION ALL
                SELECT meter_id, zone_id, quantity FROM meters WHERE zone_id IS NOT NULL AND quantity = 'pressure')
            WHERE {where}
            ORDER BY zone_id, quantity, meter_id""",
        params,
    ).df()


def city_inflow(cur: duckdb.DuckDBPyConnection, now: datetime, scope: Scope = None,
                limits: StatusLimits = StatusLimits()) -> CityInflow:
    """Signed sum of the latest flow before ``now`` of each reporting meter the city takes water in or lets
    it out through (`data.queries.supply`: a boundary meter between two of its zones is neither). A meter is
    reporting by the rule of the zone status (`data.queries.zone_status`): a reading within
    ``limits.stale_after_min``."""
    where, params = meter_filter(scope, "m.meter_id")
    inlets, outlets, reporting, total, as_of = cur.execute(
        f"""WITH inlets AS (
                SELECT p.meter_id, p.sign FROM {CITY_SUPPLY_POINTS} p JOIN meters m USING (meter_id)
                WHERE {where} AND m.quantity = 'flow'),
            latest AS (
                SELECT r.meter_id, arg_max(r.value, r.ts) * any_value(i.sign) AS flow, max(r.ts) AS ts
                FROM readings r JOIN inlets i USING (meter_id)
                WHERE r.quantity = 'flow' AND r.ts > ? AND r.ts <= ?
                GROUP BY r.meter_id)
            SELECT (SELECT count(*) FROM inlets), (SELECT count(*) FROM inlets WHERE sign < 0),
                   count(*), sum(flow), max(ts) FROM latest""",
        params + [now - timedelta(minutes=limits.stale_after_min), now],
    ).fetchone()
    return CityInflow(None if not reporting else float(total), int(reporting), int(inlets), as_of, int(outlets))


def city_time_zone(cur: duckdb.DuckDBPyConnection) -> str:
    """The time zone most zones keep (the city's calendar); UTC when there are no zones."""
    row = cur.execute("SELECT tz FROM zones GROUP BY tz ORDER BY count(*) DESC, tz LIMIT 1").fetchone()
    return row[0] if row else "UTC"


def consumption_today(cur: duckdb.DuckDBPyConnection, now: datetime, tz: str,
                      scope: Scope = None) -> TodayConsumption:
    """Customer consumption since local midnight against the same hours of previous same weekdays.

    Only the hours the customer meters have delivered count: meters read once a day by a head-end
    system can lag hours behind the live network sensors that set ``now``.
    """
    midnight = pd.Timestamp(now).tz_localize("UTC").tz_convert(tz).normalize()
    return _day_so_far(cur, midnight, now, tz, scope)


def consumption_yesterday(cur: duckdb.DuckDBPyConnection, now: datetime, tz: str,
                          scope: Scope = None) -> TodayConsumption:
    """`consumption_today` of the local day before ``now``'s: the whole day, or the hours of it delivered."""
    today = pd.Timestamp(now).tz_localize("UTC").tz_convert(tz).normalize()
    midnight = (today - pd.Timedelta(hours=12)).normalize()
    return _day_so_far(cur, midnight, today.tz_convert("UTC").tz_localize(None).to_pydatetime(), tz, scope)


def _day_so_far(cur: duckdb.DuckDBPyConnection, midnight: pd.Timestamp, until: datetime, tz: str,
                scope: Scope) -> TodayConsumption:
    where, params = meter_filter(scope, "h.meter_id")
    in_scope, _ = meter_filter(scope, "m.meter_id")
    delivered = cur.execute(f"SELECT max(m.last_ts) FROM meters m WHERE {in_scope} AND m.category NOT IN "
                            f"{NETWORK_CATEGORIES_SQL}", params).fetchone()[0]
    until = until if delivered is None else min(until, delivered)
    elapsed = max(pd.Timestamp(until).tz_localize("UTC").tz_convert(tz) - midnight, pd.Timedelta(0))
    starts = [midnight - pd.Timedelta(weeks=w) for w in range(TYPICAL_WEEKS + 1)]
    windows = [(s.tz_convert("UTC").tz_localize(None), (s + elapsed).tz_convert("UTC").tz_localize(None))
               for s in starts]
    ranges = " OR ".join("(h.hour >= ? AND h.hour < ?)" for _ in windows)
    cases = ", ".join(f"sum(CASE WHEN h.hour >= ? AND h.hour < ? THEN h.volume_l END) AS w{i}"
                      for i in range(len(windows)))
    flat = [t.to_pydatetime() for window in windows for t in window]
    row = cur.execute(
        f"""SELECT {cases} FROM meter_hourly h JOIN meters m USING (meter_id)
            WHERE {where} AND m.category NOT IN {NETWORK_CATEGORIES_SQL} AND ({ranges})""",
        flat + params + flat,
    ).fetchone()
    volume, previous = row[0], [v for v in row[1:] if v is not None]
    typical = sum(previous) / len(previous) if previous else None
    day_length = (midnight + pd.Timedelta(hours=36)).normalize() - midnight
    return TodayConsumption(midnight.date().isoformat(), int(elapsed / pd.Timedelta(hours=1)),
                            None if volume is None else float(volume), typical, len(previous),
                            whole_day=elapsed >= day_length)


def open_alert_count(cur: duckdb.DuckDBPyConnection, scope: Scope = None) -> int | None:
    """Open or acknowledged alerts; None where alerting has not created its table yet."""
    exists = cur.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'alerts'").fetchone()[0]
    if not exists:
        return None
    where, params = meter_filter(scope)
    return cur.execute(
        f"SELECT count(*) FROM alerts WHERE {where} AND state IN ('open', 'acknowledged')", params
    ).fetchone()[0]


def live_series(cur: duckdb.DuckDBPyConnection, since: datetime, until: datetime,
                scope: Scope = None) -> pd.DataFrame:
    """Zone net inflow (L/s, the signed sum of its supply points) and lowest zone pressure (bar) per timestamp
    in ``(since, until]``.

    Columns: ts, zone_id, quantity ('flow' or 'pressure'), value; sorted by ts.
    """
    where, params = meter_filter(scope, "r.meter_id")
    return cur.execute(
        f"""WITH points AS (
                SELECT meter_id, zone_id, sign, 'flow' AS quantity FROM {SUPPLY_POINTS}
                UNION ALL
                SELECT meter_id, zone_id, 1.0, 'pressure' FROM meters WHERE zone_id IS NOT NULL)
            SELECT r.ts, p.zone_id, r.quantity,
                   CASE r.quantity WHEN 'flow' THEN sum(p.sign * r.value) ELSE min(r.value) END AS value
            FROM readings r JOIN points p ON p.meter_id = r.meter_id AND p.quantity = r.quantity
            WHERE {where} AND r.ts > ? AND r.ts <= ?
            GROUP BY r.ts, p.zone_id, r.quantity ORDER BY r.ts, p.zone_id, r.quantity""",
        params + [since, until],
    ).df()
