"""The quantity vocabulary and unit normalisation shared by MQTT ingest and file import.

Every reading is stored in one canonical unit per quantity so that queries never
convert; the unit the device sent is kept beside it. Conversions are linear
(factor and offset) so they vectorise over a whole batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

US_GALLON_L = 3.785411784
CUBIC_FOOT_L = 28.316846592
METRE_HEAD_BAR = 0.0980665
PSI_BAR = 0.0689475729


@dataclass(frozen=True)
class Quantity:
    """A measured quantity: its canonical unit, accepted units and plausible range."""

    name: str
    canonical_unit: str
    units: dict[str, tuple[float, float]]  # unit -> (factor, offset) into canonical
    low: float
    high: float
    is_consumption: bool = False


def _linear(**factors: float) -> dict[str, tuple[float, float]]:
    return {unit: (factor, 0.0) for unit, factor in factors.items()}


_VOLUME_UNITS = {
    "L": (1.0, 0.0),
    "l": (1.0, 0.0),
    "m3": (1000.0, 0.0),
    "gal": (US_GALLON_L, 0.0),
    "US gal": (US_GALLON_L, 0.0),
    "ft3": (CUBIC_FOOT_L, 0.0),
}

QUANTITIES: dict[str, Quantity] = {
    q.name: q
    for q in (
        Quantity("volume", "L", _VOLUME_UNITS, 0.0, 1e13, is_consumption=True),
        Quantity("interval_volume", "L", _VOLUME_UNITS, 0.0, 1e10, is_consumption=True),
        Quantity(
            "flow",
            "L/s",
            {
                "L/s": (1.0, 0.0),
                "l/s": (1.0, 0.0),
                "L/min": (1 / 60, 0.0),
                "l/min": (1 / 60, 0.0),
                "m3/h": (1000 / 3600, 0.0),
                "L/h": (1 / 3600, 0.0),
                "gpm": (US_GALLON_L / 60, 0.0),
                "US gpm": (US_GALLON_L / 60, 0.0),
            },
            -1e5,  # bidirectional meters and pipe flows read below zero against their marked direction
            1e5,
            is_consumption=True,
        ),
        Quantity(
            "pressure",
            "bar",
            _linear(bar=1.0, mbar=0.001, kPa=0.01, MPa=10.0, psi=PSI_BAR,
                    **{"m": METRE_HEAD_BAR, "m head": METRE_HEAD_BAR}),
            -1.0,
            100.0,
        ),
        Quantity("level", "m", _linear(m=1.0, cm=0.01, ft=0.3048), -10.0, 500.0),
        Quantity("level_pct", "%", _linear(**{"%": 1.0}), 0.0, 100.0),
        Quantity("pump_state", "state", _linear(state=1.0), 0.0, 1.0),  # 1 running, 0 stopped
        Quantity(
            "air_temperature",
            "degC",
            {"degC": (1.0, 0.0), "C": (1.0, 0.0), "degF": (5 / 9, -32 * 5 / 9), "K": (1.0, -273.15)},
            -90.0,
            60.0,
        ),
        Quantity("rainfall", "mm", _linear(mm=1.0, **{"in": 25.4}), 0.0, 500.0),
        Quantity("humidity", "%", _linear(**{"%": 1.0}), 0.0, 100.0),
        Quantity("wind_speed", "km/h", _linear(**{"km/h": 1.0, "m/s": 3.6, "mph": 1.609344}), 0.0, 500.0),
    )
}

WEATHER_QUANTITIES = frozenset({"air_temperature", "rainfall", "humidity", "wind_speed"})
CONSUMPTION_QUANTITIES = tuple(q for q, spec in QUANTITIES.items() if spec.is_consumption)
#: Quantities that count litres (a register, or litres since the last reading): a consumption meter's own.
VOLUME_QUANTITIES = ("volume", "interval_volume")
#: Categories of meters that are not customers': a zone's inlet or outlet, a network sensor, a weather station.
NETWORK_CATEGORIES = ("inlet", "outlet", "sensor", "weather")
#: The same, and the empty category that the zone rollups give a meter without one.
NON_CUSTOMER_CATEGORIES = NETWORK_CATEGORIES + ("",)
#: `NETWORK_CATEGORIES` as an SQL list: ``category NOT IN {NETWORK_CATEGORIES_SQL}`` picks customers' meters.
NETWORK_CATEGORIES_SQL = "(" + ", ".join(f"'{c}'" for c in NETWORK_CATEGORIES) + ")"


def is_consumption_meter(quantity: str | None, category: str | None) -> bool:
    """Whether a meter's litres are consumption to watch as a customer's: a register or interval volumes
    always; a flow meter when its category names a customer (a household or business meter that reports its
    flow rate, which the store integrates to litres)."""
    return quantity in VOLUME_QUANTITIES or (
        quantity == "flow" and isinstance(category, str) and category not in NON_CUSTOMER_CATEGORIES)

#: Display units for volumes, as users pick them.
VOLUME_DISPLAY = {"L": 1.0, "m3": 1000.0, "gal": US_GALLON_L}


def resolve_quantity(quantity: str, unit: str) -> str:
    """The stored quantity for a reported one: a level in % is its own quantity."""
    if quantity == "level" and isinstance(unit, str) and unit.strip() == "%":
        return "level_pct"
    return quantity


#: Other ways files and devices write the accepted units, compared after `_spelling`.
_OTHER_SPELLINGS = {
    "L": ("litre", "litres", "liter", "liters", "lt", "ltr", "lts"),
    "m3": ("cubic metre", "cubic metres", "cubic meter", "cubic meters", "cbm"),
    "ft3": ("cubic foot", "cubic feet", "cf"),
    "L/s": ("lps", "lt/s"),
    "L/min": ("lpm", "lt/min"),
    "L/h": ("lph", "lt/h"),
    "m3/h": ("m3/hr", "cmh"),
    "m head": ("mh2o", "m h2o", "mwc", "m wc"),
    "degC": ("degree c", "degrees c", "celsius"),
    "degF": ("degree f", "degrees f", "fahrenheit"),
}


def _spelling(unit: str) -> str:
    """A unit as compared: no outer spaces, case or superscripts ("M³/h" -> "m3/h", "°C" -> "degc")."""
    text = unit.strip().replace("³", "3").replace("^3", "3").replace("°", "deg").lower()
    return text.replace("deg ", "deg")


def _spellings(spec: Quantity) -> dict[str, str]:
    known = {_spelling(unit): unit for unit in spec.units}
    known.update({other: unit for unit, others in _OTHER_SPELLINGS.items() if unit in spec.units
                  for other in others})
    return known


_SPELLINGS = {name: _spellings(spec) for name, spec in QUANTITIES.items()}


def conversion(quantity: str, unit: str) -> tuple[float, float] | None:
    """Factor and offset that take ``unit`` to the canonical unit, or None if unknown.

    Units are matched as written first, then by spelling: case, spaces and
    superscripts aside ("M3", "m³", "L/S"), and the usual other names ("litres",
    "lpm", "mH2O"). The unit as sent is kept beside the reading either way.
    """
    spec = QUANTITIES.get(quantity)
    if spec is None:
        return None
    if unit in spec.units:
        return spec.units[unit]
    canonical = _SPELLINGS[quantity].get(_spelling(unit)) if isinstance(unit, str) else None
    return None if canonical is None else spec.units[canonical]


def to_canonical(values: np.ndarray, quantity: str, unit: str) -> np.ndarray:
    """Convert an array of values of one quantity and unit to the canonical unit."""
    factor_offset = conversion(quantity, unit)
    if factor_offset is None:
        raise ValueError(f"unknown unit {unit!r} for quantity {quantity!r}")
    factor, offset = factor_offset
    return np.asarray(values, dtype="float64") * factor + offset


def litres_to(volume_l: np.ndarray | float, unit: str) -> np.ndarray | float:
    """Convert litres to a display volume unit (L, m3 or US gal)."""
    try:
        return volume_l / VOLUME_DISPLAY[unit]
    except KeyError:
        raise ValueError(f"unknown volume unit {unit!r}; use one of {sorted(VOLUME_DISPLAY)}") from None
