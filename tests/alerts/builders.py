"""Event frames as the detection package produces them, built by hand for alert tests."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pandas as pd

from alerts.schema import ensure_alert_tables
from data.schema import DDL

T0 = datetime(2025, 7, 9, 2, 0)


def event(event_id: str = "ev-1", meter_id: str = "Z1-R-0001", zone_id: str | None = "Z1",
          kind: str = "continuous_flow", start: datetime = T0, hours: float = 6.0, score: float = 0.8,
          severity: str = "warning", detector: str = "rules", lost_volume_l: float = 120.0,
          cost: float = 0.3, explanation: str | None = None, concern: str | None = "water_loss") -> dict:
    return {
        "event_id": event_id, "meter_id": meter_id, "zone_id": zone_id, "kind": kind,
        "detector": detector, "start": start, "end": start + timedelta(hours=hours), "score": score,
        "severity": severity,
        "explanation": explanation or f"flow never stopped for {hours:.0f} h (minimum 5 L/h)",
        "lost_volume_l": lost_volume_l, "cost": cost, "concern": concern,
    }


def band(event_id: str, side: str, day: int) -> dict:
    """A pressure excursion on Z1-INLET: above its band is a pump or valve (operations), below it water loss."""
    return event(event_id, meter_id="Z1-INLET", kind="pressure_out_of_band", start=T0 + timedelta(days=day),
                 hours=2, explanation=f"Pressure {side} its usual band 2.10-3.40 bar",
                 concern="operations" if side == "above" else "water_loss")


def events(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(event().keys()))


def alert_db(meters: list[tuple[str, str, str]] = (("Z1-R-0001", "Z1", "residential"),
                                                    ("Z1-INLET", "Z1", "inlet"),
                                                    ("Z2-R-0001", "Z2", "residential"))) -> duckdb.DuckDBPyConnection:
    """An in-memory store with the Waterline schema, a few meters and the alert tables."""
    cur = duckdb.connect(":memory:")
    cur.execute(DDL)
    cur.executemany("INSERT INTO zones (zone_id, name, tz) VALUES (?, ?, 'Europe/Rome')",
                    [("Z1", "Hillside"), ("Z2", "Riverside")])
    cur.executemany("INSERT INTO meters (meter_id, zone_id, category, quantity) VALUES (?, ?, ?, 'volume')",
                    list(meters))
    ensure_alert_tables(cur)
    return cur


def alert_rows(cur: duckdb.DuckDBPyConnection) -> list[dict]:
    return cur.execute("SELECT * FROM alerts ORDER BY opened_at, alert_id").df().to_dict("records")
