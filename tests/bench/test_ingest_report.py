"""The ingest benchmark's summary of repeated runs: medians a reader can check against each run."""

from __future__ import annotations

from bench.ingest import Phase, format_report, format_summary

SINGLES, ARRAYS = "single-reading QoS 1 messages", "100-reading array QoS 1 messages"


def run(single_s: float, p95: float, array_s: float = 2.0) -> list[Phase]:
    return [Phase(f"bare transport, {SINGLES}", 1000, 1.0), Phase(f"listener, {SINGLES}", 1000, single_s, 100.0, p95),
            Phase(f"bare transport, {ARRAYS}", 100_000, 1.0), Phase(f"listener, {ARRAYS}", 100_000, array_s, 300, 900),
            Phase("latency", 50, 1.0, 10.0, 20.0, 300.0, 700.0)]


def test_summary_gives_the_median_of_each_phase_and_of_each_ratio():
    summary = format_summary([run(1.25, 300.0), run(1.0, 500.0, 4.0), run(2.0, 400.0)])
    assert f"| listener, {SINGLES} | 800 (800, 1,000, 500) | 400 (300, 500, 400) | – (–, –, –) |" in summary
    assert "| latency | 50 (50, 50, 50) | 20 (20, 20, 20) | 700 (700, 700, 700) |" in summary
    assert f"with {SINGLES} = 80% of the bare transport (median; runs: 80%, 100%, 50%)" in summary
    assert f"with {ARRAYS} = 50% of the bare transport (median; runs: 50%, 25%, 50%)" in summary


def test_one_run_reports_each_listener_phase_against_its_own_bare_transport():
    report = format_report(run(1.25, 300.0))
    assert f"with {SINGLES} = 80% of the bare transport" in report
    assert f"with {ARRAYS} = 50% of the bare transport" in report


def test_a_phase_that_timed_out_is_named_and_gives_no_rate_or_share():
    stalled = run(1.25, 300.0)
    stalled[0] = Phase(f"bare transport, {SINGLES}", 288, 600.0, expected=1000)
    report = format_report(stalled)
    assert f"bare transport, {SINGLES}: incomplete, 288 of 1,000 readings arrived in 600 s" in report
    assert f"with {SINGLES} =" not in report
    assert f"with {ARRAYS} = 50% of the bare transport" in report
    summary = format_summary([stalled, run(1.0, 500.0)])
    assert f"| bare transport, {SINGLES} | 1,000 (–, 1,000) |" in summary
    assert f"with {SINGLES} = 100% of the bare transport (median; runs: 100%)" in summary
    assert f"run 1: bare transport, {SINGLES}: incomplete" in summary
