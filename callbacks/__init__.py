"""Callbacks of every page. Each module must be imported here, or it registers nothing."""

from callbacks import (
    explore,  # noqa: F401
    overview,  # noqa: F401
    zones,  # noqa: F401
)
