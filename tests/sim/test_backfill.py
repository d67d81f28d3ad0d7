"""Backfill through the real store: every litre the city used is the litre the store counts,
through rollovers, lost and late readings; history resumes where it ends."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.quality import Flag
from data.store import Store
from sim.backfill import backfill_simulation, bench_backfill
from sim.engine import CitySimulation
from tests.sim.conftest import SMALL

END = "2025-07-10T00:00:00"


@pytest.fixture(scope="module")
def backfilled():
    """Three July days of a small city, one meter set to roll over, in a store; and the city's truth."""
    simulation = CitySimulation(21, SMALL)
    rolling = int(np.flatnonzero(simulation.customers["category"] == "industrial")[0])
    size = simulation.customers.loc[rolling, "register_size_l"]
    simulation.customers.loc[rolling, "initial_register_l"] = size - 3000
    store = Store(":memory:")
    report = backfill_simulation(store, simulation, 3, end=END)
    truth = CitySimulation(21, SMALL)
    truth.customers.loc[rolling, "initial_register_l"] = simulation.customers.loc[rolling, "initial_register_l"]
    start = np.datetime64(END) - np.timedelta64(3, "D")
    period, _ = truth.run(truth.initial_state(start), np.datetime64(END), truth.schedule(start, np.datetime64(END)))
    yield store, report, truth, period, truth.customers.loc[rolling, "meter_id"]
    store.close()


def _query(store: Store, sql: str, *params) -> pd.DataFrame:
    cur = store.cursor()
    try:
        return cur.execute(sql, list(params)).df()
    finally:
        cur.close()


def test_every_reading_reaches_the_store_once(backfilled):
    store, report, _, period, _ = backfilled
    stored = _query(store, "SELECT count(*) AS n FROM readings")["n"][0]
    assert report.readings == len(period.readings) == stored == report.stored
    assert report.quarantined == 0 and report.duplicates == 0


def test_the_store_counts_the_litres_each_customer_used(backfilled):
    store, _, truth, period, _ = backfilled
    counted = _query(store, """SELECT c.meter_id, sum(c.volume_l) AS litres, max(c.ts_end) AS last_ts
                               FROM consumption c JOIN meters m USING (meter_id)
                               WHERE m.category IN ('residential', 'commercial', 'industrial', 'municipal')
                               GROUP BY 1""").set_index("meter_id")
    step_end = period.times + np.timedelta64(900, "s")
    for meter, row in counted.iterrows():
        k = int(truth.meter_index[meter])
        first = _query(store, "SELECT min(ts) AS t FROM readings WHERE meter_id = ?", meter)["t"][0]
        inside = (step_end > np.datetime64(first)) & (step_end <= np.datetime64(row["last_ts"]))
        used = period.use_l[inside, k].sum()
        assert row["litres"] == pytest.approx(used, abs=1.6), meter     # whole-litre registers at both ends


def test_a_register_rollover_is_counted_as_use_not_as_a_reset(backfilled):
    store, _, _, _, rolling = backfilled
    flags = _query(store, "SELECT flags, volume_l FROM consumption WHERE meter_id = ?", rolling)
    rolled = flags[(flags["flags"] & int(Flag.ROLLOVER)) > 0]
    assert len(rolled) == 1 and rolled["volume_l"].iloc[0] < 3000
    assert not ((flags["flags"] & int(Flag.RESET)) > 0).any()


def test_late_and_out_of_order_readings_arrive_flagged_and_are_placed_where_they_belong(backfilled):
    store, _, _, period, _ = backfilled
    flags = _query(store, "SELECT flags FROM readings WHERE flags > 0")["flags"]
    assert ((flags & int(Flag.OUT_OF_ORDER)) > 0).sum() >= 1
    assert ((flags & int(Flag.LATE)) > 0).sum() >= 1
    assert ((flags & int(Flag.SEQ_GAP)) > 0).sum() >= 1       # a few readings are lost on the way
    lag = period.readings["received_at"] - period.readings["ts"]
    assert (lag > pd.Timedelta(0)).all()


def test_units_sizes_and_zones_are_registered_as_the_city_has_them(backfilled):
    store, _, truth, _, _ = backfilled
    meters = _query(store, "SELECT * FROM meters").set_index("meter_id")
    customers = truth.customers.set_index("meter_id")
    assert (meters.loc[customers.index, "register_size_l"] == customers["register_size_l"]).all()
    assert (meters.loc[customers.index, "unit"] == customers["unit"]).all()
    assert meters.loc["Z1-INLET", "category"] == "inlet" and meters.loc["T1-LEVEL", "quantity"] == "level"
    assert set(_query(store, "SELECT zone_id FROM zones")["zone_id"]) == {"Z1", "Z2", "Z3", "Z4"}
    assert (meters["registered_by"] == "sim").all()


def test_a_second_backfill_resumes_where_history_ends():
    with Store(":memory:") as store:
        first = backfill_simulation(store, CitySimulation(3, SMALL), 1, end="2025-07-08T00:00:00")
        second = backfill_simulation(store, CitySimulation(3, SMALL), 3, end="2025-07-09T00:00:00")
        assert second.start == first.end and second.readings > 0
        gaps = _query(store, """SELECT count(*) AS n FROM consumption WHERE flags & 32 > 0""")["n"][0]
        biggest = _query(store, """SELECT max(volume_l) AS v FROM consumption c JOIN meters m USING (meter_id)
                                   WHERE m.category = 'residential'""")["v"][0]
    assert gaps == 0 and biggest < 500        # registers continue: no resets, no jumps


def test_bench_backfill_reports_its_figures():
    figures = bench_backfill(days=0.5, seed=1)
    assert figures["readings"] > 5000 and figures["seconds"] > 0
    assert figures["readings_per_s"] == pytest.approx(figures["readings"] / figures["seconds"], rel=0.05)
    assert {"generation_s", "validation_s", "store_s"} <= set(figures)
