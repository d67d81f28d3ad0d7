"""System health callbacks: live ingest metrics every tick, and what the store remembers about ingest."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, callback, html

from callbacks import health_ids as ids
from dashapp import runtime
from dashapp.display import count_of, elapsed_text
from dashapp.figures.health import ingest_history_figure
from data.ingest import UNKNOWN_METER
from data.metrics import RATE_WINDOW_S, IngestSnapshot
from data.queries.clock import data_now
from data.queries.health import (
    SILENT_AFTER_INTERVALS,
    ingest_history,
    never_reported,
    quarantine_reasons,
    recent_quarantine,
    silent_meters,
)

SCOPE = None  # operators see everything
HISTORY_HOURS = 24


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def rate_view(m: IngestSnapshot, now: float) -> list:
    """The readings-per-second figure with what a zero means: a city publishing every
    quarter hour is silent most of the time."""
    heard = ("no message yet" if m.last_message_at is None
             else f"last message {elapsed_text(now - m.last_message_at)} ago · {m.readings:,} readings since start")
    return [f"{m.readings_per_s:,.0f}", html.Div(f"over the last {RATE_WINDOW_S:.0f} s · {heard}", className="kpi-note")]


def _table(frame: pd.DataFrame, headers: dict[str, str]) -> dbc.Table:
    shown = frame[list(headers)].rename(columns=headers)
    for column in shown.columns:
        if pd.api.types.is_datetime64_any_dtype(shown[column]):
            shown[column] = shown[column].dt.strftime("%Y-%m-%d %H:%M:%S").fillna("–")
    return dbc.Table.from_dataframe(shown, size="sm", striped=True, responsive=True, className="mb-0")


def _silent(frame: pd.DataFrame, now: datetime, unheard: int) -> list | html.P:
    has = "has" if unheard == 1 else "have"
    never = [html.P(f"{count_of(unheard, 'registered meter')} {has} never reported.", className="small")] \
        if unheard else []
    if frame.empty:
        return never + [html.P(f"Every meter has reported within {SILENT_AFTER_INTERVALS} of its usual intervals "
                               f"(as of {now:%Y-%m-%d %H:%M} UTC).", className="text-muted mb-0")]
    shown = frame.assign(interval=(frame["interval_s"] / 60).round(0).astype(int).astype(str) + " min",
                         silent=frame["silent_h"].map(lambda h: f"{h:.1f} h" if h < 48 else f"{h / 24:.1f} days"))
    their = "its" if len(frame) == 1 else "their"
    return never + [html.P(f"{count_of(len(frame), 'meter')} without a reading for more than "
                           f"{SILENT_AFTER_INTERVALS} of {their} usual intervals, as of {now:%Y-%m-%d %H:%M} UTC.",
                           className="small"),
            _table(shown.head(50), {"meter_id": "Meter", "zone_id": "Zone", "category": "Category",
                                    "last_reading": "Last reading (UTC)", "interval": "Usual interval",
                                    "silent": "Silent for"})]


@callback(
    Output(ids.RATE, "children"),
    Output(ids.BATCH, "children"),
    Output(ids.QUEUE, "children"),
    Output(ids.ERRORS, "children"),
    Output(ids.BROKER, "children"),
    Output(ids.LAST_ERROR, "children"),
    Input(ids.TICK, "n_intervals"),
)
def live_metrics(_tick: int | None):
    m = runtime.current().metrics.snapshot()
    now = time.time()
    errors = [f"{m.error_rate:.2%}", html.Div(f"{m.quarantined:,} quarantined, {m.batch_errors} failed batches",
                                              className="kpi-note")]
    return (rate_view(m, now), f"{_ms(m.batch_p50_ms)} / {_ms(m.batch_p95_ms)} ms", f"{m.queue_depth:,}",
            errors, broker_view(m, now), m.last_error or "none")


def broker_view(m: IngestSnapshot, now: float) -> list:
    """The connection's state, and the last thing that went wrong with it (a refusal, an unreachable
    broker, a restarted session process), so that "disconnected" comes with a reason."""
    if not m.broker:
        return ["not listening", html.Div("no listener in this process", className="kpi-note")]
    notes = [f"{m.broker} · {m.connects} connects"]
    if m.session_restarts:
        notes.append(f"session process restarted {count_of(m.session_restarts, 'time')}")
    if m.broker_problem and m.broker_problem_at is not None:
        notes.append(f"{'last problem' if m.broker_connected else 'problem'} {elapsed_text(now - m.broker_problem_at)}"
                     f" ago: {m.broker_problem}")
    return ["connected" if m.broker_connected else "disconnected",
            html.Div(" · ".join(notes), className="kpi-note")]


#: What an operator does about readings of meters the store did not know (docs/MQTT.md).
UNKNOWN_METERS_HINT = ("Readings of unregistered meters are kept: register the meters (python -m dashapp meters "
                       "load FILE), then store what they sent (python -m dashapp quarantine replay), with the "
                       "server stopped.")


@callback(
    Output(ids.HISTORY, "figure"),
    Output(ids.REASONS, "children"),
    Output(ids.RECENT, "children"),
    Output(ids.SILENT, "children"),
    Input(ids.TICK, "n_intervals"),
)
def stored_health(_tick: int | None):
    cur = runtime.current().store.cursor()
    try:
        wall = datetime.now(UTC).replace(tzinfo=None)
        history = ingest_history(cur, wall - timedelta(hours=HISTORY_HOURS))
        reasons = quarantine_reasons(cur, SCOPE)
        recent = recent_quarantine(cur, SCOPE)
        now = data_now(cur, SCOPE)
        silent = silent_meters(cur, now, SCOPE)
        unheard = never_reported(cur, SCOPE)
    finally:
        cur.close()
    figure = ingest_history_figure(history)
    if reasons.empty:
        reasons_view = html.P("Nothing quarantined: every message so far was valid.", className="text-muted mb-0")
        recent_view = reasons_view
    else:
        reasons_view = _table(reasons, {"reason": "Reason (example)", "messages": "Messages", "last_at": "Last (UTC)"})
        if reasons["reason"].str.startswith(UNKNOWN_METER).any():
            reasons_view = html.Div([reasons_view, html.P(UNKNOWN_METERS_HINT, className="small text-muted mb-0")])
        recent_view = _table(recent, {"received_at": "Received (UTC)", "source": "Source", "meter_id": "Meter",
                                      "reason": "Reason"})
    return figure, reasons_view, recent_view, _silent(silent, now, unheard)
