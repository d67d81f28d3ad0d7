"""Reading CSV (plain or compressed) and Parquet files in bounded chunks, every row numbered.

CSV is read as text, a block of lines at a time, and parsed by Arrow with every
column as a string: the importer decides what is a number, so a bad cell is
reported with its line number instead of failing a whole column. Malformed
lines (wrong number of fields) are kept aside with their line number and text.
Line numbers count the header as line 1 and assume one record per line.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
SEPARATORS = (",", ";", "\t", "|")
SAMPLE_BYTES = 65536


@dataclass
class FileChunk:
    """Raw cells of consecutive rows, their row numbers, and the rows that could not be split."""

    frame: pd.DataFrame
    rows: np.ndarray
    texts: list[str] | None = None
    malformed: list[tuple[int, str, str]] = field(default_factory=list)

    def payload(self, i: int) -> str:
        """The original row ``i`` of the chunk as text."""
        if self.texts is not None:
            return self.texts[i]
        return ",".join("" if pd.isna(v) else str(v) for v in self.frame.iloc[i].tolist())


class TableFile:
    """A CSV or Parquet file: its header, and its rows in chunks."""

    def __init__(self, path: str | Path, separator: str | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no such file: {self.path}")
        self.is_parquet = self.path.suffix.lower() in {".parquet", ".pq"}
        if self.is_parquet:
            self._parquet = pq.ParquetFile(self.path)
            self.header = list(self._parquet.schema_arrow.names)
            self.total_rows: int | None = self._parquet.metadata.num_rows
            self.separator = ""
        else:
            with self._open() as handle:
                first = handle.readline().decode("utf-8-sig").rstrip("\r\n")
                sample = handle.readlines(SAMPLE_BYTES)
            self.bytes_per_row = max(8, sum(map(len, sample)) // max(1, len(sample)))
            self.separator = separator or max(SEPARATORS, key=first.count)
            self.header = [name.strip().strip('"') for name in first.split(self.separator)]
            self.total_rows = None

    def _open(self) -> IO[bytes]:
        opener = OPENERS.get(self.path.suffix.lower(), open)
        return opener(self.path, "rb")

    def chunks(self, rows: int) -> Iterator[FileChunk]:
        if self.is_parquet:
            yield from self._parquet_chunks(rows)
        else:
            yield from self._csv_chunks(rows)

    def _parquet_chunks(self, rows: int) -> Iterator[FileChunk]:
        start = 1
        for batch in self._parquet.iter_batches(batch_size=rows):
            frame = batch.to_pandas()
            yield FileChunk(frame, np.arange(start, start + len(frame)))
            start += len(frame)

    def _csv_chunks(self, rows: int) -> Iterator[FileChunk]:
        types = {name: pa.string() for name in self.header}
        with self._open() as handle:
            handle.readline()
            line = 2
            while lines := handle.readlines(rows * self.bytes_per_row):
                yield self._parse_lines(lines, line, types)
                line += len(lines)

    def _parse_lines(self, lines: list[bytes], first_line: int, types: dict) -> FileChunk:
        invalid: list[str] = []

        def skip(row: pacsv.InvalidRow) -> str:
            invalid.append(row.text.rstrip("\r\n"))
            return "skip"

        if not any(raw.strip() for raw in lines):
            return FileChunk(pd.DataFrame({name: pd.Series([], dtype="str") for name in self.header}),
                             np.array([], dtype="int64"), [])

        def parse(data: bytes) -> pa.Table:
            invalid.clear()
            return pacsv.read_csv(
                io.BytesIO(data),
                read_options=pacsv.ReadOptions(column_names=self.header, use_threads=False),
                parse_options=pacsv.ParseOptions(delimiter=self.separator, invalid_row_handler=skip),
                convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False),
            )

        texts = [raw.decode("utf-8", errors="replace").rstrip("\r\n") for raw in lines]
        try:
            table = parse(b"".join(lines))
        except pa.ArrowInvalid:  # bytes that are not UTF-8: replaced, so the row fails validation alone
            table = parse("\n".join(texts).encode("utf-8") + b"\n")
        numbers = np.arange(first_line, first_line + len(lines))
        keep = np.array([bool(text.strip()) for text in texts], dtype=bool)
        malformed = []
        pending = list(invalid)
        for i in np.flatnonzero(keep):
            if pending and texts[i] == pending[0]:
                pending.pop(0)
                keep[i] = False
                malformed.append((int(numbers[i]), texts[i], "wrong number of fields"))
        frame = table.to_pandas()
        if keep.sum() != len(frame):  # quoted line breaks: numbering becomes approximate
            keep = np.zeros(len(lines), dtype=bool)
            keep[: len(frame)] = True
        kept_texts = [texts[i] for i in np.flatnonzero(keep)]
        return FileChunk(frame, numbers[keep], kept_texts, malformed)
