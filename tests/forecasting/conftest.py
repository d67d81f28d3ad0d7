"""Synthetic demand series with a known shape on a local clock, for forecasting tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.series import DemandSeries, SeriesKey

TZ = "Europe/Rome"


def local_profile(utc_hours: pd.DatetimeIndex, tz: str = TZ) -> np.ndarray:
    """Night 2 L/s, morning peak at 07:00 local (weekends 09:00), evening bump; weekends 20 % higher."""
    local = utc_hours.tz_localize("UTC").tz_convert(tz)
    weekend = local.day_of_week >= 5
    peak = np.where(weekend, 9, 7)
    hour = local.hour.to_numpy()
    shape = 2 + 6 * np.exp(-0.5 * ((hour - peak) / 1.5) ** 2) + 3 * np.exp(-0.5 * ((hour - 20) / 2) ** 2)
    return shape * np.where(weekend, 1.2, 1.0)


def demand_series(start: str, end: str, seed: int = 0, noise: float = 0.1, unit: str = "L/s",
                  tz: str = TZ) -> DemandSeries:
    """Hourly demand from local ``start`` to ``end`` (exclusive), indexed by naive UTC hour like the store."""
    first = pd.Timestamp(start).tz_localize(tz).tz_convert("UTC").tz_localize(None)
    last = pd.Timestamp(end).tz_localize(tz).tz_convert("UTC").tz_localize(None)
    hours = pd.date_range(first, last, freq="h", inclusive="left")
    rng = np.random.default_rng(seed)
    values = local_profile(hours, tz) * (1 + noise * rng.standard_normal(len(hours)))
    return DemandSeries(SeriesKey("meter", "SYN-1"), pd.Series(np.maximum(values, 0), index=hours), unit, tz, "h")


@pytest.fixture
def synthetic() -> DemandSeries:
    return demand_series("2024-01-01", "2024-03-04")
