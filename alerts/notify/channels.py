"""Delivery channels: the local log, email over SMTP, webhooks, an MQTT topic and an SMS provider.

Each channel is a small class with a `name`, the targets it sends to at an
escalation level, and `deliver(message, target)`, which returns how many tries
it took or raises `DeliveryError`. Channels are built from Settings by
`channels_from_settings`; only the log is on by default.
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

import paho.mqtt.publish as mqtt_publish

from alerts.notify.message import AlertMessage
from dashapp.settings import Settings, SettingsError

log = logging.getLogger("waterline.alerts")


class DeliveryError(RuntimeError):
    def __init__(self, message: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class Channel(Protocol):
    name: str

    def targets(self, escalation_level: int) -> list[str]: ...

    def deliver(self, message: AlertMessage, target: str) -> int: ...


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _with_escalation(targets: list[str], escalation: list[str], level: int) -> list[str]:
    return targets if level == 0 else list(dict.fromkeys(targets + escalation))


@dataclass
class LogChannel:
    """Writes each alert to the application log: always there, needs nothing."""

    name: str = "log"

    def targets(self, escalation_level: int) -> list[str]:
        return ["waterline.alerts"]

    def deliver(self, message: AlertMessage, target: str) -> int:
        log.warning("%s: %s", message.subject, message.explanation or "")
        return 1


@dataclass
class EmailChannel:
    host: str
    port: int
    sender: str
    recipients: list[str]
    escalation_recipients: list[str] = field(default_factory=list)
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = 10.0
    name: str = "email"

    def targets(self, escalation_level: int) -> list[str]:
        return _with_escalation(self.recipients, self.escalation_recipients, escalation_level)

    def deliver(self, message: AlertMessage, target: str) -> int:
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = self.sender, target, message.subject
        email.set_content(message.text)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(email)
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {error}") from error
        return 1


def post_json(url: str, document: dict, retries: int, backoff_s: float, timeout_s: float,
              sleep: Callable[[float], None] = time.sleep) -> int:
    """POST ``document`` as JSON; retry server errors, 429 and network failures with doubling waits."""
    body = json.dumps(document, default=str).encode()
    last = ""
    for attempt in range(1, retries + 2):
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "User-Agent": "Waterline-alerts"})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                response.read()
            return attempt
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code} {error.reason}"
            if error.code < 500 and error.code != 429:
                raise DeliveryError(f"{url}: {last}", attempt) from error
        except (urllib.error.URLError, OSError) as error:
            last = str(getattr(error, "reason", error))
        if attempt <= retries:
            sleep(backoff_s * 2 ** (attempt - 1))
    raise DeliveryError(f"{url}: {last} after {retries + 1} tries", retries + 1)


@dataclass
class WebhookChannel:
    """POSTs the alert as JSON to each URL."""

    urls: list[str]
    retries: int = 3
    backoff_s: float = 2.0
    timeout_s: float = 10.0
    name: str = "webhook"

    def targets(self, escalation_level: int) -> list[str]:
        return self.urls

    def deliver(self, message: AlertMessage, target: str) -> int:
        return post_json(target, message.as_json(), self.retries, self.backoff_s, self.timeout_s)


@dataclass
class MqttChannel:
    """Publishes the alert as JSON on ``<prefix>/<zone_id>`` for smart-home and SCADA systems."""

    host: str
    port: int
    topic_prefix: str = "waterline/v1/alerts"
    username: str | None = None
    password: str | None = None
    name: str = "mqtt"

    def targets(self, escalation_level: int) -> list[str]:
        return [f"{self.host}:{self.port}"]

    def topic(self, message: AlertMessage) -> str:
        return f"{self.topic_prefix}/{message.zone_id or 'unzoned'}"

    def deliver(self, message: AlertMessage, target: str) -> int:
        auth = {"username": self.username, "password": self.password} if self.username else None
        try:
            mqtt_publish.single(self.topic(message), json.dumps(message.as_json(), default=str), qos=1,
                                hostname=self.host, port=self.port, auth=auth,
                                client_id=f"waterline-alerts-{message.alert_id}")
        except (OSError, ValueError) as error:
            raise DeliveryError(f"MQTT {self.host}:{self.port}: {error}") from error
        return 1


@dataclass
class SmsChannel:
    """Sends a short text through an SMS provider's webhook: JSON ``{"to": NUMBER, "text": ...}``."""

    url: str
    numbers: list[str]
    template: str
    escalation_numbers: list[str] = field(default_factory=list)
    retries: int = 3
    backoff_s: float = 2.0
    timeout_s: float = 10.0
    name: str = "sms"

    def targets(self, escalation_level: int) -> list[str]:
        return _with_escalation(self.numbers, self.escalation_numbers, escalation_level)

    def deliver(self, message: AlertMessage, target: str) -> int:
        document = {"to": target, "text": message.render(self.template)[:480]}
        return post_json(self.url, document, self.retries, self.backoff_s, self.timeout_s)


def _host_port(value: str, name: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise SettingsError(f"{name} must be HOST:PORT, got {value!r}")
    return host, int(port)


def channels_from_settings(settings: Settings) -> list[Channel]:
    """The channels the settings switch on; a wrong value raises SettingsError saying which."""
    s = settings
    channels: list[Channel] = [LogChannel()] if s.alert_notify_log else []
    if s.alert_smtp_host and _split(s.alert_email_to):
        channels.append(EmailChannel(s.alert_smtp_host, s.alert_smtp_port, s.alert_email_from,
                                     _split(s.alert_email_to), _split(s.alert_escalation_email_to),
                                     s.alert_smtp_user, s.alert_smtp_password, s.alert_smtp_starttls,
                                     s.alert_http_timeout_s))
    urls = _split(s.alert_webhook_urls)
    for url in urls + ([s.alert_sms_url] if s.alert_sms_url else []):
        if not url.startswith(("http://", "https://")):
            raise SettingsError(f"alert webhook and SMS URLs must start with http:// or https://, got {url!r}")
    if urls:
        channels.append(WebhookChannel(urls, s.alert_webhook_retries, s.alert_webhook_backoff_s,
                                       s.alert_http_timeout_s))
    if s.alert_mqtt_broker:
        host, port = _host_port(s.alert_mqtt_broker, "alert_mqtt_broker")
        channels.append(MqttChannel(host, port, s.alert_mqtt_topic_prefix.rstrip("/"),
                                    s.mqtt_username, s.mqtt_password))
    if s.alert_sms_url and _split(s.alert_sms_to):
        try:
            s.alert_sms_template.format(**{name: "x" for name in AlertMessage.__dataclass_fields__})
        except (KeyError, IndexError, ValueError) as error:
            raise SettingsError(f"alert_sms_template uses an unknown field or bad braces: {error}") from None
        channels.append(SmsChannel(s.alert_sms_url, _split(s.alert_sms_to), s.alert_sms_template,
                                   _split(s.alert_escalation_sms_to), s.alert_webhook_retries,
                                   s.alert_webhook_backoff_s, s.alert_http_timeout_s))
    return channels
