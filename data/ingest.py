"""One batch into the store: meters resolved, duplicates absorbed, consumption and rollups updated.

Runs inside the writer's transaction (see `data.store.Store.ingest`). The common
case — readings newer than everything stored for their meter — needs no look at
history: each meter's last reading and register baseline live on its `meters`
row. A late reading instead re-derives its meter's intervals from the reading
before it, replacing the intervals it splits, and the rollups get the difference.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from data.consumption import RECENT_INTERVALS, derive_intervals, typical_intervals
from data.meter_registry import MeterRegistry
from data.payload import Rejection
from data.quality import Flag, quality_score
from data.rollups import add_reading_stats, apply_volume_deltas, queue_volume_deltas, volume_deltas
from data.schema import DEFAULT_MAX_FLOW_L_S, MAX_FLOW_BY_CATEGORY
from data.units import CONSUMPTION_QUANTITIES, WEATHER_QUANTITIES, conversion

if TYPE_CHECKING:
    from data.store import StoreOptions

LATE_ANCHOR_LOOKBACK = "35 DAY"


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
) -> tuple[IngestResult, pd.DataFrame]:
    """Store one batch; returns the result and the meter state it wrote (for the registry).

    With ``defer_rollups`` the batch's volume deltas are queued in `rollup_deltas`
    instead of being added to the rollups (see `data.rollups`).
    """
    registered = duplicates = stored = 0
    meter_ids: tuple[str, ...] = ()
    state = pd.DataFrame()
    if not rows.empty:
        rows = _naive_utc(rows)
        rows, refused, registered = _resolve_meters(cur, rows, options, registered_by, registry)
        rejections = rejections + refused
        unique = rows.drop_duplicates(["meter_id", "quantity", "ts"])
        fresh = _drop_stored(cur, unique.reset_index(drop=True), registry)
        duplicates = len(rows) - len(fresh)
        if not fresh.empty:
            codes, ids = pd.factorize(fresh["meter_id"])
            meters = registry.lookup(cur, ids)
            fresh = _flag_arrival(fresh, codes, meters)
            _insert_readings(cur, fresh)
            add_reading_stats(cur, fresh)
            consumption_state = _derive_consumption(cur, fresh, codes, meters, defer_rollups)
            state = _update_meters(cur, fresh, codes, ids, consumption_state)
            stored = len(fresh)
            meter_ids = tuple(ids)
    _quarantine(cur, rejections)
    return IngestResult(stored, duplicates, len(rejections), registered, meter_ids), state


def _naive_utc(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.copy()
    for column in ("ts", "received_at"):
        if getattr(rows[column].dt, "tz", None) is not None:
            rows[column] = rows[column].dt.tz_convert("UTC").dt.tz_localize(None)
        rows[column] = rows[column].astype("datetime64[us]")
    return rows


def register_frame(cur: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    """Expose a frame to SQL as an Arrow table (twice as fast to scan as a DataFrame)."""
    cur.register(name, pa.Table.from_pandas(frame, preserve_index=False))


def _resolve_meters(
    cur: duckdb.DuckDBPyConnection, rows: pd.DataFrame, options: StoreOptions, registered_by: str,
    registry: MeterRegistry,
) -> tuple[pd.DataFrame, list[Rejection], int]:
    """Apply the unknown-meter policy: register new meters, or quarantine their readings."""
    unknown = ~registry.known(cur, rows["meter_id"])
    if not unknown.any():
        _follow_consumption(cur, rows, registry)
        return rows, [], 0
    if options.unknown_meters == "quarantine":
        refused = [
            Rejection(f"unknown meter {row.meter_id!r}: the unknown-meter policy is 'quarantine'",
                      _as_payload(row), row.source, row.received_at.to_pydatetime(), row.meter_id)
            for row in rows[unknown].itertuples()
        ]
        return rows[~unknown], refused, 0
    new = _new_meters(rows[unknown], options.default_tz, registered_by)
    cur.register("new_meters", new)
    cur.execute("INSERT INTO meters BY NAME SELECT *, now()::TIMESTAMP AS registered_at FROM new_meters")
    cur.unregister("new_meters")
    registry.invalidate()
    _follow_consumption(cur, rows, registry)
    return rows, [], len(new)


def _follow_consumption(cur: duckdb.DuckDBPyConnection, rows: pd.DataFrame, registry: MeterRegistry) -> None:
    """A meter first heard through pressure or level follows its consumption quantity once one arrives."""
    consumption = rows[rows["quantity"].isin(CONSUMPTION_QUANTITIES)]
    if consumption.empty:
        return
    stored = registry.lookup(cur, pd.Index(consumption["meter_id"].unique()))["quantity"]
    waiting = stored.index[~stored.isin(CONSUMPTION_QUANTITIES)]
    if waiting.empty:
        return
    found = _new_meters(consumption[consumption["meter_id"].isin(waiting)], "UTC", "")
    cur.register("found_quantities", found[["meter_id", "quantity", "unit"]])
    cur.execute("""UPDATE meters SET quantity = f.quantity, unit = f.unit
                   FROM found_quantities f WHERE meters.meter_id = f.meter_id""")
    cur.unregister("found_quantities")
    registry.invalidate()


def _new_meters(rows: pd.DataFrame, default_tz: str, registered_by: str) -> pd.DataFrame:
    """Meters first heard of in this batch, described from their own readings."""
    preference = {q: i for i, q in enumerate(CONSUMPTION_QUANTITIES)}
    ranked = rows.assign(rank=rows["quantity"].map(preference).fillna(len(preference)))
    first = ranked.sort_values("rank", kind="stable").drop_duplicates("meter_id")
    records = []
    for row in first.itertuples():
        attrs = json.loads(row.attrs) if isinstance(row.attrs, str) else {}
        category = _label(attrs.get("category")) or ("weather" if row.quantity in WEATHER_QUANTITIES else None)
        tz = attrs.get("tz")
        records.append(
            {
                "meter_id": row.meter_id,
                "zone_id": _label(attrs.get("zone")),
                "category": category,
                "quantity": row.quantity,
                "unit": row.orig_unit,
                "max_flow_l_s": MAX_FLOW_BY_CATEGORY.get(category, DEFAULT_MAX_FLOW_L_S),
                "tz": tz if _is_time_zone(tz) else default_tz,
                "registered_by": registered_by,
            }
        )
    return pd.DataFrame.from_records(records)


def _label(value: object) -> str | None:
    """A zone or category named in a reading's extra fields: text or a number, never a structure."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or value == "":
        return None
    return str(value)


