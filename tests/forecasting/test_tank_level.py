"""The tank level model on constructed tanks whose mass balance is known exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.tank_level import (
    TankModelError,
    backtest,
    fit_tank_model,
    roll_forward,
    threshold_crossings,
)

AREA_M2 = 10.0
PUMP_L_S = 5.0
M_PER_L_S_HOUR = 3.6 / AREA_M2   # 1 L/s for an hour over 10 m2 is 0.36 m


def constructed_tank(days: int = 21, quiet_days: int = 7, seed: int = 1) -> pd.DataFrame:
    """Hourly level of a 10 m2 tank: random outflow and pump share, then a quiet last week
    (outflow exactly 1 L/s, pump off)."""
    rng = np.random.default_rng(seed)
    hours = pd.date_range("2025-03-01", periods=days * 24, freq="h")
    outflow = 1.0 + rng.uniform(-0.5, 0.8, len(hours))
    pump = rng.uniform(0, 1, len(hours)).round(2)
    quiet = hours >= hours[-1] - pd.Timedelta(days=quiet_days)
    outflow[quiet], pump[quiet] = 1.0, 0.0
    change = (pump * PUMP_L_S - outflow) * M_PER_L_S_HOUR
    level = 3.0 + np.concatenate([[0.0], np.cumsum(change[:-1])])
    return pd.DataFrame({"hour": hours, "level_m": level, "outflow_l_s": outflow, "pump_on": pump})


def test_fit_recovers_the_mass_balance():
    model = fit_tank_model(constructed_tank(), "Europe/Rome")
    coefficients = dict(zip(("intercept",) + model.features, model.coefficients))
    assert model.features == ("outflow_l_s", "pump_on")
    assert coefficients["outflow_l_s"] == pytest.approx(-M_PER_L_S_HOUR, abs=1e-6)
    assert coefficients["pump_on"] == pytest.approx(PUMP_L_S * M_PER_L_S_HOUR, abs=1e-6)


def test_backtest_of_an_exact_balance_is_near_zero_and_beats_persistence():
    score = backtest(constructed_tank(quiet_days=10), "UTC", holdout_days=2)  # the profile week is quiet too
    assert score.holdout_hours == 48
    assert score.step_mae_m < 1e-6 and score.run_mae_m < 1e-6
    assert score.persistence_mae_m > 5          # the quiet tank drains 0.36 m an hour


def test_time_to_low_threshold_from_a_known_drain():
    model = fit_tank_model(constructed_tank(), "UTC")
    prediction = roll_forward(model, pd.Timestamp("2025-03-22 00:00"), 3.0, 24)
    assert prediction["level_m"].iat[1] == pytest.approx(3.0 - M_PER_L_S_HOUR, abs=1e-6)
    low, high = threshold_crossings(prediction, low_m=0.3, high_m=5.0)
    assert (low.threshold, low.hours) == ("low", 8.0)   # 2.7 m / 0.36 m/h = 7.5 h: at or below after 8 h
    assert low.at == pd.Timestamp("2025-03-22 08:00")
    assert high.at is None and high.hours is None


def test_missing_hours_are_skipped_not_invented():
    history = constructed_tank().drop(index=range(100, 130))
    model = fit_tank_model(history, "UTC")
    assert model.coefficients[1] == pytest.approx(-M_PER_L_S_HOUR, abs=1e-6)
    assert model.trained_hours == 21 * 24 - 1 - 31   # the 30 missing hours and the one before the hole


def test_a_short_history_says_how_much_is_needed():
    with pytest.raises(TankModelError, match="needs at least 72"):
        fit_tank_model(constructed_tank().head(40), "UTC")


def test_a_tank_without_outflow_metering_says_so():
    history = constructed_tank().assign(outflow_l_s=np.nan)
    with pytest.raises(TankModelError, match="No outflow is metered"):
        fit_tank_model(history, "UTC")


def test_without_a_pump_sensor_the_model_leaves_the_pump_out():
    history = constructed_tank().drop(columns="pump_on")
    model = fit_tank_model(history, "UTC")
    assert model.features == ("outflow_l_s", "level_m")


def level_switched_tank(days: int = 21, start_m: float = 1.0, stop_m: float = 4.0, seed: int = 2) -> pd.DataFrame:
    """A 10 m2 tank whose 5 L/s pump starts at or below ``start_m`` and stops on reaching ``stop_m``."""
    rng = np.random.default_rng(seed)
    hours = pd.date_range("2025-03-01", periods=days * 24, freq="h")
    outflow = 1.0 + rng.uniform(-0.3, 0.3, len(hours))
    level, pump = np.empty(len(hours)), np.zeros(len(hours))
    level[0], running = 3.0, False
    for k in range(len(hours) - 1):
        running = running or level[k] <= start_m
        pump[k] = float(running)
        level[k + 1] = level[k] + (pump[k] * PUMP_L_S - outflow[k]) * M_PER_L_S_HOUR
        if running and level[k + 1] >= stop_m:   # it stops within the hour, at the stop level
            pump[k] = ((stop_m - level[k]) / M_PER_L_S_HOUR + outflow[k]) / PUMP_L_S
            level[k + 1], running = stop_m, False
    return pd.DataFrame({"hour": hours, "level_m": level, "outflow_l_s": outflow, "pump_on": pump})


def test_a_level_switched_pump_is_learnt_and_rolled_forward_by_its_rule():
    history = level_switched_tank()
    model = fit_tank_model(history, "UTC")
    start_m, stop_m = model.pump_switching
    assert 0.5 < start_m <= 1.2 and stop_m == pytest.approx(4.0)
    prediction = roll_forward(model, history["hour"].iat[-1], 3.0, 72, pump_running=False)
    one_hour_of_pumping = PUMP_L_S * M_PER_L_S_HOUR
    assert prediction["level_m"].between(start_m - 0.5, stop_m + one_hour_of_pumping).all()   # it cycles
    assert prediction["level_m"].min() < 1.2 and prediction["level_m"].max() > 3.9
    score = backtest(history, "UTC", holdout_days=2)
    assert score.run_mae_m < score.persistence_mae_m / 2
