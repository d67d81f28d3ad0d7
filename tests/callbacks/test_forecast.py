"""The Forecast page: background forecast, backtest beside it, scenarios and saved scenarios, in Chromium."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from callbacks import forecast as page
from callbacks import forecast_ids as ids
from forecasting.jobs import JOBS


def _wait(key: str, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    job = JOBS.get(key)
    while not job.future.done():
        assert time.monotonic() < deadline, "forecast job did not finish"
        time.sleep(0.2)
    return job.future.result()


def test_forecast_runs_in_the_background_and_scenarios_change_it(city_runtime):
    started = time.perf_counter()
    key, poll_disabled, status = page.start_forecast(1, "zone", "Z1", "h", 48)
    assert time.perf_counter() - started < 5  # returns before the fit; the 300 ms target is benchmarked
    assert key and poll_disabled is False and "zone Z1" in status
    result = _wait(key)
    assert len(result.forecast.frame) == 48 and result.series.unit == "L"
    figure, scores, status, progress, disabled = page.poll_forecast(1, key)
    assert progress == 100 and disabled is True and status.startswith("Forecast ready")
    names = {trace.name for trace in figure.data}
    assert {"observed", "forecast", "80 % interval"} <= names
    assert "previous week" in str(scores) and "mean of 4 weeks" in str(scores)

    _, diff = page.show_scenario(figure, "warmer", 0, "none", 10, "residential", 0, 0, "residential", 0, key)
    text = str(diff)
    assert "+10.0 %" in text
    _, diff = page.show_scenario(figure, "same", 0, "none", 0, "residential", 0, 0, "residential", 0, key)
    assert "+0.0 %" in str(diff)


def test_bad_horizon_and_missing_series_give_messages(city_runtime):
    assert page.start_forecast(1, "zone", "Z1", "h", 5000)[2] == "the horizon must be 1 to 2160 hours"
    assert page.start_forecast(1, "zone", None, "h", 24)[2] == "choose a zone to forecast"
    assert page.start_forecast(1, "zone", "Z9", "h", 24)[2] == "unknown zone 'Z9'"
    assert page.start_forecast(1, "city", None, "D", "many")[2] == "the horizon must be a whole number of periods"


def test_saving_scenarios_lists_them(city_runtime):
    key, *_ = page.start_forecast(1, "city", None, "h", 24)
    _wait(key)
    note, table = page.save_and_list(None, "hot", 3, "none", 0, "residential", 0, 0, "residential", 0, key)
    assert "No saved scenarios" in str(table)
    note, table = page.save_and_list(1, "growth 20", 0, "none", 20, "residential", 0, 0, "residential", 0, key)
    assert note == "Saved “growth 20”."
    assert "growth 20" in str(table) and "+20.0 %" in str(table)
    note, table = page.save_and_list(2, "growth 20", 0, "none", 5, "residential", 0, 0, "residential", 0, key)
    assert "+5.0 %" in str(table) and "+20.0 %" not in str(table)
    note, _ = page.save_and_list(3, "  ", 0, "none", 20, "residential", 0, 0, "residential", 0, key)
    assert note == "Give the scenario a name to save it."


def test_forecast_page_in_a_browser(city_runtime, dash_duo, page_screenshot):
    from app import create_app

    dash_duo.start_server(create_app())
    dash_duo.driver.set_window_size(1400, 1100)
    dash_duo.wait_for_page(url=dash_duo.server_url + "/forecast")
    dash_duo.wait_for_element(f"#{ids.RUN}").click()
    dash_duo.wait_for_contains_text(f"#{ids.STATUS}", "Forecast ready", timeout=120)
    dash_duo.wait_for_contains_text(f"#{ids.SCORES}", "previous week", timeout=10)
    growth = dash_duo.find_element(f"#{ids.GROWTH}")
    growth.clear()
    growth.send_keys("15\t")
    dash_duo.wait_for_contains_text(f"#{ids.DIFFERENCE}", "+15.0 %", timeout=20)
    dash_duo.driver.execute_script("window.scrollTo(0, 0)")
    page_screenshot(dash_duo, "forecast")
    assert dash_duo.get_logs() == []


def test_new_data_refits_in_the_background(city_runtime):
    from dash import no_update

    key, *_ = page.start_forecast(1, "zone", "Z3", "h", 24)
    _wait(key)
    assert page.refresh_when_new_data(1, key) == (no_update, no_update, no_update)
    cur = city_runtime.store.cursor()
    last = cur.execute("SELECT max(hour) FROM zone_hourly WHERE zone_id = 'Z3'").fetchone()[0]
    cur.execute("INSERT INTO zone_hourly VALUES ('Z3', 'residential', ? + INTERVAL 1 HOUR, 900.0, 0.0)", [last])
    cur.close()
    new_key, poll_disabled, status = page.refresh_when_new_data(2, key)
    assert new_key != key and new_key.split("|")[4] == str(last + pd.Timedelta(hours=1)) and poll_disabled is False
    assert status.startswith(f"New data since {last}") and "forecasting zone z3" in status.lower()
    assert _wait(new_key).series.watermark == last + pd.Timedelta(hours=1)


def test_a_meter_moved_out_of_the_zone_refits_its_forecast(city_runtime):
    """A move rewrites the zone's history behind its newest hour: the watermark stays, the forecast must not."""
    key, *_ = page.start_forecast(1, "zone", "Z3", "h", 24)
    before = _wait(key).series.values
    cur = city_runtime.store.cursor()
    meter, litres = cur.execute("""SELECT meter_id, sum(volume_l) FROM meter_hourly JOIN meters USING (meter_id)
                                   WHERE zone_id = 'Z3' AND category = 'residential' GROUP BY meter_id
                                   ORDER BY 2 DESC LIMIT 1""").fetchone()
    cur.close()
    assert city_runtime.store.change_meters([("line 2", {"meter_id": meter, "zone_id": "Z1"})]).moved == [meter]
    new_key, poll_disabled, status = page.refresh_when_new_data(2, key)
    assert new_key != key and new_key.split("|")[4] == key.split("|")[4] and poll_disabled is False
    assert status.startswith("History rewritten: forecasting zone Z3")
    after = _wait(new_key).series.values
    assert after.index.max() == before.index.max()
    assert before.sum() - after.sum() == pytest.approx(litres, rel=1e-6)
