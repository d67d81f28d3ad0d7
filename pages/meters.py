"""Meters: find any meter and see what it used, what it measured, how good its data is and what happened."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from callbacks import meters_ids as ids
from dashapp.display import VOLUME_UNITS

dash.register_page(__name__, path="/meters", name="Meters", title="Waterline · Meters")

PERIODS = {7: "7 days", 30: "30 days", 90: "90 days", 365: "1 year"}


def _days(text: str | None) -> int:
    try:
        days = int(text or 7)
    except ValueError:
        return 7
    return days if days in PERIODS else 7


def layout(meter: str | None = None, days: str | None = None, unit: str | None = None, **_query: str) -> html.Div:
    controls = dbc.Row(
        [
            dbc.Col([dbc.Label("Meter", html_for=ids.METER),
                     dcc.Dropdown(id=ids.METER, value=meter, options=[{"label": meter, "value": meter}] if meter else [],
                                  placeholder="Type a meter id, zone or category…", searchable=True,
                                  clearable=True)], md=6, className="mb-2"),
            dbc.Col([dbc.Label("Period", html_for=ids.DAYS),
                     dbc.Select(id=ids.DAYS, value=str(_days(days)),
                                options=[{"label": label, "value": str(d)} for d, label in PERIODS.items()])],
                    xs=6, md=3, className="mb-2"),
            dbc.Col([dbc.Label("Volume unit", html_for=ids.UNIT),
                     dbc.Select(id=ids.UNIT, value=unit if unit in VOLUME_UNITS else "L",
                                options=[{"label": u, "value": u} for u in VOLUME_UNITS])],
                    xs=6, md=3, className="mb-2"),
        ]
    )
    chart = lambda title, graph_id: dbc.Card(dbc.CardBody([
        html.H2(title, className="h6"),
        dcc.Loading(dcc.Graph(id=graph_id, config={"displaylogo": False}), delay_show=300)]), className="mb-3")
    return html.Div(
        [
            html.H1("Meters", className="h3"),
            controls,
            dcc.Loading(html.Div(id=ids.SUMMARY, className="my-2"), delay_show=300),
            dbc.Row([dbc.Col(chart("Consumption", ids.CONSUMPTION), lg=6),
                     dbc.Col(chart("Measured values (hourly)", ids.MEASURED), lg=6)]),
            dbc.Row([dbc.Col(dbc.Card(dbc.CardBody([html.H2("Data quality", className="h6"),
                                                    html.Div(id=ids.QUALITY)]), className="mb-3"), lg=6),
                     dbc.Col(dbc.Card(dbc.CardBody([html.H2("Events", className="h6"),
                                                    html.Div(id=ids.EVENTS)]), className="mb-3"), lg=6)]),
            html.Div(id=ids.URL_SYNC, hidden=True),
        ]
    )
