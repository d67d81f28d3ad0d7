"""`python -m dashapp bench ...`: benchmarks whose figures go to docs/PERFORMANCE.md."""

from __future__ import annotations

import click


@click.group()
def bench() -> None:
    """Measure Waterline on this machine (figures for docs/PERFORMANCE.md)."""
