"""The Zones page: callbacks called as functions on real stores, and the page in Chromium."""

from __future__ import annotations

import pytest

from callbacks.zones import (
    render_balance,
    render_flow_pressure,
    render_night_flow,
    render_status,
    zone_choices,
)
from dashapp.figures.plain import message_of
from tests.data.queries.small_city import build_small_city
from tests.fixtures.city import open_runtime


def render_zone(zone_id, days, flow_unit, volume_unit):
    return (render_flow_pressure(zone_id, days, flow_unit), render_night_flow(zone_id, days, flow_unit),
            *render_balance(zone_id, days, volume_unit))


@pytest.fixture
def small_city_runtime(tmp_path):
    runtime = open_runtime(tmp_path / "small.duckdb")
    build_small_city(runtime.store, days=8)
    yield runtime
    runtime.close()


def test_zone_choices_come_from_the_store_and_the_url_picks_one(city_runtime):
    options, value = zone_choices("Z3")
    assert [o["value"] for o in options] == ["Z1", "Z2", "Z3", "Z4"]
    assert value == "Z3"
    assert zone_choices("Z9")[1] == "Z1"


def test_a_zone_of_the_city(city_runtime):
    pressure_flow, nights, balance, summary = render_zone("Z3", "7", "L/min", "m3")
    inlet = next(t for t in pressure_flow["data"] if t["name"] == "Z3-INLET")
    assert len(inlet["y"]) >= 7 * 24 - 2 and max(inlet["y"]) > 10  # L/min, not L/s
    assert len(nights["data"][0]["y"]) in (6, 7, 8)
    assert summary.startswith("Over these 7 days: inflow ") and "unaccounted-for" in summary
    assert [t["name"] for t in balance["data"]] == ["customer meters", "unaccounted-for", "unaccounted-for %"]
    cards, detail = render_status("Z3")
    assert "Borgo Basso (Z3)" in str(cards) and "Borgo Basso:" in str(detail)


def test_balance_by_hand_and_a_zone_without_meters(small_city_runtime):
    *_, summary = render_zone("ZA", "7", "L/s", "L")
    assert summary == ("Over these 7 days: inflow 30,240.0 L, customer meters 25,200.0 L, "
                       "unaccounted-for 5,040.0 L (16.7 %).")
    flow_pressure, _, balance, summary = render_zone("ZB", "30", "L/s", "m3")
    assert message_of(flow_pressure) == "No inlet flow or pressure readings for Basso (ZB) in this period."
    assert message_of(balance) == "Basso (ZB) has no inlet flow meter: its water balance needs one."
    assert summary == ""


def test_an_empty_store_says_so(empty_runtime):
    assert zone_choices(None) == ([], None)
    figures = render_zone(None, "30", "L/s", "m3")
    assert [message_of(f) for f in figures[:3]] == ["No zones in the store yet."] * 3
    cards, _ = render_status(None)
    assert "No zones in the store yet" in str(cards)


def test_zones_page_in_a_browser(city_runtime, dash_duo, page_screenshot):
    from app import create_app

    dash_duo.start_server(create_app())
    dash_duo.driver.set_window_size(1400, 1750)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/zones?zone=Z3")
    dash_duo.wait_for_contains_text("#zones-status-cards", "Borgo Basso (Z3)", timeout=20)
    dash_duo.wait_for_contains_text("#zones-balance-summary", "unaccounted-for", timeout=20)
    dash_duo.wait_for_contains_text("#zones-flow-pressure", "inflow (L/s)", timeout=20)
    per_minute = dash_duo.find_element("#zones-flow-unit input[value='L/min']")
    dash_duo.driver.execute_script("arguments[0].click();", per_minute)
    dash_duo.wait_for_contains_text("#zones-flow-pressure", "inflow (L/min)", timeout=20)
    page_screenshot(dash_duo, "zones")
    assert dash_duo.get_logs() == []
