"""`python -m dashapp import FILE...`: load history files into the store and say what happened.

The work is `data.importing.import_file`; this command turns flags into an
`ImportSpec`, opens the store, and prints a summary a user can act on for each
file. Bad rows do not fail the command (they are quarantined and listed); a file
that cannot be read at all is reported, the others are still imported, and the
command then fails naming it.
"""

from __future__ import annotations

import re

import click
import duckdb
import pyarrow as pa

from dashapp.options import settings_options
from dashapp.settings import Settings
from data.import_spec import PRESETS, ImportSpecError, parse_mapping
from data.importing import ImportReport, import_file, resolve_spec
from data.store import Store, StoreOptions

DECIMAL_COMMA = re.compile(r"value '-?\d+,\d+' is not a finite number")
READ_ERRORS = (ImportSpecError, ValueError, OSError, pa.ArrowException, UnicodeDecodeError)


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "format_name", type=click.Choice(list(PRESETS)), default=None,
              help="Layout or preset; detected from the header when omitted.")
@click.option("--tz", default=None, help="Time zone of timestamps without offset (default: preset's, else settings).")
@click.option("--zone", default=None,
              help="Zone of the meters this file introduces; '{meter_id}' in it stands for each meter's id "
                   "(--zone '{meter_id}': every meter its own zone, as a file of DMA inflows needs), "
                   "'{file}' for the file's name without extensions (one file per district).")
@click.option("--category", default=None, help="Category of new meters (residential, inlet, outlet, ...).")
@click.option("--to-zone", "to_zone", default=None, metavar="ZONE",
              help="With --category outlet: the zone the outlets' water goes on to (a boundary meter between "
                   "two districts); without it, the water leaves the network.")
@click.option("--station", default=None, help="Weather station id (bwdf-weather).")
@click.option("--ts-column", default=None, help="Timestamp column of a wide file.")
@click.option("--ts-format", default=None, help="strptime format of local timestamps, e.g. '%d/%m/%Y %H:%M'.")
@click.option("--decimal", type=click.Choice([".", ","]), default=None,
              help="Decimal mark of the file's numbers: ',' for '1234,5' (default: the preset's, else '.').")
@click.option("--map", "maps", multiple=True, metavar="COLUMN=METER:QUANTITY:UNIT",
              help="Read a wide column as one meter's quantity (repeatable).")
@click.option("--map-regex", "regex_maps", multiple=True, metavar="REGEX=METER_TEMPLATE:QUANTITY:UNIT",
              help="Read every column the regex matches; the template uses its groups, e.g. DMA_{id}, "
                   "and {file}, the file's name without extensions.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr.")
@settings_options
def import_command(settings: Settings, files: tuple[str, ...], format_name: str | None, tz: str | None,
                   zone: str | None, category: str | None, to_zone: str | None, station: str | None,
                   ts_column: str | None,
                   ts_format: str | None, decimal: str | None, maps: tuple[str, ...], regex_maps: tuple[str, ...],
                   progress: bool) -> None:
    """Import FILES (CSV, CSV.GZ or Parquet; long, wide or a preset format), each with the same options."""
    try:
        mappings = tuple(parse_mapping(m) for m in maps) + tuple(parse_mapping(m, regex=True) for m in regex_maps)
    except ImportSpecError as err:
        raise click.ClickException(str(err)) from None
    if mappings and format_name is None:
        format_name = "wide"
    if to_zone is not None and category != "outlet":
        raise click.UsageError("--to-zone names where an outlet's water goes: give it with --category outlet")
    options = dict(tz=tz, zone=zone, category=category, to_zone=to_zone, station=station, ts_column=ts_column,
                   ts_format=ts_format, mappings=mappings)
    failed = []
    try:
        with Store(settings.db, StoreOptions(settings.unknown_meters, settings.default_tz)) as store:
            for file in files:
                try:
                    click.echo(import_one(store, file, format_name, decimal, options, progress))
                except click.ClickException as err:
                    if len(files) == 1:
                        raise
                    click.echo(f"Error: {err.format_message()}", err=True)
                    failed.append(file)
    except duckdb.IOException as err:
        raise click.ClickException(f"cannot open the store {settings.db}: {err}") from None
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(files)} files not imported: {', '.join(failed)}")


def import_one(store: Store, file: str, format_name: str | None, decimal: str | None, options: dict,
               progress: bool) -> str:
    """Import one file; its summary, or a ClickException saying why it could not be read."""
    try:
        name, spec = resolve_spec(file, format_name, **options)
        report = import_file(store, file, spec.with_options(decimal=decimal), progress=progress)
    except READ_ERRORS as err:
        raise click.ClickException(f"cannot import {file}: {err}") from None
    if report.rows_read == 0:
        raise click.ClickException(f"nothing to import: {file} has no data rows")
    return format_summary(report, name)


def format_summary(report: ImportReport, format_name: str) -> str:
    lines = [
        f"Imported {report.path} ({format_name}) in {report.seconds:.1f} s: {report.rows_per_s:,.0f} rows/s, "
        f"{report.readings / max(report.seconds, 1e-9):,.0f} readings/s",
        f"  rows read          {report.rows_read:>12,}",
        f"  readings stored    {report.stored:>12,}",
        f"  duplicates         {report.duplicates:>12,}  (already stored, skipped)",
        f"  bad rows           {report.bad_rows:>12,}  (quarantined with the reason)",
    ]
    if report.missing_cells:
        lines.append(f"  empty cells        {report.missing_cells:>12,}  (missing values, skipped)")
    lines.append(f"  meters             {len(report.meters):>12,}  ({report.meters_registered:,} new)")
    if report.implausible_intervals:
        lines.append(f"  warning: {report.implausible_intervals:,} intervals exceed the meters' max flow and were not "
                     "counted as consumption; check --category")
    if report.first_bad:
        shown = len(report.first_bad)
        lines.append(f"First {shown} bad rows:" if report.bad_rows > shown else "Bad rows:")
        lines.extend(f"  {bad.reason}" for bad in report.first_bad)
        if any(DECIMAL_COMMA.search(bad.reason) for bad in report.first_bad):
            lines.append("Numbers like '1234,5' use a decimal comma: import again with --decimal ,")
    return "\n".join(lines)
