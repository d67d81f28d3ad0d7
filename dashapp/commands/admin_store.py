"""Opening the store for an administrative command (`meters`, `quarantine`).

Such a command opens the file itself, so it cannot run beside the `serve` or `listen`
that holds it (DuckDB allows one writing process); it says so in one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import duckdb

from dashapp.settings import Settings
from data.store import Store, StoreOptions


@contextmanager
def open_store(settings: Settings, write: bool) -> Iterator[Store]:
    """The store of an administrative command, or a one-line error: none there, or held by a server."""
    if not Path(settings.db).is_file():
        raise click.ClickException(f"no store at {settings.db} (give --db FILE)")
    try:
        with Store(settings.db, StoreOptions(settings.unknown_meters, settings.default_tz),
                   read_only=not write) as store:
            yield store
    except duckdb.IOException as err:
        raise click.ClickException(f"cannot open the store {settings.db}: {err}. Stop the `serve` or `listen` "
                                   "that holds it, run this again, and start it again.") from None
