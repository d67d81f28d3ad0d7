"""The peer model: each pressure sensor predicted from the others that read at each hour."""

from __future__ import annotations

import numpy as np

from detection.peer_model import pair_median, ridge


def sensors(hours: int = 600, seed: int = 2) -> np.ndarray:
    """Four sensors driven by demand and a pump; the first reads as the sum of what moves the others."""
    rng = np.random.default_rng(seed)
    demand, pump = rng.normal(0, 1, hours), (rng.random(hours) < 0.5).astype(float)
    others = np.column_stack([demand, demand + pump, pump - 0.5 * demand])
    first = 0.5 * demand + 0.8 * pump
    return np.column_stack([first, others]) + rng.normal(0, 0.001, (hours, 4))


def test_the_regression_on_all_the_others_reads_a_pump_the_pair_lines_cannot():
    values = sensors()
    training = np.arange(len(values)) < 400
    error = {model.__name__: np.abs(model(values, 0, training, 3, 168)[0] - values[:, 0])[~training].mean()
             for model in (pair_median, ridge)}
    assert error["ridge"] < 0.05 < error["pair_median"]


def test_an_hour_missing_a_reference_is_predicted_from_those_that_read():
    values = sensors()
    values[450:460, 3] = np.nan
    predicted, references = ridge(values, 0, np.arange(len(values)) < 400, 2, 168)
    assert references == 3
    assert np.abs(predicted[450:460] - values[450:460, 0]).max() < 0.1
    assert np.isnan(ridge(values, 0, np.arange(len(values)) < 400, 3, 168)[0][450:460]).all()
