"""The alert service over a real store: detect → alerts → notifications, once and on its thread."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from alerts.lifecycle import acknowledge
from alerts.notify.channels import WebhookChannel
from alerts.notify.policy import NotifyPolicy
from alerts.service import AlertService
from alerts.writes import alert_transaction
from dashapp.settings import load_settings
from data.store import Store
from tests.alerts.builders import T0, event, events
from tests.alerts.receivers import WebhookReceiver
from tests.fixtures.listening import wait_until

NOW = T0 + timedelta(hours=7)


def make_store(tmp_path) -> Store:
    store = Store(str(tmp_path / "alerts.duckdb"))
    store.register_meters(pd.DataFrame({"meter_id": ["Z1-R-0001", "Z1-INLET"], "zone_id": ["Z1", "Z1"],
                                        "category": ["residential", "inlet"], "quantity": ["volume", "flow"]}))
    return store


def test_a_cycle_raises_escalates_and_notifies_once(tmp_path):
    store = make_store(tmp_path)
    scans = []

    def detect(cur, now):
        scans.append(now)
        return events(event(hours=(now - T0).total_seconds() / 3600))

    settings = load_settings({"alert_escalate_after_min": 60}, environ={})
    with WebhookReceiver() as hook:
        service = AlertService(store, detect, settings, channels=[WebhookChannel([hook.url], backoff_s=0.01)])
        first = service.run_once(NOW)
        second = service.run_once(NOW + timedelta(minutes=30))
        third = service.run_once(NOW + timedelta(minutes=61))
    assert scans == [NOW, NOW + timedelta(minutes=30), NOW + timedelta(minutes=61)]
    assert len(first.raised.opened) == 1 and first.sent == 1
    assert second.raised.opened == [] and second.deliveries == []
    assert third.escalated == [(first.raised.opened[0], 1)] and third.sent == 1
    assert [b["escalation_level"] for b in hook.bodies] == [0, 1]
    cur = store.cursor()
    assert cur.execute("SELECT count(*), max(last_event_end) FROM alerts").fetchone() == \
        (1, T0 + timedelta(hours=8, minutes=1))
    store.close()


def test_the_background_thread_keeps_going_after_a_failing_scan(tmp_path):
    store = make_store(tmp_path)
    calls = []

    def detect(cur, now):
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("detector crashed")
        return events(event())

    settings = load_settings({"alert_interval_s": 0.05}, environ={})
    service = AlertService(store, detect, settings, channels=[], policy=NotifyPolicy(),
                           clock=lambda cur: NOW)
    service.start()
    assert wait_until(lambda: len(calls) >= 3)
    service.stop()
    with alert_transaction(store) as cur:
        [(alert_id, state)] = cur.execute("SELECT alert_id, state FROM alerts").fetchall()
        acknowledge(cur, alert_id, "maria", NOW)
    assert state == "open"
    assert store.cursor().execute("SELECT state FROM alerts").fetchone() == ("acknowledged",)
    store.close()


def test_a_wake_runs_the_next_cycle_without_waiting_out_the_interval(tmp_path):
    store = make_store(tmp_path)
    calls = []

    def detect(cur, now):
        calls.append(now)
        return events()

    service = AlertService(store, detect, load_settings({"alert_interval_s": 3600}, environ={}),
                           channels=[], policy=NotifyPolicy(), clock=lambda cur: NOW)
    service.start()
    try:
        assert wait_until(lambda: len(calls) == 1)
        service.wake()
        assert wait_until(lambda: len(calls) == 2)
    finally:
        service.stop()
    assert len(calls) == 2
    store.close()


def test_a_cycle_resolves_a_condition_once_it_has_cleared(tmp_path):
    store = make_store(tmp_path)
    silence = events(event("quiet", kind="silent_meter", hours=8, score=0.9))  # ends T0 + 8 h
    service = AlertService(store, lambda cur, now: silence, load_settings({"alert_clear_after_min": 90}, environ={}),
                           channels=[])
    opened = service.run_once(NOW).raised.opened
    assert service.run_once(T0 + timedelta(hours=9)).cleared == []
    assert service.run_once(T0 + timedelta(hours=9, minutes=30)).cleared == opened
    assert store.cursor().execute("SELECT state FROM alerts").fetchall() == [("resolved",)]
    store.close()
