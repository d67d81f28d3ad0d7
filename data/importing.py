"""Importing history files (CSV, compressed CSV, Parquet) into the store, chunk by chunk.

The file is read in bounded chunks, each chunk's values become reported
readings (see `data.import_layout`), are checked by the same validation as MQTT
readings, sorted by time and stored in batches through `Store.ingest`. Meters
first seen in the file are registered beforehand so they carry the import's
zone, time zone and category. A bad row never stops an import: it goes to the
quarantine with its line number, the reason and the original text.
"""

from __future__ import annotations

import math
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from data.import_layout import ChunkReadings, long_readings, wide_readings
from data.import_read import FileChunk, TableFile
from data.import_spec import ImportSpec, ImportSpecError, detect_layout, preset, wide_columns
from data.local_time import FallBackState, check_time_zone
from data.payload import Rejection
from data.quality import Flag
from data.schema import DEFAULT_MAX_FLOW_L_S, MAX_FLOW_BY_CATEGORY
from data.store import Store
from data.units import CONSUMPTION_QUANTITIES, WEATHER_QUANTITIES
from data.validation import ValidationRules, validate_frame

IMPORT_RULES = ValidationRules(max_past_s=None, late_after_s=math.inf)
REPORTED_COLUMNS = ["meter_id", "ts", "quantity", "value", "unit", "seq", "attrs"]
TIME_COLUMN = re.compile(r"(?i)^(ts|time|timestamp.*|date.*|datetime.*)$")
SHOWN_BAD_ROWS = 20


@dataclass(frozen=True)
class BadRow:
    row: int
    reason: str


