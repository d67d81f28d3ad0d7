"""The writer's in-memory copy of the `meters` table.

Every batch needs each meter's quantity, time zone and last state (its anchor).
Reading them from DuckDB cost two queries per batch; since the writer is the only
process that changes meters, it keeps them here instead: loaded once, updated
after each committed batch, and reloaded after anything it did not see through
(registrations, a rolled-back batch).

The copy is a set of numpy columns, so that a batch takes its meters' rows with
one index per column. A meter's recent reporting intervals (a list in DuckDB)
are kept as a row of ``recent`` (NaN-padded at the front), and its zone and
category pair as a small integer (``zone_key``), so that zone rollups need no join.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import numpy as np
import pandas as pd

from data.consumption import RECENT_INTERVALS
from data.rollups import UNASSIGNED

STATE_COLUMNS = ["last_ts", "last_value", "last_baseline", "last_seq", "last_seen_at", "interval_s"]
_TIME_COLUMNS = ("last_ts", "last_seen_at", "registered_at")
_NUMBER_COLUMNS = ("last_value", "last_baseline", "last_seq", "interval_s", "register_size_l", "max_flow_l_s")


def recent_rows(lists) -> np.ndarray:
    """Lists of intervals (None for none) as rows of ``RECENT_INTERVALS``, NaN-padded at the front."""
    out = np.full((len(lists), RECENT_INTERVALS), np.nan)
    for i, values in enumerate(lists):
        if isinstance(values, (list, np.ndarray)) and len(values):
            tail = np.asarray(values, dtype="float64")[-RECENT_INTERVALS:]
            out[i, RECENT_INTERVALS - len(tail):] = tail
    return out


class MeterRows:
    """Some meters' registry rows: ``rows["column"]`` is a numpy array, one value per meter,
    ``rows.recent`` their recent intervals (a row each) and ``rows.ids`` their ids."""

    def __init__(self, ids: np.ndarray, columns: dict[str, np.ndarray], recent: np.ndarray):
        self.ids, self._columns, self.recent = ids, columns, recent

    def __getitem__(self, column: str) -> np.ndarray:
        return self._columns[column]

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, positions: np.ndarray) -> MeterRows:
        return MeterRows(self.ids[positions], {k: v[positions] for k, v in self._columns.items()},
                         self.recent[positions])


class MeterRegistry:
    def __init__(self) -> None:
        self._meters: MeterRows | None = None
        self._position: dict[str, int] = {}
        #: (zone_id, category) of each ``zone_key`` of the meters (UNASSIGNED for none)
        self.zone_categories = np.empty((0, 2), dtype=object)

    def _load(self, cur: duckdb.DuckDBPyConnection) -> MeterRows:
        if self._meters is None:
            frame = cur.execute("SELECT * EXCLUDE (attrs) FROM meters").df()
            columns: dict[str, np.ndarray] = {}
            for column in frame.columns:
                if column in _TIME_COLUMNS:
                    columns[column] = frame[column].to_numpy(dtype="datetime64[us]").copy()
                elif column in _NUMBER_COLUMNS:
                    columns[column] = frame[column].to_numpy(dtype="float64", na_value=np.nan).copy()
                elif column != "recent_intervals":
                    columns[column] = frame[column].astype(object).where(frame[column].notna(), None) \
                        .to_numpy(dtype=object)
            lists = frame["recent_intervals"].to_numpy(dtype=object)
            columns["recent_known"] = np.array([isinstance(v, (list, np.ndarray)) for v in lists], dtype=bool)
            pairs = list(zip(np.where(pd.isna(columns["zone_id"]), UNASSIGNED, columns["zone_id"]),
                             np.where(pd.isna(columns["category"]), UNASSIGNED, columns["category"])))
            zone_key, unique_pairs = pd.factorize(pd.Series(pairs, dtype=object))
            columns["zone_key"] = zone_key.astype("int64")
            self.zone_categories = np.array(list(unique_pairs), dtype=object).reshape(-1, 2)
            ids = columns.pop("meter_id")
            self._meters = MeterRows(ids, columns, recent_rows(lists))
            self._position = {meter: i for i, meter in enumerate(ids)}
        return self._meters

    def _positions(self, ids) -> np.ndarray:
        get = self._position.get
        names = ids.to_numpy(dtype=object) if hasattr(ids, "to_numpy") else ids
        return np.fromiter((get(meter, -1) for meter in names), dtype="int64", count=len(names))

    def known(self, cur: duckdb.DuckDBPyConnection, ids: np.ndarray) -> np.ndarray:
        """Which of these (distinct) meter ids are registered."""
        self._load(cur)
        return self._positions(ids) >= 0

    def lookup(self, cur: duckdb.DuckDBPyConnection, ids) -> MeterRows:
        """The meters ``ids`` in that order (all must be registered)."""
        meters = self._load(cur)
        positions = self._positions(ids)
        if (positions < 0).any():
            raise KeyError(f"meters not registered: {list(np.asarray(ids, dtype=object)[positions < 0][:5])}")
        return meters.take(positions)

    def update(self, state: Mapping[str, np.ndarray]) -> None:
        """Fold in the state a committed batch wrote (``meter_id``, STATE_COLUMNS and ``recent``),
        with the same rules as the UPDATE in `data.ingest._update_meters`."""
        if self._meters is None or not len(state.get("meter_id", ())):
            return
        rows = self._positions(state["meter_id"])
        if (rows < 0).any():
            self.invalidate()
            return
        new_ts = np.asarray(state["last_ts"], dtype="datetime64[us]")
        has_state = ~np.isnat(new_ts)
        for column in STATE_COLUMNS:
            current = self._meters[column]
            old = current[rows]
            if column in _TIME_COLUMNS:
                new = np.asarray(state[column], dtype="datetime64[us]")
                if column == "last_seen_at":
                    merged = np.where(np.isnat(old) | (~np.isnat(new) & (new > old)), new, old)
                else:
                    merged = np.where(np.isnat(new), old, new)
            else:
                new = np.asarray(state[column], dtype="float64")
                merged = np.where(has_state, new, old) if column == "last_baseline" else \
                    np.where(np.isnan(new), old, new)
            current[rows] = merged
        if has_state.any():
            self._meters.recent[rows[has_state]] = np.asarray(state["recent"], dtype="float64")[has_state]
            self._meters["recent_known"][rows[has_state]] = True

    def invalidate(self) -> None:
        self._meters = None
        self._position = {}
