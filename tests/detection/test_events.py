"""The run helpers every rule builds its events from."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detection.events import event_id, merge_runs, runs


def test_runs_keep_only_the_long_enough():
    assert runs(np.array([1, 1, 0, 1, 1, 1, 0, 1], dtype=bool), min_length=2) == [(0, 1), (3, 5)]


def test_merged_runs_of_several_series_keep_the_longest_end():
    assert merge_runs([(2, 40), (3, 9), (12, 15), (43, 50)], gap=2) == [(2, 50)]
    assert merge_runs([(0, 3), (7, 9)], gap=2) == [(0, 3), (7, 9)]


def test_an_events_id_names_its_concern_only_when_it_is_not_its_kinds_own():
    start = pd.Timestamp("2025-03-01 02:00")
    usual = event_id("pressure_band", "ZONE:Z", "pressure_out_of_band", start)
    assert event_id("pressure_band", "ZONE:Z", "pressure_out_of_band", start, "water_loss") == usual
    assert event_id("pressure_band", "ZONE:Z", "pressure_out_of_band", start, "operations") != usual
