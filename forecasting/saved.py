"""Named what-if scenarios saved in the store, so planners can come back to them and compare.

The table is created on first use; a name saved again replaces the earlier one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import pandas as pd

from forecasting.scenarios import Comparison, Scenario

DDL = """
CREATE TABLE IF NOT EXISTS forecast_scenarios (
    name             VARCHAR PRIMARY KEY,
    series_kind      VARCHAR NOT NULL,
    series_id        VARCHAR NOT NULL,
    freq             VARCHAR NOT NULL,
    horizon          INTEGER NOT NULL,
    params           JSON NOT NULL,
    volume_change_l  DOUBLE,
    volume_change_pct DOUBLE,
    peak_change_l_s  DOUBLE,
    saved_at         TIMESTAMP NOT NULL
)
"""


class ScenarioNameError(ValueError):
    """A scenario needs a name of 1..60 characters."""


def save_scenario(cur: duckdb.DuckDBPyConnection, scenario: Scenario, kind: str, ident: str, freq: str, horizon: int,
                  comparison: Comparison) -> None:
    name = scenario.name.strip()
    if not name or len(name) > 60:
        raise ScenarioNameError("give the scenario a name of 1 to 60 characters")
    cur.execute(DDL)
    cur.execute("DELETE FROM forecast_scenarios WHERE name = ?", [name])
    cur.execute("INSERT INTO forecast_scenarios VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [name, kind, ident, freq, horizon, json.dumps(scenario.to_dict()), comparison.volume_change_l,
                 comparison.volume_change_pct, comparison.peak_change_l_s,
                 datetime.now(UTC).replace(tzinfo=None)])


def saved_scenarios(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every saved scenario, newest first (an empty table before the first save)."""
    cur.execute(DDL)
    return cur.execute("""SELECT name, series_kind, series_id, freq, horizon, params, volume_change_l,
                                 volume_change_pct, peak_change_l_s, saved_at
                          FROM forecast_scenarios ORDER BY saved_at DESC""").df()


def load_scenario(cur: duckdb.DuckDBPyConnection, name: str) -> Scenario | None:
    cur.execute(DDL)
    row = cur.execute("SELECT params FROM forecast_scenarios WHERE name = ?", [name]).fetchone()
    return Scenario.from_dict(json.loads(row[0])) if row else None
