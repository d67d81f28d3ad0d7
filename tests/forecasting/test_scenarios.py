"""What-if scenarios on a fitted forecast: each effect has the size a planner would compute by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.model import forecast
from forecasting.scenarios import DemandContext, Scenario, apply_scenario, compare, volume_and_peak


@pytest.fixture(scope="module")
def baseline():
    from tests.forecasting.conftest import demand_series

    series = demand_series("2024-05-06", "2024-06-17")
    hours = pd.date_range(series.values.index.min(), series.values.index.max() + pd.Timedelta(days=8), freq="h")
    weather = pd.DataFrame({"temperature": 20 + 5 * np.sin(np.arange(len(hours)) / 24 * 2 * np.pi),
                            "rainfall": 0.0}, index=hours)
    return forecast(series, 168, weather)


def test_no_change_is_the_baseline(baseline):
    same = apply_scenario(baseline, Scenario())
    assert np.allclose(same.frame["yhat"], baseline.frame["yhat"])
    assert compare(baseline, same).volume_change_l == pytest.approx(0)


def test_growth_scales_volume_and_peak(baseline):
    comparison = compare(baseline, apply_scenario(baseline, Scenario(growth_pct=10)))
    assert comparison.volume_change_pct == pytest.approx(10)
    assert comparison.scenario_peak_l_s == pytest.approx(1.1 * comparison.baseline_peak_l_s)


def test_restrictions_apply_to_the_category_share(baseline):
    context = DemandContext({"residential": 0.75, "commercial": 0.25}, {})
    comparison = compare(baseline, apply_scenario(baseline, Scenario(restrictions_pct={"residential": 20}), context))
    assert comparison.volume_change_pct == pytest.approx(-15)


def test_leak_repaired_removes_its_flow_every_hour(baseline):
    repaired = apply_scenario(baseline, Scenario(leak_repaired_l_s=0.5))
    assert np.allclose(baseline.frame["yhat"] - repaired.frame["yhat"], 0.5)
    assert compare(baseline, repaired).volume_change_l == pytest.approx(-0.5 * 3600 * 168)


def test_new_development_adds_customers_times_typical_demand(baseline):
    per_customer = pd.Series(36.0, index=range(24))          # 36 L/h = 0.01 L/s per customer
    context = DemandContext({}, {"residential": per_customer})
    built = apply_scenario(baseline, Scenario(new_customers={"residential": 100}), context)
    assert np.allclose(built.frame["yhat"] - baseline.frame["yhat"], 1.0)


def test_temperature_shift_uses_the_fitted_coefficient(baseline):
    effect = baseline.meta["temperature_effect"]
    warmer = apply_scenario(baseline, Scenario(temperature_shift_c=4))
    assert np.allclose(warmer.frame["yhat"] / baseline.frame["yhat"], np.exp(4 * effect))


def test_volume_series_volume_and_peak():
    frame = pd.DataFrame({"yhat": [3600.0, 7200.0], "yhat_lower": 0.0, "yhat_upper": 0.0},
                         index=pd.date_range("2024-01-01", periods=2, freq="h"))
    from forecasting.model import Forecast
    assert volume_and_peak(Forecast(frame, "L", "UTC", "h")) == (pytest.approx(10800), pytest.approx(2.0))


def test_scenario_round_trips_as_data():
    scenario = Scenario("hot", 3, 0, 5, {"residential": 10}, 0.2, {"commercial": 4})
    assert Scenario.from_dict(scenario.to_dict()) == scenario
