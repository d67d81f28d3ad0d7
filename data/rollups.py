"""Hourly and daily rollups per meter and per zone, kept current as batches land.

A batch changes consumption only where it adds intervals (and, for a late
reading, where it replaces the intervals it splits). Those changes are turned
into signed volume deltas per bucket and added to the rollup rows with upserts,
so no query ever recomputes all history. When a meter changes zone, category or
time zone (`data.meter_changes`), `redraw_meter_days` and `recompute_zone_rollups`
redo only what that meter feeds; `rebuild` recomputes everything from the
consumption table, and is the tests' oracle.

Four upserts cost a batch more than all its inserts, so under load the writer
appends the deltas to `rollup_deltas` instead (one insert, in the batch's own
transaction, so nothing is lost) and folds them into the rollups at most a second
later, or as soon as it is idle.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from data.consumption import bucket_sums, hour_boundaries, local_day_boundaries

UNASSIGNED = ""
#: Quantities whose readings feed consumption only, not the hourly reading statistics.
NO_READING_STATS = ("volume", "interval_volume")


def volume_deltas(
    added: pd.DataFrame, removed: pd.DataFrame, tz_of: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Signed hourly and daily volume changes from added and removed intervals.

    ``tz_of`` maps each ``meter_id`` key to its time zone. Returns (hourly, daily)
    frames keyed by ``meter_id, hour`` and ``meter_id, day``.
    """
    columns = ("meter_id", "ts_start", "ts_end", "volume_l", "flags")
    meter, start, end, volume, flags = (
        added[c].to_numpy() if removed.empty else np.concatenate([added[c].to_numpy(), removed[c].to_numpy()])
        for c in columns
    )
    start, end, flags = start.astype("int64"), end.astype("int64"), flags.astype("int64")
    volume = volume.astype("float64")
    if not removed.empty:
        volume[len(added):] = -volume[len(added):]
    lasting = end > start
    if not lasting.all():
        meter, start, end, volume, flags = meter[lasting], start[lasting], end[lasting], volume[lasting], flags[lasting]
    if len(meter) == 0:
        return _empty("hour"), _empty("day")
    lo, hi = int(start.min()), int(end.max())
    hourly = bucket_sums(meter, start, end, volume, flags, hour_boundaries(lo, hi))
    hourly["hour"] = hourly.pop("bucket").astype("datetime64[us]")

    meter_code, meters = pd.factorize(meter)
    tz = tz_of.reindex(meters).fillna("UTC").to_numpy(dtype=object)[meter_code]
    zones = pd.unique(tz)
    daily_parts = []
    for zone in sorted(zones):
        part = slice(None) if len(zones) == 1 else tz == zone
        midnights = local_day_boundaries(lo, hi, zone)
        days = bucket_sums(meter[part], start[part], end[part], volume[part], flags[part], midnights)
        first_day = pd.Timestamp(int(midnights[0]), unit="us", tz="UTC").tz_convert(zone).date()
        offset = np.searchsorted(midnights, days.pop("bucket"))
        days["day"] = (np.datetime64(first_day, "D") + offset).astype("datetime64[s]")
        daily_parts.append(days)
    daily = {c: np.concatenate([part[c] for part in daily_parts]) for c in daily_parts[0]}
    return (pd.DataFrame(hourly, columns=["meter_id", "hour", "volume_l", "estimated_l"]),
            pd.DataFrame(daily, columns=["meter_id", "day", "volume_l", "estimated_l"]))


def _empty(key: str) -> pd.DataFrame:
    return pd.DataFrame({"meter_id": [], key: [], "volume_l": [], "estimated_l": []})


def apply_volume_deltas(
    cur: duckdb.DuckDBPyConnection, hourly: pd.DataFrame, daily: pd.DataFrame, meters: MeterZones | None = None
) -> None:
    """Add signed deltas to the meter and zone rollups.

    With ``meters`` the deltas' ``meter_id`` are codes into it (unique per meter and
    bucket), and zone rollups need no join with the `meters` table.
    """
    for grain, frame in (("hour", hourly), ("day", daily)):
        if frame.empty:
            continue
        if meters is None:
            cur.register("volume_delta", frame)
            _add_to_rollups(cur, "volume_delta", grain)
            cur.unregister("volume_delta")
        else:
            _add_by_code(cur, frame, grain, meters)


@dataclass(frozen=True)
class MeterZones:
    """The meters a batch's deltas refer to by code: their ids and zone and category pairs."""

    meter_ids: np.ndarray  # by meter code
    zone_key: np.ndarray  # by meter code: a row of zone_categories
    zone_categories: np.ndarray  # (zone_id, category) rows


