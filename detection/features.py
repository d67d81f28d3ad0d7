"""What detectors look at, read from a time window of the store and engineered into features.

Reads go through rollups (`meter_hourly` for consumption meters) or the raw
readings of a window for the few network sensors, never whole tables. Series
are told apart by their quantity, not by ids: meters of ``volume`` (a register)
or ``interval_volume`` (litres since the last reading, as smart meters export them)
are customers' (or any consumption) meters, and so is a ``flow`` meter whose category names a
customer (a household meter reporting its flow rate: its hourly litres are read as a register's);
other ``flow``, ``pressure`` and ``level`` series are network series. Categories may be missing
(imported files): ``inlet`` and ``outlet`` only add the zone-level reading of flow meters
(`detection.zone_inflow`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from data.queries.scope import Scope, meter_filter
from data.units import VOLUME_QUANTITIES, is_consumption_meter

NETWORK_QUANTITIES = ("flow", "pressure", "level")
DETECTED_QUANTITIES = VOLUME_QUANTITIES + NETWORK_QUANTITIES
HOUR = pd.Timedelta(hours=1)
MAX_ESTIMATED_SHARE = 0.5   # an hour with more of its volume estimated than this is no data
NIGHT_COVERED = 0.75        # a night with readings over less of it than this has no minimum


@dataclass(frozen=True)
class Window:
    """A scan window and the history before it that detectors learn 'normal' from."""

    start: pd.Timestamp
    end: pd.Timestamp
    training_days: int = 28

    @classmethod
    def before(cls, start: pd.Timestamp, end: pd.Timestamp) -> Window:
        """Nothing to scan at ``end``, and the days from ``start`` (a midnight) as its training: what the
        loaders read for the hours of [start, end)."""
        return cls(end, end, (end - start).days)

    @property
    def training_start(self) -> pd.Timestamp:
        return (self.start - pd.Timedelta(days=self.training_days)).floor("D")

    def hours(self) -> pd.DatetimeIndex:
        return pd.date_range(self.training_start, self.end.floor("h"), freq="h", inclusive="left")


def catalogue(cur: duckdb.DuckDBPyConnection, meter_ids: Sequence[str] | None = None, zone_id: str | None = None,
              scope: Scope = None) -> pd.DataFrame:
    """The series detectors can scan: meter_id, zone_id, category, quantity, interval_s, last_ts, tz, to_zone_id."""
    where, params = meter_filter(scope)
    clauses = [where, "quantity IN (SELECT unnest(?::VARCHAR[]))"]
    params = params + [list(DETECTED_QUANTITIES)]
    if meter_ids:
        clauses.append("meter_id IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(meter_ids))
    if zone_id:  # the zone's meters, and the outlets of other zones that feed it
        clauses.append("(zone_id = ? OR (category = 'outlet' AND to_zone_id = ?))")
        params += [zone_id, zone_id]
    return cur.execute(
        f"""SELECT meter_id, zone_id, category, quantity, interval_s, last_ts, tz, to_zone_id FROM meters
            WHERE {' AND '.join(clauses)} ORDER BY meter_id""", params).df()


def zones_of(series: pd.DataFrame) -> dict[str, str | None]:
    """Each series' zone (None without one) from a `catalogue` frame."""
    return {m: (None if pd.isna(z) else z) for m, z in zip(series["meter_id"], series["zone_id"])}


def consumption_meters(series: pd.DataFrame) -> pd.Series:
    """Which rows of a `catalogue` frame are consumption meters, watched through their hourly litres."""
    return pd.Series([is_consumption_meter(q, c) for q, c in zip(series["quantity"], series["category"])],
                     index=series.index, dtype=bool)


def hourly_volumes(cur: duckdb.DuckDBPyConnection, meter_ids: Sequence[str], window: Window) -> pd.DataFrame:
    """Litres per hour, one column per meter, every hour of the window and its training (NaN = no data).

    An hour whose volume is mostly an estimate (a register's jump after a gap, spread
    evenly over the gap's hours) is NaN too: the same litres in every hour of a silent
    day, night hours included, look like a steady leak and say nothing about one.
    """
    hours = window.hours()
    if not len(meter_ids) or not len(hours):
        return pd.DataFrame(index=hours, dtype="float64")
    long = cur.execute(
        f"""SELECT meter_id, hour, volume_l FROM meter_hourly
            WHERE meter_id IN (SELECT unnest(?::VARCHAR[])) AND hour >= ? AND hour < ?
              AND estimated_l <= {MAX_ESTIMATED_SHARE} * volume_l""",
        [list(meter_ids), hours[0].to_pydatetime(), (hours[-1] + HOUR).to_pydatetime()]).df()
    wide = long.pivot_table(index="hour", columns="meter_id", values="volume_l", aggfunc="sum")
    return wide.reindex(index=hours, columns=list(meter_ids)).astype("float64")


def readings(cur: duckdb.DuckDBPyConnection, series: pd.DataFrame, window: Window) -> pd.DataFrame:
    """Raw readings (meter_id, ts, value) of network series, window and training, by meter and time."""
    if series.empty:
        return pd.DataFrame({"meter_id": pd.Series([], dtype=object), "ts": pd.to_datetime([]),
                             "value": pd.Series([], dtype="float64")})
    return cur.execute(
        """SELECT r.meter_id, r.ts, r.value FROM readings r
           JOIN (SELECT unnest(?::VARCHAR[]) AS meter_id, unnest(?::VARCHAR[]) AS quantity) s
             ON r.meter_id = s.meter_id AND r.quantity = s.quantity
           WHERE r.ts >= ? AND r.ts < ? ORDER BY r.meter_id, r.ts""",
        [list(series["meter_id"]), list(series["quantity"]), window.training_start.to_pydatetime(),
         window.end.to_pydatetime()]).df()


