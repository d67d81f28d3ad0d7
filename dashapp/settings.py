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
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

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

    batch_max_readings: int = 20_000
    batch_max_wait_ms: int = 100
    queue_capacity_readings: int = 200_000

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
    if settings.unknown_meters not in {"register", "quarantine"}:
        raise SettingsError("unknown_meters must be 'register' or 'quarantine'")
    settings.broker_address  # validates the HOST:PORT form early
    return settings


def replace(settings: Settings, **changes: Any) -> Settings:
    return dataclasses.replace(settings, **changes)
