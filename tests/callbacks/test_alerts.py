"""The Leaks & alerts page: callbacks called as functions on the simulated city, and the page in Chromium."""

from __future__ import annotations

from contextvars import copy_context
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict

from alerts.lifecycle import raise_alerts
from alerts.rules import save_rule
from alerts.writes import alert_transaction
from callbacks import alerts_ids as ids
from callbacks.alerts import act_on_alert, fill_filters, refresh_alerts, refresh_zones, show_alert
from data.queries.clock import data_now
from data.queries.zone_status import StatusLimits, zone_statuses
from tests.alerts.builders import event, events

START = datetime(2025, 7, 8, 1, 0)  # inside the city's 14 days (ending 2025-07-10)


@pytest.fixture
def alert_runtime(city_runtime):
    with alert_transaction(city_runtime.store) as cur:
        raise_alerts(cur, events(
            event("leak-1", meter_id="Z1-R-0001", zone_id="Z1", start=START, hours=8,
                  explanation="flow never fell below 22 L/h for 8 h (usual night minimum 0 L/h)"),
            event("burst-1", meter_id="Z2-INLET", zone_id="Z2", kind="burst", score=0.95, start=START, hours=1,
                  explanation="inlet flow stepped up 6.2 L/s while Z2-P1 pressure fell 0.8 bar"),
        ), START + timedelta(hours=9))
    return city_runtime


def alert_id_of(runtime, meter_id):
    return runtime.store.cursor().execute("SELECT alert_id FROM alerts WHERE meter_id = ?", [meter_id]).fetchone()[0]


def press(button: str, *args):
    def run():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": f"{button}.n_clicks", "value": 1}]))
        return act_on_alert(*args)
    return copy_context().run(run)


def test_an_empty_store_says_there_is_nothing_yet(empty_runtime):
    timeline, listing, summary, shown = refresh_alerts(None, None, None, None, ["open", "acknowledged"], 0, 0)
    schematic, reasons = refresh_zones(0, 0)
    assert "No alerts yet" in str(listing) and summary == "" and shown == [] and reasons == []
    assert timeline.layout.annotations[0].text == "No alerts match these filters."
    assert "No zones are registered yet" in schematic.layout.annotations[0].text
    detail, chart, *disabled = show_alert(None, 0)
    assert "Choose an alert" in str(detail) and disabled == [True, True, True]


def test_zones_take_the_worst_open_severity_and_filters_narrow_the_list(alert_runtime):
    zones, concerns, kinds = fill_filters(0, 0)
    assert [z["value"] for z in zones] == ["Z1", "Z2", "Z3", "Z4"]
    assert [k["value"] for k in kinds] == ["burst", "continuous_flow"]
    assert concerns == [{"label": "Water loss", "value": "water_loss"}]
    timeline, _, summary, shown = refresh_alerts(None, None, None, None, ["open", "acknowledged"], 0, 0)
    schematic, _ = refresh_zones(0, 0)
    assert shown[0] == alert_id_of(alert_runtime, "Z2-INLET")  # critical first
    zone_text = schematic.data[0].text
    assert "Z1 · Warning" in zone_text[0] and "Z2 · Critical" in zone_text[1] and "Z3 · Normal" in zone_text[2]
    assert {t.name for t in timeline.data} == {"critical", "warning"}
    assert summary.startswith("2 alerts shown (1 critical, 1 warning)")
    _, only_z1, _, _ = refresh_alerts(["Z1"], None, None, None, None, 0, 0)
    assert "Z1-R-0001" in str(only_z1) and "Z2-INLET" not in str(only_z1)
    _, none, _, _ = refresh_alerts(None, None, None, ["info"], None, 0, 0)
    assert "No alerts match these filters" in str(none)


def test_the_concern_filter_keeps_leak_signs_apart_from_instrument_faults(alert_runtime):
    with alert_transaction(alert_runtime.store) as cur:
        raise_alerts(cur, events(event("stuck-1", meter_id="Z1-INLET", zone_id="Z1", kind="sensor_stuck", start=START,
                                       explanation="the same value for 5 h", concern="instrument")),
                     START + timedelta(hours=9))
    _, concerns, _ = fill_filters(0, 0)
    assert [c["label"] for c in concerns] == ["Instrument", "Water loss"]
    _, leaks, summary, shown = refresh_alerts(None, ["water_loss"], None, None, None, 0, 0)
    assert len(shown) == 2 and "Z1-INLET" not in str(leaks) and summary.startswith("2 alerts shown")
    _, faults, _, [stuck] = refresh_alerts(None, ["instrument"], None, None, None, 0, 0)
    assert "the same value for 5 h" in str(faults) and "Instrument" in str(show_alert(stuck, 0)[0])


def test_a_zone_the_zone_rules_judge_worse_says_why_though_no_alert_is_open(city_runtime):
    city_runtime.settings = replace(city_runtime.settings, zone_pressure_min_bar=9.0, zone_pressure_max_bar=10.0)
    schematic, reasons = refresh_zones(0, 0)
    cur = city_runtime.store.cursor()
    overview = zone_statuses(cur, data_now(cur), limits=StatusLimits.from_settings(city_runtime.settings))
    assert [o.status for o in overview] == ["Warning"] * 4
    assert [f"{o.zone_id} · {o.status}" in text for o, text in zip(overview, schematic.data[0].text)] == [True] * 4
    assert all("no active alerts" in text for text in schematic.data[0].text)
    assert "below the 9.0 bar service minimum" in schematic.data[0].hovertext[0]
    assert len(reasons) == 4 and reasons[0].children[0].children == "Colle (Z1) · Warning"
    assert reasons[0].children[1].startswith(" by the zone rules, not an alert: Pressure at")


