"""Overview: what the city's data looks like right now. Live ingest counts refresh every 3 s."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from callbacks import overview_ids as ids

dash.register_page(__name__, path="/", name="Overview", title="Waterline · Overview")


def _kpi(label: str, value_id: str, text: bool = False) -> dbc.Col:
    return dbc.Col(
        dbc.Card(dbc.CardBody([html.Div(label, className="kpi-label"),
                               html.Div("–", id=value_id, className="kpi-text" if text else "kpi-value")]),
                 className="h-100"),
        xs=6, md=4, xl=2, className="mb-3",
    )


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            html.H1("Overview", className="h3"),
            dbc.Row(
                [
                    _kpi("Meters", ids.METERS),
                    _kpi("Readings stored", ids.READINGS),
                    _kpi("Readings / s", ids.RATE),
                    _kpi("Quarantined", ids.QUARANTINED),
                    _kpi("Last reading", ids.FRESHNESS, text=True),
                    _kpi("Broker", ids.BROKER, text=True),
                ]
            ),
            html.H2("Recently quarantined", className="h5 mt-2"),
            html.Div(id=ids.QUARANTINE_TABLE),
            dcc.Interval(id=ids.TICK, interval=3000),
        ]
    )
