"""Settings: one frozen object built once per process from defaults, an optional TOML file,
`WATERLINE_*` environment variables and command-line flags (later ones win).

Nothing else in Waterline reads the environment. Every field is documented in
docs/CONFIGURATION.md; the TOML keys and environment names follow the field
names (``broker_port`` = TOML ``broker_port`` = ``WATERLINE_BROKER_PORT``).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "WATERLINE_"


class SettingsError(ValueError):
    """A setting has a value Waterline cannot use."""


@dataclass(frozen=True)
class Settings:
    db: str = "var/waterline.duckdb"
    host: str = "127.0.0.1"
    port: int = 8050

    broker: str | None = None            # HOST:PORT of an external broker; None = embedded (demo)
    embedded_broker_port: int = 18830
    mqtt_client_id: str = "waterline-listener"
    mqtt_topic: str = "waterline/v1/readings/#"
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    mqtt_tls: bool = False
    mqtt_ca_file: str | None = None
    mqtt_cert_file: str | None = None
    mqtt_key_file: str | None = None
    mqtt_keepalive_s: int = 30
    reconnect_max_s: float = 30.0

    unknown_meters: str = "register"     # register | quarantine
    default_tz: str = "UTC"
    max_payload_bytes: int = 1_048_576
    max_readings_per_message: int = 10_000
    max_future_s: float = 600.0
    max_past_days: float = 400.0
    late_after_s: float = 3600.0

    db_threads: int | None = None        # DuckDB worker threads; None = one per core
    batch_max_readings: int = 40_000
    batch_target_ms: int = 150           # the writer sizes its batches to take about this long
    batch_max_wait_ms: int = 100
    queue_capacity_readings: int = 200_000

    zone_pressure_min_bar: float = 1.5        # service minimum: a zone below it is Warning
    zone_pressure_critical_bar: float = 1.0   # below it the zone is Critical
    zone_pressure_max_bar: float = 7.5        # above it the zone is Warning (burst risk)
    zone_stale_after_min: float = 60.0        # no inlet reading for this long is Warning
    night_flow_warning_rise: float = 0.25     # last night's minimum flow above typical by this share
    night_flow_critical_rise: float = 0.60
    night_flow_min_rise_l_s: float = 0.05     # and by at least this much (ignores noise on tiny flows)
    night_flow_typical_nights: int = 14       # typical = median minimum night flow of these nights

    # Alerts (alerts/): scan interval, rules of escalation and notification channels.
    # Every channel but the local log is off until its target is set.
    alert_service: bool = True                # serve/demo/listen run the alert cycle in the background
    alert_interval_s: float = 60.0
    alert_escalate_after_min: float = 120.0   # open (unacknowledged) this long: escalate one level
    alert_max_escalation: int = 2
    alert_clear_kinds: str = "silent_meter,sensor_stuck,sensor_spike,pressure_out_of_band,zscore_anomaly"  # end by themselves
    alert_clear_after_min: float = 60.0       # ...resolve once not seen for this long (0 = never)
    alert_notify_min_severity: str = "warning"   # info | warning | critical
    alert_quiet_hours: str | None = None      # "22:00-07:00": non-critical notifications wait
    alert_quiet_tz: str = "UTC"
    alert_max_attempts: int = 5               # per alert, channel and target, over all scans
    alert_notify_log: bool = True
    alert_smtp_host: str | None = None
    alert_smtp_port: int = 25
    alert_smtp_user: str | None = None
    alert_smtp_password: str | None = None
    alert_smtp_starttls: bool = False
    alert_email_from: str = "waterline@localhost"
    alert_email_to: str | None = None         # comma-separated addresses
    alert_escalation_email_to: str | None = None
    alert_webhook_urls: str | None = None     # comma-separated; JSON POST of the alert
    alert_webhook_retries: int = 3
    alert_webhook_backoff_s: float = 2.0      # doubles after each failed try
    alert_http_timeout_s: float = 10.0
    alert_mqtt_broker: str | None = None      # HOST:PORT; topic <prefix>/<zone_id>
    alert_mqtt_topic_prefix: str = "waterline/v1/alerts"
    alert_sms_url: str | None = None          # the SMS provider's webhook
    alert_sms_to: str | None = None           # comma-separated numbers
    alert_escalation_sms_to: str | None = None
    alert_sms_template: str = "Waterline {severity}: {kind} at {meter_id} (zone {zone_id}). {explanation}"

    tank_low_level_m: float | None = None    # tank thresholds when a level sensor's attrs give none
    tank_high_level_m: float | None = None

    # Detection (detection/): lost water is priced at the tariff.
    tariff_per_m3: float = 2.0           # price of lost water, per cubic metre
    currency: str = "EUR"
    detection_lookback_min: int = 360    # streaming scans look this far back (minutes)
    detection_training_days: int = 28    # detectors learn "normal" from this many days before
    detection_service: bool = True       # serve/demo/listen scan new readings in the background
    detection_interval_s: float = 60.0   # seconds between two streaming scans
    detection_catch_up_h: float = 48.0   # the first scan after a start looks back this far
    detection_live_detectors: str = "rules"  # "rules", "rules+zscore" or "all" (the forest trains ~1 min first)

    # Forecasting (forecasting/).
    holiday_country: str = "IT"          # public holidays for forecasts (holidays package code); "" = none
    forecast_cache_dir: str = "var/forecast-cache"

    @property
    def broker_address(self) -> tuple[str, int] | None:
        if not self.broker:
            return None
        host, _, port = self.broker.rpartition(":")
        if not host or not port.isdigit():
            raise SettingsError(f"broker must be HOST:PORT, got {self.broker!r}")
        return host, int(port)


def _coerce(name: str, kind: Any, raw: Any) -> Any:
    if raw is None:
        return None
    text = str(raw).strip()
    kinds = str(kind)
    try:
        if "bool" in kinds:
            if isinstance(raw, bool):
                return raw
            if text.lower() in {"1", "true", "yes", "on"}:
                return True
            if text.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(text)
        if "int" in kinds:
            return int(raw)
        if "float" in kinds:
            return float(raw)
    except (TypeError, ValueError):
        raise SettingsError(f"setting {name} must be {kinds.split(' ')[0]}, got {raw!r}") from None
    return text


def load_settings(
    flags: Mapping[str, Any] | None = None,
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings: defaults < TOML file < WATERLINE_* environment < flags (None = unset)."""
    environ = os.environ if environ is None else environ
    known = {f.name: f.type for f in fields(Settings)}
    values: dict[str, Any] = {}

    config_file = config_file or environ.get(ENV_PREFIX + "CONFIG")
    if config_file:
        path = Path(config_file)
        if not path.is_file():
            raise SettingsError(f"config file {path} does not exist")
        with path.open("rb") as handle:
            document = tomllib.load(handle)
        section = document.get("waterline", document)
        unknown = sorted(set(section) - set(known))
        if unknown:
            raise SettingsError(f"unknown settings in {path}: {', '.join(unknown)}")
        values.update(section)

    for name in known:
        if ENV_PREFIX + name.upper() in environ:
            values[name] = environ[ENV_PREFIX + name.upper()]
    for name, value in (flags or {}).items():
        if value is not None and name in known:
            values[name] = value

    settings = Settings(**{name: _coerce(name, known[name], v) for name, v in values.items()})
    if settings.db_threads is not None and settings.db_threads < 1:
        raise SettingsError("db_threads must be at least 1 (or unset: one per core)")
    if settings.unknown_meters not in {"register", "quarantine"}:
        raise SettingsError("unknown_meters must be 'register' or 'quarantine'")
    if not settings.zone_pressure_critical_bar <= settings.zone_pressure_min_bar < settings.zone_pressure_max_bar:
        raise SettingsError("zone pressure limits must satisfy critical <= min < max")
    settings.broker_address  # validates the HOST:PORT form early
    return settings


def replace(settings: Settings, **changes: Any) -> Settings:
    return dataclasses.replace(settings, **changes)
