"""Tanks & pumps: tank levels with their predicted course and thresholds, and booster run hours."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from callbacks import tanks_ids as ids

dash.register_page(__name__, path="/tanks", name="Tanks & pumps", title="Waterline · Tanks & pumps")

PERIODS = {"3": "3 days", "7": "7 days", "30": "30 days", "90": "90 days"}
HORIZONS = {"12": "12 hours", "24": "24 hours", "48": "48 hours"}


def layout(**_query: str) -> html.Div:
    controls = dbc.Row(
        [
            dbc.Col([dbc.Label("Tank", html_for=ids.TANK),
                     dcc.Dropdown(id=ids.TANK, placeholder="Choose a tank", clearable=False)], md=4, className="mb-2"),
            dbc.Col([dbc.Label("History shown", html_for=ids.DAYS),
                     dbc.Select(id=ids.DAYS, value="7", options=[{"label": v, "value": k} for k, v in PERIODS.items()])],
                    xs=6, md=3, className="mb-2"),
            dbc.Col([dbc.Label("Predict ahead", html_for=ids.HORIZON),
                     dbc.Select(id=ids.HORIZON, value="24",
                                options=[{"label": v, "value": k} for k, v in HORIZONS.items()])],
                    xs=6, md=3, className="mb-2"),
        ]
    )
    return html.Div(
        [
            html.H1("Tanks & pumps", className="h3"),
            dcc.Store(id=ids.LOADED, data=True),
            controls,
            dcc.Loading([html.Div(id=ids.SUMMARY, className="my-2"),
                         dbc.Card(dbc.CardBody([html.H2("Tank level", className="h6"),
                                                dcc.Graph(id=ids.LEVEL, config={"displaylogo": False}),
                                                html.Div(id=ids.MODEL, className="small")]), className="mb-3")],
                        delay_show=300),
            html.H2("Booster run hours", className="h5"),
            dcc.Loading(html.Div(id=ids.PUMPS), delay_show=300),
        ]
    )
