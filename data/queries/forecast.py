"""What the Forecast page lists and what what-if scenarios need from the store.

Series choices (zones, meters with demand), each category's share of a series'
recent demand, and the typical demand of one customer of a category by local hour.
All read the hourly rollups of the last four weeks before the data's "now".
"""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pandas as pd

from data.queries.clock import data_now
from data.queries.scope import Scope, meter_filter
from data.units import NETWORK_CATEGORIES_SQL

RECENT = timedelta(days=28)


def series_choices(cur: duckdb.DuckDBPyConnection, scope: Scope = None) -> dict[str, list[str]]:
    """Zones and demand meters the caller may forecast: {'zones': [...], 'meters': [...]}."""
    where, params = meter_filter(scope)
    zones = [r[0] for r in cur.execute(
        f"SELECT DISTINCT zone_id FROM meters WHERE zone_id IS NOT NULL AND {where} ORDER BY zone_id",
        params).fetchall()]
    meters = [r[0] for r in cur.execute(
        f"""SELECT meter_id FROM meters WHERE quantity IN ('volume', 'interval_volume', 'flow')
            AND category IS DISTINCT FROM 'sensor' AND {where} ORDER BY (category = 'inlet') DESC, meter_id""",
        params).fetchall()]
    return {"zones": zones, "meters": meters}


def category_shares(cur: duckdb.DuckDBPyConnection, kind: str, ident: str | None, scope: Scope = None
                    ) -> dict[str, float]:
    """Share of each customer category in the recent demand of a zone, a meter or the city."""
    where, params = meter_filter(scope, "m.meter_id")
    end = data_now(cur, scope)
    if kind == "meter":
        row = cur.execute(f"SELECT category FROM meters m WHERE meter_id = ? AND {where}", [ident, *params]).fetchone()
        return {row[0] or "unknown": 1.0} if row else {}
    zone_clause, zone_params = ("m.zone_id = ?", [ident]) if kind == "zone" else ("TRUE", [])
    frame = cur.execute(
        f"""SELECT m.category, sum(h.volume_l) AS volume FROM meter_hourly h JOIN meters m USING (meter_id)
            WHERE {zone_clause} AND m.category NOT IN {NETWORK_CATEGORIES_SQL} AND {where}
              AND h.hour > ? GROUP BY ALL""",
        [*zone_params, *params, end - RECENT]).df()
    total = float(frame["volume"].sum()) if not frame.empty else 0.0
    if total <= 0:
        return {}
    return {str(c): float(v) / total for c, v in zip(frame["category"], frame["volume"])}


def per_customer_demand(cur: duckdb.DuckDBPyConnection, tz: str, scope: Scope = None) -> dict[str, pd.Series]:
    """Mean litres per hour of one customer of each category, by local hour of day (0..23)."""
    where, params = meter_filter(scope, "m.meter_id")
    end = data_now(cur, scope)
    frame = cur.execute(
        f"""SELECT m.category, hour(timezone(?, h.hour AT TIME ZONE 'UTC')) AS local_hour,
                   sum(h.volume_l) / count(DISTINCT h.meter_id) / count(DISTINCT h.hour) AS litres
            FROM meter_hourly h JOIN meters m USING (meter_id)
            WHERE m.category NOT IN {NETWORK_CATEGORIES_SQL} AND {where} AND h.hour > ?
            GROUP BY ALL""",
        [tz, *params, end - RECENT]).df()
    return {str(cat): group.set_index("local_hour")["litres"].sort_index() for cat, group in frame.groupby("category")}
