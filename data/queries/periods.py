"""Calendar periods of the Explore drill-down (all → year → month → day → hour) in a chosen time zone.

A period is a level and a key a person can read in a URL: '2025', '2025-07',
'2025-07-04', or for an hour its local start with the UTC offset,
'2025-10-26T02:00+01:00', which names the second 02:00 of a fall-back night
without ambiguity. Local midnights are turned into UTC instants here, once, so
a day of 23 or 25 hours is exactly that long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from data.local_time import check_time_zone

LEVELS = ("all", "year", "month", "day", "hour")
CHILD = {"all": "year", "year": "month", "month": "day", "day": "hour"}
PARENT = {child: parent for parent, child in CHILD.items()}
COMPARISONS = ("none", "previous", "last-year")

_FORMS = {
    "all": re.compile(r"^$"),
    "year": re.compile(r"^\d{4}$"),
    "month": re.compile(r"^\d{4}-\d{2}$"),
    "day": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "hour": re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}[+-]\d{2}:\d{2}$"),
}
_EXAMPLES = {"year": "2025", "month": "2025-07", "day": "2025-07-04", "hour": "2025-07-04T13:00+02:00"}
EARLIEST = datetime(1970, 1, 1)
LATEST = datetime(2200, 1, 1)


@dataclass(frozen=True)
class Period:
    level: str
    key: str
    tz: str

    @property
    def start_local(self) -> pd.Timestamp:
        """Local wall-clock start (naive); for an hour, the local start of that hour."""
        if self.level == "hour":
            return pd.Timestamp(self.key).tz_convert(self.tz).tz_localize(None)
        if self.level == "all":
            return pd.Timestamp(EARLIEST)
        return pd.Timestamp(self.key if self.level != "year" else f"{self.key}-01-01")

    @property
    def end_local(self) -> pd.Timestamp:
        start = self.start_local
        step = {"all": None, "year": pd.DateOffset(years=1), "month": pd.DateOffset(months=1),
                "day": pd.DateOffset(days=1), "hour": None}[self.level]
        if self.level == "all":
            return pd.Timestamp(LATEST)
        if self.level == "hour":
            return (pd.Timestamp(self.key) + pd.Timedelta(hours=1)).tz_convert(self.tz).tz_localize(None)
        return start + step

    def bounds_utc(self) -> tuple[datetime, datetime]:
        """[start, end) as naive UTC instants."""
        if self.level == "all":
            return EARLIEST, LATEST
        if self.level == "hour":
            start = pd.Timestamp(self.key).tz_convert("UTC").tz_localize(None)
            return start.to_pydatetime(), (start + pd.Timedelta(hours=1)).to_pydatetime()
        return local_to_utc(self.start_local, self.tz), local_to_utc(self.end_local, self.tz)

    @property
    def label(self) -> str:
        if self.level == "all":
            return "All years"
        if self.level == "year":
            return self.key
        if self.level == "month":
            return f"{self.start_local:%B %Y}"
        if self.level == "day":
            return f"{self.start_local:%a %d %b %Y}"
        stamp = pd.Timestamp(self.key).tz_convert(self.tz)
        return f"{stamp:%a %d %b %Y %H:%M} {stamp.tzname()}"

    def parent(self) -> Period:
        if self.level == "all":
            return self
        level = PARENT[self.level]
        local = self.start_local
        key = {"all": "", "year": f"{local:%Y}", "month": f"{local:%Y-%m}", "day": f"{local:%Y-%m-%d}"}[level]
        return Period(level, key, self.tz)

    def ancestors(self) -> list[Period]:
        """From 'all' down to this period's parent."""
        chain, period = [], self
        while period.level != "all":
            period = period.parent()
            chain.append(period)
        return chain[::-1]

    def shifted(self, comparison: str) -> Period | None:
        """The period to compare with: the previous one of the same level, or the same one a year earlier."""
        if comparison == "none" or self.level == "all":
            return None
        if comparison == "last-year":
            offset = pd.DateOffset(years=1)
        elif comparison == "previous":
            offset = {"year": pd.DateOffset(years=1), "month": pd.DateOffset(months=1),
                      "day": pd.DateOffset(days=1), "hour": pd.DateOffset(hours=1)}[self.level]
        else:
            raise ValueError(f"unknown comparison {comparison!r}: choose one of {', '.join(COMPARISONS)}")
        if self.level == "hour":
            return hour_period(pd.Timestamp(self.key).tz_convert(self.tz) - offset, self.tz)
        start = self.start_local - offset
        key = {"year": f"{start:%Y}", "month": f"{start:%Y-%m}", "day": f"{start:%Y-%m-%d}"}[self.level]
        return Period(self.level, key, self.tz)


def local_to_utc(local: pd.Timestamp, tz: str) -> datetime:
    """A local wall-clock time as naive UTC; a time in a spring-forward gap moves to the gap's end."""
    aware = pd.Timestamp(local).tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return aware.tz_convert("UTC").tz_localize(None).to_pydatetime()


def hour_period(stamp: pd.Timestamp, tz: str) -> Period:
    """The hour period starting at ``stamp`` (tz-aware), keyed by local time and offset."""
    local = stamp.tz_convert(tz)
    return Period("hour", local.isoformat(timespec="minutes"), tz)


def parse_period(level: str | None, key: str | None, tz: str) -> Period:
    """A Period from URL values; a clear ValueError when they do not name one."""
    check_time_zone(tz)
    level = level or "all"
    key = key or ""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}: choose one of {', '.join(LEVELS)}")
    if not _FORMS[level].match(key):
        raise ValueError(f"period {key!r} is not a {level}: write it like {_EXAMPLES.get(level, '')}")
    try:
        period = Period(level, key, tz)
        period.bounds_utc()
    except (ValueError, OverflowError):
        raise ValueError(f"period {key!r} is not a valid {level}") from None
    return period
