"""Validation of raw readings into typed, canonical rows, and reasons for everything refused.

One pass in Python checks shapes and types (cheap isinstance tests); timestamps,
unit conversion and physical ranges are then checked for the whole batch at once
with pandas and numpy. A bad reading never spoils its neighbours: it leaves as a
`Rejection`, the rest continue as rows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from data.payload import RawReading, Rejection, is_finite_number
from data.quality import Flag
from data.units import QUANTITIES, conversion, resolve_quantity

METER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/-]{0,63}")
KNOWN_FIELDS = frozenset({"meter_id", "ts", "quantity", "value", "unit", "seq"})
EPOCH_MS_MIN = 946_684_800_000  # 2000-01-01: smaller numbers are seconds or garbage
EPOCH_MS_MAX = 4_102_444_800_000  # 2100-01-01

READING_COLUMNS = [
    "meter_id", "ts", "quantity", "value", "unit", "orig_unit",
    "seq", "attrs", "source", "received_at", "flags",
]


@dataclass(frozen=True)
class ValidationRules:
    """Limits that decide whether a reading is believable."""

    max_future_s: float = 600.0
    max_past_s: float | None = 400 * 86400.0
    late_after_s: float = 3600.0


@dataclass
class ValidatedBatch:
    rows: pd.DataFrame
    rejections: list[Rejection]


def _offset_present(text: str) -> bool:
    """True when an ISO 8601 timestamp carries Z or a numeric UTC offset after its time."""
    if text.endswith(("Z", "z")):
        return True
    time_part = text.split("T", 1)[1] if "T" in text else text.split(" ", 1)[-1] if " " in text else ""
    return "+" in time_part or "-" in time_part


def _check_fields(fields: dict) -> str | None:
    meter_id = fields.get("meter_id")
    if not isinstance(meter_id, str) or not METER_ID.fullmatch(meter_id):
        return "meter_id missing or not an id of 1-64 letters, digits and ._:@/-"
    quantity = fields.get("quantity")
    if not isinstance(quantity, str) or quantity not in QUANTITIES or quantity == "level_pct":
        return f"unknown quantity {quantity!r}"
    unit = fields.get("unit")
    if not isinstance(unit, str) or conversion(resolve_quantity(quantity, unit), unit) is None:
        accepted = sorted(QUANTITIES[quantity].units) + (["%"] if quantity == "level" else [])
        return f"unit {unit!r} is not a unit of {quantity} (accepted: {', '.join(accepted)})"
    value = fields.get("value")
    if isinstance(value, float) and not np.isfinite(value):
        return f"value is {value} (NaN or infinite)"
    if not is_finite_number(value):
        return f"value must be a number, got {type(value).__name__}"
    ts = fields.get("ts")
    if isinstance(ts, str):
        if not _offset_present(ts):
            return f"timestamp {ts!r} has no UTC offset"
    elif is_finite_number(ts):
        if not EPOCH_MS_MIN <= ts < EPOCH_MS_MAX:
            return f"epoch timestamp {ts} is not milliseconds between 2000 and 2100"
    else:
        return "ts must be an ISO 8601 string with offset or epoch milliseconds"
    seq = fields.get("seq")
    if seq is not None and (not isinstance(seq, int) or isinstance(seq, bool)):
        return "seq must be an integer"
    return None


def _dump(fields: dict) -> str:
    return json.dumps(fields, default=str, allow_nan=True)[:65536]


def validate_readings(
    raws: Sequence[RawReading], rules: ValidationRules, now: datetime | None = None
) -> ValidatedBatch:
    """Turn raw readings (decoded JSON) into canonical rows; refuse the rest with a reason each."""
    rejections: list[Rejection] = []
    kept: list[RawReading] = []
    for raw in raws:
        reason = _check_fields(raw.fields)
        if reason is None:
            kept.append(raw)
        else:
            meter = raw.fields.get("meter_id")
            rejections.append(Rejection(reason, _dump(raw.fields), raw.source, raw.received_at,
                                        meter if isinstance(meter, str) else None))
    if not kept:
        return ValidatedBatch(empty_rows(), rejections)

    fields = [raw.fields for raw in kept]
    received = pd.DatetimeIndex([raw.received_at for raw in kept]).as_unit("us")
    reported = pd.DataFrame(
        {
            "meter_id": [f["meter_id"] for f in fields],
            "ts": _parse_timestamps([f["ts"] for f in fields]),
            "quantity": [f["quantity"] for f in fields],
            "value": np.array([f["value"] for f in fields], dtype="float64"),
            "unit": [f["unit"] for f in fields],
            "seq": pd.array([f.get("seq") for f in fields], dtype="Int64"),
            "attrs": [
                json.dumps({k: v for k, v in f.items() if k not in KNOWN_FIELDS}, default=str)
                if len(f) > len(KNOWN_FIELDS & f.keys()) else None
                for f in fields
            ],
            "source": [raw.source for raw in kept],
            "received_at": received if received.tz is not None else received.tz_localize("UTC"),
        }
    )
    rows, reasons = validate_frame(reported, rules, now)
    for i in np.flatnonzero(reasons != None):  # noqa: E711 - elementwise
        reason = reasons[i]
        if pd.isna(reported["ts"].iat[i]):
            reason = f"timestamp {fields[i]['ts']!r} is not a valid ISO 8601 time"
        rejections.append(Rejection(reason, _dump(fields[i]), kept[i].source, kept[i].received_at,
                                    fields[i]["meter_id"]))
    return ValidatedBatch(rows, rejections)


def validate_frame(
    reported: pd.DataFrame, rules: ValidationRules, now: datetime | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Check a frame of reported readings at once and convert the good ones to canonical rows.

    ``reported`` has ``meter_id, ts`` (UTC, NaT where unparseable), ``quantity,
    value, unit`` as reported, and optionally ``seq, attrs, source, received_at``.
    Returns the canonical rows of the good readings and, aligned with the input,
    a reason for each refused reading (None where accepted).
    """
    n = len(reported)
    reason = np.full(n, None, dtype=object)

    def refuse(mask: np.ndarray, text: Callable[[int], str]) -> None:
        for i in np.flatnonzero(mask & (reason == None)):  # noqa: E711 - elementwise
            reason[i] = text(i)

    meter_id = reported["meter_id"].astype("string")
    quantity_in = reported["quantity"].astype("string").fillna("").to_numpy(dtype=object)
    unit_in = reported["unit"].astype("string").fillna("").to_numpy(dtype=object)
    value_in = pd.to_numeric(reported["value"], errors="coerce").to_numpy(dtype="float64")

    refuse(~meter_id.fillna("").str.fullmatch(METER_ID.pattern).to_numpy(dtype=bool),
           lambda i: f"meter_id {reported['meter_id'].iat[i]!r} is not an id of 1-64 letters, digits and ._:@/-")
    refuse(np.array([q not in QUANTITIES or q == "level_pct" for q in quantity_in]),
           lambda i: f"unknown quantity {quantity_in[i]!r}")
    quantity = np.array([resolve_quantity(q, u) for q, u in zip(quantity_in, unit_in)], dtype=object)
    factor_offset = np.array([conversion(q, u) or (np.nan, np.nan) for q, u in zip(quantity, unit_in)])
    refuse(np.isnan(factor_offset[:, 0]),
           lambda i: f"unit {unit_in[i]!r} is not a unit of {quantity_in[i]} "
                     f"(accepted: {', '.join(_accepted_units(quantity_in[i]))})")
    refuse(~np.isfinite(value_in), lambda i: f"value {reported['value'].iat[i]!r} is not a finite number")
    value = value_in * factor_offset[:, 0] + factor_offset[:, 1]
    known = np.array([q in QUANTITIES for q in quantity])
    low = np.array([QUANTITIES[q].low if k else -np.inf for q, k in zip(quantity, known)])
    high = np.array([QUANTITIES[q].high if k else np.inf for q, k in zip(quantity, known)])
    refuse((value < low) | (value > high),
           lambda i: f"{quantity_in[i]} {value[i]:g} {QUANTITIES[quantity[i]].canonical_unit} outside the "
                     f"plausible range {low[i]:g}..{high[i]:g} {QUANTITIES[quantity[i]].canonical_unit}")

    ts = pd.DatetimeIndex(reported["ts"]).as_unit("us")
    if ts.tz is None:
        ts = ts.tz_localize("UTC")
    received = (pd.DatetimeIndex(reported["received_at"]).as_unit("us") if "received_at" in reported
                else pd.DatetimeIndex([pd.Timestamp.now("UTC")] * n).as_unit("us"))
    now_ts = pd.Timestamp(now) if now is not None else (received.max() if n else pd.Timestamp.now("UTC"))
    age_s = (now_ts - ts).total_seconds().to_numpy()
    lag_s = (received - ts).total_seconds().to_numpy()
    refuse(np.asarray(ts.isna()), lambda i: "timestamp missing or not a valid time")
    refuse(age_s < -rules.max_future_s, lambda i: f"timestamp {ts[i].isoformat()} is {-age_s[i]:.0f} s in the future")
    if rules.max_past_s is not None:
        refuse(age_s > rules.max_past_s,
               lambda i: f"timestamp {ts[i].isoformat()} is older than {rules.max_past_s / 86400:.0f} days")

    ok = reason == None  # noqa: E711 - elementwise
    flags = np.where(lag_s > rules.late_after_s, int(Flag.LATE), 0) | np.where(age_s < -60, int(Flag.CLOCK_AHEAD), 0)
    canonical_unit = [QUANTITIES[q].canonical_unit if k else "" for q, k in zip(quantity, known)]
    rows = pd.DataFrame(
        {
            "meter_id": meter_id.to_numpy(),
            "ts": ts,
            "quantity": pd.array(quantity, dtype="string"),
            "value": value,
            "unit": pd.array(canonical_unit, dtype="string"),
            "orig_unit": pd.array(unit_in, dtype="string"),
            "seq": pd.array(reported["seq"] if "seq" in reported else [None] * n, dtype="Int64"),
            "attrs": pd.array(reported["attrs"] if "attrs" in reported else [None] * n, dtype="string"),
            "source": pd.array(reported["source"] if "source" in reported else [None] * n, dtype="string"),
            "received_at": received,
            "flags": flags.astype("int32"),
        }
    )
    rows["meter_id"] = rows["meter_id"].astype("string")
    return rows[ok].reset_index(drop=True), reason


