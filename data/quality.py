"""Quality flags carried by each stored reading and interval, and the score derived from them.

Flags say what was odd about a reading (late, out of order, clock ahead, a gap in
its sequence numbers) or about the consumption derived from it (estimated over a
gap, register reset or rollover, implausible jump). The score condenses them into
one number in [0, 1] that pages and detectors can filter on.
"""

from __future__ import annotations

from enum import IntFlag

import numpy as np


class Flag(IntFlag):
    LATE = 1                 # arrived more than an hour after its timestamp
    OUT_OF_ORDER = 2         # older than the meter's latest reading when it arrived
    CLOCK_AHEAD = 4          # timestamp slightly in the future (within tolerance)
    SEQ_GAP = 8              # sequence numbers skipped: messages lost upstream
    ESTIMATED = 16           # consumption spread over a gap in the readings
    RESET = 32               # register went back to (near) zero
    ROLLOVER = 64            # register wrapped at its register size
    IMPLAUSIBLE_JUMP = 128   # step too large for the meter: flagged, not counted
    BACKFLOW = 256           # water ran backwards (a register stepped back, a flow below zero): not counted
    FIRST = 512              # first reading of a meter: its interval is assumed


_PENALTY = {
    Flag.LATE: 0.05,
    Flag.OUT_OF_ORDER: 0.1,
    Flag.CLOCK_AHEAD: 0.2,
    Flag.SEQ_GAP: 0.1,
    Flag.ESTIMATED: 0.3,
    Flag.RESET: 0.3,
    Flag.ROLLOVER: 0.1,
    Flag.IMPLAUSIBLE_JUMP: 0.8,
    Flag.BACKFLOW: 0.2,
    Flag.FIRST: 0.1,
}


def quality_score(flags: np.ndarray) -> np.ndarray:
    """Score in [0, 1] for an array of flag bitmasks: 1 is a clean reading."""
    flags = np.asarray(flags, dtype="int64")
    penalty = np.zeros(flags.shape, dtype="float64")
    for flag, weight in _PENALTY.items():
        penalty += np.where(flags & int(flag), weight, 0.0)
    return np.clip(1.0 - penalty, 0.0, 1.0)


def describe(flags: int) -> list[str]:
    """Names of the flags set in one bitmask, for pages and exports."""
    return [flag.name.lower() for flag in Flag if flags & flag]
