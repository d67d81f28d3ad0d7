"""Rules for network sensors: pressure out of band, stuck, drifting, spiking.

Each learns its band or its usual behaviour from the series' training window
and explains the numbers it compared. Readings come in as (meter_id, ts, value).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from detection.events import event, merge_runs, runs, squash
from detection.features import Window, zones_of
from detection.rules_flow import _typical_by_slot, _usual_interval, recent_same_quarter

#: A day-long offset beyond this many spreads of its training is news (a drift, or a zone's fall).
OFFSET_SIGMAS = 6.0
UNITS = {"pressure": "bar", "flow": "L/s", "level": "m", "volume": "L", "interval_volume": "L"}


class Excursion(NamedTuple):
    """One sensor's run of readings outside its band."""

    meter_id: str
    side: str                 # "below" or "above"
    start: pd.Timestamp
    end: pd.Timestamp
    raised_at: pd.Timestamp
    readings: int
    worst: float
    low: float
    high: float
    score: float


def pressure_out_of_band(pressures: pd.DataFrame, series: pd.DataFrame, window: Window,
                         band: tuple[float | None, float | None] = (None, None)) -> list[dict]:
    """Pressure outside its usual band (training 0.5-99.5 % widened by a fifth of the usual range) for 2+ readings,
    and beyond the same quarter hour of the day before by that margin (a daily schedule is news once).

    Sensors of one zone that leave their bands on the same side at the same time are one event on the zone: the
    water moved (a pump or valve operating, a burst), and one alert says so instead of one per sensor.
    A fixed ``band`` (bar) overrides the learned limits where given.
    """
    zone_of = zones_of(series)
    found = []
    for meter_id, group in pressures.groupby("meter_id", sort=True):
        values = group.set_index("ts")["value"].sort_index()
        training = values[values.index < window.start]
        if len(training) < 96:
            continue
        low_q, high_q = training.quantile([0.005, 0.995])
        margin = 0.2 * max(high_q - low_q, 0.05)
        low = band[0] if band[0] is not None else low_q - margin
        high = band[1] if band[1] is not None else high_q + margin
        scanned = (values.index >= window.start) & (values.index < window.end)
        lowest_lately = recent_same_quarter(values, how="min").to_numpy()
        highest_lately = recent_same_quarter(values, how="max").to_numpy()
        below = (values.to_numpy() < low) & ~(values.to_numpy() >= lowest_lately - margin)
        above = (values.to_numpy() > high) & ~(values.to_numpy() <= highest_lately + margin)
        for first, last in merge_runs(runs((below | above) & scanned), gap=1):
            if last == first:
                continue
            part = values.iloc[first:last + 1]
            worst = float(part.min()) if part.min() < low else float(part.max())
            side, limit = ("below", low) if worst < low else ("above", high)
            found.append(Excursion(meter_id, side, values.index[first], values.index[last], values.index[first + 1],
                                   last - first + 1, worst, low, high, squash(1 + abs(worst - limit) / margin)))
    return [_band_event(together, zone_of) for together in _together(found, zone_of)]


def _together(found: list[Excursion], zone_of: dict[str, str | None]) -> list[list[Excursion]]:
    """Excursions grouped by zone and side where they overlap in time; a sensor with no zone stands alone."""
    groups: list[list[Excursion]] = []
    latest: dict[tuple[str, str], tuple[list[Excursion], pd.Timestamp]] = {}
    for excursion in sorted(found, key=lambda e: (e.start, e.meter_id)):
        key = (zone_of[excursion.meter_id], excursion.side)
        group, end = latest.get(key, (None, None))
        if key[0] is None or group is None or excursion.start > end:
            group, end = [], excursion.end
            groups.append(group)
        group.append(excursion)
        latest[key] = (group, max(end, excursion.end))
    return groups


def _band_event(together: list[Excursion], zone_of: dict[str, str | None]) -> dict:
    worst = max(together, key=lambda e: e.score)
    zone = zone_of[worst.meter_id]
    detail = (f"its usual band {worst.low:.2f}-{worst.high:.2f} bar for {worst.readings} readings, reaching "
              f"{worst.worst:.2f} bar")
    sensors = sorted({e.meter_id for e in together})
    if len(sensors) == 1:
        meter_id, explanation = worst.meter_id, f"Pressure {worst.side} {detail}"
    else:
        meter_id = f"ZONE:{zone}"
        explanation = (f"Pressure {worst.side} its usual band at {len(sensors)} sensors of zone {zone} together "
                       f"({', '.join(sensors)}): the water moved, not one instrument (a pump or valve operating, a "
                       f"burst). Furthest at {worst.meter_id}: {worst.side} {detail}")
    return event(detector="pressure_band", meter_id=meter_id, zone_id=zone, kind="pressure_out_of_band",
                 start=min(e.start for e in together), end=max(e.end for e in together),
                 raised_at=min(e.raised_at for e in together), score=worst.score, explanation=explanation,
                 concern="water_loss" if worst.side == "below" else "operations")