def _accepted_units(quantity: str) -> list[str]:
    spec = QUANTITIES.get(quantity)
    if spec is None:
        return []
    return sorted(spec.units) + (["%"] if quantity == "level" else [])


def _parse_timestamps(values: list) -> pd.DatetimeIndex:
    """Parse ISO strings (any offsets) and epoch milliseconds into UTC, NaT where invalid."""
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[us]")
    text_idx = [i for i, v in enumerate(values) if isinstance(v, str)]
    num_idx = [i for i, v in enumerate(values) if not isinstance(v, str)]
    if text_idx:
        parsed = pd.to_datetime([values[i] for i in text_idx], format="ISO8601", utc=True, errors="coerce")
        out[text_idx] = parsed.tz_localize(None).as_unit("us").to_numpy()
    if num_idx:
        ms = np.array([values[i] for i in num_idx], dtype="float64")
        out[num_idx] = (ms * 1000).astype("int64").astype("datetime64[us]")
    return pd.DatetimeIndex(out).tz_localize("UTC")


def empty_rows() -> pd.DataFrame:
    """A batch with the reading columns and no rows."""
    return pd.DataFrame(
        {
            "meter_id": pd.array([], dtype="string"),
            "ts": pd.DatetimeIndex([], dtype="datetime64[us, UTC]"),
            "quantity": pd.array([], dtype="string"),
            "value": np.array([], dtype="float64"),
            "unit": pd.array([], dtype="string"),
            "orig_unit": pd.array([], dtype="string"),
            "seq": pd.array([], dtype="Int64"),
            "attrs": pd.array([], dtype="string"),
            "source": pd.array([], dtype="string"),
            "received_at": pd.DatetimeIndex([], dtype="datetime64[us, UTC]"),
            "flags": np.array([], dtype="int32"),
        }
    )
