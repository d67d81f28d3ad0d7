"""`serve`, `listen` and `demo`: the long-running commands.

Each opens one `Runtime` (store, broker, listener, writer), runs until Ctrl-C or
SIGTERM, and then shuts down in the order that loses nothing: commit what is
held, acknowledge it, disconnect, close the store.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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


class _Signals:
    """SIGTERM and Ctrl-C: the first sets ``stop``; repeats are ignored so shutdown can finish.

    The signal is raised into the main thread (as KeyboardInterrupt) only inside
    `interruptible` phases: a web server that returns only when interrupted, a long
    simulated backfill. Start-up is not one: an interrupt raised into its imports of
    C extensions left the process dying of SIGINT (exit -2) after its clean stop, so
    there the signal only sets ``stop`` and the next phase sees it.
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._interruptible = threading.Event()
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.stop.is_set():
            log.info("received %s again; still stopping", signal.Signals(signum).name)
            return
        log.info("received %s; stopping", signal.Signals(signum).name)
        self.stop.set()
        if self._interruptible.is_set():
            raise KeyboardInterrupt

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """A phase a signal interrupts; entered after a signal, it raises KeyboardInterrupt at once."""
        self._interruptible.set()
        try:
            if self.stop.is_set():
                raise KeyboardInterrupt
            yield
        finally:
            self._interruptible.clear()


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


def _start(runtime: Runtime) -> None:
    try:
        runtime.start()
    except RuntimeError as err:  # the broker's port is taken, for one
        raise click.ClickException(str(err)) from None


def serve_until_stopped(settings: Settings) -> None:
    _configure_logging()
    signals = _Signals()
    runtime = None
    try:
        runtime = Runtime.create(settings)
        _start(runtime)
        with signals.interruptible():
            run_web(settings, runtime)
    except KeyboardInterrupt:
        pass
    finally:
        if runtime is not None:
            runtime.close()
        click.echo("stopped; everything received was committed")


@click.command()
@settings_options
@broker_option
def listen(settings: Settings) -> None:
    """Ingest readings from MQTT without the web app (headless)."""
    _configure_logging()
    signals = _Signals()
    runtime = None
    try:
        runtime = Runtime.create(settings)
        _start(runtime)
        if not signals.stop.is_set():
            click.echo(f"listening on {runtime.metrics.broker} into {settings.db}; Ctrl-C stops")
        while not signals.stop.wait(1.0):
            pass
    finally:
        if runtime is not None:
            runtime.close()
            snapshot = runtime.metrics.snapshot()
            click.echo(f"stopped: {snapshot.stored} readings stored, {snapshot.duplicates} duplicates, "
                       f"{snapshot.quarantined} quarantined")


@click.command()
@settings_options
@click.option("--host", default=None, help="Address to serve the web app on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port of the web app (default 8050).")
@click.option("--history-days", default=90.0, show_default=True,
              help="Simulated history to have in the store before going live (only the missing part is made).")
@click.option("--seed", default=0, show_default=True, help="The simulated city's seed.")
def demo(settings: Settings, history_days: float, seed: int) -> None:
    """The demo: a simulated city live through the embedded broker, listener and web app."""
    from sim.backfill import backfill_into_store
    from sim.live import run_live

    _configure_logging()
    signals = _Signals()
    runtime = None
    stop_city = threading.Event()
    city = None
    try:
        runtime = Runtime.create(settings)
        click.echo(f"Simulated city: bringing {settings.db} up to now ({history_days:g} days of history)...")
        with signals.interruptible():
            report = backfill_into_store(runtime.store, history_days, seed=seed, progress=True)
        click.echo(f"history ready: {report}")
        _start(runtime)  # after the history: the first detection scan catches up on it
        if not runtime.wait_for_broker(30):
            log.warning("the listener is not connected to the broker yet; the city starts anyway")
        host, port = runtime.broker_address
        city = threading.Thread(
            target=run_live, name="waterline-city", daemon=True,
            args=(f"{host}:{port}", stop_city), kwargs={"store": runtime.store, "seed": seed},
        )
        city.start()
        with signals.interruptible():
            run_web(settings, runtime)
    except KeyboardInterrupt:
        pass
    finally:
        stop_city.set()
        if city is not None:
            city.join(30)
        if runtime is not None:
            runtime.close()
        click.echo("stopped; everything received was committed")
