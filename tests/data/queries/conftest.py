"""A read-only cursor on the shared simulated city, for query tests."""

from __future__ import annotations

import duckdb
import pytest


@pytest.fixture(scope="module")
def city(city_db):
    conn = duckdb.connect(str(city_db), read_only=True)
    yield conn
    conn.close()
