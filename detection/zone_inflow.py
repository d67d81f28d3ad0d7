"""A district fed through several inlets, read as one inflow: the sum of its inlet meters.

A district's night flow is what enters it. When water moves from one of its inlets to another (a
valve operated, a source switched) each inlet's night flow steps up or down but their sum does not,
and a leak that draws through both shows whole only in the sum. The Zones page reads night flow the
same way (`data.queries.night_flow`). Inlets alone in their zone, and flow series of no zone, are
left as they are.

Inlets need not log together: each reading stands for up to one and a half of its meter's
intervals (the jitter of a logger's clock), and the sum is taken where every inlet has one. While
an inlet is silent the zone's inflow is unknown (a sum without it would read as a fall, and water
it used to carry, moved to the others, as a rise): `silent_meter` raises the silence instead. A
closed inlet whose meter goes on reporting 0 is summed as 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STANDS_FOR_INTERVALS = 1.5


def zone_inflows(flows: pd.DataFrame, series: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Flow readings (meter_id, ts, value) and their `catalogue` rows, with each zone of two or more inlet
    meters replaced by one series ``ZONE:<zone_id>`` whose row lists them in ``inlets``."""
    heard = series["meter_id"].isin(flows["meter_id"].unique())
    inlets = series[heard & (series["category"] == "inlet") & series["zone_id"].notna()]
    shared = inlets.groupby("zone_id")["meter_id"].agg(list)
    shared = shared[shared.map(len) >= 2]
    if shared.empty:
        return flows, series
    merged = [m for meters in shared for m in meters]
    interval_s = series.set_index("meter_id")["interval_s"]
    readings, rows = [flows[~flows["meter_id"].isin(merged)]], [series[~series["meter_id"].isin(merged)]]
    for zone_id, meters in shared.items():
        total = _sum_where_all_read(flows[flows["meter_id"].isin(meters)], interval_s)
        readings.append(pd.DataFrame({"meter_id": f"ZONE:{zone_id}", "ts": total.index, "value": total.to_numpy()}))
        first = inlets[inlets["zone_id"] == zone_id].iloc[0]
        rows.append(pd.DataFrame([{**first.to_dict(), "meter_id": f"ZONE:{zone_id}", "inlets": sorted(meters),
                                   "interval_s": interval_s.reindex(meters).min()}]))
    return (pd.concat(readings, ignore_index=True).sort_values(["meter_id", "ts"], ignore_index=True),
            pd.concat(rows, ignore_index=True))


def _sum_where_all_read(readings: pd.DataFrame, interval_s: pd.Series) -> pd.Series:
    """The inlets' flows summed at every time any of them read, where each has a reading standing."""
    stamps = pd.DataFrame({"ts": np.sort(readings["ts"].unique())})
    total = np.zeros(len(stamps))
    for meter_id, own in readings.groupby("meter_id"):
        own = own[["ts", "value"]].sort_values("ts")
        step = interval_s.get(meter_id)
        if step is None or not np.isfinite(step) or step <= 0:
            step = own["ts"].diff().median().total_seconds() if len(own) > 1 else 0.0
        standing = pd.merge_asof(stamps, own, on="ts", direction="backward",
                                 tolerance=pd.Timedelta(seconds=STANDS_FOR_INTERVALS * step))
        total += standing["value"].to_numpy(dtype=float)
    summed = pd.Series(total, index=pd.DatetimeIndex(stamps["ts"]))
    return summed[np.isfinite(summed.to_numpy())]
