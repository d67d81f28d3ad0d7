"""`python -m dashapp forecast`, `backtest` and `bench forecast`: demand forecasts from the store.

The work is in `forecasting/`; these commands parse options, open the store
read-only and print or write the result. Times in the CSV are local with offset.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
import duckdb
import pandas as pd

from dashapp.commands.csv_out import write_csv
from dashapp.options import settings_options
from dashapp.settings import Settings
from data.store import Store
from forecasting.model import ForecastConfig, ForecastError
from forecasting.series import CITY, SeriesError, SeriesKey


def _key(meter: str | None, zone: str | None, city: bool) -> SeriesKey:
    if sum(bool(x) for x in (meter, zone, city)) != 1:
        raise click.UsageError("give exactly one of --meter ID, --zone ID or --city")
    return SeriesKey("meter", meter) if meter else SeriesKey("zone", zone) if zone else SeriesKey(CITY)


def config_from(settings: Settings) -> ForecastConfig:
    return ForecastConfig(country=settings.holiday_country or None)


def _open(settings: Settings) -> Store:
    try:
        return Store(settings.db, read_only=True)
    except duckdb.Error as err:
        raise click.ClickException(f"cannot read the store {settings.db}: {err}") from None


@click.command("forecast")
@click.option("--meter", default=None, metavar="ID", help="Forecast this meter.")
@click.option("--zone", default=None, metavar="ID", help="Forecast this zone's demand.")
@click.option("--city", is_flag=True, help="Forecast the whole city.")
@click.option("--until", default=None, help="Train on data up to this time (inclusive); naive = the series' clock. "
                                            "Default: all data.")
@click.option("--horizon", default=168, show_default=True, type=click.IntRange(1, 24 * 90),
              help="Periods to forecast.")
@click.option("--freq", type=click.Choice(["h", "D"]), default="h", show_default=True)
@click.option("--tz", default=None, help="Clock of the ts column (default: the series' own).")
@click.option("--weather", "station", default=None, metavar="STATION", help="Weather station for the regressors "
              "(default: the linked one).")
@click.option("--unit", default=None, help="Output unit (default: the unit the meter was imported in; zones "
                                           "and the city in L per period). Flows: L/s, L/min, m3/h; volumes: "
                                           "L, m3, gal, ft3.")
@click.option("--out", default="-", show_default=True, help="CSV file to write, or - for stdout.")
@settings_options
def forecast_command(settings: Settings, meter: str | None, zone: str | None, city: bool, until: str | None,
                     horizon: int, freq: str, tz: str | None, station: str | None, unit: str | None, out: str) -> None:
    """Forecast demand and write ts,yhat,yhat_lower,yhat_upper,unit as CSV."""
    from forecasting.series import load_hourly
    from forecasting.service import ForecastRequest, forecast_for, until_utc
    from forecasting.units import convert, default_unit

    key = _key(meter, zone, city)
    if freq == "D" and horizon > 90:
        raise click.UsageError("--horizon is at most 90 days with --freq D (2160 hours with --freq h)")
    with _open(settings) as store:
        cur = store.cursor()
        try:
            series_tz = load_hourly(cur, key).tz
            request = ForecastRequest(key, freq, horizon, until_utc(until, tz or series_tz), station)
            series, result = forecast_for(cur, request, config_from(settings), settings.forecast_cache_dir)
            frame, out_unit = convert(result.frame, series.unit, unit or default_unit(series.unit, series.imported_unit))
        except (SeriesError, ForecastError, ValueError) as err:
            raise click.ClickException(str(err)) from None
    clock = tz or series.tz
    if freq == "h":
        stamps = frame.index.tz_localize("UTC").tz_convert(clock)
    else:
        stamps = frame.index.tz_localize(series.tz, ambiguous=True, nonexistent="shift_forward")
    table = pd.DataFrame({"ts": [s.isoformat() for s in stamps], "yhat": frame["yhat"].round(4),
                          "yhat_lower": frame["yhat_lower"].round(4), "yhat_upper": frame["yhat_upper"].round(4),
                          "unit": out_unit})
    write_csv(table, out, f"{len(table):,} periods of {key.label}")


@click.command("backtest")
@click.option("--meter", "meters", multiple=True, metavar="ID", help="Meter to backtest (repeatable).")
@click.option("--zone", default=None, metavar="ID", help="Backtest this zone's demand.")
@click.option("--inlets-of", "inlets_of", default=None, metavar="ZONE",
              help="Backtest every inlet flow meter of ZONE as its own series (e.g. the ten BWDF DMAs).")
@click.option("--city", is_flag=True, help="Backtest the whole city.")
@click.option("--start", required=True, help="First forecast week starts on the first Monday from here (local).")
@click.option("--end", required=True, help="No forecast week starts on or after this day.")
@click.option("--every", default=1, show_default=True, type=click.IntRange(1, 52), help="Use every Nth week.")
@click.option("--freq", type=click.Choice(["h", "D"]), default="h", show_default=True)
@click.option("--selection-every", "selection_every", default=None, type=click.IntRange(2, 52), metavar="N",
              help="Also report the selection weeks (every Nth of the weeks, from the first; the weeks defaults "
                   "were chosen on) and the held-out rest separately.")
@click.option("--markdown", "markdown", default=None, type=click.Path(dir_okay=False),
              help="Also write the tables as Markdown to this file.")
@settings_options
def backtest_command(settings: Settings, meters: tuple[str, ...], zone: str | None, inlets_of: str | None, city: bool,
                     start: str, end: str, every: int, freq: str, selection_every: int | None,
                     markdown: str | None) -> None:
    """Rolling-origin backtest: PI1, PI2, PI3 and MAPE of the model beside the two naive baselines."""
    from forecasting.backtest import backtest, summary, weekly_origins
    from forecasting.report import markdown_report, text_report
    from forecasting.series import load_series
    from forecasting.weather import load_weather

    with _open(settings) as store:
        cur = store.cursor()
        keys = _series_keys(cur, meters, zone, inlets_of, city)
        config = config_from(settings)
        scores, selected = [], set()
        started = time.perf_counter()
        for key in keys:
            try:
                series = load_series(cur, key, freq)
            except SeriesError as err:
                raise click.ClickException(str(err)) from None
            weather = load_weather(cur, series.weather_station or _any_station(cur))
            origins = weekly_origins(series, start, end)[::every]
            selected.update(origins[::selection_every or 1])
            click.echo(f"{key.label}: {len(origins)} weeks", err=True)
            scores.append(backtest(series, origins, weather, config))
    all_scores = pd.concat(scores, ignore_index=True) if scores else pd.DataFrame()
    if all_scores.empty:
        raise click.ClickException("no week in the range had enough data to score")
    elapsed = time.perf_counter() - started
    subsets = {}
    if selection_every:
        chosen = all_scores["origin"].isin(selected)
        subsets = {f"Selection weeks (one in {selection_every}, from the first)": summary(all_scores[chosen]),
                   "Held-out weeks": summary(all_scores[~chosen])}
    click.echo(text_report(all_scores, summary(all_scores), subsets))
    click.echo(f"({elapsed:.0f} s)", err=True)
    if markdown:
        Path(markdown).write_text(markdown_report(all_scores, summary(all_scores), subsets))
        click.echo(f"Wrote {markdown}", err=True)


def _series_keys(cur: duckdb.DuckDBPyConnection, meters: tuple[str, ...], zone: str | None, inlets_of: str | None,
                 city: bool) -> list[SeriesKey]:
    """The series named by --meter, --zone, --inlets-of and --city."""
    keys = [SeriesKey("meter", m) for m in meters]
    if zone:
        keys.append(SeriesKey("zone", zone))
    if city:
        keys.append(SeriesKey(CITY))
    if inlets_of:
        found = [r[0] for r in cur.execute("SELECT meter_id FROM meters WHERE zone_id = ? AND category = 'inlet' "
                                           "ORDER BY meter_id", [inlets_of]).fetchall()]
        if not found:
            raise click.ClickException(f"zone {inlets_of!r} has no inlet meters")
        keys += [SeriesKey("meter", m) for m in found]
    if not keys:
        raise click.UsageError("give --meter ID, --zone ID, --inlets-of ZONE or --city")
    return keys


@click.command("forecast-coverage")
@click.option("--meter", "meters", multiple=True, metavar="ID", help="Meter to check (repeatable).")
@click.option("--zone", default=None, metavar="ID", help="Check this zone's demand.")
@click.option("--inlets-of", "inlets_of", default=None, metavar="ZONE", help="Check every inlet flow meter of ZONE.")
@click.option("--city", is_flag=True, help="Check the whole city.")
@click.option("--origins", required=True, metavar="DAY,DAY,...",
              help="Forecast origins (UTC days); each forecast sees only the data before its origin.")
@click.option("--horizon", default=90, show_default=True, type=click.IntRange(1, 3650), help="Periods ahead.")
@click.option("--freq", type=click.Choice(["h", "D"]), default="D", show_default=True)
@settings_options
def coverage_command(settings: Settings, meters: tuple[str, ...], zone: str | None, inlets_of: str | None, city: bool,
                     origins: str, horizon: int, freq: str) -> None:
    """Share of observed periods inside the forecast interval, overall and per week ahead."""
    from forecasting.coverage import coverage_report, interval_coverage
    from forecasting.series import load_series
    from forecasting.weather import load_weather

    try:
        starts = [pd.Timestamp(day.strip()) for day in origins.split(",") if day.strip()]
    except ValueError as err:
        raise click.BadParameter(f"not a day: {err}", param_hint="--origins") from None
    with _open(settings) as store:
        cur = store.cursor()
        config = config_from(settings)
        periods = []
        for key in _series_keys(cur, meters, zone, inlets_of, city):
            try:
                series = load_series(cur, key, freq)
            except SeriesError as err:
                raise click.ClickException(str(err)) from None
            weather = load_weather(cur, series.weather_station or _any_station(cur))
            periods.append(interval_coverage(series, starts, horizon, weather, config))
    click.echo(coverage_report(pd.concat(periods, ignore_index=True), config.interval))


def _any_station(cur: duckdb.DuckDBPyConnection) -> str | None:
    row = cur.execute("SELECT meter_id FROM meters WHERE category = 'weather' ORDER BY meter_id LIMIT 1").fetchone()
    return row[0] if row else None


@click.command("forecast")
@click.option("--days", default=365, show_default=True, help="Days of simulated history (without --db).")
@click.option("--repeat", default=3, show_default=True)
@click.option("--db", default=None, help="Use this store instead of a simulated city.")
@click.option("--meter", default=None, metavar="ID", help="With --db: the meter to forecast.")
@click.option("--zone", default=None, metavar="ID", help="With --db: the zone to forecast.")
def bench_forecast(days: int, repeat: int, db: str | None, meter: str | None, zone: str | None) -> None:
    """Fit+predict one zone-year hourly, and what-if scenario timings (docs/PERFORMANCE.md)."""
    from forecasting.bench import run_forecast_bench

    key = _key(meter, zone, False) if db else None
    for line in run_forecast_bench(days, repeat, db, key):
        click.echo(line)


@click.command("forecast-page")
@click.option("--db", default=None, help="Copy this store (default: backfill --days of the simulated city).")
@click.option("--days", default=42, show_default=True)
@click.option("--zone", default="Z2", show_default=True)
def bench_forecast_page(db: str | None, days: int, zone: str) -> None:
    """Forecast page callbacks timed as functions (docs/PERFORMANCE.md): none should block > 300 ms."""
    from bench.forecast_page import run_page_bench

    for line in run_page_bench(db, days, zone):
        click.echo(line)
