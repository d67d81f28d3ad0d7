"""Run every detector over a window of the store: `scan_recent` for the streaming loop, `scan_range` for history.

`scan_recent` is what a live loop calls every minute or so: the last few hours,
judged against the weeks before them. `scan_range` walks a longer span in
chunks (a week by default), each judged against the weeks before it, and joins
events that continue from one chunk into the next.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from data.queries.clock import newest_reading_at
from data.queries.scope import Scope
from detection import events as ev
from detection import features as ft
from detection.rules_flow import burst, continuous_flow, night_flow_rise
from detection.rules_pressure import zone_pressure_drop
from detection.rules_pressure_peers import local_pressure_drop
from detection.rules_sensor import (
    UNITS,
    daily_offsets,
    pressure_out_of_band,
    sensor_drift,
    sensor_spike,
    sensor_stuck,
)
from detection.rules_silence import silent_meter
from detection.forest import FORESTS, ForestCache, History, isolation_forest
from detection.statistical import zscore_anomaly
from detection.zone_inflow import zone_inflows

RULES = ("continuous_flow", "burst", "night_flow_rise", "pressure_band", "zone_pressure_drop",
         "local_pressure_drop", "sensor_stuck", "sensor_spike", "sensor_drift", "silent_meter")
DETECTORS = RULES + ("zscore", "isolation_forest")
#: `scan_range` judges history a week at a time, each week against the weeks before it.
CHUNK_DAYS = 7.0
#: The longest stretch of evidence a rule needs to see inside its window: a sensor's drift and a zone's
#: pressure drop are 12 h of a day-long rolling median beyond its band. `scan_recent` looks at least this
#: far back whatever its lookback, and keeps the events with evidence in the lookback.
EVIDENCE_SPAN = timedelta(hours=48)


def detect_window(cur: duckdb.DuckDBPyConnection, series: pd.DataFrame, window: ft.Window,
                  tariff: ev.Tariff = ev.Tariff(), now: pd.Timestamp | None = None,
                  detectors: Iterable[str] = DETECTORS, cache: ForestCache = FORESTS) -> pd.DataFrame:
    """Every chosen detector on ``series`` (a `features.catalogue` frame) over one window; internal frame."""
    chosen = set(detectors)
    unknown = chosen - set(DETECTORS)
    if unknown:
        raise ValueError(f"unknown detectors: {', '.join(sorted(unknown))}; known: {', '.join(DETECTORS)}")
    zones = ft.zones_of(series)
    consumption = ft.consumption_meters(series)
    units = {m: "L/h" if c else UNITS.get(q, "") for m, q, c in zip(series["meter_id"], series["quantity"], consumption)}
    consumption_ids = list(series.loc[consumption, "meter_id"])
    network = series[~consumption & series["quantity"].isin(ft.NETWORK_QUANTITIES)]
    volumes = ft.hourly_volumes(cur, consumption_ids, window)
    raw = ft.readings(cur, network, window)
    by_quantity = raw.merge(network[["meter_id", "quantity"]], on="meter_id")
    flows, turned = ft.in_usual_direction(by_quantity[by_quantity["quantity"] == "flow"], window)
    pressures = by_quantity[by_quantity["quantity"] == "pressure"]
    rows: list[dict] = []
    if "continuous_flow" in chosen:
        rows += continuous_flow(volumes, window, zones, tariff)
    if "burst" in chosen:
        rows += burst(flows, pressures, series, window, tariff, turned=turned)
    if "night_flow_rise" in chosen:
        rows += night_flow_rise(*zone_inflows(flows, series), window, tariff, turned=turned)
    if "pressure_band" in chosen:
        rows += pressure_out_of_band(pressures, series, window)
    means = ft.hourly_means(raw, window) if chosen & {"local_pressure_drop", "zscore", "isolation_forest"} else None
    if "local_pressure_drop" in chosen:
        rows += local_pressure_drop(means, series, window)
    if chosen & {"zone_pressure_drop", "sensor_drift"}:
        offsets = daily_offsets(raw, window)
        if "zone_pressure_drop" in chosen:
            rows += zone_pressure_drop(offsets, series)
        if "sensor_drift" in chosen:
            rows += sensor_drift(offsets, series)
    if "sensor_stuck" in chosen:
        rows += sensor_stuck(raw, series, window)
    if "sensor_spike" in chosen:
        rows += sensor_spike(raw, series, window)
    if "silent_meter" in chosen:
        times = pd.concat([ft.reading_times(cur, consumption_ids, window), raw[["meter_id", "ts"]]], ignore_index=True)
        rows += silent_meter(times, series, window, now=now)
    if chosen & {"zscore", "isolation_forest"}:
        hourly = pd.concat([volumes, means], axis=1)
        if "zscore" in chosen:
            rows += zscore_anomaly(hourly, window, units, zones)
        if "isolation_forest" in chosen:
            rows += isolation_forest(hourly, window, units, zones, set(consumption_ids), cache, tariff,
                                     history=_hourly_history(cur, network, consumption_ids))
    return _raised_when_known(cur, ev.frame(rows), consumption_ids)


def _hourly_history(cur: duckdb.DuckDBPyConnection, network: pd.DataFrame, consumption_ids: list[str]) -> History:
    """Reads the hourly values a forest trains on: litres per hour of consumption meters, hourly means of the
    ``network`` series."""
    consumption = set(consumption_ids)

    def read(meter_ids: Sequence[str], start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        span = ft.Window.before(start, end)
        volumes = ft.hourly_volumes(cur, [m for m in meter_ids if m in consumption], span)
        means = ft.hourly_means(ft.readings(cur, network[network["meter_id"].isin(meter_ids)], span), span)
        return pd.concat([volumes, means], axis=1)
    return read


def _raised_when_known(cur: duckdb.DuckDBPyConnection, events: pd.DataFrame, consumption_ids: list[str]) -> pd.DataFrame:
    """Events read off hourly volumes are raised no earlier than those volumes could be read: a meter read once
    a day tells its hours only at the day's read (the store spreads each interval's litres over its hours)."""
    read_off_volumes = events["meter_id"].isin(consumption_ids) & (events["detector"] != "silent_meter")
    if not read_off_volumes.any():
        return events
    chosen = events[read_off_volumes]
    known = ft.volume_known_at(cur, list(chosen["meter_id"]), list(chosen["raised_at"])).to_numpy()
    events.loc[read_off_volumes, "raised_at"] = np.where(pd.isna(known), chosen["raised_at"].to_numpy(),
                                                          np.maximum(known, chosen["raised_at"].to_numpy()))
    return events


def join_continuing(events: pd.DataFrame, gap: pd.Timedelta = pd.Timedelta(hours=1)) -> pd.DataFrame:
    """Join events of one asset, kind and concern that continue each other, as `events_store` saves them: a leak
    cut by a chunk edge, or raised by one rule in a chunk and another in the next (sustained flow, then a steady
    trickle). The earliest start's id, detector and explanation win, and the event was raised when the first of
    them was (a later window may find an earlier start). A pressure above its band, then below it, stays two."""
    if events.empty:
        return events
    events = events.sort_values(["meter_id", "kind", "concern", "start"], kind="stable")
    joined: list[dict] = []
    same = ("meter_id", "kind", "concern")
    for row in events.to_dict("records"):
        last = joined[-1] if joined else None
        if last and all(last[key] == row[key] for key in same) and row["start"] <= last["end"] + gap:
            last["end"] = max(last["end"], row["end"])
            last["raised_at"] = min(last["raised_at"], row["raised_at"])
            last["score"] = max(last["score"], row["score"])
            last["lost_volume_l"] += row["lost_volume_l"]
            last["cost"] = round(last["cost"] + row["cost"], 2)
            last["severity"] = max((last["severity"], row["severity"]), key=["info", "warning", "critical"].index)
        else:
            joined.append(dict(row))
    return ev.frame(joined)


def scan_range(cur: duckdb.DuckDBPyConnection, assets: Sequence[str] | str | None, start: object, end: object, *,
               scope: Scope = None, tariff: ev.Tariff = ev.Tariff(), detectors: Iterable[str] = DETECTORS,
               chunk_days: float = CHUNK_DAYS, training_days: int = 28, internal: bool = False,
               progress=None) -> pd.DataFrame:
    """Events between ``start`` and ``end`` of ``assets``: meter ids, a zone id (a string), or None for all in scope.

    A series still silent at ``end`` (or at the store's newest reading, when that is earlier) is raised as silent
    and counting, as a live scan at that moment would raise it.
    """
    meter_ids, zone_id = (None, assets) if isinstance(assets, str) else (list(assets) if assets else None, None)
    start, end = pd.Timestamp(start).tz_localize(None), pd.Timestamp(end).tz_localize(None)
    if end <= start:
        raise ValueError(f"end {end} must be after start {start}")
    series = ft.catalogue(cur, meter_ids, zone_id, scope)
    if meter_ids:
        missing = sorted(set(meter_ids) - set(series["meter_id"]))
        if missing:
            raise ValueError(f"no volume, flow, pressure or level series for: {', '.join(missing)}")
    if series.empty:
        raise ValueError(f"zone {zone_id!r} has no meters or sensors to scan" if zone_id else "no series to scan")
    detectors = tuple(detectors)
    found = []
    chunk_start = start
    newest = newest_reading_at(cur, scope)
    while chunk_start < end:
        chunk_end = min(chunk_start + pd.Timedelta(days=chunk_days), end)
        now = min(end, pd.Timestamp(newest)) if chunk_end == end and newest is not None else None
        found.append(detect_window(cur, series, ft.Window(chunk_start, chunk_end, training_days), tariff,
                                   now=now, detectors=detectors))
        if progress:
            progress(chunk_end)
        chunk_start = chunk_end
    events = join_continuing(pd.concat(found, ignore_index=True) if found else ev.frame([]))
    return events if internal else ev.public(events)


def scan_recent(cur: duckdb.DuckDBPyConnection, now: datetime, lookback: timedelta = timedelta(hours=6),
                scope: Scope = None, tariff: ev.Tariff = ev.Tariff(), training_days: int = 28,
                detectors: Iterable[str] = DETECTORS) -> pd.DataFrame:
    """Events with evidence in the last ``lookback`` before ``now``: what a live loop calls every minute.

    The rules see the last `EVIDENCE_SPAN` at least, so that a rule that needs 12 hours of evidence can
    raise from a loop that looks back 6.
    """
    now = pd.Timestamp(now).tz_localize(None)
    series = ft.catalogue(cur, scope=scope)
    if series.empty:
        return ev.public(ev.frame([]))
    window = ft.Window(now - pd.Timedelta(max(lookback, EVIDENCE_SPAN)), now, training_days)
    events = detect_window(cur, series, window, tariff, now=now, detectors=detectors)
    return ev.public(events[events["end"] >= now - pd.Timedelta(lookback)].reset_index(drop=True))
