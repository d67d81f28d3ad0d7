"""Figure builders of the Zones and Explore pages: the values a user reads off the charts."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from dashapp.figures.explore import consumption_figure, heatmap_figure
from dashapp.figures.plain import message_of
from dashapp.figures.theme import WEBGL_THRESHOLD
from dashapp.figures.zones import flow_pressure_figure, night_flow_figure, water_balance_figure


def _flow_pressure(hours: int) -> pd.DataFrame:
    stamps = pd.date_range("2025-10-26 00:00", periods=hours, freq="h")
    flow = pd.DataFrame({"meter_id": "Z-INLET", "quantity": "flow", "hour": stamps, "mean": 0.5})
    pressure = pd.DataFrame({"meter_id": "Z-P1", "quantity": "pressure", "hour": stamps, "mean": 3.2})
    return pd.concat([flow, pressure], ignore_index=True)


def test_flow_in_litres_per_minute_and_pressure_in_bar_on_local_time():
    figure = flow_pressure_figure(_flow_pressure(3), "L/min", "Europe/Rome", (1.5, 7.5), "Z (Z)")
    flow, pressure = figure["data"]
    assert flow["y"] == pytest.approx([30.0, 30.0, 30.0]) and flow["yaxis"] == "y"
    assert pressure["y"] == [3.2, 3.2, 3.2] and pressure["yaxis"] == "y2"
    # 00:00 and 01:00 UTC on the fall-back night are both 02:00 in Rome (CEST then CET)
    assert flow["x"] == ["2025-10-26T02:00:00", "2025-10-26T02:00:00", "2025-10-26T03:00:00"]
    assert figure["layout"]["yaxis"]["title"]["text"] == "inflow (L/min)"
    assert figure["layout"]["shapes"][0]["y0"] == 1.5


def test_a_zone_without_pressure_sensors_says_so_in_the_pressure_panel():
    only_flow = _flow_pressure(3).query("quantity == 'flow'")
    notes = [a["text"] for a in flow_pressure_figure(only_flow, "L/s", "UTC", (1.5, 7.5), "DMA_A")["layout"]["annotations"]]
    assert "No pressure sensor in DMA_A" in notes and not any("No inlet" in note for note in notes)
    both = flow_pressure_figure(_flow_pressure(3), "L/s", "UTC", (1.5, 7.5), "Z")["layout"]["annotations"]
    assert not any(a["text"].startswith("No ") for a in both)


def test_long_series_are_drawn_with_webgl():
    figure = flow_pressure_figure(_flow_pressure(WEBGL_THRESHOLD + 1), "L/s", "UTC", (1.5, 7.5), "Z")
    assert {trace["type"] for trace in figure["data"]} == {"scattergl"}


def test_empty_inputs_give_a_message_not_a_blank_chart():
    empty = pd.DataFrame(columns=["meter_id", "quantity", "hour", "mean"])
    assert message_of(flow_pressure_figure(empty, "L/s", "UTC", (1.5, 7.5), "Colle (Z1)")) == \
        "No inlet flow or pressure readings for Colle (Z1) in this period."
    assert message_of(night_flow_figure(pd.DataFrame(columns=["night", "night_flow_l_s", "at_local"]), "L/s", "Z")) \
        == "No night-time inlet flow for Z in this period."
    assert message_of(water_balance_figure(pd.DataFrame(), "m3", 0.001, "Z", "Z has no inlet flow meter")) == \
        "Z has no inlet flow meter"
    assert message_of(consumption_figure(pd.DataFrame(columns=["key", "label", "volume_l"]), "m3", 0.001,
                                         "July 2025", drillable=True)) == "No consumption recorded for July 2025."
    assert message_of(heatmap_figure(pd.DataFrame(columns=["weekday", "hour", "mean_l"]), "L", 1, "2025")) == \
        "No hourly consumption for 2025."


def test_water_balance_stacks_customers_and_unaccounted_with_the_share_on_the_right():
    balance = pd.DataFrame({"day": [date(2025, 7, 1)], "inflow_l": [4320.0], "customers_l": [3600.0],
                            "unaccounted_l": [720.0], "unaccounted_pct": [16.67], "estimated_l": [0.0]})
    figure = water_balance_figure(balance, "m3", 0.001, "Z")
    customers, lost, share = figure["data"]
    assert (customers["y"], lost["y"], share["y"]) == ([3.6], [0.72], [16.67])
    assert share["yaxis"] == "y2" and figure["layout"]["barmode"] == "relative"


def test_night_flow_median_line():
    nights = pd.DataFrame({"night": [datetime(2025, 7, d) for d in (1, 2, 3)], "night_flow_l_s": [0.1, 0.2, 0.6],
                           "at_local": [datetime(2025, 7, d, 3) for d in (1, 2, 3)]})
    figure = night_flow_figure(nights, "L/min", "Z")
    assert figure["data"][0]["y"] == pytest.approx([6.0, 12.0, 36.0])
    assert figure["layout"]["shapes"][0]["y0"] == pytest.approx(12.0)


def test_consumption_bars_carry_their_drill_down_keys_and_the_comparison_aligns_by_position():
    series = pd.DataFrame({"key": ["2025-06", "2025-07"], "label": ["Jun 2025", "Jul 2025"],
                           "volume_l": [2000.0, 3000.0]})
    before = pd.DataFrame({"key": ["2024-06"], "label": ["Jun 2024"], "volume_l": [1000.0]})
    figure = consumption_figure(series, "m3", 0.001, "2025", drillable=True, compare=before, compare_title="2024")
    bars, line = figure["data"]
    assert bars["customdata"] == ["2025-06", "2025-07"] and bars["y"] == [2.0, 3.0]
    assert line["x"] == ["Jun 2025"] and line["y"] == [1.0] and line["customdata"] == ["Jun 2024"]
    assert "click to drill down" in bars["hovertemplate"]


def test_heatmap_rows_are_weekdays_and_columns_hours():
    profile = pd.DataFrame({"weekday": [0, 6], "hour": [7, 20], "mean_l": [1500.0, 500.0]})
    figure = heatmap_figure(profile, "m3", 0.001, "2025")
    z = figure["data"][0]["z"]
    assert len(z) == 7 and len(z[0]) == 24
    assert z[0][7] == 1.5 and z[6][20] == 0.5 and z[3][3] is None