@dataclass
class ImportReport:
    """What an import read, stored and refused."""

    path: str
    layout: str
    rows_read: int = 0
    readings: int = 0
    missing_cells: int = 0
    stored: int = 0
    duplicates: int = 0
    bad_rows: int = 0
    meters_registered: int = 0
    meters: set[str] = field(default_factory=set)
    implausible_intervals: int = 0
    seconds: float = 0.0
    first_bad: list[BadRow] = field(default_factory=list)

    @property
    def rows_per_s(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0


def resolve_spec(path: str | Path, format_name: str | None = None, **options: object) -> tuple[str, ImportSpec]:
    """The spec for a file: the named preset, or one detected from its header, with options applied."""
    spec = ImportSpec().with_options(**options)
    if format_name is None:
        format_name = detect_layout(TableFile(path, spec.separator).header, spec)
    base = preset(format_name)
    mappings = options.pop("mappings", None) or base.mappings
    return format_name, base.with_options(**options, mappings=mappings)


DATA_EXTENSIONS = re.compile(r"(\.(csv|tsv|txt|parquet))?(\.(gz|bz2|xz))?$", re.IGNORECASE)


def file_stem(path: str | Path) -> str:
    """A file's name without its extensions: ``Node_1`` for ``Pressures/Node_1.csv.gz``."""
    return DATA_EXTENSIONS.sub("", Path(path).name)


def import_file(store: Store, path: str | Path, spec: ImportSpec, progress: bool = False) -> ImportReport:
    """Import one file; bad rows are quarantined and counted, never fatal."""
    started = time.perf_counter()
    if spec.needs_station and not spec.station:
        raise ImportSpecError("this format needs a weather station id (--station ID)")
    tz = check_time_zone(spec.tz or store.options.default_tz)
    spec = spec.for_file(file_stem(path))
    one_zone = spec.zone_for("")   # a bad zone template is refused before anything is read
    table = TableFile(path, spec.separator)
    mapped: dict[str, tuple[str, str, str]] = {}
    chunk_rows = spec.chunk_rows
    if spec.layout == "wide":
        spec = spec.with_options(ts_column=spec.ts_column or _time_column(table.header))
        mapped = wide_columns([c for c in table.header if c != spec.ts_column], spec, file_stem(path))
        chunk_rows = max(1, spec.chunk_rows // len(mapped))
    report = ImportReport(str(path), spec.layout)
    importer = _ChunkImporter(store, spec, tz, report, f"import:{Path(path).name}")
    if one_zone and one_zone == spec.zone:   # no template: the zone exists even if no meter is new
        importer.register_zone(one_zone)
    bar = tqdm(total=table.total_rows, unit=" rows", desc=Path(path).name, file=sys.stderr,
               disable=not progress, smoothing=0.1)
    state = FallBackState()
    try:
        for chunk in table.chunks(chunk_rows):
            if spec.layout == "wide":
                readings = wide_readings(chunk, spec, tz, state, mapped)
            else:
                readings = long_readings(chunk, spec, tz, state)
            importer.store_chunk(chunk, readings)
            bar.update(len(chunk.frame) + len(chunk.malformed))
    finally:
        bar.close()
        importer.close()
    report.seconds = time.perf_counter() - started
    return report


def _time_column(header: list[str]) -> str:
    return next((c for c in header if TIME_COLUMN.match(c)), header[0])


class _ChunkImporter:
    """Validates, registers and stores chunk after chunk, adding up the report."""

    def __init__(self, store: Store, spec: ImportSpec, tz: str, report: ImportReport, source: str):
        self.store, self.spec, self.tz, self.report, self.source = store, spec, tz, report, source
        self.cursor = store.cursor()
        self.known: set[str] = set()
        self.received_at = datetime.now(UTC)
        self.row_word = "row" if Path(report.path).suffix.lower() in {".parquet", ".pq"} else "line"
        self.span: tuple[pd.Timestamp, pd.Timestamp] | None = None

    def close(self) -> None:
        if self.report.meters and self.span is not None:
            self.report.implausible_intervals = self.cursor.execute(
                """SELECT count(*) FROM consumption WHERE meter_id IN (SELECT unnest(?::VARCHAR[]))
                   AND flags & ? > 0 AND ts_end BETWEEN ? AND ?""",
                [sorted(self.report.meters), int(Flag.IMPLAUSIBLE_JUMP), *self.span],
            ).fetchone()[0]
        self.cursor.close()

    def register_zone(self, zone_id: str) -> None:
        if not self.cursor.execute("SELECT count(*) FROM zones WHERE zone_id = ?", [zone_id]).fetchone()[0]:
            self.store.register_zones(pd.DataFrame({"zone_id": [zone_id], "tz": [self.tz]}))

    def store_chunk(self, chunk: FileChunk, chunk_readings: ChunkReadings) -> None:
        readings = chunk_readings.readings
        self.report.rows_read += len(chunk.frame) + len(chunk.malformed)
        self.report.readings += len(readings)
        self.report.missing_cells += chunk_readings.missing_cells
        early = readings["problem"].notna().to_numpy()
        checked = readings[~early].reset_index(drop=True)
        reported = checked[REPORTED_COLUMNS].assign(
            source=self.source, received_at=pd.Timestamp(self.received_at).as_unit("us"))
        rows, reasons = validate_frame(reported, IMPORT_RULES, now=self.received_at)
        refused = pd.concat([readings[early].assign(reason=readings["problem"][early]),
                             checked.assign(reason=reasons)[reasons != None]])
        bad = [(row, reason, text, None, None) for row, text, reason in chunk.malformed] + [
            (int(chunk.rows[item.position]), item.reason, chunk.payload(item.position), item.column, item.meter_id)
            for item in refused.itertuples()
        ]
        rejections = [self._reject(*item) for item in sorted(bad, key=lambda item: item[0])]

        rows = rows.sort_values("ts", kind="stable").reset_index(drop=True)
        self._register_meters(rows)
        if rows.empty and not rejections:
            return
        batch = max(1, self.spec.batch_rows)
        for start in range(0, max(len(rows), 1), batch):
            result = self.store.ingest(rows.iloc[start:start + batch], rejections if start == 0 else [],
                                       registered_by="import")
            self.report.stored += result.stored
            self.report.duplicates += result.duplicates
            self.report.meters_registered += result.registered
            self.report.meters.update(result.meters)
        if len(rows):
            low, high = rows["ts"].min().tz_localize(None), rows["ts"].max().tz_localize(None)
            self.span = (low, high) if self.span is None else (min(self.span[0], low), max(self.span[1], high))

    def _reject(self, row: int, reason: str, payload: str, column: str | None, meter_id: str | None) -> Rejection:
        where = f"{self.row_word} {row}" + (f", column {column!r}" if isinstance(column, str) else "")
        text = f"{where}: {reason}"
        self.report.bad_rows += 1
        if len(self.report.first_bad) < SHOWN_BAD_ROWS:
            self.report.first_bad.append(BadRow(row, text))
        meter = meter_id if isinstance(meter_id, str) else None
        return Rejection(text, payload, self.source, self.received_at, meter)

    def _register_meters(self, rows: pd.DataFrame) -> None:
        """Register the meters first seen here, with the import's zone, time zone and category."""
        unseen = [m for m in rows["meter_id"].unique() if m not in self.known]
        if not unseen:
            return
        stored = self.cursor.execute(
            "SELECT meter_id FROM meters WHERE meter_id IN (SELECT unnest(?::VARCHAR[]))", [unseen]
        ).fetchall()
        self.known.update(m for (m,) in stored)
        fresh = rows[rows["meter_id"].isin(set(unseen) - self.known)]
        if not fresh.empty:
            zones = {self.spec.zone_for(m) for m in fresh["meter_id"].unique()} | {self.spec.to_zone}
            for zone in sorted(zones - {None}):
                self.register_zone(zone)
            self.report.meters_registered += self.store.register_meters(
                _describe_meters(fresh, self.spec, self.tz), registered_by="import")
        self.known.update(unseen)


def _describe_meters(rows: pd.DataFrame, spec: ImportSpec, tz: str) -> pd.DataFrame:
    """One row per new meter: its consumption quantity if it has one, else its first quantity."""
    preference = {q: i for i, q in enumerate(CONSUMPTION_QUANTITIES)}
    rank = rows["quantity"].map(preference).astype("float64").fillna(len(preference))
    first = rows.assign(rank=rank.to_numpy()).sort_values("rank", kind="stable").drop_duplicates("meter_id")
    weather = first["quantity"].isin(WEATHER_QUANTITIES).to_numpy()
    category = np.where(weather, "weather", spec.category if spec.category else None)
    max_flow = [None if w else MAX_FLOW_BY_CATEGORY.get(c, DEFAULT_MAX_FLOW_L_S) for w, c in zip(weather, category)]
    return pd.DataFrame(
        {
            "meter_id": first["meter_id"].to_numpy(dtype=object),
            "zone_id": [spec.zone_for(m) for m in first["meter_id"]],
            "category": category,
            "to_zone_id": np.where(category == "outlet", spec.to_zone, None),
            "quantity": first["quantity"].to_numpy(dtype=object),
            "unit": first["orig_unit"].to_numpy(dtype=object),
            "max_flow_l_s": pd.array(max_flow, dtype="Float64"),
            "tz": tz,
        }
    )
