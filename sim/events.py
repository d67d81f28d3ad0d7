"""The event schedule: what goes wrong in the city, where, when and how much — the ground truth.

Event kinds are a table (`DEFAULT_EVENT_KINDS`): what an event acts on, how
often it happens per asset per year, how long it lasts and how large it is.
Each day draws its own events from its own generator, so a day's events are the
same in any window; a window also collects events that began before it and are
still open. Defaults give a demo with a handful of open events at any time.
Rates and sizes are changed through `EventConfig` (a multiplier for all, or
per kind); `sim.effects` turns the schedule into flows, valve settings, pump
outages, sensor faults and silent meters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from sim.rng import Stream, day_number, day_rng

Target = Literal["zone", "valve", "customer", "sensor", "booster", "gateway"]
STEP = np.timedelta64(900, "s")
LABEL_COLUMNS = ["event_id", "kind", "asset", "zone_id", "start", "end", "magnitude", "unit", "note"]


@dataclass(frozen=True)
class EventKind:
    """One kind of event: its target, yearly rate per target asset, duration (h) and size ranges.

    Zone events strike one of a zone's five ring nodes: their rate is per node (x5 per zone).
    """

    kind: str
    target: Target
    rate_per_year: float
    duration_h: tuple[float, float]          # log-uniform; (0, 0) = instantaneous
    magnitude: tuple[float, float] | None    # uniform; None = no size
    unit: str | None
    eligible: str = "all"                    # which assets of the target: see `EventTargets.assets`
    season: Literal["all", "summer", "winter"] = "all"
    note: str = ""


DEFAULT_EVENT_KINDS: tuple[EventKind, ...] = (
    EventKind("background_leak", "zone", 0.3, (240, 2000), (0.05, 0.25), "L/s",
              note="small hidden leak on a service pipe; runs until found"),
    EventKind("incipient_leak", "zone", 0.4, (72, 480), (0.3, 1.5), "L/s", season="winter",
              note="leak growing from a tenth of its size to full size, then repaired"),
    EventKind("burst", "zone", 0.6, (3, 36), (1.5, 5.0), "L/s", season="winter",
              note="main burst at full flow until repaired"),
    EventKind("pressure_drop", "valve", 4.0, (1, 8), (0.3, 1.2), "bar",
              note="zone boundary valve partly closed; drop at the zone's mean inflow"),
    EventKind("booster_failure", "booster", 4.0, (3, 30), None, None,
              note="booster pump unavailable: the tank it fills draws down"),
    EventKind("running_toilet", "customer", 0.1, (48, 720), (0.005, 0.05), "L/s", eligible="indoor"),
    EventKind("dripping_tap", "customer", 0.12, (168, 1440), (0.0003, 0.003), "L/s", eligible="indoor"),
    EventKind("irrigation_left_on", "customer", 0.08, (6, 72), (0.08, 0.3), "L/s", eligible="garden",
              season="summer"),
    EventKind("sensor_stuck", "sensor", 0.7, (6, 72), None, None, eligible="network",
              note="sensor repeats its last value"),
    EventKind("sensor_drift", "sensor", 0.5, (168, 1000), (0.3, 1.0), None, eligible="network",
              note="offset growing linearly to the magnitude (in the sensor's unit) by the end"),
    EventKind("sensor_spikes", "sensor", 1.0, (6, 48), (0.5, 1.0), None, eligible="network",
              note="one reading in ten jumps by up to the magnitude (in the sensor's unit)"),
    EventKind("sensor_dropout", "sensor", 1.5, (1, 48), None, None, eligible="network",
              note="no readings"),
    EventKind("silent_meter", "customer", 0.04, (24, 480), None, None,
              note="meter stops reporting; its register keeps counting"),
    EventKind("meter_swap", "customer", 0.012, (0, 0), None, "L",
              note="meter replaced; magnitude is the new register's first index"),
    EventKind("gateway_outage", "gateway", 2.0, (1, 8), None, None,
              note="gateway offline: its meters' readings arrive late, at the end"),
)
#: sensor fault sizes per quantity, multiplied by the drawn magnitude
SENSOR_FAULT_SCALE = {"sensor_drift": {"pressure": 0.5, "flow": 1.0, "level": 0.6},
                      "sensor_spikes": {"pressure": 3.0, "flow": 15.0, "level": 3.0}}
SENSOR_UNITS = {"pressure": "bar", "flow": "L/s", "level": "m"}


@dataclass(frozen=True)
class EventConfig:
    """Event rates and sizes: ``rate_multiplier`` for all kinds, ``kind_multipliers`` per kind."""

    kinds: tuple[EventKind, ...] = DEFAULT_EVENT_KINDS
    rate_multiplier: float = 1.0
    kind_multipliers: Mapping[str, float] = field(default_factory=dict)

    def rate(self, kind: EventKind) -> float:
        return kind.rate_per_year * self.rate_multiplier * self.kind_multipliers.get(kind.kind, 1.0)

    def only(self, *kinds: str, multiplier: float = 1.0) -> EventConfig:
        """A config with just ``kinds`` (tests isolate one effect at a time)."""
        return replace(self, kinds=tuple(k for k in self.kinds if k.kind in kinds), rate_multiplier=multiplier)

    @property
    def longest(self) -> np.timedelta64:
        hours = max((k.duration_h[1] for k in self.kinds), default=0.0)
        return np.timedelta64(int(hours * 3600), "s")


@dataclass(frozen=True)
class EventTargets:
    """The assets events can strike, with the zone each belongs to."""

    zone_nodes: pd.DataFrame      # asset (ring node), zone_id
    valves: pd.DataFrame          # asset (zone boundary valve), zone_id
    customers: pd.DataFrame       # asset (meter id), zone_id, eligible flags: indoor, garden
    sensors: pd.DataFrame         # asset (meter id), zone_id, quantity
    boosters: pd.DataFrame        # asset, zone_id
    gateways: pd.DataFrame        # asset, zone_id

    def assets(self, kind: EventKind) -> pd.DataFrame:
        frame = {"zone": self.zone_nodes, "valve": self.valves, "customer": self.customers, "sensor": self.sensors,
                 "booster": self.boosters, "gateway": self.gateways}[kind.target]
        if kind.eligible in frame.columns:
            frame = frame[frame[kind.eligible].astype(bool)]
        return frame.reset_index(drop=True)


def _season_weight(season: str, day_of_year: int) -> float:
    if season == "summer":
        return 2.5 if 120 <= day_of_year < 275 else 0.2
    if season == "winter":
        return 1.0 + 0.5 * np.cos(2 * np.pi * (day_of_year - 15) / 365.25)
    return 1.0


def schedule_events(targets: EventTargets, config: EventConfig, start: np.datetime64, end: np.datetime64,
                    seed: int) -> pd.DataFrame:
    """Every event open at some time in [start, end), with the label columns (times naive UTC)."""
    start, end = np.datetime64(start, "s"), np.datetime64(end, "s")
    first = day_number(start - config.longest) - 1
    last = day_number(end)
    records: list[dict] = []
    for number, kind in enumerate(config.kinds):
        assets = targets.assets(kind)
        rate = config.rate(kind)
        if assets.empty or rate <= 0:
            continue
        for day in range(first, last + 1):
            day_start = np.datetime64("2000-01-01", "s") + np.timedelta64(day * 86400, "s")
            doy = int((day_start - day_start.astype("datetime64[Y]")).astype("timedelta64[D]").astype(int)) + 1
            rng = day_rng(seed, Stream.EVENTS, day, number)
            count = rng.poisson(rate / 365.25 * len(assets) * _season_weight(kind.season, doy))
            for _ in range(count):
                records.append(_draw(kind, assets, rng, day_start))
    if not records:
        return pd.DataFrame({c: [] for c in LABEL_COLUMNS}).astype({"start": "datetime64[s]", "end": "datetime64[s]"})
    events = pd.DataFrame.from_records(records)
    events = events[(events["start"] < end) & ((events["end"] > start) | ((events["end"] == events["start"])
                                                                         & (events["start"] >= start)))]
    events = events.sort_values(["start", "kind", "asset"], kind="stable").reset_index(drop=True)
    events.insert(0, "event_id", _event_ids(events))
    return events[LABEL_COLUMNS]


def _draw(kind: EventKind, assets: pd.DataFrame, rng: np.random.Generator, day_start: np.datetime64) -> dict:
    row = assets.iloc[int(rng.integers(len(assets)))]
    start = day_start + STEP * int(rng.integers(96))
    low, high = kind.duration_h
    hours = float(np.exp(rng.uniform(np.log(low), np.log(high)))) if high > 0 else 0.0
    end = start + STEP * int(round(hours * 4)) if hours > 0 else start
    if hours > 0 and end == start:
        end = start + STEP
    magnitude, unit = np.nan, kind.unit
    if kind.magnitude is not None:
        magnitude = float(rng.uniform(*kind.magnitude))
    if kind.target == "sensor":
        quantity = row["quantity"]
        unit = SENSOR_UNITS.get(quantity)
        scale = SENSOR_FAULT_SCALE.get(kind.kind, {}).get(quantity)
        if scale is not None:
            magnitude = round(magnitude * scale * (1 if kind.kind == "sensor_spikes" or rng.random() < 0.5 else -1), 3)
        else:
            unit = None
    if kind.kind == "meter_swap":
        magnitude = float(rng.integers(0, 30))
    elif not np.isnan(magnitude):
        magnitude = round(magnitude, 4)
    return {"kind": kind.kind, "asset": row["asset"], "zone_id": row.get("zone_id"), "start": start,
            "end": end, "magnitude": magnitude, "unit": unit, "note": kind.note}


def _event_ids(events: pd.DataFrame) -> list[str]:
    stamps = pd.DatetimeIndex(events["start"]).strftime("%Y%m%dT%H%M")
    base = [f"{s}-{k}-{a}" for s, k, a in zip(stamps, events["kind"], events["asset"])]
    seen: dict[str, int] = {}
    ids = []
    for b in base:
        seen[b] = seen.get(b, 0) + 1
        ids.append(b if seen[b] == 1 else f"{b}-{seen[b]}")
    return ids
