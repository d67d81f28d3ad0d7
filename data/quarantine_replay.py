"""Quarantined messages sent through the listener's checks again, once what refused them has changed.

Under the ``quarantine`` policy a device that reports before it is registered has its
readings quarantined as ``unknown meter``; a limit may have been too tight; a unit may
be new. Once the meter is registered (`meters load`) or the setting changed, those
readings should not stay lost. A replay decodes each quarantined payload as the listener
decodes a message, validates its readings as of the time it was first received (so a
reading is neither older nor newer than it was then), and stores what passes through the
same ingest as a live batch. A payload none of whose readings pass stays in quarantine as
it was, reason and all; one whose readings pass leaves it, and any of its readings still
refused go back with their reason of today.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from data.ingest import UNKNOWN_METER
from data.payload import TOPIC_ROOT, PayloadLimits, RawReading, Rejection, decode_message
from data.validation import AT_RECEIPT, ValidationRules, validate_readings

#: The reason the unknown-meter policy gives (`data.ingest`): what `meters load` puts right.
UNKNOWN_METER_REASON = f"{UNKNOWN_METER} %"


@dataclass(frozen=True)
class ReplayPlan:
    """What a replay of some quarantined messages would do."""

    considered: int               # quarantined messages selected
    replayed: pd.Series           # rowids of the messages that leave quarantine
    rows: pd.DataFrame            # their readings that pass, as a validated batch
    rejections: list[Rejection]   # their readings still refused


def select_quarantined(cur: duckdb.DuckDBPyConnection, meter_ids: list[str] | None = None,
                       reason_like: str | None = UNKNOWN_METER_REASON) -> pd.DataFrame:
    """Quarantined messages (``rowid`` included, valid inside the caller's transaction) of these meters
    and with a reason ``LIKE`` this pattern (None: any), oldest first."""
    return cur.execute(
        """SELECT rowid, received_at, source, meter_id, reason, payload FROM quarantine
           WHERE ($meters IS NULL OR list_contains($meters, meter_id))
             AND ($reason IS NULL OR reason ILIKE $reason)
           ORDER BY received_at, rowid""",
        {"meters": meter_ids, "reason": reason_like}).df()


def plan_replay(quarantined: pd.DataFrame, rules: ValidationRules, limits: PayloadLimits) -> ReplayPlan:
    """Decode and validate each quarantined message as the listener would have when it arrived."""
    raws: list[RawReading] = []
    origin: list[int] = []
    for rowid, received_at, source, payload in zip(quarantined["rowid"], quarantined["received_at"],
                                                   quarantined["source"], quarantined["payload"]):
        received = pd.Timestamp(received_at).tz_localize("UTC").to_pydatetime()
        readings, refused = decode_message(str(payload).encode("utf-8"), f"{TOPIC_ROOT}/{source}", received,
                                           limits.max_bytes, limits.max_readings)
        if not refused:  # a message the listener refuses whole stays as it was
            raws += readings
            origin += [rowid] * len(readings)
    batch = validate_readings(raws, rules, now=AT_RECEIPT)
    origin_of = np.asarray(origin, dtype="int64")
    replayed = np.unique(origin_of[batch.positions])
    refused_again = np.setdiff1d(np.arange(len(raws)), batch.positions)
    refused_again = refused_again[np.isin(origin_of[refused_again], replayed)]
    rejections = validate_readings([raws[i] for i in refused_again], rules, now=AT_RECEIPT).rejections
    return ReplayPlan(len(quarantined), pd.Series(replayed, dtype="int64"), batch.rows, rejections)
