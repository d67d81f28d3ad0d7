"""System health: is ingest keeping up, what is refused and why, which meters went quiet. Refreshes every 3 s."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from callbacks import health_ids as ids

dash.register_page(__name__, path="/health", name="System health", title="Waterline · System health")


def _kpi(label: str, value_id: str) -> dbc.Col:
    return dbc.Col(dbc.Card(dbc.CardBody([html.Div(label, className="kpi-label"),
                                          html.Div("–", id=value_id, className="kpi-text")]), className="h-100"),
                   xs=6, md=4, xl=2, className="mb-3")


def _section(title: str, body_id: str) -> dbc.Card:
    return dbc.Card(dbc.CardBody([html.H2(title, className="h6"), html.Div(id=body_id)]), className="mb-3")


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            html.H1("System health", className="h3"),
            dbc.Row([_kpi("Readings / s", ids.RATE), _kpi("Batch p50 / p95", ids.BATCH),
                     _kpi("Queue depth", ids.QUEUE), _kpi("Error rate", ids.ERRORS), _kpi("Broker", ids.BROKER),
                     _kpi("Last error", ids.LAST_ERROR)]),
            dbc.Card(dbc.CardBody([html.H2("Ingest over the last 24 hours", className="h6"),
                                   dcc.Graph(id=ids.HISTORY, config={"displaylogo": False})]), className="mb-3"),
            dbc.Row([dbc.Col(_section("Quarantined messages by reason", ids.REASONS), lg=6),
                     dbc.Col(_section("Silent meters", ids.SILENT), lg=6)]),
            _section("Recently quarantined", ids.RECENT),
            dcc.Interval(id=ids.TICK, interval=3000),
        ]
    )
