"""Forecast page callbacks timed as plain functions on a store: none may block a request for more than 300 ms.

The fit and backtest run in the background job; the callbacks measured here are
what a browser waits for.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path


def _timed(work, repeat: int = 10) -> str:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return (f"first {times[0] * 1000:.0f} ms, median {statistics.median(times) * 1000:.0f} ms, "
            f"max {max(times) * 1000:.0f} ms")


def run_page_bench(db: str | None, days: int, zone: str) -> list[str]:
    from dashapp.runtime import Runtime
    from dashapp.settings import load_settings

    lines = []
    with tempfile.TemporaryDirectory(prefix="waterline-forecast-page-") as scratch:
        copy = Path(scratch) / "store.duckdb"
        if db:
            shutil.copyfile(db, copy)
        else:
            from data.store import Store
            from sim.backfill import backfill_into_store
            with Store(copy) as store:
                backfill_into_store(store, days, seed=0)
        settings = load_settings({"db": str(copy), "forecast_cache_dir": str(Path(scratch) / "cache")}, environ={})
        runtime = Runtime.open(settings, ingest=False)
        try:
            import callbacks.forecast as page
            from forecasting.jobs import JOBS

            lines.append("list meters: " + _timed(lambda: page.list_series("meter")))
            started = time.perf_counter()
            key, *_ = page.start_forecast(1, "zone", zone, "h", 168)
            lines.append(f"start forecast (returns, fit goes to the background): "
                         f"{(time.perf_counter() - started) * 1000:.0f} ms")
            polls, started = [], time.perf_counter()
            while not JOBS.get(key).future.done():
                tick = time.perf_counter()
                page.poll_forecast(1, key)
                polls.append(time.perf_counter() - tick)
                time.sleep(0.5)
            lines.append(f"background fit + backtest: {time.perf_counter() - started:.1f} s; "
                         f"{len(polls)} progress polls, max {max(polls, default=0) * 1000:.0f} ms")
            figure = page.poll_forecast(1, key)[0]
            lines.append("finished poll: " + _timed(lambda: page.poll_forecast(1, key)))
            scenario = (figure, "bench", 2, "0", 10, "residential", 20, 0.5, "residential", 100, key)
            lines.append("scenario change: " + _timed(lambda: page.show_scenario(*scenario)))
            lines.append("save scenario: " + _timed(lambda: page.save_and_list(1, *scenario[1:])))
        finally:
            runtime.close()
    return lines
