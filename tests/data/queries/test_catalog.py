"""A table's columns, asked before selecting from a store that may be older than the code."""

from __future__ import annotations

import duckdb

from data.queries.catalog import table_columns


def test_a_tables_columns_and_none_for_a_missing_table():
    cur = duckdb.connect(":memory:")
    cur.execute("CREATE TABLE alerts (alert_id VARCHAR, kind VARCHAR)")
    cur.execute("CREATE SCHEMA other")
    cur.execute("CREATE TABLE other.alerts (concern VARCHAR)")
    assert table_columns(cur, "alerts") == {"alert_id", "kind"}
    assert table_columns(cur, "detected_events") == set()
