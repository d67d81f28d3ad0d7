"""`python -m dashapp export`: consumption per hour, day, week or month as CSV.

The query is `data.export.consumption_by_period`; this command reads the store
(read-only, so it works beside another reader but not while `serve` writes) and
writes the table to a file or to stdout.
"""

from __future__ import annotations

import click
import duckdb

from dashapp.commands.csv_out import write_csv
from dashapp.options import settings_options
from dashapp.settings import Settings
from data.export import FREQUENCIES, consumption_by_period
from data.store import Store
from data.units import VOLUME_DISPLAY


@click.command("export")
@click.option("--meter", "meters", multiple=True, metavar="ID", help="Meter to export (repeatable).")
@click.option("--zone", default=None, metavar="ID", help="Zone to export as one series.")
@click.option("--freq", type=click.Choice(FREQUENCIES), default="D", show_default=True,
              help="h = hour, D = day, W = ISO week (Monday), M = month.")
@click.option("--start", default=None, help="First day or time (inclusive), read in --tz; default: all.")
@click.option("--end", default=None, help="Day or time to stop before (exclusive), read in --tz; default: all.")
@click.option("--tz", default=None, help="Clock of periods and of --start/--end (default: each meter's own).")
@click.option("--unit", type=click.Choice(list(VOLUME_DISPLAY)), default="L", show_default=True)
@click.option("--out", default="-", show_default=True, help="CSV file to write, or - for stdout.")
@settings_options
def export_command(settings: Settings, meters: tuple[str, ...], zone: str | None, freq: str, start: str | None,
                   end: str | None, tz: str | None, unit: str, out: str) -> None:
    """Export consumption of --meter IDs or of a --zone per period as CSV."""
    if bool(meters) == bool(zone):
        raise click.UsageError("give --meter ID (one or more) or --zone ID")
    try:
        with Store(settings.db, read_only=True) as store:
            table = consumption_by_period(store.cursor(), meter_ids=list(meters) or None, zone_id=zone,
                                          freq=freq, start=start, end=end, tz=tz, unit=unit)
    except duckdb.Error as err:
        raise click.ClickException(f"cannot read the store {settings.db}: {err}") from None
    except ValueError as err:
        raise click.ClickException(str(err)) from None
    write_csv(table, out, f"{len(table):,} rows")
