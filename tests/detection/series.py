"""Constructed meter and sensor series for detector tests: a normal month, then the fault under test.

Readings go through the listener's validation into a real DuckDB store, so the
detectors read rollups and readings exactly as they do in the product.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from data.payload import RawReading
from data.store import Store
from data.validation import ValidationRules, validate_readings

START = pd.Timestamp("2024-03-04 00:00")     # a Monday, naive UTC
DAYS = 35
RULES = ValidationRules(max_past_s=None)


def household_hourly(days: int = DAYS, seed: int = 1, leak_l_h: float = 0.0, leak_from: pd.Timestamp | None = None,
                     ) -> pd.Series:
    """Litres per hour of a household: breakfast and evening use, nothing at night; plus an optional leak."""
    rng = np.random.default_rng(seed)
    hours = pd.date_range(START, periods=days * 24, freq="h")
    use = np.zeros(len(hours))
    for i, hour in enumerate(hours.hour):
        if hour in (6, 7, 18, 19, 20, 21) and rng.random() < 0.8:
            use[i] = float(rng.integers(5, 60))
        elif 9 <= hour <= 16 and rng.random() < 0.25:
            use[i] = float(rng.integers(2, 15))
    if leak_from is not None:
        use[hours >= leak_from] += leak_l_h
    return pd.Series(use, index=hours)


def register_readings(meter_id: str, litres_per_hour: pd.Series, start_value: float = 1000.0) -> pd.DataFrame:
    """Cumulative register readings (whole litres, as a meter shows them) at the end of every hour."""
    register = np.floor(start_value + litres_per_hour.cumsum().to_numpy())
    stamps = litres_per_hour.index + pd.Timedelta(hours=1)
    first = pd.DataFrame({"meter_id": [meter_id], "ts": [litres_per_hour.index[0]], "quantity": ["volume"],
                          "value": [start_value], "unit": ["L"]})
    rest = pd.DataFrame({"meter_id": meter_id, "ts": stamps, "quantity": "volume", "value": register, "unit": "L"})
    return pd.concat([first, rest], ignore_index=True)


def interval_readings(meter_id: str, litres_per_hour: pd.Series, per_hour: int = 4) -> pd.DataFrame:
    """Interval volumes (litres since the previous reading, to 0.1 L) every ``60 / per_hour`` minutes,
    as smart meters export them: each hour's litres split evenly over its intervals."""
    step = pd.Timedelta(hours=1) / per_hour
    stamps = pd.DatetimeIndex([hour + step * (k + 1) for hour in litres_per_hour.index for k in range(per_hour)])
    litres = np.round(np.repeat(litres_per_hour.to_numpy() / per_hour, per_hour), 1)
    return pd.DataFrame({"meter_id": meter_id, "ts": stamps, "quantity": "interval_volume", "value": litres, "unit": "L"})


def flow_readings(meter_id: str, litres_per_hour: pd.Series, per_hour: int = 12) -> pd.DataFrame:
    """Flow rates (L/min) every ``60 / per_hour`` minutes, as a meter reporting its flow does: the mean flow of
    each interval, stamped at its middle, so that integrating the rates gives back each hour's litres."""
    step = pd.Timedelta(hours=1) / per_hour
    stamps = pd.DatetimeIndex([hour + step * (k + 0.5) for hour in litres_per_hour.index for k in range(per_hour)])
    l_min = np.repeat(litres_per_hour.to_numpy() / 60, per_hour)
    return pd.DataFrame({"meter_id": meter_id, "ts": stamps, "quantity": "flow", "value": l_min, "unit": "L/min"})


def inlet_flow(days: int = DAYS, seed: int = 2, step_l_s: float = 0.0, step_from: pd.Timestamp | None = None,
               step_hours: float = 6.0, background_l_s: float = 0.0) -> pd.Series:
    """A zone inflow every 15 min (L/s): low at night, peaks morning and evening, noise; optional burst.

    ``background_l_s`` is flow that never stops (the leakage a district already has), so that night
    flow is most of the flow, as in many real districts."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range(START, periods=days * 96, freq="15min")
    hour = stamps.hour + stamps.minute / 60
    profile = 0.4 + 1.2 * np.exp(-((hour - 7.5) ** 2) / 3) + 1.0 * np.exp(-((hour - 20) ** 2) / 4)
    flow = np.asarray(background_l_s + profile + rng.normal(0, 0.05, len(stamps)))
    if step_from is not None:
        flow[(stamps >= step_from) & (stamps < step_from + pd.Timedelta(hours=step_hours))] += step_l_s
    return pd.Series(flow, index=stamps)


def pressure(flow: pd.Series, seed: int = 3, head_bar: float = 4.5) -> pd.Series:
    """Pressure falling with the square of the flow (friction), with sensor noise."""
    rng = np.random.default_rng(seed)
    return head_bar - 0.15 * flow ** 2 + pd.Series(rng.normal(0, 0.01, len(flow)), index=flow.index)


def sensor_readings(meter_id: str, values: pd.Series, quantity: str, unit: str) -> pd.DataFrame:
    return pd.DataFrame({"meter_id": meter_id, "ts": values.index, "quantity": quantity,
                         "value": values.to_numpy(), "unit": unit})


def store_with(path, *frames: pd.DataFrame, meters: pd.DataFrame | None = None) -> Store:
    """A store holding these readings (validated as the listener does), meters registered first."""
    store = Store(str(path))
    if meters is not None:
        store.register_meters(meters)
    readings = pd.concat(frames, ignore_index=True)
    raws = [RawReading({"meter_id": r.meter_id, "ts": pd.Timestamp(r.ts).isoformat() + "Z", "quantity": r.quantity,
                        "value": float(r.value), "unit": r.unit}, "test",
                       pd.Timestamp(r.ts).tz_localize("UTC").to_pydatetime() + timedelta(seconds=30))
            for r in readings.itertuples()]
    now = max(raw.received_at for raw in raws) + timedelta(minutes=1)
    batch = validate_readings(raws, RULES, now)
    store.ingest(batch.rows, batch.rejections)
    return store


def meters_frame(rows: list[tuple[str, str | None, str | None, str]]) -> pd.DataFrame:
    """(meter_id, zone_id, category, quantity) rows as the meters table takes them."""
    return pd.DataFrame([{"meter_id": m, "zone_id": z, "category": c, "quantity": q, "tz": "UTC"}
                         for m, z, c, q in rows])