def _add_by_code(cur: duckdb.DuckDBPyConnection, frame: pd.DataFrame, grain: str, meters: MeterZones) -> None:
    """Upsert deltas keyed by meter code; the zone sums are made here."""
    code = frame["meter_id"].to_numpy(dtype="int64")
    bucket = frame[grain].to_numpy()
    volume = frame["volume_l"].to_numpy(dtype="float64")
    estimated = frame["estimated_l"].to_numpy(dtype="float64")
    bucket_code, buckets = pd.factorize(bucket)
    keys, slot = np.unique(meters.zone_key[code].astype("int64") * len(buckets) + bucket_code, return_inverse=True)
    zone_category = meters.zone_categories[keys // len(buckets)]
    suffix = "hourly" if grain == "hour" else "daily"
    _merge_into(cur, f"meter_{suffix}", ("meter_id", grain), pa.table({
        "meter_id": meters.meter_ids[code], grain: bucket, "volume_l": volume, "estimated_l": estimated}))
    _merge_into(cur, f"zone_{suffix}", ("zone_id", "category", grain), pa.table({
        "zone_id": zone_category[:, 0], "category": zone_category[:, 1], grain: np.asarray(buckets)[keys % len(buckets)],
        "volume_l": np.bincount(slot, weights=volume, minlength=len(keys)),
        "estimated_l": np.bincount(slot, weights=estimated, minlength=len(keys)),
    }))


def _add_to_rollups(cur: duckdb.DuckDBPyConnection, deltas: str, grain: str) -> None:
    """Upsert ``deltas`` (a relation of ``meter_id, <grain>, volume_l, estimated_l``) into the
    meter and zone rollups of that grain."""
    suffix = "hourly" if grain == "hour" else "daily"
    _merge_into(cur, f"meter_{suffix}", ("meter_id", grain),
                f"""(SELECT meter_id, {grain}, sum(volume_l) AS volume_l, sum(estimated_l) AS estimated_l
                     FROM {deltas} GROUP BY ALL)""")
    _merge_into(cur, f"zone_{suffix}", ("zone_id", "category", grain),
                f"""(SELECT coalesce(m.zone_id, '{UNASSIGNED}') AS zone_id,
                            coalesce(m.category, '{UNASSIGNED}') AS category,
                            d.{grain}, sum(d.volume_l) AS volume_l, sum(d.estimated_l) AS estimated_l
                     FROM {deltas} d JOIN meters m USING (meter_id) GROUP BY ALL)""")


def _merge_into(cur: duckdb.DuckDBPyConnection, table: str, keys: tuple[str, ...], source: str | pa.Table) -> None:
    """Add the volumes of ``source`` (a relation in SQL, or an Arrow table) to the rollup rows of
    the same keys, and insert the keys not there yet.

    ``source`` holds one row per key, so a plain MERGE does: an upsert with ON CONFLICT
    would first de-duplicate it, which costs about 1 ms a statement. An Arrow table is read
    by its variable name (DuckDB's replacement scan spares a register and unregister).
    """
    batch_delta = source  # noqa: F841 (read by name in the SQL below)
    relation = "batch_delta" if isinstance(source, pa.Table) else source
    match = " AND ".join(f"r.{key} = d.{key}" for key in keys)
    cur.execute(
        f"""MERGE INTO {table} r USING {relation} d ON {match}
            WHEN MATCHED THEN UPDATE SET volume_l = r.volume_l + d.volume_l,
                                         estimated_l = r.estimated_l + d.estimated_l
            WHEN NOT MATCHED THEN INSERT BY NAME"""
    )


def queue_volume_deltas(cur: duckdb.DuckDBPyConnection, hourly: pd.DataFrame, daily: pd.DataFrame) -> None:
    """Append signed deltas to `rollup_deltas`, to be folded later by `fold_volume_deltas`."""
    parts = [(grain, frame) for grain, frame in (("hour", hourly), ("day", daily)) if not frame.empty]
    if not parts:
        return
    queued_delta = pa.table({  # noqa: F841 (read by name in the SQL below)
        "meter_id": np.concatenate([frame["meter_id"].to_numpy(dtype=object) for _, frame in parts]),
        "grain": np.concatenate([np.full(len(frame), grain, dtype=object) for grain, frame in parts]),
        "bucket": np.concatenate([frame[grain].to_numpy(dtype="datetime64[us]") for grain, frame in parts]),
        "volume_l": np.concatenate([frame["volume_l"].to_numpy(dtype="float64") for _, frame in parts]),
        "estimated_l": np.concatenate([frame["estimated_l"].to_numpy(dtype="float64") for _, frame in parts]),
    })
    cur.execute("INSERT INTO rollup_deltas BY NAME SELECT * FROM queued_delta")


def fold_volume_deltas(cur: duckdb.DuckDBPyConnection) -> None:
    """Add the queued deltas to the meter and zone rollups and empty the queue."""
    for grain, bucket in (("hour", "bucket"), ("day", "bucket::DATE")):
        _add_to_rollups(cur, f"""(SELECT meter_id, {bucket} AS {grain}, volume_l, estimated_l
                                  FROM rollup_deltas WHERE grain = '{grain}')""", grain)
    cur.execute("DELETE FROM rollup_deltas")


def add_reading_stats(cur: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> None:
    """Fold new readings of level-type quantities (flow, pressure, level, weather) into hourly stats."""
    stats = rows[~rows["quantity"].isin(NO_READING_STATS)]
    if stats.empty:
        return
    stats = (
        stats.assign(hour=stats["ts"].dt.floor("h"))
        .groupby(["meter_id", "quantity", "hour"], as_index=False)["value"]
        .agg(n="count", total="sum", minimum="min", maximum="max")
    )
    cur.register("reading_stats", stats)
    cur.execute(
        """
        INSERT INTO reading_hourly BY NAME SELECT * FROM reading_stats
        ON CONFLICT (meter_id, quantity, hour) DO UPDATE SET
            n = n + excluded.n,
            total = total + excluded.total,
            minimum = least(minimum, excluded.minimum),
            maximum = greatest(maximum, excluded.maximum)
        """
    )
    cur.unregister("reading_stats")


def rebuild(cur: duckdb.DuckDBPyConnection) -> None:
    """Recompute every consumption rollup from the consumption intervals."""
    for table in ("meter_hourly", "meter_daily", "zone_hourly", "zone_daily", "rollup_deltas"):
        cur.execute(f"DELETE FROM {table}")
    tz_of = cur.execute("SELECT meter_id, tz FROM meters").df().set_index("meter_id")["tz"]
    intervals = cur.execute(
        """SELECT meter_id, epoch_us(ts_start) AS ts_start, epoch_us(ts_end) AS ts_end, volume_l, flags
           FROM consumption"""
    ).df()
    hourly, daily = volume_deltas(intervals, intervals.iloc[0:0], tz_of)
    apply_volume_deltas(cur, hourly, daily)


def redraw_meter_days(cur: duckdb.DuckDBPyConnection, meter_ids: list[str]) -> None:
    """Recompute the daily rollup of meters whose time zone changed, from their intervals."""
    if not meter_ids:
        return
    redrawn = pd.DataFrame({"meter_id": meter_ids})  # noqa: F841 (read by name in the SQL below)
    cur.execute("DELETE FROM meter_daily WHERE meter_id IN (SELECT meter_id FROM redrawn)")
    tz_of = cur.execute("SELECT meter_id, tz FROM meters SEMI JOIN redrawn USING (meter_id)").df() \
        .set_index("meter_id")["tz"]
    intervals = cur.execute(
        """SELECT meter_id, epoch_us(ts_start) AS ts_start, epoch_us(ts_end) AS ts_end, volume_l, flags
           FROM consumption SEMI JOIN redrawn USING (meter_id)"""
    ).df()
    _, daily = volume_deltas(intervals, intervals.iloc[0:0], tz_of)
    if not daily.empty:
        _merge_into(cur, "meter_daily", ("meter_id", "day"), pa.Table.from_pandas(daily, preserve_index=False))


def recompute_zone_rollups(cur: duckdb.DuckDBPyConnection, pairs: set[tuple[str, str]],
                           grains: tuple[str, ...] = ("hour", "day")) -> None:
    """Recompute the zone rollups of these (zone_id, category) pairs, of these grains, from their meters'
    rollups (``UNASSIGNED`` for a meter without zone or category)."""
    if not pairs:
        return
    touched = pd.DataFrame(sorted(pairs), columns=["zone_id", "category"])  # noqa: F841 (read by name below)
    for grain in grains:
        suffix = "hourly" if grain == "hour" else "daily"
        cur.execute(f"""DELETE FROM zone_{suffix} z USING touched t
                        WHERE z.zone_id = t.zone_id AND z.category = t.category""")
        cur.execute(
            f"""INSERT INTO zone_{suffix} BY NAME
                SELECT coalesce(m.zone_id, '{UNASSIGNED}') AS zone_id, coalesce(m.category, '{UNASSIGNED}') AS category,
                       r.{grain}, sum(r.volume_l) AS volume_l, sum(r.estimated_l) AS estimated_l
                FROM meter_{suffix} r JOIN meters m USING (meter_id)
                SEMI JOIN touched t ON coalesce(m.zone_id, '{UNASSIGNED}') = t.zone_id
                                   AND coalesce(m.category, '{UNASSIGNED}') = t.category
                GROUP BY ALL"""
        )
