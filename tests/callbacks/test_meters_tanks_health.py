"""Meters, Tanks & pumps and System health: callbacks called as functions, and the pages seen in Chromium.

The browser tests also save the pages' screenshots (into docs/screenshots/ under `make screenshots`).
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from selenium.webdriver.common.by import By

from data.payload import Rejection
from data.validation import empty_rows


@pytest.fixture
def app_callbacks():
    from app import create_app

    create_app()
    from callbacks import health, meters, tanks
    return meters, tanks, health


def test_meter_view_on_the_city(city_runtime, app_callbacks):
    meters, _, _ = app_callbacks
    summary, consumption, measured, quality, events = meters.show_meter("Z3-R-0060", "7", "m3")
    assert "Z3" in str(summary) and "residential" in str(summary)
    assert len(consumption.data) == 2 and sum(consumption.data[0].y) > 0
    assert measured.data[0].name == "Flow (L/s), hourly mean"
    assert "Estimated share" in str(quality)
    assert "silent_meter" in str(events) and "simulated ground truth" in str(events)


def test_meter_messages_for_nothing_chosen_unknown_and_silent_meters(city_runtime, app_callbacks):
    meters, _, _ = app_callbacks
    summary, consumption, *_ = meters.show_meter(None, "7", "L")
    assert "Search for a meter" in str(summary) and consumption.layout.annotations[0].text == "Choose a meter above."
    summary, consumption, *_ = meters.show_meter("Z9-NOPE", "bad", "furlongs")
    assert "There is no meter 'Z9-NOPE'" in str(summary)
    cur = city_runtime.store.cursor()
    cur.execute("INSERT INTO meters (meter_id, zone_id, category, quantity, tz) VALUES ('NEW-1', 'Z1', "
                "'residential', 'volume', 'UTC')")
    cur.close()
    summary, consumption, _measured, *_ = meters.show_meter("NEW-1", "30", "L")
    assert "has not reported any readings yet" in str(summary)
    assert "has not reported" in consumption.layout.annotations[0].text


def test_tank_view_predicts_and_shows_its_error(city_runtime, app_callbacks):
    _, tanks, _ = app_callbacks
    options, first = tanks.list_tanks(True)
    assert [o["value"] for o in options] == ["BT1-LEVEL", "T1-LEVEL"] and first == "BT1-LEVEL"
    summary, figure, model = tanks.show_tank("T1-LEVEL", "7", "24")
    assert "Level now" in str(summary) and "Reaches low (0.3 m)" in str(summary)
    cur = city_runtime.store.cursor()
    read_at, level = cur.execute("SELECT ts, value FROM readings WHERE meter_id = 'T1-LEVEL' ORDER BY ts DESC "
                                 "LIMIT 1").fetchone()
    cur.close()
    assert f"{level:.2f} m" in str(summary) and f"read {read_at:%Y-%m-%d %H:%M} UTC" in str(summary)
    assert "Prediction error" in str(summary)
    assert [t.name for t in figure.data][-1] == "Predicted level" and len(figure.data[-1].x) == 25
    assert "Linear regression" in str(model) and "pump running share" in str(model)
    assert "the pump starts at" in str(model) and "Backtest on the last 2 days" in str(model)
    pumps = tanks.show_pumps("7")
    assert "B1-STATE" in str(pumps) and "h/day" in str(pumps)


def test_empty_store_messages(empty_runtime, app_callbacks):
    meters, tanks, health = app_callbacks
    assert meters.search_meters(None, None) == []
    summary, consumption, *_ = meters.show_meter(None, "7", "L")
    assert consumption.layout.annotations[0].text == "No meters in the store yet."
    assert "No meters in the store yet" in str(summary)
    assert tanks.list_tanks(True) == ([], None)
    summary, figure, _ = tanks.show_tank(None, "7", "24")
    assert "No tank level sensors" in str(summary) and "No tank level sensors" in figure.layout.annotations[0].text
    assert "No pump run-state sensors" in str(tanks.show_pumps("7"))
    history, reasons, _recent, silent = health.stored_health(0)
    assert "No ingest history" in history.layout.annotations[0].text
    assert "Nothing quarantined" in str(reasons) and "Every meter has reported" in str(silent)
    rate, batch, queue, _errors, broker, last_error = health.live_metrics(0)
    assert (rate[0], batch, queue, last_error) == ("0", "– / – ms", "0", "none") and "not listening" in str(broker)
    assert "no message yet" in str(rate[1])


def test_readings_of_unregistered_meters_say_how_to_get_them_stored(empty_runtime, app_callbacks):
    _, _, health = app_callbacks
    assert health.UNKNOWN_METERS_HINT not in str(health.stored_health(0)[1])
    empty_runtime.store.ingest(empty_rows(), [Rejection("unknown meter 'NEW-1': the unknown-meter policy is "
                                                        "'quarantine'", "{}", "gw-1", datetime(2024, 6, 1))])
    assert health.UNKNOWN_METERS_HINT in str(health.stored_health(0)[1])


def test_silent_meters_are_counted_in_words(app_callbacks):
    import pandas as pd

    _, _, health = app_callbacks
    now = pd.Timestamp("2026-01-05 12:00")
    row = {"meter_id": "M-1", "zone_id": "Z1", "category": "residential", "last_reading": now - pd.Timedelta(hours=5),
           "interval_s": 900.0, "silent_h": 5.0}
    one = str(health._silent(pd.DataFrame([row]), now, unheard=1))
    assert "1 meter without a reading for more than 3 of its usual" in one and "1 registered meter has never reported" in one
    two = str(health._silent(pd.DataFrame([row, {**row, "meter_id": "M-2"}]), now, unheard=3))
    assert "2 meters without a reading for more than 3 of their usual" in two and "3 registered meters have never reported" in two


def test_the_ingest_rate_says_when_the_last_message_came(app_callbacks):
    from data.metrics import IngestMetrics

    _meters, _tanks, health = app_callbacks
    metrics = IngestMetrics()
    metrics.messages_received()
    metrics.readings_decoded(1500)
    snapshot = metrics.snapshot()
    rate, note = health.rate_view(snapshot, snapshot.last_message_at + 300)
    assert "last message 5 min ago" in str(note) and "1,500 readings since start" in str(note)
    assert "over the last 10 s" in str(note)


def test_the_broker_card_says_what_went_wrong_with_the_connection(app_callbacks):
    from data.metrics import IngestMetrics

    _meters, _tanks, health = app_callbacks
    metrics = IngestMetrics(broker="mqtt.example:8883")
    metrics.connection_problem("the broker refused the connection: Not authorized")
    state, note = health.broker_view(metrics.snapshot(), time.time() + 120)
    assert state == "disconnected"
    assert note.children == "mqtt.example:8883 · 0 connects · problem 2 min ago: the broker refused the connection: Not authorized"
    metrics.connection_changed(True)
    metrics.session_restarted()
    state, note = health.broker_view(metrics.snapshot(), time.time())
    assert state == "connected" and "session process restarted 1 time · last problem" in note.children


def test_meters_page_search_and_chart_in_a_browser(city_runtime, dash_duo, page_screenshot):
    from app import create_app

    dash_duo.start_server(create_app())
    dash_duo.wait_for_page(f"{dash_duo.server_url}/meters?meter=Z1-INLET&days=7")
    dash_duo.wait_for_contains_text("#meters-summary", "inlet", timeout=15)
    dash_duo.wait_for_element("#meters-consumption .bars path", timeout=15)
    dash_duo.find_element("#meters-meter").click()
    dash_duo.find_element("input.dash-dropdown-search").send_keys("Z3-R-006")
    dash_duo.wait_for_contains_text("body", "Z3-R-0060 · Z3 · residential", timeout=15)
    dash_duo.driver.find_element(By.XPATH, "//*[text()='Z3-R-0060 · Z3 · residential (volume)']").click()
    dash_duo.wait_for_contains_text("#meters-events", "silent_meter", timeout=15)
    assert "meter=Z3-R-0060" in dash_duo.driver.current_url   # the URL holds the chosen meter
    dash_duo.driver.set_window_size(1400, 1300)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/meters?meter=Z2-R-0021&days=30")
    dash_duo.wait_for_contains_text("#meters-events", "dripping_tap", timeout=15)
    dash_duo.wait_for_element("#meters-consumption .bars path", timeout=15)
    page_screenshot(dash_duo, "meters")
    assert "dripping_tap" in dash_duo.find_element("#meters-events").text
    assert dash_duo.get_logs() == []


def test_tanks_and_health_pages_in_a_browser(city_runtime, dash_duo, page_screenshot):
    from app import create_app
    from tests.data.builders import at, ingest, reading

    ingest(city_runtime.store, [reading("Z1-R-0001", at(), 5, unit="furlong"), reading("Z1-R-0002", at(), 1, quantity="lvl"),
                                reading("Z2-P1", at(), 250.0, quantity="pressure", unit="bar")])

    dash_duo.start_server(create_app())
    dash_duo.driver.set_window_size(1400, 1300)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/tanks")
    dash_duo.wait_for_contains_text("#tanks-summary", "±", timeout=20)   # the prediction error card
    dash_duo.wait_for_contains_text("#tanks-model", "Linear regression", timeout=5)
    dash_duo.wait_for_element("#tanks-level .scatterlayer .trace", timeout=15)
    dash_duo.wait_for_contains_text("#tanks-pumps", "B1-STATE", timeout=15)
    dash_duo.find_element("#tanks-tank").click()
    dash_duo.driver.find_element(By.XPATH, "//*[text()='T1-LEVEL · zone Z1']").click()
    dash_duo.wait_for_contains_text("#tanks-model", "the pump starts at", timeout=20)
    dash_duo.wait_for_contains_text("#tanks-summary", "±", timeout=5)
    page_screenshot(dash_duo, "tanks")
    dash_duo.wait_for_page(f"{dash_duo.server_url}/health")
    dash_duo.wait_for_contains_text("#health-broker", "not listening", timeout=15)
    dash_duo.wait_for_contains_text("#health-silent", "Every meter has reported", timeout=15)
    dash_duo.wait_for_contains_text("#health-reasons", "furlong", timeout=15)
    assert "outside the plausible range" in dash_duo.find_element("#health-recent").text
    page_screenshot(dash_duo, "health")
    assert dash_duo.get_logs() == []
