"""Meters page callbacks: the typeahead's options, and everything shown for the chosen meter."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, clientside_callback, html

from callbacks import meters_ids as ids
from dashapp import runtime
from dashapp.display import VOLUME_UNITS
from dashapp.figures.meters import consumption_figure, measured_figure
from dashapp.figures.theme import empty_figure
from data.queries.clock import data_now
from data.queries.meters import (
    HOURLY_UP_TO_DAYS,
    MeterInfo,
    MeterQuality,
    meter_choices,
    meter_consumption,
    meter_events,
    meter_flow,
    meter_info,
    meter_quality,
    meter_window,
)

SCOPE = None  # every meter until users are scoped (roles come in a later issue)

clientside_callback(  # the URL holds the view without re-rendering the page
    """function(meter, days, unit) {
        const query = new URLSearchParams();
        if (meter) { query.set('meter', meter); }
        query.set('days', days); query.set('unit', unit);
        window.history.replaceState(null, '', window.location.pathname + '?' + query.toString());
    }""",
    Input(ids.METER, "value"), Input(ids.DAYS, "value"), Input(ids.UNIT, "value"),
)


@callback(Output(ids.METER, "options"), Input(ids.METER, "search_value"), State(ids.METER, "value"))
def search_meters(search: str | None, chosen: str | None) -> list[dict]:
    cur = runtime.current().store.cursor()
    try:
        return meter_choices(cur, search, SCOPE, keep=chosen)
    finally:
        cur.close()


def _message(text: str, colour: str = "secondary") -> dbc.Alert:
    return dbc.Alert(text, color=colour, className="mb-0")


def _summary(info: MeterInfo, quality: MeterQuality, unit: str) -> dbc.Row:
    share = quality.estimated_share
    last = info.last_ts or info.last_seen_at
    items = [
        ("Zone", info.zone_id or "–"), ("Category", info.category or "–"),
        ("Measures", f"{info.quantity} ({info.unit or '?'})"),
        ("Usual interval", f"{info.interval_s / 60:.0f} min" if info.interval_s else "–"),
        ("Last reading (UTC)", f"{last:%Y-%m-%d %H:%M}" if last else "never"),
        ("Volume in period", f"{quality.volume_l / VOLUME_UNITS[unit]:,.1f} {unit}" if info.is_consumption else "–"),
    ]
    cards = [dbc.Col(dbc.Card(dbc.CardBody([html.Div(label, className="kpi-label"),
                                            html.Div(value, className="kpi-text")])), xs=6, md=4, xl=2, className="mb-2")
             for label, value in items]
    note = [] if share is None else [dbc.Col(html.Small(f"{share:.1%} of this period's volume is estimated over gaps.",
                                                        className="text-muted"), width=12)]
    return dbc.Row(cards + note)


def _table(frame: pd.DataFrame, headers: dict[str, str]) -> dbc.Table:
    shown = frame[list(headers)].rename(columns=headers)
    for column in shown.columns:
        if pd.api.types.is_datetime64_any_dtype(shown[column]):
            shown[column] = shown[column].dt.strftime("%Y-%m-%d %H:%M").fillna("–")
    return dbc.Table.from_dataframe(shown, size="sm", striped=True, responsive=True, className="mb-2")


def _quality(info: MeterInfo, quality: MeterQuality) -> list:
    parts: list = []
    if info.is_consumption:
        share = quality.estimated_share
        parts.append(html.P([html.Strong("Estimated share: "),
                             "–" if share is None else f"{share:.1%}",
                             html.Strong(f" · Gaps in the last {quality.counted_days} days: "),
                             f"{quality.gaps} ({quality.gap_hours:.1f} h spread by estimate)"]))
    if quality.flags.empty:
        parts.append(html.P(f"No reading of the last {quality.counted_days} days carried a quality flag.",
                            className="text-muted"))
    else:
        parts.append(html.Div(f"Readings with quality flags, last {quality.counted_days} days", className="fw-semibold"))
        flags = quality.flags.assign(flag=quality.flags["flag"].str.replace("_", " "))
        parts.append(_table(flags, {"flag": "Flag", "readings": "Readings"}))
    if quality.quarantine.empty:
        parts.append(html.P("Nothing from this meter was quarantined.", className="text-muted mb-0"))
    else:
        parts.append(html.Div("Quarantined messages (all time)", className="fw-semibold"))
        parts.append(_table(quality.quarantine, {"reason": "Reason", "messages": "Messages", "last_at": "Last (UTC)"}))
    return parts


def _events(events: pd.DataFrame) -> list | dbc.Alert:
    if events.empty:
        return _message("No events recorded for this meter (no simulated ground truth, detections or alerts).")
    table = _table(events, {"source": "Source", "kind": "Kind", "start": "Start (UTC)", "end": "End (UTC)",
                            "detail": "Detail"})
    return [table, html.Small("'simulated ground truth' rows are the simulator's injected events, not detections.",
                              className="text-muted")]


@callback(
    Output(ids.SUMMARY, "children"),
    Output(ids.CONSUMPTION, "figure"),
    Output(ids.MEASURED, "figure"),
    Output(ids.QUALITY, "children"),
    Output(ids.EVENTS, "children"),
    Input(ids.METER, "value"),
    Input(ids.DAYS, "value"),
    Input(ids.UNIT, "value"),
)
def show_meter(meter_id: str | None, days: str | None, unit: str | None):
    unit = unit if unit in VOLUME_UNITS else "L"
    try:
        days_n = max(1, min(int(days or 7), 366))
    except ValueError:
        days_n = 7
    cur = runtime.current().store.cursor()
    try:
        if not meter_id:
            if not meter_choices(cur, None, SCOPE, limit=1):
                blank = empty_figure("No meters in the store yet.")
                return _message("No meters in the store yet: they appear as soon as readings arrive or are "
                                "imported."), blank, blank, "", ""
            blank = empty_figure("Choose a meter above.")
            return _message("Search for a meter by its id, zone or category."), blank, blank, "", ""
        info = meter_info(cur, meter_id, SCOPE)
        if info is None:
            blank = empty_figure(f"No meter {meter_id!r}.")
            return (_message(f"There is no meter {meter_id!r} (or it is outside your scope).", "warning"),
                    blank, blank, "", "")
        if info.last_ts is None and info.last_seen_at is None:
            blank = empty_figure(f"{meter_id} has not reported any readings yet.")
            return (_message(f"{meter_id} is registered but has not reported any readings yet.", "info"),
                    blank, blank, "", _events(meter_events(cur, meter_id, SCOPE)))
        start, end = meter_window(info, data_now(cur), days_n)
        consumption = meter_consumption(cur, info, start, end) if info.is_consumption else None
        measured = meter_flow(cur, info, start, end)
        quality = meter_quality(cur, info, start, end)
        events = meter_events(cur, meter_id, SCOPE)
    finally:
        cur.close()
    daily = days_n > HOURLY_UP_TO_DAYS
    consumption_fig = (consumption_figure(consumption, meter_id, info.tz, daily, unit, VOLUME_UNITS[unit])
                       if consumption is not None else
                       empty_figure(f"{meter_id} measures {info.quantity}, not consumption."))
    return (_summary(info, quality, unit), consumption_fig, measured_figure(measured, meter_id, info.tz, daily),
            _quality(info, quality), _events(events))
