"""Forecast: demand forecasts for a zone, a meter or the city, their backtest scores and what-if scenarios.

Layout only; the work is in callbacks/forecast.py and forecasting/.
"""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from callbacks import forecast_ids as ids
from dashapp.figures.plain import message_figure

dash.register_page(__name__, path="/forecast", name="Forecast", title="Waterline · Forecast")

RAIN_CHOICES = [{"label": "as forecast", "value": "none"}, {"label": "dry spell (0 mm/day)", "value": "0"},
                {"label": "wet spell (10 mm/day)", "value": "10"}, {"label": "very wet (30 mm/day)", "value": "30"}]
CATEGORIES = ["residential", "commercial", "industrial", "municipal"]


def _field(label: str, control) -> dbc.Col:
    return dbc.Col([dbc.Label(label, className="small mb-1"), control], md=4, lg=2, className="mb-2")


def _number(id_: str, value: float, step: float, min_: float | None = None, max_: float | None = None):
    return dbc.Input(id=id_, type="number", value=value, step=step, min=min_, max=max_, size="sm", debounce=True)


def _controls() -> dbc.Row:
    return dbc.Row([
        _field("Forecast", dbc.RadioItems(id=ids.KIND, value="city", inline=True, options=[
            {"label": "City", "value": "city"}, {"label": "Zone", "value": "zone"},
            {"label": "Meter", "value": "meter"}])),
        _field("Zone or meter", dcc.Dropdown(id=ids.SERIES, clearable=False, placeholder="the whole city")),
        _field("Step", dbc.RadioItems(id=ids.FREQ, value="h", inline=True, options=[
            {"label": "hourly", "value": "h"}, {"label": "daily", "value": "D"}])),
        _field("Horizon (periods)", _number(ids.HORIZON, 168, 1, 1, 2160)),
        dbc.Col(dbc.Button("Forecast", id=ids.RUN, color="primary", size="sm", className="mt-4"), md=2),
    ], className="align-items-end")


def _scenario_controls() -> dbc.Row:
    return dbc.Row([
        _field("Temperature shift (°C)", _number(ids.TEMPERATURE, 0, 0.5, -15, 15)),
        _field("Rain", dcc.Dropdown(id=ids.RAIN, options=RAIN_CHOICES, value="none", clearable=False)),
        _field("Growth (%)", _number(ids.GROWTH, 0, 1, -90, 300)),
        _field("Restriction: category", dcc.Dropdown(id=ids.RESTRICT_CATEGORY, options=CATEGORIES,
                                                     value="residential", clearable=False)),
        _field("Restriction (% less)", _number(ids.RESTRICT_PCT, 0, 1, 0, 100)),
        _field("Leak repaired (L/s)", _number(ids.LEAK, 0, 0.1, 0, 10000)),
        _field("New customers: category", dcc.Dropdown(id=ids.NEW_CATEGORY, options=CATEGORIES,
                                                       value="residential", clearable=False)),
        _field("New customers", _number(ids.NEW_COUNT, 0, 1, 0, 100000)),
        _field("Scenario name", dbc.Input(id=ids.NAME, placeholder="e.g. hot week", size="sm", maxLength=60)),
        dbc.Col(dbc.Button("Save scenario", id=ids.SAVE, color="secondary", size="sm", className="mt-4"), md=2),
    ], className="align-items-end")


def layout(**_query: str) -> html.Div:
    return html.Div([
        html.H1("Forecast", className="h3"),
        _controls(),
        html.Div(id=ids.STATUS, className="small text-muted mb-1"),
        dbc.Progress(id=ids.PROGRESS, value=0, style={"height": "4px"}, className="mb-2"),
        dbc.Row([
            dbc.Col(dcc.Loading(dcc.Graph(id=ids.GRAPH, config={"displaylogo": False},
                                              figure=message_figure("Choose a series and press Forecast."))), lg=8),
            dbc.Col([html.H2("Backtest", className="h6"), html.Div(id=ids.SCORES)], lg=4),
        ]),
        html.H2("What if", className="h5 mt-3"),
        _scenario_controls(),
        dbc.Row([
            dbc.Col(dcc.Graph(id=ids.SCENARIO_GRAPH, config={"displaylogo": False},
                              figure=message_figure("A scenario is compared with the forecast once one is made.")), lg=8),
            dbc.Col([html.Div(id=ids.DIFFERENCE), html.Div(id=ids.SAVED_NOTE, className="small mt-2")], lg=4),
        ]),
        html.H2("Saved scenarios", className="h6 mt-2"),
        html.Div(id=ids.SAVED_TABLE),
        dcc.Store(id=ids.JOB),
        dcc.Interval(id=ids.POLL, interval=500, disabled=True),
        dcc.Interval(id=ids.REFRESH, interval=60_000),
    ])
