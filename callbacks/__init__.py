"""Callbacks of every page. Each module must be imported here, or it registers nothing."""

from callbacks import (  # noqa: F401
    alert_rules,
    alerts,
    explore,
    forecast,
    health,
    meters,
    overview,
    tanks,
    zones,
)
