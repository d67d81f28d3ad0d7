"""One batch into the store: meters resolved, duplicates absorbed, consumption and rollups updated.

Runs inside the writer's transaction (see `data.store.Store.ingest`); consumption
and rollups are `data.ingest_consumption`'s part.

A batch costs the writer CPU that the broker and the network thread need, so every
step works on numpy arrays taken from the frame once (`data.reading_batch`: meters
as integer codes into the registry's rows), and the SQL reads Arrow tables by their variable
names (DuckDB's replacement scan: registering and unregistering a table costs about
a millisecond). A wrapper around the cursor would hide those names from DuckDB
unless it sets ``python_scan_all_frames``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from data.ingest_consumption import derive_consumption
from data.meter_description import as_sent, describe_new_meters
from data.meter_registry import MeterRegistry
from data.payload import Rejection
from data.quality import Flag, quality_score
from data.reading_batch import MeterKeys, ReadingBatch
from data.rollups import add_reading_stats
from data.units import CONSUMPTION_QUANTITIES

if TYPE_CHECKING:
    from data.store import StoreOptions

#: How the unknown-meter policy's quarantine reasons begin (`data.quarantine_replay` selects them by it).
UNKNOWN_METER = "unknown meter"

READING_COLUMNS = ["meter_id", "ts", "quantity", "value", "unit", "orig_unit", "seq", "attrs", "source", "received_at"]


@dataclass(frozen=True)
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    registered: int = 0
    meters: tuple[str, ...] = field(default=())


def ingest_batch(
    cur: duckdb.DuckDBPyConnection,
    rows: pd.DataFrame,
    rejections: list[Rejection],
    options: StoreOptions,
    registered_by: str,
    registry: MeterRegistry,
    defer_rollups: bool = False,
) -> tuple[IngestResult, dict[str, np.ndarray]]:
    """Store one batch; returns the result and the meter state it wrote (for the registry).

    With ``defer_rollups`` the batch's volume deltas are queued in `rollup_deltas`
    instead of being added to the rollups (see `data.rollups`).
    """
    registered = duplicates = stored = 0
    meter_ids: tuple[str, ...] = ()
    state: dict[str, np.ndarray] = {}
    if not rows.empty:
        rows = _naive_utc(rows)
        keys = MeterKeys(rows)
        rows, refused, registered = _resolve_meters(cur, rows, keys, options, registered_by, registry)
        rejections = rejections + refused
        if refused:
            keys = MeterKeys(rows)
    if not rows.empty:
        batch = ReadingBatch.of(rows, keys, registry, cur)
        fresh = _drop_stored(cur, batch, _first_of_each(batch))
        duplicates = len(rows) - len(fresh)
        if len(fresh):
            batch = batch.take(fresh)
            flags = _flag_arrival(batch)
            _insert_readings(cur, rows, fresh, flags)
            if batch.has_stats.any():
                add_reading_stats(cur, batch.frame(batch.has_stats))
            consumption_state = derive_consumption(cur, batch, defer_rollups)
            state = _update_meters(cur, batch, consumption_state)
            stored = len(fresh)
            meter_ids = tuple(batch.ids)
    _quarantine(cur, rejections)
    return IngestResult(stored, duplicates, len(rejections), registered, meter_ids), state


def _naive_utc(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with ``ts`` and ``received_at`` as naive UTC (numpy gives aware times in UTC)."""
    return rows.assign(**{column: rows[column].to_numpy(dtype="datetime64[us]") for column in ("ts", "received_at")})


def _resolve_meters(
    cur: duckdb.DuckDBPyConnection, rows: pd.DataFrame, keys: MeterKeys, options: StoreOptions,
    registered_by: str, registry: MeterRegistry,
) -> tuple[pd.DataFrame, list[Rejection], int]:
    """Apply the unknown-meter policy: register new meters, or quarantine their readings."""
    unknown = ~registry.known(cur, keys.ids)[keys.codes]
    if not unknown.any():
        _follow_consumption(cur, rows, keys, registry)
        return rows, [], 0
    if options.unknown_meters == "quarantine":
        refused = [
            Rejection(f"{UNKNOWN_METER} {row.meter_id!r}: the unknown-meter policy is 'quarantine'",
                      as_sent(row), row.source, row.received_at.to_pydatetime(), row.meter_id)
            for row in rows[unknown].itertuples()
        ]
        return rows[~unknown], refused, 0
    new = describe_new_meters(rows[unknown], options.default_tz, registered_by)
    cur.register("new_meters", new)
    cur.execute("INSERT INTO meters BY NAME SELECT *, now()::TIMESTAMP AS registered_at FROM new_meters")
    cur.unregister("new_meters")
    registry.admit(cur, new["meter_id"])
    _follow_consumption(cur, rows, keys, registry)
    return rows, [], len(new)