def hourly_means(readings: pd.DataFrame, window: Window) -> pd.DataFrame:
    """Hourly mean of each series of ``readings`` (meter_id, ts, value), every hour of the window and its training."""
    hours = window.hours()
    if readings.empty:
        return pd.DataFrame(index=hours, dtype="float64")
    return readings.assign(hour=readings["ts"].dt.floor("h")).pivot_table(
        index="hour", columns="meter_id", values="value", aggfunc="mean").reindex(hours)


def in_usual_direction(flows: pd.DataFrame, window: Window) -> tuple[pd.DataFrame, frozenset[str]]:
    """Flow readings (meter_id, ts, value) with each series turned so that its usual direction reads above
    zero, and the ids of the series turned.

    A pipe or boundary meter installed against the way the water usually goes (or a model's link
    drawn the other way) reads below zero, and more water through it reads lower: the flow rules
    look for rises, so such a series is read with its sign turned. "Usual" is the median of the
    training weeks (of the whole series when there are none).
    """
    if flows.empty:
        return flows, frozenset()
    training = flows["ts"] < window.start
    usual = flows[training].groupby("meter_id")["value"].median()
    usual = usual.reindex(flows["meter_id"].unique()).fillna(flows.groupby("meter_id")["value"].median())
    turned = frozenset(usual.index[usual < 0])
    if not turned:
        return flows, turned
    sign = np.where(flows["meter_id"].isin(turned), -1.0, 1.0)
    return flows.assign(value=flows["value"].to_numpy() * sign), turned


def reading_times(cur: duckdb.DuckDBPyConnection, meter_ids: Sequence[str], window: Window) -> pd.DataFrame:
    """When each consumption meter reported (meter_id, ts), from its consumption intervals."""
    if not len(meter_ids):
        return pd.DataFrame({"meter_id": pd.Series([], dtype=object), "ts": pd.to_datetime([])})
    return cur.execute(
        """SELECT meter_id, ts_end AS ts FROM consumption
           WHERE meter_id IN (SELECT unnest(?::VARCHAR[])) AND ts_end >= ? AND ts_end < ?
           ORDER BY meter_id, ts_end""",
        [list(meter_ids), window.training_start.to_pydatetime(), window.end.to_pydatetime()]).df()


def volume_known_at(cur: duckdb.DuckDBPyConnection, meter_ids: Sequence[str], raised_at: Sequence[pd.Timestamp],
                    within: pd.Timedelta = pd.Timedelta(days=8)) -> pd.Series:
    """When the hour ending at each ``raised_at`` could first be read on each meter: the end of the first of its
    consumption intervals that closes that hour (a daily register read closes 24 hours at once; an hourly one,
    the hour itself). NaT where no interval ends within ``within``."""
    if not len(meter_ids):
        return pd.Series([], dtype="datetime64[us]")
    asked = pd.DataFrame({"i": range(len(meter_ids)), "meter_id": list(meter_ids),  # noqa: F841 (read by name)
                          "raised_at": pd.to_datetime(list(raised_at)).astype("datetime64[us]")})
    found = cur.execute(
        f"""SELECT a.i, min(c.ts_end) AS known_at FROM asked a JOIN consumption c
              ON c.meter_id = a.meter_id AND c.ts_end >= a.raised_at
             AND c.ts_end < a.raised_at + INTERVAL {int(within / pd.Timedelta(hours=1))} HOUR
            GROUP BY a.i""").df()
    return found.set_index("i")["known_at"].reindex(range(len(meter_ids))).astype("datetime64[us]")


def night_minimum(values: pd.Series, tz: str = "UTC", night_hours: tuple[int, int] = (1, 5)) -> pd.Series:
    """Minimum night flow: the lowest hourly mean of each local night (``night_hours`` local, end exclusive),
    indexed by the night's local date. A series read more often than hourly is averaged per hour first, as the
    zone status and the Zones page read it (`data.queries.night_flow`), so one quiet quarter-hour is not the night.

    A night whose readings, at the series' usual interval, cover less than ``NIGHT_COVERED`` of it (a night
    still under way, a logger silent for part of it) has no minimum: the lowest of its first hours is not.
    """
    local = values.index.tz_localize("UTC").tz_convert(tz)
    at_night = (local.hour >= night_hours[0]) & (local.hour < night_hours[1])
    nights = values[at_night].groupby(local[at_night].date)
    interval = pd.Series(values.index).diff().median()
    night_length = pd.Timedelta(hours=night_hours[1] - night_hours[0])
    covered = nights.size() * interval >= NIGHT_COVERED * night_length if pd.notna(interval) else nights.size() > 0
    if pd.notna(interval) and interval < pd.Timedelta(hours=1):
        hourly = values[at_night].resample("1h").mean().dropna()
        nights = hourly.groupby(hourly.index.tz_localize("UTC").tz_convert(tz).date)
    return nights.min()[covered]
