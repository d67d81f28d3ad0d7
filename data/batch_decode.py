"""Decoding and validating a whole batch of MQTT messages at once, in DuckDB.

Decoding JSON reading by reading in Python held the interpreter lock for most of
a reading's cost, and the network thread, the validator and the writer share that
one lock. Here the batch's raw payloads go to a private in-memory DuckDB, whose
JSON reader parses them outside the lock, and the readings come back as columns.

This is a fast path for well-formed messages only. A message takes it when every
reading in it is a JSON object with exactly the documented fields of the
documented JSON types (no extra attributes, no duplicate keys, ASCII texts) and
`validate_frame` accepts every reading. Any other message, however slightly off,
goes through `decode_message` and `validate_readings` one reading at a time, so
every refusal keeps its detailed reason and the quarantine keeps the exact text
the device sent. Both paths produce the same rows for the same message.
"""

from __future__ import annotations

import re
import warnings
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.arrays import ArrowStringArray

from data.ingest_queue import Envelope
from data.payload import PayloadLimits, RawReading, Rejection, source_of
from data.validation import (
    SEQ_MAX,
    ValidatedBatch,
    ValidationRules,
    empty_rows,
    parse_epoch_ms,
    parse_iso_offset,
    validate_frame,
    validate_readings,
)

_FIELDS = '{"meter_id":"JSON","ts":"JSON","quantity":"JSON","value":"JSON","unit":"JSON","seq":"JSON"}'

#: A field's JSON type from the first character of its JSON text, so that no field is parsed twice:
#: a string is plain when it has no escape (its text is then its value between the quotes).
#: Read with ``json_type`` and ``->>`` instead, the query took a fifth more CPU (docs/PERFORMANCE.md).
_MACROS = f"""
CREATE MACRO plain_string(j) AS ascii(j) = 34 AND NOT contains(j, '\\');
CREATE MACRO string_value(j) AS CASE WHEN plain_string(j) THEN j[2:-2] END;
CREATE MACRO is_number(j) AS ascii(j) = 45 OR ascii(j) BETWEEN 48 AND 57;
CREATE MACRO is_integer(j) AS is_number(j) AND NOT regexp_matches(j, '[.eE]')
                           AND abs(try_cast(j AS HUGEINT)) <= {SEQ_MAX};
"""

#: One row per reading of each message that parses as an object or an array of objects.
#: Per message: `keys` counts '":' in the text, at least one per key when no whitespace
#: follows a quote (`spaced`), so a message whose count equals the fields its readings use
#: has no extra attribute and no repeated key. (Per-message values are materialised
#: before the readings are unnested: otherwise DuckDB computes them once per reading.)
DECODE_SQL = f"""
WITH messages AS MATERIALIZED (
    SELECT message, strlen(text) - strlen(replace(text, '":', '')) AS keys, coalesce(regexp_matches(text, '"\\s'), true) AS spaced,
           coalesce(try(json_transform(text, '[{_FIELDS}]')), [try(json_transform(text, '{_FIELDS}'))]) AS items
    FROM (SELECT message, try(decode(payload)) AS text FROM payloads)
), readings AS MATERIALIZED (
    SELECT message, keys, spaced, unnest(items) AS r FROM messages
), fields AS (
    SELECT message, keys, spaced, r.meter_id::VARCHAR AS meter_id, r.ts::VARCHAR AS ts, r.quantity::VARCHAR AS quantity,
           r.value::VARCHAR AS value, r.unit::VARCHAR AS unit, r.seq::VARCHAR AS seq
    FROM readings
)
SELECT message, keys // 2 AS keys, spaced,
       (meter_id IS NOT NULL)::INT + (ts IS NOT NULL)::INT + (quantity IS NOT NULL)::INT
           + (value IS NOT NULL)::INT + (unit IS NOT NULL)::INT + (seq IS NOT NULL)::INT AS fields,
       coalesce(plain_string(meter_id) AND plain_string(quantity) AND plain_string(unit) AND is_number(value)
                AND (plain_string(ts) OR is_number(ts)) AND (seq IS NULL OR is_integer(seq)), false) AS plain,
       string_value(meter_id) AS meter_id,
       string_value(ts) AS ts_text,
       CASE WHEN is_number(ts) THEN try_cast(ts AS DOUBLE) END AS ts_ms,
       string_value(quantity) AS quantity,
       try_cast(value AS DOUBLE) AS value,
       string_value(unit) AS unit,
       try_cast(seq AS BIGINT) AS seq
FROM fields
"""

#: The decoder runs its query through the DB-API (`execute`), not `sql()`, which binds a relation
#: to learn its columns before running it: 3-10 ms a batch, more than the extra copy of the rows
#: DuckDB warns about costs (docs/PERFORMANCE.md).
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning,
                        module=re.escape(__name__))