def sensor_stuck(readings: pd.DataFrame, series: pd.DataFrame, window: Window, min_hours: float = 3.0) -> list[dict]:
    """The same value repeated for hours by a sensor whose training never repeated half as long."""
    zone_of = zones_of(series)
    rows = []
    quantity = series.set_index("meter_id")["quantity"]
    for meter_id, group in readings.groupby("meter_id", sort=True):
        values = group.set_index("ts")["value"].sort_index()
        if len(values) < 96:
            continue
        same = np.concatenate([[False], np.isclose(np.diff(values.to_numpy()), 0.0, atol=1e-9)])
        training = values.index < window.start
        longest_training = max((b - a + 1 for a, b in runs(same & training)), default=0)
        interval = _usual_interval(values.index)
        needed = max(int(np.ceil(pd.Timedelta(hours=min_hours) / interval)), 2 * longest_training + 1, 4)
        scanned = (values.index >= window.start) & (values.index < window.end)
        for first, last in runs(same):
            if last - first + 1 < needed or not scanned[first:last + 1].any():
                continue
            start = values.index[first - 1]
            unit = UNITS.get(quantity.get(meter_id), "")
            rows.append(event(
                detector="sensor_stuck", meter_id=meter_id, zone_id=zone_of[meter_id], kind="sensor_stuck",
                start=start, end=values.index[last], raised_at=values.index[first + needed - 1],
                score=squash((last - first + 1) / needed), severity="warning",
                explanation=(f"Reading stuck at {values.iloc[first]:.3f} {unit} for {last - first + 2} readings "
                             f"({(values.index[last] - start) / pd.Timedelta(hours=1):.1f} h); in training it never "
                             f"repeated more than {longest_training + 1} times")))
    return rows


def sensor_spike(readings: pd.DataFrame, series: pd.DataFrame, window: Window, sigmas: float = 12.0,
                 min_spikes: int = 3) -> list[dict]:
    """Single readings far from both neighbours: further than ``sigmas`` x the usual reading-to-reading
    noise and than half the usual 1-99 % range; ``min_spikes`` within 6 h of each other make an event.

    A jump that another sensor of the zone shows within a reading is a real transient in
    the water (a pump start, a valve slam), not a faulty instrument, and does not count.
    """
    quantity = series.set_index("meter_id")["quantity"]
    found = {}
    for meter_id, group in readings.groupby("meter_id", sort=True):
        values = group.set_index("ts")["value"].sort_index()
        jumps = _jumps(values, window, sigmas)
        if jumps is not None:
            found[meter_id] = (values, *jumps)
    zone_of = zones_of(series)
    rows = []
    for meter_id, (values, deviation, limit, spread, positions) in found.items():
        shared = set()
        for other, (other_values, *_, other_positions) in found.items():
            if other != meter_id and zone_of[other] is not None and zone_of[other] == zone_of[meter_id]:
                shared.update(other_values.index[other_positions])
        tolerance = _usual_interval(values.index)
        positions = np.array([p for p in positions if not any(abs(values.index[p] - t) <= tolerance for t in shared)],
                             dtype=int)
        if len(positions) < min_spikes:
            continue
        gap = max(int(pd.Timedelta(hours=6) / _usual_interval(values.index)), 1)
        for first, last in merge_runs([(int(p), int(p)) for p in positions], gap=gap):
            inside = positions[(positions >= first) & (positions <= last)]
            if len(inside) < min_spikes:
                continue
            unit = UNITS.get(quantity.get(meter_id), "")
            biggest = float(np.abs(deviation[inside]).max())
            rows.append(event(
                detector="sensor_spike", meter_id=meter_id, zone_id=zone_of[meter_id], kind="sensor_spike",
                start=values.index[first], end=values.index[last],
                raised_at=values.index[min(inside[min_spikes - 1] + 2, len(values) - 1)],
                score=squash(biggest / limit), severity="warning",
                explanation=(f"{len(inside)} readings jumped away from their neighbours by up to {biggest:.2f} {unit} "
                             f"(alarm above {limit:.3f} {unit}; usual reading-to-reading noise {spread:.3f} {unit})")))
    return rows


