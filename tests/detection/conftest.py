"""One store of constructed series shared by the detector tests: normal ones and one fault each."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.detection import series as s

DAY = pd.Timedelta(days=1)
SCAN_START = s.START + 28 * DAY
SCAN_END = s.START + s.DAYS * DAY
DRIP_FROM = s.START + 29 * DAY + pd.Timedelta(hours=10)
TOILET_FROM = s.START + 30 * DAY + pd.Timedelta(hours=10)
BURST_FROM = s.START + 31 * DAY + pd.Timedelta(hours=10)
NIGHT_LEAK_FROM = s.START + 30 * DAY
SILENT = (s.START + 31 * DAY + pd.Timedelta(hours=6), s.START + 31 * DAY + pd.Timedelta(hours=18))
GAP = (s.START + 32 * DAY + pd.Timedelta(hours=20), s.START + 33 * DAY + pd.Timedelta(hours=22))  # over a night
LOW_PRESSURE = (s.START + 31 * DAY + pd.Timedelta(hours=2), s.START + 31 * DAY + pd.Timedelta(hours=4))
STUCK = (s.START + 32 * DAY, s.START + 32 * DAY + pd.Timedelta(hours=6))
SPIKES = [s.START + 32 * DAY + pd.Timedelta(hours=h) for h in (1, 2.5, 3, 4.25, 5)]
DRIFT_FROM = s.START + 30 * DAY
ZONE_DROP_FROM = s.START + 30 * DAY + pd.Timedelta(hours=9)
HOT_FROM = s.START + 29 * DAY
PEER_LEAK_FROM = s.START + 30 * DAY + pd.Timedelta(hours=3)
#: Pressure sensors of one zone, nearest the inlet first: (head bar, friction bar per (L/s)^2).
PEER_SENSORS = {"PA": (4.6, 0.08), "PB": (4.2, 0.12), "PC": (3.8, 0.15), "PD": (3.4, 0.2), "PE": (3.0, 0.25)}


def _zone_pressures() -> list[pd.DataFrame]:
    """Z5: both pressure sensors fall together (a leak drawing on the zone); Z6: one falls alone (a drift)."""
    frames = []
    for zone, drops in (("Z5", {"PA": 0.1, "PB": 0.05}), ("Z6", {"PA": 0.1, "PB": 0.0})):
        flow = s.inlet_flow(seed=31 if zone == "Z5" else 32)
        for k, (name, drop) in enumerate(drops.items()):
            values = s.pressure(flow, seed=33 + k + (0 if zone == "Z5" else 2))
            values[values.index >= ZONE_DROP_FROM] -= drop
            frames.append(s.sensor_readings(f"{zone}-{name}", values, "pressure", "bar"))
    return frames


def _peer_pressures() -> list[pd.DataFrame]:
    """Five pressure sensors in each of Z12, Z13 and Z14, through a hot week that draws 15 % more water. Z12: a
    leak near PA (PB a little further) from ``PEER_LEAK_FROM``; Z13: nothing else; Z14: PA reads lower alone."""
    falls = {"Z12": {"PA": 0.05, "PB": 0.02, "PC": 0.005}, "Z13": {}, "Z14": {"PA": 0.05}}
    frames = []
    for z, (zone, fall) in enumerate(falls.items()):
        flow = s.inlet_flow(seed=51 + z)
        flow[flow.index >= HOT_FROM] *= 1.15
        rng = np.random.default_rng(61 + z)
        for name, (head, friction) in PEER_SENSORS.items():
            values = head - friction * flow ** 2 + rng.normal(0, 0.01, len(flow))
            values[values.index >= PEER_LEAK_FROM] -= fall.get(name, 0.0)
            frames.append(s.sensor_readings(f"{zone}-{name}", values, "pressure", "bar"))
    return frames


def _faulty_sensors() -> list[pd.DataFrame]:
    base = s.pressure(s.inlet_flow(seed=11), seed=12)
    low = base.copy()
    low[(low.index >= LOW_PRESSURE[0]) & (low.index < LOW_PRESSURE[1])] -= 1.5
    stuck = s.pressure(s.inlet_flow(seed=13), seed=14)
    frozen = (stuck.index >= STUCK[0]) & (stuck.index < STUCK[1])
    stuck[frozen] = stuck[frozen].iloc[0]
    spiky = s.pressure(s.inlet_flow(seed=15), seed=16)
    spiky[spiky.index.isin(SPIKES)] += 3.0
    level = 3.0 + 0.5 * np.sin(2 * np.pi * np.arange(s.DAYS * 96) / 96) + \
        np.random.default_rng(17).normal(0, 0.01, s.DAYS * 96)
    level = pd.Series(level, index=pd.date_range(s.START, periods=s.DAYS * 96, freq="15min"))
    drifting = level.index >= DRIFT_FROM
    level[drifting] += np.linspace(0, 1.0, int(drifting.sum()))
    return [s.sensor_readings("P-LOW", low, "pressure", "bar"), s.sensor_readings("P-STUCK", stuck, "pressure", "bar"),
            s.sensor_readings("P-SPIKE", spiky, "pressure", "bar"), s.sensor_readings("L-DRIFT", level, "level", "m")]


@pytest.fixture(scope="session")
def constructed_db(tmp_path_factory):
    return build_constructed(tmp_path_factory.mktemp("constructed") / "constructed.duckdb")


def build_constructed(path):
    silent = s.register_readings("H-SILENT", s.household_hourly(seed=4))
    silent = silent[(silent["ts"] < SILENT[0]) | (silent["ts"] >= SILENT[1])]
    gap = s.register_readings("H-GAP", s.household_hourly(seed=5))
    gap = gap[(gap["ts"] < GAP[0]) | (gap["ts"] >= GAP[1])]
    burst_flow = s.inlet_flow(seed=6, step_l_s=2.0, step_from=BURST_FROM)
    daily_toilet = s.register_readings("H-DAILY-TOILET", s.household_hourly(seed=3, leak_l_h=90.0, leak_from=TOILET_FROM))
    normal_flow = s.inlet_flow(seed=7)
    night_flow = s.inlet_flow(seed=8, step_l_s=0.3, step_from=NIGHT_LEAK_FROM, step_hours=24 * 10)
    leaky_flow = s.inlet_flow(seed=12, background_l_s=2.0)
    new_leak_flow = s.inlet_flow(seed=11, background_l_s=2.0, step_l_s=0.3, step_from=NIGHT_LEAK_FROM,
                                 step_hours=24 * 10)
    reversed_burst = -s.inlet_flow(seed=41, step_l_s=2.0, step_from=BURST_FROM)
    reversed_night = -s.inlet_flow(seed=42, step_l_s=0.3, step_from=NIGHT_LEAK_FROM, step_hours=24 * 10)
    frames = [
        s.register_readings("H-NORMAL", s.household_hourly(seed=1)),
        s.register_readings("H-DRIP", s.household_hourly(seed=2, leak_l_h=6.0, leak_from=DRIP_FROM)),
        s.register_readings("H-TOILET", s.household_hourly(seed=3, leak_l_h=90.0, leak_from=TOILET_FROM)),
        s.interval_readings("H-INTERVAL", s.household_hourly(seed=21)),
        s.interval_readings("H-INTERVAL-TOILET", s.household_hourly(seed=3, leak_l_h=90.0, leak_from=TOILET_FROM)),
        s.flow_readings("H-FLOW", s.household_hourly(seed=22)),
        s.flow_readings("H-FLOW-TOILET", s.household_hourly(seed=3, leak_l_h=90.0, leak_from=TOILET_FROM)),
        daily_toilet[daily_toilet["ts"].dt.hour == 0],
        silent,
        gap,
        s.sensor_readings("Z1-IN", burst_flow, "flow", "L/s"),
        s.sensor_readings("Z1-P", s.pressure(burst_flow, seed=9), "pressure", "bar"),
        s.sensor_readings("Z2-IN", normal_flow, "flow", "L/s"),
        s.sensor_readings("Z2-P", s.pressure(normal_flow, seed=10), "pressure", "bar"),
        s.sensor_readings("Z3-IN", night_flow, "flow", "L/s"),
        s.sensor_readings("Z7-IN", new_leak_flow, "flow", "L/s"),
        s.sensor_readings("Z8-IN", leaky_flow, "flow", "L/s"),
        s.sensor_readings("Z9-LINK", reversed_burst, "flow", "L/s"),
        s.sensor_readings("Z10-IN", reversed_night, "flow", "L/s"),
        s.sensor_readings("Z11-LINK", -s.inlet_flow(seed=43), "flow", "L/s"),
        *_faulty_sensors(),
        *_zone_pressures(),
        *_peer_pressures(),
    ]
    meters = s.meters_frame([("H-FLOW", None, "residential", "flow"), ("H-FLOW-TOILET", None, "residential", "flow"),
                             ("Z1-IN", "Z1", "inlet", "flow"), ("Z1-P", "Z1", "sensor", "pressure"),
                             ("Z2-IN", "Z2", "inlet", "flow"), ("Z2-P", "Z2", "sensor", "pressure"),
                             ("Z3-IN", "Z3", "inlet", "flow"), ("Z5-PA", "Z5", "sensor", "pressure"),
                             ("Z5-PB", "Z5", "sensor", "pressure"), ("Z6-PA", "Z6", "sensor", "pressure"),
                             ("Z6-PB", "Z6", "sensor", "pressure"), ("Z7-IN", "Z7", "inlet", "flow"),
                             ("Z8-IN", "Z8", "inlet", "flow"), ("Z9-LINK", "Z9", "sensor", "flow"),
                             ("Z10-IN", "Z10", "inlet", "flow"), ("Z11-LINK", "Z11", "sensor", "flow"),
                             *[(f"{z}-{p}", z, "sensor", "pressure") for z in ("Z12", "Z13", "Z14")
                               for p in PEER_SENSORS]])
    with s.store_with(path, *frames, meters=meters):
        pass
    return path


@pytest.fixture(scope="session")
def constructed_events(constructed_db):
    """Every detector over the last week of the constructed store (internal frame, with raised_at)."""
    import duckdb

    from detection.scan import scan_range

    with duckdb.connect(str(constructed_db), read_only=True) as conn:
        return scan_range(conn.cursor(), None, SCAN_START, SCAN_END, internal=True)
