"""Every injected event is labelled, and every label matches what was injected."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.store import Store
from sim.backfill import backfill_into_store
from sim.config import SimConfig
from sim.engine import CitySimulation
from sim.events import DEFAULT_EVENT_KINDS, EventConfig
from sim.labels import read_labels
from tests.sim.conftest import JULY, QUIET, SMALL, event, simulate, with_kinds

HOUR = np.timedelta64(3600, "s")


def _readings_of(period, meter: str) -> pd.DataFrame:
    return period.readings[period.readings["meter_id"].astype(str) == meter]


def _sensor_column(simulation: CitySimulation, meter: str) -> int:
    return int(np.flatnonzero(simulation.sensors["meter_id"].to_numpy() == meter)[0])


def test_default_rates_keep_a_few_events_open_at_any_time():
    simulation = CitySimulation(0)
    start = np.datetime64("2025-01-01T00:00:00")
    events = simulation.schedule(start, start + 365 * 24 * HOUR)
    assert set(events["kind"]) == {k.kind for k in DEFAULT_EVENT_KINDS}
    noon = start + 12 * HOUR + np.arange(365) * 24 * HOUR
    open_now = [((events["start"] <= t) & (events["end"] > t)).sum() for t in noon]
    assert 2 <= np.median(open_now) <= 15 and min(open_now) >= 1
    assert events["event_id"].is_unique


def test_backfill_writes_the_schedule_to_the_labels_table_once():
    config = SMALL
    with Store(":memory:") as store:
        report = backfill_into_store(store, 3, end="2025-07-10T00:00:00", seed=4, config=config)
        labels = read_labels(store.cursor())
        again = backfill_into_store(store, 3, end="2025-07-10T00:00:00", seed=4, config=config)
        assert len(read_labels(store.cursor())) == len(labels)
    simulation = CitySimulation(4, config)
    expected = simulation.schedule(np.datetime64("2025-07-07T00:00:00"), np.datetime64("2025-07-10T00:00:00"))
    assert report.events == len(labels) == len(expected) > 0 and again.readings == 0
    got = labels.set_index("event_id").sort_index()
    want = expected.set_index("event_id").sort_index()
    assert list(got.index) == list(want.index)
    assert (got["kind"] == want["kind"]).all() and (got["asset"] == want["asset"]).all()
    assert np.allclose(got["magnitude"].astype(float), want["magnitude"].astype(float), equal_nan=True)
    assert (pd.to_datetime(got["start"]) == pd.to_datetime(want["start"])).all()


@pytest.mark.parametrize("kind, magnitude", [("running_toilet", 0.02), ("dripping_tap", 0.002),
                                             ("irrigation_left_on", 0.2)])
def test_a_customer_leak_adds_exactly_its_flow_to_the_meter(kind, magnitude):
    leak = event(kind, "Z2-R-0007", "Z2", "2025-07-07T05:00:00", hours=30, magnitude=magnitude, unit="L/s")
    simulation, base = simulate(days=2)
    _, leaking = simulate(events=leak, days=2)
    meter = int(simulation.meter_index["Z2-R-0007"])
    extra = leaking.use_l[:, meter] - base.use_l[:, meter]
    assert extra.sum() == pytest.approx(magnitude * 30 * 3600, rel=1e-6)
    assert np.allclose(np.delete(leaking.use_l, meter, axis=1), np.delete(base.use_l, meter, axis=1))


def test_a_silent_meter_sends_nothing_and_its_register_catches_up_afterwards():
    silence = event("silent_meter", "Z3-R-0003", "Z3", "2025-07-07T06:00:00", hours=20)
    simulation, period = simulate(events=silence, days=2)
    readings = _readings_of(period, "Z3-R-0003")
    ts = readings["ts"].dt.tz_localize(None).to_numpy()
    assert not ((ts > np.datetime64("2025-07-07T06:00:00")) & (ts <= np.datetime64("2025-07-08T02:00:00"))).any()
    after = readings[ts > np.datetime64("2025-07-08T02:00:00")].sort_values("ts")
    before = readings[ts <= np.datetime64("2025-07-07T06:00:00")].sort_values("ts")
    meter = int(simulation.meter_index["Z3-R-0003"])
    resumed = np.datetime64(after["ts"].iloc[0].tz_localize(None))
    steps = (period.times > np.datetime64("2025-07-07T05:45:00")) & (period.times < resumed)
    jump = after["value"].iloc[0] - before["value"].iloc[-1]
    scale = 1000.0 if simulation.customers.loc[meter, "unit"] == "m3" else 1.0
    assert jump * scale == pytest.approx(period.use_l[steps, meter].sum(), abs=2.0)


def test_sensor_faults_change_what_the_sensor_reports_not_the_network():
    start = "2025-07-07T06:00:00"
    faults = pd.concat([
        event("sensor_stuck", "Z2-P1", "Z2", start, hours=10),
        event("sensor_dropout", "Z3-INLET", "Z3", start, hours=10),
        event("sensor_drift", "Z4-P2", "Z4", start, hours=10, magnitude=-0.4, unit="bar"),
        event("sensor_spikes", "T1-LEVEL", "Z1", start, hours=10, magnitude=2.0, unit="m"),
    ], ignore_index=True)
    simulation, period = simulate(events=faults, days=1)
    _, base = simulate(days=1)
    during = (period.times >= np.datetime64(start)) & (period.times < np.datetime64("2025-07-07T16:00:00"))
    reported, truth = period.sensor_reported, period.sensor_truth
    stuck = reported[during, _sensor_column(simulation, "Z2-P1")]
    assert np.ptp(stuck) == 0 and np.ptp(truth[during, _sensor_column(simulation, "Z2-P1")]) > 0.05
    assert np.isnan(reported[during, _sensor_column(simulation, "Z3-INLET")]).all()
    assert not _readings_of(period, "Z3-INLET")["ts"].dt.tz_localize(None).between(
        pd.Timestamp(start), pd.Timestamp("2025-07-07T15:45:00")).any()
    drift = reported[during, _sensor_column(simulation, "Z4-P2")] - truth[during, _sensor_column(simulation, "Z4-P2")]
    assert drift[-1] == pytest.approx(-0.4, abs=0.05) and abs(drift[0]) < 0.05
    level = _sensor_column(simulation, "T1-LEVEL")
    spikes = np.abs(reported[during, level] - truth[during, level])
    assert (spikes > 0.5).sum() >= 1 and np.median(spikes) < 0.05
    assert np.allclose(truth, base.sensor_truth)


def test_a_meter_swap_restarts_the_register_and_the_store_counts_no_false_volume():
    config = with_kinds(SMALL, "meter_swap", multiplier=400)
    with Store(":memory:") as store:
        backfill_into_store(store, 2, end="2025-07-09T00:00:00", seed=2, config=config)
        cur = store.cursor()
        swaps = read_labels(cur)
        assert len(swaps) >= 1
        swap = swaps.iloc[0]
        resets = cur.execute("SELECT count(*) FROM consumption WHERE meter_id = ? AND flags & 32 > 0",
                             [swap["asset"]]).fetchall()[0][0]
        biggest = cur.execute("SELECT max(volume_l) FROM consumption WHERE meter_id = ?",
                              [swap["asset"]]).fetchall()[0][0]
        first_after = cur.execute("SELECT value FROM readings WHERE meter_id = ? AND ts > ? ORDER BY ts LIMIT 1",
                                  [swap["asset"], swap["start"]]).fetchall()[0][0]
    assert resets == 1
    assert biggest < 2000                      # no jump from the old index to the new one
    assert first_after < swap["magnitude"] + 2000


def test_a_gateway_outage_delivers_its_meters_late_and_in_order():
    outage = event("gateway_outage", "GW-Z2", "Z2", "2025-07-07T08:00:00", hours=3)
    simulation, period = simulate(events=outage, days=1)
    readings = period.readings
    z2 = readings["source"].astype(str) == "GW-Z2"
    ts = readings["ts"].dt.tz_localize(None)
    held = z2 & (ts >= pd.Timestamp("2025-07-07T08:00:00")) & (ts < pd.Timestamp("2025-07-07T11:00:00"))
    back = pd.Timestamp("2025-07-07T11:00:00", tz="UTC")
    assert held.sum() > 100
    late = readings.loc[held, "received_at"]
    assert (late >= back).all() and (late <= back + pd.Timedelta(minutes=5) + pd.Timedelta(hours=6)).all()
    others = ~z2 & (ts >= pd.Timestamp("2025-07-07T08:00:00")) & (ts < pd.Timestamp("2025-07-07T11:00:00"))
    assert (readings.loc[others, "received_at"] - readings.loc[others, "ts"]).median() < pd.Timedelta(minutes=2)


def test_anomaly_and_quiet_configs_scale_the_number_of_events():
    start = np.datetime64("2025-03-01T00:00:00")
    end = start + 30 * 24 * HOUR
    normal = CitySimulation(1).schedule(start, end)
    many = CitySimulation(1, SimConfig(events=EventConfig(rate_multiplier=10))).schedule(start, end)
    assert len(many) > 5 * len(normal)
    assert CitySimulation(1, QUIET).schedule(start, end).empty
    assert JULY > start
