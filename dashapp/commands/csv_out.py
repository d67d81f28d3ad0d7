"""A command's table written as CSV, to a file or to stdout (``--out -``), as every CSV-writing command does."""

from __future__ import annotations

import click
import pandas as pd


def write_csv(table: pd.DataFrame, out: str, what: str) -> None:
    """Write ``table`` to ``out`` (``-``: stdout); for a file, say on stderr that ``what`` was written there."""
    if out == "-":
        click.echo(table.to_csv(index=False), nl=False)
    else:
        table.to_csv(out, index=False)
        click.echo(f"Wrote {what} to {out}", err=True)
