"""Overview callbacks: KPIs and zone cards on every tick; the live chart built once, then extended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dash import Input, Output, State, callback, html, no_update

from callbacks import overview_ids as ids
from dashapp import runtime
from dashapp.display import elapsed_text, flow_factor
from dashapp.figures.overview import extension, live_figure
from dashapp.zone_cards import zone_status_cards
from data.metrics import RECENT_WINDOW_S
from data.queries.clock import anchored_now, data_now, newest_reading_at
from data.queries.overview import (
    CityInflow,
    TodayConsumption,
    city_inflow,
    city_time_zone,
    consumption_today,
    consumption_yesterday,
    live_series,
    open_alert_count,
)
from data.queries.zone_status import StatusLimits, zone_statuses

LIVE_WINDOW = timedelta(hours=6)
LIVE_LAG = timedelta(hours=1)  # data newer than this is "live": meters report every 15 min or hour


def _note(text: str) -> html.Div:
    return html.Div(text, className="kpi-note")


def _inflow(inflow: CityInflow) -> list | str:
    if inflow.zones_with_inlet == 0:
        return [html.Span("–"), _note("no zone inlet meters registered")]
    if inflow.total_l_s is None:
        return [html.Span("–"), _note("no inlet reading in the last 2 h")]
    return [f"{inflow.total_l_s:,.1f} L/s",
            _note(f"{inflow.zones_reporting} of {inflow.zones_with_inlet} zone "
                  f"{'inlets and outlets' if inflow.outlets else 'inlets'} reporting")]


def _today(today: TodayConsumption, yesterday: TodayConsumption | None = None) -> list:
    """Today so far against typical; before today's first hour is in, yesterday's (whole or as delivered)."""
    shown, span = (today, f"{today.hours} h") if yesterday is None else \
        (yesterday, "yesterday, whole day" if yesterday.whole_day else f"yesterday, first {yesterday.hours} h")
    if shown.volume_l is None:
        return [html.Span("–"), _note(f"{span}; no customer meter readings")]
    value = f"{shown.volume_l / 1000:,.1f} m³"
    if shown.change is None:
        return [value, _note(f"{span}; no previous weeks to compare")]
    arrow = "▲" if shown.change >= 0 else "▼"
    return [value, _note(f"{arrow} {abs(shown.change):.0%} vs typical "
                         f"{shown.typical_l / 1000:,.1f} m³ ({span}, {shown.weeks} wk)")]


def _alerts(count: int | None) -> list | str:
    if count is None:
        return [html.Span("–"), _note("alerting not set up")]
    return [f"{count:,}", _note("open or acknowledged")]


def _freshness(last_reading_at: datetime | None, now: datetime) -> list | str:
    if last_reading_at is None:
        return "no data yet"
    age = f"{elapsed_text((now - last_reading_at).total_seconds())} ago"
    return [age, _note(f"{last_reading_at:%Y-%m-%d %H:%M} UTC")]


def _ingest(metrics) -> list:
    if not metrics.broker:
        return [html.Span("–"), _note("not listening")]
    broker = "broker connected" if metrics.broker_connected else "broker disconnected"
    window = elapsed_text(RECENT_WINDOW_S)
    return [f"{metrics.readings_recent:,}",
            _note(f"readings in the last {window} ({metrics.readings_per_s:,.0f}/s now); {broker}")]


def _wall_clock() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@callback(
    Output(ids.AS_OF, "children"),
    Output(ids.INFLOW, "children"),
    Output(ids.TODAY, "children"),
    Output(ids.ALERTS, "children"),
    Output(ids.FRESHNESS, "children"),
    Output(ids.INGEST, "children"),
    Output(ids.ZONE_CARDS, "children"),
    Input(ids.TICK, "n_intervals"),
)
def refresh_kpis(_tick: int | None):
    rt = runtime.current()
    cur = rt.store.cursor()
    try:
        wall = _wall_clock()
        newest = newest_reading_at(cur)
        now = anchored_now(newest, wall)
        limits = StatusLimits.from_settings(rt.settings)
        inflow = city_inflow(cur, now, limits=limits)
        tz = city_time_zone(cur)
        today = consumption_today(cur, now, tz)
        yesterday = consumption_yesterday(cur, now, tz) if today.hours == 0 else None
        alerts = open_alert_count(cur)
        statuses = zone_statuses(cur, now, limits=limits)
    finally:
        cur.close()
    as_of = "live" if wall - now < LIVE_LAG else f"as of {now:%Y-%m-%d %H:%M} UTC, the newest data"
    return (as_of, _inflow(inflow), _today(today, yesterday), _alerts(alerts), _freshness(newest, wall),
            _ingest(rt.metrics.snapshot()), zone_status_cards(statuses, link=True))


@callback(
    Output(ids.LIVE_CHART, "figure"),
    Output(ids.LIVE_CHART, "extendData"),
    Output(ids.LIVE_STATE, "data"),
    Input(ids.TICK, "n_intervals"),
    Input(ids.FLOW_UNIT, "value"),
    State(ids.LIVE_STATE, "data"),
)
def refresh_live_chart(_tick: int | None, flow_unit: str, state: dict | None):
    factor = flow_factor(flow_unit)
    cur = runtime.current().store.cursor()
    try:
        now = data_now(cur, wall_clock=_wall_clock())
        rebuild = not state or state.get("unit") != flow_unit or not state.get("keys")
        since = now - LIVE_WINDOW if rebuild else datetime.fromisoformat(state["last_ts"])
        points = live_series(cur, since, now)
        names = dict(cur.execute("SELECT zone_id, coalesce(name, zone_id) FROM zones").fetchall())
    finally:
        cur.close()
    last_ts = points["ts"].max().isoformat() if not points.empty else since.isoformat()
    if rebuild:
        figure, keys = live_figure(points, names, flow_unit, factor, "last 6 hours")
        return figure, no_update, {"keys": keys, "last_ts": last_ts, "unit": flow_unit}
    extend = extension(points, [tuple(k) for k in state["keys"]], factor)
    if extend is None:
        return no_update, no_update, no_update
    return no_update, extend, {**state, "last_ts": last_ts}
