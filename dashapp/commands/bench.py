"""`python -m dashapp bench ...`: benchmarks whose figures go to docs/PERFORMANCE.md."""

from __future__ import annotations

import click


@click.group()
def bench() -> None:
    """Measure Waterline on this machine (figures for docs/PERFORMANCE.md)."""


@bench.command("ingest")
@click.option("--broker", default=None, metavar="HOST:PORT",
              help="Use this broker; default: a private Mosquitto on a free port.")
@click.option("--singles", default=20_000, show_default=True, help="Single-reading messages to publish.")
@click.option("--arrays", default=1_000_000, show_default=True,
              help="Readings to publish in 100-reading arrays.")
@click.option("--repeat", default=1, show_default=True, type=click.IntRange(1, 20),
              help="Run every phase this many times and add a summary of medians (the machine is noisy).")
@click.option("--db-threads", default=None, type=click.IntRange(1, 64),
              help="DuckDB worker threads of the scratch stores (the db_threads setting); default one per core.")
@click.option("--batch-readings", default=None, type=click.IntRange(100, 1_000_000),
              help="The writer's largest batch (the batch_max_readings setting); default: the setting's default.")
@click.option("--batch-target-ms", default=None, type=click.IntRange(10, 10_000),
              help="The time the writer sizes its batches for (the batch_target_ms setting); default: the setting's default.")
def ingest(broker: str | None, singles: int, arrays: int, repeat: int, db_threads: int | None,
           batch_readings: int | None, batch_target_ms: int | None) -> None:
    """Readings/s, batch p50/p95 and publish-to-queryable latency against Mosquitto."""
    import tempfile
    from pathlib import Path

    from bench.ingest import format_report, format_summary, run_ingest_bench
    from dashapp.mosquitto import MOSQUITTO, MosquittoBroker

    def run_all(host: str, port: int) -> None:
        runs = []
        for number in range(1, repeat + 1):
            runs.append(run_ingest_bench(host, port, singles, arrays, db_threads=db_threads,
                                         batch_readings=batch_readings, batch_target_ms=batch_target_ms))
            if repeat > 1:
                click.echo(f"\nrun {number} of {repeat}")
            click.echo(format_report(runs[-1]))
        if repeat > 1:
            click.echo("\n" + format_summary(runs))

    if broker:
        host, _, port = broker.rpartition(":")
        run_all(host, int(port))
        return
    if not MOSQUITTO.exists():
        raise click.ClickException("Mosquitto is not installed (apt-get install mosquitto), or pass --broker")
    with tempfile.TemporaryDirectory(prefix="waterline-mosquitto-") as workdir:
        server = MosquittoBroker(Path(workdir))
        server.start()
        try:
            run_all(server.host, server.port)
        finally:
            server.stop()


@bench.command("ingest-profile")
@click.option("--readings", "readings_per_batch", default=1_500, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Readings per batch.")
@click.option("--batches", default=12, show_default=True, type=click.IntRange(3, 1_000),
              help="Batches to store (the first two warm up and are not counted).")
@click.option("--fold-every", default=1, show_default=True, type=click.IntRange(1, 100),
              help="Fold the queued rollup deltas every Nth batch (1 = every batch, as when the writer is idle).")
def ingest_profile(readings_per_batch: int, batches: int, fold_every: int) -> None:
    """CPU time of each step of Store.ingest per batch, without MQTT."""
    from bench.ingest_profile import format_profile, profile_ingest

    click.echo(format_profile(profile_ingest(readings_per_batch, batches, fold_every), readings_per_batch))


@bench.command("simulate")
@click.option("--days", default=365.0, show_default=True, help="Days of the default city to backfill.")
@click.option("--seed", default=0, show_default=True)
def simulate(days: float, seed: int) -> None:
    """Backfill readings/s of the simulated city into a scratch store (docs/PERFORMANCE.md)."""
    from sim.backfill import bench_backfill

    figures = bench_backfill(days, seed)
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        click.echo(f"{key:<{width}}  {value:,.1f}" if isinstance(value, float) else f"{key:<{width}}  {value}")


@bench.command("app")
@click.option("--dir", "directory", default="var/bench", show_default=True, type=click.Path(file_okay=False),
              help="Where the one-year bench store lives (built on first use, a few minutes).")
@click.option("--days", default=365, show_default=True, help="Days of the city in the bench store.")
@click.option("--runs", default=20, show_default=True, help="Timed calls per page callback.")
@click.option("--naive-runs", default=3, show_default=True, help="Timed calls per naive view (slow).")
def app(directory: str, days: int, runs: int, naive_runs: int) -> None:
    """p50/p95 of every page callback on a year of the city at 15 min, beside naive pandas views."""
    from pathlib import Path

    from bench.app import format_timings, naive_cases, page_cases, time_case
    from bench.app_store import ensure_bench_store
    from dashapp.runtime import Runtime
    from dashapp.settings import load_settings

    path = ensure_bench_store(Path(directory), days)
    with Runtime.open(load_settings({"db": str(path)}), ingest=False) as runtime:
        from app import create_app

        create_app()  # registers the pages and their callbacks, as serving does
        cur = runtime.store.cursor()
        readings = cur.execute("SELECT count(*) FROM readings").fetchone()[0]
        timings = []
        for case in page_cases(runtime):
            timings.append(time_case(case, runs))
            click.echo(f"{case.page}: {case.name}: p95 {timings[-1].p95_ms:,.0f} ms", err=True)
        for case in naive_cases(cur):
            timings.append(time_case(case, naive_runs))
            click.echo(f"{case.page}: {case.name}: p95 {timings[-1].p95_ms:,.0f} ms", err=True)
    click.echo(format_timings(timings, readings, str(path)))
