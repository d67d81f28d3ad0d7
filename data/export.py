"""Consumption per hour, day, ISO week or month for meters or a zone, as users export it.

Pure queries over the rollups (they take a cursor and the caller's scope). Hours
come from the hourly rollup shown on the requested clock. Days, weeks (Monday
to Sunday) and months come from the daily rollup when the requested time zone is
the meters' own, otherwise from hours grouped by local date. Periods without
data are left out, not reported as zero: a missing row means nothing was measured.
Day-based periods use whole local days (start rounds down, end up, to midnight);
a week or month cut by start or end holds only the days inside [start, end).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime

import duckdb
import numpy as np
import pandas as pd

from data.local_time import check_time_zone
from data.units import VOLUME_DISPLAY, litres_to

Scope = Collection[str] | None
TimeLike = str | date | datetime | pd.Timestamp | None
FREQUENCIES = ("h", "D", "W", "M")
EXPORT_COLUMNS = ["meter_id", "period_start", "consumption", "unit", "estimated_share"]


def consumption_by_period(
    cur: duckdb.DuckDBPyConnection,
    meter_ids: Iterable[str] | None = None,
    zone_id: str | None = None,
    freq: str = "D",
    start: TimeLike = None,
    end: TimeLike = None,
    tz: str | None = None,
    unit: str = "L",
    scope: Scope = None,
) -> pd.DataFrame:
    """Consumption of each meter (or of the zone) per period in [start, end).

    Naive ``start``/``end`` are read in ``tz`` (default: each meter's or the zone's
    own time zone). Returns ``meter_id, period_start, consumption, unit,
    estimated_share``; ``period_start`` is local ISO 8601 with its offset, and for
    a zone ``meter_id`` holds the zone id.
    """
    if freq not in FREQUENCIES:
        raise ValueError(f"unknown frequency {freq!r}; use one of {', '.join(FREQUENCIES)}")
    if unit not in VOLUME_DISPLAY:
        raise ValueError(f"unknown unit {unit!r}; use one of {', '.join(VOLUME_DISPLAY)}")
    if tz is not None:
        check_time_zone(tz)
    if (meter_ids is None) == (zone_id is None):
        raise ValueError("give either meter ids or a zone id")
    targets = _zone_target(cur, zone_id, scope) if zone_id is not None else _meter_targets(cur, list(meter_ids), scope)
    kind = "zone" if zone_id is not None else "meter"
    parts = []
    for (own_tz, uniform), group in targets.groupby(["tz", "uniform"]):
        clock = tz or own_tz
        lo, hi = _bounds(start, end, clock, whole_days=freq != "h")
        if freq != "h" and uniform and clock == own_tz:
            volumes = _daily(cur, kind, list(group["id"]), lo, hi, clock)
        else:
            volumes = _hourly(cur, kind, list(group["id"]), lo, hi)
        parts.append(_periods(volumes, freq, clock))
    return _present(pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(), unit)


def _meter_targets(cur: duckdb.DuckDBPyConnection, meter_ids: list[str], scope: Scope) -> pd.DataFrame:
    if not meter_ids:
        raise ValueError("no meter ids given")
    known = cur.execute(
        "SELECT meter_id AS id, zone_id, tz FROM meters WHERE meter_id IN (SELECT unnest(?::VARCHAR[]))",
        [meter_ids],
    ).df()
    if scope is not None:
        known = known[known["id"].isin(scope) | known["zone_id"].isin(scope)]
    unknown = sorted(set(meter_ids) - set(known["id"]))
    if unknown:
        raise ValueError(f"unknown meter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
    return known.assign(uniform=True)


def _zone_target(cur: duckdb.DuckDBPyConnection, zone_id: str, scope: Scope) -> pd.DataFrame:
    if not zone_id or (scope is not None and zone_id not in scope):
        raise ValueError(f"unknown zone {zone_id!r}")
    zone_tz = cur.execute("SELECT tz FROM zones WHERE zone_id = ?", [zone_id]).fetchone()
    meter_tzs = {tz for (tz,) in cur.execute("SELECT DISTINCT tz FROM meters WHERE zone_id = ?", [zone_id]).fetchall()}
    if zone_tz is None and not meter_tzs:
        raise ValueError(f"unknown zone {zone_id!r}")
    own = zone_tz[0] if zone_tz is not None else min(meter_tzs)
    return pd.DataFrame({"id": [zone_id], "tz": [own], "uniform": [meter_tzs <= {own}]})


def _bounds(start: TimeLike, end: TimeLike, tz: str,
            whole_days: bool) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """[start, end) as naive UTC instants, read on the ``tz`` clock when naive."""
    lo = _instant(start, tz, "start")
    hi = _instant(end, tz, "end")
    if lo is not None and hi is not None and lo >= hi:
        raise ValueError(f"start {start} is not before end {end}")
    if whole_days:
        lo = _local_midnight(lo, tz, ceil=False)
        hi = _local_midnight(hi, tz, ceil=True)
    return (None if lo is None else lo.tz_convert("UTC").tz_localize(None),
            None if hi is None else hi.tz_convert("UTC").tz_localize(None))


def _instant(value: TimeLike, tz: str, name: str) -> pd.Timestamp | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ValueError(f"{name} {value!r} is not a date or ISO 8601 time") from None
    if stamp is pd.NaT:
        raise ValueError(f"{name} {value!r} is not a date or ISO 8601 time")
    if stamp.tzinfo is None:
        return stamp.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return stamp.tz_convert(tz)


def _local_midnight(stamp: pd.Timestamp | None, tz: str, ceil: bool) -> pd.Timestamp | None:
    if stamp is None:
        return None
    wall = stamp.tz_localize(None)
    day = wall.normalize()
    if ceil and day != wall:
        day += pd.Timedelta(days=1)
    return day.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")


def _window(column: str, lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> tuple[str, list]:
    clauses, params = [], []
    if lo is not None:
        clauses.append(f"{column} >= ?")
        params.append(lo)
    if hi is not None:
        clauses.append(f"{column} < ?")
        params.append(hi)
    return " AND ".join(clauses) or "TRUE", params


def _hourly(cur: duckdb.DuckDBPyConnection, kind: str, ids: list[str],
            lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> pd.DataFrame:
    where, params = _window("hour", lo, hi)
    frame = cur.execute(
        f"""SELECT {kind}_id AS id, hour, sum(volume_l) AS volume_l, sum(estimated_l) AS estimated_l
            FROM {kind}_hourly WHERE {kind}_id IN (SELECT unnest(?::VARCHAR[])) AND {where}
            GROUP BY ALL""",
        [ids, *params],
    ).df()
    return frame.assign(instant=pd.to_datetime(frame["hour"]).dt.tz_localize("UTC")).drop(columns="hour")


def _daily(cur: duckdb.DuckDBPyConnection, kind: str, ids: list[str],
           lo: pd.Timestamp | None, hi: pd.Timestamp | None, tz: str) -> pd.DataFrame:
    lo_day = None if lo is None else lo.tz_localize("UTC").tz_convert(tz).date()
    hi_day = None if hi is None else hi.tz_localize("UTC").tz_convert(tz).date()
    where, params = _window("day", lo_day, hi_day)
    frame = cur.execute(
        f"""SELECT {kind}_id AS id, day, sum(volume_l) AS volume_l, sum(estimated_l) AS estimated_l
            FROM {kind}_daily WHERE {kind}_id IN (SELECT unnest(?::VARCHAR[])) AND {where}
            GROUP BY ALL""",
        [ids, *params],
    ).df()
    midnight = pd.to_datetime(frame["day"]).dt.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return frame.assign(instant=midnight.dt.tz_convert("UTC")).drop(columns="day")


def _periods(volumes: pd.DataFrame, freq: str, tz: str) -> pd.DataFrame:
    """Sum volumes into the local periods their instants fall in, labelled by the local period start."""
    local = volumes["instant"].dt.tz_convert(tz)
    if freq != "h" and not volumes.empty:
        wall = local.dt.tz_localize(None).dt.normalize()
        if freq == "W":
            wall = wall - pd.to_timedelta(wall.dt.day_of_week, unit="D")
        elif freq == "M":
            wall = wall.dt.to_period("M").dt.to_timestamp()
        local = wall.dt.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
        volumes = volumes.assign(instant=local).groupby(["id", "instant"], as_index=False)[
            ["volume_l", "estimated_l"]].sum()
        local = volumes["instant"]
    return volumes.assign(instant=local.dt.tz_convert("UTC"), period_start=_iso_local(local))


def _iso_local(local: pd.Series) -> np.ndarray:
    """ISO 8601 local times with their UTC offset, e.g. 2021-10-31T02:00:00+01:00."""
    if local.empty:
        return np.array([], dtype=object)
    wall = local.dt.tz_localize(None)
    minutes = ((wall - local.dt.tz_convert("UTC").dt.tz_localize(None)).dt.total_seconds() // 60).astype("int64")
    sign = np.where(minutes < 0, "-", "+")
    offset = pd.Series(sign, index=local.index) + (minutes.abs() // 60).map("{:02d}".format) + ":" + (
        minutes.abs() % 60).map("{:02d}".format)
    return (wall.dt.strftime("%Y-%m-%dT%H:%M:%S") + offset).to_numpy(dtype=object)


def _present(table: pd.DataFrame, unit: str) -> pd.DataFrame:
    if table.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("consumption", "estimated_share") else "str")
                             for c in EXPORT_COLUMNS})
    table = table.sort_values(["id", "instant"])
    volume = table["volume_l"].to_numpy(dtype="float64")
    estimated = table["estimated_l"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(volume > 0, np.clip(estimated / volume, 0.0, 1.0), 0.0)
    return pd.DataFrame(
        {
            "meter_id": table["id"].to_numpy(dtype=object),
            "period_start": table["period_start"].to_numpy(dtype=object),
            "consumption": litres_to(volume, unit),
            "unit": unit,
            "estimated_share": share,
        }
    )
