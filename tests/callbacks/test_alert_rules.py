"""Alert rules page: the rules as stored, a rule from the form saved or refused with its reason, and its reach."""

from __future__ import annotations

from contextvars import copy_context
from datetime import datetime, timedelta

from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict

from alerts.lifecycle import raise_alerts
from alerts.writes import alert_transaction
from callbacks import alert_rules_ids as ids
from callbacks.alert_rules import change_rule, edit_rule, show_reach, show_rules
from tests.alerts.builders import event, events

START = datetime(2025, 7, 8, 1, 0)  # inside the city's 14 days (ending 2025-07-10)


def triggered(prop_id: str, function, *args):
    def run():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": 1}]))
        return function(*args)
    return copy_context().run(run)


def save(zone="*", category="*", kind="*", concern="*", severity="warning", min_score="0.5", actor="luca"):
    return triggered(f"{ids.SAVE}.n_clicks", change_rule, 1, None, zone, category, kind, concern, severity,
                     min_score, actor, 0)


def remove(zone="*", category="*", kind="*", concern="*"):
    return triggered(f"{ids.REMOVE}.n_clicks", change_rule, None, 1, zone, category, kind, concern, None, "",
                     "luca", 0)


def listed() -> list[list[str]]:
    """The rule keys the page holds after showing the table."""
    return show_rules(0)[1]


def stored_rules(runtime) -> list[tuple]:
    return runtime.store.cursor().execute(
        "SELECT zone_id, category, kind, concern, severity, min_score, changed_by FROM alert_rules "
        "ORDER BY ALL").fetchall()


def test_a_store_the_alert_service_has_not_touched_shows_the_rules_it_will_start_with(empty_runtime):
    table, keys, zones, categories = show_rules(0)
    assert keys[0] == ["*", "*", "*", "*"] and ["*", "*", "burst", "*"] in keys and len(keys) == 12
    assert "Waterline default" in str(table) and zones == [{"label": "Any", "value": "*"}]
    assert [c["value"] for c in categories] == ["*", "zone"]


def test_a_rule_saved_on_the_page_decides_the_next_events_severity(city_runtime):
    changed, message = save(kind="pressure_out_of_band", concern="operations", severity="info", min_score="0.4")
    assert changed == 1
    assert "Saved: any zone · any meter · pressure out of band · operations → info" in str(message)
    assert ("*", "*", "pressure_out_of_band", "operations", "info", 0.4, "luca") in stored_rules(city_runtime)
    table, keys, zones, categories = show_rules(changed)
    assert ["*", "*", "pressure_out_of_band", "operations"] in keys and "by luca" in str(table)
    assert {"Z1", "Z4"} <= {z["value"] for z in zones} and {"residential", "zone"} <= {c["value"] for c in categories}
    with alert_transaction(city_runtime.store) as cur:
        raise_alerts(cur, events(
            event("surge", meter_id="Z1-P1", kind="pressure_out_of_band", concern="operations", start=START),
            event("sag", meter_id="Z1-P1", kind="pressure_out_of_band", start=START + timedelta(days=1)),
        ), START + timedelta(days=2))
    severities = dict(city_runtime.store.cursor().execute("SELECT event_id, severity FROM alerts").fetchall())
    assert severities == {"surge": "info", "sag": "warning"}


def test_a_bad_value_is_explained_and_nothing_changes(city_runtime):
    with alert_transaction(city_runtime.store):
        pass  # the alert service's first scan: the tables and their default rules
    before = stored_rules(city_runtime)
    changed, message = save(kind="burst", min_score="high")
    assert changed is no_update
    assert "Not saved: the score that opens an alert (min_score) must be a number between 0 and 1, got 'high'" \
        in str(message)
    changed, message = save(kind="burst", concern="operations")
    assert changed is no_update and "a burst event is never about operations" in str(message)
    changed, message = remove()
    assert changed is no_update and "Not removed: the catch-all rule" in str(message)
    assert stored_rules(city_runtime) == before
    assert "cannot be saved: a burst event is never about operations" in str(show_reach("*", "*", "burst",
                                                                                         "operations", listed()))


def test_the_form_says_what_a_rule_replaces_and_which_narrower_rules_still_win(city_runtime):
    reach = str(show_reach("*", "*", "burst", "*", listed()))
    assert "Replaces the rule for any zone · any meter · burst · any concern." in reach
    assert "narrower rules still decide the events they match: any zone · inlet meters · burst · any concern" \
        in reach
    assert "A new rule for zone Z1 · any meter · continuous flow · any concern." in str(
        show_reach("Z1", "*", "continuous_flow", "*", listed()))


def test_edit_puts_a_rule_into_the_form_and_remove_takes_it_away(city_runtime):
    save(zone="Z2", kind="burst", severity="critical", min_score="0.25")
    _, keys, *_ = show_rules(1)
    row = keys.index(["Z2", "*", "burst", "*"])
    clicks = [None] * len(keys)
    clicks[row] = 1
    form = triggered(f'{{"index":{row},"type":"{ids.EDIT}"}}.n_clicks', edit_rule, clicks, keys)
    assert form == ("Z2", "*", "burst", "*", "critical", "0.25")
    changed, message = remove("Z2", "*", "burst", "*")
    assert changed == 1 and "Removed the rule for zone Z2 · any meter · burst · any concern." in str(message)
    changed, message = remove("Z2", "*", "burst", "*")
    assert changed is no_update and "There is no rule for zone Z2" in str(message)


def test_change_a_rule_in_the_browser(city_runtime, dash_duo, page_screenshot):
    from app import create_app

    _, keys, *_ = show_rules(0)
    row = keys.index(["*", "*", "burst", "*"])
    dash_duo.start_server(create_app())
    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.wait_for_page(url=dash_duo.server_url + "/alerts/rules")
    dash_duo.wait_for_contains_text(f"#rules-row-{row}", "burst", timeout=15)
    dash_duo.find_element(f"#rules-row-{row} button").click()
    dash_duo.wait_for_text_to_equal(f"#{ids.MIN_SCORE}", "0.3", timeout=10)
    dash_duo.wait_for_contains_text(f"#{ids.REACH}", "Replaces the rule for any zone · any meter · burst", timeout=10)
    score = dash_duo.find_element(f"#{ids.MIN_SCORE}")
    score.clear()
    score.send_keys("0.2 or so")
    dash_duo.find_element(f"#{ids.SAVE}").click()
    dash_duo.wait_for_contains_text(f"#{ids.MESSAGE}", "Not saved: the score that opens an alert (min_score) must",
                                    timeout=10)
    score.clear()
    score.send_keys("0,2")  # a decimal comma is read as the point
    dash_duo.find_element(f"#{ids.SAVE}").click()
    dash_duo.wait_for_contains_text(f"#{ids.MESSAGE}", "Saved: any zone · any meter · burst · any concern",
                                    timeout=10)
    dash_duo.wait_for_contains_text(f"#{ids.TABLE}", "by operator", timeout=10)
    assert ("*", "*", "burst", "*", "critical", 0.2, "operator") in stored_rules(city_runtime)
    page_screenshot(dash_duo, "alert_rules")
    assert dash_duo.get_logs() == []
