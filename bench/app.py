"""`bench app`: how fast the pages answer on a year of the city, beside the naive way of computing the same views.

Each case calls a page callback as a plain function (exactly what Dash runs on
a request, figure building included, JSON transfer not) against the bench
store (`bench.app_store`), repeats it, and reports wall-clock p50/p95 with the
process's CPU time beside it: on a shared machine wall time includes waiting
for a core, CPU time does not. The naive cases compute comparable views the way
a quick prototype would: load the raw readings or intervals into pandas.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

TARGET_MS = 250


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
    cpu_p95_ms: float
    runs: int


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def time_case(case: Case, runs: int) -> Timing:
    case.call()  # warm: first-call imports and DuckDB caches are not what users wait for twice
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        case.call()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return Timing(case.page, case.name, statistics.median(wall), percentile(wall, 0.95),
                  percentile(cpu, 0.95), runs)


def page_cases(runtime) -> list[Case]:
    """Every page callback worth timing, with arguments taken from the store's own data."""
    from bench import pages_b, zones_explore
    from callbacks import alert_rules, alerts, health, meters, overview, tanks

    state: dict = {}

    def live_tick():
        if not state:
            state.update(overview.refresh_live_chart(None, "L/s", None)[2])
        return overview.refresh_live_chart(2, "L/s", dict(state))

    cases = [
        Case("Overview", "KPIs and zone cards", lambda: overview.refresh_kpis(1)),
        Case("Overview", "live chart, first draw (6 h)", lambda: overview.refresh_live_chart(None, "L/s", None)),
        Case("Overview", "live chart, a 3-s tick", live_tick),
    ]
    for name, function, arguments in zones_explore.callback_cases(runtime):
        page, _, view = name.partition(".")
        cases.append(Case(page.capitalize(), view, lambda f=function, a=arguments: f(*a)))
    functions = {module: {n: getattr(module, n) for n in dir(module)} for module in (meters, tanks, health)}
    cur = runtime.store.cursor()
    try:
        for name, arguments in pages_b.cases(cur):
            module = next(m for m, names in functions.items() if name in names)
            page = {meters: "Meters", tanks: "Tanks & pumps", health: "System health"}[module]
            cases.append(Case(page, f"{name}{arguments}", lambda f=functions[module][name], a=arguments: f(*a)))
    finally:
        cur.close()
    alert_id = seed_alerts(runtime)
    rule_keys = alert_rules.show_rules(1)[1]
    cases += [
        Case("Leaks & alerts", f"list and timeline ({ALERTS} alerts)",
             lambda: alerts.refresh_alerts(None, None, None, None, ["open", "acknowledged"], 1, None)),
        Case("Leaks & alerts", "zone schematic (alerts and zone rules)", lambda: alerts.refresh_zones(1, None)),
        Case("Leaks & alerts", "one alert's detail and chart", lambda: alerts.show_alert(alert_id, None)),
        Case("Alert rules", "the rules and the form's choices", lambda: alert_rules.show_rules(1)),
        Case("Alert rules", "what a rule in the form reaches",
             lambda: alert_rules.show_reach("*", "*", "burst", "*", rule_keys)),
    ]
    cases += forecast_cases(runtime)
    return cases


ALERTS = 500


def seed_alerts(runtime) -> str:
    """Open `ALERTS` alerts on distinct meters (idempotent: the same events each run); one alert's id."""
    from alerts.lifecycle import raise_alerts
    from alerts.writes import alert_transaction
    from bench.alerts import bench_events
    from data.queries.clock import data_now

    cur = runtime.store.cursor()
    try:
        now = data_now(cur)
        events = bench_events(cur, ALERTS, pd.Timestamp(now))
    finally:
        cur.close()
    with alert_transaction(runtime.store) as wcur:
        raise_alerts(wcur, events, now)
        return wcur.execute("SELECT min(alert_id) FROM alerts WHERE event_id = ?",
                            [events["event_id"].iloc[0]]).fetchone()[0]


def forecast_cases(runtime) -> list[Case]:
    """The Forecast page's callbacks; the fit itself runs in the background and is waited for first."""
    import callbacks.forecast as page
    from forecasting.jobs import JOBS

    cur = runtime.store.cursor()
    try:
        zone = cur.execute("SELECT min(zone_id) FROM zones").fetchone()[0]
    finally:
        cur.close()
    key, *_ = page.start_forecast(1, "zone", zone, "h", 168)
    JOBS.get(key).future.result(timeout=600)
    figure = page.poll_forecast(1, key)[0]
    scenario = (figure, "bench", 2, "0", 10, "residential", 20, 0.5, "residential", 100, key)
    return [
        Case("Forecast", "list meters", lambda: page.list_series("meter")),
        Case("Forecast", "start a forecast (the fit goes to the background)",
             lambda: page.start_forecast(1, "zone", zone, "h", 168)),
        Case("Forecast", f"show the finished forecast of {zone} with its backtest", lambda: page.poll_forecast(1, key)),
        Case("Forecast", "a what-if scenario change", lambda: page.show_scenario(*scenario)),
    ]


def naive_cases(cur) -> list[Case]:
    """The same kinds of views, computed from raw rows in pandas."""
    from bench.pages_b import naive_meter_hourly, naive_tank_level

    meter = cur.execute("SELECT min(meter_id) FROM meters WHERE category = 'residential'").fetchone()[0]
    tank = cur.execute("SELECT min(meter_id) FROM meters WHERE quantity = 'level'").fetchone()[0]

    def city_daily() -> pd.DataFrame:
        frame = cur.execute("SELECT meter_id, ts_end, volume_l FROM consumption").df()
        return frame.groupby(frame["ts_end"].dt.floor("D"))["volume_l"].sum()

    def live_window() -> pd.DataFrame:
        frame = cur.execute("SELECT meter_id, ts, quantity, value FROM readings").df()
        recent = frame[frame["ts"] > frame["ts"].max() - pd.Timedelta(hours=6)]
        return recent[recent["quantity"].isin(["flow", "pressure"])].groupby(["ts", "meter_id"])["value"].min()

    return [
        Case("naive", "Explore: city daily consumption for a year (pandas over all intervals)", city_daily),
        Case("naive", "Overview: live 6-h window (pandas over all readings)", live_window),
        Case("naive", f"Meters: {meter} hourly, 30 days (pandas over all volume readings)",
             lambda: naive_meter_hourly(cur, meter, 30)),
        Case("naive", f"Tanks: {tank} hourly level, 7 days (pandas over all level readings)",
             lambda: naive_tank_level(cur, tank, 7)),
    ]


def format_timings(timings: list[Timing], readings: int, store: str) -> str:
    lines = [f"store: {store} ({readings:,} readings)", "",
             f"| page | view | p50 ms | p95 ms | CPU p95 ms | runs | p95 < {TARGET_MS} ms |",
             "|---|---|---:|---:|---:|---:|---|"]
    for t in timings:
        verdict = "" if t.page == "naive" else ("met" if t.p95_ms < TARGET_MS else "**missed**")
        lines.append(f"| {t.page} | {t.name} | {t.p50_ms:,.0f} | {t.p95_ms:,.0f} | {t.cpu_p95_ms:,.0f} "
                     f"| {t.runs} | {verdict} |")
    return "\n".join(lines)