def _jumps(values: pd.Series, window: Window, sigmas: float):
    """(deviation from the local median, alarm limit, noise spread, positions of the scanned jumps), or None."""
    if len(values) < 96:
        return None
    local = values.rolling(5, center=True, min_periods=3).median()
    deviation = (values - local).to_numpy()
    training = values.index < window.start
    spread = 1.4826 * np.median(np.abs(deviation[training])) if training.sum() > 48 else np.nan
    if not np.isfinite(spread):
        return None
    low, high = values[training].quantile([0.01, 0.99])
    limit = max(sigmas * spread, 0.5 * (high - low), 1e-6)
    spiky = (np.abs(deviation) > limit) & (values.index >= window.start) & (values.index < window.end)
    return deviation, limit, spread, np.flatnonzero(spiky)


class DailyOffset(NamedTuple):
    """A series' offset from its usual daily profile, per hour (read by `sensor_drift` and `zone_pressure_drop`)."""

    beyond: pd.Series       # hours of the scanned window where the offset is beyond the limit
    offset: pd.Series       # rolling 24 h median of the reading minus its usual value at that time of day
    deviation: pd.Series    # the offset minus the training's usual offset
    spread: float           # the training offsets' standard deviation (day-to-day variation)
    limit: float            # OFFSET_SIGMAS x spread


def daily_offsets(readings: pd.DataFrame, window: Window, sigmas: float = OFFSET_SIGMAS) -> dict[str, DailyOffset]:
    """The daily offset of every series of ``readings`` with 14 days of training, computed once for the
    rules that compare them: a scan's pressure sensors would otherwise be worked out twice."""
    offsets = {}
    for meter_id, group in readings.groupby("meter_id", sort=True):
        found = daily_offset(group.set_index("ts")["value"].sort_index(), window, sigmas)
        if found is not None:
            offsets[meter_id] = found
    return offsets


def sensor_drift(offsets: dict[str, DailyOffset], series: pd.DataFrame) -> list[dict]:
    """A day-long offset from the usual daily profile (rolling 24 h median, so events of a few hours do not count)
    that the other sensors of its zone do not share; ``offsets`` from `daily_offsets`.

    A sensor drifts alone: when every series of a zone moves at once (a works holiday,
    a valve setting, a booster change) the water moved, not the instruments.
    """
    quantity = series.set_index("meter_id")["quantity"]
    flags = pd.DataFrame({m: d.beyond for m, d in offsets.items()}).fillna(False).astype(bool)
    zone_of = zones_of(series)
    rows = []
    for meter_id, (drifting, offset, deviation, spread, limit) in offsets.items():
        level = np.abs(deviation.to_numpy())
        others = [m for m in offsets if m != meter_id and zone_of[m] is not None and zone_of[m] == zone_of[meter_id]]
        alone = drifting.to_numpy() & ~flags[others].reindex(drifting.index, fill_value=False).any(axis=1).to_numpy()
        for first, last in merge_runs(runs(alone, min_length=12), gap=6):
            unit = UNITS.get(quantity.get(meter_id), "")
            worst = float(np.nanmax(level[first:last + 1]))
            rows.append(event(
                detector="sensor_drift", meter_id=meter_id, zone_id=zone_of[meter_id], kind="sensor_drift",
                start=offset.index[first] - pd.Timedelta(hours=23), end=offset.index[last],
                raised_at=offset.index[first + 11] + pd.Timedelta(hours=1), score=squash(worst / limit),
                severity="warning",
                explanation=(f"Readings have moved {worst:.2f} {unit} away from the usual daily profile "
                             f"(day-to-day variation {spread:.3f} {unit}) and stayed there for "
                             f"{last - first + 1} h; " + (
                                 "no other sensor of the zone moved with it" if others else
                                 "no other sensor in its zone to compare with, so a change in the water (a leak, "
                                 "a valve) is as likely as the instrument"))))
    return rows


def daily_offset(values: pd.Series, window: Window, sigmas: float = OFFSET_SIGMAS) -> DailyOffset | None:
    """One series' `DailyOffset`; None without 14 days of training."""
    hourly = values.resample("h").mean()
    if hourly[hourly.index < window.start].count() < 14 * 24:
        return None
    typical, _ = _typical_by_slot(hourly, window.start)
    offset = (hourly - typical).rolling(24, min_periods=18).median()
    training_offsets = offset[offset.index < window.start].dropna()
    spread = float(training_offsets.std())
    if not np.isfinite(spread) or spread <= 0:
        return None
    scanned = (offset.index >= window.start) & (offset.index < window.end)
    deviation = offset - float(training_offsets.mean())
    beyond = (np.nan_to_num(np.abs(deviation.to_numpy())) > sigmas * spread) & scanned
    return DailyOffset(pd.Series(beyond, index=offset.index), offset, deviation, spread, sigmas * spread)
