"""The Waterline store: one DuckDB file, one writer, any number of reading threads.

DuckDB allows a single read-write process, so the process that owns a `Store`
is the only one that writes. Inside it, writes are serialised by a lock and run
on the writer's own cursor; readers (Dash callbacks, exports) take `cursor()`,
one per thread, and see the last committed batch.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import duckdb
import pandas as pd

from data.ingest import IngestResult, ingest_batch
from data.meter_changes import MeterChanges, apply_meter_changes
from data.meter_registry import MeterRegistry
from data.payload import PayloadLimits, Rejection
from data.quarantine_replay import UNKNOWN_METER_REASON, plan_replay, select_quarantined
from data.rollups import fold_volume_deltas, rebuild
from data.schema import DDL, DEFAULT_MAX_FLOW_L_S, MAX_FLOW_BY_CATEGORY, SCHEMA_VERSION, UPGRADES
from data.validation import ValidationRules

if TYPE_CHECKING:
    from data.metrics import IngestSnapshot

UnknownMeterPolicy = Literal["register", "quarantine"]

METER_COLUMNS = ["meter_id", "zone_id", "category", "quantity", "unit", "register_size_l",
                 "max_flow_l_s", "tz", "weather_station", "interval_s", "attrs", "to_zone_id"]


@dataclass(frozen=True)
class Replay:
    """What a replay of quarantined messages did: how many were looked at, how many left quarantine, and
    the ingest of their readings."""

    considered: int
    replayed: int
    result: IngestResult


class StoreVersionError(RuntimeError):
    """A store of an earlier schema version opened read-only, so it cannot be upgraded."""


@dataclass(frozen=True)
class StoreOptions:
    unknown_meters: UnknownMeterPolicy = "register"
    default_tz: str = "UTC"
    #: DuckDB worker threads for the whole database (None: one per core). One spares the writer
    #: the CPU a second worker burns beside each small statement, but every query then runs on
    #: one thread (docs/PERFORMANCE.md).
    threads: int | None = None


class Store:
    """Owns the DuckDB connection and every write to it."""

    def __init__(self, path: str | Path, options: StoreOptions = StoreOptions(), read_only: bool = False):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.options = options
        self._conn = duckdb.connect(self.path, read_only=read_only,
                                    config={"threads": options.threads} if options.threads else {})
        self._write_lock = threading.Lock()
        self._registry = MeterRegistry()
        self._writer = self._conn.cursor()
        if not read_only:
            self._writer.execute(DDL)
            if not self._writer.execute("SELECT count(*) FROM schema_info").fetchone()[0]:
                self._writer.execute("INSERT INTO schema_info VALUES (?)", [SCHEMA_VERSION])
            self._writer.execute(UPGRADES)
        elif self._writer.execute("SELECT coalesce(max(version), 0) FROM schema_info").fetchone()[0] < SCHEMA_VERSION:
            self._conn.close()
            raise StoreVersionError(f"{self.path} was written by an earlier version of Waterline; open it once "
                                    "with write access (serve, listen or import) to upgrade it, then read it")
        self._unfolded = not read_only and self._writer.execute("SELECT count(*) FROM rollup_deltas").fetchone()[0] > 0

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the calling thread; never share one between threads."""
        return self._conn.cursor()

    def close(self) -> None:
        if self._unfolded:
            self.fold_rollups()
        with self._write_lock:
            self._writer.close()
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self, commit: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._write_lock:
            self._writer.begin()
            try:
                yield self._writer
                if commit:
                    self._writer.commit()
                else:
                    self._writer.rollback()
            except BaseException:
                self._writer.rollback()
                self._registry.invalidate()
                raise

    def ingest(self, rows: pd.DataFrame, rejections: Iterable[Rejection] = (),
               registered_by: str = "mqtt", fold_rollups: bool = True) -> IngestResult:
        """Store validated rows and quarantine rejections in one transaction.

        ``fold_rollups=False`` (the writer under load) leaves the batch's volume deltas
        queued; the next call with ``fold_rollups=True``, or `fold_rollups()`, adds them.
        """
        fold_queue = fold_rollups and self._unfolded
        with self._transaction() as cur:
            result, state = ingest_batch(cur, rows, list(rejections), self.options, registered_by, self._registry,
                                         defer_rollups=fold_queue or not fold_rollups)
            if fold_queue:  # this batch's deltas join the queue: one fold instead of two sets of upserts
                fold_volume_deltas(cur)
        self._unfolded = not fold_rollups
        self._registry.update(state)
        return result

    def replay_quarantine(self, rules: ValidationRules, limits: PayloadLimits, meter_ids: list[str] | None = None,
                          reason_like: str | None = UNKNOWN_METER_REASON, dry_run: bool = False) -> Replay:
        """Send quarantined messages through the listener's checks again (`data.quarantine_replay`), in one
        transaction: what passes is stored and leaves quarantine; with ``dry_run`` say so and roll it back."""
        fold_queue = self._unfolded
        with self._transaction(commit=not dry_run) as cur:
            plan = plan_replay(select_quarantined(cur, meter_ids, reason_like), rules, limits)
            result, state = IngestResult(), {}
            if len(plan.replayed):
                cur.execute("DELETE FROM quarantine WHERE rowid IN (SELECT unnest(?::BIGINT[]))",
                            [plan.replayed.tolist()])
                result, state = ingest_batch(cur, plan.rows, plan.rejections, self.options, "mqtt", self._registry,
                                             defer_rollups=fold_queue)
            if fold_queue:
                fold_volume_deltas(cur)
        if dry_run:
            self._registry.invalidate()
        else:
            self._registry.update(state)
            self._unfolded = False
        return Replay(plan.considered, len(plan.replayed), result)

    @property
    def rollups_pending(self) -> bool:
        """Whether volume deltas are queued, not yet in the rollups."""
        return self._unfolded

    def fold_rollups(self) -> None:
        """Add queued volume deltas to the rollups (see `data.rollups`)."""
        with self._transaction() as cur:
            fold_volume_deltas(cur)
        self._unfolded = False

    def register_zones(self, zones: pd.DataFrame) -> None:
        """Insert or update zones (``zone_id, name, kind, tz``)."""
        frame = zones.reindex(columns=["zone_id", "name", "kind", "tz", "attrs"]).astype(object)
        frame["tz"] = frame["tz"].where(frame["tz"].notna(), self.options.default_tz)
        with self._transaction() as cur:
            cur.register("new_zones", frame)
            cur.execute(
                """INSERT INTO zones BY NAME SELECT * FROM new_zones
                   ON CONFLICT (zone_id) DO UPDATE SET name = coalesce(excluded.name, name),
                   kind = coalesce(excluded.kind, kind), tz = coalesce(excluded.tz, tz),
                   attrs = coalesce(excluded.attrs, attrs)"""
            )
            cur.unregister("new_zones")

    def register_meters(self, meters: pd.DataFrame, registered_by: str = "config") -> int:
        """Add meters that are not yet known; returns how many were new."""
        frame = meters.reindex(columns=METER_COLUMNS)
        frame["tz"] = frame["tz"].astype(object).where(frame["tz"].notna(), self.options.default_tz)
        by_category = frame["category"].map(MAX_FLOW_BY_CATEGORY).astype("float64").fillna(DEFAULT_MAX_FLOW_L_S)
        frame["max_flow_l_s"] = frame["max_flow_l_s"].astype("float64").fillna(by_category)
        frame["registered_by"] = registered_by
        with self._transaction() as cur:
            cur.register("new_meters", frame)
            before = cur.execute("SELECT count(*) FROM meters").fetchone()[0]
            cur.execute(
                """INSERT INTO meters BY NAME
                   SELECT *, now()::TIMESTAMP AS registered_at FROM new_meters
                   ON CONFLICT (meter_id) DO NOTHING"""
            )
            cur.unregister("new_meters")
            after = cur.execute("SELECT count(*) FROM meters").fetchone()[0]
            self._registry.invalidate()
        return after - before

    def change_meters(self, rows: list[tuple[str, dict[str, str]]], register_new: bool = True,
                      dry_run: bool = False) -> MeterChanges:
        """Register or correct meters from asset-register rows (`data.meter_changes`), in one transaction;
        with ``dry_run`` say what would change and roll it back."""
        with self._transaction(commit=not dry_run) as cur:
            fold_volume_deltas(cur)
            changes = apply_meter_changes(cur, rows, self.options.default_tz, register_new)
            self._registry.invalidate()
        self._unfolded = self._unfolded and dry_run
        return changes

    def rebuild_rollups(self) -> None:
        """Recompute all consumption rollups from the stored intervals."""
        with self._transaction() as cur:
            rebuild(cur)
        self._unfolded = False

    def record_ingest_stats(self, snapshot: IngestSnapshot) -> None:
        """Keep a row of ingest metrics, for the System health page's history."""
        with self._transaction() as cur:
            cur.execute(
                """INSERT INTO ingest_stats VALUES (now()::TIMESTAMP, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [snapshot.messages, snapshot.readings, snapshot.stored, snapshot.duplicates,
                 snapshot.quarantined, snapshot.batch_p50_ms, snapshot.batch_p95_ms, snapshot.queue_depth],
            )

    def checkpoint(self) -> None:
        with self._write_lock:
            self._writer.execute("CHECKPOINT")

    def try_checkpoint(self, merge_row_groups: bool = True) -> bool:
        """Checkpoint now; False when DuckDB refuses or fails it (what was committed stays committed, and its
        automatic checkpoint still comes). DuckDB 2.0 checkpoints, merges included, beside a query that is
        running; it refuses while another cursor holds a transaction begun explicitly (an alert write).

        Each checkpoint writes what was appended since the last one as new row groups, most of them part-filled.
        DuckDB merges adjacent part-filled row groups as it checkpoints, rewriting up to three of a table's row
        groups; such a checkpoint takes four or five times as long (docs/PERFORMANCE.md). ``merge_row_groups=False``
        leaves them for a later checkpoint that allows it."""
        try:
            if merge_row_groups:
                self.checkpoint()
            else:
                self._checkpoint_without_merging()
            return True
        except duckdb.Error:
            return False

    def _checkpoint_without_merging(self) -> None:
        with self._write_lock:
            setting = self._writer.execute("SELECT current_setting('max_vacuum_tasks')").fetchone()[0]
            self._writer.execute("SET max_vacuum_tasks = 0")
            try:
                self._writer.execute("CHECKPOINT")
            finally:
                self._writer.execute(f"SET max_vacuum_tasks = {int(setting)}")

    def wal_bytes(self) -> int:
        """Size of the write-ahead log: what the next checkpoint writes into the database file."""
        if self.path == ":memory:":
            return 0
        try:
            return os.stat(self.path + ".wal").st_size
        except FileNotFoundError:
            return 0

    def checkpoint_threshold_bytes(self) -> int:
        """WAL size at which DuckDB checkpoints on its own (0 for a store in memory)."""
        if self.path == ":memory:":
            return 0
        with self._write_lock:
            setting = self._writer.execute("SELECT current_setting('checkpoint_threshold')").fetchone()[0]
        return byte_size(setting)


_BYTE_UNITS = {"bytes": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
               "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def byte_size(text: str) -> int:
    """DuckDB's way of writing a size (``'16.0 MiB'``, ``'1000 bytes'``) as bytes."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _BYTE_UNITS | {"": 1}:
        raise ValueError(f"not a size: {text!r}")
    return int(float(match.group(1)) * _BYTE_UNITS.get(match.group(2).lower(), 1))
