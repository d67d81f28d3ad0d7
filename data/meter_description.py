"""Meters first heard of through their readings, and readings told back as their devices sent them.

A device may name its zone, category, time zone and (an outlet) the zone its water goes on to in
a reading's extra fields; those describe a meter registered on its first reading (a gateway may
send anything there, so only plain labels and real time zone names are taken).
"""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pandas as pd

from data.schema import DEFAULT_MAX_FLOW_L_S, MAX_FLOW_BY_CATEGORY
from data.units import CONSUMPTION_QUANTITIES, WEATHER_QUANTITIES, conversion


def describe_new_meters(rows: pd.DataFrame, default_tz: str, registered_by: str) -> pd.DataFrame:
    """Meters first heard of in this batch, described from their own readings."""
    preference = {q: i for i, q in enumerate(CONSUMPTION_QUANTITIES)}
    ranked = rows.assign(rank=rows["quantity"].map(preference).fillna(len(preference)))
    first = ranked.sort_values("rank", kind="stable").drop_duplicates("meter_id")
    records = []
    for row in first.itertuples():
        attrs = json.loads(row.attrs) if isinstance(row.attrs, str) else {}
        category = _label(attrs.get("category")) or ("weather" if row.quantity in WEATHER_QUANTITIES else None)
        tz = attrs.get("tz")
        records.append(
            {
                "meter_id": row.meter_id,
                "zone_id": _label(attrs.get("zone")),
                "category": category,
                "to_zone_id": _label(attrs.get("to_zone")) if category == "outlet" else None,
                "quantity": row.quantity,
                "unit": row.orig_unit,
                "max_flow_l_s": MAX_FLOW_BY_CATEGORY.get(category, DEFAULT_MAX_FLOW_L_S),
                "tz": tz if _is_time_zone(tz) else default_tz,
                "registered_by": registered_by,
            }
        )
    return pd.DataFrame.from_records(records)


def _label(value: object) -> str | None:
    """A zone or category named in a reading's extra fields: text or a number, never a structure."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or value == "":
        return None
    return str(value)


def _is_time_zone(name: object) -> bool:
    """True for an IANA time zone name (a device may send anything in its extra fields)."""
    if not isinstance(name, str) or not name:
        return False
    try:
        ZoneInfo(name)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


def as_sent(row) -> str:
    """A stored reading (a row of a validated batch) as the JSON its device sent."""
    factor, offset = conversion(row.quantity, row.orig_unit) or (1.0, 0.0)
    reading = {
        "meter_id": row.meter_id,
        "ts": row.ts.isoformat() + "Z",
        "quantity": "level" if row.quantity == "level_pct" else row.quantity,
        "value": (row.value - offset) / factor,
        "unit": row.orig_unit,
    }
    if not pd.isna(row.seq):
        reading["seq"] = int(row.seq)
    if isinstance(row.attrs, str):
        reading.update(json.loads(row.attrs))
    return json.dumps(reading)
