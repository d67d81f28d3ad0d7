"""The options every command shares: --db and --config, turned into one `Settings` object.

Kept apart from dashapp.cli so that command modules can import it without importing
the command line that imports them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from dashapp.settings import Settings, SettingsError, load_settings


def settings_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add --db/--config to a command and pass it a `Settings` built from them and **overrides."""

    @click.option("--db", "db", default=None, help="DuckDB file (default var/waterline.duckdb).")
    @click.option("--config", "config_file", default=None, type=click.Path(dir_okay=False),
                  help="Optional TOML settings file.")
    @functools.wraps(func)
    def wrapper(db: str | None, config_file: str | None, **kwargs: Any) -> Any:
        overrides = {k: kwargs.pop(k) for k in list(kwargs) if k in Settings.__dataclass_fields__}
        try:
            settings = load_settings({"db": db, **overrides}, config_file)
        except SettingsError as err:
            raise click.UsageError(str(err)) from None
        return func(settings, **kwargs)

    return wrapper
