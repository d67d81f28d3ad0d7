"""A district's inflow read as one series: the signed sum of its supply points.

A district's night flow is what enters it. When water moves from one of its inlets to another (a
valve operated, a source switched) each inlet's night flow steps up or down but their sum does not,
and a leak that draws through both shows whole only in the sum. A district fed through another
district's outlet (a boundary meter, `data.queries.supply`) takes that meter's flow as its inflow,
and the district upstream has it taken off its own. The Zones page reads night flow the same way
(`data.queries.night_flow`). A zone fed through one inlet of its own, and flow series of no zone,
are left as they are.

Meters need not log together: each reading stands for up to one and a half of its meter's
intervals (the jitter of a logger's clock), and the sum is taken where every point has one. While
a point is silent the zone's inflow is unknown (a sum without an inlet would read as a fall, and water
it used to carry, moved to the others, as a rise): `silent_meter` raises the silence instead. A
closed inlet whose meter goes on reporting 0 is summed as 0.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from data.queries.supply import SUPPLY_POINTS

STANDS_FOR_INTERVALS = 1.5
#: An empty in-memory database that runs the store's SQL over data frames (a cursor per call, per thread).
_FRAMES = duckdb.connect()


def supply_points(series: pd.DataFrame) -> pd.DataFrame:
    """(meter_id, zone_id, sign, category) of every zone's supply points among `catalogue` rows: the store's
    own definition (`data.queries.supply.SUPPLY_POINTS`) run over these rows."""
    columns = ["meter_id", "zone_id", "category", "to_zone_id"]
    meters = series.reindex(columns=columns).astype("string")
    with _FRAMES.cursor() as conn:
        conn.register("meters", meters)
        return conn.execute(f"SELECT * FROM {SUPPLY_POINTS}").df()


def zone_inflows(flows: pd.DataFrame, series: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Flow readings (meter_id, ts, value) and their `catalogue` rows, with each zone whose inflow is not just one
    inlet of its own replaced by one series ``ZONE:<zone_id>``, the signed sum of its supply points, whose row lists
    them in ``inlets`` and ``outlets``."""
    points = supply_points(series[series["meter_id"].isin(flows["meter_id"].unique())])
    alone = points.groupby("zone_id")["meter_id"].transform("size") == 1
    shared = points[~(alone & (points["category"] == "inlet"))]
    if shared.empty:
        return flows, series
    merged = set(shared["meter_id"])
    interval_s = series.set_index("meter_id")["interval_s"]
    tz = series.set_index("meter_id")["tz"]
    readings, rows = [flows[~flows["meter_id"].isin(merged)]], [series[~series["meter_id"].isin(merged)]]
    for zone_id, zone_points in shared.groupby("zone_id", sort=True):
        signs = zone_points.set_index("meter_id")["sign"]
        total = _sum_where_all_read(flows[flows["meter_id"].isin(signs.index)], interval_s, signs)
        readings.append(pd.DataFrame({"meter_id": f"ZONE:{zone_id}", "ts": total.index, "value": total.to_numpy()}))
        rows.append(pd.DataFrame([{
            "meter_id": f"ZONE:{zone_id}", "zone_id": zone_id, "category": "inlet", "quantity": "flow",
            "tz": tz.get(signs.index[signs > 0][0] if (signs > 0).any() else signs.index[0], "UTC"),
            "interval_s": interval_s.reindex(signs.index).min(),
            "inlets": sorted(signs.index[signs > 0]), "outlets": sorted(signs.index[signs < 0])}]))
    return (pd.concat(readings, ignore_index=True).sort_values(["meter_id", "ts"], ignore_index=True),
            pd.concat(rows, ignore_index=True))


def _sum_where_all_read(readings: pd.DataFrame, interval_s: pd.Series, signs: pd.Series) -> pd.Series:
    """The points' signed flows summed at every time any of them read, where each has a reading standing."""
    stamps = pd.DataFrame({"ts": np.sort(readings["ts"].unique())})
    total = np.zeros(len(stamps))
    for meter_id, own in readings.groupby("meter_id"):
        own = own[["ts", "value"]].sort_values("ts")
        step = interval_s.get(meter_id)
        if step is None or not np.isfinite(step) or step <= 0:
            step = own["ts"].diff().median().total_seconds() if len(own) > 1 else 0.0
        standing = pd.merge_asof(stamps, own, on="ts", direction="backward",
                                 tolerance=pd.Timedelta(seconds=STANDS_FOR_INTERVALS * step))
        total += signs[meter_id] * standing["value"].to_numpy(dtype=float)
    summed = pd.Series(total, index=pd.DatetimeIndex(stamps["ts"]))
    return summed[np.isfinite(summed.to_numpy())]
