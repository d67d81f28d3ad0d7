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
