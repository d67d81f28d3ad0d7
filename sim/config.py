"""Everything a simulation run can be told, in one frozen object.

The seed is separate: the same config and seed give the same city, readings and
labels. Defaults are the demo city with demo event rates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.city import CityOptions
from sim.delivery import DeliveryConfig
from sim.events import EventConfig
from sim.weather import Climate


@dataclass(frozen=True)
class SimConfig:
    city: CityOptions = field(default_factory=CityOptions)
    events: EventConfig = field(default_factory=EventConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    climate: Climate = field(default_factory=Climate)
    weather_file: str | None = None      # CSV: ts, air_temperature (degC), rainfall (mm per row)
    sensor_noise: float = 1.0            # multiplier of every sensor's noise
    period_days: int = 7                 # hydraulic periods of a backfill
