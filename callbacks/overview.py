"""Overview callbacks: live ingest counts from the store and the listener's metrics."""

from __future__ import annotations

from datetime import datetime, timezone

import dash_bootstrap_components as dbc
from dash import Input, Output, callback, html

from callbacks import overview_ids as ids
from dashapp import runtime
from data.queries.summary import recent_quarantine, store_summary


def _quarantine_table(rows: list[dict]) -> dbc.Table | html.P:
    if not rows:
        return html.P("Nothing quarantined: every message so far was valid.", className="text-muted")
    header = html.Thead(html.Tr([html.Th(h) for h in ("Received (UTC)", "Source", "Meter", "Reason")]))
    body = html.Tbody([
        html.Tr([html.Td(f"{r['received_at']:%Y-%m-%d %H:%M:%S}"), html.Td(r["source"]),
                 html.Td(r["meter_id"] or "–"), html.Td(r["reason"])])
        for r in rows
    ])
    return dbc.Table([header, body], size="sm", striped=True, responsive=True)


def _count(n: int) -> str:
    """Counts that fit a card: 1,234 then 123.4 k then 1.86 M."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.2f} M"
    if n >= 100_000:
        return f"{n / 1_000:.1f} k"
    return f"{n:,}"


def _freshness(last_reading_at: datetime | None) -> list | str:
    if last_reading_at is None:
        return "no data yet"
    age_s = max((datetime.now(timezone.utc).replace(tzinfo=None) - last_reading_at).total_seconds(), 0)
    age = f"{age_s:.0f} s ago" if age_s < 120 else f"{age_s / 60:.0f} min ago" if age_s < 7200 else \
        f"{age_s / 3600:.0f} h ago" if age_s < 172800 else f"{age_s / 86400:.0f} days ago"
    return [age, html.Div(f"{last_reading_at:%Y-%m-%d %H:%M} UTC", className="kpi-note")]


@callback(
    Output(ids.METERS, "children"),
    Output(ids.READINGS, "children"),
    Output(ids.RATE, "children"),
    Output(ids.QUARANTINED, "children"),
    Output(ids.FRESHNESS, "children"),
    Output(ids.BROKER, "children"),
    Output(ids.QUARANTINE_TABLE, "children"),
    Input(ids.TICK, "n_intervals"),
)
def refresh_counts(_tick: int | None):
    rt = runtime.current()
    cur = rt.store.cursor()
    try:
        summary = store_summary(cur)
        quarantined = recent_quarantine(cur, limit=10)
    finally:
        cur.close()
    metrics = rt.metrics.snapshot()
    freshness = _freshness(summary.last_reading_at)
    broker = ("connected" if metrics.broker_connected else "disconnected") if metrics.broker else "not listening"
    return (
        _count(summary.meters),
        _count(summary.readings),
        f"{metrics.readings_per_s:,.0f}",
        _count(summary.quarantined),
        freshness,
        broker,
        _quarantine_table(quarantined),
    )
