"""Meters and sensors that stop reporting: one event per silent series, or one per outage.

A gateway, data logger or radio link that goes down silences every meter behind it at the same
moment, and they come back together. An operator wants one alert that says so, not one per
meter: when enough series of a zone (three, and a tenth of the zone) begin and end their silences
within a reading interval of each other, they are one event on the zone, joined with any other
such outage of the zone that overlaps it. A meter that falls silent on its own, or with one or
two others by chance (households whose meters rest at night), keeps its own event.

A live scan (``now`` given) also counts the series of a zone silent for over half their limit
but not yet all of it: behind a dead gateway the meters cross their limits one after another,
over a reading interval, and the first one or two to cross would otherwise be raised alone, a
minute before the outage that holds them.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import NamedTuple

import numpy as np
import pandas as pd

from detection.events import event, squash
from detection.features import Window, zones_of

#: Series named in an outage's explanation; the rest are counted.
NAMED = 8
#: An outage silences at least this many series, and this share of its zone's.
OUTAGE_SERIES, OUTAGE_SHARE = 3, 0.1
#: The share of its allowed silence after which a series still waiting counts towards a live outage.
OVERDUE = 0.5


class Silence(NamedTuple):
    """One series' run without readings, longer than it is allowed."""

    meter_id: str
    last_seen: pd.Timestamp
    heard_again: pd.Timestamp  # ``now`` while still silent
    noticed: pd.Timestamp
    usual: pd.Timedelta
    allowed: pd.Timedelta
    still: bool
    pending: bool = False  # overdue at ``now``, not yet silent for ``allowed``: only counts towards an outage

    @property
    def gap(self) -> pd.Timedelta:
        return self.heard_again - self.last_seen

    @property
    def score(self) -> float:
        return squash(self.gap / self.allowed)


def silences(times: pd.DataFrame, window: Window, now: pd.Timestamp | None, min_hours: float) -> list[Silence]:
    """Runs without readings longer than max(``min_hours``, 4 usual intervals), noticed inside ``window``."""
    found = []
    for meter_id, group in times.groupby("meter_id", sort=True):
        stamps = np.unique(group["ts"].to_numpy(dtype="datetime64[ns]"))
        if len(stamps) < 2:
            continue
        usual = pd.Timedelta(np.median(np.diff(stamps)))
        allowed = max(pd.Timedelta(hours=min_hours), 4 * usual)
        ends = np.append(stamps[1:], np.datetime64(now, "ns")) if now is not None else stamps[1:]
        seen = stamps[:len(ends)]
        noticed = seen + allowed.to_timedelta64()
        silent = (ends - seen > allowed.to_timedelta64()) & (noticed < np.datetime64(window.end, "ns")) & \
            (ends >= np.datetime64(window.start, "ns"))
        for i in np.flatnonzero(silent):
            found.append(Silence(meter_id, pd.Timestamp(seen[i]), pd.Timestamp(ends[i]), pd.Timestamp(noticed[i]),
                                 usual, allowed, now is not None and i == len(ends) - 1))
        if now is not None and not silent[-1] and now - pd.Timestamp(seen[-1]) > OVERDUE * allowed:
            found.append(Silence(meter_id, pd.Timestamp(seen[-1]), now, pd.Timestamp(noticed[-1]), usual, allowed,
                                 True, pending=True))
    return found


def outages(found: list[Silence], zone_of: dict[str, str | None]) -> list[list[Silence]]:
    """Silences grouped into outages (see the module's docstring); every other silence stands alone."""
    widest = max((silence.usual for silence in found), default=pd.Timedelta(0))
    together: list[list[Silence]] = []
    recent: dict[str, deque[list[Silence]]] = {}  # per zone, groups begun within ``widest`` of the silence
    for silence in sorted(found, key=lambda s: (s.last_seen, s.meter_id)):
        zone = zone_of.get(silence.meter_id)
        if zone is None:
            together.append([silence])
            continue
        groups = recent.setdefault(zone, deque())
        while groups and silence.last_seen - groups[0][0].last_seen > widest:
            groups.popleft()
        match = next((group for group in groups if _alike(group[0], silence)), None)
        if match is None:
            together.append([silence])
            groups.append(together[-1])
        else:
            match.append(silence)
    return _outages_or_alone(together, zone_of)


def _alike(first: Silence, other: Silence) -> bool:
    """Silent from and until within a reading interval of each other."""
    near = max(first.usual, other.usual)
    return abs(other.last_seen - first.last_seen) <= near and abs(other.heard_again - first.heard_again) <= near


def _outages_or_alone(together: list[list[Silence]], zone_of: dict[str, str | None]) -> list[list[Silence]]:
    """Groups large enough for an outage, those of a zone that overlap joined; the others' silences one by one
    (pending ones only count towards an outage that another silence has made due)."""
    zone_size = Counter(zone_of.values())
    alone, found, latest = [], [], {}
    for group in together:
        zone = zone_of.get(group[0].meter_id)
        if all(silence.pending for silence in group):
            continue
        if len(group) < max(OUTAGE_SERIES, OUTAGE_SHARE * zone_size[zone]):
            alone += [[silence] for silence in group if not silence.pending]
        elif zone in latest and group[0].last_seen <= max(s.heard_again for s in latest[zone]):
            latest[zone] += group
        else:
            latest[zone] = group
            found.append(group)
    return found + alone


def silent_meter(times: pd.DataFrame, series: pd.DataFrame, window: Window, now: pd.Timestamp | None = None,
                 min_hours: float = 6.0) -> list[dict]:
    """No reading for longer than max(``min_hours``, 4 usual intervals); open when still silent at ``now``.
    ``times`` holds (meter_id, ts) of every reading."""
    zone_of = zones_of(series)
    return [_silence_event(group, zone_of[group[0].meter_id])
            for group in outages(silences(times, window, now, min_hours), zone_of)]


def _hours(span: pd.Timedelta) -> str:
    return f"{span / pd.Timedelta(hours=1):.1f} h"


def _silence_event(group: list[Silence], zone: str | None) -> dict:
    longest = max(group, key=lambda s: s.gap)
    counting = " and counting" if any(s.still for s in group) else ""
    if len(group) == 1:
        meter_id = longest.meter_id
        explanation = (f"No reading for {_hours(longest.gap)}{counting} (usual interval "
                       f"{longest.usual / pd.Timedelta(minutes=1):.0f} min; alarm after {_hours(longest.allowed)})")
    else:
        meter_id = f"ZONE:{zone}"
        names = sorted(s.meter_id for s in group)
        listed = ", ".join(names[:NAMED]) + (f" and {len(names) - NAMED} more" if len(names) > NAMED else "")
        explanation = (f"{len(names)} meters and sensors of zone {zone} stopped reporting together and no reading "
                       f"came for up to {_hours(longest.gap)}{counting} ({listed}): a gateway, data logger or link "
                       f"down, more likely than {len(names)} meters failing at once")
    return event(detector="silent_meter", meter_id=meter_id, zone_id=zone, kind="silent_meter",
                 start=min(s.last_seen for s in group), end=max(s.heard_again for s in group),
                 raised_at=min(s.noticed for s in group if not s.pending), score=max(s.score for s in group),
                 severity="warning", explanation=explanation)