def _is_time_zone(name: object) -> bool:
    """True for an IANA time zone name (a device may send anything in its extra fields)."""
    if not isinstance(name, str) or not name:
        return False
    try:
        ZoneInfo(name)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


def _as_payload(row) -> str:
    factor, offset = conversion(row.quantity, row.orig_unit) or (1.0, 0.0)
    reading = {
        "meter_id": row.meter_id,
        "ts": row.ts.isoformat() + "Z",
        "quantity": "level" if row.quantity == "level_pct" else row.quantity,
        "value": (row.value - offset) / factor,
        "unit": row.orig_unit,
    }
    if not pd.isna(row.seq):
        reading["seq"] = int(row.seq)
    if isinstance(row.attrs, str):
        reading.update(json.loads(row.attrs))
    return json.dumps(reading)


def _drop_stored(cur: duckdb.DuckDBPyConnection, rows: pd.DataFrame, registry: MeterRegistry) -> pd.DataFrame:
    """Rows whose meter, quantity and timestamp are not stored yet (redeliveries are absorbed).

    A reading of a meter's consumption quantity newer than the meter's last one cannot be
    stored yet; only the others are looked up.
    """
    codes, ids = pd.factorize(rows["meter_id"])
    meters = registry.lookup(cur, ids)
    newest = meters["last_ts"].astype("datetime64[us]").to_numpy()[codes]
    surely_new = (
        (rows["ts"].to_numpy() > newest)
        & (rows["quantity"].to_numpy(dtype=object) == meters["quantity"].to_numpy(dtype=object)[codes])
        & rows["quantity"].isin(CONSUMPTION_QUANTITIES).to_numpy()
    )
    if surely_new.all():
        return rows
    keys = rows.loc[~surely_new, ["meter_id", "quantity", "ts"]].assign(row=np.flatnonzero(~surely_new))
    cur.register("batch_keys", keys)
    stored = cur.execute(
        """
        SELECT b.row FROM batch_keys b SEMI JOIN (
            SELECT meter_id, quantity, ts FROM readings
            WHERE ts BETWEEN ? AND ? AND meter_id IN (SELECT meter_id FROM batch_keys)
        ) r USING (meter_id, quantity, ts)
        """,
        [keys["ts"].min(), keys["ts"].max()],
    ).fetchnumpy()["row"]
    cur.unregister("batch_keys")
    if len(stored) == 0:
        return rows
    return rows.drop(rows.index[stored]).reset_index(drop=True)


def _is_main(rows: pd.DataFrame, codes: np.ndarray, meters: pd.DataFrame) -> np.ndarray:
    """Rows of each meter's own consumption quantity (the one its state follows)."""
    return rows["quantity"].to_numpy(dtype=object) == meters["quantity"].to_numpy(dtype=object)[codes]


