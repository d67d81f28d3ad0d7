"""One batch into the store: meters resolved, duplicates absorbed, consumption and rollups updated.

Runs inside the writer's transaction (see `data.store.Store.ingest`). The common
case — readings newer than everything stored for their meter — needs no look at
history: each meter's last reading and register baseline live on its `meters`
row. A late reading instead re-derives its meter's intervals from the reading
before it, replacing the intervals it splits, and the rollups get the difference.

A batch costs the writer CPU that the broker and the network thread need, so every
step works on numpy arrays taken from the frame once (`_Batch`: meters as integer
codes into the registry's rows), and the SQL reads Arrow tables by their variable
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

from data.consumption import RECENT_INTERVALS, derive_intervals, row_medians, typical_intervals
from data.meter_description import as_sent, describe_new_meters
from data.meter_registry import MeterRegistry, MeterRows, recent_rows
from data.payload import Rejection
from data.quality import Flag, quality_score
from data.rollups import (
    NO_READING_STATS,
    MeterZones,
    add_reading_stats,
    apply_volume_deltas,
    queue_volume_deltas,
    volume_deltas,
)
from data.schema import DEFAULT_MAX_FLOW_L_S
from data.units import CONSUMPTION_QUANTITIES

if TYPE_CHECKING:
    from data.store import StoreOptions

LATE_ANCHOR_LOOKBACK = "35 DAY"
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
        keys = _MeterKeys(rows)
        rows, refused, registered = _resolve_meters(cur, rows, keys, options, registered_by, registry)
        rejections = rejections + refused
        if refused:
            keys = _MeterKeys(rows)
    if not rows.empty:
        batch = _Batch.of(rows, keys, registry, cur)
        fresh = _drop_stored(cur, batch, _first_of_each(batch))
        duplicates = len(rows) - len(fresh)
        if len(fresh):
            batch = batch.take(fresh)
            flags = _flag_arrival(batch)
            _insert_readings(cur, rows, fresh, flags)
            if batch.has_stats.any():
                add_reading_stats(cur, batch.frame(batch.has_stats))
            consumption_state = _derive_consumption(cur, batch, defer_rollups)
            state = _update_meters(cur, batch, consumption_state)
            stored = len(fresh)
            meter_ids = tuple(batch.ids)
    _quarantine(cur, rejections)
    return IngestResult(stored, duplicates, len(rejections), registered, meter_ids), state


class _MeterKeys:
    """A batch's meter ids as integer codes into ``ids``, and its quantities (numpy)."""

    def __init__(self, rows: pd.DataFrame):
        self.codes, ids = pd.factorize(rows["meter_id"])
        self.ids = ids.to_numpy(dtype=object)
        self.quantity = rows["quantity"].to_numpy(dtype=object)


