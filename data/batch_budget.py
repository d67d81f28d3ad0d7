"""How many readings the writer's next batch may take, so that a batch keeps to its time budget.

A batch costs a fixed part (its SQL statements, its commit, the decoder's query) plus a part per
reading, and how long each takes depends on the machine and on what else runs on it. A fixed
reading limit is therefore too small on a fast machine (throughput lost to fixed costs) or too
large on a busy one (batches, and the acknowledgements waiting on them, take seconds). The
budget learns the limit from the batches it sees: it keeps a moving average of the time per
reading of the batches that filled their limit or overran the target, and sets the limit to
what fits the target at that pace, moving it by at most a factor of two a batch. For
``t = fixed + per_reading * n`` this settles where a full batch takes the target time.
Light traffic never fills the limit, so it never grows it either.
"""

from __future__ import annotations

from dataclasses import dataclass

#: A limit below this would spend nearly all of a batch on its fixed cost.
MIN_READINGS = 200
FIRST_LIMIT = 5_000
#: Largest factor the limit may move by after one batch: one slow batch (a checkpoint, a
#: burst of new meters) should not collapse throughput, one quick one should not triple it.
MAX_STEP = 2.0
#: A batch "filled" its limit when it took at least this share of it.
FULL_SHARE = 0.9
#: Weight of the newest batch in the moving average of seconds per reading.
SMOOTHING = 0.3


@dataclass
class BatchBudget:
    """The reading limit of the next batch; ``observe`` each processed batch with the limit it was taken under."""

    target_s: float
    max_readings: int

    def __post_init__(self) -> None:
        if self.target_s <= 0:
            raise ValueError("the batch time budget must be positive")
        self.max_readings = max(MIN_READINGS, self.max_readings)
        self.limit = min(self.max_readings, FIRST_LIMIT)
        self._s_per_reading: float | None = None

    def observe(self, readings: int, elapsed_s: float, limit: int) -> None:
        over = elapsed_s > self.target_s
        filled = readings >= FULL_SHARE * limit
        if not (over or filled) or readings <= 0 or elapsed_s <= 0:
            return
        pace = elapsed_s / readings
        self._s_per_reading = pace if self._s_per_reading is None else (
            SMOOTHING * pace + (1 - SMOOTHING) * self._s_per_reading)
        wanted = self.target_s / self._s_per_reading
        wanted = min(self.limit * MAX_STEP, max(self.limit / MAX_STEP, wanted))
        self.limit = int(min(self.max_readings, max(MIN_READINGS, wanted)))