class BatchDecoder:
    """Turns a batch of envelopes into validated rows; used by one thread (the writer's validator)."""

    def __init__(self, limits: PayloadLimits = PayloadLimits()):
        self.limits = limits
        self._db: duckdb.DuckDBPyConnection | None = None

    def validate(self, envelopes: list[Envelope], rules: ValidationRules,
                 now: datetime | None = None) -> tuple[ValidatedBatch, int]:
        """Rows and refusals of the batch, in message order, and how many readings it held."""
        now = now or max(envelope.received_at for envelope in envelopes)
        undecoded = [i for i, e in enumerate(envelopes) if e.payload is not None and len(e.payload) <= self.limits.max_bytes]
        fast_rows, fast_message, careful = self._fast(envelopes, undecoded, rules, now)
        careful = sorted(set(range(len(envelopes))) - set(undecoded) | set(careful))
        if not careful:
            return ValidatedBatch(fast_rows, []), len(fast_rows)
        slow, slow_message, seen = validate_one_by_one([envelopes[i] for i in careful], rules, self.limits, now)
        seen += len(fast_rows)
        if slow.rows.empty:
            return ValidatedBatch(fast_rows, slow.rejections), seen
        if fast_rows.empty:
            return slow, seen
        message = np.concatenate([fast_message, np.asarray(careful, dtype="int64")[slow_message]])
        rows = pd.concat([fast_rows, slow.rows], ignore_index=True).take(np.argsort(message, kind="stable"))
        return ValidatedBatch(rows.reset_index(drop=True), slow.rejections), seen

    def _fast(self, envelopes: list[Envelope], undecoded: list[int], rules: ValidationRules,
              now: datetime) -> tuple[pd.DataFrame, np.ndarray, list[int]]:
        """Rows of the messages that pass every check here, their message index, and the rest."""
        if not undecoded:
            return empty_rows(), np.array([], dtype="int64"), []
        decoded = self._decode(undecoded, [envelopes[i].payload for i in undecoded])
        message = decoded["message"].to_numpy().astype("int64")
        bad = ~decoded["plain"].to_numpy(zero_copy_only=False) | decoded["spaced"].to_numpy(zero_copy_only=False)
        for name in ("meter_id", "quantity", "unit", "ts_text"):
            ascii_ = pc.fill_null(pc.string_is_ascii(decoded[name]), True).to_numpy(zero_copy_only=False)
            bad |= ~ascii_
        fields_used = np.bincount(message, weights=decoded["fields"].to_numpy(), minlength=len(envelopes))
        keys_written = np.zeros(len(envelopes))
        keys_written[message] = decoded["keys"].to_numpy()
        readings = np.bincount(message, minlength=len(envelopes))
        bad |= ((keys_written != fields_used) | (readings > self.limits.max_readings))[message]

        reported = _reported(decoded, envelopes, message)
        rows, reasons = validate_frame(reported, rules, now)
        bad[np.flatnonzero(reasons != None)] = True
        careful = np.union1d(np.setdiff1d(undecoded, message), np.unique(message[bad]))
        if not len(careful):
            return rows, message, []
        good = ~np.isin(message, careful)
        rows = rows[good[reasons == None]].reset_index(drop=True)
        return rows, message[good], careful.astype(int).tolist()

    def warm_up(self) -> None:
        """Open the private database and run the query once, so the first batch does not pay for it."""
        self._decode([], [])

    def _decode(self, messages: list[int], payloads: list[bytes]) -> pa.Table:
        if self._db is None:
            self._db = duckdb.connect(":memory:")
            self._db.execute(_MACROS)
        self._db.register("payloads", pa.table({"message": pa.array(np.asarray(messages, dtype="int32")),
                                                "payload": pa.array(payloads, pa.binary())}))
        try:
            return self._db.execute(DECODE_SQL).to_arrow_table()
        finally:
            self._db.unregister("payloads")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def validate_one_by_one(envelopes: list[Envelope], rules: ValidationRules, limits: PayloadLimits,
                        now: datetime | None = None) -> tuple[ValidatedBatch, np.ndarray, int]:
    """The careful path: each message decoded and each reading validated in Python.

    Returns the validated batch, each row's message (an index into ``envelopes``)
    and how many readings the messages held.
    """
    raws: list[RawReading] = []
    raw_message: list[int] = []
    rejections: list[Rejection] = []
    for i, envelope in enumerate(envelopes):
        readings, refused = envelope.decoded(limits)
        raws.extend(readings)
        raw_message.extend([i] * len(readings))
        rejections.extend(refused)
    seen = len(raws) + len(rejections)
    if not raws:
        return ValidatedBatch(empty_rows(), rejections), np.array([], dtype="int64"), seen
    validated = validate_readings(raws, rules, now)
    message = np.asarray(raw_message, dtype="int64")[validated.positions]
    return ValidatedBatch(validated.rows, rejections + validated.rejections), message, seen


def _reported(decoded: pa.Table, envelopes: list[Envelope], message: np.ndarray) -> pd.DataFrame:
    """The decoded readings in the shape `validate_frame` takes."""
    ts = np.full(len(message), np.datetime64("NaT"), dtype="datetime64[us]")
    is_text = decoded["ts_text"].is_valid().to_numpy(zero_copy_only=False)
    if is_text.any():
        ts[is_text] = parse_iso_offset(ArrowStringArray(decoded["ts_text"].filter(pa.array(is_text))))
    if (~is_text).any():
        ms = decoded["ts_ms"].to_numpy(zero_copy_only=False).astype("float64")
        ts[~is_text] = parse_epoch_ms(np.nan_to_num(ms[~is_text], nan=0.0))
    received = pd.DatetimeIndex([envelope.received_at for envelope in envelopes]).as_unit("us")
    sources = pa.array([source_of(envelope.topic) for envelope in envelopes], pa.string()).take(message)
    return pd.DataFrame({
        "meter_id": ArrowStringArray(decoded["meter_id"]),
        "ts": pd.DatetimeIndex(ts).tz_localize("UTC"),
        "quantity": ArrowStringArray(decoded["quantity"]),
        "value": decoded["value"].to_numpy(zero_copy_only=False).astype("float64"),
        "unit": ArrowStringArray(decoded["unit"]),
        "seq": pd.arrays.IntegerArray(pc.fill_null(decoded["seq"], 0).to_numpy(),
                                      decoded["seq"].is_null().to_numpy(zero_copy_only=False)),
        "attrs": ArrowStringArray(pa.nulls(len(message), pa.string())),
        "source": ArrowStringArray(sources),
        "received_at": received.take(message),
    })

