"""`python -m bench.alerts` runs end to end on a small city (its page calls follow the callbacks' signatures)."""

from __future__ import annotations

from bench.alerts import run


def test_the_alerts_benchmark_opens_then_updates_every_alert_and_times_the_page():
    figures = dict(run(days=2, alerts=20))
    assert "(20 opened)" in figures["open alerts (raise_alerts, new)"]
    assert "(20 updated, 0 opened)" in figures["rescan (raise_alerts, all updates)"]
    assert figures["page: one alert's detail + chart (median of 5)"].endswith(" ms")
