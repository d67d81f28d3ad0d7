"""Figure builders of the Meters, Tanks & pumps and System health pages: what the user would read off them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashapp.figures.health import ingest_history_figure
from dashapp.figures.meters import consumption_figure, measured_figure
from dashapp.figures.tanks import run_hours_figure, tank_level_figure


def _annotation(figure: go.Figure) -> str:
    return figure.layout.annotations[0].text


def test_consumption_bars_split_measured_and_estimated_in_the_chosen_unit():
    frame = pd.DataFrame({"period": pd.date_range("2025-07-01", periods=3, freq="h"),
                          "volume_l": [100.0, 250.0, 0.0], "estimated_l": [0.0, 50.0, 0.0]})
    figure = consumption_figure(frame, "M1", "Europe/Rome", daily=False, unit="m3", litres_per_unit=1000.0)
    measured, estimated = figure.data
    assert list(measured.y) == [0.1, 0.2, 0.0] and list(estimated.y) == [0.0, 0.05, 0.0]
    assert pd.Timestamp(measured.x[0]) == pd.Timestamp("2025-07-01 02:00")   # local time, CEST
    assert figure.layout.yaxis.title.text == "Volume (m3/hour)"


def test_empty_consumption_says_so():
    empty = pd.DataFrame({"period": pd.Series(dtype="datetime64[us]"), "volume_l": [], "estimated_l": []})
    assert _annotation(consumption_figure(empty, "M1", "UTC", daily=True)) == \
        "No consumption recorded for M1 in this period."


def test_measured_values_use_webgl_for_long_series():
    hours = pd.date_range("2024-01-01", periods=12_000, freq="h")
    frame = pd.DataFrame({"hour": hours, "mean": np.ones(len(hours)), "minimum": np.zeros(len(hours)),
                          "maximum": np.full(len(hours), 2.0), "quantity": "pressure"})
    figure = measured_figure(frame, "P1", "UTC")
    assert {type(t) for t in figure.data} == {go.Scattergl}
    assert figure.layout.yaxis.title.text == "Pressure (bar)"
    assert _annotation(measured_figure(frame.head(0), "P1", "UTC")) == "No readings from P1 in this period."


def test_tank_figure_shows_prediction_and_thresholds():
    history = pd.DataFrame({"hour": pd.date_range("2025-07-01", periods=24, freq="h"), "level_m": np.linspace(3, 2, 24),
                            "minimum": np.linspace(3, 2, 24) - 0.1, "maximum": np.linspace(3, 2, 24) + 0.1})
    prediction = pd.DataFrame({"hour": pd.date_range("2025-07-01 23:00", periods=5, freq="h"),
                               "level_m": [2.0, 1.8, 1.6, 1.4, 1.2]})
    figure = tank_level_figure(history, prediction, "T1", "UTC", low_m=0.3, high_m=6.0)
    names = [t.name for t in figure.data]
    assert "Measured level" in names and "Predicted level" in names
    assert sorted(shape.y0 for shape in figure.layout.shapes) == [0.3, 6.0]
    assert _annotation(tank_level_figure(history.head(0), None, "T1", "UTC")) == "No level readings from T1 in this period."


def test_run_hours_bars_mark_partly_observed_days():
    days = pd.DataFrame({"day": pd.to_datetime(["2025-07-01", "2025-07-02"]), "run_h": [2.25, 0.5],
                         "observed_h": [24, 6]})
    bar = run_hours_figure(days, "B1-STATE").data[0]
    assert list(bar.y) == [2.25, 0.5]
    assert bar.marker.color[0] != bar.marker.color[1]


def test_empty_ingest_history_explains_why():
    empty = pd.DataFrame(columns=["recorded_at", "readings_per_s", "batch_p50_ms", "batch_p95_ms", "queue_depth"])
    assert "No ingest history" in _annotation(ingest_history_figure(empty))


def test_hourly_bars_over_the_autumn_clock_change_keep_every_litre():
    hours = pd.date_range("2024-10-26 22:00", periods=6, freq="h")   # 00:00-04:00 local, 02:00 twice
    frame = pd.DataFrame({"period": hours, "volume_l": [10.0, 20, 30, 40, 50, 60], "estimated_l": 0.0})
    bars = consumption_figure(frame, "M1", "Europe/Rome", daily=False).data[0]
    assert [pd.Timestamp(x).hour for x in bars.x] == [0, 1, 2, 3, 4]
    assert list(bars.y) == [10.0, 20.0, 70.0, 50.0, 60.0] and sum(bars.y) == 210.0


def test_a_single_ingest_sample_is_a_visible_point_on_a_readable_time_axis():
    one = pd.DataFrame({"recorded_at": [pd.Timestamp("2026-11-23 03:40:05")], "readings_per_s": [0.0],
                        "batch_p50_ms": [456.0], "batch_p95_ms": [456.0], "queue_depth": [0]})
    figure = ingest_history_figure(one)
    assert all("markers" in trace.mode for trace in figure.data)
    low, high = (pd.Timestamp(v) for v in figure.layout.xaxis.range)
    assert high - low == pd.Timedelta(minutes=30)
