"""The run helpers every rule builds its events from."""

from __future__ import annotations

import numpy as np

from detection.events import merge_runs, runs


def test_runs_keep_only_the_long_enough():
    assert runs(np.array([1, 1, 0, 1, 1, 1, 0, 1], dtype=bool), min_length=2) == [(0, 1), (3, 5)]


def test_merged_runs_of_several_series_keep_the_longest_end():
    assert merge_runs([(2, 40), (3, 9), (12, 15), (43, 50)], gap=2) == [(2, 50)]
    assert merge_runs([(0, 3), (7, 9)], gap=2) == [(0, 3), (7, 9)]
