"""Queries of the Explore page: consumption of a period by its child buckets, the hour x weekday
profile and the top consumers, for a zone, customer category or meter, in a chosen time zone.

Everything reads the rollups. Hourly rollups are UTC hours: they are bucketed
into the chosen time zone's calendar, so a day over a DST change has 23 or 25
hours. Daily rollups are in each meter's own calendar: they are used for days,
months and years only when every meter in view keeps the chosen time zone
(the common case, and 24 times fewer rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from data.queries.periods import CHILD, Period, hour_period, local_to_utc
from data.queries.rollup_source import NON_CUSTOMER, zone_volumes_sql
from data.queries.scope import Scope, meter_filter

TOP_LIMIT = 10


@dataclass(frozen=True)
class ExploreFilter:
    """What to look at: one meter, or customer meters of a zone and/or category (None = all)."""

    zone_id: str | None = None
    category: str | None = None
    meter_id: str | None = None


def _volumes_sql(grain: str, filt: ExploreFilter, scope: Scope) -> tuple[str, list]:
    """SQL of (bucket, volume_l, estimated_l) rows at ``grain`` for the filter, customers only."""
    if filt.meter_id is not None:
        where, params = meter_filter(scope)
        suffix = "hourly" if grain == "hour" else "daily"
        return (f"""SELECT {grain} AS bucket, volume_l, estimated_l FROM meter_{suffix}
                    WHERE meter_id = ? AND {where}""", [filt.meter_id] + params)
    source, params = zone_volumes_sql(grain, scope)
    clauses, extra = [], []
    if filt.zone_id is not None:
        clauses.append("zone_id = ?")
        extra.append(filt.zone_id)
    if filt.category is not None:
        clauses.append("category = ?")
        extra.append(filt.category)
    clauses.append("category NOT IN (SELECT unnest(?::VARCHAR[]))")
    extra.append(list(NON_CUSTOMER))
    return (f"SELECT bucket, volume_l, estimated_l FROM ({source}) v WHERE {' AND '.join(clauses)}",
            params + extra)


def daily_rollups_match(cur: duckdb.DuckDBPyConnection, filt: ExploreFilter, tz: str) -> bool:
    """True when every meter in view keeps ``tz``, so daily rollups are days of that calendar."""
    return meter_time_zones(cur, filt) == [tz]


def meter_time_zones(cur: duckdb.DuckDBPyConnection, filt: ExploreFilter) -> list[str]:
    """The time zones (calendars of the daily rollups) of the meters in view."""
    if filt.meter_id is not None:
        clause, params = "meter_id = ?", [filt.meter_id]
    else:
        clause, params = "category NOT IN (SELECT unnest(?::VARCHAR[]))", [list(NON_CUSTOMER)]
        if filt.zone_id is not None:
            clause += " AND zone_id = ?"
            params.append(filt.zone_id)
        if filt.category is not None:
            clause += " AND category = ?"
            params.append(filt.category)
    return cur.execute(f"SELECT list(DISTINCT tz) FROM meters WHERE {clause}", params).fetchone()[0] or []


def consumption_by_child(cur: duckdb.DuckDBPyConnection, period: Period, filt: ExploreFilter,
                         scope: Scope = None) -> pd.DataFrame:
    """Consumption of ``period`` per child bucket (years of all, months of a year, days of a month,
    hours of a day) in the period's time zone.

    Columns: key (the child period's key, for drilling down), label, volume_l, estimated_l.
    Buckets without any consumption record are absent.
    """
    child = CHILD.get(period.level)
    if child is None:
        raise ValueError("an hour has no smaller buckets: see its top consumers")
    start, end = period.bounds_utc()
    if child == "hour":
        return _hours_of_day(cur, period, filt, scope)
    if daily_rollups_match(cur, filt, period.tz):
        source, params = _volumes_sql("day", filt, scope)
        frame = cur.execute(
            f"""SELECT date_trunc('{child}', bucket) AS local_start,
                       sum(volume_l) AS volume_l, sum(estimated_l) AS estimated_l
                FROM ({source}) s WHERE bucket >= ? AND bucket < ?
                GROUP BY local_start ORDER BY local_start""",
            params + [period.start_local.date(), period.end_local.date()],
        ).df()
    else:
        hours = _utc_hours(cur, filt, scope, start, end)
        local = _to_local(hours["hour"], period.tz).dt.tz_localize(None)
        frame = (hours.assign(local_start=local.dt.to_period({"year": "Y", "month": "M", "day": "D"}[child])
                              .dt.start_time)
                 .groupby("local_start", as_index=False)[["volume_l", "estimated_l"]].sum())
    form = {"year": "%Y", "month": "%Y-%m", "day": "%Y-%m-%d"}[child]
    label = {"year": "%Y", "month": "%b %Y", "day": "%a %d"}[child]
    starts = pd.to_datetime(frame["local_start"])
    frame["key"] = starts.dt.strftime(form)
    frame["label"] = starts.dt.strftime(label)
    return frame[["key", "label", "volume_l", "estimated_l"]]


def _utc_hours(cur, filt: ExploreFilter, scope: Scope, start, end) -> pd.DataFrame:
    """Volumes per UTC hour in [start, end): at most 8,784 rows a year, bucketed locally in pandas."""
    source, params = _volumes_sql("hour", filt, scope)
    return cur.execute(
        f"""SELECT bucket AS hour, sum(volume_l) AS volume_l, sum(estimated_l) AS estimated_l
            FROM ({source}) s WHERE bucket >= ? AND bucket < ? GROUP BY bucket ORDER BY bucket""",
        params + [start, end],
    ).df()


def _to_local(hours: pd.Series, tz: str) -> pd.Series:
    """Naive UTC hours as aware local times."""
    return pd.to_datetime(hours).dt.tz_localize("UTC").dt.tz_convert(tz)


def _hours_of_day(cur, period: Period, filt: ExploreFilter, scope: Scope) -> pd.DataFrame:
    """The UTC hours of a local day, labelled by local clock; a repeated hour is told apart by its zone name."""
    start, end = period.bounds_utc()
    frame = _utc_hours(cur, filt, scope, start, end)
    local = _to_local(frame["hour"], period.tz)
    clock = local.dt.strftime("%H:%M")
    repeated = clock.duplicated(keep=False)
    zone_names = pd.Series([t.tzname() for t in local], index=local.index, dtype="str")
    frame["label"] = clock.where(~repeated, clock + " " + zone_names)
    frame["key"] = [hour_period(t, period.tz).key for t in local]
    return frame[["key", "label", "volume_l", "estimated_l"]]


def period_total(cur: duckdb.DuckDBPyConnection, period: Period, filt: ExploreFilter,
                 scope: Scope = None) -> tuple[float, float]:
    """Total and estimated litres of ``period`` (read from the hourly rollups)."""
    start, end = period.bounds_utc()
    source, params = _volumes_sql("hour", filt, scope)
    total, estimated = cur.execute(
        f"SELECT sum(volume_l), sum(estimated_l) FROM ({source}) s WHERE bucket >= ? AND bucket < ?",
        params + [start, end]).fetchone()
    return total or 0.0, estimated or 0.0


def weekday_hour_profile(cur: duckdb.DuckDBPyConnection, period: Period, filt: ExploreFilter,
                         scope: Scope = None) -> pd.DataFrame:
    """Mean consumption per local (weekday, hour) over ``period``: the peak-usage heatmap.

    Columns: weekday (0 = Monday), hour (0-23), mean_l (litres per such hour,
    averaged over the hours of the period that lie within the data), hours.
    """
    start, end = period.bounds_utc()
    hours = _utc_hours(cur, filt, scope, start, end)
    if hours.empty:
        return pd.DataFrame({"weekday": [], "hour": [], "mean_l": [], "hours": []})
    local = _to_local(hours["hour"], period.tz)
    totals = hours.assign(weekday=local.dt.day_of_week, hour=local.dt.hour).groupby(["weekday", "hour"])["volume_l"].sum()
    span = pd.date_range(hours["hour"].min(), hours["hour"].max(), freq="h", tz="UTC").tz_convert(period.tz)
    calendar = pd.DataFrame({"weekday": span.day_of_week, "hour": span.hour}).value_counts().rename("hours")
    frame = totals.to_frame().join(calendar, how="left")
    frame["mean_l"] = frame["volume_l"] / frame["hours"]
    return frame.reset_index()[["weekday", "hour", "mean_l", "hours"]].sort_values(["weekday", "hour"])


def top_consumers(cur: duckdb.DuckDBPyConnection, period: Period, filt: ExploreFilter, scope: Scope = None,
                  limit: int = TOP_LIMIT) -> pd.DataFrame:
    """The customer meters that used most in ``period`` (within the zone/category filter).

    Columns: meter_id, zone_id, category, volume_l, share_pct (of all customer
    meters in the filter), estimated_l.
    """
    where, params = meter_filter(scope, "r.meter_id")
    clauses = ["m.category NOT IN (SELECT unnest(?::VARCHAR[]))"]
    extra: list = [list(NON_CUSTOMER)]
    if filt.zone_id is not None:
        clauses.append("m.zone_id = ?")
        extra.append(filt.zone_id)
    if filt.category is not None:
        clauses.append("m.category = ?")
        extra.append(filt.category)
    parts = _meter_rollup_parts(period, meter_time_zones(cur, ExploreFilter(filt.zone_id, filt.category)))
    union = " UNION ALL ".join(
        f"SELECT meter_id, volume_l, estimated_l FROM {table} WHERE {key} >= ? AND {key} < ?"
        for table, key, _, _ in parts)
    bounds = [bound for _, _, lo, hi in parts for bound in (lo, hi)]
    return cur.execute(
        f"""
        WITH used AS (
            SELECT r.meter_id, any_value(m.zone_id) AS zone_id, any_value(m.category) AS category,
                   sum(r.volume_l) AS volume_l, sum(r.estimated_l) AS estimated_l
            FROM ({union}) r JOIN meters m USING (meter_id)
            WHERE {where} AND {' AND '.join(clauses)}
            GROUP BY r.meter_id
        )
        SELECT meter_id, zone_id, category, volume_l,
               100 * volume_l / nullif(sum(volume_l) OVER (), 0) AS share_pct, estimated_l
        FROM used ORDER BY volume_l DESC, meter_id LIMIT {int(limit)}
        """,
        bounds + params + extra,
    ).df()


def _meter_rollup_parts(period: Period, meter_tzs: list[str]) -> list[tuple[str, str, object, object]]:
    """(table, key column, from, to) ranges of the meter rollups that add up to exactly ``period``.

    Whole days of the meters' own calendar come from the daily rollups; the
    hours before the first and after the last whole day from the hourly ones.
    Meters in several time zones, or a day or an hour, read hours only.
    """
    start, end = period.bounds_utc()
    if period.level in ("day", "hour") or len(meter_tzs) != 1:
        return [("meter_hourly", "hour", start, end)]
    tz = meter_tzs[0]
    first = pd.Timestamp(start).tz_localize("UTC").tz_convert(tz).tz_localize(None).normalize()
    if local_to_utc(first, tz) < start:
        first += pd.Timedelta(days=1)
    last = pd.Timestamp(end).tz_localize("UTC").tz_convert(tz).tz_localize(None).normalize()
    if last <= first:
        return [("meter_hourly", "hour", start, end)]
    parts = [("meter_daily", "day", first.date(), last.date())]
    if local_to_utc(first, tz) > start:
        parts.append(("meter_hourly", "hour", start, local_to_utc(first, tz)))
    if local_to_utc(last, tz) < end:
        parts.append(("meter_hourly", "hour", local_to_utc(last, tz), end))
    return parts


def explore_choices(cur: duckdb.DuckDBPyConnection, scope: Scope = None) -> dict[str, list]:
    """Zones, customer categories and customer meters (with zone and category) the filters offer."""
    where, params = meter_filter(scope)
    zones = cur.execute(
        f"""SELECT zone_id, coalesce(name, zone_id) FROM zones
            WHERE zone_id IN (SELECT zone_id FROM meters WHERE {where}) ORDER BY zone_id""", params).fetchall()
    meters = cur.execute(
        f"""SELECT meter_id, zone_id, category FROM meters
            WHERE category NOT IN (SELECT unnest(?::VARCHAR[])) AND {where} ORDER BY meter_id""",
        [list(NON_CUSTOMER)] + params).fetchall()
    return {
        "zones": zones,
        "categories": sorted({category for _, _, category in meters if category}),
        "meters": meters,
    }


def time_zones_in_use(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """The time zones of the zones in the store, most common first."""
    return [tz for (tz,) in cur.execute(
        "SELECT tz FROM meters WHERE zone_id IS NOT NULL GROUP BY tz ORDER BY count(*) DESC").fetchall()]


def data_years(cur: duckdb.DuckDBPyConnection) -> tuple[int, int] | None:
    """First and last year with consumption in the daily rollups."""
    first, last = cur.execute("SELECT min(day), max(day) FROM zone_daily").fetchone()
    return None if first is None else (first.year, last.year)
