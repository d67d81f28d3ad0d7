"""Running the city's hydraulics for a period with EPANET (through WNTR).

The simulator works in periods (a week of backfill, a day of live running):
each period's nodal demands go in as 15-minute patterns, the tank levels and the
pump and float-valve states the previous period ended with go in as initial
conditions, and events that act on the network (a throttled zone valve, a
booster that will not run) go in as timed controls. EPANET returns pressures,
flows, delivered demands and tank levels at every step, and the state at the
period's end for the next one.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import wntr
from wntr.network import LinkStatus, controls

from sim.network import STEP_S, CityNetwork

EVENT_CONTROL_PREFIX = "EVENT-"


@dataclass(frozen=True)
class HydraulicState:
    """What one period hands to the next: tank levels and which switched links are open."""

    tank_levels_m: Mapping[str, float]
    link_open: Mapping[str, bool]


@dataclass(frozen=True)
class ValveThrottle:
    """A zone valve partly closed (minor loss coefficient ``setting``) from ``start_s`` to ``end_s``."""

    valve: str
    start_s: float
    end_s: float
    setting: float


@dataclass(frozen=True)
class PumpOutage:
    """A pump that cannot run from ``start_s`` to ``end_s`` (seconds from the period's start)."""

    pump: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class HydraulicResult:
    """Values at the start of each 15-minute step of the period (index: step number)."""

    pressure_m: pd.DataFrame      # every node; tanks: water level
    flow_l_s: pd.DataFrame        # every link, signed in the link's direction
    demand_l_s: pd.DataFrame      # demand delivered at each node
    link_open: pd.DataFrame       # pumps and float valves: 1 open, 0 closed
    state: HydraulicState         # at the end of the period


def initial_state(network: CityNetwork) -> HydraulicState:
    wn = network.wn
    return HydraulicState(
        {t: float(wn.get_node(t).init_level) for t in network.tanks},
        {name: wn.get_link(name).initial_status == LinkStatus.Open for name in network.switched_links},
    )


class HydraulicModel:
    """One WNTR model, re-run period after period with new demands, state and events."""

    def __init__(self, network: CityNetwork):
        self.network = network
        self._workdir = Path(tempfile.mkdtemp(prefix="waterline-sim-"))
        self._event_controls: list[str] = []

    def close(self) -> None:
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __del__(self) -> None:  # a model left to the garbage collector still cleans up
        self.close()

    def run(
        self,
        demand_l_s: np.ndarray,
        state: HydraulicState,
        throttles: Sequence[ValveThrottle] = (),
        outages: Sequence[PumpOutage] = (),
    ) -> HydraulicResult:
        """Simulate ``len(demand_l_s)`` steps; ``demand_l_s`` is steps x `network.demand_junctions`."""
        wn = self.network.wn
        steps = demand_l_s.shape[0]
        for column, name in enumerate(self.network.demand_junctions):
            values = demand_l_s[:, column]
            wn.get_pattern(f"{name}-Q").multipliers = np.append(values, values[-1]).tolist()
        for tank, level in state.tank_levels_m.items():
            node = wn.get_node(tank)
            node.init_level = float(np.clip(level, node.min_level, node.max_level))
        for name, is_open in state.link_open.items():
            wn.get_link(name).initial_status = LinkStatus.Open if is_open else LinkStatus.Closed
        duration = steps * STEP_S
        self._set_events(throttles, outages, duration)
        wn.options.time.duration = duration
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=str(self._workdir / "period"))
        return self._read(results, steps)

    def _set_events(self, throttles: Sequence[ValveThrottle], outages: Sequence[PumpOutage], duration: float) -> None:
        wn = self.network.wn
        for name in self._event_controls:
            wn.remove_control(name)
        self._event_controls = []
        for zone in self.network.zones.values():
            wn.get_link(zone.valve).initial_setting = 0.0

        def add(name: str, control: controls.ControlBase) -> None:
            wn.add_control(name, control)
            self._event_controls.append(name)

        for k, t in enumerate(sorted(throttles, key=lambda t: t.start_s)):
            valve = wn.get_link(t.valve)
            if t.start_s <= 0:
                valve.initial_setting = t.setting
            else:
                add(f"{EVENT_CONTROL_PREFIX}{k}-ON", controls.Control(
                    controls.SimTimeCondition(wn, "=", t.start_s), controls.ControlAction(valve, "setting", t.setting)))
            if t.end_s < duration:
                add(f"{EVENT_CONTROL_PREFIX}{k}-OFF", controls.Control(
                    controls.SimTimeCondition(wn, "=", max(t.end_s, STEP_S)),
                    controls.ControlAction(valve, "setting", 0.0)))
        for k, o in enumerate(outages):
            pump = wn.get_link(o.pump)
            during: controls.ControlCondition = controls.SimTimeCondition(wn, ">=", max(o.start_s, 0.0))
            if o.end_s < duration:
                during = controls.AndCondition(during, controls.SimTimeCondition(wn, "<", o.end_s))
            add(f"{EVENT_CONTROL_PREFIX}OUT{k}", controls.Rule(
                during, [controls.ControlAction(pump, "status", 0)], priority=5))
            if o.start_s <= 0:
                pump.initial_status = LinkStatus.Closed

    def _read(self, results: wntr.sim.SimulationResults, steps: int) -> HydraulicResult:
        node, link = results.node, results.link
        if len(node["pressure"]) < steps + 1:
            raise RuntimeError(f"EPANET stopped after {len(node['pressure'])} of {steps + 1} reports")
        pressure = node["pressure"].reset_index(drop=True)
        status = link["status"][list(self.network.switched_links)].reset_index(drop=True)
        end = pressure.iloc[steps]
        state = HydraulicState(
            {t: float(end[t]) for t in self.network.tanks},
            {name: bool(status[name].iat[steps] > 0) for name in self.network.switched_links},
        )
        return HydraulicResult(
            pressure_m=pressure.iloc[:steps],
            flow_l_s=link["flowrate"].reset_index(drop=True).iloc[:steps] * 1000.0,
            demand_l_s=node["demand"].reset_index(drop=True).iloc[:steps] * 1000.0,
            link_open=(status.iloc[:steps] > 0).astype("int8"),
            state=state,
        )
