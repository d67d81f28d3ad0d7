"""The writer's in-memory copy of the `meters` table.

Every batch needs each meter's quantity, time zone and last state (its anchor).
Reading them from DuckDB cost two queries per batch; since the writer is the only
process that changes meters, it keeps them here instead: loaded once, updated
after each committed batch, and reloaded after anything it did not see through
(registrations, a rolled-back batch).

A meter's recent reporting intervals (a list in DuckDB) are kept as a row of
``RECENT_COLUMNS`` (NaN-padded at the front), so that a batch reads them as one
2-D array instead of a list per meter.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from data.consumption import RECENT_INTERVALS

RECENT_COLUMNS = [f"recent_{i}" for i in range(RECENT_INTERVALS)]
STATE_COLUMNS = ["last_ts", "last_value", "last_baseline", "last_seq", "last_seen_at", "interval_s"]
_TIME_COLUMNS = ("last_ts", "last_seen_at", "registered_at")
_NUMBER_COLUMNS = ("last_value", "last_baseline", "last_seq", "interval_s")


def recent_rows(lists) -> np.ndarray:
    """Lists of intervals (None for none) as rows of ``RECENT_INTERVALS``, NaN-padded at the front."""
    out = np.full((len(lists), RECENT_INTERVALS), np.nan)
    for i, values in enumerate(lists):
        if isinstance(values, (list, np.ndarray)) and len(values):
            tail = np.asarray(values, dtype="float64")[-RECENT_INTERVALS:]
            out[i, RECENT_INTERVALS - len(tail):] = tail
    return out


class MeterRegistry:
    def __init__(self) -> None:
        self._meters: pd.DataFrame | None = None
        self._position: dict[str, int] = {}

    def _load(self, cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        if self._meters is None:
            frame = cur.execute("SELECT * EXCLUDE (attrs) FROM meters").df()
            for column in _TIME_COLUMNS:
                frame[column] = frame[column].astype("datetime64[us]")
            for column in _NUMBER_COLUMNS:
                frame[column] = frame[column].to_numpy(dtype="float64", na_value=np.nan)
            lists = frame["recent_intervals"].to_numpy(dtype=object)
            frame["recent_known"] = [isinstance(values, (list, np.ndarray)) for values in lists]
            frame[RECENT_COLUMNS] = recent_rows(lists)
            frame = frame.drop(columns="recent_intervals")
            self._meters = frame.set_index(pd.Index(frame["meter_id"].to_numpy(dtype=object), name="meter_id"))
            self._meters = self._meters.drop(columns="meter_id")
            self._position = {meter: i for i, meter in enumerate(self._meters.index)}
        return self._meters

    def _positions(self, ids) -> np.ndarray:
        get = self._position.get
        names = ids.to_numpy(dtype=object) if hasattr(ids, "to_numpy") else ids
        return np.fromiter((get(meter, -1) for meter in names), dtype="int64", count=len(names))

    def known(self, cur: duckdb.DuckDBPyConnection, meter_ids: pd.Series) -> np.ndarray:
        """Which of these meter ids are registered."""
        self._load(cur)
        codes, ids = pd.factorize(meter_ids)
        return (self._positions(ids) >= 0)[codes]

    def lookup(self, cur: duckdb.DuckDBPyConnection, ids) -> pd.DataFrame:
        """The meters ``ids`` in that order (all must be registered)."""
        meters = self._load(cur)
        positions = self._positions(ids)
        if (positions < 0).any():
            return meters.reindex(ids)
        return meters.iloc[positions]

    def update(self, state: pd.DataFrame) -> None:
        """Fold in the state a committed batch wrote (columns ``meter_id`` + STATE_COLUMNS +
        RECENT_COLUMNS), with the same rules as the UPDATE in `data.ingest._update_meters`."""
        if self._meters is None or state.empty:
            return
        rows = self._positions(state["meter_id"].to_numpy(dtype=object))
        if (rows < 0).any():
            self.invalidate()
            return
        meters = self._meters
        new_ts = state["last_ts"].to_numpy(dtype="datetime64[us]")
        has_state = ~np.isnat(new_ts)
        for column in STATE_COLUMNS:
            current = meters[column].to_numpy().copy()
            if column in _TIME_COLUMNS:
                new = state[column].to_numpy(dtype="datetime64[us]")
                old = current[rows]
                if column == "last_seen_at":
                    merged = np.where(np.isnat(old) | (~np.isnat(new) & (new > old)), new, old)
                else:
                    merged = np.where(np.isnat(new), old, new)
            else:
                new = state[column].to_numpy(dtype="float64", na_value=np.nan)
                old = current[rows]
                merged = np.where(has_state, new, old) if column == "last_baseline" else \
                    np.where(np.isnan(new), old, new)
            current[rows] = merged
            meters[column] = current
        if has_state.any():
            recent = meters[RECENT_COLUMNS].to_numpy().copy()
            recent[rows[has_state]] = state[RECENT_COLUMNS].to_numpy(dtype="float64")[has_state]
            meters[RECENT_COLUMNS] = recent
            known = meters["recent_known"].to_numpy().copy()
            known[rows[has_state]] = True
            meters["recent_known"] = known

    def invalidate(self) -> None:
        self._meters = None
        self._position = {}
