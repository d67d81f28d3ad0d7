"""How the forecast interval widens with the horizon: measured on the series' own history."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.model import _widening

DAYS = pd.date_range("2024-01-01", periods=280, freq="D")
WEEKS_AHEAD = np.arange(1, 85) / 7


def _weekly(rng: np.random.Generator, drift_per_day: float) -> pd.Series:
    weekday = np.where(DAYS.day_of_week >= 5, -0.1, 0.05)
    return pd.Series(weekday + drift_per_day * np.arange(len(DAYS)) + rng.normal(0, 0.05, len(DAYS)), index=DAYS)


def test_a_steady_series_keeps_its_one_week_interval():
    widen = _widening(_weekly(np.random.default_rng(1), 0.0), "D", 4, WEEKS_AHEAD, 0.1)
    assert widen[:7].tolist() == [1.0] * 7
    assert widen.max() < 1.3


def test_a_drifting_series_widens_with_the_horizon_and_never_narrows():
    widen = _widening(_weekly(np.random.default_rng(2), 0.004), "D", 4, WEEKS_AHEAD, 0.1)
    assert np.all(np.diff(widen) >= 0)
    assert widen[-1] > 2.0


def test_horizons_beyond_the_history_grow_from_the_last_measured():
    short = _weekly(np.random.default_rng(3), 0.004).iloc[:70]
    widen = _widening(short, "D", 4, WEEKS_AHEAD, 0.1)
    assert np.all(np.isfinite(widen)) and np.all(np.diff(widen) >= -1e-12)
    assert widen[-1] > widen[27]
