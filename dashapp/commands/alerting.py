"""`python -m dashapp alert-rules`: list, set and remove the rules that give events their severity and threshold.

For setting a store up before `serve` starts, or from a deployment script; while
`serve` holds the store, change rules on the Alert rules page (/alerts/rules).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
import duckdb

from dashapp.options import settings_options
from dashapp.settings import Settings
from detection.events import CONCERNS, KINDS


def _rule_options(func):
    for option in reversed([
        click.option("--zone", "zone_id", default="*", show_default=True, help="Zone id, or * for any."),
        click.option("--category", default="*", show_default=True,
                     help="Meter category (residential, inlet, outlet, ...; 'zone' for zone-level events), or * for any."),
        click.option("--kind", default="*", show_default=True, type=click.Choice(["*", *KINDS]),
                     help="Event kind, or * for any."),
        click.option("--concern", default="*", show_default=True, type=click.Choice(["*", *CONCERNS]),
                     help="What the event is about, or * for any."),
    ]):
        func = option(func)
    return func


@contextmanager
def _rules_store(settings: Settings, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    from alerts.writes import alert_transaction
    from data.store import Store

    if not write and not Path(settings.db).is_file():
        raise click.ClickException(f"no store at {settings.db} (give --db FILE)")
    try:
        with Store(settings.db, read_only=not write) as store:
            if write:
                with alert_transaction(store) as cur:
                    yield cur
            else:
                yield store.cursor()
    except duckdb.IOException as err:
        raise click.ClickException(f"cannot open the store {settings.db}: {err}. If `serve` is running, change "
                                   "rules on its Alert rules page (/alerts/rules).") from None


@click.group("alert-rules")
def alert_rules() -> None:
    """The rules that set each event's severity (the zone status) and the score that opens an alert.

    The most specific rule matching an event wins: an exact kind counts most, then the concern, then the meter
    category, then the zone (docs/ALERTS.md).
    """


@alert_rules.command("list")
@settings_options
def list_rules(settings: Settings) -> None:
    """Print every rule, the broadest first."""
    from data.queries.alert_rules import rule_table

    with _rules_store(settings, write=False) as cur:
        table = rule_table(cur)
    table["severity"] = table["severity"].fillna("detector's")
    table["changed"] = [("default" if seeded else "unrecorded") if at is None
                        else f"{at:%Y-%m-%d %H:%M}" + (f" {by}" if by else "")
                        for at, by, seeded in zip(table["changed_at"], table["changed_by"], table["seeded"])]
    click.echo(table.drop(columns=["changed_at", "changed_by", "seeded"]).to_string(index=False))


@alert_rules.command("set")
@_rule_options
@click.option("--severity", default="keep", show_default=True,
              type=click.Choice(["keep", "info", "warning", "critical"]),
              help="Severity the matching events get; keep: the detector's own.")
@click.option("--min-score", required=True, help="Lowest score (0-1) that opens an alert.")
@click.option("--actor", default="cli", show_default=True, help="Who is changing it (kept with the rule).")
@settings_options
def set_rule(settings: Settings, zone_id: str, category: str, kind: str, concern: str, severity: str,
             min_score: str, actor: str) -> None:
    """Add the rule for one zone, category, kind and concern, or replace it."""
    from alerts.rules import save_rule

    try:
        with _rules_store(settings, write=True) as cur:
            rule = save_rule(cur, zone_id, category, kind, None if severity == "keep" else severity, min_score,
                             concern, actor, datetime.now(UTC).replace(tzinfo=None))
    except ValueError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"Saved: zone {rule.zone_id}, category {rule.category}, kind {rule.kind}, concern {rule.concern} → "
               f"{rule.severity or 'the detector’s severity'}, alerts from score {rule.min_score:.2f}")


@alert_rules.command("remove")
@_rule_options
@settings_options
def remove_rule(settings: Settings, zone_id: str, category: str, kind: str, concern: str) -> None:
    """Remove the rule for one zone, category, kind and concern."""
    from alerts.rules import delete_rule

    try:
        with _rules_store(settings, write=True) as cur:
            found = delete_rule(cur, zone_id, category, kind, concern)
    except ValueError as err:
        raise click.ClickException(str(err)) from None
    if not found:
        raise click.ClickException(f"no rule for zone {zone_id}, category {category}, kind {kind}, concern {concern}")
    click.echo(f"Removed the rule for zone {zone_id}, category {category}, kind {kind}, concern {concern}")
