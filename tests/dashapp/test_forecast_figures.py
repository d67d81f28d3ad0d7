"""Forecast figures: local times on the axis, the band around the line, a message instead of a blank chart."""

from __future__ import annotations

import pandas as pd

from dashapp.figures.forecast import forecast_figure, scenario_figure


def _frame() -> pd.DataFrame:
    index = pd.date_range("2024-07-01 22:00", periods=3, freq="h")   # naive UTC
    return pd.DataFrame({"yhat": [2.0, 3.0, 4.0], "yhat_lower": [1.0, 2.0, 3.0], "yhat_upper": [3.0, 4.0, 5.0]},
                        index=index)


def test_forecast_figure_draws_local_time_band_and_history():
    history = pd.Series([1.0, 1.5], index=pd.date_range("2024-07-01 20:00", periods=2, freq="h"))
    figure = forecast_figure(history, _frame(), "L/s", "Europe/Rome", "h", "meter M")
    traces = {t.name: t for t in figure.data}
    assert list(traces["forecast"].y) == [2.0, 3.0, 4.0]
    assert pd.Timestamp(traces["forecast"].x[0]) == pd.Timestamp("2024-07-02 00:00")   # 22:00 UTC = 00:00 CEST
    assert list(traces["80 % interval"].y) == [1.0, 2.0, 3.0] and traces["80 % interval"].fill == "tonexty"
    assert pd.Timestamp(traces["observed"].x[0]) == pd.Timestamp("2024-07-01 22:00")
    assert figure.layout.yaxis.title.text == "L/s"


def test_empty_inputs_say_why():
    assert forecast_figure(pd.Series(dtype=float), pd.DataFrame(), "L", "UTC", "h", "x").layout.annotations[0].text \
        == "No forecast to show"
    assert "Run a forecast" in scenario_figure(None, None, "L", "UTC", "h", "s").layout.annotations[0].text


def test_scenario_figure_has_both_lines():
    frame = _frame()
    figure = scenario_figure(frame, frame.assign(yhat=frame["yhat"] * 2), "L/s", "UTC", "h", "double")
    assert [t.name for t in figure.data] == ["baseline", "double"]
    assert list(figure.data[1].y) == [4.0, 6.0, 8.0]