def _follow_consumption(cur: duckdb.DuckDBPyConnection, rows: pd.DataFrame, keys: MeterKeys,
                        registry: MeterRegistry) -> None:
    """A meter first heard through pressure or level follows its consumption quantity once one arrives."""
    is_consumption = np.isin(keys.quantity, CONSUMPTION_QUANTITIES)
    if not is_consumption.any():
        return
    ids = keys.ids[np.unique(keys.codes[is_consumption])]
    waiting = ids[~np.isin(registry.lookup(cur, ids)["quantity"], CONSUMPTION_QUANTITIES)]
    if len(waiting) == 0:
        return
    consumption = rows[is_consumption]
    found = describe_new_meters(consumption[consumption["meter_id"].isin(waiting)], "UTC", "")
    cur.register("found_quantities", found[["meter_id", "quantity", "unit"]])
    cur.execute("""UPDATE meters SET quantity = f.quantity, unit = f.unit
                   FROM found_quantities f WHERE meters.meter_id = f.meter_id""")
    cur.unregister("found_quantities")
    registry.follow_quantity(found["meter_id"], found["quantity"].to_numpy(dtype=object),
                             found["unit"].to_numpy(dtype=object))


def _first_of_each(batch: ReadingBatch) -> np.ndarray:
    """Positions of the first reading of each meter, quantity and timestamp in the batch."""
    quantity_code, quantities = pd.factorize(batch.quantity)
    series = batch.codes.astype("int64") * max(len(quantities), 1) + quantity_code
    order = np.lexsort((batch.ts, series))  # stable: the first of equal keys comes first
    repeated = (series[order[1:]] == series[order[:-1]]) & (batch.ts[order[1:]] == batch.ts[order[:-1]])
    if not repeated.any():
        return np.arange(len(series))
    keep = np.ones(len(series), dtype=bool)
    keep[order[1:][repeated]] = False
    return np.flatnonzero(keep)


def _drop_stored(cur: duckdb.DuckDBPyConnection, batch: ReadingBatch, candidates: np.ndarray) -> np.ndarray:
    """The candidates (positions) whose meter, quantity and timestamp are not stored yet
    (redeliveries are absorbed).

    A reading of a meter's consumption quantity newer than the meter's last one cannot be
    stored yet; only the others are looked up.
    """
    meters = batch.meters
    newest = meters["last_ts"]
    consumption = np.isin(meters["quantity"], CONSUMPTION_QUANTITIES)
    code = batch.codes[candidates]
    surely_new = (~np.isnat(newest[code]) & (batch.ts[candidates] > newest.view("int64")[code])
                  & batch.main[candidates] & consumption[code])
    if surely_new.all():
        return candidates
    check = candidates[~surely_new]
    ts = batch.ts[check].astype("datetime64[us]")
    batch_keys = pa.table({"meter_id": batch.ids[batch.codes[check]], "quantity": batch.quantity[check],  # noqa: F841
                           "ts": ts, "row": np.arange(len(check))})
    stored = cur.execute(
        """
        SELECT b.row FROM batch_keys b SEMI JOIN (
            SELECT meter_id, quantity, ts FROM readings
            WHERE ts BETWEEN ? AND ? AND meter_id IN (SELECT meter_id FROM batch_keys)
        ) r USING (meter_id, quantity, ts)
        """,
        [ts.min().item(), ts.max().item()],
    ).fetchnumpy()["row"]
    if len(stored) == 0:
        return candidates
    return candidates[~np.isin(candidates, check[np.asarray(stored, dtype="int64")])]


def _flag_arrival(batch: ReadingBatch) -> np.ndarray:
    """The batch's flags, with readings of a meter's main quantity that arrive out of order or
    after a seq gap flagged."""
    primary = np.flatnonzero(batch.main)
    code = batch.codes[primary]
    order = np.argsort(code, kind="stable")
    code, ts, seq = code[order], batch.ts[primary][order], batch.seq[primary][order]
    first = np.ones(len(code), dtype=bool)
    first[1:] = code[1:] != code[:-1]
    stored_ts = batch.meters["last_ts"].view("int64").astype("float64")[code]
    if (np.diff(ts)[~first[1:]] > 0).all():  # each meter's readings in order: the newest before is the previous
        newest_before = np.where(first, np.nan, np.roll(ts, 1).astype("float64"))
    else:
        newest_before = (pd.Series(ts).groupby(code, sort=False).cummax().groupby(code).shift(1)
                         .to_numpy(dtype="float64"))
    late = ts < np.fmax(newest_before, stored_ts)
    stored_seq = batch.meters["last_seq"][code]
    previous_seq = np.where(first, np.nan, np.roll(seq, 1))
    previous_seq = np.where(np.isnan(previous_seq), stored_seq, previous_seq)
    gap = seq > previous_seq + 1

    flags = batch.flags.copy()
    flags[primary[order]] |= (np.where(late, int(Flag.OUT_OF_ORDER), 0)
                              | np.where(gap, int(Flag.SEQ_GAP), 0)).astype(flags.dtype)
    return flags


