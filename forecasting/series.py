"""Demand series read from the store's rollups: a zone, a meter or the whole city, per hour or day.

A series is indexed by naive UTC period start (like the store) and carries its time
zone, so models can work on the local clock. Flow meters (a DMA inlet) give their
hourly mean flow in L/s; volume meters, zones and the city give litres per period.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from data.queries.scope import Scope, meter_filter
from data.queries.supply import supply_volumes_sql
from data.units import NETWORK_CATEGORIES_SQL

FREQUENCIES = ("h", "D")
CITY = "city"


class SeriesError(ValueError):
    """The series asked for does not exist or cannot be forecast; the message says why."""


@dataclass(frozen=True)
class SeriesKey:
    """What to forecast: ``kind`` is 'zone', 'meter' or 'city'; ``ident`` the zone or meter id."""

    kind: str
    ident: str = CITY

    @property
    def label(self) -> str:
        return "City" if self.kind == CITY else f"{self.kind} {self.ident}"


@dataclass(frozen=True)
class DemandSeries:
    key: SeriesKey
    values: pd.Series          # naive UTC period start -> demand; missing periods absent or NaN
    unit: str                  # 'L/s' (mean flow) or 'L' (volume per period)
    tz: str
    freq: str
    weather_station: str | None = None
    imported_unit: str | None = None   # the unit the meter reports in (m3, L, L/s ...), for output

    @property
    def watermark(self) -> pd.Timestamp | None:
        return None if self.values.empty else self.values.index.max()


def _hourly_frame(cur: duckdb.DuckDBPyConnection, sql: str, params: list) -> pd.Series:
    frame = cur.execute(sql, params).df()
    if frame.empty:
        return pd.Series(dtype=float)
    return pd.Series(frame["value"].to_numpy(float), index=pd.DatetimeIndex(frame["hour"]).as_unit("ns"))


def _meter_row(cur: duckdb.DuckDBPyConnection, meter_id: str, scope: Scope) -> tuple:
    where, params = meter_filter(scope)
    row = cur.execute(f"SELECT quantity, tz, weather_station, zone_id, unit FROM meters WHERE meter_id = ? AND {where}",
                      [meter_id, *params]).fetchone()
    if row is None:
        raise SeriesError(f"unknown meter {meter_id!r}")
    return row


def _zone_station(cur: duckdb.DuckDBPyConnection, zone_id: str | None) -> str | None:
    row = cur.execute(
        """SELECT weather_station FROM meters WHERE weather_station IS NOT NULL AND (zone_id = ? OR ? IS NULL)
           GROUP BY ALL ORDER BY count(*) DESC LIMIT 1""", [zone_id, zone_id]).fetchone()
    if row:
        return row[0]
    row = cur.execute("SELECT meter_id FROM meters WHERE category = 'weather' ORDER BY (zone_id = ?) DESC, meter_id "
                      "LIMIT 1", [zone_id]).fetchone()
    return row[0] if row else None


def _zone_tz(cur: duckdb.DuckDBPyConnection, zone_id: str) -> str:
    row = cur.execute("SELECT tz FROM zones WHERE zone_id = ?", [zone_id]).fetchone()
    if row is None:
        raise SeriesError(f"unknown zone {zone_id!r}")
    return row[0]


def _in_zone(column: str, zone_params: list) -> str:
    return f"{column} = ?" if zone_params else "TRUE"


def load_hourly(cur: duckdb.DuckDBPyConnection, key: SeriesKey, scope: Scope = None,
                until: pd.Timestamp | None = None) -> DemandSeries:
    """Hourly demand of a meter, a zone or the city up to ``until`` (naive UTC, inclusive)."""
    def upto(column: str) -> str:
        return "TRUE" if until is None else f"{column} <= ?"
    limit = upto("hour")
    limit_params = [] if until is None else [pd.Timestamp(until).to_pydatetime()]
    if key.kind == "meter":
        quantity, tz, station, zone_id, imported = _meter_row(cur, key.ident, scope)
        station = station or _zone_station(cur, zone_id)
        if quantity == "flow":
            values = _hourly_frame(cur, f"""SELECT hour, total / n AS value FROM reading_hourly
                WHERE meter_id = ? AND quantity = 'flow' AND {limit} ORDER BY hour""", [key.ident, *limit_params])
            return DemandSeries(key, values, "L/s", tz, "h", station, imported)
        values = _hourly_frame(cur, f"""SELECT hour, volume_l AS value FROM meter_hourly
            WHERE meter_id = ? AND {limit} ORDER BY hour""", [key.ident, *limit_params])
        return DemandSeries(key, values, "L", tz, "h", station, imported)
    if key.kind == "zone":
        tz = _zone_tz(cur, key.ident)
        zone_params = [key.ident]
    elif key.kind == CITY:
        row = cur.execute("SELECT tz FROM zones GROUP BY tz ORDER BY count(*) DESC LIMIT 1").fetchone()
        tz = row[0] if row else "UTC"
        zone_params = []
    else:
        raise SeriesError(f"cannot forecast a {key.kind!r}: choose a meter, a zone or the city")
    if scope is not None:
        where, params = meter_filter(scope, "m.meter_id")
        values = _hourly_frame(cur, f"""SELECT h.hour, sum(h.volume_l) AS value FROM meter_hourly h
            JOIN meters m USING (meter_id)
            WHERE m.category NOT IN {NETWORK_CATEGORIES_SQL} AND {_in_zone("m.zone_id", zone_params)}
              AND {where} AND {upto("h.hour")} GROUP BY h.hour ORDER BY h.hour""",
                               [*zone_params, *params, *limit_params])
        return DemandSeries(key, values, "L", tz, "h", _zone_station(cur, key.ident if key.kind == "zone" else None))
    customers = _hourly_frame(cur, f"""SELECT hour, sum(volume_l) AS value FROM zone_hourly
        WHERE {_in_zone("zone_id", zone_params)} AND category NOT IN {NETWORK_CATEGORIES_SQL} AND {limit}
        GROUP BY hour ORDER BY hour""", [*zone_params, *limit_params])
    if customers.empty:  # a store of supply meters only: the zone's (or city's) net inflow is its demand
        supply, _ = supply_volumes_sql("hour", None, city=key.kind == CITY)
        customers = _hourly_frame(cur, f"""SELECT bucket AS hour, volume_l AS value FROM ({supply}) s
            WHERE {_in_zone("zone_id", zone_params)} AND {upto("bucket")} ORDER BY hour""",
                                  [*zone_params, *limit_params])
    return DemandSeries(key, customers, "L", tz, "h", _zone_station(cur, key.ident if key.kind == "zone" else None))


def regular(series: DemandSeries) -> pd.Series:
    """The values on a complete hourly grid (missing hours NaN)."""
    values = series.values
    if values.empty:
        return values
    grid = pd.date_range(values.index.min(), values.index.max(), freq="h")
    return values.reindex(grid)


def to_daily(series: DemandSeries) -> DemandSeries:
    """Local calendar days: the mean flow (L/s) or the summed volume (L) of the day's observed hours.

    Days with fewer than 20 observed hours are left out (a partial day is not a low day);
    volumes of a day with some hours missing are scaled up to the whole day.
    """
    values = series.values.dropna()
    if values.empty:
        return DemandSeries(series.key, values, series.unit, series.tz, "D", series.weather_station,
                            series.imported_unit)
    local = values.index.tz_localize("UTC").tz_convert(series.tz)
    days = pd.DatetimeIndex(local.date)
    grouped = values.groupby(days.to_numpy())
    frame = pd.DataFrame({"mean": grouped.mean(), "n": grouped.size()})
    hours_in_day = _hours_in_local_days(frame.index, series.tz)
    frame = frame[frame["n"] >= np.minimum(20, hours_in_day)]
    if series.unit == "L/s":
        daily = frame["mean"]
    else:
        daily = frame["mean"] * _hours_in_local_days(frame.index, series.tz)
    daily.index = pd.DatetimeIndex(daily.index).as_unit("ns")
    return DemandSeries(series.key, daily.astype(float), series.unit, series.tz, "D", series.weather_station,
                        series.imported_unit)


def _hours_in_local_days(days: pd.Index, tz: str) -> np.ndarray:
    starts = pd.DatetimeIndex(days).tz_localize(tz, nonexistent="shift_forward", ambiguous=True)
    ends = (pd.DatetimeIndex(days) + pd.Timedelta(days=1)).tz_localize(tz, nonexistent="shift_forward", ambiguous=True)
    return ((ends - starts) / pd.Timedelta(hours=1)).to_numpy(float)


def load_series(cur: duckdb.DuckDBPyConnection, key: SeriesKey, freq: str = "h", scope: Scope = None,
                until: pd.Timestamp | None = None) -> DemandSeries:
    """Hourly or daily demand (``freq`` 'h' or 'D') of a meter, zone or the city."""
    if freq not in FREQUENCIES:
        raise SeriesError(f"frequency must be one of {', '.join(FREQUENCIES)}, got {freq!r}")
    hourly = load_hourly(cur, key, scope, until)
    if hourly.values.empty:
        raise SeriesError(f"no demand data for {key.label}")
    return hourly if freq == "h" else to_daily(hourly)
