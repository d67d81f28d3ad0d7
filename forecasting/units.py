"""Output units of a forecast: the series' own unit unless the user asks for another of the same kind."""

from __future__ import annotations

import pandas as pd

from data.units import CUBIC_FOOT_L, US_GALLON_L

FLOW_UNITS = {"L/s": 1.0, "L/min": 1 / 60, "m3/h": 1000 / 3600}      # L/s per unit
VOLUME_UNITS = {"L": 1.0, "m3": 1000.0, "gal": US_GALLON_L, "US gal": US_GALLON_L, "ft3": CUBIC_FOOT_L}  # L per unit


def default_unit(series_unit: str, imported_unit: str | None) -> str:
    """The unit the series was imported in when it is of the same kind, else the series' own."""
    table = FLOW_UNITS if series_unit == "L/s" else VOLUME_UNITS
    return imported_unit if imported_unit in table else series_unit


def convert(frame: pd.DataFrame, series_unit: str, unit: str | None) -> tuple[pd.DataFrame, str]:
    """Scale the yhat columns from ``series_unit`` (L/s or L) to ``unit``; a clear error for a wrong kind."""
    if unit is None or unit == series_unit:
        return frame, series_unit
    table = FLOW_UNITS if series_unit == "L/s" else VOLUME_UNITS
    if unit not in table:
        kind = "a flow (L/s)" if series_unit == "L/s" else "a volume per period (L)"
        raise ValueError(f"this series is {kind}: --unit must be one of {', '.join(table)}, got {unit!r}")
    out = frame.copy()
    for column in ("yhat", "yhat_lower", "yhat_upper"):
        out[column] = out[column] / table[unit]
    return out, unit
