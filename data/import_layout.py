"""Turning a chunk of a long or wide file into reported readings, one per value.

The result has the columns `data.validation.validate_frame` expects (timestamps
already in UTC), plus the file row each reading came from, the wide column, and
a problem found before validation (a timestamp that is no time). Empty cells of
a wide file are missing values, not readings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.import_read import FileChunk
from data.import_spec import LONG_COLUMNS, ImportSpec, ImportSpecError
from data.local_time import FallBackState, parse_times

MISSING = frozenset({"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"})
OPTIONAL_COLUMNS = ("seq",)


@dataclass
class ChunkReadings:
    """Readings of one chunk; ``position`` points back into the chunk's rows."""

    readings: pd.DataFrame  # meter_id, ts, quantity, value, unit, seq, attrs, position, column, problem
    missing_cells: int = 0


def long_readings(chunk: FileChunk, spec: ImportSpec, tz: str, state: FallBackState) -> ChunkReadings:
    frame = chunk.frame.rename(columns=dict(spec.columns)).drop(columns=list(spec.ignore), errors="ignore")
    for name, value in spec.constants.items():
        frame[name] = value
    absent = [c for c in LONG_COLUMNS if c not in frame]
    if absent:
        raise ImportSpecError(f"a long file needs the columns {', '.join(LONG_COLUMNS)}; missing {', '.join(absent)}")
    meter_id = frame["meter_id"].astype("string").str.strip()
    times = parse_times(frame["ts"], tz, spec.ts_format, meter_id.fillna("").to_numpy(dtype=object), state)
    problem = times.problem.copy()
    seq = _sequence_numbers(frame, problem)
    extra = [c for c in frame.columns if c not in LONG_COLUMNS + OPTIONAL_COLUMNS]
    readings = pd.DataFrame(
        {
            "meter_id": meter_id.to_numpy(),
            "ts": times.utc,
            "quantity": frame["quantity"].astype("string").str.strip().to_numpy(),
            "value": _numbers(frame["value"], spec.decimal),
            "unit": frame["unit"].astype("string").str.strip().to_numpy(),
            "seq": seq,
            "attrs": _attrs(frame[extra]) if extra else None,
            "position": np.arange(len(frame)),
            "column": None,
            "problem": problem,
        }
    )
    return ChunkReadings(readings)


def wide_readings(chunk: FileChunk, spec: ImportSpec, tz: str, state: FallBackState,
                  mapped: dict[str, tuple[str, str, str]]) -> ChunkReadings:
    ts_column = spec.ts_column
    if ts_column not in chunk.frame:
        raise ImportSpecError(f"timestamp column {ts_column!r} is not in the file")
    times = parse_times(chunk.frame[ts_column], tz, spec.ts_format, np.full(len(chunk.frame), ""), state)
    parts, missing = [], 0
    for column, (meter_id, quantity, unit) in mapped.items():
        cells = chunk.frame[column]
        text = cells.astype("string").str.strip().fillna("") if not _is_numeric(cells) else None
        present = (~text.isin(MISSING)).to_numpy(dtype=bool) if text is not None else cells.notna().to_numpy()
        missing += int((~present).sum())
        where = np.flatnonzero(present)
        parts.append(
            pd.DataFrame(
                {
                    "meter_id": meter_id,
                    "ts": times.utc[where],
                    "quantity": quantity,
                    "value": _numbers(cells.iloc[where], spec.decimal),
                    "unit": unit,
                    "position": where,
                    "column": column,
                    "problem": times.problem[where],
                }
            )
        )
    readings = pd.concat(parts, ignore_index=True).sort_values("position", kind="stable")
    readings["seq"] = pd.array([pd.NA] * len(readings), dtype="Int64")
    readings["attrs"] = None
    return ChunkReadings(readings.reset_index(drop=True), missing)


def _is_numeric(cells: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(cells) and not pd.api.types.is_bool_dtype(cells)


def _numbers(cells: pd.Series, decimal: str = ".") -> np.ndarray:
    """Cell values as floats, or objects keeping the text where it is no number (validation names it)."""
    if _is_numeric(cells):
        return cells.to_numpy(dtype="float64")
    text = cells.astype("string").str.strip()
    read = text.str.replace(",", ".", regex=False) if decimal == "," else text
    numbers = pd.to_numeric(read, errors="coerce").to_numpy(dtype="float64")
    if not np.isnan(numbers).any():
        return numbers
    return np.where(np.isnan(numbers), text.fillna("").to_numpy(dtype=object), numbers.astype(object))


def _sequence_numbers(frame: pd.DataFrame, problem: np.ndarray) -> pd.arrays.IntegerArray:
    if "seq" not in frame:
        return pd.array([pd.NA] * len(frame), dtype="Int64")
    text = frame["seq"].astype("string").str.strip()
    numbers = pd.to_numeric(text.replace("", pd.NA), errors="coerce")
    bad = (text.fillna("") != "") & (numbers.isna() | (numbers % 1 != 0) | (numbers.abs() >= 2.0**63))
    for i in np.flatnonzero(bad.to_numpy(dtype=bool)):
        problem[i] = problem[i] or f"seq {text.iat[i]!r} is not a 64-bit integer"
    return pd.array(numbers.where(~bad).round(), dtype="Int64")


def _attrs(extra: pd.DataFrame) -> list[str | None]:
    """Other columns of a long row as a JSON object (empty cells left out)."""
    records = extra.astype("string").to_dict("records")
    out: list[str | None] = []
    for record in records:
        kept = {k: v for k, v in record.items() if not pd.isna(v) and v != ""}
        out.append(json.dumps(kept) if kept else None)
    return out
