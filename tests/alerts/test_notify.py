"""Notifications delivered to real local receivers: SMTP (aiosmtpd), HTTP webhooks, Mosquitto."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from alerts.lifecycle import acknowledge, escalate, raise_alerts, resolve
from alerts.notify.channels import (
    EmailChannel,
    LogChannel,
    MqttChannel,
    SmsChannel,
    WebhookChannel,
    channels_from_settings,
)
from alerts.notify.dispatch import notify_due
from alerts.notify.policy import NotifyPolicy, parse_quiet_hours, policy_from_settings
from dashapp.settings import SettingsError, load_settings
from tests.alerts.builders import T0, alert_db, event, events
from tests.alerts.receivers import SmtpInbox, WebhookReceiver
from tests.fixtures.mqtt_probe import MqttProbe

NOW = T0 + timedelta(hours=7)  # 09:00 UTC


def statuses(cur):
    return cur.execute("SELECT channel, target, escalation_level, status, attempts FROM notifications "
                       "ORDER BY channel, target, escalation_level").fetchall()


def test_email_reaches_the_smtp_server_once_per_alert():
    cur = alert_db()
    [alert_id] = raise_alerts(cur, events(event(kind="burst", meter_id="Z1-INLET", score=0.9,
                                                explanation="flow stepped up 8.1 L/s while pressure fell 0.9 bar")),
                              NOW).opened
    with SmtpInbox() as inbox:
        channel = EmailChannel("127.0.0.1", inbox.port, "alerts@waterline.test", ["ops@utility.test"])
        first = notify_due(cur, [channel], NotifyPolicy(), NOW)
        again = notify_due(cur, [channel], NotifyPolicy(), NOW + timedelta(minutes=1))
    assert [r.status for r in first] == ["sent"] and again == []
    [mail] = inbox.messages
    assert mail["To"] == "ops@utility.test"
    assert mail["Subject"] == "[Waterline CRITICAL] Burst at Z1-INLET in zone Z1"
    body = mail.get_payload()
    assert "flow stepped up 8.1 L/s while pressure fell 0.9 bar" in body and alert_id in body
    assert "Concern: water loss" in body
    assert statuses(cur) == [("email", "ops@utility.test", 0, "sent", 1)]


def test_an_unreachable_smtp_server_is_logged_as_failed_and_retried_later():
    cur = alert_db()
    raise_alerts(cur, events(event()), NOW)
    with SmtpInbox() as inbox:
        port = inbox.port
    channel = EmailChannel("127.0.0.1", port, "alerts@waterline.test", ["ops@utility.test"], timeout_s=2)
    [result] = notify_due(cur, [channel], NotifyPolicy(max_attempts=2), NOW)
    assert result.status == "failed" and "SMTP 127.0.0.1" in result.error
    notify_due(cur, [channel], NotifyPolicy(max_attempts=2), NOW)
    assert notify_due(cur, [channel], NotifyPolicy(max_attempts=2), NOW) == []  # budget spent
    assert statuses(cur) == [("email", "ops@utility.test", 0, "failed", 2)]


def test_webhook_is_retried_after_a_server_error_then_delivered():
    cur = alert_db()
    [alert_id] = raise_alerts(cur, events(event()), NOW).opened
    with WebhookReceiver(failures=1) as hook:
        channel = WebhookChannel([hook.url], retries=3, backoff_s=0.05)
        [result] = notify_due(cur, [channel], NotifyPolicy(), NOW)
    assert (result.status, result.attempts, hook.requests) == ("sent", 2, 2)
    [body] = hook.bodies
    assert body["alert_id"] == alert_id and body["kind"] == "continuous_flow" and body["severity"] == "warning"
    assert body["event_start"] == "2025-07-09T02:00:00Z" and body["lost_volume_l"] == 120.0
    assert body["concern"] == "water_loss"
    assert statuses(cur) == [("webhook", hook.url, 0, "sent", 2)]


def test_webhook_gives_up_after_its_retries_and_on_client_errors():
    cur = alert_db()
    raise_alerts(cur, events(event()), NOW)
    with WebhookReceiver(failures=10) as failing, WebhookReceiver(failures=10, status_on_failure=404) as wrong:
        results = notify_due(cur, [WebhookChannel([failing.url, wrong.url], retries=2, backoff_s=0.01)],
                             NotifyPolicy(), NOW)
    by_target = {r.delivery.target: r for r in results}
    assert (by_target[failing.url].status, by_target[failing.url].attempts) == ("failed", 3)
    assert "HTTP 500" in by_target[failing.url].error and failing.requests == 3
    assert (by_target[wrong.url].attempts, wrong.requests) == (1, 1) and "HTTP 404" in by_target[wrong.url].error


def test_sms_goes_through_the_provider_webhook_with_the_template():
    cur = alert_db()
    raise_alerts(cur, events(event()), NOW)
    with WebhookReceiver() as provider:
        channel = SmsChannel(provider.url, ["+390612345"], "{severity}, {concern}: {kind} at {meter_id} ({zone_id})")
        notify_due(cur, [channel], NotifyPolicy(), NOW)
    assert provider.bodies == [{"to": "+390612345", "text": "warning, water loss: continuous flow at Z1-R-0001 (Z1)"}]


def test_mqtt_alert_topic_per_zone(mosquitto):
    cur = alert_db()
    [alert_id] = raise_alerts(cur, events(event(zone_id="Z1")), NOW).opened
    with MqttProbe(mosquitto.host, mosquitto.port) as probe:
        probe.subscribe("waterline/v1/alerts/#")
        [result] = notify_due(cur, [MqttChannel(mosquitto.host, mosquitto.port)], NotifyPolicy(), NOW)
        [message] = probe.receive(1)
    assert result.status == "sent"
    assert message.topic == "waterline/v1/alerts/Z1"
    payload = json.loads(message.payload)
    assert (payload["alert_id"], payload["meter_id"], payload["state"]) == (alert_id, "Z1-R-0001", "open")


def test_quiet_hours_hold_warnings_until_morning_but_not_criticals():
    cur = alert_db()
    raise_alerts(cur, events(event("w"), event("c", meter_id="Z1-INLET", kind="burst", score=0.9)), NOW)
    policy = NotifyPolicy(quiet_hours=parse_quiet_hours("22:00-07:00"), quiet_tz="Europe/Rome")
    night = datetime(2025, 7, 9, 23, 30)  # 01:30 in Rome
    with WebhookReceiver() as hook:
        channel = WebhookChannel([hook.url], backoff_s=0.01)
        notify_due(cur, [channel], policy, night)
        assert [b["kind"] for b in hook.bodies] == ["burst"]
        assert ("webhook", hook.url, 0, "held", 0) in statuses(cur)
        notify_due(cur, [channel], policy, night + timedelta(hours=2))  # 03:30 Rome: still quiet
        assert len(hook.bodies) == 1
        notify_due(cur, [channel], policy, datetime(2025, 7, 10, 5, 5))  # 07:05 Rome
    assert [b["kind"] for b in hook.bodies] == ["burst", "continuous_flow"]
    assert {s[3] for s in statuses(cur)} == {"sent"}


def test_an_escalated_alert_notifies_again_including_the_escalation_targets():
    cur = alert_db()
    raise_alerts(cur, events(event("a"), event("b", meter_id="Z2-R-0001", zone_id="Z2")), NOW)
    acknowledged = cur.execute("SELECT alert_id FROM alerts WHERE meter_id = 'Z2-R-0001'").fetchone()[0]
    with SmtpInbox() as inbox:
        channel = EmailChannel("127.0.0.1", inbox.port, "alerts@waterline.test", ["ops@utility.test"],
                               escalation_recipients=["chief@utility.test"])
        notify_due(cur, [channel], NotifyPolicy(), NOW)
        acknowledge(cur, acknowledged, "maria", NOW)
        escalate(cur, NOW + timedelta(hours=3), after_s=7200, max_level=2)
        notify_due(cur, [channel], NotifyPolicy(), NOW + timedelta(hours=3))
    assert [tuple(e[1]) for e in inbox.envelopes] == [("ops@utility.test",), ("ops@utility.test",),
                                                      ("ops@utility.test",), ("chief@utility.test",)]
    assert "(escalated, level 1)" in inbox.messages[-1]["Subject"]


def test_info_alerts_stay_off_the_channels_by_default():
    cur = alert_db()
    raise_alerts(cur, events(event(kind="sensor_stuck", meter_id="Z1-INLET")), NOW)
    assert notify_due(cur, [LogChannel()], NotifyPolicy(), NOW) == []
    assert [r.status for r in notify_due(cur, [LogChannel()], NotifyPolicy(min_severity="info"), NOW)] == ["sent"]


def test_channels_come_from_settings_and_bad_values_are_explained():
    settings = load_settings({}, environ={
        "WATERLINE_ALERT_SMTP_HOST": "mail.local", "WATERLINE_ALERT_EMAIL_TO": "a@x, b@x",
        "WATERLINE_ALERT_WEBHOOK_URLS": "http://h/1", "WATERLINE_ALERT_MQTT_BROKER": "127.0.0.1:1883"})
    channels = channels_from_settings(settings)
    assert [c.name for c in channels] == ["log", "email", "webhook", "mqtt"]
    assert channels[1].targets(0) == ["a@x", "b@x"]
    assert [c.name for c in channels_from_settings(load_settings({}, environ={}))] == ["log"]
    with pytest.raises(SettingsError, match="alert_quiet_hours must look like 22:00-07:00"):
        policy_from_settings(load_settings({"alert_quiet_hours": "late"}, environ={}))
    with pytest.raises(SettingsError, match="alert_mqtt_broker must be HOST:PORT"):
        channels_from_settings(load_settings({"alert_mqtt_broker": "nohost"}, environ={}))
    with pytest.raises(SettingsError, match="alert_sms_template uses an unknown field"):
        channels_from_settings(load_settings({"alert_sms_url": "http://sms", "alert_sms_to": "1",
                                              "alert_sms_template": "{nope}"}, environ={}))


def test_a_reopened_alert_is_notified_again():
    cur = alert_db()
    [alert_id] = raise_alerts(cur, events(event(hours=6)), NOW).opened
    with WebhookReceiver() as hook:
        channel = WebhookChannel([hook.url], backoff_s=0.01)
        notify_due(cur, [channel], NotifyPolicy(), NOW)
        resolve(cur, alert_id, "maria", NOW)
        assert notify_due(cur, [channel], NotifyPolicy(), NOW) == []
        assert raise_alerts(cur, events(event(hours=12)), NOW + timedelta(hours=6)).reopened == [alert_id]
        notify_due(cur, [channel], NotifyPolicy(), NOW + timedelta(hours=6))
    assert [(b["alert_id"], b["state"]) for b in hook.bodies] == [(alert_id, "open"), (alert_id, "open")]
    assert statuses(cur) == [("webhook", hook.url, 0, "sent", 2)]
