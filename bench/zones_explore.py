"""Timing of the Zones and Explore callbacks on a store, called as plain functions (`CALLS`).

`python -m bench.zones_explore --db var/year.duckdb` opens the store read-only,
picks the views from the data (its last year and month, a zone, a meter, the
fall-back day of the zones' time zone) and prints p50/p95 per callback. The
`bench app` command can import `callback_cases` to time the same calls. Beside
wall-clock time it prints the process's CPU time per call (all threads): on a
shared machine that is the steadier measure of the work a callback does.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import pandas as pd

from dashapp.runtime import Runtime, install
from dashapp.settings import load_settings
from data.queries.clock import data_now
from data.queries.explore import explore_choices, time_zones_in_use
from data.store import Store

TARGET_MS = 250


def _dst_day(year: int, tz: str) -> str | None:
    """The first day of ``year`` that is not 24 hours long in ``tz`` (a DST change), if any."""
    midnights = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="D").tz_localize(
        tz, ambiguous=True, nonexistent="shift_forward")
    lengths = pd.Series(midnights[1:] - midnights[:-1])
    odd = lengths[lengths != pd.Timedelta(hours=24)]
    return None if odd.empty else f"{midnights[odd.index[-1]]:%Y-%m-%d}"


def callback_cases(runtime: Runtime) -> list[tuple[str, Callable, tuple]]:
    """(name, callback function, arguments) for every Zones and Explore callback, on views taken from the data."""
    from callbacks.explore import render_explore, render_heatmap, render_top, resolve_view
    from callbacks.zones import (
        render_balance,
        render_flow_pressure,
        render_night_flow,
        render_status,
        zone_choices,
    )

    cur = runtime.store.cursor()
    try:
        now = data_now(cur)
        choices = explore_choices(cur)
        tz = (time_zones_in_use(cur) or ["UTC"])[0]
    finally:
        cur.close()
    local_now = pd.Timestamp(now, tz="UTC").tz_convert(tz)
    year, month = f"{local_now:%Y}", f"{local_now - pd.Timedelta(days=1):%Y-%m}"
    zone = choices["zones"][0][0] if choices["zones"] else None
    meter = choices["meters"][0][0] if choices["meters"] else None
    dst = _dst_day(local_now.year, tz) or f"{local_now - pd.Timedelta(days=1):%Y-%m-%d}"
    y, m, d = ({"level": "year", "key": year}, {"level": "month", "key": month}, {"level": "day", "key": dst})
    return [
        ("zones.zone_choices", zone_choices, (None,)),
        ("zones.render_status", render_status, (zone,)),
        ("zones.render_flow_pressure 30 days", render_flow_pressure, (zone, "30", "L/s")),
        ("zones.render_flow_pressure 1 year", render_flow_pressure, (zone, "365", "L/min")),
        ("zones.render_night_flow 1 year", render_night_flow, (zone, "365", "L/s")),
        ("zones.render_balance 1 year", render_balance, (zone, "365", "m3")),
        ("explore.resolve_view", resolve_view, ({},)),
        ("explore.render_explore year vs previous", render_explore, (y, None, None, None, "m3", tz, "previous")),
        ("explore.render_explore year in UTC", render_explore, (y, None, None, None, "m3", "UTC", "none")),
        ("explore.render_explore month, zone+category", render_explore,
         (m, zone, "residential", None, "L", tz, "last-year")),
        ("explore.render_explore DST day", render_explore, (d, None, None, None, "m3", tz, "previous")),
        ("explore.render_explore meter year", render_explore, (y, None, None, meter, "US gal", tz, "none")),
        ("explore.render_heatmap year", render_heatmap, (y, None, None, None, "m3", tz)),
        ("explore.render_heatmap meter year", render_heatmap, (y, None, None, meter, "m3", tz)),
        ("explore.render_top year", render_top, (y, None, None, "m3", tz)),
        ("explore.render_top year in UTC", render_top, (y, None, None, "m3", "UTC")),
        ("explore.render_top DST day, zone", render_top, (d, zone, None, "m3", tz)),
    ]


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the store to read (opened read-only)")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    runtime = Runtime(load_settings({"db": args.db}, environ={}), Store(args.db, read_only=True))
    install(runtime)
    import app  # noqa: F401  (registers the pages and their callbacks)

    print(f"| callback | p50 ms | p95 ms | CPU p50 / p95 ms | < {TARGET_MS} ms p95 |\n|---|---:|---:|---:|---|")
    for name, function, arguments in callback_cases(runtime):
        function(*arguments)  # warm
        wall, cpu = [], []
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            function(*arguments)
            wall.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        p95 = _p95(wall)
        print(f"| {name} | {statistics.median(wall):.0f} | {p95:.0f} | "
              f"{statistics.median(cpu):.0f} / {_p95(cpu):.0f} | {'met' if p95 < TARGET_MS else 'MISSED'} |")
    runtime.store.close()


if __name__ == "__main__":
    main()
