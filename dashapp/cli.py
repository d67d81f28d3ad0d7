"""The `python -m dashapp` command line: one click group, one module per command family.

Every command takes `--db` and `--config`; flags override `WATERLINE_*` variables,
which override the TOML file (see dashapp.settings).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

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


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def main() -> None:
    """Waterline: water monitoring from meters and sensors over MQTT."""


def _register_commands() -> None:
    from dashapp.commands import bench, exporting, importing, serving

    main.add_command(serving.serve)
    main.add_command(serving.listen)
    main.add_command(serving.demo)
    main.add_command(importing.import_command)
    main.add_command(exporting.export_command)
    main.add_command(bench.bench)


_register_commands()
