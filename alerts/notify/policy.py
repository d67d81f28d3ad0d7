"""When a notification may go out: minimum severity, quiet hours and the retry budget.

Quiet hours hold non-critical notifications until the quiet period ends (in
the configured time zone, e.g. "22:00-07:00" in Europe/Rome); critical alerts
always go out. Escalation needs no rule here: an escalated alert has a new
level, and each level is notified once per channel and target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alerts.schema import SEVERITIES
from dashapp.settings import Settings, SettingsError

_QUIET = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_quiet_hours(text: str | None) -> tuple[time, time] | None:
    """``"22:00-07:00"`` → (22:00, 07:00); None or empty → no quiet hours."""
    if not text or not text.strip():
        return None
    match = _QUIET.match(text)
    if not match:
        raise SettingsError(f"alert_quiet_hours must look like 22:00-07:00, got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise SettingsError(f"alert_quiet_hours has an impossible time: {text!r}")
    return time(h1, m1), time(h2, m2)


@dataclass(frozen=True)
class NotifyPolicy:
    min_severity: str = "warning"
    quiet_hours: tuple[time, time] | None = None
    quiet_tz: str = "UTC"
    max_attempts: int = 5

    def wants(self, severity: str) -> bool:
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        return rank.get(severity, 1) >= rank[self.min_severity]

    def is_quiet(self, now_utc: datetime) -> bool:
        """Whether ``now_utc`` (naive UTC) falls inside the quiet hours, local to ``quiet_tz``."""
        if self.quiet_hours is None:
            return False
        start, end = self.quiet_hours
        local = now_utc.replace(tzinfo=UTC).astimezone(ZoneInfo(self.quiet_tz)).time()
        return start <= local < end if start <= end else (local >= start or local < end)

    def holds(self, severity: str, now_utc: datetime) -> bool:
        return severity != "critical" and self.is_quiet(now_utc)


def policy_from_settings(settings: Settings) -> NotifyPolicy:
    if settings.alert_notify_min_severity not in SEVERITIES:
        raise SettingsError(f"alert_notify_min_severity must be one of {', '.join(SEVERITIES)}, "
                            f"got {settings.alert_notify_min_severity!r}")
    try:
        ZoneInfo(settings.alert_quiet_tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"alert_quiet_tz is not a known time zone: {settings.alert_quiet_tz!r}") from None
    return NotifyPolicy(settings.alert_notify_min_severity, parse_quiet_hours(settings.alert_quiet_hours),
                        settings.alert_quiet_tz, max(int(settings.alert_max_attempts), 1))
