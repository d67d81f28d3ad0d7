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


def test_a_budget_must_be_positive():
    with pytest.raises(ValueError):
        BatchBudget(target_s=0, max_readings=1_000)
