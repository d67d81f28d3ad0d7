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
def ingest(broker: str | None, singles: int, arrays: int) -> None:
    """Readings/s, batch p50/p95 and publish-to-queryable latency against Mosquitto."""
    import tempfile
    from pathlib import Path

    from bench.ingest import format_report, run_ingest_bench
    from dashapp.mosquitto import MOSQUITTO, MosquittoBroker

    if broker:
        host, _, port = broker.rpartition(":")
        click.echo(format_report(run_ingest_bench(host, int(port), singles, arrays)))
        return
    if not MOSQUITTO.exists():
        raise click.ClickException("Mosquitto is not installed (apt-get install mosquitto), or pass --broker")
    with tempfile.TemporaryDirectory(prefix="waterline-mosquitto-") as workdir:
        server = MosquittoBroker(Path(workdir))
        server.start()
        try:
            click.echo(format_report(run_ingest_bench(server.host, server.port, singles, arrays)))
        finally:
            server.stop()


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
