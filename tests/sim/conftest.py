"""Shared simulations for the simulator's tests: the default city, quiet (no events) or as configured.

A week of the default city takes well under a second, so physics tests use the
real city; tests that go through the store use a smaller one (`SMALL`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from sim.city import CityOptions
from sim.config import SimConfig
from sim.engine import CitySimulation, Period, floor_step
from sim.events import LABEL_COLUMNS, EventConfig

QUIET = SimConfig(events=EventConfig(kinds=()))
SMALL = SimConfig(city=CityOptions(customer_scale=0.15))
JULY = floor_step("2025-07-07T00:00:00")     # a Monday
DAY = np.timedelta64(86400, "s")


def no_events() -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in LABEL_COLUMNS}).astype({"start": "datetime64[s]", "end": "datetime64[s]"})


def event(kind: str, asset: str, zone_id: str | None, start: str, hours: float, magnitude: float = np.nan,
          unit: str | None = None) -> pd.DataFrame:
    """A one-event schedule, as `schedule_events` would return it."""
    t0 = np.datetime64(pd.Timestamp(start).to_datetime64(), "s")
    return pd.DataFrame([{"event_id": f"test-{kind}-{asset}", "kind": kind, "asset": asset, "zone_id": zone_id,
                          "start": t0, "end": t0 + np.timedelta64(int(hours * 3600), "s"), "magnitude": magnitude,
                          "unit": unit, "note": "test"}])[LABEL_COLUMNS]


def simulate(config: SimConfig = QUIET, events: pd.DataFrame | None = None, days: float = 7, start=JULY,
             seed: int = 7) -> tuple[CitySimulation, Period]:
    simulation = CitySimulation(seed, config)
    state = simulation.initial_state(start)
    period, _ = simulation.run(state, start + np.timedelta64(int(days * 86400), "s"),
                               no_events() if events is None else events)
    return simulation, period


@pytest.fixture(scope="session")
def quiet_week() -> tuple[CitySimulation, Period]:
    """A July week of the default city with no events."""
    return simulate()


def with_kinds(config: SimConfig, *kinds: str, multiplier: float = 1.0) -> SimConfig:
    return replace(config, events=config.events.only(*kinds, multiplier=multiplier))
