"""The caller's scope: which meters a query may see, as a parameter of every query.

`None` means everything (an operator, the CLI); otherwise a collection of meter
ids. Roles and zone-scoped users turn into a scope; queries never check roles.
"""

from __future__ import annotations

from collections.abc import Collection

Scope = Collection[str] | None


def meter_filter(scope: Scope, column: str = "meter_id") -> tuple[str, list]:
    """A WHERE fragment and its parameters restricting ``column`` to the scope."""
    if scope is None:
        return "TRUE", []
    return f"{column} IN (SELECT unnest(?::VARCHAR[]))", [list(scope)]
