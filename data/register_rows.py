"""What one row of an asset register may say about a meter, and what the meter is once it applies.

A row names a meter and some of its columns as text (from a register file, or from
`meters set`'s flags); an empty cell keeps what the store has. `resolve_row` checks
the row against the meter as stored, alone, and either gives the meter's row after
the change or refuses it with a reason an operator can act on (`RowRefused`).
"""

from __future__ import annotations

import math
from zoneinfo import ZoneInfo

from data.schema import DEFAULT_MAX_FLOW_L_S, MAX_FLOW_BY_CATEGORY
from data.units import QUANTITIES, WEATHER_QUANTITIES, conversion, resolve_quantity
from data.validation import METER_ID

#: The columns of an asset register, as the `meters` table names them.
REGISTER_COLUMNS = ("meter_id", "quantity", "unit", "zone_id", "category", "to_zone_id", "tz",
                    "register_size_l", "max_flow_l_s", "weather_station")
#: Other names a register file may give them.
COLUMN_ALIASES = {"meter": "meter_id", "zone": "zone_id", "to_zone": "to_zone_id", "time_zone": "tz",
                  "register_size": "register_size_l", "max_flow": "max_flow_l_s", "station": "weather_station"}
#: A cell that clears an optional field (an empty cell keeps what the store has).
CLEAR = "-"
_CLEARABLE = ("zone_id", "category", "to_zone_id", "register_size_l", "max_flow_l_s", "weather_station")
_LABELS = ("zone_id", "category", "to_zone_id", "weather_station")


class RowRefused(ValueError):
    pass


def register_column(name: str) -> str | None:
    """The `REGISTER_COLUMNS` name of a register file's column heading (None when it is not one)."""
    key = name.strip().lower().replace(" ", "_")
    key = COLUMN_ALIASES.get(key, key)
    return key if key in REGISTER_COLUMNS else None


def resolve_row(row: dict[str, str], before: dict | None, default_tz: str) -> dict:
    """The meter's row once this register row applies to it, or `RowRefused` saying why not."""
    unknown = set(row) - set(REGISTER_COLUMNS)
    if unknown:
        raise ValueError(f"not register columns: {sorted(unknown)} (see register_column)")
    given = {c: str(v).strip() for c, v in row.items() if v is not None and str(v).strip() != ""}
    meter_id = given.get("meter_id", "")
    if not METER_ID.fullmatch(meter_id):
        raise RowRefused(f"meter id {meter_id!r} is not one: 1-64 letters, digits and ._:@/- starting with a "
                         "letter or digit" if meter_id else "no meter id")
    for column, text in given.items():
        if text == CLEAR and column not in _CLEARABLE:
            raise RowRefused(f"{column} cannot be cleared with '{CLEAR}': only {', '.join(_CLEARABLE)} can")
    after = dict(before) if before else {c: None for c in REGISTER_COLUMNS} | {"meter_id": meter_id}
    after |= {c: (None if text == CLEAR else text) for c, text in given.items() if c in _LABELS}
    _set_quantity(after, given, before)
    if "tz" in given:
        after["tz"] = _time_zone(given["tz"])
    elif before is None:
        after["tz"] = default_tz
    if after["quantity"] in WEATHER_QUANTITIES and "category" not in given:
        after["category"] = "weather"
    if (after["category"] == "weather") != (after["quantity"] in WEATHER_QUANTITIES):
        raise RowRefused(f"category weather is for weather stations' quantities, not {after['quantity']}"
                         if after["category"] == "weather" else
                         f"a {after['quantity']} meter is a weather station: its category is weather")
    _set_to_zone(after, given, before)
    if "register_size_l" in given:
        after["register_size_l"] = _positive(given, "register_size_l")
        if after["register_size_l"] is not None and after["quantity"] != "volume":
            raise RowRefused(f"register_size_l is for cumulative registers (quantity volume), not {after['quantity']}")
    _set_max_flow(after, given, before)
    return after


def _set_quantity(after: dict, given: dict[str, str], before: dict | None) -> None:
    quantity = given.get("quantity")
    if quantity is not None:
        if quantity not in QUANTITIES or quantity == "level_pct":
            raise RowRefused(f"quantity {quantity!r} is not one of {', '.join(q for q in QUANTITIES if q != 'level_pct')}")
        quantity = resolve_quantity(quantity, given.get("unit", ""))
        if before is not None and quantity != before["quantity"]:
            raise RowRefused(f"meter {after['meter_id']} is registered as a {before['quantity']} meter; "
                             "its quantity cannot change")
        after["quantity"] = quantity
    elif before is None:
        raise RowRefused("a new meter needs its quantity (volume, interval_volume, flow, pressure, level, ...)")
    unit = given.get("unit")
    if unit is not None:
        if conversion(after["quantity"], unit) is None:
            raise RowRefused(f"unit {unit!r} is not a unit of {after['quantity']} "
                             f"({', '.join(sorted(QUANTITIES[after['quantity']].units))})")
        after["unit"] = unit
    elif before is None:
        after["unit"] = QUANTITIES[after["quantity"]].canonical_unit


def _set_to_zone(after: dict, given: dict[str, str], before: dict | None) -> None:
    if after["category"] != "outlet" and after["to_zone_id"] is not None:
        if given.get("to_zone_id", CLEAR) != CLEAR:
            raise RowRefused("to_zone_id names where an outlet's water goes: only a meter of category outlet "
                             "takes it")
        after["to_zone_id"] = None  # no longer an outlet
    if after["to_zone_id"] is not None and after["to_zone_id"] == after["zone_id"]:
        raise RowRefused(f"an outlet into its own zone {after['zone_id']} carries no water out of it: give the "
                         "zone its water goes on to")


def _set_max_flow(after: dict, given: dict[str, str], before: dict | None) -> None:
    default = MAX_FLOW_BY_CATEGORY.get(after["category"], DEFAULT_MAX_FLOW_L_S)
    if "max_flow_l_s" in given:
        after["max_flow_l_s"] = _positive(given, "max_flow_l_s") or default
    elif before is None or before["max_flow_l_s"] is None:
        after["max_flow_l_s"] = default
    elif after["category"] != before["category"] and before["max_flow_l_s"] == MAX_FLOW_BY_CATEGORY.get(
            before["category"], DEFAULT_MAX_FLOW_L_S):
        after["max_flow_l_s"] = default  # it had its category's default: it takes the new category's


def _positive(given: dict[str, str], column: str) -> float | None:
    text = given[column]
    if text == CLEAR:
        return None
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise RowRefused(f"{column} {text!r} is not a positive number")
    return number


def _time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError):
        raise RowRefused(f"time zone {name!r} is not an IANA name such as Europe/Rome") from None
    return name
