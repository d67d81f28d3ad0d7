"""Timing of the Meters, Tanks & pumps and System health callbacks on a store, until `bench app` covers them.

    python -m bench.pages_b STORE.duckdb [--repeat 20]
    python -m bench.pages_b STORE.duckdb --tank-origins 2025-02-01,2025-02-15,...

The second form backtests the tank level model at each origin (28 days of history
ending there, the last 2 held out) and prints the mean errors against persistence.

Opens a private copy of nothing: the store is opened read-only through the
app's runtime (so never run it against a store a server is writing). Each
callback is called as a plain function, the way Dash calls it, and p50/p95 of
wall time are printed, with the process's CPU time (all threads) beside: on a shared
machine the wall time includes waiting for a core, the CPU time does not. The meters timed are picked from the store itself: the
first residential customer meter, the first inlet, the tanks and pumps found.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from dashapp.runtime import Runtime
from dashapp.settings import load_settings
from data.store import Store


def cases(cur) -> list[tuple[str, tuple]]:
    customer = cur.execute("SELECT min(meter_id) FROM meters WHERE category = 'residential'").fetchone()[0]
    inlet = cur.execute("SELECT min(meter_id) FROM meters WHERE category = 'inlet'").fetchone()[0]
    levels = [r[0] for r in cur.execute("SELECT meter_id FROM meters WHERE quantity = 'level' ORDER BY 1").fetchall()]
    return ([("search_meters", ("r-00", None)), ("search_meters", (None, customer))]
            + [("show_meter", (customer, days, "m3")) for days in ("7", "30", "365")]
            + [("show_meter", (inlet, "30", "L"))]
            + [("show_meter", (m, "7", "L")) for m in levels[:1]]
            + [("list_tanks", (True,))]
            + [("show_tank", (m, days, "48")) for m in levels for days in ("7", "90")]
            + [("show_pumps", ("7",)), ("show_pumps", ("90",)), ("live_metrics", (1,)), ("stored_health", (1,))])


def naive_meter_hourly(cur, meter_id: str, days: int):
    """The naive way: every reading of the store into pandas, then the meter's hourly volumes."""
    frame = cur.execute("SELECT meter_id, ts, value FROM readings WHERE quantity = 'volume'").df()
    one = frame[frame["meter_id"] == meter_id].sort_values("ts")
    one = one[one["ts"] >= one["ts"].max() - pd.Timedelta(days=days)]
    return one.set_index("ts")["value"].diff().clip(lower=0).resample("h").sum()


def naive_tank_level(cur, meter_id: str, days: int):
    """The naive way: every level reading into pandas, hourly means of one tank."""
    frame = cur.execute("SELECT meter_id, ts, value FROM readings WHERE quantity = 'level'").df()
    one = frame[frame["meter_id"] == meter_id]
    one = one[one["ts"] >= one["ts"].max() - pd.Timedelta(days=days)]
    return one.set_index("ts")["value"].resample("h").agg(["mean", "min", "max"])


def tank_backtests(store: str, origins: list[str]) -> None:
    from datetime import timedelta

    import duckdb

    from data.queries.tanks import tank_hourly, tanks
    from forecasting.tank_level import backtest

    conn = duckdb.connect(store, read_only=True)
    print(f"{'tank':<12} {'origins':>7} {'1 h MAE':>8} {'rolled MAE':>10} {'persistence':>11} {'wins':>5}")
    for tank in tanks(conn):
        scores = []
        for origin in origins:
            end = pd.Timestamp(origin).to_pydatetime()
            scores.append(backtest(tank_hourly(conn, tank, end - timedelta(days=28), end), tank.tz))
        step, run, still = (np.mean([getattr(b, f) for b in scores])
                            for f in ("step_mae_m", "run_mae_m", "persistence_mae_m"))
        wins = sum(b.run_mae_m < b.persistence_mae_m for b in scores)
        print(f"{tank.meter_id:<12} {len(scores):>7} {step:8.3f} {run:10.3f} {still:11.3f} {wins:>5}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("store")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--tank-origins", help="comma-separated dates: backtest the tank model there instead")
    args = parser.parse_args()
    if args.tank_origins:
        tank_backtests(args.store, args.tank_origins.split(","))
        return
    settings = load_settings({"db": args.store}, environ={})
    runtime = Runtime(settings, Store(args.store, read_only=True))
    from dashapp import runtime as current
    current.install(runtime)
    from app import create_app
    create_app()
    from callbacks import health, meters, tanks
    functions = {name: getattr(module, name) for module in (meters, tanks, health)
                 for name in dir(module) if callable(getattr(module, name))}
    cur = runtime.store.cursor()
    todo = cases(cur)
    cur.close()
    print(f"{'callback':<16} {'arguments':<34} {'p50 ms':>8} {'p95 ms':>8} {'cpu p50':>8} {'cpu p95':>8}")
    for name, arguments in todo:
        function = functions[name]
        function(*arguments)  # warm
        times, cpu = [], []
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            function(*arguments)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        print(f"{name:<16} {arguments!s:<34} {np.percentile(times, 50):8.1f} {np.percentile(times, 95):8.1f} "
              f"{np.percentile(cpu, 50):8.1f} {np.percentile(cpu, 95):8.1f}")
    cur = runtime.store.cursor()
    customer = todo[2][1][0]
    levels = [a[0] for n, a in todo if n == "show_tank"]
    for label, naive in ((f"naive meter hourly {customer} 30 d", lambda: naive_meter_hourly(cur, customer, 30)),
                         (f"naive tank level {levels[0] if levels else '-'} 7 d",
                          lambda: naive_tank_level(cur, levels[0], 7) if levels else None)):
        times = []
        for _ in range(max(3, args.repeat // 5)):
            start = time.perf_counter()
            naive()
            times.append((time.perf_counter() - start) * 1000)
        print(f"{label:<51} {np.percentile(times, 50):8.1f} {np.percentile(times, 95):8.1f}")


if __name__ == "__main__":
    main()
