"""`bench app`: how fast the pages answer on a year of the city, beside the naive way of computing the same views.

Each case calls a page callback as a plain function (exactly what Dash runs on
a request) against the bench store (`bench.app_store`), repeats it, and
reports p50/p95. The naive cases compute a comparable view the way a quick
prototype would: load the raw readings or intervals into pandas and group.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

import pandas as pd


@dataclass(frozen=True)
class Case:
    page: str
    name: str
    call: Callable[[], object]


@dataclass(frozen=True)
class Timing:
    page: str
    name: str
    p50_ms: float
    p95_ms: float
    runs: int


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def time_case(case: Case, runs: int) -> Timing:
    case.call()  # warm: first-call imports and DuckDB caches are not what users wait for twice
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        case.call()
        samples.append((time.perf_counter() - started) * 1000)
    return Timing(case.page, case.name, statistics.median(samples), percentile(samples, 0.95), runs)


def page_cases() -> list[Case]:
    """Every page callback worth timing, with the arguments a user's first view sends."""
    from callbacks import overview

    cases = [
        Case("Overview", "KPIs (inflow, today vs typical, alerts, freshness)", lambda: overview.refresh_kpis(1)),
        Case("Overview", "live chart, first draw (6 h)", lambda: overview.refresh_live_chart(None, "L/s", None)),
        Case("Overview", "live chart, a 3-s tick",
             lambda: overview.refresh_live_chart(2, "L/s", _live_state())),
    ]
    return cases


_STATE: dict = {}


def _live_state() -> dict:
    from callbacks import overview

    if not _STATE:
        _STATE.update(overview.refresh_live_chart(None, "L/s", None)[2])
    return dict(_STATE)


def naive_cases(cur) -> list[Case]:
    """The same kinds of views, computed from raw rows in pandas."""

    def city_daily() -> pd.DataFrame:
        frame = cur.execute("SELECT meter_id, ts_end, volume_l FROM consumption").df()
        return frame.groupby(frame["ts_end"].dt.floor("D"))["volume_l"].sum()

    def meter_month() -> pd.DataFrame:
        frame = cur.execute("SELECT meter_id, ts_end, volume_l FROM consumption").df()
        one = frame[frame["meter_id"] == frame["meter_id"].iloc[0]]
        return one.groupby(one["ts_end"].dt.floor("h"))["volume_l"].sum().tail(24 * 30)

    def live_window() -> pd.DataFrame:
        frame = cur.execute("SELECT meter_id, ts, quantity, value FROM readings").df()
        recent = frame[frame["ts"] > frame["ts"].max() - pd.Timedelta(hours=6)]
        return recent[recent["quantity"].isin(["flow", "pressure"])].groupby(["ts", "meter_id"])["value"].min()

    return [
        Case("naive", "city daily consumption for a year (pandas over all intervals)", city_daily),
        Case("naive", "one meter's hourly month (pandas over all intervals)", meter_month),
        Case("naive", "live 6-h window (pandas over all readings)", live_window),
    ]


def format_timings(timings: list[Timing], readings: int, store: str) -> str:
    lines = [f"store: {store} ({readings:,} readings)", "",
             "| page | view | p50 ms | p95 ms | runs |", "|---|---|---:|---:|---:|"]
    lines += [f"| {t.page} | {t.name} | {t.p50_ms:,.0f} | {t.p95_ms:,.0f} | {t.runs} |" for t in timings]
    return "\n".join(lines)
