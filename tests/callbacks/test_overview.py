"""The Overview page: KPIs, the live chart built then extended, and the page in Chromium."""

from __future__ import annotations

import time
from datetime import timedelta

import plotly.graph_objects as go
from dash import html
import pytest

from callbacks import overview_ids as ids
from callbacks.overview import refresh_kpis, refresh_live_chart
from data.queries.clock import data_now


def test_kpis_on_the_simulated_city_read_its_inlets_and_meters(city_runtime):
    as_of, inflow, today, alerts, freshness, ingest, zones = refresh_kpis(1)
    assert "as of 2025-07-10 00:00 UTC" in as_of
    for zone in ("Colle (Z1)", "Centro (Z2)", "Borgo Basso (Z3)", "Zona Industriale (Z4)"):
        assert zone in str(zones)
    assert "/zones?zone=Z3" in str(zones)
    cur = city_runtime.store.cursor()
    latest = cur.execute("""SELECT sum(value) FROM readings WHERE quantity = 'flow' AND ts = '2025-07-09 23:45'
                            AND meter_id LIKE '%-INLET'""").fetchone()[0]
    assert f"{latest:,.1f} L/s" == inflow[0]
    assert "4 of 4 zone inlets reporting" in str(inflow)
    assert today[0].endswith("m³") and "vs typical" in str(today)
    assert "alerting not set up" in str(alerts)
    assert "2025-07-10 00:00 UTC" in str(freshness) and "days ago" in str(freshness)
    assert "not listening" in str(ingest)


def test_empty_store_says_so_instead_of_failing(empty_runtime):
    as_of, inflow, today, alerts, freshness, _, zones = refresh_kpis(1)
    assert "No zones in the store yet" in str(zones)
    assert as_of == "live" and freshness == "no data yet"
    assert "no zone inlet meters registered" in str(inflow)
    figure, _, state = refresh_live_chart(1, "L/s", None)
    assert "No inflow or pressure readings" in figure.layout.annotations[0].text
    assert state["keys"] == []


def test_live_chart_is_built_once_then_only_new_points_travel(city_runtime):
    figure, extend, state = refresh_live_chart(None, "L/s", None)
    assert len(figure["data"]) == 8  # four zones' inflow and four zones' pressure
    assert figure["layout"]["uirevision"] == "overview-live"
    go.Figure(figure)  # a valid plotly figure, though built as a plain dict
    assert all(len(trace["x"]) == 23 for trace in figure["data"])  # (18:00, 23:45] in 15-min readings
    cur = city_runtime.store.cursor()
    now = data_now(cur)
    cur.execute("DELETE FROM readings WHERE ts > ?", [now - timedelta(minutes=30)])
    figure, _, state = refresh_live_chart(None, "L/s", None)
    assert state["last_ts"] == "2025-07-09T23:30:00"
    from sim.backfill import backfill_into_store
    backfill_into_store(city_runtime.store, 0.25, end="2025-07-10T06:00:00", seed=0)
    figure, extend, new_state = refresh_live_chart(2, "L/s", state)
    assert figure is not None and extend is not None
    data, indices, max_points = extend
    assert indices == list(range(8)) and len(data["x"][0]) == 24  # 00:00 to 05:45 arrived: 24 quarter hours
    assert new_state["last_ts"] == "2025-07-10T05:45:00"


def test_switching_the_flow_unit_rebuilds_in_that_unit(city_runtime):
    litres, _, _ = refresh_live_chart(None, "L/s", None)
    minutes, _, _ = refresh_live_chart(None, "L/min", None)
    assert minutes["data"][0]["y"][-1] == pytest.approx(litres["data"][0]["y"][-1] * 60, rel=1e-3)
    assert "L/min" in minutes["layout"]["annotations"][0]["text"]


def test_overview_page_in_a_browser(city_runtime, dash_duo):
    from app import create_app

    dash_duo.start_server(create_app())
    dash_duo.wait_for_contains_text(f"#{ids.INFLOW}", "L/s", timeout=15)
    dash_duo.wait_for_element(f"#{ids.LIVE_CHART} .js-plotly-plot", timeout=15)
    assert "as of 2025-07-10" in dash_duo.find_element(f"#{ids.AS_OF}").text
    assert dash_duo.get_logs() == []


def _points_in_first_trace(dash_duo) -> int:
    return dash_duo.driver.execute_script(
        f"const g = document.querySelector('#{ids.LIVE_CHART} .js-plotly-plot');"
        "return g && g.data && g.data.length ? g.data[0].x.length : -1;")


def test_live_chart_grows_in_the_browser_as_readings_arrive(city_runtime, dash_duo):
    from app import create_app
    from sim.backfill import backfill_into_store

    dash_duo.start_server(create_app())
    dash_duo.wait_for_element(f"#{ids.LIVE_CHART} .js-plotly-plot", timeout=15)
    deadline = time.monotonic() + 15
    while _points_in_first_trace(dash_duo) <= 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    before = _points_in_first_trace(dash_duo)
    assert before == 23
    backfill_into_store(city_runtime.store, 0.125, end="2025-07-10T03:00:00", seed=0)  # three more hours
    deadline = time.monotonic() + 20
    while _points_in_first_trace(dash_duo) == before and time.monotonic() < deadline:
        time.sleep(0.3)
    assert _points_in_first_trace(dash_duo) == before + 12  # 00:00 to 02:45, every 15 min
    assert dash_duo.get_logs() == []


def test_before_todays_first_hour_is_in_the_card_shows_yesterday_whole_or_as_delivered():
    from callbacks.overview import _today
    from data.queries.overview import TodayConsumption

    today = TodayConsumption("2025-07-10", 0, 1_200.0, 1_000.0, 4)
    yesterday = TodayConsumption("2025-07-09", 24, 460_000.0, 400_000.0, 4, whole_day=True)
    value, note = _today(today, yesterday)
    assert value == "460.0 m³" and "▲ 15% vs typical 400.0 m³ (yesterday, whole day, 4 wk)" in str(note)
    _, note = _today(today, TodayConsumption("2025-07-09", 20, 380_000.0, 400_000.0, 4))
    assert "▼ 5% vs typical 400.0 m³ (yesterday, first 20 h, 4 wk)" in str(note)
    value, note = _today(TodayConsumption("2025-07-10", 5, 90_000.0, 100_000.0, 2))
    assert value == "90.0 m³" and "▼ 10% vs typical 100.0 m³ (5 h, 2 wk)" in str(note)


def test_a_store_without_customer_meters_shows_no_consumption_rather_than_zero():
    from callbacks.overview import _today
    from data.queries.overview import TodayConsumption

    value, note = _today(TodayConsumption("2025-07-10", 5, None, None, 0))
    assert str(value) == str(html.Span("–")) and "5 h; no customer meter readings" in str(note)
    value, _ = _today(TodayConsumption("2025-07-10", 5, 0.0, None, 0))
    assert value == "0.0 m³"  # customers who used nothing are a reading, not an absence


def test_ingest_card_counts_the_last_quarter_hour_between_waves_of_readings():
    from callbacks.overview import _ingest
    from data.metrics import IngestMetrics

    metrics = IngestMetrics(broker="127.0.0.1:1883")
    metrics.connection_changed(True)
    metrics.readings_decoded(1200)
    metrics.batch_committed(20.0, 1200, 0, 0)
    value, note = _ingest(metrics.snapshot())
    assert value == "1,200"
    assert "readings in the last 15 min" in str(note) and "broker connected" in str(note)
