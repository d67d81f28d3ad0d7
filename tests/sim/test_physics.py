"""The hydraulics behave as a water engineer expects: hydrostatics, headloss with demand, bursts,
throttled valves, the booster's pressure switch, tanks that rise and fall, a booster failure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.city import M_HEAD_TO_BAR
from tests.sim.conftest import JULY, event, simulate

BAR = M_HEAD_TO_BAR


def _bar(period, node: str) -> np.ndarray:
    return period.hydraulics.pressure_m[node].to_numpy() * BAR


def _inflow(period, simulation, zone: str) -> np.ndarray:
    return np.abs(period.hydraulics.flow_l_s[simulation.network.zones[zone].inlet_link].to_numpy())


def test_pressure_falls_with_elevation_by_the_hydrostatic_head_at_night(quiet_week):
    simulation, period = quiet_week
    quietest = int(np.argmin(period.node_demand_l_s.sum(axis=1)))
    wn = simulation.network.wn
    for zone, layout in simulation.network.zones.items():
        rise_m = wn.get_node(layout.critical_node).elevation - wn.get_node(layout.inlet_node).elevation
        p1 = _bar(period, layout.inlet_node)[quietest]
        p2 = _bar(period, layout.critical_node)[quietest]
        assert rise_m > 0 and p2 < p1, zone
        assert abs((p1 - p2) - rise_m * BAR) < 0.05, f"{zone}: {p1 - p2:.3f} bar for {rise_m} m"


def test_pressure_falls_as_demand_rises(quiet_week):
    simulation, period = quiet_week
    for zone in ("Z2", "Z3", "Z4"):  # Z1 floats on its tank: the tank level dominates there
        critical = _bar(period, simulation.network.zones[zone].critical_node)
        assert np.corrcoef(_inflow(period, simulation, zone), critical)[0, 1] < -0.8, zone
    hour = pd.DatetimeIndex(period.times).tz_localize("UTC").tz_convert("Europe/Rome").hour.to_numpy()
    z2 = _bar(period, simulation.network.zones["Z2"].critical_node)
    assert z2[hour == 8].mean() < z2[hour == 3].mean() - 0.1   # morning peak vs small hours


def test_zone_pressures_are_those_of_a_municipal_network(quiet_week):
    simulation, period = quiet_week
    for zone, layout in simulation.network.zones.items():
        for node in (layout.inlet_node, layout.critical_node):
            assert 1.2 < _bar(period, node).min() and _bar(period, node).max() < 6.5, (zone, node)


def test_a_burst_raises_zone_inflow_and_lowers_its_pressure():
    burst = event("burst", "Z2-J3", "Z2", "2025-07-08T10:00:00", hours=6, magnitude=4.0, unit="L/s")
    simulation, base = simulate(days=2)
    _, burst_period = simulate(events=burst, days=2)
    during = (base.times >= np.datetime64("2025-07-08T10:00:00")) & (base.times < np.datetime64("2025-07-08T16:00:00"))
    extra = _inflow(burst_period, simulation, "Z2") - _inflow(base, simulation, "Z2")
    assert np.allclose(extra[during], 4.0, atol=0.1)
    assert np.allclose(extra[~during], 0.0, atol=0.02)
    drop = _bar(base, "Z2-J3") - _bar(burst_period, "Z2-J3")
    assert drop[during].min() > 0.3
    for zone in ("Z3", "Z4"):
        other = _bar(base, f"{zone}-J3") - _bar(burst_period, f"{zone}-J3")
        assert np.abs(other).max() < 0.05, zone


def test_a_throttled_zone_valve_drops_pressure_by_about_the_labelled_amount():
    drop = event("pressure_drop", "Z2-VALVE", "Z2", "2025-07-08T09:00:00", hours=4, magnitude=0.8, unit="bar")
    simulation, base = simulate(days=2)
    _, throttled = simulate(events=drop, days=2)
    during = (base.times >= np.datetime64("2025-07-08T09:00:00")) & (base.times < np.datetime64("2025-07-08T13:00:00"))
    fall = _bar(base, "Z2-J1") - _bar(throttled, "Z2-J1")
    flow_share = (_inflow(base, simulation, "Z2")[during] / simulation.nominal_inflow_l_s["Z2"]) ** 2
    assert np.allclose(fall[during], 0.8 * flow_share, rtol=0.3, atol=0.05)   # a valve loses k v^2 / 2g
    assert np.abs(fall[~during]).max() < 0.01


def test_the_booster_starts_only_below_its_set_point_and_fills_the_tank(quiet_week):
    simulation, period = quiet_week
    booster = simulation.city.booster("B1")
    running = period.hydraulics.link_open["B1"].to_numpy().astype(bool)
    delivery = _bar(period, "B1-OUT")
    starts = np.flatnonzero(running[1:] & ~running[:-1]) + 1
    assert len(starts) >= 3                       # about daily in July
    assert (delivery[starts - 1] <= booster.start_bar + 0.01).all()
    assert (delivery[~running] >= booster.start_bar - 0.02).all()   # never left off below the set point
    assert (delivery[running] <= booster.stop_bar + 0.05).all()
    level = period.hydraulics.pressure_m["T1"].to_numpy()
    assert level.max() - level.min() > 2.5        # the storage tank rises and falls
    assert (np.diff(level)[running[1:] & running[:-1]] > 0).all()


def test_the_break_tank_level_stays_between_its_float_valve_levels(quiet_week):
    simulation, period = quiet_week
    tank = simulation.city.tank("BT1")
    level = period.hydraulics.pressure_m["BT1"].to_numpy()
    assert level.min() > tank.fill_on_level_m - 0.3 and level.max() < tank.fill_off_level_m + 0.3
    assert period.hydraulics.link_open["BT1-FILL"].nunique() == 2


def test_a_booster_failure_drains_the_tank_and_lowers_the_elevated_zone_pressure():
    failure = event("booster_failure", "B1", "Z1", "2025-07-07T06:00:00", hours=20)
    simulation, period = simulate(events=failure, days=2)
    during = ((period.times >= np.datetime64("2025-07-07T06:00:00"))
              & (period.times < np.datetime64("2025-07-08T02:00:00")))
    assert not period.hydraulics.link_open["B1"].to_numpy()[during].any()
    level = period.hydraulics.pressure_m["T1"].to_numpy()[during]
    assert (np.diff(level) <= 1e-6).all() and level[0] - level[-1] > 1.0
    p2 = _bar(period, "Z1-J3")[during]
    assert p2[-1] < p2[0] - 0.1
    after = period.times >= np.datetime64("2025-07-08T03:00:00")
    assert period.hydraulics.link_open["B1"].to_numpy()[after].any()      # and restarts when repaired


def test_customers_get_less_water_when_the_pressure_is_gone():
    failure = event("booster_failure", "B1", "Z1", "2025-07-07T00:00:00", hours=48)
    simulation, period = simulate(events=failure, days=2)
    _, base = simulate(days=2)
    z1 = (simulation.customers["zone_id"] == "Z1").to_numpy()
    assert period.hydraulics.pressure_m["T1"].min() <= simulation.city.tank("T1").min_level_m + 0.01
    assert period.use_l[:, z1].sum() < 0.9 * base.use_l[:, z1].sum()
    assert np.allclose(period.use_l[:, ~z1], base.use_l[:, ~z1])


def test_zone_inflow_is_customer_use_plus_leakage(quiet_week):
    simulation, period = quiet_week
    for zone in ("Z2", "Z3", "Z4"):  # Z1's inflow passes through its tank first
        customers = (simulation.customers["zone_id"] == zone).to_numpy()
        used_l = period.use_l[:, customers].sum()
        inflow_l = _inflow(period, simulation, zone).sum() * 900
        leakage = (inflow_l - used_l) / inflow_l
        assert 0.01 < leakage < 0.15, f"{zone}: {leakage:.1%} of inflow unbilled"
    assert JULY == period.times[0]
