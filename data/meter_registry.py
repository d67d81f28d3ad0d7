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
        """Fold in the state a committed batch wrote (columns ``meter_id`` + STATE_COLUMNS)."""
        if self._meters is None or state.empty:
            return
        new = state.set_index("meter_id")
        current = self._meters.loc[new.index, STATE_COLUMNS]
        merged = new[STATE_COLUMNS].astype(current.dtypes.to_dict()).combine_first(current)
        merged["last_baseline"] = np.where(new["last_ts"].isna(), current["last_baseline"], new["last_baseline"])
        merged["last_seen_at"] = np.fmax(new["last_seen_at"].to_numpy(), current["last_seen_at"].to_numpy())
        merged["recent_intervals"] = [n if isinstance(n, (list, np.ndarray)) else c for n, c in
                                      zip(new["recent_intervals"], current["recent_intervals"])]
        self._meters.loc[new.index, STATE_COLUMNS] = merged[STATE_COLUMNS]

    def invalidate(self) -> None:
        self._meters = None
