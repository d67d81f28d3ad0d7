"""The writer's batch budget: it settles where a full batch takes the target time."""

import pytest

from data.batch_budget import MIN_READINGS, BatchBudget


def batch_seconds(readings: int) -> float:
    """A machine where a batch costs 40 ms plus 5 µs a reading."""
    return 0.040 + 5e-6 * readings


def run_flood(budget: BatchBudget, batches: int, cost=batch_seconds) -> list[float]:
    times = []
    for _ in range(batches):
        limit = budget.limit
        elapsed = cost(limit)
        budget.observe(limit, elapsed, limit)
        times.append(elapsed)
    return times


def test_a_flood_settles_where_a_full_batch_takes_the_target():
    budget = BatchBudget(target_s=0.150, max_readings=40_000)
    times = run_flood(budget, 40)
    assert times[-1] == pytest.approx(0.150, rel=0.05)
    assert budget.limit == pytest.approx(22_000, rel=0.05)


def test_a_slower_machine_gets_smaller_batches():
    budget = BatchBudget(target_s=0.150, max_readings=40_000)
    run_flood(budget, 40)
    fast = budget.limit
    run_flood(budget, 40, cost=lambda n: 2 * batch_seconds(n))
    assert budget.limit < fast / 2
    assert 2 * batch_seconds(budget.limit) == pytest.approx(0.150, rel=0.05)


def test_the_limit_never_passes_the_largest_batch_setting():
    budget = BatchBudget(target_s=10.0, max_readings=8_000)
    run_flood(budget, 20)
    assert budget.limit == 8_000


def test_light_traffic_does_not_grow_the_limit():
    budget = BatchBudget(target_s=0.150, max_readings=40_000)
    before = budget.limit
    for _ in range(20):
        budget.observe(30, 0.02, budget.limit)
    assert budget.limit == before


def test_one_slow_batch_halves_the_limit_at_most():
    budget = BatchBudget(target_s=0.150, max_readings=40_000)
    before = budget.limit
    budget.observe(100, 5.0, budget.limit)  # a checkpoint, or five hundred new meters
    assert budget.limit == before // 2
    for _ in range(20):
        budget.observe(100, 5.0, budget.limit)
    assert budget.limit == MIN_READINGS


def noisy(cost, spread: float = 0.15):
    """The same machine with batch times off by up to ``spread`` either way, in a fixed pattern."""
    factors = [1 + spread * ((7 * i) % 11 - 5) / 5 for i in range(11)]
    calls = iter(range(10**6))
    return lambda readings: cost(readings) * factors[next(calls) % len(factors)]


def test_a_flood_stuck_at_small_batches_on_a_slow_host_climbs_back():
    def slow_host(readings: int) -> float:
        return 0.110 + 4e-6 * readings  # the fixed part is most of the 150 ms budget
    budget = BatchBudget(target_s=0.150, max_readings=40_000)
    for _ in range(10):
        budget.observe(budget.limit, 0.5, budget.limit)  # a stall at start-up: left out of the fit
    assert budget.limit == MIN_READINGS
    times = run_flood(budget, 40, noisy(slow_host))
    assert budget.limit == pytest.approx(10_000, rel=0.25)
    assert sum(times[-10:]) / 10 == pytest.approx(0.150, rel=0.1)


def test_a_budget_must_be_positive():
    with pytest.raises(ValueError):
        BatchBudget(target_s=0, max_readings=1_000)


WAL_PER_READING = 150
CHECKPOINT_S = 0.060
CHECKPOINT_BYTES = 16 * 2**20


def run_flood_with_checkpoints(budget: BatchBudget, batches: int) -> list[tuple[float, bool]]:
    """A flood on a store that writes 150 WAL bytes a reading and takes 60 ms to checkpoint, which
    it does on its own when a commit leaves 16 MiB of WAL: each batch's seconds, and whether planned."""
    wal, seen = 0, []
    for _ in range(batches):
        plan = budget.plan(wal)
        elapsed = batch_seconds(plan.limit)
        wal += WAL_PER_READING * plan.limit
        budget.observe_wal(plan.limit, WAL_PER_READING * plan.limit)
        if plan.checkpoint or wal >= CHECKPOINT_BYTES:
            elapsed, wal = elapsed + CHECKPOINT_S, 0
        if plan.checkpoint:
            budget.observe_checkpoint(plan.limit, elapsed, done=True, wal_bytes=wal)
        else:
            budget.observe(plan.limit, elapsed, plan.limit)
        seen.append((elapsed, plan.checkpoint))
    return seen


def test_the_batch_that_checkpoints_takes_what_fits_beside_the_checkpoint():
    budget = BatchBudget(target_s=0.150, max_readings=40_000, checkpoint_bytes=CHECKPOINT_BYTES)
    seen = run_flood_with_checkpoints(budget, 200)[40:]
    assert sum(planned for _, planned in seen) >= 10
    assert max(elapsed for elapsed, _ in seen) <= 0.150 * 1.05
    assert budget.limit == pytest.approx(22_000, rel=0.05)  # the checkpoints do not shrink the other batches


def test_without_a_checkpoint_size_nothing_is_planned_and_checkpoints_overrun():
    budget = BatchBudget(target_s=0.150, max_readings=40_000)
    seen = run_flood_with_checkpoints(budget, 200)[40:]
    assert not any(planned for _, planned in seen)
    assert max(elapsed for elapsed, _ in seen) > 0.150 + CHECKPOINT_S / 2


def test_one_checkpoint_is_planned_at_a_time():
    budget = BatchBudget(target_s=0.150, max_readings=40_000, checkpoint_bytes=1_000_000)
    budget.observe_wal(1_000, 150_000)
    assert budget.plan(wal_bytes=950_000).checkpoint
    assert not budget.plan(wal_bytes=950_000).checkpoint  # taken before the first was done
    budget.observe_checkpoint(1_000, 0.05, done=True, wal_bytes=0)
    assert budget.plan(wal_bytes=950_000).checkpoint


def test_the_readings_not_yet_written_count_towards_the_wal():
    budget = BatchBudget(target_s=0.150, max_readings=40_000, checkpoint_bytes=10_000_000)
    budget.observe_wal(1_000, 100_000)  # 100 bytes a reading; limit 5,000 readings = 0.5 MB
    assert not budget.plan(wal_bytes=5_000_000).checkpoint
    assert budget.plan(wal_bytes=5_000_000, unwritten_readings=40_000).checkpoint


def test_a_refused_checkpoint_is_planned_again_only_after_the_wal_grows_a_tenth():
    budget = BatchBudget(target_s=0.150, max_readings=40_000, checkpoint_bytes=10_000_000)
    budget.observe_wal(1_000, 100_000)
    assert budget.plan(wal_bytes=9_500_000).checkpoint
    budget.observe_checkpoint(1_000, 0.001, done=False, wal_bytes=10_000_000)
    assert not budget.plan(wal_bytes=10_000_000).checkpoint
    assert not budget.plan(wal_bytes=10_400_000).checkpoint
    assert budget.plan(wal_bytes=10_600_000).checkpoint
