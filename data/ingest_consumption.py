"""Consumption from a batch's register and flow readings, and the rollup deltas it brings.

The common case — readings newer than everything stored for their meter — starts
from each meter's last reading and register baseline, kept on its `meters` row. A
late reading instead re-derives its meter's intervals from the reading before it
(`_late_window`), replacing the intervals it splits, and the rollups get the difference.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from data.consumption import RECENT_INTERVALS, derive_intervals, row_medians, typical_intervals
from data.meter_registry import recent_rows
from data.reading_batch import ReadingBatch
from data.rollups import MeterZones, apply_volume_deltas, queue_volume_deltas, volume_deltas
from data.schema import DEFAULT_MAX_FLOW_L_S
from data.units import CONSUMPTION_QUANTITIES

LATE_ANCHOR_LOOKBACK = "35 DAY"


def derive_consumption(cur: duckdb.DuckDBPyConnection, batch: ReadingBatch,
                       defer_rollups: bool = False) -> dict[str, np.ndarray]:
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
