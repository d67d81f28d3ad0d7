"""The city's hydraulic model: a WNTR network built from the zone table.

Every zone gets the same shape — a supply (one of four kinds), a throttle valve
at the zone boundary, an inlet main with the zone's flow meter, and a ring of
five demand nodes whose first node is the inlet pressure point (P1) and whose
third is the critical point (P2). Background leakage is an EPANET emitter on
each ring node, so it rises at night when pressure does. The booster and the
break tank are switched by EPANET rules, so the engine, not Python, decides
when they run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import wntr
from wntr.network import controls

from sim.city import M_HEAD_TO_BAR, CitySpec, ZoneSpec

TRUNK = "TRUNK"
RING_SIZE = 5
RING_WEIGHTS = (0.15, 0.25, 0.2, 0.25, 0.15)      # share of the zone's customers per ring node
RING_ELEVATION_SHARE = (0.0, 0.5, 1.0, 0.6, 0.25)  # from inlet (0) to critical point (1)
CRITICAL_NODE = 3
NOMINAL_PRESSURE_M = 40.0
REQUIRED_PRESSURE_M = 10.0     # below this, pressure-driven demand is no longer fully met
STEP_S = 900


@dataclass(frozen=True)
class ZoneLayout:
    """Where a zone's assets sit in the model."""

    zone_id: str
    junctions: tuple[str, ...]
    inlet_link: str        # the inlet main: the zone inlet flow meter
    valve: str             # throttle control valve at the zone boundary
    inlet_node: str        # pressure sensor P1
    critical_node: str     # pressure sensor P2
    main_diameter_m: float


@dataclass
class CityNetwork:
    """A WNTR model of the city and the names the simulator reads and writes."""

    wn: wntr.network.WaterNetworkModel
    zones: dict[str, ZoneLayout]
    tanks: tuple[str, ...]
    pump_delivery_nodes: dict[str, str]     # pump -> node whose pressure switches it
    switched_links: tuple[str, ...]         # links whose open/closed status carries over chunks

    @property
    def demand_junctions(self) -> list[str]:
        return [j for zone in self.zones.values() for j in zone.junctions]


def _pipe(wn: wntr.network.WaterNetworkModel, name: str, a: str, b: str, length_m: float,
          diameter_mm: float, roughness: float = 110.0) -> None:
    wn.add_pipe(name, a, b, length=length_m, diameter=diameter_mm / 1000, roughness=roughness)


def _gravity_supply(wn: wntr.network.WaterNetworkModel, city: CitySpec, zone: ZoneSpec) -> str:
    return TRUNK


def _prv_supply(wn: wntr.network.WaterNetworkModel, city: CitySpec, zone: ZoneSpec) -> str:
    node = f"{zone.zone_id}-PRV-OUT"
    wn.add_junction(node, elevation=zone.inlet_elevation_m)
    setting_m = (zone.prv_setting_bar or 4.0) / M_HEAD_TO_BAR
    wn.add_valve(f"{zone.zone_id}-PRV", TRUNK, node, diameter=zone.main_diameter_mm / 1000,
                 valve_type="PRV", initial_setting=setting_m)
    return node


def _tank_outlet(wn: wntr.network.WaterNetworkModel, zone: ZoneSpec, tank_id: str, elevation_m: float) -> str:
    node = f"{zone.zone_id}-SUPPLY"
    wn.add_junction(node, elevation=elevation_m)
    _pipe(wn, f"{zone.zone_id}-OUTLET", tank_id, node, 10.0, zone.main_diameter_mm * 1.5, 120.0)
    return node


def _add_tank(wn: wntr.network.WaterNetworkModel, city: CitySpec, tank_id: str) -> None:
    t = city.tank(tank_id)
    wn.add_tank(t.tank_id, elevation=t.elevation_m, init_level=t.init_level_m, min_level=t.min_level_m,
                max_level=t.max_level_m, diameter=t.diameter_m)


def _break_tank_supply(wn: wntr.network.WaterNetworkModel, city: CitySpec, zone: ZoneSpec) -> str:
    tank = city.tank(zone.supply_asset or "")
    _add_tank(wn, city, tank.tank_id)
    fill = f"{tank.tank_id}-FILL"
    _pipe(wn, fill, TRUNK, tank.tank_id, 1500.0, 150.0, 120.0)
    link, node = wn.get_link(fill), wn.get_node(tank.tank_id)
    on, off = tank.fill_on_level_m or tank.max_level_m - 1.0, tank.fill_off_level_m or tank.max_level_m - 0.3
    wn.add_control(f"{fill}-OPEN", controls.Rule(
        controls.ValueCondition(node, "level", "<", on), [controls.ControlAction(link, "status", 1)], priority=3))
    wn.add_control(f"{fill}-CLOSE", controls.Rule(
        controls.ValueCondition(node, "level", ">", off), [controls.ControlAction(link, "status", 0)], priority=3))
    return _tank_outlet(wn, zone, tank.tank_id, tank.elevation_m)


