"""Leaks & alerts: what is leaking or failing now, where, why the detector thinks so, and what to do about it."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from callbacks import alerts_ids as ids

dash.register_page(__name__, path="/alerts", name="Leaks & alerts", title="Waterline · Leaks & alerts")

SEVERITY_OPTIONS = [{"label": s.capitalize(), "value": s} for s in ("critical", "warning", "info")]
STATE_OPTIONS = [{"label": "Open", "value": "open"}, {"label": "Acknowledged", "value": "acknowledged"},
                 {"label": "Resolved", "value": "resolved"}, {"label": "Not a leak", "value": "not_a_leak"}]


def _filter(label: str, component, width: int = 2) -> dbc.Col:
    return dbc.Col([dbc.Label(label, className="small mb-1"), component], xs=12, md=6, xl=width, className="mb-2")


def _actions() -> dbc.Card:
    return dbc.Card(dbc.CardBody([
        dbc.Row([
            dbc.Col(dbc.Input(id=ids.ACTOR, placeholder="Your name", value="operator", persistence=True,
                              persistence_type="local", size="sm"), md=3),
            dbc.Col(dbc.Input(id=ids.NOTE, placeholder="Note (optional): what you found or did", size="sm"), md=9),
        ], className="g-2 mb-2"),
        dbc.Row([
            dbc.Col([
                dbc.Button("Acknowledge", id=ids.ACKNOWLEDGE, color="primary", size="sm", className="me-2"),
                dbc.Button("Resolve", id=ids.RESOLVE, color="success", size="sm", className="me-2"),
                dbc.Button("Not a leak", id=ids.NOT_A_LEAK, color="secondary", size="sm", className="me-2"),
            ], md="auto"),
            dbc.Col(dbc.RadioItems(id=ids.FEEDBACK_EFFECT, inline=True, value="suppress", className="small", options=[
                {"label": "then suppress this pattern on this meter", "value": "suppress"},
                {"label": "then raise its score threshold", "value": "raise_threshold"},
            ]), md=True),
        ], className="g-2 align-items-center"),
        html.Div(id=ids.ACTION_MESSAGE, className="mt-2"),
    ]), className="mb-3")


def layout(**_query: str) -> html.Div:
    return html.Div([
        html.Div([html.H1("Leaks & alerts", className="h3 d-inline me-3"),
                  dcc.Link("Alert rules: severities and thresholds", href="/alerts/rules", className="small")],
                 className="mb-2"),
        dbc.Row([
            _filter("Zone", dcc.Dropdown(id=ids.ZONE_FILTER, multi=True, placeholder="All zones")),
            _filter("Concern", dcc.Dropdown(id=ids.CONCERN_FILTER, multi=True, placeholder="Any concern")),
            _filter("Kind", dcc.Dropdown(id=ids.KIND_FILTER, multi=True, placeholder="All kinds"), 3),
            _filter("Severity", dcc.Dropdown(id=ids.SEVERITY_FILTER, options=SEVERITY_OPTIONS, multi=True,
                                             placeholder="Any severity")),
            _filter("State", dcc.Dropdown(id=ids.STATE_FILTER, options=STATE_OPTIONS, multi=True,
                                          value=["open", "acknowledged"], placeholder="Any state"), 3),
        ]),
        html.Div(id=ids.SUMMARY, className="text-muted small mb-2"),
        dbc.Row([
            dbc.Col([html.H2("Zones", className="h5"),
                     dcc.Graph(id=ids.SCHEMATIC, config={"displayModeBar": False}),
                     html.Div(id=ids.ZONE_REASONS, className="small")], xl=5),
            dbc.Col([html.H2("Timeline", className="h5"),
                     dcc.Graph(id=ids.TIMELINE, config={"displaylogo": False})], xl=7),
        ]),
        dbc.Row([
            dbc.Col([html.H2("Alerts", className="h5"), html.Div(id=ids.LIST)], xl=5),
            dbc.Col([
                html.H2("Selected alert", className="h5"),
                html.Div(id=ids.DETAIL),
                _actions(),
                dcc.Graph(id=ids.CHART, config={"displaylogo": False}),
            ], xl=7),
        ], className="mt-2"),
        dcc.Store(id=ids.SELECTED),
        dcc.Store(id=ids.SHOWN),
        dcc.Store(id=ids.CHANGED, data=0),
        dcc.Interval(id=ids.TICK, interval=30_000),
    ])
