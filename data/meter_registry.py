"""The writer's in-memory copy of the `meters` table.

Every batch needs each meter's quantity, time zone and last state (its anchor).
Reading them from DuckDB cost two queries per batch; since the writer is the only
process that changes meters, it keeps them here instead: loaded once, updated
after each committed batch, and reloaded after anything it did not see through
(registrations, a rolled-back batch).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

STATE_COLUMNS = ["last_ts", "last_value", "last_baseline", "last_seq", "last_seen_at", "interval_s",
                 "recent_intervals"]


class MeterRegistry:
    def __init__(self) -> None:
        self._meters: pd.DataFrame | None = None

    def _load(self, cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        if self._meters is None:
            frame = cur.execute("SELECT * EXCLUDE (attrs) FROM meters").df()
            for column in ("last_ts", "last_seen_at", "registered_at"):
                frame[column] = frame[column].astype("datetime64[us]")
            self._meters = frame.set_index("meter_id")
        return self._meters

    def known(self, cur: duckdb.DuckDBPyConnection, meter_ids: pd.Series) -> np.ndarray:
        """Which of these meter ids are registered."""
        codes, ids = pd.factorize(meter_ids)
        return ids.isin(self._load(cur).index)[codes]

    def lookup(self, cur: duckdb.DuckDBPyConnection, ids: pd.Index) -> pd.DataFrame:
        """The meters ``ids`` in that order (all must be registered)."""
        return self._load(cur).reindex(ids)

    def update(self, state: pd.DataFrame) -> None:
        """Fold in the state a committed batch wrote (columns ``meter_id`` + STATE_COLUMNS),
        with the same rules as the UPDATE in `data.ingest._update_meters`."""
        if self._meters is None or state.empty:
            return
        rows = self._meters.index.get_indexer(state["meter_id"])
        if (rows < 0).any():
            self.invalidate()
            return
        for column in STATE_COLUMNS:
            current = self._meters[column].to_numpy(dtype=object, na_value=None).copy()
            old = current[rows]
            new = state[column].to_numpy(dtype=object, na_value=None)
            if column == "last_baseline":
                merged = np.where(pd.isna(state["last_ts"]).to_numpy(), old, new)
            elif column == "last_seen_at":
                merged = [o if n is None or (o is not None and o > n) else n for o, n in zip(old, new)]
            elif column == "recent_intervals":
                merged = [n if isinstance(n, (list, np.ndarray)) else o for o, n in zip(old, new)]
            else:
                merged = [o if n is None or n is pd.NaT or (isinstance(n, float) and np.isnan(n)) else n
                          for o, n in zip(old, new)]
            current[rows] = merged
            self._meters[column] = pd.Series(current, index=self._meters.index).astype(
                self._meters[column].dtype if column != "recent_intervals" else object)

    def invalidate(self) -> None:
        self._meters = None
