"""Decoding MQTT messages into reading objects, as docs/MQTT.md promises device builders.

A message is one JSON reading or a JSON array of them. Anything that cannot be a
reading (oversized, not UTF-8, not JSON, not an object) becomes a rejection that
carries the raw payload, so the quarantine keeps exactly what the device sent.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import orjson

TOPIC_ROOT = "waterline/v1/readings"


@dataclass(frozen=True)
class Rejection:
    """A message or reading refused with a reason, bound for quarantine."""

    reason: str
    payload: str
    source: str
    received_at: datetime
    meter_id: str | None = None


@dataclass(frozen=True)
class PayloadLimits:
    """How big a message may be, in bytes and in readings (settings `max_payload_bytes`, `max_readings_per_message`)."""

    max_bytes: int = 1_048_576
    max_readings: int = 10_000


class RawReading(NamedTuple):
    """One reading object as the device sent it, before validation (a tuple: made per reading)."""

    fields: dict[str, Any]
    source: str
    received_at: datetime


def source_of(topic: str) -> str:
    """The source id (meter or gateway) named by a readings topic."""
    prefix = TOPIC_ROOT + "/"
    return topic.removeprefix(prefix)


def decode_message(
    payload: bytes,
    topic: str,
    received_at: datetime,
    max_bytes: int,
    max_readings: int,
) -> tuple[list[RawReading], list[Rejection]]:
    """Split one MQTT message into raw readings and message-level rejections."""
    source = source_of(topic)

    def refuse(reason: str, text: str | None = None) -> tuple[list[RawReading], list[Rejection]]:
        shown = text if text is not None else payload.decode("utf-8", errors="replace")
        return [], [Rejection(reason, shown, source, received_at)]

    if len(payload) > max_bytes:
        head = payload[:4096].decode("utf-8", errors="replace")
        return refuse(f"payload of {len(payload)} bytes exceeds the {max_bytes}-byte limit", head)
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError:  # strict JSON failed: find out why, or accept NaN/Infinity
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as err:
            return refuse(f"payload is not UTF-8 ({err.reason} at byte {err.start})")
        try:
            document = json.loads(text)
        except (ValueError, RecursionError) as err:
            return refuse(f"payload is not valid JSON: {err}", text)

    items = document if isinstance(document, list) else [document]
    if len(items) > max_readings:
        return refuse(f"message holds {len(items)} readings, more than the limit of {max_readings}",
                      payload[:4096].decode("utf-8", errors="replace"))
    if not items:
        return refuse("payload is an empty array")

    readings: list[RawReading] = []
    rejections: list[Rejection] = []
    for item in items:
        if isinstance(item, dict):
            readings.append(RawReading(item, source, received_at))
        else:
            rejections.append(
                Rejection(f"reading must be a JSON object, got {type(item).__name__}",
                          json.dumps(item)[:4096], source, received_at)
            )
    return readings, rejections


def is_finite_number(value: Any) -> bool:
    """True for JSON numbers that are real and finite as a double (booleans are not numbers)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond the range of a double
        return False
