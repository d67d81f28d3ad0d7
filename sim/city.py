"""The demo city as data: its source, storage, booster and pressure zones.

A water engineer reads this file as the system's asset register: one gravity
source, a trunk main, and a table of pressure zones, each saying how it is
supplied (by gravity, through a PRV, from a break tank, or boosted into a
storage tank), its ground elevations and how many customers of each kind it
serves. `sim.network` turns the table into a hydraulic model and
`sim.population` into customer meters and sensors, so adding a zone is adding
a row (docs/SIMULATOR.md, "Adding a zone").

Elevations are metres above sea level; heads are metres of water; pressures
users see are bar (1 m of head = 0.0980665 bar).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

M_HEAD_TO_BAR = 0.0980665

Supply = Literal["gravity", "prv", "break_tank", "booster_tank"]
CATEGORIES = ("residential", "commercial", "industrial", "municipal")


@dataclass(frozen=True)
class TankSpec:
    """An open tank: a break tank or a service reservoir floating on a zone."""

    tank_id: str
    elevation_m: float          # floor of the tank
    diameter_m: float
    min_level_m: float
    max_level_m: float
    init_level_m: float
    fill_on_level_m: float | None = None    # break tank float valve: opens below this level
    fill_off_level_m: float | None = None   # and closes above this one


@dataclass(frozen=True)
class BoosterSpec:
    """A booster pump switched by the pressure on its delivery side.

    It starts when the delivery pressure falls below ``start_bar`` (the tank it
    fills is drawing down) and stops above ``stop_bar``. The curve is three
    (flow L/s, head m) points: shut-off, duty, run-out.
    """

    pump_id: str
    tank_id: str                # the service reservoir it fills
    elevation_m: float
    start_bar: float
    stop_bar: float
    curve: tuple[tuple[float, float], ...] = ((0.0, 26.0), (8.0, 18.0), (14.0, 8.0))
    rising_main_length_m: float = 1200.0
    rising_main_diameter_mm: float = 200.0


@dataclass(frozen=True)
class ZoneSpec:
    """One pressure zone (district metered area): supply, ground, pipes, customers."""

    zone_id: str
    name: str
    kind: str                         # elevated, mid-level, low-lying, industrial
    supply: Supply
    inlet_elevation_m: float          # where the zone's inlet main arrives (pressure sensor P1)
    critical_elevation_m: float       # the zone's critical point (pressure sensor P2)
    customers: Mapping[str, int]      # category -> number of metered customers
    main_length_m: float = 1000.0     # inlet main from the supply to the zone
    main_diameter_mm: float = 100.0
    ring_length_m: float = 350.0      # each pipe of the zone's distribution ring
    ring_diameter_mm: float = 100.0
    roughness_hw: float = 110.0       # Hazen-Williams C of the zone's pipes
    background_leakage_l_s: float = 0.1   # spread over the ring's nodes, at 40 m of pressure
    supply_asset: str | None = None   # tank, break tank or booster id the supply uses
    prv_setting_bar: float | None = None  # supply "prv": pressure kept below the valve


@dataclass(frozen=True)
class CitySpec:
    """The whole demo city. `DEFAULT_CITY` is the one the demo and the tests use."""

    name: str
    tz: str
    holiday_country: str
    source_id: str
    source_head_m: float              # water level of the gravity reservoir
    trunk_length_m: float
    trunk_diameter_mm: float
    trunk_elevation_m: float          # the trunk node every zone's supply starts from
    zones: tuple[ZoneSpec, ...]
    tanks: tuple[TankSpec, ...]
    boosters: tuple[BoosterSpec, ...]
    customer_scale: float = 1.0       # multiply every zone's customer counts
    weather_station: str = "WX-1"
    quarter_hourly_share: float | None = None  # every category's share of 15-min meters (None: per category)

    def zone(self, zone_id: str) -> ZoneSpec:
        return next(z for z in self.zones if z.zone_id == zone_id)

    def tank(self, tank_id: str) -> TankSpec:
        return next(t for t in self.tanks if t.tank_id == tank_id)

    def booster(self, pump_id: str) -> BoosterSpec:
        return next(b for b in self.boosters if b.pump_id == pump_id)

    def scaled(self, factor: float) -> CitySpec:
        """The same city with ``factor`` times as many customers (tests use small cities)."""
        return replace(self, customer_scale=self.customer_scale * factor)


DEFAULT_ZONES: tuple[ZoneSpec, ...] = (
    ZoneSpec(
        zone_id="Z1", name="Colle", kind="elevated", supply="booster_tank", supply_asset="B1",
        inlet_elevation_m=124.0, critical_elevation_m=137.0,
        customers={"residential": 100, "commercial": 6, "municipal": 3},
        main_length_m=600.0, main_diameter_mm=100.0, ring_diameter_mm=80.0,
        background_leakage_l_s=0.05,
    ),
    ZoneSpec(
        zone_id="Z2", name="Centro", kind="mid-level", supply="gravity",
        inlet_elevation_m=95.0, critical_elevation_m=108.0,
        customers={"residential": 190, "commercial": 30, "municipal": 6},
        main_length_m=1200.0, main_diameter_mm=100.0, ring_diameter_mm=100.0,
        background_leakage_l_s=0.12,
    ),
    ZoneSpec(
        zone_id="Z3", name="Borgo Basso", kind="low-lying", supply="break_tank", supply_asset="BT1",
        inlet_elevation_m=46.0, critical_elevation_m=58.0,
        customers={"residential": 140, "commercial": 10, "municipal": 4},
        main_length_m=2000.0, main_diameter_mm=100.0, ring_diameter_mm=80.0,
        background_leakage_l_s=0.1,
    ),
    ZoneSpec(
        zone_id="Z4", name="Zona Industriale", kind="industrial", supply="prv", prv_setting_bar=4.7,
        inlet_elevation_m=72.0, critical_elevation_m=78.0,
        customers={"industrial": 15, "commercial": 8, "municipal": 2},
        main_length_m=1000.0, main_diameter_mm=150.0, ring_diameter_mm=150.0,
        background_leakage_l_s=0.15,
    ),
)

DEFAULT_CITY = CitySpec(
    name="Valdora",
    tz="Europe/Rome",
    holiday_country="IT",
    source_id="R1",
    source_head_m=145.0,
    trunk_length_m=2500.0,
    trunk_diameter_mm=300.0,
    trunk_elevation_m=100.0,
    zones=DEFAULT_ZONES,
    tanks=(
        TankSpec("T1", elevation_m=152.0, diameter_m=5.5, min_level_m=0.3, max_level_m=6.0, init_level_m=3.5),
        TankSpec("BT1", elevation_m=90.0, diameter_m=8.0, min_level_m=0.3, max_level_m=3.6, init_level_m=3.0,
                 fill_on_level_m=2.6, fill_off_level_m=3.3),
    ),
    boosters=(BoosterSpec("B1", tank_id="T1", elevation_m=100.0, start_bar=5.30, stop_bar=5.72),),
)


@dataclass(frozen=True)
class CityOptions:
    """What a deployment may change without editing the table: time zone, holidays, size."""

    tz: str | None = None
    holiday_country: str | None = None
    customer_scale: float = 1.0
    extra_zones: tuple[ZoneSpec, ...] = field(default=())
    quarter_hourly_share: float | None = None

    def apply(self, spec: CitySpec = DEFAULT_CITY) -> CitySpec:
        return replace(
            spec,
            tz=self.tz or spec.tz,
            holiday_country=self.holiday_country or spec.holiday_country,
            customer_scale=spec.customer_scale * self.customer_scale,
            zones=spec.zones + self.extra_zones,
            quarter_hourly_share=self.quarter_hourly_share if self.quarter_hourly_share is not None
            else spec.quarter_hourly_share,
        )
