"""Readings as devices send them, and the store's rollups as pages read them, for data-path tests.

Readings go through `RawReading` and `validate_readings`, as the listener sends them,
so the store tests exercise the real path from decoded JSON to rollups.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from data.ingest import IngestResult
from data.payload import RawReading
from data.store import Store
from data.validation import ValidatedBatch, ValidationRules, validate_readings

UTC = UTC
T0 = datetime(2024, 6, 1, 0, 0, tzinfo=UTC)
TOPIC = "waterline/v1/readings/gw-1"
DELIVERY_DELAY = timedelta(seconds=30)


def at(hours: float = 0.0, minutes: float = 0.0, start: datetime = T0) -> datetime:
    """An instant ``hours`` and ``minutes`` after ``start`` (UTC midnight of 2024-06-01 by default)."""
    return start + timedelta(hours=hours, minutes=minutes)


def reading(meter_id: str, ts: datetime | str | int, value: Any, quantity: str = "volume",
            unit: str = "L", **extra: Any) -> dict[str, Any]:
    """One reading object as a device sends it (a timestamp as ISO 8601 with offset)."""
    return {
        "meter_id": meter_id,
        "ts": ts.isoformat() if isinstance(ts, datetime) else ts,
        "quantity": quantity,
        "value": value,
        "unit": unit,
        **extra,
    }


def register_series(meter_id: str, values: Iterable[float], step: timedelta = timedelta(hours=1),
                    start: datetime = T0, **extra: Any) -> list[dict[str, Any]]:
    """Cumulative register readings (litres) at a regular step."""
    return [reading(meter_id, start + i * step, v, **extra) for i, v in enumerate(values)]


def _received(fields: dict[str, Any], received_at: datetime | None) -> datetime:
    if received_at is not None:
        return received_at
    try:
        return datetime.fromisoformat(fields["ts"]) + DELIVERY_DELAY
    except (KeyError, TypeError, ValueError):
        return T0


def validated(readings: Iterable[dict[str, Any]], received_at: datetime | None = None,
              now: datetime | None = None, rules: ValidationRules = ValidationRules()) -> ValidatedBatch:
    """Validate readings the way the listener does; each arrives 30 s after its timestamp by default."""
    raws = [RawReading(fields, "gw-1", _received(fields, received_at)) for fields in readings]
    if now is None:
        now = max((raw.received_at for raw in raws), default=T0)
    return validate_readings(raws, rules, now)


def ingest(store: Store, readings: Iterable[dict[str, Any]], received_at: datetime | None = None,
           now: datetime | None = None, fold_rollups: bool = True) -> IngestResult:
    """Validate and store one batch, quarantining what validation refused."""
    batch = validated(readings, received_at, now)
    return store.ingest(batch.rows, batch.rejections, fold_rollups=fold_rollups)


def query(store: Store, sql: str, params: list | None = None) -> pd.DataFrame:
    return store.cursor().execute(sql, params or []).df()


def readings_row_groups(store: Store) -> int:
    """Row groups of `readings` written to the database file."""
    sql = "SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('readings') WHERE persistent"
    return store.cursor().execute(sql).fetchall()[0][0]


def meter_hourly(store: Store, meter_id: str) -> dict[datetime, float]:
    """Litres per UTC hour of one meter (hours with a zero total left out)."""
    frame = query(store, "SELECT hour, volume_l FROM meter_hourly WHERE meter_id = ? ORDER BY hour", [meter_id])
    return {row.hour.to_pydatetime(): round(row.volume_l, 6)
            for row in frame.itertuples() if abs(row.volume_l) > 1e-6}


def meter_daily(store: Store, meter_id: str) -> dict[str, float]:
    """Litres per local calendar day of one meter, keyed by ISO date."""
    frame = query(store, "SELECT day, volume_l FROM meter_daily WHERE meter_id = ? ORDER BY day", [meter_id])
    return {str(row.day)[:10]: round(row.volume_l, 6) for row in frame.itertuples() if abs(row.volume_l) > 1e-6}


def total_litres(store: Store, meter_id: str) -> float:
    return float(query(store, "SELECT coalesce(sum(volume_l), 0) AS v FROM consumption WHERE meter_id = ?",
                       [meter_id])["v"].iat[0])


ROLLUP_KEYS = {
    "meter_hourly": ["meter_id", "hour"],
    "meter_daily": ["meter_id", "day"],
    "zone_hourly": ["zone_id", "category", "hour"],
    "zone_daily": ["zone_id", "category", "day"],
}


def rollups(store: Store) -> dict[str, pd.DataFrame]:
    """Every consumption rollup, keyed and sorted, for comparing two stores."""
    out = {}
    for table, keys in ROLLUP_KEYS.items():
        frame = query(store, f"SELECT * FROM {table}")
        out[table] = frame.sort_values(keys).reset_index(drop=True)
    return out


def assert_same_rollups(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame],
                        columns: tuple[str, ...] = ("volume_l", "estimated_l"), label: str = "") -> None:
    """Equal rollups up to float rounding; a key missing on one side counts as zero litres."""
    for table, keys in ROLLUP_KEYS.items():
        merged = left[table].merge(right[table], on=keys, how="outer", suffixes=("_a", "_b"))
        for column in columns:
            a = merged[f"{column}_a"].fillna(0.0)
            b = merged[f"{column}_b"].fillna(0.0)
            bad = merged[(a - b).abs() > 1e-6 * (1 + b.abs())]
            assert bad.empty, f"{label} {table}.{column} differs:\n{bad.to_string()}"