def _booster_tank_supply(wn: wntr.network.WaterNetworkModel, city: CitySpec, zone: ZoneSpec) -> str:
    pump = city.booster(zone.supply_asset or "")
    tank = city.tank(pump.tank_id)
    _add_tank(wn, city, tank.tank_id)
    suction, delivery = f"{pump.pump_id}-IN", f"{pump.pump_id}-OUT"
    wn.add_junction(suction, elevation=pump.elevation_m)
    wn.add_junction(delivery, elevation=pump.elevation_m)
    _pipe(wn, f"{pump.pump_id}-SUCTION", TRUNK, suction, 50.0, pump.rising_main_diameter_mm, 120.0)
    wn.add_curve(f"{pump.pump_id}-CURVE", "HEAD", [(q / 1000, h) for q, h in pump.curve])
    wn.add_pump(pump.pump_id, suction, delivery, "HEAD", f"{pump.pump_id}-CURVE", initial_status="CLOSED")
    _pipe(wn, f"{pump.pump_id}-RISING", delivery, tank.tank_id, pump.rising_main_length_m,
          pump.rising_main_diameter_mm, 120.0)
    link, node = wn.get_link(pump.pump_id), wn.get_node(delivery)
    wn.add_control(f"{pump.pump_id}-START", controls.Rule(
        controls.ValueCondition(node, "pressure", "<", pump.start_bar / M_HEAD_TO_BAR),
        [controls.ControlAction(link, "status", 1)], priority=3))
    wn.add_control(f"{pump.pump_id}-STOP", controls.Rule(
        controls.ValueCondition(node, "pressure", ">", pump.stop_bar / M_HEAD_TO_BAR),
        [controls.ControlAction(link, "status", 0)], priority=3))
    return _tank_outlet(wn, zone, tank.tank_id, tank.elevation_m)


SUPPLY_BUILDERS: dict[str, Callable[[wntr.network.WaterNetworkModel, CitySpec, ZoneSpec], str]] = {
    "gravity": _gravity_supply,
    "prv": _prv_supply,
    "break_tank": _break_tank_supply,
    "booster_tank": _booster_tank_supply,
}


def _add_zone(wn: wntr.network.WaterNetworkModel, city: CitySpec, zone: ZoneSpec) -> ZoneLayout:
    z = zone.zone_id
    upstream = SUPPLY_BUILDERS[zone.supply](wn, city, zone)
    valve_out = f"{z}-VALVE-OUT"
    wn.add_junction(valve_out, elevation=wn.get_node(upstream).elevation)
    wn.add_valve(f"{z}-VALVE", upstream, valve_out, diameter=zone.main_diameter_mm / 1000, valve_type="TCV",
                 initial_setting=0.0)
    rise = zone.critical_elevation_m - zone.inlet_elevation_m
    junctions = tuple(f"{z}-J{k + 1}" for k in range(RING_SIZE))
    emitter = zone.background_leakage_l_s / 1000 / RING_SIZE / NOMINAL_PRESSURE_M ** 0.5
    for name, share in zip(junctions, RING_ELEVATION_SHARE):
        wn.add_junction(name, base_demand=0.0, elevation=zone.inlet_elevation_m + share * rise)
        wn.get_node(name).emitter_coefficient = emitter
        wn.add_pattern(f"{name}-Q", [0.0])
        wn.get_node(name).demand_timeseries_list[0].base_value = 0.001  # pattern values are L/s
        wn.get_node(name).demand_timeseries_list[0].pattern_name = f"{name}-Q"
    _pipe(wn, f"{z}-MAIN", valve_out, junctions[0], zone.main_length_m, zone.main_diameter_mm, zone.roughness_hw)
    for k in range(RING_SIZE):
        a, b = junctions[k], junctions[(k + 1) % RING_SIZE]
        _pipe(wn, f"{z}-RING{k + 1}", a, b, zone.ring_length_m, zone.ring_diameter_mm, zone.roughness_hw)
    return ZoneLayout(z, junctions, f"{z}-MAIN", f"{z}-VALVE", junctions[0], junctions[CRITICAL_NODE - 1],
                      zone.main_diameter_mm / 1000)


def build_network(city: CitySpec) -> CityNetwork:
    """A fresh WNTR model of ``city`` (15-minute steps, pressure-driven demand)."""
    wn = wntr.network.WaterNetworkModel()
    options = wn.options
    options.hydraulic.inpfile_units = "LPS"
    options.hydraulic.demand_model = "PDD"
    options.hydraulic.required_pressure = REQUIRED_PRESSURE_M
    options.hydraulic.minimum_pressure = 0.0
    options.hydraulic.unbalanced = "CONTINUE"
    options.hydraulic.unbalanced_value = 10
    options.time.hydraulic_timestep = STEP_S
    options.time.pattern_timestep = STEP_S
    options.time.report_timestep = STEP_S
    options.time.rule_timestep = 300
    options.quality.parameter = "NONE"

    wn.add_reservoir(city.source_id, base_head=city.source_head_m)
    wn.add_junction(TRUNK, elevation=city.trunk_elevation_m)
    _pipe(wn, "TRUNK-MAIN", city.source_id, TRUNK, city.trunk_length_m, city.trunk_diameter_mm, 120.0)
    zones = {zone.zone_id: _add_zone(wn, city, zone) for zone in city.zones}
    tanks = tuple(wn.tank_name_list)
    pumps = {b.pump_id: f"{b.pump_id}-OUT" for b in city.boosters if b.pump_id in wn.pump_name_list}
    fills = tuple(f"{t}-FILL" for t in tanks if f"{t}-FILL" in wn.link_name_list)
    return CityNetwork(wn, zones, tanks, pumps, tuple(pumps) + fills)
