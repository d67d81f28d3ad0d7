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

The store's checkpoint (writing the WAL into the database file, about every 16 MB of WAL) would
make every tenth batch or so overrun its budget. The budget therefore also learns how many WAL
bytes a reading writes and how long a checkpoint takes, and plans it: the batch whose commit
will bring the WAL to the checkpoint size takes only the readings that fit beside the
checkpoint, and the writer checkpoints after it (`plan`).
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
#: Weight of the newest batch in the moving averages (seconds and WAL bytes per reading,
#: seconds a checkpoint adds to its batch).
SMOOTHING = 0.3
#: A batch that would bring the WAL this close to the checkpoint size checkpoints after it, ahead
#: of the store's own automatic checkpoint (which would land in an unplanned batch).
CHECKPOINT_AHEAD = 0.9
#: A checkpoint the store refused or failed is planned again once the WAL has
#: grown by this share of the checkpoint size, not on every batch in between.
CHECKPOINT_RETRY = 0.1


@dataclass(frozen=True)
class BatchPlan:
    """The next batch: at most ``limit`` readings, and a checkpoint after its commit when ``checkpoint``."""

    limit: int
    checkpoint: bool = False


def _average(old: float | None, new: float) -> float:
    return new if old is None else SMOOTHING * new + (1 - SMOOTHING) * old


@dataclass
class BatchBudget:
    """The reading limit of the next batch; ``observe`` each processed batch with the limit it was taken under."""

    target_s: float
    max_readings: int
    #: WAL size at which the store checkpoints (0: the store has no WAL, nothing to plan).
    checkpoint_bytes: int = 0

    def __post_init__(self) -> None:
        if self.target_s <= 0:
            raise ValueError("the batch time budget must be positive")
        self.max_readings = max(MIN_READINGS, self.max_readings)
        self.limit = min(self.max_readings, FIRST_LIMIT)
        self._s_per_reading: float | None = None
        self._wal_per_reading: float | None = None
        self._checkpoint_extra_s: float | None = None
        self._retry_above = 0.0
        self._checkpoint_planned = False

    def plan(self, wal_bytes: int, unwritten_readings: int = 0) -> BatchPlan:
        """The next batch, given the WAL's size now and the readings taken but not yet written.

        When the WAL would reach the checkpoint size with this batch, the batch ends with a
        checkpoint and takes only what fits the target beside what a checkpoint usually adds. The
        batches taken before that checkpoint is done (`observe_checkpoint`) plan none.
        """
        if not self.checkpoint_bytes or self._wal_per_reading is None or self._checkpoint_planned:
            return BatchPlan(self.limit)
        expected = wal_bytes + self._wal_per_reading * (unwritten_readings + self.limit)
        if expected < max(CHECKPOINT_AHEAD * self.checkpoint_bytes, self._retry_above):
            return BatchPlan(self.limit)
        self._checkpoint_planned = True
        if self._checkpoint_extra_s is None or self._s_per_reading is None:
            return BatchPlan(self.limit, checkpoint=True)
        room = max(self.target_s - self._checkpoint_extra_s, 0.0) / self._s_per_reading
        return BatchPlan(int(min(self.limit, max(MIN_READINGS, room))), checkpoint=True)

    def observe_wal(self, readings: int, wal_growth_bytes: int) -> None:
        """A committed batch of ``readings`` grew the WAL by ``wal_growth_bytes`` (no checkpoint in between)."""
        if readings > 0 and wal_growth_bytes > 0:
            self._wal_per_reading = _average(self._wal_per_reading, wal_growth_bytes / readings)

    def observe_checkpoint(self, readings: int, elapsed_s: float, done: bool, wal_bytes: int) -> None:
        """A batch of ``readings`` that ended with the planned checkpoint took ``elapsed_s`` in all;
        ``done`` False when the store refused the checkpoint (``wal_bytes`` left in the WAL).

        What the budget learns is the time beyond what the readings take at the usual pace: the
        checkpoint itself, and the batch's fixed cost, which a smaller batch spreads over fewer readings.
        """
        self._checkpoint_planned = False
        if not done:
            self._retry_above = wal_bytes + CHECKPOINT_RETRY * self.checkpoint_bytes
            return
        self._retry_above = 0.0
        usual = self._s_per_reading * readings if self._s_per_reading is not None else 0.0
        self._checkpoint_extra_s = _average(self._checkpoint_extra_s, max(elapsed_s - usual, 0.0))

    def observe(self, readings: int, elapsed_s: float, limit: int) -> None:
        """A batch taken under ``limit`` held ``readings`` and took ``elapsed_s`` (its checkpoint left out)."""
        over = elapsed_s > self.target_s
        filled = readings >= FULL_SHARE * limit
        if not (over or filled) or readings <= 0 or elapsed_s <= 0:
            return
        self._s_per_reading = _average(self._s_per_reading, elapsed_s / readings)
        wanted = self.target_s / self._s_per_reading
        wanted = min(self.limit * MAX_STEP, max(self.limit / MAX_STEP, wanted))
        self.limit = int(min(self.max_readings, max(MIN_READINGS, wanted)))
