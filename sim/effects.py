"""What scheduled events do to a simulated period.

Distribution leaks become extra demand at a ring node (the hydraulics then move
the zone's inflow and pressures), customer-side leaks extra use through the
customer's meter, pressure drops a throttled zone valve, booster failures a
pump outage; sensor faults change what a sensor reports (not the physics);
silent meters stop reporting; meter swaps restart a register.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from sim.city import M_HEAD_TO_BAR
from sim.hydraulics import PumpOutage, ValveThrottle
from sim.network import STEP_S, CityNetwork

GRAVITY = 9.80665
INCIPIENT_START_SHARE = 0.1
SPIKE_SHARE = 0.1


@dataclass(frozen=True)
class Window:
    """Steps of a period: ``times`` are the step starts (datetime64[s], UTC)."""

    times: np.ndarray

    @property
    def steps(self) -> int:
        return len(self.times)

    def span(self, start: np.datetime64, end: np.datetime64) -> tuple[int, int]:
        """Step indices [a, b) of steps starting in [start, end)."""
        return (int(np.searchsorted(self.times, np.datetime64(start, "s"))),
                int(np.searchsorted(self.times, np.datetime64(end, "s"))))

    def seconds(self, when: np.datetime64) -> float:
        return float((np.datetime64(when, "s") - self.times[0]).astype(int))


def in_window(events: pd.DataFrame, window: Window) -> pd.DataFrame:
    """The events that touch the window (a backfill's schedule spans many periods)."""
    start = window.times[0]
    end = window.times[-1] + np.timedelta64(STEP_S, "s")
    first, last = events["start"].to_numpy(dtype="datetime64[s]"), events["end"].to_numpy(dtype="datetime64[s]")
    return events[(first < end) & ((last > start) | ((last == first) & (first >= start)))]


class _Event(NamedTuple):
    event_id: str
    kind: str
    asset: str
    zone_id: str | None
    start: np.datetime64
    end: np.datetime64
    magnitude: float


def _of_kind(events: pd.DataFrame, *kinds: str) -> list[_Event]:
    """Events of ``kinds``, by start, with numpy times (for arithmetic with step times)."""
    chosen = events[events["kind"].isin(kinds)].sort_values("start", kind="stable")
    return [_Event(*row) for row in zip(
        chosen["event_id"], chosen["kind"], chosen["asset"], chosen["zone_id"],
        chosen["start"].to_numpy(dtype="datetime64[s]"), chosen["end"].to_numpy(dtype="datetime64[s]"),
        chosen["magnitude"].to_numpy(dtype=float))]


def zone_leak_flows(events: pd.DataFrame, window: Window, junctions: list[str]) -> np.ndarray:
    """Leak flow (L/s) at each ring node, steps x junctions."""
    flows = np.zeros((window.steps, len(junctions)))
    column = {j: i for i, j in enumerate(junctions)}
    for e in _of_kind(events, "background_leak", "incipient_leak", "burst"):
        a, b = window.span(e.start, e.end)
        if a >= b or e.asset not in column:
            continue
        if e.kind == "incipient_leak":
            total = max((e.end - e.start) / np.timedelta64(1, "s"), STEP_S)
            elapsed = (window.times[a:b] - e.start) / np.timedelta64(1, "s")
            share = INCIPIENT_START_SHARE + (1 - INCIPIENT_START_SHARE) * np.clip(elapsed / total, 0, 1)
            flows[a:b, column[e.asset]] += e.magnitude * share
        else:
            flows[a:b, column[e.asset]] += e.magnitude
    return flows


def customer_leak_flows(events: pd.DataFrame, window: Window, meter_index: pd.Series) -> np.ndarray:
    """Leak flow (L/s) through each customer meter, steps x customers."""
    flows = np.zeros((window.steps, len(meter_index)))
    for e in _of_kind(events, "running_toilet", "dripping_tap", "irrigation_left_on"):
        a, b = window.span(e.start, e.end)
        if a < b and e.asset in meter_index.index:
            flows[a:b, meter_index[e.asset]] += e.magnitude
    return flows


def valve_throttles(events: pd.DataFrame, window: Window, network: CityNetwork,
                    nominal_inflow_l_s: dict[str, float]) -> list[ValveThrottle]:
    """Pressure drops as zone valve minor-loss coefficients: a drop of h at the zone's mean inflow."""
    throttles = []
    for e in _of_kind(events, "pressure_drop"):
        a, b = window.span(e.start, e.end)
        if a >= b or e.zone_id not in network.zones:
            continue
        layout = network.zones[e.zone_id]
        area = np.pi * layout.main_diameter_m ** 2 / 4
        velocity = max(nominal_inflow_l_s.get(e.zone_id, 1.0), 0.1) / 1000 / area
        head_m = e.magnitude / M_HEAD_TO_BAR
        setting = 2 * GRAVITY * head_m / velocity ** 2
        throttles.append(ValveThrottle(layout.valve, window.seconds(e.start), window.seconds(e.end), setting))
    return throttles


def pump_outages(events: pd.DataFrame, window: Window) -> list[PumpOutage]:
    outages = []
    for e in _of_kind(events, "booster_failure"):
        a, b = window.span(e.start, e.end)
        if a < b:
            outages.append(PumpOutage(e.asset, window.seconds(e.start), window.seconds(e.end)))
    return outages


def meter_swaps(events: pd.DataFrame, window: Window, meter_index: pd.Series) -> list[tuple[int, int, float]]:
    """(step, customer, new register) of swaps in the window: the new meter counts from that step."""
    swaps = []
    for e in _of_kind(events, "meter_swap"):
        a, _ = window.span(e.start, e.start)
        if window.times[0] <= e.start <= window.times[-1] and e.asset in meter_index.index:
            swaps.append((a, int(meter_index[e.asset]), float(e.magnitude)))
    return swaps


def silent(events: pd.DataFrame, window: Window, meter_index: pd.Series) -> np.ndarray:
    """True where a customer meter is silent, steps x customers."""
    mask = np.zeros((window.steps, len(meter_index)), dtype=bool)
    for e in _of_kind(events, "silent_meter"):
        a, b = window.span(e.start, e.end)
        if a < b and e.asset in meter_index.index:
            mask[a:b, meter_index[e.asset]] = True
    return mask


def apply_sensor_faults(values: np.ndarray, events: pd.DataFrame, window: Window, sensor_ids: np.ndarray,
                        rng: np.random.Generator, held: dict[str, float]) -> np.ndarray:
    """What faulty sensors report instead of the truth (NaN: no reading), steps x sensors.

    ``held`` keeps the value each stuck sensor froze at, by event id, across periods.
    """
    reported = values.copy()
    column = pd.Series(range(len(sensor_ids)), index=sensor_ids)
    faults = _of_kind(events, "sensor_stuck", "sensor_drift", "sensor_spikes", "sensor_dropout")
    for e in faults:
        if e.asset not in column.index:
            continue
        col = int(column[e.asset])
        a, b = window.span(e.start, e.end)
        if a >= b:
            continue
        if e.kind == "sensor_stuck":
            if e.event_id not in held:
                held[e.event_id] = _value_at(values[:, col], window, e.start)
            reported[a:b, col] = held[e.event_id]
        elif e.kind == "sensor_drift":
            total = max((e.end - e.start) / np.timedelta64(1, "s"), STEP_S)
            elapsed = (window.times[a:b] - e.start) / np.timedelta64(1, "s")
            reported[a:b, col] += e.magnitude * elapsed / total
        elif e.kind == "sensor_spikes":
            spikes = rng.random(b - a) < SPIKE_SHARE
            spikes[int(rng.integers(b - a))] = True    # a fault that shows nothing would be a false label
            size = e.magnitude * rng.uniform(0.5, 1.0, b - a) * rng.choice([-1.0, 1.0], b - a)
            reported[a:b, col] = np.where(spikes, np.maximum(reported[a:b, col] + size, 0.0), reported[a:b, col])
        else:
            reported[a:b, col] = np.nan
    return reported


def _value_at(series: np.ndarray, window: Window, when: np.datetime64) -> float:
    """The value a sensor showed when it stuck (the first step of the window if it stuck earlier)."""
    step = int(np.clip(np.searchsorted(window.times, np.datetime64(when, "s")), 0, len(series) - 1))
    return float(series[step])
