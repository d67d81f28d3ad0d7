"""Alert lifecycle: opening, de-duplication over rescans, rules, feedback and the state machine."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from alerts.lifecycle import (
    AlertStateError,
    acknowledge,
    escalate,
    mark_not_a_leak,
    raise_alerts,
    resolve,
    resolve_cleared,
)
from alerts.rules import save_rule
from tests.alerts.builders import T0, alert_db, alert_rows, band, event, events

NOW = T0 + timedelta(hours=7)


def history(cur, alert_id):
    return cur.execute("SELECT action, actor, to_state, note FROM alert_history WHERE alert_id = ? "
                       "ORDER BY changed_at, action", [alert_id]).fetchall()


def test_an_event_opens_one_alert_with_its_explanation():
    cur = alert_db()
    result = raise_alerts(cur, events(event()), NOW)
    [alert] = alert_rows(cur)
    assert result.opened == [alert["alert_id"]]
    assert (alert["state"], alert["severity"], alert["meter_id"], alert["zone_id"]) == \
        ("open", "warning", "Z1-R-0001", "Z1")
    assert alert["explanation"] == "flow never stopped for 6 h (minimum 5 L/h)"
    assert alert["category"] == "residential" and alert["lost_volume_l"] == 120.0
    assert history(cur, alert["alert_id"])[0][:3] == ("opened", "waterline", "open")


def test_rescanning_an_ongoing_event_updates_its_alert():
    cur = alert_db()
    raise_alerts(cur, events(event(hours=6, lost_volume_l=120)), NOW)
    result = raise_alerts(cur, events(event(hours=9, lost_volume_l=180, score=0.9)), NOW + timedelta(hours=3))
    [alert] = alert_rows(cur)
    assert result.opened == [] and result.updated == [alert["alert_id"]]
    assert alert["last_event_end"] == T0 + timedelta(hours=9)
    assert (alert["lost_volume_l"], alert["score"]) == (180.0, 0.9)


def test_an_open_alert_follows_its_meter_to_the_zone_and_category_the_register_now_gives():
    cur = alert_db()
    raise_alerts(cur, events(event(hours=6)), NOW)
    cur.execute("UPDATE meters SET zone_id = 'Z2', category = 'commercial' WHERE meter_id = 'Z1-R-0001'")
    raise_alerts(cur, events(event(zone_id="Z2", hours=7)), NOW + timedelta(hours=1))
    [alert] = alert_rows(cur)
    assert (alert["zone_id"], alert["category"], alert["state"]) == ("Z2", "commercial", "open")
    assert history(cur, alert["alert_id"])[-1] == (
        "moved", "waterline", "open", "its meter is now in zone Z2 as commercial, was zone Z1 as residential")
    raise_alerts(cur, events(event(zone_id="Z2", hours=8)), NOW + timedelta(hours=2))
    assert [row[0] for row in history(cur, alert["alert_id"])] == ["opened", "moved"]


def test_a_new_event_on_a_meter_with_an_open_alert_of_that_kind_joins_it():
    cur = alert_db()
    raise_alerts(cur, events(event("ev-1"), event("ev-2", start=T0 + timedelta(days=1))), NOW)
    raise_alerts(cur, events(event("ev-3", start=T0 + timedelta(days=2))), NOW)
    raise_alerts(cur, events(event("ev-4", kind="burst", meter_id="Z1-INLET", score=0.9)), NOW + timedelta(minutes=1))
    rows = alert_rows(cur)
    assert [(a["meter_id"], a["kind"]) for a in rows] == [("Z1-R-0001", "continuous_flow"), ("Z1-INLET", "burst")]
    assert rows[0]["event_id"] == "ev-3"
    assert rows[0]["last_event_end"] == T0 + timedelta(days=2, hours=6)


def test_rules_set_severity_per_zone_and_category_and_drop_weak_events():
    cur = alert_db()
    save_rule(cur, zone_id="Z2", category="residential", kind="continuous_flow", severity="critical", min_score=0.4)
    result = raise_alerts(cur, events(
        event("a", meter_id="Z1-R-0001", zone_id="Z1"),
        event("b", meter_id="Z2-R-0001", zone_id="Z2"),
        event("c", meter_id="Z1-INLET", kind="burst", severity="warning", score=0.5),
        event("d", meter_id="Z1-R-0001", kind="zscore_anomaly", score=0.55),  # default rule needs 0.6
    ), NOW)
    severities = {a["event_id"]: a["severity"] for a in alert_rows(cur)}
    assert severities == {"a": "warning", "b": "critical", "c": "critical"}
    assert result.below_threshold == 1


def test_bad_rules_and_event_frames_are_refused_with_a_reason():
    cur = alert_db()
    with pytest.raises(ValueError, match="severity must be one of info, warning, critical"):
        save_rule(cur, severity="urgent")
    with pytest.raises(ValueError, match="lacks columns: score"):
        raise_alerts(cur, events(event()).drop(columns="score"), NOW)
    assert raise_alerts(cur, pd.DataFrame(), NOW).opened == []


def test_acknowledge_then_resolve_with_history():
    cur = alert_db()
    [alert_id] = raise_alerts(cur, events(event()), NOW).opened
    acknowledge(cur, alert_id, "maria", NOW + timedelta(minutes=5), note="crew on the way")
    resolve(cur, alert_id, "maria", NOW + timedelta(hours=2), note="valve replaced")
    [alert] = alert_rows(cur)
    assert (alert["state"], alert["acknowledged_by"], alert["note"]) == ("resolved", "maria", "valve replaced")
    assert [h[:3] for h in history(cur, alert_id)] == [
        ("opened", "waterline", "open"), ("acknowledged", "maria", "acknowledged"), ("resolved", "maria", "resolved")]
    with pytest.raises(AlertStateError, match="is resolved: only open alerts can be acknowledged"):
        acknowledge(cur, alert_id, "maria", NOW)
    with pytest.raises(AlertStateError, match="no alert 'AL-missing'"):
        resolve(cur, "AL-missing", "maria", NOW)


def test_a_resolved_alert_reopens_when_its_event_goes_on():
    cur = alert_db()
    [alert_id] = raise_alerts(cur, events(event(hours=6)), NOW).opened
    resolve(cur, alert_id, "maria", T0 + timedelta(hours=7))
    assert raise_alerts(cur, events(event(hours=6)), NOW).reopened == []
    assert raise_alerts(cur, events(event(hours=12)), T0 + timedelta(hours=12)).reopened == [alert_id]
    assert alert_rows(cur)[0]["state"] == "open"


def test_not_a_leak_suppresses_the_same_pattern_and_says_why():
    cur = alert_db()
    [first] = raise_alerts(cur, events(event("ev-1")), NOW).opened
    mark_not_a_leak(cur, first, "luca", NOW, note="pool filling")
    result = raise_alerts(cur, events(event("ev-2", start=T0 + timedelta(days=2)),
                                      event("ev-3", meter_id="Z2-R-0001", zone_id="Z2")), NOW + timedelta(days=2))
    assert len(result.suppressed) == 1 and len(result.opened) == 1
    suppressed = {a["alert_id"]: a for a in alert_rows(cur)}[result.suppressed[0]]
    assert suppressed["state"] == "not_a_leak" and suppressed["meter_id"] == "Z1-R-0001"
    assert "luca marked continuous flow (water loss) on Z1-R-0001 as not a leak" in suppressed["suppressed_reason"]
    assert "(pool filling)" in suppressed["suppressed_reason"]
    assert cur.execute("SELECT effect FROM alert_feedback").fetchall() == [("suppress",)]


def test_a_pumps_surge_marked_not_a_leak_does_not_silence_a_sag_on_that_sensor():
    cur = alert_db()
    [surge] = raise_alerts(cur, events(band("ev-1", "above", 0)), NOW).opened
    mark_not_a_leak(cur, surge, "luca", NOW, note="booster pump starts at 6")
    later = raise_alerts(cur, events(band("ev-2", "above", 1), band("ev-3", "below", 1)), NOW + timedelta(days=1))
    rows = {a["event_id"]: a for a in alert_rows(cur)}
    assert (rows["ev-2"]["state"], rows["ev-3"]["state"]) == ("not_a_leak", "open")
    assert later.opened == [rows["ev-3"]["alert_id"]] and rows["ev-3"]["concern"] == "water_loss"
    assert "pressure out of band (operations)" in rows["ev-2"]["suppressed_reason"]


def test_a_surge_and_a_sag_on_one_sensor_are_two_alerts():
    cur = alert_db()
    raise_alerts(cur, events(band("ev-1", "above", 0)), NOW)
    raise_alerts(cur, events(band("ev-2", "below", 0), band("ev-3", "above", 1)), NOW + timedelta(days=1))
    rows = alert_rows(cur)
    assert [(a["concern"], a["event_id"], a["state"]) for a in rows] == [("operations", "ev-3", "open"),
                                                                         ("water_loss", "ev-2", "open")]


def test_alerts_and_answers_from_before_concerns_stand_for_every_concern_of_their_kind():
    cur = alert_db()
    cur.execute("ALTER TABLE alerts DROP COLUMN concern")
    cur.execute("ALTER TABLE alert_feedback DROP COLUMN concern")
    cur.execute("""INSERT INTO alerts (alert_id, event_id, meter_id, zone_id, kind, severity, state, opened_at,
                   updated_at, event_start, last_event_end, score) VALUES ('AL-old', 'ev-0', 'Z1-INLET', 'Z1',
                   'pressure_out_of_band', 'warning', 'open', ?, ?, ?, ?, 0.8)""", [T0, T0, T0, T0])
    cur.execute("""INSERT INTO alert_feedback (meter_id, kind, verdict, effect, actor, created_at)
                   VALUES ('Z1-R-0001', 'continuous_flow', 'not_a_leak', 'suppress', 'luca', ?)""", [T0])
    result = raise_alerts(cur, events(band("ev-1", "below", 0), event("ev-2")), NOW)
    rows = {a["alert_id"]: a for a in alert_rows(cur)}
    assert result.updated == ["AL-old"] and (rows["AL-old"]["event_id"], rows["AL-old"]["concern"]) == \
        ("ev-1", "water_loss")
    assert len(result.suppressed) == 1 and result.opened == []
    reason = rows[result.suppressed[0]]["suppressed_reason"]
    assert "luca marked continuous flow on Z1-R-0001 as not a leak" in reason  # the answer named no concern


def test_not_a_leak_can_raise_the_threshold_instead():
    cur = alert_db()
    [first] = raise_alerts(cur, events(event("ev-1", score=0.6)), NOW).opened
    mark_not_a_leak(cur, first, "luca", NOW, effect="raise_threshold", factor=1.5)  # 0.5 → 0.75
    weak = raise_alerts(cur, events(event("ev-2", score=0.7, start=T0 + timedelta(days=1))), NOW)
    strong = raise_alerts(cur, events(event("ev-3", score=0.9, start=T0 + timedelta(days=3))), NOW)
    assert len(weak.suppressed) == 1 and len(strong.opened) == 1
    reason = {a["alert_id"]: a for a in alert_rows(cur)}[weak.suppressed[0]]["suppressed_reason"]
    assert "score 0.70 is below the raised threshold 0.75 (normally 0.50)" in reason


def test_alerts_left_open_escalate_but_acknowledged_ones_do_not():
    cur = alert_db()
    [kept_open] = raise_alerts(cur, events(event("a")), NOW).opened
    [acked] = raise_alerts(cur, events(event("b", meter_id="Z2-R-0001", zone_id="Z2")), NOW).opened
    acknowledge(cur, acked, "maria", NOW)
    assert escalate(cur, NOW + timedelta(minutes=59), after_s=3600, max_level=2) == []
    assert escalate(cur, NOW + timedelta(minutes=61), after_s=3600, max_level=2) == [(kept_open, 1)]
    assert escalate(cur, NOW + timedelta(hours=9), after_s=3600, max_level=2) == [(kept_open, 2)]
    assert escalate(cur, NOW + timedelta(hours=10), after_s=3600, max_level=2) == []
    levels = dict(cur.execute("SELECT alert_id, escalation_level FROM alerts").fetchall())
    assert levels == {kept_open: 2, acked: 0}


def test_conditions_that_end_by_themselves_are_resolved_but_leaks_wait_for_people():
    cur = alert_db()
    [silent] = raise_alerts(cur, events(event("s", kind="silent_meter", hours=8, score=0.9)), NOW).opened
    [leak] = raise_alerts(cur, events(event("l", meter_id="Z2-R-0001", zone_id="Z2", hours=8)), NOW).opened
    acknowledge(cur, silent, "maria", NOW)
    kinds, after = ["silent_meter", "sensor_stuck"], timedelta(hours=1)
    assert resolve_cleared(cur, T0 + timedelta(hours=8, minutes=59), kinds, after) == []
    assert resolve_cleared(cur, T0 + timedelta(hours=9), kinds, after) == [silent]
    assert resolve_cleared(cur, T0 + timedelta(days=9), kinds, timedelta(0)) == []  # 0 = never
    assert {a["alert_id"]: a["state"] for a in alert_rows(cur)} == {silent: "resolved", leak: "open"}
    assert history(cur, silent)[-1] == ("resolved", "waterline", "resolved",
                                        "cleared by itself: not seen since 2025-07-09 10:00 UTC")
    went_on = raise_alerts(cur, events(event("s", kind="silent_meter", hours=12, score=0.9)), T0 + timedelta(hours=12))
    assert went_on.reopened == [silent]
