"""The store `bench app` measures: one year of the default city with every meter at 15 minutes.

About 17 million readings, the scale the page-speed targets are set at. It is
built once (a few minutes) and reused while its file exists; a store built with
other options is never mistaken for it, because the options are in its name.
"""

from __future__ import annotations

from pathlib import Path

BENCH_DAYS = 365
BENCH_END = "2025-12-31T00:00:00"
BENCH_SEED = 0


def bench_store_path(directory: Path, days: int = BENCH_DAYS) -> Path:
    return directory / f"bench-city-{days}d-15min-seed{BENCH_SEED}.duckdb"


def ensure_bench_store(directory: Path, days: int = BENCH_DAYS, progress: bool = True) -> Path:
    """Path of the bench store, backfilling it first when it does not exist yet."""
    from data.store import Store
    from sim.backfill import backfill_into_store
    from sim.city import CityOptions
    from sim.config import SimConfig

    path = bench_store_path(directory, days)
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.duckdb")
    partial.unlink(missing_ok=True)
    config = SimConfig(city=CityOptions(quarter_hourly_share=1.0))
    with Store(str(partial)) as store:
        backfill_into_store(store, days, end=BENCH_END, seed=BENCH_SEED, config=config, progress=progress)
    partial.rename(path)
    return path
