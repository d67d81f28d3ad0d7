"""`python -m dashapp quarantine`: what the store refused, and a replay of it once what refused it is put right.

The work is `data.quarantine_replay`, run by `Store.replay_quarantine`; this module
turns flags into its selection and prints what happened. Like `import`, it opens the
store for writing (a replay stores readings), so it runs when nothing serves that file.
"""

from __future__ import annotations

import click

from dashapp.commands.admin_store import open_store
from dashapp.options import settings_options
from dashapp.settings import Settings
from data.quarantine_replay import UNKNOWN_METER_REASON


@click.group("quarantine")
def quarantine() -> None:
    """Messages and readings the store refused, each kept with its reason (docs/MQTT.md)."""


@quarantine.command("list")
@settings_options
def list_quarantine(settings: Settings) -> None:
    """Quarantined messages by kind of reason, the most first, each kind with one of its reasons."""
    from data.queries.health import quarantine_reasons

    with open_store(settings, write=False) as store:
        table = quarantine_reasons(store.cursor(), limit=1000)
    if table.empty:
        click.echo("Nothing is quarantined.")
        return
    table["last_at"] = table["last_at"].dt.strftime("%Y-%m-%d %H:%M")
    click.echo(table[["messages", "last_at", "reason"]].to_string(index=False, justify="left"))


@quarantine.command("replay")
@click.option("--meter", "meter_ids", multiple=True, metavar="ID", help="Only this meter's (repeatable).")
@click.option("--reason", default=None, metavar="PATTERN",
              help="Only messages whose reason is LIKE this (case-insensitive; % is any text), e.g. '%future%'. "
                   "Default: the unknown-meter policy's, which registering the meters puts right.")
@click.option("--all", "every_reason", is_flag=True, help="Messages of any reason.")
@click.option("--dry-run", is_flag=True, help="Say what would happen, and change nothing.")
@settings_options
def replay(settings: Settings, meter_ids: tuple[str, ...], reason: str | None, every_reason: bool,
           dry_run: bool) -> None:
    """Send quarantined messages through the listener's checks again, as of when each arrived; store what
    passes now."""
    from data.payload import PayloadLimits
    from dashapp.runtime import validation_rules

    if reason is not None and every_reason:
        raise click.UsageError("give --reason PATTERN or --all, not both")
    limits = PayloadLimits(settings.max_payload_bytes, settings.max_readings_per_message)
    with open_store(settings, write=True) as store:
        done = store.replay_quarantine(validation_rules(settings), limits, list(meter_ids) or None,
                                       None if every_reason else (reason or UNKNOWN_METER_REASON), dry_run)
    would = " (dry run, nothing changed)" if dry_run else ""
    result = done.result
    click.echo("\n".join([
        f"Quarantined messages looked at: {done.considered:,}{would}",
        f"  left quarantine      {done.replayed:>8,}",
        f"  stayed as they were  {done.considered - done.replayed:>8,}  (nothing of them passes yet)",
        "Their readings:",
        f"  stored               {result.stored:>8,}",
        f"  already stored       {result.duplicates:>8,}",
        f"  refused again        {result.quarantined:>8,}  (back in quarantine with today's reason)",
    ]))
