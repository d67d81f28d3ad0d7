"""Validation of raw readings into typed, canonical rows, and reasons for everything refused.

One pass in Python checks shapes and types (cheap isinstance tests); timestamps,
unit conversion and physical ranges are then checked for the whole batch at once
with pandas and numpy. A bad reading never spoils its neighbours: it leaves as a
`Rejection`, the rest continue as rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from data.payload import RawReading, Rejection, is_finite_number
from data.quality import Flag
from data.units import QUANTITIES, conversion, resolve_quantity

METER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/-]{0,63}")
KNOWN_FIELDS = frozenset({"meter_id", "ts", "quantity", "value", "unit", "seq"})
EPOCH_MS_MIN = 946_684_800_000  # 2000-01-01: smaller numbers are seconds or garbage
EPOCH_MS_MAX = 4_102_444_800_000  # 2100-01-01
SEQ_MIN, SEQ_MAX = -(2**53), 2**53  # ingest compares seq as doubles, exact up to 2**53
DOUBLE_MAX = 1.7976931348623157e308
#: ``now`` that judges each reading's age as of its own arrival (a replay of the quarantine).
AT_RECEIPT = "at receipt"  # larger JSON integers do not fit a double

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
    positions: np.ndarray | None = None  # each row's position among the raw readings validated


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
    if isinstance(value, int) and not isinstance(value, bool) and not is_finite_number(value):
        return "value is an integer too large to be a measurement"
    if not is_finite_number(value):
        return f"value must be a number, got {type(value).__name__}"
    ts = fields.get("ts")
    if isinstance(ts, str):
        if not _offset_present(ts):
            return f"timestamp {ts!r} has no UTC offset"
        if not ts.isascii():
            return f"timestamp {ts!r} is not a valid ISO 8601 time"
    elif is_finite_number(ts):
        if not EPOCH_MS_MIN <= ts < EPOCH_MS_MAX:
            return f"epoch timestamp {ts} is not milliseconds between 2000 and 2100"
    else:
        return "ts must be an ISO 8601 string with offset or epoch milliseconds"
    seq = fields.get("seq")
    if seq is not None and (not isinstance(seq, int) or isinstance(seq, bool) or not SEQ_MIN <= seq <= SEQ_MAX):
        return "seq must be an integer between -2**53 and 2**53"
    extra = {k: v for k, v in fields.items() if k not in KNOWN_FIELDS}
    if extra:
        try:
            json.dumps(extra, default=str, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return "extra fields hold text that is not valid Unicode (a lone surrogate escape)"
    return None


def _storable(text: str) -> str:
    """Text the database can hold: lone surrogates (from JSON escapes) become backslash escapes."""
    return text.encode("utf-8", errors="backslashreplace").decode("utf-8")


def _dump(fields: dict) -> str:
    return json.dumps(fields, default=str, allow_nan=True)[:65536]


def validate_readings(
    raws: Sequence[RawReading], rules: ValidationRules, now: datetime | None = None
) -> ValidatedBatch:
    """Turn raw readings (decoded JSON) into canonical rows; refuse the rest with a reason each.

    The loop only checks JSON types, as cheaply as Python allows; everything else
    is checked for the whole batch by `validate_frame`. Detailed reasons are
    worked out only for the readings that fail.
    """
    rejections: list[Rejection] = []
    kept: list[RawReading] = []
    kept_at: list[int] = []
    meter_id, ts, quantity, value, unit, seq, attrs = [], [], [], [], [], [], []
    for position, raw in enumerate(raws):
        f = raw.fields
        m, t, q, v, u, n = (f.get("meter_id"), f.get("ts"), f.get("quantity"), f.get("value"),
                            f.get("unit"), f.get("seq"))
        tv, tt = type(v), type(t)
        if (type(m) is str and type(q) is str and type(u) is str and m.isascii() and q.isascii() and u.isascii()
                and (tv is float or (tv is int and -DOUBLE_MAX < v < DOUBLE_MAX))
                and ((tt is str and t.isascii()) or tt is float or (tt is int and -DOUBLE_MAX < t < DOUBLE_MAX))
                and (n is None or (type(n) is int and SEQ_MIN <= n <= SEQ_MAX))):
            extra = len(f) - 5 - ("seq" in f)
            text = json.dumps({k: x for k, x in f.items() if k not in KNOWN_FIELDS}, default=str) if extra else None
            if text is None or "\\ud" not in text or _check_fields(f) is None:  # lone surrogates cannot be stored
                kept.append(raw)
                kept_at.append(position)
                meter_id.append(m)
                ts.append(t)
                quantity.append(q)
                value.append(v)
                unit.append(u)
                seq.append(n)
                attrs.append(text)
                continue
        rejections.append(Rejection(_check_fields(f) or "malformed reading", _dump(f), raw.source,
                                    raw.received_at, _storable(m) if isinstance(m, str) else None))
    if not kept:
        return ValidatedBatch(empty_rows(), rejections, np.array([], dtype="int64"))

    received = pd.DatetimeIndex([raw.received_at for raw in kept]).as_unit("us")
    reported = pd.DataFrame(
        {
            "meter_id": meter_id,
            "ts": _parse_timestamps(ts),
            "quantity": quantity,
            "value": np.array(value, dtype="float64"),
            "unit": unit,
            "seq": pd.array(seq, dtype="Int64"),
            "attrs": attrs,
            "source": [raw.source for raw in kept],
            "received_at": received if received.tz is not None else received.tz_localize("UTC"),
        }
    )
    rows, reasons = validate_frame(reported, rules, now)
    for i in np.flatnonzero(reasons != None):
        fields = kept[i].fields
        reason = _check_fields(fields) or reasons[i]
        if reason == reasons[i] and pd.isna(reported["ts"].iat[i]):
            reason = f"timestamp {fields['ts']!r} is not a valid ISO 8601 time"
        rejections.append(Rejection(reason, _dump(fields), kept[i].source, kept[i].received_at,
                                    _storable(fields["meter_id"])))
    return ValidatedBatch(rows, rejections, np.array(kept_at, dtype="int64")[reasons == None])


def validate_frame(
    reported: pd.DataFrame, rules: ValidationRules, now: datetime | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Check a frame of reported readings at once and convert the good ones to canonical rows.

    ``reported`` has ``meter_id, ts`` (UTC, NaT where unparseable), ``quantity,
    value, unit`` as reported, and optionally ``seq, attrs, source, received_at``.
    Returns the canonical rows of the good readings and, aligned with the input,
    a reason for each refused reading (None where accepted). Timestamps too far ahead
    or behind are judged against ``now`` (default: the newest ``received_at``), or
    with `AT_RECEIPT` against each reading's own arrival.
    """
    n = len(reported)
    reason = np.full(n, None, dtype=object)

    def refuse(mask: np.ndarray, text: Callable[[int], str]) -> None:
        for i in np.flatnonzero(mask & (reason == None)):
            reason[i] = text(i)

    meter_id = reported["meter_id"].astype("string")
    quantity_in = reported["quantity"].astype("string").fillna("").to_numpy(dtype=object)
    unit_in = reported["unit"].astype("string").fillna("").to_numpy(dtype=object)
    value_in = pd.to_numeric(reported["value"], errors="coerce").to_numpy(dtype="float64")

    refuse(~meter_id.fillna("").str.fullmatch(METER_ID.pattern).to_numpy(dtype=bool),
           lambda i: f"meter_id {reported['meter_id'].iat[i]!r} is not an id of 1-64 letters, digits and ._:@/-")
    q_code, q_names = pd.factorize(quantity_in)
    u_code, u_names = pd.factorize(unit_in)
    pair_code, pair_keys = pd.factorize(q_code.astype("int64") * max(len(u_names), 1) + u_code)
    pairs = [(q_names[k // max(len(u_names), 1)], u_names[k % max(len(u_names), 1)]) for k in pair_keys]
    lookup = [_unit_lookup(q, u) for q, u in pairs]
    known_pair = np.array([entry[0] is not None for entry in lookup], dtype=bool)
    refuse(~known_pair[pair_code], lambda i: f"unknown quantity {quantity_in[i]!r}")
    quantity = np.array([entry[0] or "" for entry in lookup], dtype=object)[pair_code]
    factor_offset = np.array([entry[1] for entry in lookup], dtype="float64").reshape(-1, 2)[pair_code]
    refuse(np.isnan(factor_offset[:, 0]),
           lambda i: f"unit {unit_in[i]!r} is not a unit of {quantity_in[i]} "
                     f"(accepted: {', '.join(_accepted_units(quantity_in[i]))})")
    refuse(~np.isfinite(value_in), lambda i: f"value {reported['value'].iat[i]!r} is not a finite number")
    value = value_in * factor_offset[:, 0] + factor_offset[:, 1]
    low = np.array([entry[2] for entry in lookup], dtype="float64")[pair_code]
    high = np.array([entry[3] for entry in lookup], dtype="float64")[pair_code]
    refuse((value < low) | (value > high),
           lambda i: f"{quantity_in[i]} {value[i]:g} {QUANTITIES[quantity[i]].canonical_unit} outside the "
                     f"plausible range {low[i]:g}..{high[i]:g} {QUANTITIES[quantity[i]].canonical_unit}")

    ts = pd.DatetimeIndex(reported["ts"]).as_unit("us")
    if ts.tz is None:
        ts = ts.tz_localize("UTC")
    received = (pd.DatetimeIndex(reported["received_at"]).as_unit("us") if "received_at" in reported
                else pd.DatetimeIndex([pd.Timestamp.now("UTC")] * n).as_unit("us"))
    lag_s = (received - ts).total_seconds().to_numpy()
    if now is AT_RECEIPT:
        age_s = lag_s
    else:
        now_ts = pd.Timestamp(now) if now is not None else (received.max() if n else pd.Timestamp.now("UTC"))
        age_s = (now_ts - ts).total_seconds().to_numpy()
    refuse(np.asarray(ts.isna()), lambda i: "timestamp missing or not a valid time")
    refuse(age_s < -rules.max_future_s, lambda i: f"timestamp {ts[i].isoformat()} is {-age_s[i]:.0f} s in the future")
    if rules.max_past_s is not None:
        refuse(age_s > rules.max_past_s,
               lambda i: f"timestamp {ts[i].isoformat()} is older than {rules.max_past_s / 86400:.0f} days")

    ok = reason == None
    flags = np.where(lag_s > rules.late_after_s, int(Flag.LATE), 0) | np.where(age_s < -60, int(Flag.CLOCK_AHEAD), 0)
    by_pair = pd.array([entry[0] or "" for entry in lookup], dtype="string")  # a few distinct texts: taken, not
    units_by_pair = pd.array([entry[4] for entry in lookup], dtype="string")  # converted reading by reading
    rows = pd.DataFrame(
        {
            "meter_id": meter_id.array,
            "ts": ts,
            "quantity": by_pair.take(pair_code),
            "value": value,
            "unit": units_by_pair.take(pair_code),
            "orig_unit": pd.array(list(u_names), dtype="string").take(u_code),
            "seq": pd.array(reported["seq"] if "seq" in reported else [None] * n, dtype="Int64"),
            "attrs": pd.array(reported["attrs"] if "attrs" in reported else [None] * n, dtype="string"),
            "source": pd.array(reported["source"] if "source" in reported else [None] * n, dtype="string"),
            "received_at": received,
            "flags": flags.astype("int32"),
        }
    )
    return (rows if ok.all() else rows[ok].reset_index(drop=True)), reason


def _unit_lookup(quantity: str, unit: str) -> tuple[str | None, tuple[float, float], float, float, str]:
    """(stored quantity or None, (factor, offset), low, high, canonical unit) of a reported pair."""
    if quantity not in QUANTITIES or quantity == "level_pct":
        return None, (np.nan, np.nan), -np.inf, np.inf, ""
    stored = resolve_quantity(quantity, unit)
    spec = QUANTITIES[stored]
    return stored, conversion(stored, unit) or (np.nan, np.nan), spec.low, spec.high, spec.canonical_unit


def _accepted_units(quantity: str) -> list[str]:
    spec = QUANTITIES.get(quantity)
    if spec is None:
        return []
    return sorted(spec.units) + (["%"] if quantity == "level" else [])


ISO_WITH_OFFSET = r"[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"


def _parse_timestamps(values: list) -> pd.DatetimeIndex:
    """Parse ISO strings with an offset and epoch milliseconds into UTC; NaT where invalid."""
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[us]")
    is_text = np.fromiter((type(v) is str for v in values), dtype=bool, count=len(values))
    text_idx = np.flatnonzero(is_text)
    num_idx = np.flatnonzero(~is_text)
    if len(text_idx):
        out[text_idx] = parse_iso_offset([values[i] for i in text_idx])
    if len(num_idx):
        out[num_idx] = parse_epoch_ms(np.array([values[i] for i in num_idx], dtype="float64"))
    return pd.DatetimeIndex(out).tz_localize("UTC")


def parse_iso_offset(texts) -> np.ndarray:
    """ISO 8601 texts that carry a UTC offset, as naive UTC datetime64[us]; NaT where invalid or offset-less."""
    texts = pd.Series(texts, dtype="string")
    with_offset = texts.str.contains(ISO_WITH_OFFSET, regex=True).fillna(False).to_numpy(dtype=bool)
    parsed = pd.to_datetime(texts.where(with_offset), format="ISO8601", utc=True, errors="coerce")
    return parsed.dt.tz_localize(None).dt.as_unit("us").to_numpy()


def parse_epoch_ms(ms: np.ndarray) -> np.ndarray:
    """Epoch milliseconds (float64) as naive UTC datetime64[us]; NaT outside 2000-2100."""
    in_range = (ms >= EPOCH_MS_MIN) & (ms < EPOCH_MS_MAX)
    stamps = (np.where(in_range, ms, 0) * 1000).astype("int64").astype("datetime64[us]")
    return np.where(in_range, stamps, np.datetime64("NaT"))


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
