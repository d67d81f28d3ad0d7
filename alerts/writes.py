"""Writing alerts beside the ingest writer: a transaction on a cursor of the one store connection.

The ingest writer owns the readings tables; alert writes touch only the alert
tables, so they run on their own cursor of the same connection (DuckDB allows
concurrent transactions on different tables). Alert writers (the service
thread and the page's buttons) are serialised by one lock per store, so two
changes to the same alert never conflict.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from alerts.schema import ensure_alert_tables
from data.store import Store

_locks: weakref.WeakKeyDictionary[Store, threading.Lock] = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def _lock_of(store: Store) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(store, threading.Lock())


@contextmanager
def alert_transaction(store: Store) -> Iterator[duckdb.DuckDBPyConnection]:
    """A committed-or-rolled-back transaction over the alert tables (created if missing)."""
    with _lock_of(store):
        cur = store.cursor()
        try:
            cur.begin()
            try:
                ensure_alert_tables(cur)
                yield cur
                cur.commit()
            except BaseException:
                cur.rollback()
                raise
        finally:
            cur.close()
