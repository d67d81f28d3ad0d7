"""`python -m dashapp meters`: the asset register, listed, loaded from a file, or corrected meter by meter.

The work is `data.meter_changes`; this module reads the register file, turns flags
into register rows and prints what changed. Like `import`, it opens the store for
writing, so it runs when nothing serves that file.
"""

from __future__ import annotations

import click
import pandas as pd

from dashapp.commands.admin_store import open_store
from dashapp.commands.csv_out import write_csv
from dashapp.options import settings_options
from dashapp.settings import Settings
from data.meter_changes import MeterChanges
from data.register_rows import COLUMN_ALIASES, REGISTER_COLUMNS, register_column

#: Refusals printed in full; the rest are counted.
SHOWN_REFUSALS = 20


@click.group("meters")
def meters() -> None:
    """The registered meters: list them, load an asset register, correct a meter.

    Columns of a register: meter_id, quantity, unit, zone_id, category, to_zone_id, tz,
    register_size_l, max_flow_l_s, weather_station. An empty cell keeps what the store has;
    '-' clears an optional one. Moving a meter to another zone or category, or another time
    zone, moves its history in the zone rollups with it (docs/IMPORT.md, "Meters").
    """


@meters.command("list")
@click.option("--zone", "zone_id", default=None, help="Only the meters of this zone (and the outlets into it).")
@click.option("--category", default=None, help="Only the meters of this category.")
@click.option("--out", default="-", show_default=True, help="CSV file to write, or - for stdout.")
@settings_options
def list_meters(settings: Settings, zone_id: str | None, category: str | None, out: str) -> None:
    """Write the registered meters as a register CSV, which `meters load` reads back."""
    from data.queries.meters import meter_register

    with open_store(settings, write=False) as store:
        table = meter_register(store.cursor(), zone_id, category)
    write_csv(table, out, f"{len(table):,} meters")


@meters.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Say what would change, and change nothing.")
@settings_options
def load_meters(settings: Settings, file: str, dry_run: bool) -> None:
    """Register the meters of a register CSV that are new, and update the others from its non-empty cells."""
    rows = read_register(file)
    with open_store(settings, write=True) as store:
        changes = store.change_meters(rows, dry_run=dry_run)
    click.echo(format_changes(changes, dry_run))


@meters.command("set")
@click.argument("meter_ids", nargs=-1, required=True, metavar="METER_ID...")
@click.option("--zone", "zone_id", default=None, help="Zone the meters are in ('-': none).")
@click.option("--category", default=None, help="residential, commercial, industrial, municipal, inlet, outlet, "
                                               "sensor, ... ('-': none).")
@click.option("--to-zone", "to_zone_id", default=None,
              help="Outlets: the zone their water goes on to ('-': out of the network).")
@click.option("--tz", default=None, help="IANA time zone of the meters' local days, e.g. Europe/Rome.")
@click.option("--register-size-l", default=None, help="Litres at which a register wraps ('-': inferred).")
@click.option("--max-flow-l-s", default=None, help="Largest plausible flow in L/s ('-': the category's).")
@click.option("--weather-station", default=None, help="Weather station of the meters' forecasts ('-': none).")
@click.option("--dry-run", is_flag=True, help="Say what would change, and change nothing.")
@settings_options
def set_meters(settings: Settings, meter_ids: tuple[str, ...], dry_run: bool, **fields: str | None) -> None:
    """Change registered meters: the same values for each METER_ID."""
    given = {column: value for column, value in fields.items() if value is not None}
    if not given:
        raise click.UsageError("give at least one value to change (--zone, --category, --to-zone, --tz, ...)")
    rows = [(meter_id, {"meter_id": meter_id, **given}) for meter_id in meter_ids]
    with open_store(settings, write=True) as store:
        changes = store.change_meters(rows, register_new=False, dry_run=dry_run)
    click.echo(format_changes(changes, dry_run))
    if changes.refused:
        raise click.ClickException(f"{len(changes.refused)} of {len(meter_ids)} meters not changed")


def read_register(file: str) -> list[tuple[str, dict[str, str]]]:
    """A register CSV's rows as ``(line, {column: text})``; a heading that is no register column fails it."""
    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False, sep=None, engine="python")
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise click.ClickException(f"cannot read {file}: {err}") from None
    names = {heading: register_column(heading) for heading in frame.columns}
    ignored = {"registered_by", "registered_at", "last_seen_at"}  # written by `meters list`, not settable
    unknown = [h for h, name in names.items() if name is None and h.strip().lower() not in ignored]
    if unknown:
        raise click.ClickException(
            f"{file}: columns {', '.join(map(repr, unknown))} are not register columns; use "
            f"{', '.join(REGISTER_COLUMNS)} (or {', '.join(COLUMN_ALIASES)})")
    if "meter_id" not in names.values():
        raise click.ClickException(f"{file}: no meter_id column")
    frame = frame[[h for h, name in names.items() if name is not None]].rename(columns=names)
    return [(f"line {i + 2}", row) for i, row in enumerate(frame.to_dict("records"))]


def format_changes(changes: MeterChanges, dry_run: bool = False) -> str:
    would = "would be " if dry_run else ""
    refused_note = "  (the reasons below; nothing of theirs changed)" if changes.refused else ""
    lines = ["Meters (dry run, nothing changed):" if dry_run else "Meters:",
             f"  registered   {len(changes.registered):>8,}",
             f"  updated      {len(changes.updated):>8,}",
             f"  unchanged    {len(changes.unchanged):>8,}",
             f"  refused      {len(changes.refused):>8,}{refused_note}"]
    if changes.zones_created:
        lines.append(f"Zones {would}created: {_some(changes.zones_created)}")
    if changes.moved:
        lines.append(f"History {would}moved to another zone or category: {_some(changes.moved)}")
    if changes.retimed:
        lines.append(f"Daily totals {would}redrawn on a new time zone: {_some(changes.retimed)}")
    if changes.refused:
        shown = changes.refused[:SHOWN_REFUSALS]
        lines.append(f"First {len(shown)} refused:" if len(changes.refused) > len(shown) else "Refused:")
        lines.extend(f"  {refusal.where}: {refusal.reason}" for refusal in shown)
    return "\n".join(lines)


def _some(ids: list[str], limit: int = 10) -> str:
    return ", ".join(ids[:limit]) + (f" and {len(ids) - limit:,} more" if len(ids) > limit else "")
