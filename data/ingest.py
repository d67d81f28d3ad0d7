"""One batch into the store: meters resolved, duplicates absorbed, consumption and rollups updated.

Runs inside the writer's transaction (see `data.store.Store.ingest`). The common
case — readings newer than everything stored for their meter — needs no look at
history: each meter's last reading and register baseline live on its `meters`
row. A late reading instead re-derives its meter's intervals from the reading
before it, replacing the intervals it splits, and the rollups get the difference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd

from data.consumption import derive_intervals
from data.payload import Rejection
from data.quality import Flag, quality_score
from data.rollups import add_reading_stats, apply_volume_deltas, volume_deltas
from data.schema import DEFAULT_MAX_FLOW_L_S, MAX_FLOW_BY_CATEGORY
from data.units import CONSUMPTION_QUANTITIES, WEATHER_QUANTITIES, conversion

if TYPE_CHECKING:
    from data.store import StoreOptions

LATE_ANCHOR_LOOKBACK = "35 DAY"
MIN_ROWS_TO_LEARN_INTERVAL = 5


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
    options: "StoreOptions",
    registered_by: str,
) -> IngestResult:
    registered = duplicates = stored = 0
    meter_ids: tuple[str, ...] = ()
    if not rows.empty:
        rows = _naive_utc(rows)
        rows, refused, registered = _resolve_meters(cur, rows, options, registered_by)
        rejections = rejections + refused
        unique = rows.drop_duplicates(["meter_id", "quantity", "ts"])
        fresh = _drop_stored(cur, unique)
        duplicates = len(rows) - len(fresh)
        if not fresh.empty:
            meters = _meter_info(cur, fresh["meter_id"].unique())
            fresh = _flag_arrival(fresh, meters)
            _insert_readings(cur, fresh)
            add_reading_stats(cur, fresh)
            _derive_consumption(cur, fresh, meters)
            _mark_seen(cur, fresh, meters)
            stored = len(fresh)
            meter_ids = tuple(fresh["meter_id"].unique())
    _quarantine(cur, rejections)
    return IngestResult(stored, duplicates, len(rejections), registered, meter_ids)


def _naive_utc(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.copy()
    for column in ("ts", "received_at"):
        if getattr(rows[column].dt, "tz", None) is not None:
            rows[column] = rows[column].dt.tz_convert("UTC").dt.tz_localize(None)
        rows[column] = rows[column].astype("datetime64[us]")
    return rows


def _known_meters(cur: duckdb.DuckDBPyConnection, ids: np.ndarray) -> pd.DataFrame:
    cur.register("batch_ids", pd.DataFrame({"meter_id": pd.array(ids, dtype="string")}))
    known = cur.execute("SELECT * FROM meters SEMI JOIN batch_ids USING (meter_id)").df()
    cur.unregister("batch_ids")
    return known


def _resolve_meters(
    cur: duckdb.DuckDBPyConnection, rows: pd.DataFrame, options: "StoreOptions", registered_by: str
) -> tuple[pd.DataFrame, list[Rejection], int]:
    """Apply the unknown-meter policy: register new meters, or quarantine their readings."""
    known = set(_known_meters(cur, rows["meter_id"].unique())["meter_id"])
    unknown = ~rows["meter_id"].isin(known)
    if not unknown.any():
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
    return rows, [], len(new)


def _new_meters(rows: pd.DataFrame, default_tz: str, registered_by: str) -> pd.DataFrame:
    """Meters first heard of in this batch, described from their own readings."""
    preference = {q: i for i, q in enumerate(CONSUMPTION_QUANTITIES)}
    ranked = rows.assign(rank=rows["quantity"].map(preference).fillna(len(preference)))
    first = ranked.sort_values("rank", kind="stable").drop_duplicates("meter_id")
    records = []
    for row in first.itertuples():
        attrs = json.loads(row.attrs) if isinstance(row.attrs, str) else {}
        category = attrs.get("category") or ("weather" if row.quantity in WEATHER_QUANTITIES else None)
        records.append(
            {
                "meter_id": row.meter_id,
                "zone_id": attrs.get("zone"),
                "category": category,
                "quantity": row.quantity,
                "unit": row.orig_unit,
                "max_flow_l_s": MAX_FLOW_BY_CATEGORY.get(category, DEFAULT_MAX_FLOW_L_S),
                "tz": attrs.get("tz") or default_tz,
                "registered_by": registered_by,
            }
        )
    return pd.DataFrame.from_records(records)


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


def _drop_stored(cur: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> pd.DataFrame:
    """Rows whose meter, quantity and timestamp are not stored yet (redeliveries are absorbed)."""
    keys = rows[["meter_id", "quantity", "ts"]].assign(row=np.arange(len(rows)))
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
        return rows.reset_index(drop=True)
    return rows.drop(rows.index[stored]).reset_index(drop=True)


def _meter_info(cur: duckdb.DuckDBPyConnection, ids: np.ndarray) -> pd.DataFrame:
    return _known_meters(cur, ids).set_index("meter_id")


def _flag_arrival(rows: pd.DataFrame, meters: pd.DataFrame) -> pd.DataFrame:
    """Flag readings of a meter's consumption quantity that arrive out of order or after a seq gap."""
    rows = rows.copy()
    primary = rows["quantity"].to_numpy() == rows["meter_id"].map(meters["quantity"]).to_numpy()
    main = rows[primary]
    by_meter = main.groupby("meter_id", sort=False)
    newest_before = by_meter["ts"].cummax().groupby(main["meter_id"]).shift(1)
    stored_newest = main["meter_id"].map(meters["last_ts"]).astype("datetime64[us]")
    newest_before = newest_before.fillna(stored_newest)
    late = (main["ts"] < newest_before).fillna(False).to_numpy(dtype=bool)

    seq = main["seq"].astype("Float64")
    previous_seq = seq.groupby(main["meter_id"]).shift(1).fillna(main["meter_id"].map(meters["last_seq"]).astype("Float64"))
    gap = (seq > previous_seq + 1).fillna(False).to_numpy(dtype=bool)

    flags = rows["flags"].to_numpy().copy()
    flags[np.flatnonzero(primary)] |= np.where(late, int(Flag.OUT_OF_ORDER), 0) | np.where(gap, int(Flag.SEQ_GAP), 0)
    rows["flags"] = flags.astype("int32")
    rows["quality"] = quality_score(flags).astype("float32")
    return rows


