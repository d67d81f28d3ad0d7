"""Load-test patterns: what the live publisher does to the city's readings on purpose.

A `LoadMix` says how much of each pattern to mix in:

- ``normal``: the city as simulated (its own events, delivery quirks and noise);
- ``anomalies``: events (leaks, bursts, faults...) ten times as often per unit;
- ``noise``: sensors ten times noisier per unit, and registers that jitter back a few litres;
- ``missing``: that share of readings is never sent (gaps in ``seq``);
- ``corrupt``: that share of messages is spoiled — bad JSON, not UTF-8, wrong types,
  NaN, out-of-range values, missing fields, times without offset, unknown units —
  every one of which must end in quarantine;
- ``bursts``: that share of readings is held back and released together at the
  top of every ten simulated minutes, and sent twice (a gateway replaying its
  buffer: the store must keep one copy).

Presets (`PATTERNS`) set one pattern at a demonstrative level; `parse_mix`
reads ``"corrupt=0.05,missing=0.1"``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

MESSAGE_CORRUPTIONS = ("bad_json", "not_utf8", "empty_array")
READING_CORRUPTIONS = ("wrong_type", "nan", "out_of_range", "missing_field", "no_offset", "unknown_unit",
                       "not_an_object")
BURST_EVERY_S = 600


@dataclass(frozen=True)
class LoadMix:
    anomalies: float = 0.0
    noise: float = 0.0
    missing: float = 0.0
    corrupt: float = 0.0
    bursts: float = 0.0

    @property
    def event_multiplier(self) -> float:
        return 1.0 + 9.0 * self.anomalies

    @property
    def noise_multiplier(self) -> float:
        return 1.0 + 9.0 * self.noise

    def describe(self) -> str:
        parts = [f"{f.name}={getattr(self, f.name):g}" for f in fields(self) if getattr(self, f.name)]
        return ",".join(parts) or "normal"


PATTERNS: dict[str, LoadMix] = {
    "normal": LoadMix(),
    "anomalies": LoadMix(anomalies=1.0),
    "noise": LoadMix(noise=1.0),
    "missing": LoadMix(missing=0.1),
    "corrupt": LoadMix(corrupt=0.05),
    "bursts": LoadMix(bursts=0.3),
}


def parse_mix(text: str) -> LoadMix:
    """``"normal"``, a preset name, or ``"corrupt=0.05,missing=0.1"`` (presets may be combined too)."""
    mix = LoadMix()
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            if part not in PATTERNS:
                raise ValueError(f"unknown pattern {part!r}; use one of {', '.join(PATTERNS)}")
            preset = PATTERNS[part]
            mix = replace(mix, **{f.name: max(getattr(mix, f.name), getattr(preset, f.name)) for f in fields(mix)})
            continue
        name, _, value = part.partition("=")
        if name.strip() not in {f.name for f in fields(LoadMix)}:
            raise ValueError(f"unknown pattern {name!r}; use one of {', '.join(f.name for f in fields(LoadMix))}")
        share = float(value)
        if not 0.0 <= share <= (10.0 if name.strip() in ("anomalies", "noise") else 1.0):
            raise ValueError(f"{name} must be a share between 0 and 1 (anomalies and noise up to 10)")
        mix = replace(mix, **{name.strip(): share})
    return mix


def corrupt_reading(reading: dict[str, Any], kind: str) -> Any:
    """One reading spoiled so that validation must refuse it."""
    spoiled = dict(reading)
    if kind == "wrong_type":
        spoiled["value"] = str(spoiled["value"])
    elif kind == "nan":
        spoiled["value"] = float("nan")
    elif kind == "out_of_range":
        spoiled.update(quantity="pressure", unit="bar", value=300.0)
    elif kind == "missing_field":
        spoiled.pop("meter_id", None)
    elif kind == "no_offset":
        spoiled["ts"] = "2026-01-01T12:00:00"
    elif kind == "unknown_unit":
        spoiled["unit"] = "furlong"
    elif kind == "not_an_object":
        return [spoiled.get("meter_id"), spoiled.get("value")]
    else:
        raise ValueError(f"unknown reading corruption {kind!r}")
    return spoiled


def corrupt_message(payload: bytes, kind: str) -> bytes:
    """A whole message spoiled so that decoding must refuse it."""
    if kind == "bad_json":
        return payload[: max(1, len(payload) // 2)]
    if kind == "not_utf8":
        return b"\xff\xfe" + payload[2:]
    if kind == "empty_array":
        return b"[]"
    raise ValueError(f"unknown message corruption {kind!r}")


def encode(readings: list[Any], array: bool) -> bytes:
    body = readings if array else readings[0]
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def spoil(readings: list[dict[str, Any]], array: bool, rng: np.random.Generator) -> tuple[bytes, str]:
    """A corrupt message made from ``readings``; returns (payload, kind of corruption).

    Message-level kinds spoil everything in the message (one quarantine row); a
    reading-level kind spoils one reading of it (one row, the others are stored).
    """
    kinds = MESSAGE_CORRUPTIONS + READING_CORRUPTIONS if array else ("bad_json", "not_utf8") + READING_CORRUPTIONS
    kind = kinds[int(rng.integers(len(kinds)))]
    if kind in MESSAGE_CORRUPTIONS:
        return corrupt_message(encode(readings, array), kind), kind
    if kind == "not_an_object" and not array:
        kind = "wrong_type"
    victim = int(rng.integers(len(readings)))
    spoiled = [corrupt_reading(r, kind) if i == victim else r for i, r in enumerate(readings)]
    return encode(spoiled, array), kind
