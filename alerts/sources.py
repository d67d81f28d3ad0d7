"""Where the alert service gets its events: the detector's own scan, or the events it stored.

The service takes any `detect(cursor, now) -> event frame`. The usual one is
the detection package's scan of recent readings; `stored_events` reads the
`detected_events` table instead (events a separate `detect` run persisted),
so alerts can follow a detector that runs on its own schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import duckdb
import pandas as pd

from alerts.lifecycle import EVENT_COLUMNS, OPTIONAL_COLUMNS
from data.queries.catalog import table_columns


def stored_events(lookback: timedelta = timedelta(days=2)) -> Callable[[duckdb.DuckDBPyConnection, datetime], pd.DataFrame]:
    """A detect callable returning stored events that were still going within ``lookback`` of now."""

    def detect(cur: duckdb.DuckDBPyConnection, now: datetime) -> pd.DataFrame:
        present = table_columns(cur, "detected_events")
        if not present:
            return pd.DataFrame(columns=[*EVENT_COLUMNS, *OPTIONAL_COLUMNS])
        columns = ", ".join(f'"{c}"' if c in present else f'NULL AS "{c}"' for c in [*EVENT_COLUMNS, *OPTIONAL_COLUMNS])
        return cur.execute(f'SELECT {columns} FROM detected_events WHERE "end" >= ? AND start <= ? '
                           'ORDER BY start', [now - lookback, now]).df()

    return detect
