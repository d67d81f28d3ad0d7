"""`python -m dashapp simulate backfill|live`: the demo city's history and its live feed."""

from __future__ import annotations

import threading
from pathlib import Path

import click

from dashapp.options import settings_options
from dashapp.settings import Settings


def _config(scale: float, tz: str | None, country: str | None, weather_file: str | None):
    from sim.city import CityOptions
    from sim.config import SimConfig

    return SimConfig(city=CityOptions(tz=tz, holiday_country=country, customer_scale=scale), weather_file=weather_file)


city_options = [
    click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same city, readings and labels."),
    click.option("--scale", type=float, default=1.0, show_default=True, help="Multiply every zone's customers."),
    click.option("--tz", "tz", default=None, help="City time zone (default Europe/Rome)."),
    click.option("--holidays", "country", default=None, help="Public holidays of this country code (default IT)."),
    click.option("--weather-file", type=click.Path(exists=True, dir_okay=False), default=None,
                 help="CSV with ts, air_temperature (degC), rainfall (mm); synthetic weather elsewhere."),
]


def with_city_options(func):
    for option in reversed(city_options):
        func = option(func)
    return func


@click.group()
def simulate() -> None:
    """The simulated demo city: history into the store, or a live feed over MQTT."""


@simulate.command("backfill")
@settings_options
@click.option("--days", type=float, default=90.0, show_default=True, help="Days of history.")
@click.option("--end", default=None, help="When the history ends (ISO time; default now).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@with_city_options
def backfill(settings: Settings, days: float, end: str | None, no_progress: bool, seed: int, scale: float,
             tz: str | None, country: str | None, weather_file: str | None) -> None:
    """Write simulated history straight into the store (no broker); resumes after existing history."""
    from dashapp.runtime import store_options
    from data.store import Store
    from sim.backfill import backfill_into_store

    with Store(settings.db, store_options(settings)) as store:
        report = backfill_into_store(store, days, end=end, seed=seed, config=_config(scale, tz, country, weather_file),
                                     progress=not no_progress)
    click.echo(f"{report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC: {report.readings:,} readings "
               f"({report.stored:,} stored, {report.duplicates:,} duplicates), {report.events} event labels, "
               f"{report.seconds:.1f} s ({report.readings_per_s:,.0f} readings/s; "
               f"simulating {report.generation_s:.1f} s, validating {report.validation_s:.1f} s, "
               f"storing {report.store_s:.1f} s) into {settings.db}")


@simulate.command("live")
@settings_options
@click.option("--broker", default=None, metavar="HOST:PORT",
              help="Broker to publish to (default 127.0.0.1 and the embedded broker's port, 18830).")
@click.option("--rate", type=float, default=0.0, show_default=True,
              help="Most readings per second published (0 = no cap).")
@click.option("--speed", type=float, default=1.0, show_default=True,
              help="Simulated seconds per second (60 = an hour a minute; 0 = as fast as --rate allows). "
                   "The simulated clock never passes the wall clock.")
@click.option("--arrays/--singles", default=True, show_default=True,
              help="Gateways send arrays of readings, or one message per reading.")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds.")
@click.option("--start", default=None,
              help="Simulated start (ISO time). Default: where the store's history ends if --db can be read, "
                   "else now (or duration x speed earlier, so an accelerated run ends at about now).")
@click.option("--pattern", "pattern", default="normal", show_default=True,
              help="Load-test mix: normal, anomalies, noise, missing, corrupt, bursts, or shares such as "
                   "'corrupt=0.05,missing=0.1'.")
@click.option("--labels-file", default="var/sim-live-labels.jsonl", show_default=True,
              help="Where the labels of live events go (JSON lines).")
@with_city_options
def live(settings: Settings, rate: float, speed: float, arrays: bool, duration: float | None, start: str | None,
         pattern: str, labels_file: str, seed: int, scale: float, tz: str | None, country: str | None,
         weather_file: str | None) -> None:
    """Publish the city over MQTT (docs/MQTT.md), real time or accelerated, until Ctrl-C or --duration."""
    from sim.live import LiveOptions, run_live
    from sim.loadtest import parse_mix

    try:
        mix = parse_mix(pattern)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--pattern") from None
    broker = settings.broker or f"127.0.0.1:{settings.embedded_broker_port}"
    options = LiveOptions(speed=speed, rate=rate, arrays=arrays, mix=mix)
    resume_from = settings.db if start is None and Path(settings.db).exists() else None
    stop = threading.Event()
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["report"] = run_live(broker, stop, seed=seed, config=_config(scale, tz, country, weather_file),
                                         options=options, start=start, duration_s=duration,
                                         labels_file=labels_file, resume_from=resume_from)
        except BaseException as err:  # reported on the main thread
            outcome["error"] = err

    thread = threading.Thread(target=work, name="sim-live", daemon=True)
    thread.start()
    click.echo(f"publishing the simulated city to {broker} ({mix.describe()}, speed {speed:g}, "
               f"{'arrays' if arrays else 'single readings'}); Ctrl-C stops")
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        stop.set()
        thread.join()
    if "error" in outcome:
        raise click.ClickException(str(outcome["error"]))
    r = outcome["report"]
    click.echo(f"simulated {r.sim_start:%Y-%m-%d %H:%M} to {r.sim_end or r.sim_start:%Y-%m-%d %H:%M} UTC: "
               f"{r.messages:,} messages, {r.readings:,} readings, {r.missing:,} withheld, {r.replayed:,} replayed, "
               f"{r.expected_quarantine:,} corrupt (bound for quarantine), {r.labels} labels to {labels_file}, "
               f"{r.seconds:.1f} s")

