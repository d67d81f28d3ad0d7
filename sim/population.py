"""Who is metered in the city: customers with their habits, and the network's sensors.

Customers are drawn once per seed from the zone table: each gets a demand
profile (household, shop, restaurant, two-shift or continuous plant, municipal
building or park irrigation), a typical daily volume, a personal shift of the
daily rhythm, a weekend habit, a garden (or none), a summer holiday, and a
meter: reporting every 15 minutes or every hour, in litres or m3, with a
register size (small registers roll over) and a starting index.
Sensors follow from the network: per zone an inlet flow meter and pressure
sensors at the inlet and the critical point; a level sensor per tank (its
operating range in the meter's attrs); a run-state sensor per booster pump; the
booster's delivery pressure; the weather station.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.city import CATEGORIES, CitySpec
from sim.network import RING_WEIGHTS, CityNetwork
from sim.rng import Stream, stream_rng

PROFILE_MIX: dict[str, dict[str, float]] = {
    "residential": {"household": 1.0},
    "commercial": {"shop": 0.7, "restaurant": 0.3},
    "industrial": {"two_shift": 0.6, "continuous": 0.4},
    "municipal": {"building": 0.6, "irrigation": 0.4},
}
PROFILES = tuple(p for mix in PROFILE_MIX.values() for p in mix)
#: median litres per day and lognormal spread; irrigation: on a hot dry day
BASE_DAILY_L: dict[str, tuple[float, float]] = {
    "household": (300.0, 0.45), "shop": (500.0, 0.6), "restaurant": (2500.0, 0.5),
    "two_shift": (20_000.0, 0.7), "continuous": (35_000.0, 0.6),
    "building": (2500.0, 0.6), "irrigation": (6000.0, 0.5),
}
CATEGORY_LETTER = {"residential": "R", "commercial": "C", "industrial": "I", "municipal": "M"}
QUARTER_HOURLY_SHARE = {"residential": 0.1, "commercial": 0.5, "industrial": 1.0, "municipal": 0.5}
M3_UNIT_SHARE = {"residential": 0.15, "commercial": 0.4, "industrial": 0.6, "municipal": 0.3}
SMALL_REGISTER_L = 1e6     # a six-digit litre register: wraps every 1000 m3
LARGE_REGISTER_L = 1e8
SMALL_REGISTER_RESIDENTIAL_SHARE = 0.03
SENSOR_GATEWAY = "SCADA-1"


@dataclass(frozen=True)
class Population:
    """The customer meters and sensors of a city (frames indexed 0..n-1)."""

    customers: pd.DataFrame
    sensors: pd.DataFrame

    @property
    def meter_ids(self) -> np.ndarray:
        return self.customers["meter_id"].to_numpy(dtype=object)


def build_population(city: CitySpec, network: CityNetwork, seed: int) -> Population:
    rng = stream_rng(seed, Stream.CITY)
    return Population(_customers(city, network, rng), _sensors(city, network))


def _count(n: int, scale: float) -> int:
    return max(1, int(round(n * scale))) if n > 0 else 0


def _customers(city: CitySpec, network: CityNetwork, rng: np.random.Generator) -> pd.DataFrame:
    rows: list[dict] = []
    junction_index = {name: i for i, name in enumerate(network.demand_junctions)}
    for zone in city.zones:
        layout = network.zones[zone.zone_id]
        for category in CATEGORIES:
            n = _count(zone.customers.get(category, 0), city.customer_scale)
            mix = PROFILE_MIX[category]
            profiles = rng.choice(list(mix), size=n, p=list(mix.values()))
            ring_node = rng.choice(len(layout.junctions), size=n, p=RING_WEIGHTS)
            for k in range(n):
                rows.append({
                    "meter_id": f"{zone.zone_id}-{CATEGORY_LETTER[category]}-{k + 1:04d}",
                    "zone_id": zone.zone_id,
                    "category": category,
                    "profile": str(profiles[k]),
                    "junction": layout.junctions[ring_node[k]],
                    "gateway": f"GW-{zone.zone_id}",
                })
    frame = pd.DataFrame(rows)
    n = len(frame)
    frame["junction_idx"] = frame["junction"].map(junction_index).astype(int)
    frame["profile_idx"] = frame["profile"].map({p: i for i, p in enumerate(PROFILES)}).astype(int)
    median = frame["profile"].map(lambda p: BASE_DAILY_L[p][0]).to_numpy()
    spread = frame["profile"].map(lambda p: BASE_DAILY_L[p][1]).to_numpy()
    frame["base_l_day"] = median * np.exp(rng.normal(0.0, 1.0, n) * spread)
    frame["shift_steps"] = rng.integers(-4, 5, n)                       # +-1 h on the daily rhythm
    frame["weekend_factor"] = rng.uniform(0.85, 1.25, n)
    has_garden = (frame["category"] == "residential").to_numpy() & (rng.random(n) < 0.4)
    frame["outdoor_share"] = np.where(has_garden, rng.uniform(0.05, 0.4, n), 0.0)
    takes_holiday = (frame["category"] == "residential").to_numpy() & (rng.random(n) < 0.45)
    frame["holiday_start_doy"] = np.where(takes_holiday, rng.integers(182, 236, n), -1)   # July-August
    frame["holiday_days"] = np.where(takes_holiday, rng.integers(7, 22, n), 0)

    category = frame["category"].to_numpy()
    share = frame["category"].map(QUARTER_HOURLY_SHARE).to_numpy() if city.quarter_hourly_share is None \
        else np.full(n, city.quarter_hourly_share)
    quarter = rng.random(n) < share
    frame["interval_s"] = np.where(quarter, 900, 3600)
    frame["unit"] = np.where(rng.random(n) < frame["category"].map(M3_UNIT_SHARE).to_numpy(), "m3", "L")
    old_module = (category == "residential") & (rng.random(n) < SMALL_REGISTER_RESIDENTIAL_SHARE)
    small = (category == "industrial") | old_module
    frame["register_size_l"] = np.where(small, SMALL_REGISTER_L, LARGE_REGISTER_L)
    years_of_use = frame["base_l_day"].to_numpy() * 365 * rng.uniform(0.5, 15, n)
    near_top = SMALL_REGISTER_L - frame["base_l_day"].to_numpy() * rng.uniform(5, 60, n)
    frame["initial_register_l"] = np.floor(np.where(
        small, np.where(category == "industrial", rng.uniform(0, SMALL_REGISTER_L, n), np.maximum(near_top, 0)),
        years_of_use % LARGE_REGISTER_L))
    return frame


def _sensors(city: CitySpec, network: CityNetwork) -> pd.DataFrame:
    rows: list[dict] = []

    def sensor(meter_id: str, zone_id: str | None, category: str, quantity: str, unit: str,
               element: str, kind: str, noise_sd: float, resolution: float, **attrs: float) -> None:
        rows.append({"meter_id": meter_id, "zone_id": zone_id, "category": category, "quantity": quantity,
                     "unit": unit, "element": element, "kind": kind, "noise_sd": noise_sd,
                     "resolution": resolution, "gateway": SENSOR_GATEWAY, "attrs": attrs})

    for zone in city.zones:
        layout = network.zones[zone.zone_id]
        z = zone.zone_id
        sensor(f"{z}-INLET", z, "inlet", "flow", "L/s", layout.inlet_link, "flow", 0.01, 0.01)
        sensor(f"{z}-P1", z, "sensor", "pressure", "bar", layout.inlet_node, "pressure", 0.004, 0.001)
        sensor(f"{z}-P2", z, "sensor", "pressure", "bar", layout.critical_node, "pressure", 0.004, 0.001)
        if zone.supply in ("booster_tank", "break_tank"):
            booster = city.booster(zone.supply_asset or "") if zone.supply == "booster_tank" else None
            tank = booster.tank_id if booster else zone.supply_asset or ""
            spec = city.tank(tank)
            sensor(f"{tank}-LEVEL", z, "sensor", "level", "m", tank, "level", 0.005, 0.01,
                   low_level_m=spec.min_level_m, high_level_m=spec.max_level_m)
            if booster:
                sensor(f"{booster.pump_id}-P", z, "sensor", "pressure", "bar", network.pump_delivery_nodes[
                    booster.pump_id], "pressure", 0.004, 0.001)
                sensor(f"{booster.pump_id}-STATE", z, "sensor", "pump_state", "state", booster.pump_id,
                       "pump_state", 0.0, 1.0, pump=booster.pump_id)
    station = city.weather_station
    rows.append({"meter_id": station, "zone_id": None, "category": "weather", "quantity": "air_temperature",
                 "unit": "degC", "element": "", "kind": "air_temperature", "noise_sd": 0.1, "resolution": 0.1,
                 "gateway": station, "attrs": {}})
    rows.append({"meter_id": station, "zone_id": None, "category": "weather", "quantity": "rainfall",
                 "unit": "mm", "element": "", "kind": "rainfall", "noise_sd": 0.0, "resolution": 0.1,
                 "gateway": station, "attrs": {}})
    return pd.DataFrame(rows)


def zones_frame(city: CitySpec) -> pd.DataFrame:
    """Zones for `Store.register_zones`."""
    return pd.DataFrame({
        "zone_id": [z.zone_id for z in city.zones],
        "name": [z.name for z in city.zones],
        "kind": [z.kind for z in city.zones],
        "tz": city.tz,
        "attrs": [json.dumps({"supply": z.supply, "supply_asset": z.supply_asset, "simulated": True,
                              "inlet_elevation_m": z.inlet_elevation_m,
                              "critical_elevation_m": z.critical_elevation_m}) for z in city.zones],
    })


def meters_frame(city: CitySpec, population: Population) -> pd.DataFrame:
    """Customer meters and sensors for `Store.register_meters`."""
    from data.schema import MAX_FLOW_BY_CATEGORY

    c = population.customers
    customers = pd.DataFrame({
        "meter_id": c["meter_id"], "zone_id": c["zone_id"], "category": c["category"], "quantity": "volume",
        "unit": c["unit"], "register_size_l": c["register_size_l"],
        "max_flow_l_s": c["category"].map(MAX_FLOW_BY_CATEGORY).astype(float), "tz": city.tz,
        "weather_station": city.weather_station,
        "attrs": [json.dumps({"profile": p, "simulated": True}) for p in c["profile"]],
    })
    s = population.sensors.drop_duplicates("meter_id")
    sensors = pd.DataFrame({
        "meter_id": s["meter_id"], "zone_id": s["zone_id"], "category": s["category"], "quantity": s["quantity"],
        "unit": s["unit"], "max_flow_l_s": np.where(s["category"] == "inlet", MAX_FLOW_BY_CATEGORY["inlet"], np.nan),
        "tz": city.tz, "attrs": [json.dumps({"simulated": True, **a}) for a in s["attrs"]],
    })
    return pd.concat([customers, sensors], ignore_index=True)
