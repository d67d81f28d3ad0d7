"""Seeded random streams: the same seed gives the same city, readings and labels.

Every random draw comes from a generator keyed by (seed, stream, day): what
happens on a given day does not depend on where a backfill started or how it
was cut into periods, so a live run that continues a backfill draws the same
weather, demand noise and events for a day as a longer backfill would have.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

EPOCH_DAY = np.datetime64("2000-01-01", "D")


class Stream(IntEnum):
    CITY = 1
    WEATHER = 2
    DEMAND = 3
    EVENTS = 4
    SENSORS = 5
    DELIVERY = 6
    LOADTEST = 7


def stream_rng(seed: int, stream: Stream) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(stream)])


def day_rng(seed: int, stream: Stream, day: int, *extra: int) -> np.random.Generator:
    """The generator of one stream on one day (days counted from 2000-01-01)."""
    return np.random.default_rng([int(seed), int(stream), int(day) + 1_000_000, *map(int, extra)])


def day_number(when: np.datetime64) -> int:
    return int((np.datetime64(when, "D") - EPOCH_DAY).astype(int))
