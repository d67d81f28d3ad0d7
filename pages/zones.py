"""Zones: per zone status with its rule, inlet flow and pressure, night-flow trend and daily water balance."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from callbacks import zones_ids as ids
from dashapp.display import DEFAULT_VOLUME_UNIT, VOLUME_UNITS

dash.register_page(__name__, path="/zones", name="Zones", title="Waterline · Zones")

PERIODS = [("7 days", 7), ("30 days", 30), ("90 days", 90), ("1 year", 365)]


def _chart(graph_id: str, description: str) -> html.Div:
    return html.Div(dcc.Graph(id=graph_id, config={"displaylogo": False}), role="figure",
                    **{"aria-label": description})


def _control(label: str, control_id: str, control) -> dbc.Col:
    return dbc.Col([html.Label(label, htmlFor=control_id, className="form-label small mb-1"), control],
                   xs=12, sm=6, lg=3, className="mb-2")


def layout(zone: str | None = None, **_query: str) -> html.Div:
    return html.Div(
        [
            html.H1("Zones", className="h3"),
            dcc.Store(id=ids.ZONE_FROM_URL, data=zone),
            dcc.Loading(html.Div(id=ids.STATUS_CARDS, className="mb-3"), type="dot"),
            dbc.Row(
                [
                    _control("Zone", ids.ZONE, dcc.Dropdown(id=ids.ZONE, clearable=False, placeholder="Choose a zone")),
                    _control("Period", ids.DAYS, dbc.Select(id=ids.DAYS, value="30",
                                                            options=[{"label": l, "value": str(d)} for l, d in PERIODS])),
                    _control("Flow unit", ids.FLOW_UNIT, dbc.RadioItems(
                        id=ids.FLOW_UNIT, value="L/s", inline=True,
                        options=[{"label": u, "value": u} for u in ("L/s", "L/min")])),
                    _control("Volume unit", ids.VOLUME_UNIT, dbc.Select(
                        id=ids.VOLUME_UNIT, value=DEFAULT_VOLUME_UNIT,
                        options=[{"label": u, "value": u} for u in VOLUME_UNITS])),
                ],
                className="align-items-end",
            ),
            dcc.Loading(html.Div(id=ids.STATUS_DETAIL, className="mb-3"), type="dot"),
            dbc.Card(dbc.CardBody(dcc.Loading(_chart(ids.FLOW_PRESSURE, "Inlet flow and pressure of the chosen zone over time"))),
                     className="mb-3"),
            dbc.Row(
                [
                    dbc.Col(dbc.Card(dbc.CardBody([
                        html.H2("Minimum night flow", className="h6"),
                        dcc.Loading(_chart(ids.NIGHT_FLOW, "Minimum night flow of the chosen zone per night")),
                    ])), lg=5, className="mb-3"),
                    dbc.Col(dbc.Card(dbc.CardBody([
                        html.H2("Water balance per day: inflow minus customer meters", className="h6"),
                        dcc.Loading([html.Div(id=ids.BALANCE_SUMMARY, className="small mb-1"),
                                     _chart(ids.BALANCE, "Daily water balance of the chosen zone: customer meters and unaccounted-for water")]),
                    ])), lg=7, className="mb-3"),
                ]
            ),
        ]
    )