def _insert_readings(cur: duckdb.DuckDBPyConnection, rows: pd.DataFrame, fresh: np.ndarray, flags: np.ndarray) -> None:
    """Append the fresh rows (positions) with their flags and quality."""
    table = pa.table({column: pa.array(rows[column]) for column in READING_COLUMNS})
    if len(fresh) < len(rows):
        table = table.take(fresh)
    new_readings = (table.append_column("flags", pa.array(flags, type=pa.int32()))  # noqa: F841
                    .append_column("quality", pa.array(quality_score(flags).astype("float32"))))
    cur.execute("INSERT INTO readings BY NAME SELECT * FROM new_readings")


def _update_meters(cur: duckdb.DuckDBPyConnection, batch: ReadingBatch, state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Write each meter's new state: when it was last heard, its last seq, its consumption state.

    The usual interval and the recent intervals are written only for the meters whose recent
    intervals changed (a meter reporting on its usual schedule keeps them): updating a list
    column costs DuckDB more than all the other columns together.
    """
    n = len(batch.ids)
    last_seen = np.full(n, np.iinfo("int64").min)
    np.maximum.at(last_seen, batch.codes, batch.received_at)
    last_seq = np.full(n, -np.inf)
    np.fmax.at(last_seq, batch.codes, batch.seq)
    last_seq[np.isneginf(last_seq)] = np.nan
    last_ts = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    last_value, last_baseline, interval_s = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    recent = np.full((n, batch.meters.recent.shape[1]), np.nan)
    changed = np.zeros(n, dtype=bool)
    if state:
        at = state["code"]
        last_ts[at] = state["last_ts"]
        last_value[at] = state["last_value"]
        last_baseline[at] = state["last_baseline"]
        interval_s[at] = state["interval_s"]
        recent[at] = state["recent"]
        stored = batch.meters.recent[at]
        same = ((stored == recent[at]) | (np.isnan(stored) & np.isnan(recent[at]))).all(axis=1)
        changed[at] = ~(same & batch.meters["recent_known"][at])
    seen = {"meter_id": batch.ids, "last_seen_at": last_seen.astype("datetime64[us]"), "last_seq": last_seq,
            "last_ts": last_ts, "last_value": last_value, "last_baseline": last_baseline,
            "interval_s": interval_s, "recent": recent}
    meter_state = pa.table({  # noqa: F841
        "meter_id": batch.ids,
        "last_seen_at": pa.array(last_seen.astype("datetime64[us]"), mask=last_seen == np.iinfo("int64").min),
        "last_seq": pa.array(last_seq, mask=np.isnan(last_seq)),
        "last_ts": pa.array(last_ts, mask=np.isnat(last_ts)),
        "last_value": pa.array(last_value, mask=np.isnan(last_value)),
        "last_baseline": pa.array(last_baseline, mask=np.isnan(last_baseline)),
    })
    cur.execute(
        """UPDATE meters SET
               last_seen_at = greatest(meters.last_seen_at, s.last_seen_at),
               last_seq = coalesce(s.last_seq::BIGINT, meters.last_seq),
               last_ts = coalesce(s.last_ts, meters.last_ts),
               last_value = coalesce(s.last_value, meters.last_value),
               last_baseline = CASE WHEN s.last_ts IS NULL THEN meters.last_baseline ELSE s.last_baseline END
           FROM meter_state s WHERE meters.meter_id = s.meter_id"""
    )
    if changed.any():
        meter_intervals = pa.table({  # noqa: F841
            "meter_id": batch.ids[changed],
            "interval_s": pa.array(interval_s[changed], mask=np.isnan(interval_s[changed])),
            "recent_intervals": pa.array([row[~np.isnan(row)] for row in recent[changed]], type=pa.list_(pa.float64())),
        })
        cur.execute(
            """UPDATE meters SET interval_s = coalesce(s.interval_s, meters.interval_s),
                   recent_intervals = coalesce(s.recent_intervals, meters.recent_intervals)
               FROM meter_intervals s WHERE meters.meter_id = s.meter_id"""
        )
    return seen


def _quarantine(cur: duckdb.DuckDBPyConnection, rejections: list[Rejection]) -> None:
    if not rejections:
        return
    frame = pd.DataFrame(
        {
            "received_at": pd.to_datetime([r.received_at for r in rejections], utc=True).tz_localize(None),
            "source": [r.source for r in rejections],
            "meter_id": [r.meter_id for r in rejections],
            "reason": [r.reason for r in rejections],
            "payload": [r.payload for r in rejections],
        }
    )
    cur.register("rejected", frame)
    cur.execute("INSERT INTO quarantine BY NAME SELECT * FROM rejected")
    cur.unregister("rejected")
