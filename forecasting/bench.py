"""`python -m dashapp bench forecast`: fit+predict time of one zone-year hourly, cache hits and what-if timings.

Without --db it backfills the simulated city for --days into a scratch store and
forecasts zone Z1; with --db it uses that store's --zone or --meter.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from forecasting.cache import ModelCache
from forecasting.model import ForecastConfig, forecast
from forecasting.scenarios import DemandContext, Scenario, apply_scenario, compare
from forecasting.series import SeriesKey, load_series
from forecasting.weather import load_weather

SCENARIOS = {
    "temperature +3 degC": Scenario(temperature_shift_c=3),
    "dry spell": Scenario(rain_mm_per_day=0),
    "growth +10 %": Scenario(growth_pct=10),
    "restriction residential -20 %": Scenario(restrictions_pct={"residential": 20}),
    "leak repaired 0.5 L/s": Scenario(leak_repaired_l_s=0.5),
    "new development 200 residential": Scenario(new_customers={"residential": 200}),
}


def _timed(work, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def run_forecast_bench(days: int, repeat: int, db: str | None = None, key: SeriesKey | None = None) -> list[str]:
    from data.queries.forecast import category_shares, per_customer_demand
    from data.store import Store

    lines = []
    with tempfile.TemporaryDirectory(prefix="waterline-forecast-bench-") as scratch:
        if db is None:
            from sim.backfill import backfill_into_store
            db = str(Path(scratch) / "city.duckdb")
            started = time.perf_counter()
            with Store(db) as store:
                backfill_into_store(store, days, seed=0)
            lines.append(f"backfilled {days} days of the simulated city in {time.perf_counter() - started:.0f} s")
            key = key or SeriesKey("zone", "Z1")
        with Store(db, read_only=True) as store:
            cur = store.cursor()
            load_s, series = _timed(lambda: load_series(cur, key, "h"), repeat)
            weather = load_weather(cur, series.weather_station)
            span = (series.values.index.max() - series.values.index.min()).days
            lines.append(f"series {key.label}: {len(series.values):,} hours over {span} days; load {load_s * 1000:.0f} ms")
            config = ForecastConfig()
            fit_s, baseline = _timed(lambda: forecast(series, 168, weather, config), repeat)
            lines.append(f"fit + predict one week (no cache), median of {repeat}: {fit_s:.2f} s")
            cache = ModelCache(Path(scratch) / "cache")
            cache.forecast(series, 168, weather, config)
            hit_s, _ = _timed(lambda: cache.forecast(series, 168, weather, config), repeat)
            lines.append(f"cached forecast (forecast JSON): {hit_s * 1000:.0f} ms")
            context_s, context = _timed(lambda: DemandContext(category_shares(cur, key.kind, key.ident),
                                                              per_customer_demand(cur, series.tz)), repeat)
            lines.append(f"scenario context from the store (once per forecast): {context_s * 1000:.0f} ms")
            for name, scenario in SCENARIOS.items():
                took, _ = _timed(lambda s=scenario: compare(baseline, apply_scenario(baseline, s, context)), max(repeat, 5))
                lines.append(f"scenario {name}: {took * 1000:.1f} ms")
    return lines
