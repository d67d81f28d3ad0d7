"""The units and time zones users choose to see, and the conversions from the store's canonical units.

The store keeps litres and L/s; pages convert on the way out, in one place, so
that a chart, a table and a CSV of the same view agree.
"""

from __future__ import annotations

from data.units import US_GALLON_L

#: Volume units offered to users: litres per unit.
VOLUME_UNITS = {"L": 1.0, "m3": 1000.0, "US gal": US_GALLON_L}

#: Flow units offered to users: L/s per unit.
FLOW_UNITS = {"L/s": 1.0, "L/min": 1 / 60, "m3/h": 1000 / 3600}

DEFAULT_VOLUME_UNIT = "m3"
DEFAULT_FLOW_UNIT = "L/s"

#: Time zones offered besides each zone's own: UTC and the common ones.
TIME_ZONES = ["UTC", "Europe/Rome", "Europe/London", "Europe/Berlin", "America/New_York",
              "America/Chicago", "America/Los_Angeles", "Asia/Kolkata", "Australia/Sydney"]


def volume_factor(unit: str) -> float:
    """Multiply litres by this to get ``unit``; unknown units raise a clear error."""
    try:
        return 1.0 / VOLUME_UNITS[unit]
    except KeyError:
        raise ValueError(f"unknown volume unit {unit!r}: choose one of {', '.join(VOLUME_UNITS)}") from None


def flow_factor(unit: str) -> float:
    """Multiply L/s by this to get ``unit``."""
    try:
        return 1.0 / FLOW_UNITS[unit]
    except KeyError:
        raise ValueError(f"unknown flow unit {unit!r}: choose one of {', '.join(FLOW_UNITS)}") from None


def elapsed_text(seconds: float) -> str:
    """A duration as people say it: "40 s", "12 min", "5 h", "3 days"."""
    seconds = max(seconds, 0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def count_of(n: int, noun: str) -> str:
    """A count with its noun as people say it: "1 meter", "2 meters", "1,204 events"."""
    return f"{n:,} {noun if n == 1 else noun + 's'}"


def zone_label(name: str | None, zone_id: str) -> str:
    """A zone as users read it: "Colle (Z1)", or the id alone when the zone has no other name (an import's)."""
    return f"{name} ({zone_id})" if name and name != zone_id else zone_id
