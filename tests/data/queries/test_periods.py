"""Drill-down periods: URL keys, exact UTC bounds over DST changes, parents and comparisons."""

from __future__ import annotations

from datetime import datetime

import pytest

from data.queries.periods import parse_period


def test_a_fall_back_day_lasts_25_hours_and_a_spring_forward_day_23():
    autumn = parse_period("day", "2025-10-26", "Europe/Rome").bounds_utc()
    spring = parse_period("day", "2025-03-30", "Europe/Rome").bounds_utc()
    assert autumn == (datetime(2025, 10, 25, 22), datetime(2025, 10, 26, 23))
    assert spring == (datetime(2025, 3, 29, 23), datetime(2025, 3, 30, 22))


def test_the_repeated_hour_is_named_by_its_offset():
    first = parse_period("hour", "2025-10-26T02:00+02:00", "Europe/Rome")
    second = parse_period("hour", "2025-10-26T02:00+01:00", "Europe/Rome")
    assert first.bounds_utc()[0] == datetime(2025, 10, 26, 0)
    assert second.bounds_utc()[0] == datetime(2025, 10, 26, 1)
    assert (first.label, second.label) == ("Sun 26 Oct 2025 02:00 CEST", "Sun 26 Oct 2025 02:00 CET")
    assert second.shifted("previous").key == "2025-10-26T02:00+02:00"


def test_parents_and_comparisons():
    day = parse_period("day", "2025-03-01", "UTC")
    assert [p.label for p in day.ancestors()] == ["All years", "2025", "March 2025"]
    assert day.shifted("previous").key == "2025-02-28"
    assert parse_period("month", "2025-01", "UTC").shifted("previous").key == "2024-12"
    assert parse_period("month", "2025-07", "UTC").shifted("last-year").key == "2024-07"


@pytest.mark.parametrize("level, key, tz, message", [
    ("month", "2025-13", "UTC", "period '2025-13' is not a valid month"),
    ("day", "July 4", "UTC", "period 'July 4' is not a day: write it like 2025-07-04"),
    ("week", "2025-01", "UTC", "unknown level 'week'"),
    ("year", "2025", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
])
def test_bad_url_values_get_a_clear_message(level, key, tz, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_period(level, key, tz)
