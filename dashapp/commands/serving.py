"""`serve`, `listen` and `demo`: the long-running commands.

Each opens one `Runtime` (store, broker, listener, writer), runs until Ctrl-C or
SIGTERM, and then shuts down in the order that loses nothing: commit what is
held, acknowledge it, disconnect, close the store.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import click

from dashapp.options import settings_options
from dashapp.runtime import Runtime
from dashapp.settings import Settings

log = logging.getLogger(__name__)

broker_option = click.option(
    "--broker", default=None, metavar="HOST:PORT",
    help="External MQTT broker; without it an embedded broker runs on localhost.",
)


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: Any) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def run_web(settings: Settings, runtime: Runtime) -> None:
    """Serve the Dash app with waitress until interrupted."""
    from waitress import create_server

    from app import create_app

    server = create_server(create_app().server, host=settings.host, port=settings.port, threads=8)
    click.echo(f"Waterline at http://{settings.host}:{settings.port}  (broker {runtime.metrics.broker}, "
               f"store {settings.db}); Ctrl-C stops")
    try:
        server.run()
    finally:
        server.close()


@click.command()
@settings_options
@broker_option
@click.option("--host", default=None, help="Address to serve the web app on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port of the web app (default 8050).")
def serve(settings: Settings) -> None:
    """Run the web app and the MQTT listener in one process (the store's single writer)."""
    serve_until_stopped(settings)


def _open(settings: Settings) -> Runtime:
    try:
        return Runtime.open(settings)
    except RuntimeError as err:  # the broker's port is taken, for one
        raise click.ClickException(str(err)) from None


def serve_until_stopped(settings: Settings) -> None:
    _configure_logging()
    _stop_on_signals(threading.Event())
    runtime = _open(settings)
    try:
        run_web(settings, runtime)
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()
        click.echo("stopped; everything received was committed")


@click.command()
@settings_options
@broker_option
def listen(settings: Settings) -> None:
    """Ingest readings from MQTT without the web app (headless)."""
    _configure_logging()
    stop = threading.Event()
    _stop_on_signals(stop)
    runtime = _open(settings)
    click.echo(f"listening on {runtime.metrics.broker} into {settings.db}; Ctrl-C stops")
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        runtime.close()
        snapshot = runtime.metrics.snapshot()
        click.echo(f"stopped: {snapshot.stored} readings stored, {snapshot.duplicates} duplicates, "
                   f"{snapshot.quarantined} quarantined")


@click.command()
@settings_options
@click.option("--host", default=None, help="Address to serve the web app on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port of the web app (default 8050).")
def demo(settings: Settings) -> None:
    """The demo: embedded broker, listener and web app on the default store."""
    serve_until_stopped(settings)