class _Batch:
    """A batch's readings as arrays, with integer meter codes into ``ids`` and ``meters`` (their
    registry rows): what every step needs, extracted from the frame once."""

    def __init__(self, codes: np.ndarray, ids: np.ndarray, meters: MeterRows, ts: np.ndarray,
                 quantity: np.ndarray, value: np.ndarray, seq: np.ndarray, received_at: np.ndarray,
                 flags: np.ndarray, zone_categories: np.ndarray):
        self.codes, self.ids, self.meters = codes, ids, meters
        self.ts, self.quantity, self.value, self.seq, self.received_at = ts, quantity, value, seq, received_at
        self.flags, self.zone_categories = flags, zone_categories
        self.main = quantity == meters["quantity"][codes]
        self.has_stats = ~np.isin(quantity, NO_READING_STATS)

    @classmethod
    def of(cls, rows: pd.DataFrame, keys: _MeterKeys, registry: MeterRegistry, cur: duckdb.DuckDBPyConnection) -> _Batch:
        return cls(keys.codes, keys.ids, registry.lookup(cur, keys.ids),
                   rows["ts"].to_numpy(dtype="datetime64[us]").view("int64"),
                   keys.quantity, rows["value"].to_numpy(dtype="float64"),
                   rows["seq"].to_numpy(dtype="float64", na_value=np.nan),
                   rows["received_at"].to_numpy(dtype="datetime64[us]").view("int64"),
                   rows["flags"].to_numpy(dtype="int32"), registry.zone_categories)

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, index: np.ndarray) -> _Batch:
        """These rows, with meter codes renumbered in order of first appearance."""
        codes, used = pd.factorize(self.codes[index])
        return _Batch(codes, self.ids[used], self.meters.take(used), self.ts[index], self.quantity[index],
                      self.value[index], self.seq[index], self.received_at[index], self.flags[index],
                      self.zone_categories)

    def frame(self, mask: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({"meter_id": self.ids[self.codes[mask]], "quantity": self.quantity[mask],
                             "ts": self.ts[mask].astype("datetime64[us]"), "value": self.value[mask]})


def _naive_utc(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with ``ts`` and ``received_at`` as naive UTC (numpy gives aware times in UTC)."""
    return rows.assign(**{column: rows[column].to_numpy(dtype="datetime64[us]") for column in ("ts", "received_at")})


def _resolve_meters(
    cur: duckdb.DuckDBPyConnection, rows: pd.DataFrame, keys: _MeterKeys, options: StoreOptions,
    registered_by: str, registry: MeterRegistry,
) -> tuple[pd.DataFrame, list[Rejection], int]:
    """Apply the unknown-meter policy: register new meters, or quarantine their readings."""
    unknown = ~registry.known(cur, keys.ids)[keys.codes]
    if not unknown.any():
        _follow_consumption(cur, rows, keys, registry)
        return rows, [], 0
    if options.unknown_meters == "quarantine":
        refused = [
            Rejection(f"unknown meter {row.meter_id!r}: the unknown-meter policy is 'quarantine'",
                      as_sent(row), row.source, row.received_at.to_pydatetime(), row.meter_id)
            for row in rows[unknown].itertuples()
        ]
        return rows[~unknown], refused, 0
    new = describe_new_meters(rows[unknown], options.default_tz, registered_by)
    cur.register("new_meters", new)
    cur.execute("INSERT INTO meters BY NAME SELECT *, now()::TIMESTAMP AS registered_at FROM new_meters")
    cur.unregister("new_meters")
    registry.invalidate()
    _follow_consumption(cur, rows, keys, registry)
    return rows, [], len(new)


def _follow_consumption(cur: duckdb.DuckDBPyConnection, rows: pd.DataFrame, keys: _MeterKeys,
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
    registry.invalidate()


def _first_of_each(batch: _Batch) -> np.ndarray:
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


def _drop_stored(cur: duckdb.DuckDBPyConnection, batch: _Batch, candidates: np.ndarray) -> np.ndarray:
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


def _flag_arrival(batch: _Batch) -> np.ndarray:
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




def _derive_consumption(cur: duckdb.DuckDBPyConnection, batch: _Batch, defer_rollups: bool = False) -> pd.DataFrame:
    """Consumption intervals and rollup deltas for meters whose consumption quantity arrived.

    Returns the new state of those meters (by code): their last reading, baseline and recent intervals.
    """
    meters = batch.meters
    n = len(meters)
    main = batch.main & np.isin(meters["quantity"], CONSUMPTION_QUANTITIES)[batch.codes]
    if not main.any():
        return {}
    code, ts, value = batch.codes[main], batch.ts[main], batch.value[main]
    first_new = np.full(n, np.iinfo("int64").max)
    np.minimum.at(first_new, code, ts)
    has_new = np.zeros(n, dtype=bool)
    has_new[code] = True
    last_ts = meters["last_ts"]
    has_last = ~np.isnat(last_ts)
    last_us = last_ts.view("int64")
    late = has_new & has_last & (first_new <= last_us)

    current = ~late[code]
    anchors = np.flatnonzero(has_last & ~late & has_new)
    baseline = np.where(np.isnan(meters["last_baseline"]), meters["last_value"], meters["last_baseline"])
    meter = np.concatenate([anchors, code[current]])
    window_ts = np.concatenate([last_us[anchors], ts[current]])
    window_value = np.concatenate([baseline[anchors], value[current]])
    is_anchor = np.concatenate([np.ones(len(anchors), bool), np.zeros(int(current.sum()), bool)])
    prior = meters.recent.copy()
    removed = pd.DataFrame({"meter_id": [], "ts_start": [], "ts_end": [], "volume_l": [], "flags": []})
    if late.any():
        late_codes = np.flatnonzero(late)
        late_ids = meters.ids[late_codes]
        late_window, removed, before_anchor = _late_window(cur, late_ids, meters["quantity"][late_codes],
                                                           first_new[late_codes])
        position = pd.Series(np.arange(n), index=meters.ids)
        removed["meter_id"] = position[removed["meter_id"]].to_numpy()
        meter = np.concatenate([meter, position[late_window["meter_id"]].to_numpy()])
        window_ts = np.concatenate([window_ts, late_window["ts"].to_numpy(dtype="int64")])
        window_value = np.concatenate([window_value, late_window["value"].to_numpy(dtype="float64")])
        is_anchor = np.concatenate([is_anchor, late_window["is_anchor"].to_numpy(dtype=bool)])
        prior[late_codes] = recent_rows([before_anchor.get(name, np.empty(0)) for name in late_ids])

    order = np.lexsort((window_ts, meter))
    meter, window_ts, window_value, is_anchor = meter[order], window_ts[order], window_value[order], is_anchor[order]
    in_window = np.unique(meter)
    typical, recent = typical_intervals(meter, window_ts, prior[in_window])
    max_flow = meters["max_flow_l_s"]
    window = pd.DataFrame({
        "meter_id": meter, "ts": window_ts, "value": window_value, "is_anchor": is_anchor,
        "quantity": pd.Series(meters["quantity"][meter], dtype=object),
        "register_size_l": meters["register_size_l"][meter],
        "max_flow_l_s": np.where(np.isnan(max_flow), DEFAULT_MAX_FLOW_L_S, max_flow)[meter],
        "interval_s": typical,
    })
    intervals = derive_intervals(window)
    names = batch.ids
    new_intervals = pa.table({  # noqa: F841
        "meter_id": names[intervals["meter_id"].to_numpy(dtype="int64")],
        "ts_start": intervals["ts_start"].to_numpy(dtype="int64").astype("datetime64[us]"),
        "ts_end": intervals["ts_end"].to_numpy(dtype="int64").astype("datetime64[us]"),
        "volume_l": intervals["volume_l"].to_numpy(dtype="float64"),
        "baseline": intervals["baseline"].to_numpy(dtype="float64"),
        "flags": intervals["flags"].to_numpy(dtype="int32"),
    })
    cur.execute("INSERT INTO consumption SELECT * FROM new_intervals")
    tz_of = pd.Series(np.where(pd.isna(meters["tz"]), "UTC", meters["tz"]), index=np.arange(n))
    hourly, daily = volume_deltas(intervals, removed, tz_of)
    if defer_rollups:
        hourly["meter_id"] = names[hourly["meter_id"].to_numpy(dtype="int64")]
        daily["meter_id"] = names[daily["meter_id"].to_numpy(dtype="int64")]
        queue_volume_deltas(cur, hourly, daily)
    else:
        apply_volume_deltas(cur, hourly, daily,
                            MeterZones(names, meters["zone_key"], batch.zone_categories))

    reading = np.flatnonzero(~is_anchor)  # the rows that closed an interval, in the order of `intervals`
    of_reading = meter[reading]
    last = np.append(of_reading[1:] != of_reading[:-1], True)
    recent_of_last = recent[np.searchsorted(in_window, of_reading[last])]
    median_of_last = row_medians(recent_of_last)
    return {
        "code": of_reading[last],
        "last_ts": window_ts[reading[last]].astype("datetime64[us]"),
        "last_value": window_value[reading[last]],
        "last_baseline": intervals["baseline"].to_numpy(dtype="float64")[last],
        "interval_s": median_of_last,
        "recent": recent_of_last,
    }


def _late_window(
    cur: duckdb.DuckDBPyConnection, ids: np.ndarray, quantity: np.ndarray, first_new: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    """Readings to re-derive for meters that received late readings, the intervals they replace,
    and each meter's reporting intervals just before its anchor (the history its gaps are judged by)."""
    late = pd.DataFrame(
        {"meter_id": ids, "quantity": quantity, "t0": np.asarray(first_new, dtype="int64").astype("datetime64[us]")}
    )
    cur.register("late", late)
    anchors = cur.execute(
        f"""SELECT l.meter_id, l.quantity, l.t0, max(r.ts) AS anchor_ts
            FROM late l LEFT JOIN readings r ON r.meter_id = l.meter_id AND r.quantity = l.quantity
                 AND r.ts < l.t0 AND r.ts >= l.t0 - INTERVAL {LATE_ANCHOR_LOOKBACK}
            GROUP BY ALL"""
    ).df()
    missing = anchors["anchor_ts"].isna()
    if missing.any():
        cur.register("late_far", anchors[missing][["meter_id", "quantity", "t0"]])
        far = cur.execute(
            """SELECT l.meter_id, max(r.ts) AS anchor_ts FROM late_far l LEFT JOIN readings r
               ON r.meter_id = l.meter_id AND r.quantity = l.quantity AND r.ts < l.t0 GROUP BY ALL"""
        ).df().set_index("meter_id")["anchor_ts"]
        cur.unregister("late_far")
        anchors.loc[missing, "anchor_ts"] = anchors.loc[missing, "meter_id"].map(far)
    cur.unregister("late")
    anchors["since"] = anchors["anchor_ts"].fillna(anchors["t0"] - pd.Timedelta(microseconds=1))
    cur.register("late_anchor", anchors)
    window = cur.execute(
        """SELECT r.meter_id, epoch_us(r.ts) AS ts, coalesce(c.baseline, r.value) AS value,
                  r.ts = a.anchor_ts AS is_anchor
           FROM late_anchor a JOIN readings r ON r.meter_id = a.meter_id AND r.quantity = a.quantity
                AND r.ts >= coalesce(a.anchor_ts, a.t0)
           LEFT JOIN consumption c ON c.meter_id = a.meter_id AND c.ts_end = a.anchor_ts AND r.ts = a.anchor_ts"""
    ).df()
    removed = cur.execute(
        """DELETE FROM consumption c USING late_anchor a
           WHERE c.meter_id = a.meter_id AND c.ts_end > a.since
           RETURNING c.meter_id, epoch_us(c.ts_start) AS ts_start, epoch_us(c.ts_end) AS ts_end,
                     c.volume_l, c.flags"""
    ).df()
    history = cur.execute(
        f"""SELECT meter_id, list(epoch_us(ts) ORDER BY ts) AS ts FROM (
                SELECT r.meter_id, r.ts, row_number() OVER (PARTITION BY r.meter_id ORDER BY r.ts DESC) AS k
                FROM late_anchor a JOIN readings r ON r.meter_id = a.meter_id AND r.quantity = a.quantity
                     AND r.ts <= a.anchor_ts AND r.ts >= a.anchor_ts - INTERVAL {LATE_ANCHOR_LOOKBACK})
            WHERE k <= {RECENT_INTERVALS + 1} GROUP BY meter_id"""
    ).fetchall()
    cur.unregister("late_anchor")
    window["is_anchor"] = window["is_anchor"].fillna(False).astype(bool)
    before_anchor = {meter: np.diff(np.asarray(stamps, dtype="float64")) / 1e6 for meter, stamps in history}
    return window, removed, before_anchor


def _update_meters(cur: duckdb.DuckDBPyConnection, batch: _Batch, state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
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