def test_an_alert_shows_its_explanation_and_the_meter_around_it(alert_runtime):
    alert_id = alert_id_of(alert_runtime, "Z1-R-0001")
    detail, chart, ack_disabled, resolve_disabled, nal_disabled = show_alert(alert_id, 0)
    assert "flow never fell below 22 L/h for 8 h" in str(detail)
    assert (ack_disabled, resolve_disabled, nal_disabled) == (False, False, False)
    [line] = [t for t in chart.data if t.name == "Z1-R-0001 hourly consumption"]
    assert len(line.y) == 48 + 8 + 24 + 1 and sum(line.y) > 0
    inlet = show_alert(alert_id_of(alert_runtime, "Z2-INLET"), 0)[1]
    assert any("Z2-INLET flow" in (t.name or "") for t in inlet.data)


def test_an_alert_names_the_rule_that_decides_it_now(alert_runtime):
    burst = alert_id_of(alert_runtime, "Z2-INLET")
    assert "any zone · inlet meters · burst · any concern: critical, alerts from score 0.30" in str(
        show_alert(burst, 0)[0])
    with alert_transaction(alert_runtime.store) as cur:
        save_rule(cur, zone_id="Z2", category="inlet", kind="burst", severity="warning", min_score=0.5)
    assert "zone Z2 · inlet meters · burst · any concern: warning, alerts from score 0.50" in str(
        show_alert(burst, 1)[0])


def test_not_a_leak_closes_the_alert_and_the_page_says_why_the_next_one_is_suppressed(alert_runtime):
    alert_id = alert_id_of(alert_runtime, "Z1-R-0001")
    changed, message, note = press(ids.NOT_A_LEAK, 1, None, 1, alert_id, "garden tap", "luca", "suppress", 3)
    assert changed == 4 and "marked not a leak" in str(message) and note == ""
    _, refusal, _ = press(ids.ACKNOWLEDGE, 1, None, None, alert_id, None, "luca", "suppress", 4)
    assert "is not a leak: only open alerts can be acknowledged" in str(refusal)
    with alert_transaction(alert_runtime.store) as cur:
        result = raise_alerts(cur, events(event("leak-2", meter_id="Z1-R-0001", start=START + timedelta(days=1))),
                              START + timedelta(days=1, hours=7))
    detail = show_alert(result.suppressed[0], 5)[0]
    assert "Why this alert did not open" in str(detail)
    assert "luca marked continuous flow (water loss) on Z1-R-0001 as not a leak" in str(detail)
    assert "(garden tap)" in str(detail)


def click(dash_duo, selector: str) -> None:
    element = dash_duo.find_element(selector)
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()


def test_acknowledge_in_the_browser(alert_runtime, dash_duo, page_screenshot):
    from app import create_app

    alert_id = alert_id_of(alert_runtime, "Z1-R-0001")
    dash_duo.start_server(create_app())
    dash_duo.driver.set_window_size(1400, 1400)
    dash_duo.wait_for_page(url=dash_duo.server_url + "/alerts")
    # the worst alert is shown first, then the one the user picks
    dash_duo.wait_for_contains_text("#alerts-explanation", "inlet flow stepped up 6.2 L/s", timeout=15)
    click(dash_duo, f"#alerts-item-{alert_id} button")
    dash_duo.wait_for_contains_text("#alerts-explanation", "flow never fell below 22 L/h for 8 h", timeout=10)
    dash_duo.find_element(f"#{ids.NOTE}").send_keys("crew sent")
    click(dash_duo, f"#{ids.ACKNOWLEDGE}")
    dash_duo.wait_for_contains_text(f"#{ids.ACTION_MESSAGE}", f"Alert {alert_id} acknowledged", timeout=10)
    dash_duo.wait_for_contains_text("#alerts-detail-body", "acknowledged", timeout=10)
    assert "crew sent" in dash_duo.find_element("#alerts-detail-body").text
    assert dash_duo.find_element("#alerts-detail-body").get_attribute("data-state") == "acknowledged"
    dash_duo.wait_for_contains_text(f"#alerts-item-{alert_id}", "acknowledged", timeout=10)
    assert alert_runtime.store.cursor().execute(
        "SELECT state, acknowledged_by, note FROM alerts WHERE alert_id = ?", [alert_id]).fetchone() == \
        ("acknowledged", "operator", "crew sent")
    page_screenshot(dash_duo, "alerts")
    assert dash_duo.get_logs() == []


def test_clicking_a_zone_box_filters_to_it_and_back():
    from callbacks.alerts import filter_by_clicked_zone

    click = {"points": [{"customdata": "Z2"}]}
    assert filter_by_clicked_zone(click, None) == ["Z2"]
    assert filter_by_clicked_zone(click, ["Z2"]) == []
    assert filter_by_clicked_zone(click, ["Z1", "Z3"]) == ["Z2"]


def test_a_new_list_selects_its_first_alert_unless_the_selection_is_still_there():
    from callbacks.alerts import select_alert

    def shown(ids_shown, selected):
        def run():
            context_value.set(AttributeDict(triggered_inputs=[{"prop_id": f"{ids.SHOWN}.data", "value": ids_shown}]))
            return select_alert([], None, ids_shown, selected)
        return copy_context().run(run)

    assert shown(["A1", "A2"], None) == "A1"
    assert shown(["A1", "A2"], "A2") is no_update
    assert shown([], "A2") is None
