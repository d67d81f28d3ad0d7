"""What the store holds right now: a table's columns.

The detection and alert packages create their tables on first use, and a store
written by an older Waterline lacks the columns added since (each event's
`concern`, 2026-11-24). A reader asks here before it selects, so that a read
never fails on a store whose writer has not caught up yet; a writer asks before
it adds a missing column.
"""

from __future__ import annotations

import duckdb


def table_columns(cur: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """The columns of ``table`` (none when there is no such table)."""
    return {c for (c,) in cur.execute("SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' "
                                      "AND table_name = ?", [table]).fetchall()}
