"""The alerts benchmark: `python -m bench.alerts [--days 14] [--alerts 500]`.

On a scratch store holding the simulated city (`--days` of it), it measures:

1. `raise_alerts` opening one alert per event for ``--alerts`` events on distinct meters;
2. the same events rescanned (every alert updated, none opened: the steady state of a live scan);
3. the Leaks & alerts page: the list/schematic/timeline refresh and one alert's detail and chart,
   called as the Dash callbacks are, median of 5 runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd


def bench_events(cur, count: int, end: pd.Timestamp) -> pd.DataFrame:
    meters = [m for (m,) in cur.execute(
        "SELECT meter_id FROM meters WHERE category NOT IN ('weather') ORDER BY meter_id LIMIT ?", [count]).fetchall()]
    zones = dict(cur.execute("SELECT meter_id, zone_id FROM meters").fetchall())
    kinds = ["continuous_flow", "burst", "sensor_stuck", "zscore_anomaly", "pressure_out_of_band"]
    rows = []
    for i, meter in enumerate(meters):
        start = end - timedelta(hours=2 + i % 20)
        rows.append({"event_id": f"bench-{i}", "meter_id": meter, "zone_id": zones.get(meter),
                     "kind": kinds[i % len(kinds)], "detector": "bench", "start": start, "end": end,
                     "score": 0.6 + (i % 40) / 100, "severity": "warning",
                     "explanation": f"benchmark event {i}", "lost_volume_l": 10.0 * i, "cost": 0.01 * i})
    return pd.DataFrame(rows)


def _median_ms(call, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        call()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def run(days: int, alerts: int) -> list[tuple[str, str]]:
    from alerts.lifecycle import raise_alerts
    from alerts.writes import alert_transaction
    from dashapp.runtime import Runtime
    from dashapp.settings import load_settings
    from data.queries.clock import data_now
    from data.store import Store
    from sim.backfill import backfill_into_store

    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "city.duckdb"
        with Store(str(path)) as store:
            backfill_into_store(store, days, end="2025-07-10T00:00:00", seed=0)
        runtime = Runtime.open(load_settings({"db": str(path)}, environ={}), ingest=False)
        try:
            cur = runtime.store.cursor()
            now = data_now(cur)
            frame = bench_events(cur, alerts, pd.Timestamp(now))
            t = time.perf_counter()
            with alert_transaction(runtime.store) as wcur:
                opened = raise_alerts(wcur, frame, now)
            open_s = time.perf_counter() - t
            t = time.perf_counter()
            with alert_transaction(runtime.store) as wcur:
                rescanned = raise_alerts(wcur, frame, now + timedelta(minutes=1))
            rescan_s = time.perf_counter() - t
            from callbacks.alerts import refresh_alerts, refresh_zones, show_alert

            alert_id = opened.opened[0]
            refresh_ms = _median_ms(lambda: refresh_alerts(None, None, None, None, ["open", "acknowledged"], 0, 0))
            zones_ms = _median_ms(lambda: refresh_zones(0, 0))
            detail_ms = _median_ms(lambda: show_alert(alert_id, 0))
        finally:
            runtime.close()
    n = len(frame)
    return [
        ("events", f"{n} on distinct meters, city of {days} days"),
        ("open alerts (raise_alerts, new)", f"{open_s:.2f} s = {open_s / n * 1000:.1f} ms/event "
                                             f"({len(opened.opened)} opened)"),
        ("rescan (raise_alerts, all updates)", f"{rescan_s:.2f} s = {rescan_s / n * 1000:.1f} ms/event "
                                               f"({len(rescanned.updated)} updated, {len(rescanned.opened)} opened)"),
        ("page refresh: list + timeline (median of 5)", f"{refresh_ms:.0f} ms"),
        ("page refresh: zone schematic (median of 5)", f"{zones_ms:.0f} ms"),
        ("page: one alert's detail + chart (median of 5)", f"{detail_ms:.0f} ms"),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--alerts", type=int, default=500)
    args = parser.parse_args(argv)
    for name, value in run(args.days, args.alerts):
        print(f"{name:58s} {value}")


if __name__ == "__main__":
    main()
