"""How many readings the writer's next batch may take, so that a batch keeps to its time budget.

A batch costs a fixed part (its SQL statements, its commit, the decoder's query) plus a part per
reading, and how long each takes depends on the machine and on what else runs on it. A fixed
reading limit is therefore too small on a fast machine (throughput lost to fixed costs) or too
large on a busy one (batches, and the acknowledgements waiting on them, take seconds). The
budget learns the limit from the batches it sees. It fits ``t = fixed + per_reading * n`` to
recent batches (least squares, newer batches weighing more) and sets the limit to what fits the
target, ``(target - fixed) / per_reading``, moving it by at most a factor of two a batch. Until
the batches have varied enough in size to tell the two parts apart, it uses a moving average of
the time per reading instead, which settles at the same place but slowly when the fixed part is
most of the target: there every batch looks slow per reading, one slow batch shrinks the limit,
and the smaller batch looks slower still (seen on a slow host: a flood stuck at 200-275
readings a batch, 6,800 readings/s, for 20 s). A batch over twice the target (a stall: a burst
of new meters, a checkpoint the store took on its own, the machine busy elsewhere) shrinks the
limit but stays out of the fit, which it would tell that batches cost the same whatever their
size. Only batches that filled their limit or overran the target move the limit: light traffic
never grows it (its batches still teach the fit).

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
#: Weight that the cost fit keeps of what it knew before each batch (about the last ten batches count).
FIT_MEMORY = 0.9
#: The fit speaks only when the batches it weighs vary in size by at least this share of their mean.
FIT_SPREAD = 0.1
#: A batch over this many times the target is a stall, left out of the cost fit.
STALL_FACTOR = 2.0
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


class BatchCostFit:
    """``seconds = fixed + per_reading * readings``, fitted by exponentially weighted least squares.

    In a steady flood every batch has the same size and the two parts cannot be told apart;
    the last fit then stands, scaled by how much slower or quicker recent batches ran than it
    said (a machine that gets busier slows both parts alike).
    """

    def __init__(self) -> None:
        self._w = self._n = self._t = self._nn = self._nt = 0.0
        self._line: tuple[float, float] | None = None

    def add(self, readings: int, seconds: float) -> None:
        self._w, self._n, self._t, self._nn, self._nt = (
            FIT_MEMORY * self._w + 1, FIT_MEMORY * self._n + readings, FIT_MEMORY * self._t + seconds,
            FIT_MEMORY * self._nn + readings * readings, FIT_MEMORY * self._nt + readings * seconds)
        mean_n, mean_t = self._n / self._w, self._t / self._w
        variance = self._nn / self._w - mean_n * mean_n
        if variance > (FIT_SPREAD * mean_n) ** 2:
            per_reading = (self._nt / self._w - mean_n * mean_t) / variance
            if per_reading > 0:
                self._line = min(max(mean_t - per_reading * mean_n, 0.0), mean_t), per_reading

    def estimate(self) -> tuple[float, float] | None:
        """(fixed seconds, seconds per reading), or None before the batches have varied enough in size."""
        if self._line is None:
            return None
        fixed, per_reading = self._line
        scale = (self._t / self._w) / (fixed + per_reading * self._n / self._w)
        return fixed * scale, per_reading * scale


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
        self._cost = BatchCostFit()
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
        cost = self._batch_cost()
        if self._checkpoint_extra_s is None or cost is None:
            return BatchPlan(self.limit, checkpoint=True)
        fixed, per_reading = cost
        room = max(self.target_s - self._checkpoint_extra_s - fixed, 0.0) / per_reading
        return BatchPlan(int(min(self.limit, max(MIN_READINGS, room))), checkpoint=True)

    def observe_wal(self, readings: int, wal_growth_bytes: int) -> None:
        """A committed batch of ``readings`` grew the WAL by ``wal_growth_bytes`` (no checkpoint in between)."""
        if readings > 0 and wal_growth_bytes > 0:
            self._wal_per_reading = _average(self._wal_per_reading, wal_growth_bytes / readings)

    def observe_checkpoint(self, readings: int, elapsed_s: float, done: bool, wal_bytes: int) -> None:
        """A batch of ``readings`` that ended with the planned checkpoint took ``elapsed_s`` in all;
        ``done`` False when the store refused the checkpoint (``wal_bytes`` left in the WAL).

        What the budget learns is the time beyond what such a batch usually takes: the checkpoint.
        """
        self._checkpoint_planned = False
        if not done:
            self._retry_above = wal_bytes + CHECKPOINT_RETRY * self.checkpoint_bytes
            return
        self._retry_above = 0.0
        cost = self._batch_cost()
        usual = cost[0] + cost[1] * readings if cost is not None else 0.0
        self._checkpoint_extra_s = _average(self._checkpoint_extra_s, max(elapsed_s - usual, 0.0))

    def observe(self, readings: int, elapsed_s: float, limit: int) -> None:
        """A batch taken under ``limit`` held ``readings`` and took ``elapsed_s`` (its checkpoint left out)."""
        if readings <= 0 or elapsed_s <= 0:
            return
        if elapsed_s <= STALL_FACTOR * self.target_s:
            self._cost.add(readings, elapsed_s)
        over = elapsed_s > self.target_s
        filled = readings >= FULL_SHARE * limit
        if not (over or filled):
            return
        self._s_per_reading = _average(self._s_per_reading, elapsed_s / readings)
        fixed, per_reading = self._batch_cost()
        wanted = (self.target_s - fixed) / per_reading
        wanted = min(self.limit * MAX_STEP, max(self.limit / MAX_STEP, wanted))
        self.limit = int(min(self.max_readings, max(MIN_READINGS, wanted)))

    def _batch_cost(self) -> tuple[float, float] | None:
        """(fixed seconds, seconds per reading) of a batch: the fit, or the pace alone before the fit speaks."""
        fitted = self._cost.estimate()
        if fitted is not None:
            return fitted
        return None if self._s_per_reading is None else (0.0, self._s_per_reading)
