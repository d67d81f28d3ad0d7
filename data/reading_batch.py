"""A batch of readings as numpy arrays: what every step of `data.ingest` works on.

Taken from the validated frame once, with meters as integer codes into the
registry's rows, so that the steps of a batch never go back to pandas per reading.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from data.meter_registry import MeterRegistry, MeterRows
from data.rollups import NO_READING_STATS


class MeterKeys:
    """A batch's meter ids as integer codes into ``ids``, and its quantities (numpy)."""

    def __init__(self, rows: pd.DataFrame):
        self.codes, ids = pd.factorize(rows["meter_id"])
        self.ids = ids.to_numpy(dtype=object)
        self.quantity = rows["quantity"].to_numpy(dtype=object)


class ReadingBatch:
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
    def of(cls, rows: pd.DataFrame, keys: MeterKeys, registry: MeterRegistry, cur: duckdb.DuckDBPyConnection) -> ReadingBatch:
        return cls(keys.codes, keys.ids, registry.lookup(cur, keys.ids),
                   rows["ts"].to_numpy(dtype="datetime64[us]").view("int64"),
                   keys.quantity, rows["value"].to_numpy(dtype="float64"),
                   rows["seq"].to_numpy(dtype="float64", na_value=np.nan),
                   rows["received_at"].to_numpy(dtype="datetime64[us]").view("int64"),
                   rows["flags"].to_numpy(dtype="int32"), registry.zone_categories)

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, index: np.ndarray) -> ReadingBatch:
        """These rows, with meter codes renumbered in order of first appearance."""
        codes, used = pd.factorize(self.codes[index])
        return ReadingBatch(codes, self.ids[used], self.meters.take(used), self.ts[index], self.quantity[index],
                      self.value[index], self.seq[index], self.received_at[index], self.flags[index],
                      self.zone_categories)

    def frame(self, mask: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({"meter_id": self.ids[self.codes[mask]], "quantity": self.quantity[mask],
                             "ts": self.ts[mask].astype("datetime64[us]"), "value": self.value[mask]})