def _flag_arrival(rows: pd.DataFrame, codes: np.ndarray, meters: pd.DataFrame) -> pd.DataFrame:
    """Flag readings of a meter's main quantity that arrive out of order or after a seq gap."""
    rows = rows.copy()
    primary = _is_main(rows, codes, meters)
    main = pd.DataFrame({
        "code": codes[primary],
        "ts": rows["ts"].to_numpy()[primary].view("int64"),
        "seq": rows["seq"].to_numpy(dtype="float64", na_value=np.nan)[primary],
    })
    stored_ts = meters["last_ts"].astype("datetime64[us]").to_numpy().view("int64")
    stored_ts = np.where(stored_ts == np.iinfo("int64").min, np.iinfo("int64").min, stored_ts)
    newest_before = main.groupby("code", sort=False)["ts"].cummax().groupby(main["code"]).shift(1)
    newest_before = np.fmax(newest_before.to_numpy(dtype="float64"), stored_ts[main["code"]].astype("float64"))
    late = main["ts"].to_numpy() < newest_before

    stored_seq = meters["last_seq"].to_numpy(dtype="float64", na_value=np.nan)[main["code"]]
    previous_seq = main.groupby("code", sort=False)["seq"].shift(1).to_numpy()
    previous_seq = np.where(np.isnan(previous_seq), stored_seq, previous_seq)
    gap = main["seq"].to_numpy() > previous_seq + 1

    flags = rows["flags"].to_numpy().copy()
    flags[np.flatnonzero(primary)] |= np.where(late, int(Flag.OUT_OF_ORDER), 0) | np.where(gap, int(Flag.SEQ_GAP), 0)
    rows["flags"] = flags.astype("int32")
    rows["quality"] = quality_score(flags).astype("float32")
    return rows