def _insert_readings(cur: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> None:
    cur.register("new_readings", rows)
    cur.execute(
        """INSERT INTO readings BY NAME SELECT meter_id, ts, quantity, value, unit, orig_unit, seq,
           attrs, source, received_at, flags, quality FROM new_readings"""
    )
    cur.unregister("new_readings")


def _derive_consumption(cur: duckdb.DuckDBPyConnection, rows: pd.DataFrame, meters: pd.DataFrame) -> None:
    """Consumption intervals and rollup deltas for the meters whose consumption quantity arrived."""
    quantity_of = rows["meter_id"].map(meters["quantity"])
    main = rows[(rows["quantity"] == quantity_of) & rows["quantity"].isin(CONSUMPTION_QUANTITIES)]
    if main.empty:
        return
    first_new = main.groupby("meter_id")["ts"].min()
    last_ts = meters.loc[first_new.index, "last_ts"].astype("datetime64[us]")
    in_order = last_ts.isna() | (first_new > last_ts)

    current = main[main["meter_id"].isin(first_new.index[in_order])]
    anchors = meters.loc[first_new.index[in_order & last_ts.notna()]]
    window = pd.concat(
        [
            pd.DataFrame(
                {
                    "meter_id": anchors.index.to_numpy(),
                    "ts": anchors["last_ts"].astype("datetime64[us]").to_numpy().view("int64"),
                    "value": anchors["last_baseline"].fillna(anchors["last_value"]).to_numpy(dtype="float64"),
                    "is_anchor": True,
                }
            ),
            pd.DataFrame(
                {
                    "meter_id": current["meter_id"].to_numpy(),
                    "ts": current["ts"].to_numpy().view("int64"),
                    "value": current["value"].to_numpy(dtype="float64"),
                    "is_anchor": False,
                }
            ),
        ],
        ignore_index=True,
    )
    removed = pd.DataFrame({"meter_id": [], "ts_start": [], "ts_end": [], "volume_l": [], "flags": []})
    late = first_new[~in_order]
    if not late.empty:
        late_window, removed = _late_window(cur, late, meters)
        window = pd.concat([window, late_window], ignore_index=True)

    window = window.sort_values(["meter_id", "ts"], kind="stable").reset_index(drop=True)
    learned = _learn_intervals(window)
    interval_s = meters["interval_s"].copy()
    interval_s.update(learned)
    info = meters.loc[window["meter_id"]]
    window["quantity"] = info["quantity"].to_numpy()
    window["register_size_l"] = info["register_size_l"].to_numpy(dtype="float64")
    window["max_flow_l_s"] = info["max_flow_l_s"].fillna(DEFAULT_MAX_FLOW_L_S).to_numpy(dtype="float64")
    window["interval_s"] = window["meter_id"].map(interval_s).to_numpy(dtype="float64")

    intervals = derive_intervals(window)
    cur.register("new_intervals", intervals)
    cur.execute(
        """INSERT INTO consumption SELECT meter_id, make_timestamp(ts_start), make_timestamp(ts_end),
           volume_l, baseline, flags FROM new_intervals"""
    )
    cur.unregister("new_intervals")
    hourly, daily = volume_deltas(intervals, removed, meters.reset_index()[["meter_id", "tz"]])
    apply_volume_deltas(cur, hourly, daily)
    _save_state(cur, window, intervals, learned)


def _late_window(
    cur: duckdb.DuckDBPyConnection, first_new: pd.Series, meters: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Readings to re-derive for meters that received late readings, and the intervals they replace."""
    late = pd.DataFrame(
        {"meter_id": first_new.index.to_numpy(), "quantity": meters.loc[first_new.index, "quantity"].to_numpy(),
         "t0": first_new.to_numpy()}
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
    cur.unregister("late_anchor")
    window["is_anchor"] = window["is_anchor"].fillna(False).astype(bool)
    return window, removed


def _learn_intervals(window: pd.DataFrame) -> pd.Series:
    """Usual reporting interval (median gap, s) of meters with enough readings in this window."""
    readings = window[~window["is_anchor"]]
    counts = readings.groupby("meter_id").size()
    enough = counts.index[counts >= MIN_ROWS_TO_LEARN_INTERVAL]
    if enough.empty:
        return pd.Series(dtype="float64")
    sample = readings[readings["meter_id"].isin(enough)]
    gaps = sample.groupby("meter_id")["ts"].diff() / 1e6
    return gaps.groupby(sample["meter_id"]).median()


def _save_state(
    cur: duckdb.DuckDBPyConnection, window: pd.DataFrame, intervals: pd.DataFrame, learned: pd.Series
) -> None:
    readings = window[~window["is_anchor"]].reset_index(drop=True)
    last = readings.assign(baseline=intervals["baseline"].to_numpy()).groupby("meter_id").tail(1)
    state = pd.DataFrame(
        {
            "meter_id": last["meter_id"].to_numpy(),
            "last_ts": pd.to_datetime(last["ts"].to_numpy(), unit="us"),
            "last_value": last["value"].to_numpy(),
            "last_baseline": last["baseline"].to_numpy(),
            "interval_s": last["meter_id"].map(learned).to_numpy(dtype="float64"),
        }
    )
    cur.register("meter_state", state)
    cur.execute(
        """UPDATE meters SET last_ts = s.last_ts, last_value = s.last_value, last_baseline = s.last_baseline,
                  interval_s = coalesce(s.interval_s, meters.interval_s)
           FROM meter_state s WHERE meters.meter_id = s.meter_id"""
    )
    cur.unregister("meter_state")


def _mark_seen(cur: duckdb.DuckDBPyConnection, rows: pd.DataFrame, meters: pd.DataFrame) -> None:
    newest = rows.sort_values("ts").groupby("meter_id").agg(
        last_seen_at=("received_at", "max"), last_seq=("seq", "last")
    ).reset_index()
    cur.register("seen", newest)
    cur.execute(
        """UPDATE meters SET last_seen_at = greatest(meters.last_seen_at, s.last_seen_at),
                  last_seq = coalesce(s.last_seq, meters.last_seq)
           FROM seen s WHERE meters.meter_id = s.meter_id"""
    )
    cur.unregister("seen")


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
