"""`bench app` calls every page callback as Dash would: each case must run on a small city, so that a callback's
changed signature breaks this test rather than the benchmark on the day someone measures."""

from __future__ import annotations

from bench.app import page_cases


def test_every_page_case_runs_on_the_small_city(city_runtime):
    cases = page_cases(city_runtime)
    assert {case.page for case in cases} >= {"Overview", "Zones", "Explore", "Meters", "Tanks & pumps",
                                              "System health", "Leaks & alerts", "Alert rules", "Forecast"}
    for case in cases:
        assert case.call() is not None, f"{case.page}: {case.name}"