def _insert_readings(cur: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> None:
    register_frame(cur, "new_readings", rows)
    cur.execute(
        """INSERT INTO readings BY NAME SELECT meter_id, ts, quantity, value, unit, orig_unit, seq,
           attrs, source, received_at, flags, quality FROM new_readings"""
    )
    cur.unregister("new_readings")


def _derive_consumption(
    cur: duckdb.DuckDBPyConnection, rows: pd.DataFrame, codes: np.ndarray, meters: pd.DataFrame,
    defer_rollups: bool = False,
) -> pd.DataFrame:
    """Consumption intervals and rollup deltas for meters whose consumption quantity arrived.

    Returns the new state of those meters (by code): their last reading and baseline.
    """
    main = _is_main(rows, codes, meters) & rows["quantity"].isin(CONSUMPTION_QUANTITIES).to_numpy()
    if not main.any():
        return pd.DataFrame()
    code = codes[main]
    ts = rows["ts"].to_numpy()[main].view("int64")
    first_new = pd.Series(ts).groupby(code).min()
    last_ts = meters["last_ts"].astype("datetime64[us]").to_numpy()
    has_last = ~np.isnat(last_ts)
    last_us = last_ts.view("int64")
    late = np.zeros(len(meters), dtype=bool)
    late[first_new.index] = has_last[first_new.index] & (first_new.to_numpy() <= last_us[first_new.index])

    current = ~late[code]
    anchors = np.flatnonzero(has_last & ~late & np.isin(np.arange(len(meters)), first_new.index))
    baseline = meters["last_baseline"].fillna(meters["last_value"]).to_numpy(dtype="float64")
    window = pd.DataFrame(
        {
            "meter_id": np.concatenate([anchors, code[current]]),
            "ts": np.concatenate([last_us[anchors], ts[current]]),
            "value": np.concatenate([baseline[anchors], rows["value"].to_numpy(dtype="float64")[main][current]]),
            "is_anchor": np.concatenate([np.ones(len(anchors), bool), np.zeros(int(current.sum()), bool)]),
        }
    )
    removed = pd.DataFrame({"meter_id": [], "ts_start": [], "ts_end": [], "volume_l": [], "flags": []})
    before_anchor: dict[str, np.ndarray] = {}
    if late.any():
        late_codes = np.flatnonzero(late)
        late_window, removed, before_anchor = _late_window(cur, meters.index[late_codes], first_new[late_codes],
                                                           meters)
        position = pd.Series(np.arange(len(meters)), index=meters.index)
        late_window["meter_id"] = position[late_window["meter_id"]].to_numpy()
        removed["meter_id"] = position[removed["meter_id"]].to_numpy()
        window = pd.concat([window, late_window], ignore_index=True)

    window = window.iloc[np.lexsort((window["ts"].to_numpy(), window["meter_id"].to_numpy()))]
    window = window.reset_index(drop=True)
    position = window["meter_id"].to_numpy(dtype="int64")
    in_window = pd.unique(position)
    stored_recent = meters["recent_intervals"].to_numpy(dtype=object)
    names = meters.index.to_numpy(dtype=object)
    prior = [before_anchor.get(names[c], np.empty(0)) if late[c] else
             np.asarray(stored_recent[c] if isinstance(stored_recent[c], (list, np.ndarray)) else [], dtype="float64")
             for c in in_window]
    typical, recent = typical_intervals(position, window["ts"].to_numpy(dtype="int64"), prior)
    window["quantity"] = meters["quantity"].to_numpy(dtype=object)[position]
    window["register_size_l"] = meters["register_size_l"].to_numpy(dtype="float64")[position]
    window["max_flow_l_s"] = meters["max_flow_l_s"].fillna(DEFAULT_MAX_FLOW_L_S).to_numpy(dtype="float64")[position]
    window["interval_s"] = typical

    intervals = derive_intervals(window)
    register_frame(cur, "new_intervals", intervals.assign(meter_id=names[intervals["meter_id"].to_numpy(dtype="int64")]))
    cur.execute(
        """INSERT INTO consumption SELECT meter_id, make_timestamp(ts_start), make_timestamp(ts_end),
           volume_l, baseline, flags FROM new_intervals"""
    )
    cur.unregister("new_intervals")
    tz_of = pd.Series(meters["tz"].fillna("UTC").to_numpy(), index=np.arange(len(meters)))
    hourly, daily = volume_deltas(intervals, removed, tz_of)
    hourly["meter_id"] = names[hourly["meter_id"].to_numpy(dtype="int64")]
    daily["meter_id"] = names[daily["meter_id"].to_numpy(dtype="int64")]
    (queue_volume_deltas if defer_rollups else apply_volume_deltas)(cur, hourly, daily)

    readings = window[~window["is_anchor"].to_numpy()]
    last = readings.assign(baseline=intervals["baseline"].to_numpy()).groupby("meter_id").tail(1)
    recent_of_last = recent[np.searchsorted(in_window, last["meter_id"].to_numpy(dtype="int64"))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median_of_last = np.nanmedian(recent_of_last, axis=1)
    return pd.DataFrame(
        {
            "code": last["meter_id"].to_numpy(dtype="int64"),
            "last_ts": last["ts"].to_numpy(dtype="int64").astype("datetime64[us]"),
            "last_value": last["value"].to_numpy(),
            "last_baseline": last["baseline"].to_numpy(),
            "recent_intervals": [row[~np.isnan(row)] for row in recent_of_last],
            "interval_s": median_of_last,
        }
    )


def _late_window(
    cur: duckdb.DuckDBPyConnection, ids: pd.Index, first_new: pd.Series, meters: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    """Readings to re-derive for meters that received late readings, the intervals they replace,
    and each meter's reporting intervals just before its anchor (the history its gaps are judged by)."""
    late = pd.DataFrame(
        {"meter_id": ids.to_numpy(dtype=object), "quantity": meters.loc[ids, "quantity"].to_numpy(dtype=object),
         "t0": first_new.to_numpy(dtype="int64").astype("datetime64[us]")}
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


def _update_meters(
    cur: duckdb.DuckDBPyConnection, rows: pd.DataFrame, codes: np.ndarray, ids: pd.Index, state: pd.DataFrame
) -> pd.DataFrame:
    """One UPDATE per batch: when each meter was last heard, its last seq, its consumption state."""
    seen = pd.DataFrame(
        {
            "meter_id": ids.to_numpy(dtype=object),
            "last_seen_at": pd.Series(rows["received_at"].to_numpy()).groupby(codes).max().to_numpy(),
            "last_seq": pd.Series(rows["seq"].to_numpy(dtype="float64", na_value=np.nan)).groupby(codes).max()
            .to_numpy(),
            "last_ts": np.full(len(ids), np.datetime64("NaT"), dtype="datetime64[us]"),
            "last_value": np.nan,
            "last_baseline": np.nan,
            "interval_s": np.nan,
            "recent_intervals": pd.Series([None] * len(ids), dtype=object).to_numpy(),
        }
    )
    if not state.empty:
        at = state["code"].to_numpy()
        for column in ("last_ts", "last_value", "last_baseline", "interval_s", "recent_intervals"):
            values = seen[column].to_numpy().copy()
            values[at] = state[column].to_numpy()
            seen[column] = values
    register_frame(cur, "meter_state", seen)
    cur.execute(
        """UPDATE meters SET
               last_seen_at = greatest(meters.last_seen_at, s.last_seen_at),
               last_seq = coalesce(s.last_seq::BIGINT, meters.last_seq),
               last_ts = coalesce(s.last_ts, meters.last_ts),
               last_value = coalesce(s.last_value, meters.last_value),
               last_baseline = CASE WHEN s.last_ts IS NULL THEN meters.last_baseline ELSE s.last_baseline END,
               interval_s = coalesce(s.interval_s, meters.interval_s),
               recent_intervals = coalesce(s.recent_intervals::DOUBLE[], meters.recent_intervals)
           FROM meter_state s WHERE meters.meter_id = s.meter_id"""
    )
    cur.unregister("meter_state")
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
