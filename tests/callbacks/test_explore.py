"""The Explore page: callbacks called as functions on real stores, and drilling down in Chromium."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from selenium.webdriver.common.action_chains import ActionChains

from callbacks import explore_ids as ids
from callbacks.explore import next_state, render_explore, render_heatmap, render_top, resolve_view
from dashapp.figures.plain import message_of


def test_the_url_view_is_checked_and_wrong_values_are_named(city_runtime):
    *_, tz, state, notice = resolve_view({"level": "month", "key": "2025-13", "zone": "Z9", "tz": None})
    assert tz == "Europe/Rome" and state == {"level": "year", "key": "2025"}
    assert "zone 'Z9' is not in the store" in str(notice)
    assert "period '2025-13' is not a valid month" in str(notice)
    good = resolve_view({"level": "day", "key": "2025-07-04", "zone": "Z2", "tz": "UTC"})
    assert (good[1], good[7], good[8]) == ("Z2", "UTC", {"level": "day", "key": "2025-07-04"})


def test_drilling_from_a_year_to_an_hour_and_back(city_runtime):
    state = {"level": "year", "key": "2025"}
    summary, figure, _, search = render_explore(state, None, None, None, "m3", "Europe/Rome", "none")
    assert figure["data"][0]["customdata"] == ["2025-06", "2025-07"]
    assert summary.startswith("2025: ") and " m3 used" in summary
    assert parse_qs(urlparse(search).query) == {"level": ["year"], "period": ["2025"], "unit": ["m3"],
                                                "tz": ["Europe/Rome"], "compare": ["none"]}
    click = {"points": [{"curveNumber": 0, "customdata": "2025-07"}]}
    month = next_state(state, ids.CONSUMPTION, click, "Europe/Rome")
    assert month == {"level": "month", "key": "2025-07"}
    day = next_state(month, ids.CONSUMPTION, {"points": [{"curveNumber": 0, "customdata": "2025-07-04"}]},
                     "Europe/Rome")
    _, figure, _, _ = render_explore(day, "Z2", None, None, "L", "Europe/Rome", "previous")
    bars, previous = figure["data"]
    assert len(bars["x"]) == 24 and bars["customdata"][13] == "2025-07-04T13:00+02:00"
    assert previous["name"] == "Thu 03 Jul 2025"
    hour = next_state(day, ids.CONSUMPTION, {"points": [{"curveNumber": 0, "customdata": bars["customdata"][13]}]},
                      "Europe/Rome")
    summary, figure, _, _ = render_explore(hour, "Z2", None, None, "L", "Europe/Rome", "none")
    assert summary.startswith("Fri 04 Jul 2025 13:00 CEST: ") and figure["data"][0]["x"][0].startswith("Z2-")
    assert next_state(hour, ids.UP, None, "Europe/Rome") == day
    assert next_state(hour, ids.TOP_LEVEL, None, "Europe/Rome") == {"level": "all", "key": ""}


def test_units_filters_heatmap_and_top_consumers(city_runtime):
    state = {"level": "month", "key": "2025-07"}
    litres = render_explore(state, "Z1", "residential", None, "L", "Europe/Rome", "none")[1]["data"][0]["y"]
    cubic = render_explore(state, "Z1", "residential", None, "m3", "Europe/Rome", "none")[1]["data"][0]["y"]
    assert [round(v / 1000, 6) for v in litres] == cubic
    everyone = render_explore(state, None, None, None, "L", "Europe/Rome", "none")[1]["data"][0]["y"]
    assert sum(everyone) > sum(litres) > 0
    heat = render_heatmap(state, "Z1", None, None, "m3", "Europe/Rome")
    assert len(heat["data"][0]["z"]) == 7
    top = str(render_top(state, "Z4", "industrial", "m3", "Europe/Rome"))
    assert "Z4-I-" in top and "Z1-" not in top


def test_an_empty_store_says_so(empty_runtime):
    *_, state, notice = resolve_view({})
    assert state == {"level": "all", "key": ""} and notice == ""
    _, figure, _, _ = render_explore(state, None, None, None, "m3", "UTC", "none")
    assert message_of(figure) == "No consumption recorded for All years · all customers."
    assert message_of(render_heatmap(state, None, None, None, "m3", "UTC")) == \
        "No hourly consumption for All years · all customers."
    assert "No customer meter used water" in str(render_top(state, None, None, "m3", "UTC"))


def _bars(dash_duo):
    return dash_duo.find_elements(f"#{ids.CONSUMPTION} .bars .point path")


def test_explore_page_drills_down_filters_and_keeps_the_view_in_the_url(city_runtime, dash_duo,
                                                                      page_screenshot):
    from app import create_app

    dash_duo.start_server(create_app())
    dash_duo.driver.set_window_size(1400, 1400)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/explore")
    dash_duo.wait_for_contains_text(f"#{ids.BREADCRUMB}", "2025", timeout=20)
    dash_duo.wait_for_contains_text(f"#{ids.SUMMARY}", "2025: ", timeout=20)
    dash_duo.wait_for_element(f"#{ids.CONSUMPTION} .bars .point path", timeout=20)
    ActionChains(dash_duo.driver).move_to_element(_bars(dash_duo)[-1]).click().perform()
    dash_duo.wait_for_contains_text(f"#{ids.BREADCRUMB}", "July 2025", timeout=20)
    dash_duo.wait_for_contains_text(f"#{ids.SUMMARY}", "July 2025: ", timeout=20)
    assert "level=month" in dash_duo.driver.current_url and "period=2025-07" in dash_duo.driver.current_url
    whole_city = dash_duo.find_element(f"#{ids.SUMMARY}").text

    dash_duo.select_dcc_dropdown(f"#{ids.ZONE}", value="Centro (Z2)")
    dash_duo.wait_for_contains_text(f"#{ids.CONSUMPTION}", "July 2025 · Z2", timeout=20)
    assert dash_duo.find_element(f"#{ids.SUMMARY}").text != whole_city
    assert "zone=Z2" in dash_duo.driver.current_url

    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/explore?level=day&period=2025-07-04&zone=Z3&unit=L"
                               "&compare=previous")
    dash_duo.wait_for_contains_text(f"#{ids.BREADCRUMB}", "Fri 04 Jul 2025", timeout=20)
    dash_duo.wait_for_contains_text(f"#{ids.SUMMARY}", "Thu 03 Jul 2025", timeout=20)
    dash_duo.wait_for_contains_text(f"#{ids.ZONE}", "Borgo Basso (Z3)", timeout=20)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/explore?level=month&period=2025-07&unit=m3")
    dash_duo.wait_for_contains_text(f"#{ids.TOP}", "Z4-I-", timeout=20)
    dash_duo.wait_for_element(f"#{ids.HEATMAP} .heatmaplayer", timeout=20)
    page_screenshot(dash_duo, "explore")
    assert dash_duo.get_logs() == []
