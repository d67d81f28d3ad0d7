"""One simulated period of the whole city: weather, use, events, hydraulics, meters, readings.

`CitySimulation` holds what does not change (the city, its model, its
customers) and `run` advances a `SimState` over a window of 15-minute steps:

1. weather and the local calendar shape every customer's expected use, and
   the day's draws give the actual use;
2. customer-side leaks add to it; the sum per ring node plus distribution
   leaks is each node's demand;
3. EPANET solves the network over the period (booster, break tank, tanks,
   throttled valves, pump outages) and reports what each node actually got:
   where pressure fell too low, customers get less, and their meters show it;
4. registers advance, sensors read the hydraulics with noise and faults, and
   `sim.delivery` turns it all into readings as devices would send them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim import effects
from sim.city import DEFAULT_CITY, M_HEAD_TO_BAR
from sim.config import SimConfig
from sim.delivery import Vocabulary, by_arrival, customer_readings, sensor_readings
from sim.demand import draw_use_l, expected_use_l, local_calendar, weather_response
from sim.events import EventTargets, schedule_events
from sim.hydraulics import HydraulicModel, HydraulicResult, HydraulicState, initial_state
from sim.network import STEP_S, build_network
from sim.population import build_population
from sim.rng import Stream, day_number, day_rng
from sim.weather import WeatherSeries, read_weather_file, weather_for

STEP = np.timedelta64(STEP_S, "s")
DAY = np.timedelta64(86400, "s")
WEATHER_LEAD_STEPS = 2 * 96     # rain of the previous two days matters for gardens


@dataclass
class SimState:
    """Where the city stands at ``time`` (the start of the next step to simulate)."""

    time: np.datetime64
    registers_l: np.ndarray     # each customer's true register, litres
    seq: np.ndarray             # each customer meter's transmission counter
    hydraulics: HydraulicState
    sensor_seq: np.ndarray      # each sensor series' transmission counter
    held: dict[str, float] = field(default_factory=dict)   # stuck sensor values by event id


@dataclass(frozen=True)
class Period:
    """A simulated window: the truth and the readings that report it."""

    times: np.ndarray                 # step starts, datetime64[s] UTC
    use_l: np.ndarray                 # steps x customers, litres delivered in each step
    registers_l: np.ndarray           # steps x customers, register at each step's end
    node_demand_l_s: np.ndarray       # steps x ring nodes, requested (customers + leaks)
    leak_l_s: np.ndarray              # steps x ring nodes, distribution leaks
    hydraulics: HydraulicResult
    sensor_truth: np.ndarray          # steps x sensors
    sensor_reported: np.ndarray       # steps x sensors, NaN where nothing was reported
    weather: WeatherSeries
    events: pd.DataFrame
    readings: pd.DataFrame            # validate_frame's input, by arrival


def floor_step(when: np.datetime64 | pd.Timestamp | str) -> np.datetime64:
    t = pd.Timestamp(when)
    t = t.tz_convert("UTC").tz_localize(None) if t.tzinfo else t
    return np.datetime64(t.floor("15min").to_datetime64(), "s")


class CitySimulation:
    """The city for one seed and config; `run` simulates windows of it."""

    def __init__(self, seed: int = 0, config: SimConfig = SimConfig()):
        self.seed = seed
        self.config = config
        self.city = config.city.apply(DEFAULT_CITY)
        self.network = build_network(self.city)
        self.model = HydraulicModel(self.network)
        self.population = build_population(self.city, self.network, seed)
        self.customers = self.population.customers
        self.sensors = self.population.sensors
        self.meter_index = pd.Series(np.arange(len(self.customers)), index=self.customers["meter_id"].to_numpy())
        junctions = self.network.demand_junctions
        self.node_of_customer = self.customers["junction_idx"].to_numpy()
        self._customer_to_node = np.zeros((len(self.customers), len(junctions)))
        self._customer_to_node[np.arange(len(self.customers)), self.node_of_customer] = 1.0
        self._emitter_l_s = np.array([self.network.wn.get_node(j).emitter_coefficient * 1000 for j in junctions])
        self.observed_weather = read_weather_file(config.weather_file) if config.weather_file else None
        offset = pd.Timestamp("2021-01-15", tz=self.city.tz).utcoffset()
        self._utc_offset_h = offset.total_seconds() / 3600 if offset is not None else 0.0
        self.vocabulary = Vocabulary.of(self.customers, self.sensors)
        self._never_negative = self.sensors["kind"].isin(["flow", "rainfall", "pressure", "level"]).to_numpy()
        self.targets = self._event_targets()
        self.nominal_inflow_l_s = self._nominal_inflow()

    def close(self) -> None:
        self.model.close()

    def _event_targets(self) -> EventTargets:
        c, s = self.customers, self.sensors
        nodes = pd.DataFrame({"asset": self.network.demand_junctions,
                              "zone_id": [j.split("-")[0] for j in self.network.demand_junctions]})
        indoor = c["profile"].isin(["household", "shop", "restaurant", "building"])
        garden = (c["outdoor_share"] > 0) | (c["profile"] == "irrigation")
        customers = pd.DataFrame({"asset": c["meter_id"], "zone_id": c["zone_id"], "indoor": indoor, "garden": garden})
        network_sensors = s[(s["category"] != "weather") & (s["kind"] != "pump_state")]  # a run state has no faults
        sensors = pd.DataFrame({"asset": network_sensors["meter_id"], "zone_id": network_sensors["zone_id"],
                                "quantity": network_sensors["quantity"], "network": True})
        boosters = pd.DataFrame([{"asset": z.supply_asset, "zone_id": z.zone_id} for z in self.city.zones
                                 if z.supply == "booster_tank"], columns=["asset", "zone_id"])
        gateways = c[["gateway", "zone_id"]].drop_duplicates().rename(columns={"gateway": "asset"})
        valves = pd.DataFrame({"asset": [z.valve for z in self.network.zones.values()],
                               "zone_id": list(self.network.zones)})
        return EventTargets(nodes, valves, customers, sensors.reset_index(drop=True), boosters, gateways)

    def _nominal_inflow(self) -> dict[str, float]:
        use = self.customers.groupby("zone_id")["base_l_day"].sum() / 86400
        return {z.zone_id: float(use.get(z.zone_id, 0.0)) + z.background_leakage_l_s for z in self.city.zones}

    def schedule(self, start: np.datetime64, end: np.datetime64) -> pd.DataFrame:
        """The events (labels) open at some time in [start, end)."""
        return schedule_events(self.targets, self.config.events, start, end, self.seed)

    def initial_state(self, start: np.datetime64) -> SimState:
        return SimState(floor_step(start), self.customers["initial_register_l"].to_numpy(dtype=float).copy(),
                        np.zeros(len(self.customers), dtype="int64"), initial_state(self.network),
                        np.zeros(len(self.sensors), dtype="int64"))

    def run(self, state: SimState, end: np.datetime64, events: pd.DataFrame) -> tuple[Period, SimState]:
        """Simulate from ``state.time`` to ``end`` (exclusive) with ``events`` in force."""
        start = state.time
        times = np.arange(start, floor_step(end), STEP)
        if len(times) == 0:
            raise ValueError("empty period")
        first_day = start.astype("datetime64[D]").astype("datetime64[s]")
        whole = np.arange(first_day, (times[-1] + DAY).astype("datetime64[D]").astype("datetime64[s]"), STEP)
        offset = int((start - first_day) // STEP)
        rows = slice(offset, offset + len(times))
        window = effects.Window(times)
        events = effects.in_window(events, window)

        weather = weather_for(np.arange(first_day - 2 * DAY, whole[-1] + STEP, STEP), self.seed,
                              self.observed_weather, self.config.climate, self._utc_offset_h)
        heat, dryness, warmth = weather_response(weather, slice(WEATHER_LEAD_STEPS, None))
        calendar = local_calendar(whole, self.city.tz, self.city.holiday_country)
        expected = expected_use_l(self.customers, calendar, heat, dryness, warmth)
        use = draw_use_l(expected, self.customers, day_number(first_day), self.seed)[rows]
        use = use + effects.customer_leak_flows(events, window, self.meter_index) * STEP_S

        leaks = effects.zone_leak_flows(events, window, self.network.demand_junctions)
        node_demand = use @ self._customer_to_node / STEP_S + leaks
        hydraulics = self.model.run(
            node_demand, state.hydraulics,
            effects.valve_throttles(events, window, self.network, self.nominal_inflow_l_s),
            effects.pump_outages(events, window))
        use = use * self._delivered_share(hydraulics, node_demand)[:, self.node_of_customer]
        registers = _advance_registers(state.registers_l, use, effects.meter_swaps(events, window, self.meter_index))

        here = slice(WEATHER_LEAD_STEPS + offset, WEATHER_LEAD_STEPS + offset + len(times))
        station = WeatherSeries(times, weather.air_temperature_c[here], weather.rainfall_mm[here])
        truth = self._sensor_truth(hydraulics, station)
        rng = day_rng(self.seed, Stream.SENSORS, day_number(start), offset)
        held = dict(state.held)
        reported = effects.apply_sensor_faults(self._with_noise(truth, rng), events, window,
                                               self.sensors["meter_id"].to_numpy(dtype=object), rng, held)
        reported[:, self._never_negative] = np.maximum(reported[:, self._never_negative], 0.0)
        delivery_rng = day_rng(self.seed, Stream.DELIVERY, day_number(start), offset)
        customer_frame, seq = customer_readings(
            times, registers, self.customers, effects.silent(events, window, self.meter_index),
            events[events["kind"] == "gateway_outage"], state.seq, self.config.delivery, delivery_rng,
            self.vocabulary)
        sensor_frame, sensor_seq = sensor_readings(times, reported, self.sensors, state.sensor_seq,
                                                   self.config.delivery, delivery_rng, self.vocabulary)
        period = Period(times, use, registers, node_demand, leaks, hydraulics, truth, reported, station, events,
                        by_arrival(customer_frame, sensor_frame))
        sizes = self.customers["register_size_l"].to_numpy()
        new_state = SimState(times[-1] + STEP, np.mod(registers[-1], sizes), seq, hydraulics.state, sensor_seq, held)
        return period, new_state

    def _delivered_share(self, hydraulics: HydraulicResult, requested_l_s: np.ndarray) -> np.ndarray:
        """Share of each ring node's demand EPANET could deliver (pressure-driven), steps x nodes."""
        junctions = self.network.demand_junctions
        pressure = hydraulics.pressure_m[junctions].to_numpy()
        emitted = self._emitter_l_s[None, :] * np.sqrt(np.maximum(pressure, 0.0))
        delivered = hydraulics.demand_l_s[junctions].to_numpy() - emitted
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(requested_l_s > 1e-9, delivered / requested_l_s, 1.0)
        share = np.clip(share, 0.0, 1.0)
        return np.where(share > 0.995, 1.0, share)

    def _sensor_truth(self, hydraulics: HydraulicResult, station: WeatherSeries) -> np.ndarray:
        columns = []
        for s in self.sensors.itertuples():
            if s.kind == "flow":
                columns.append(np.abs(hydraulics.flow_l_s[s.element].to_numpy()))
            elif s.kind == "pressure":
                columns.append(hydraulics.pressure_m[s.element].to_numpy() * M_HEAD_TO_BAR)
            elif s.kind == "level":
                columns.append(hydraulics.pressure_m[s.element].to_numpy())
            elif s.kind == "pump_state":
                columns.append(hydraulics.link_open[s.element].to_numpy(dtype=float))
            elif s.kind == "air_temperature":
                columns.append(station.air_temperature_c)
            else:
                columns.append(station.rainfall_mm)
        return np.stack(columns, axis=1)

    def _with_noise(self, truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        sd = self.sensors["noise_sd"].to_numpy() * self.config.sensor_noise
        noisy = truth + rng.normal(0.0, 1.0, truth.shape) * sd[None, :]
        is_flow = (self.sensors["kind"] == "flow").to_numpy()
        noisy[:, is_flow] *= 1.0 + rng.normal(0.0, 0.005 * self.config.sensor_noise, (len(truth), int(is_flow.sum())))
        noisy[:, self._never_negative] = np.maximum(noisy[:, self._never_negative], 0.0)
        return noisy


def _advance_registers(start_l: np.ndarray, use_l: np.ndarray, swaps: list[tuple[int, int, float]]) -> np.ndarray:
    """Registers at each step's end; a swapped meter restarts from its new index at its step."""
    registers = start_l[None, :] + np.cumsum(use_l, axis=0)
    for step, meter, new_index in swaps:
        registers[step:, meter] = new_index + np.cumsum(use_l[step:, meter])
    return registers

