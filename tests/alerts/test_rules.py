"""Alert rules: matching by zone, category, kind and concern, what a bad rule is told, and older rule tables."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.lifecycle import raise_alerts
from alerts.rules import Rule, checked_rule, delete_rule, load_rules, rule_for, save_rule
from alerts.schema import DEFAULT_RULES, ensure_alert_tables
from tests.alerts.builders import T0, alert_db, alert_rows, band, event, events

NOW = T0 + timedelta(hours=7)


def test_a_rule_per_concern_keeps_a_pumps_surge_quieter_than_a_sag_on_the_same_sensor():
    cur = alert_db()
    save_rule(cur, kind="pressure_out_of_band", concern="operations", severity="info", min_score=0.5)
    raise_alerts(cur, events(band("ev-surge", "above", 0), band("ev-sag", "below", 1)), NOW)
    assert {a["event_id"]: a["severity"] for a in alert_rows(cur)} == {"ev-surge": "info", "ev-sag": "warning"}


def test_kind_counts_most_then_concern_then_category_then_zone():
    rules = [Rule(severity="info"), Rule(zone_id="Z1", severity="warning"), Rule(category="inlet", severity="critical"),
             Rule(concern="operations", severity="info"), Rule(kind="pressure_out_of_band", severity="warning"),
             Rule(kind="pressure_out_of_band", concern="operations", min_score=0.9)]
    assert rule_for(rules, "Z1", "inlet", "pressure_out_of_band", "operations").min_score == 0.9
    assert rule_for(rules, "Z1", "inlet", "pressure_out_of_band", "water_loss").kind == "pressure_out_of_band"
    assert rule_for(rules, "Z1", "inlet", "sensor_stuck", "operations").concern == "operations"
    assert rule_for(rules, "Z1", "inlet", "sensor_stuck", "instrument").category == "inlet"
    assert rule_for(rules, "Z1", "residential", "sensor_stuck", "instrument").zone_id == "Z1"
    assert rule_for(rules, "Z2", "residential", "sensor_stuck", None) == Rule(severity="info")


@pytest.mark.parametrize("given, says", [
    ({"kind": "leak"}, r"kind must be '\*' or one of burst, continuous_flow"),
    ({"concern": "money"}, r"concern must be '\*' or one of water_loss, operations"),
    ({"kind": "burst", "concern": "operations"}, "a burst event is never about operations .* would match nothing"),
    ({"min_score": "high"}, r"\(min_score\) must be a number between 0 and 1, got 'high'"),
    ({"min_score": 1.5}, r"\(min_score\) must be between 0 and 1"),
    ({"severity": "urgent"}, "severity must be one of info, warning, critical"),
])
def test_a_bad_rule_is_refused_with_what_is_wrong(given, says):
    with pytest.raises(ValueError, match=says):
        checked_rule(**given)


def test_a_rule_from_a_form_reads_blanks_as_any_and_trims_what_was_typed():
    assert checked_rule(" Z1 ", "", None, "", " Warning ", "0.4") == Rule("Z1", "*", "*", "*", "warning", 0.4)
    assert checked_rule(min_score=" 0,35 ").min_score == 0.35


def test_a_rule_can_be_removed_but_the_catch_all_only_changed():
    cur = alert_db()
    save_rule(cur, zone_id="Z2", kind="burst", severity="warning", min_score=0.6)
    assert delete_rule(cur, zone_id="Z2", kind="burst") is True
    assert delete_rule(cur, zone_id="Z2", kind="burst") is False
    with pytest.raises(ValueError, match="catch-all rule"):
        delete_rule(cur)
    assert len(load_rules(cur)) == len(DEFAULT_RULES)


def test_a_rule_table_from_before_concerns_keeps_its_rules_and_takes_rules_per_concern():
    cur = alert_db()
    cur.execute("DROP TABLE alert_rules")
    cur.execute("""CREATE TABLE alert_rules (zone_id VARCHAR NOT NULL DEFAULT '*', category VARCHAR NOT NULL
                   DEFAULT '*', kind VARCHAR NOT NULL DEFAULT '*', severity VARCHAR, min_score DOUBLE NOT NULL
                   DEFAULT 0.0, PRIMARY KEY (zone_id, category, kind))""")
    cur.executemany("INSERT INTO alert_rules VALUES (?, ?, ?, ?, ?)",
                    [("*", "*", "*", None, 0.5), ("Z2", "*", "pressure_out_of_band", "critical", 0.4)])
    ensure_alert_tables(cur)
    assert set(load_rules(cur)) == {Rule(min_score=0.5), Rule("Z2", "*", "pressure_out_of_band", "*", "critical", 0.4)}
    save_rule(cur, zone_id="Z2", kind="pressure_out_of_band", concern="operations", severity="info", min_score=0.4)
    raise_alerts(cur, events(event("ev-sag", meter_id="Z2-R-0001", zone_id="Z2", kind="pressure_out_of_band"),
                             event("ev-surge", meter_id="Z2-R-0001", zone_id="Z2", kind="pressure_out_of_band",
                                   concern="operations", start=T0 + timedelta(days=1))), NOW)
    assert {a["event_id"]: a["severity"] for a in alert_rows(cur)} == {"ev-sag": "critical", "ev-surge": "info"}
