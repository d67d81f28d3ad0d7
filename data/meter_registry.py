"""The writer's in-memory copy of the `meters` table.

Every batch needs each meter's quantity, time zone and last state (its anchor).
Reading them from DuckDB cost two queries per batch; since the writer is the only
process that changes meters, it keeps them here instead: loaded once, updated
after each committed batch, and reloaded after anything it did not see through
(meters registered or updated outside a batch, a rolled-back batch). Meters a
batch registers are read back alone (`MeterRegistry.admit`): reloading all of
them took a batch that brought one new meter among 100,000 from 28 to 190 ms.

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

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    def take(self, positions: np.ndarray) -> MeterRows:
        return MeterRows(self.ids[positions], {k: v[positions] for k, v in self._columns.items()},
                         self.recent[positions])


class MeterRegistry:
    def __init__(self) -> None:
        self._meters: MeterRows | None = None
        self._position: dict[str, int] = {}
        self._zone_key: dict[tuple, int] = {}
        #: (zone_id, category) of each ``zone_key`` of the meters (UNASSIGNED for none)
        self.zone_categories = np.empty((0, 2), dtype=object)

    def _load(self, cur: duckdb.DuckDBPyConnection) -> MeterRows:
        if self._meters is None:
            self._zone_key = {}
            self.zone_categories = np.empty((0, 2), dtype=object)
            self._meters = self._read(cur.execute("SELECT * EXCLUDE (attrs) FROM meters").df())
            self._position = {meter: i for i, meter in enumerate(self._meters.ids)}
        return self._meters

    def admit(self, cur: duckdb.DuckDBPyConnection, ids) -> None:
        """Take in meters just inserted into ``meters`` (in the writer's transaction), read back with
        the defaults DuckDB gave them, instead of reloading every meter."""
        if self._meters is None:
            return
        new_meters = pd.DataFrame({"meter_id": np.asarray(ids, dtype=object)})  # noqa: F841
        frame = cur.execute("SELECT * EXCLUDE (attrs) FROM meters SEMI JOIN new_meters USING (meter_id)").df()
        frame = frame[[meter not in self._position for meter in frame["meter_id"]]]
        if frame.empty:
            return
        added = self._read(frame)
        old = self._meters
        start = len(old)
        self._meters = MeterRows(np.concatenate([old.ids, added.ids]),
                                 {k: np.concatenate([old[k], added[k]]) for k in old.columns},
                                 np.concatenate([old.recent, added.recent]))
        self._position.update({meter: start + i for i, meter in enumerate(added.ids)})

    def follow_quantity(self, ids, quantity: np.ndarray, unit: np.ndarray) -> None:
        """A meter's quantity and unit changed (in the writer's transaction, as `data.ingest` updates them)."""
        if self._meters is None:
            return
        rows = self._positions(ids)
        if (rows < 0).any():
            self.invalidate()
            return
        self._meters["quantity"][rows] = quantity
        self._meters["unit"][rows] = unit

    def _read(self, frame: pd.DataFrame) -> MeterRows:
        """Rows of ``meters`` as numpy columns; their (zone, category) pairs get keys after those known."""
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
        columns["zone_key"] = self._zone_keys(columns["zone_id"], columns["category"])
        ids = columns.pop("meter_id")
        return MeterRows(ids, columns, recent_rows(lists))

    def _zone_keys(self, zone_ids: np.ndarray, categories: np.ndarray) -> np.ndarray:
        pairs = zip(np.where(pd.isna(zone_ids), UNASSIGNED, zone_ids),
                    np.where(pd.isna(categories), UNASSIGNED, categories))
        keys = np.fromiter((self._zone_key.setdefault(pair, len(self._zone_key)) for pair in pairs),
                           dtype="int64", count=len(zone_ids))
        self.zone_categories = np.array(list(self._zone_key), dtype=object).reshape(-1, 2)
        return keys

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
