"""The event frame every detector returns: the contract with alerts, the CLI and the evaluation.

One row per event; ids are a hash of detector, asset, kind, start and (when it is
not the kind's own) concern, so that scanning the same data again gives the same ids. ``raised_at`` (when the rule
first held and the readings it held on had come, i.e. when a streaming scan would
have raised the event) is carried internally for evaluation and dropped from the
public frame.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

EVENT_COLUMNS = ["event_id", "meter_id", "zone_id", "kind", "detector", "start", "end", "score", "severity",
                 "explanation", "lost_volume_l", "cost", "concern"]
INTERNAL_COLUMNS = EVENT_COLUMNS + ["raised_at"]

#: Every kind of event, and what it says by default, for whoever reads events by the dozen (a CSV scored against
#: leak labels, a filter): ``water_loss`` water may be leaving the network or running on a customer's side (a
#: leak, a burst, a tap left on); ``operations`` the network being run (pressure above its band: a pump or
#: valve); ``instrument`` a device misreading; ``reporting`` readings not arriving; ``anomaly`` unusual, cause
#: unknown.
CONCERNS = ("water_loss", "operations", "instrument", "reporting", "anomaly")
CONCERN_OF_KIND = {
    "burst": "water_loss", "continuous_flow": "water_loss", "night_flow_rise": "water_loss",
    "pressure_out_of_band": "water_loss", "zone_pressure_drop": "water_loss", "local_pressure_drop": "water_loss",
    "zscore_anomaly": "anomaly", "isolation_forest": "anomaly",
    "sensor_stuck": "instrument", "sensor_drift": "instrument", "sensor_spike": "instrument",
    "silent_meter": "reporting",
}
KINDS = tuple(CONCERN_OF_KIND)
#: Kinds whose events may say another concern than their kind's own (a pressure above its band is operations).
OTHER_CONCERNS_OF_KIND = {"pressure_out_of_band": ("operations",)}


def concerns_of_kind(kind: str) -> tuple[str, ...]:
    """Every concern an event of ``kind`` can carry, its own first."""
    return (CONCERN_OF_KIND[kind], *OTHER_CONCERNS_OF_KIND.get(kind, ()))


@dataclass(frozen=True)
class Tariff:
    """Price of lost water."""

    per_m3: float = 2.0
    currency: str = "EUR"

    def cost(self, litres: float) -> float:
        return round(float(litres) / 1000.0 * self.per_m3, 2)


def event_id(detector: str, meter_id: str, kind: str, start: pd.Timestamp, concern: str | None = None) -> str:
    """A stable id; a concern other than the kind's own (`CONCERN_OF_KIND`) is part of it, so that a zone's rise
    above its pressure band and another sensor's fall below it from the same minute stay two events."""
    key = f"{detector}|{meter_id}|{kind}|{pd.Timestamp(start):%Y-%m-%dT%H:%M:%S}"
    if concern is not None and concern != CONCERN_OF_KIND.get(kind):
        key += f"|{concern}"
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def severity_of(score: float, critical: float = 0.8, warning: float = 0.5) -> str:
    return "critical" if score >= critical else "warning" if score >= warning else "info"


def squash(ratio: float) -> float:
    """A 0..1 score from how far past its threshold a rule went (1 = exactly at it)."""
    return float(np.clip(1.0 - np.exp(-max(ratio, 0.0)), 0.0, 1.0))


def event(*, detector: str, meter_id: str, zone_id: str | None, kind: str, start: object, end: object,
          raised_at: object, score: float, explanation: str, lost_volume_l: float = 0.0,
          tariff: Tariff = Tariff(), severity: str | None = None, concern: str | None = None) -> dict:
    """One event row (a dict with `INTERNAL_COLUMNS`); ``concern`` defaults to its kind's (`CONCERN_OF_KIND`)."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    score = float(np.clip(score, 0.0, 1.0))
    lost = max(float(lost_volume_l), 0.0)
    concern = concern or CONCERN_OF_KIND[kind]
    return {"event_id": event_id(detector, meter_id, kind, start, concern), "meter_id": meter_id,
            "zone_id": None if zone_id is None or pd.isna(zone_id) else str(zone_id), "kind": kind,
            "detector": detector, "start": start, "end": max(end, start), "score": round(score, 3),
            "severity": severity or severity_of(score), "explanation": explanation,
            "lost_volume_l": round(lost, 1), "cost": tariff.cost(lost), "raised_at": pd.Timestamp(raised_at),
            "concern": concern}


def frame(rows: Iterable[dict], internal: bool = True) -> pd.DataFrame:
    """Rows as an event frame with the contract's dtypes (empty frames keep the columns)."""
    table = pd.DataFrame(list(rows), columns=INTERNAL_COLUMNS)
    for column in ("start", "end", "raised_at"):
        table[column] = pd.to_datetime(table[column]).astype("datetime64[us]")
    for column in ("score", "lost_volume_l", "cost"):
        table[column] = table[column].astype("float64")
    for column in ("event_id", "meter_id", "zone_id", "kind", "detector", "severity", "explanation", "concern"):
        table[column] = table[column].astype(object)
    table = table.sort_values(["start", "meter_id", "kind"], kind="stable").reset_index(drop=True)
    return table if internal else table[EVENT_COLUMNS]


def public(events: pd.DataFrame) -> pd.DataFrame:
    """The contract's columns only."""
    return events[EVENT_COLUMNS].reset_index(drop=True)


def runs(flags: np.ndarray, min_length: int = 1) -> list[tuple[int, int]]:
    """(first, last) index pairs of the runs of True in ``flags`` at least ``min_length`` long."""
    flags = np.asarray(flags, dtype=bool)
    if not flags.any():
        return []
    padded = np.concatenate([[False], flags, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    starts, stops = edges[::2], edges[1::2] - 1
    return [(int(a), int(b)) for a, b in zip(starts, stops) if b - a + 1 >= min_length]


def merge_runs(pairs: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    """Join runs (sorted by their first position; they may overlap) separated by at most ``gap`` positions."""
    merged: list[tuple[int, int]] = []
    for first, last in pairs:
        if merged and first - merged[-1][1] - 1 <= gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged
