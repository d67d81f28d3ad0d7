"""Picking the city up where the store's history of it ends.

A live run after a backfill (or a demo restarted the next day) must not restart
every register from its first index nor refill the tanks: it reads each
customer meter's last register and transmission counter from the `meters`
table, the tanks' last levels from `readings`, and starts at the step after
the last one the sensors reported. Use between a meter's last reading and that
step is not re-simulated (at most an hour for hourly meters).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from sim.engine import STEP, CitySimulation, SimState
from sim.hydraulics import HydraulicState, initial_state


def history_end(cur: duckdb.DuckDBPyConnection, simulation: CitySimulation) -> np.datetime64 | None:
    """The step after the last one the city's inlet meters reported, or None without history."""
    inlets = simulation.sensors.loc[simulation.sensors["category"] == "inlet", "meter_id"].tolist()
    try:
        last = cur.execute("SELECT max(last_ts) FROM meters WHERE meter_id IN (SELECT unnest(?::VARCHAR[]))",
                           [inlets]).fetchone()[0]
    except duckdb.CatalogException:
        return None
    if last is None:
        return None
    return np.datetime64(pd.Timestamp(last).floor("15min").to_datetime64(), "s") + STEP


def resume_state(cur: duckdb.DuckDBPyConnection, simulation: CitySimulation, at: np.datetime64) -> SimState:
    """The city's state at ``at`` as far as the store knows it."""
    customers = simulation.customers
    known = cur.execute(
        """SELECT meter_id, last_value, last_seq FROM meters
           WHERE meter_id IN (SELECT unnest(?::VARCHAR[]))""",
        [customers["meter_id"].tolist()],
    ).df().set_index("meter_id").reindex(customers["meter_id"])
    registers = known["last_value"].to_numpy(dtype="float64", na_value=np.nan)
    registers = np.where(np.isnan(registers), customers["initial_register_l"].to_numpy(dtype=float), registers)
    seq = known["last_seq"].to_numpy(dtype="float64", na_value=np.nan)
    seq = np.where(np.isnan(seq), 0, seq).astype("int64")

    fresh = initial_state(simulation.network)
    levels = dict(fresh.tank_levels_m)
    for tank in simulation.network.tanks:
        row = cur.execute(
            "SELECT value FROM readings WHERE meter_id = ? AND quantity = 'level' AND ts < ? ORDER BY ts DESC LIMIT 1",
            [f"{tank}-LEVEL", pd.Timestamp(at).to_pydatetime()],
        ).fetchone()
        if row is not None:
            levels[tank] = float(row[0])
    sensors = simulation.sensors
    counters = cur.execute(
        """SELECT meter_id, quantity, max(seq) AS seq FROM readings
           WHERE meter_id IN (SELECT unnest(?::VARCHAR[])) AND ts >= ? - INTERVAL 3 DAY AND ts < ? GROUP BY ALL""",
        [sensors["meter_id"].unique().tolist(), pd.Timestamp(at).to_pydatetime(), pd.Timestamp(at).to_pydatetime()],
    ).df()
    last_seq = {(m, q): s for m, q, s in zip(counters["meter_id"], counters["quantity"], counters["seq"])}
    sensor_seq = np.array([int(last_seq.get((m, q), 0) or 0) for m, q in zip(sensors["meter_id"], sensors["quantity"])],
                          dtype="int64")
    return SimState(np.datetime64(at, "s"), registers, seq, HydraulicState(levels, dict(fresh.link_open)), sensor_seq)
