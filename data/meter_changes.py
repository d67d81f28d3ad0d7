"""Registering meters ahead of their readings, and correcting them after.

A utility keeps its meters in an asset register (a GIS or billing export): where each
meter is, whom it serves, how large its register is. `meters load` and `meters set`
bring that into the store, so that a store under the ``quarantine`` policy knows its
devices before they speak, and a meter registered from its first reading (without its
zone, say, or as an outlet that nobody told where its water goes) can be put right.

Each row is checked alone (`data.register_rows`): a bad one is refused with its reason
and the others apply, all in one transaction. A meter's zone and category place its history in the zone
rollups, and its time zone draws its daily buckets, so changing them moves that history
with it (`data.rollups.redraw_meter_days`, `recompute_zone_rollups`). Register size and
largest plausible flow apply to readings from then on: intervals already derived keep
what they were derived with. A meter's quantity is fixed once registered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from data.register_rows import REGISTER_COLUMNS, RowRefused, resolve_row
from data.rollups import UNASSIGNED, recompute_zone_rollups, redraw_meter_days


@dataclass(frozen=True)
class Refusal:
    where: str  # "line 4" in a file, the meter id on the command line
    reason: str


@dataclass
class MeterChanges:
    """What a set of register rows did to the store."""

    registered: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    zones_created: list[str] = field(default_factory=list)
    #: meters whose history moved to another zone or category
    moved: list[str] = field(default_factory=list)
    #: meters whose daily buckets were redrawn on another clock
    retimed: list[str] = field(default_factory=list)


def apply_meter_changes(cur: duckdb.DuckDBPyConnection, rows: list[tuple[str, dict[str, str]]],
                        default_tz: str, register_new: bool = True) -> MeterChanges:
    """Apply register rows, each ``(where, {column: text})`` with columns of `REGISTER_COLUMNS`, in the
    caller's transaction. Empty texts keep the stored value. ``register_new=False`` refuses unknown meters."""
    ids = [row.get("meter_id", "").strip() for _, row in rows]
    current = _current(cur, ids)
    result = MeterChanges()
    resolved: dict[str, dict] = {}
    for (where, row), meter_id in zip(rows, ids):
        try:
            if meter_id in resolved:
                raise RowRefused(f"meter {meter_id} appears twice; its first row stands")
            if meter_id not in current and not register_new:
                raise RowRefused(f"meter {meter_id} is not registered")
            resolved[meter_id] = resolve_row(row, current.get(meter_id), default_tz)
        except RowRefused as err:
            result.refused.append(Refusal(where, str(err)))
    for meter_id, after in resolved.items():
        before = current.get(meter_id)
        if before is None:
            result.registered.append(meter_id)
        elif any(_differs(before[c], after[c]) for c in REGISTER_COLUMNS):
            result.updated.append(meter_id)
            if _pair(before) != _pair(after):
                result.moved.append(meter_id)
            if before["tz"] != after["tz"]:
                result.retimed.append(meter_id)
        else:
            result.unchanged.append(meter_id)
    written = [resolved[m] for m in result.registered + result.updated]
    if written:
        result.zones_created = _create_zones(cur, written, current)
        _write(cur, pd.DataFrame(written, columns=list(REGISTER_COLUMNS)))
    redraw_meter_days(cur, result.retimed)
    moved_pairs = {_pair(current[m]) for m in result.moved} | {_pair(resolved[m]) for m in result.moved}
    recompute_zone_rollups(cur, moved_pairs)
    recompute_zone_rollups(cur, {_pair(resolved[m]) for m in result.retimed} - moved_pairs, grains=("day",))
    return result


def _differs(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return not (a == b or (math.isnan(a) and math.isnan(b)))
    return a != b


def _pair(meter: dict) -> tuple[str, str]:
    """The meter's (zone, category) key in the zone rollups."""
    return (meter["zone_id"] or UNASSIGNED, meter["category"] or UNASSIGNED)


def _current(cur: duckdb.DuckDBPyConnection, ids: list[str]) -> dict[str, dict]:
    wanted = pd.DataFrame({"meter_id": sorted(set(ids))})  # noqa: F841 (read by name in the SQL below)
    frame = cur.execute(f"SELECT {', '.join(REGISTER_COLUMNS)} FROM meters SEMI JOIN wanted USING (meter_id)").df()
    frame = frame.astype(object).where(frame.notna(), None)
    return {row["meter_id"]: row for row in frame.to_dict("records")}


def _create_zones(cur: duckdb.DuckDBPyConnection, meters: list[dict], before: dict[str, dict]) -> list[str]:
    """Create the zones the rows newly name that the store does not know, on the first such meter's clock."""
    named: dict[str, str] = {}
    for meter in meters:
        was = before.get(meter["meter_id"], {})
        for column in ("zone_id", "to_zone_id"):
            if meter[column] is not None and meter[column] != was.get(column):
                named.setdefault(meter[column], meter["tz"])
    known = {z for (z,) in cur.execute("SELECT zone_id FROM zones").fetchall()}
    fresh = sorted(set(named) - known)
    if fresh:
        cur.executemany("INSERT INTO zones (zone_id, tz) VALUES (?, ?)", [[z, named[z]] for z in fresh])
    return fresh


def _write(cur: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> None:
    """Insert new meters and overwrite the register columns of known ones."""
    written_meters = frame.astype({"register_size_l": "float64", "max_flow_l_s": "float64"})  # noqa: F841
    cur.execute(
        f"""INSERT INTO meters BY NAME
            SELECT *, 'register' AS registered_by, now()::TIMESTAMP AS registered_at FROM written_meters
            ON CONFLICT (meter_id) DO UPDATE SET
            {', '.join(f'{c} = excluded.{c}' for c in REGISTER_COLUMNS if c != 'meter_id')}"""
    )
