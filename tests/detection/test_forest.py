"""The isolation forest's schedule: each series trained on the 28 days before its re-training date, once."""

from __future__ import annotations

import pandas as pd

from detection.features import Window
from detection.forest import ForestCache, isolation_forest, training_date
from tests.detection import series as s

DAY = pd.Timedelta(days=1)
HOUSE = "H-1"


def _household(days: int, leak_from: pd.Timestamp) -> pd.DataFrame:
    """A household's litres per hour, a 40 L/h running toilet from ``leak_from``."""
    return s.household_hourly(days=days, seed=7, leak_l_h=40.0, leak_from=leak_from).to_frame(HOUSE)


def _scan(everything: pd.DataFrame, window: Window, cache: ForestCache) -> list[dict]:
    """What `detect_window` gives the forest: the window and its training weeks, and a reader of older hours."""
    hourly = everything.reindex(window.hours())

    def history(meter_ids, start, end):
        return everything.loc[(everything.index >= start) & (everything.index < end), list(meter_ids)]
    return isolation_forest(hourly, window, {HOUSE: "L/h"}, {HOUSE: None}, {HOUSE}, cache, history=history)


def test_a_window_late_in_the_schedule_is_judged_by_a_forest_of_the_whole_training_span():
    """25 days after the re-training date, the 28 days before the window hold only 3 days before that date: the
    forest must still learn from the 28 days before the date (it used to learn from those 3 days, too few to
    train at all, so the leak went unjudged)."""
    date = training_date(s.START + 60 * DAY, 28)
    start = date + 25 * DAY
    leak_from = start + pd.Timedelta(hours=2)
    everything = _household(days=(start - s.START).days + 7, leak_from=leak_from)
    events = _scan(everything, Window(start, start + 7 * DAY), ForestCache())
    assert events, "the running toilet was not judged"
    first = min(events, key=lambda e: e["start"])
    assert first["start"] >= leak_from
    trained = f"trained on ({(date - 28 * DAY):%Y-%m-%d} to {(date - DAY):%Y-%m-%d}, L/h)"
    assert trained in first["explanation"]


def test_windows_between_two_training_dates_share_one_forest_and_the_next_date_fits_another():
    date = training_date(s.START + 60 * DAY, 28)
    everything = _household(days=(date - s.START).days + 35, leak_from=date + 60 * DAY)  # no leak in the span
    cache = ForestCache()
    for week in range(4):
        _scan(everything, Window(date + week * 7 * DAY, date + (week + 1) * 7 * DAY), cache)
    assert cache.fits == 1
    _scan(everything, Window(date + 28 * DAY, date + 35 * DAY), cache)
    assert cache.fits == 2


def test_a_series_with_under_a_week_before_its_training_date_is_not_judged_that_week():
    date = training_date(s.START + 60 * DAY, 28)
    everything = _household(days=70, leak_from=date + DAY)
    recent = everything[everything.index >= date - 6 * DAY]
    cache = ForestCache()
    assert _scan(recent, Window(date + DAY, date + 8 * DAY), cache) == []
    assert cache.fits == 1  # the verdict "too little to train on" is kept for the date's windows
    assert _scan(recent, Window(date + 2 * DAY, date + 9 * DAY), cache) == []
    assert cache.fits == 1


def test_a_new_series_is_trained_at_the_first_weekly_step_with_a_week_of_history():
    """A meter first heard 3 days before the re-training date has too little for that date's forest (it used to
    wait 28 days for the next date); at the weekly step after the date it has 10 days, and a forest of those
    judges the week after the step."""
    date = training_date(s.START + 60 * DAY, 28)
    step = date + 7 * DAY
    leak_from = step + DAY + pd.Timedelta(hours=2)
    everything = _household(days=(step - s.START).days + 8, leak_from=leak_from)
    installed = everything[everything.index >= date - 3 * DAY]
    cache = ForestCache()
    events = _scan(installed, Window(step + DAY, step + 8 * DAY), cache)
    assert events, "the running toilet of the new meter was not judged"
    first = min(events, key=lambda e: e["start"])
    assert first["start"] >= leak_from
    assert f"trained on ({(date - 3 * DAY):%Y-%m-%d} to {(step - DAY):%Y-%m-%d}, L/h)" in first["explanation"]
    assert cache.fits == 2  # the date's "too little", then the step's forest


def test_a_new_series_with_no_leak_raises_nothing_from_its_first_forest():
    date = training_date(s.START + 60 * DAY, 28)
    step = date + 7 * DAY
    everything = _household(days=(step - s.START).days + 8, leak_from=step + 60 * DAY)
    installed = everything[everything.index >= date - 3 * DAY]
    assert _scan(installed, Window(step + DAY, step + 8 * DAY), ForestCache()) == []
