"""Overview: the city right now. KPIs, zone status cards and a live inflow and pressure chart, every 3 s."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from callbacks import overview_ids as ids
from dashapp.display import FLOW_UNITS

dash.register_page(__name__, path="/", name="Overview", title="Waterline · Overview", order=0)


def _kpi(label: str, value_id: str) -> dbc.Col:
    return dbc.Col(
        dbc.Card(dbc.CardBody([html.Div(label, className="kpi-label"),
                               html.Div("–", id=value_id, className="kpi-value", **{"aria-live": "polite"})]),
                 className="h-100"),
        xs=6, md=4, xl=True, className="mb-3",
    )


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            html.Div([html.H1("Overview", className="h3 mb-0"),
                      html.Span(id=ids.AS_OF, className="text-body-secondary small")],
                     className="d-flex align-items-baseline gap-3 mb-3"),
            dbc.Row(
                [
                    _kpi("Current inflow", ids.INFLOW),
                    _kpi("Consumption today", ids.TODAY),
                    _kpi("Open alerts", ids.ALERTS),
                    _kpi("Last reading", ids.FRESHNESS),
                    _kpi("Ingest", ids.INGEST),
                ]
            ),
            html.H2("Zones", className="h5"),
            html.Div(id=ids.ZONE_CARDS, className="mb-2"),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.Div(
                            [html.H2("Live inflow and pressure", className="h5 mb-0"),
                             html.Div([html.Label("Flow unit", htmlFor=ids.FLOW_UNIT, className="me-2 small"),
                                       dbc.RadioItems(id=ids.FLOW_UNIT, options=list(FLOW_UNITS), value="L/s",
                                                      inline=True, className="small")],
                                      className="d-flex align-items-center")],
                            className="d-flex justify-content-between flex-wrap gap-2",
                        ),
                        dcc.Loading(dcc.Graph(id=ids.LIVE_CHART, config={"displaylogo": False},
                                              style={"height": "460px"}),
                                    delay_show=300, type="dot"),
                    ]
                )
            ),
            dcc.Store(id=ids.LIVE_STATE),
            dcc.Interval(id=ids.TICK, interval=3000),
        ]
    )
