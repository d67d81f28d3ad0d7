"""Events read back from the detected_events table the detection package persists."""

from __future__ import annotations

from datetime import timedelta

from alerts.lifecycle import raise_alerts
from alerts.sources import stored_events
from tests.alerts.builders import T0, alert_db, event, events


def test_stored_events_are_the_recent_ones_and_raise_alerts():
    cur = alert_db()
    assert stored_events()(cur, T0).empty  # no detected_events table yet
    frame = events(event("old", start=T0 - timedelta(days=5)), event("recent"), event("future", start=T0 + timedelta(days=3)))
    frame["detected_at"] = T0
    cur.register("frame", frame)
    cur.execute("CREATE TABLE detected_events AS SELECT * FROM frame")
    now = T0 + timedelta(hours=7)
    found = stored_events(timedelta(days=1))(cur, now)
    assert list(found["event_id"]) == ["recent"] and list(found["concern"]) == ["water_loss"]
    assert len(raise_alerts(cur, found, now).opened) == 1
    cur.execute("ALTER TABLE detected_events DROP COLUMN concern")  # a store from before concerns
    assert stored_events(timedelta(days=1))(cur, now)["concern"].isna().all()
