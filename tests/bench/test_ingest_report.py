"""The ingest benchmark's summary of repeated runs: medians a reader can check against each run."""

from __future__ import annotations

from bench.ingest import Phase, format_summary


def run(bare_s: float, single_s: float, p95: float) -> list[Phase]:
    return [Phase("bare", 1000, bare_s), Phase("singles", 1000, single_s, 100.0, p95),
            Phase("latency", 50, 1.0, 10.0, 20.0, 300.0, 700.0)]


def test_summary_gives_the_median_of_each_phase_and_of_the_ratio():
    summary = format_summary([run(1.0, 1.25, 300.0), run(1.0, 1.0, 500.0), run(1.0, 2.0, 400.0)])
    assert "| singles | 800 (800, 1,000, 500) | 400 (300, 500, 400) | – (–, –, –) |" in summary
    assert "| latency | 50 (50, 50, 50) | 20 (20, 20, 20) | 700 (700, 700, 700) |" in summary
    assert "= 80% of the bare transport (median; runs: 80%, 100%, 50%)" in summary
