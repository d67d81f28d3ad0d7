"""Explore: historical drill-down (year → month → day → hour) by clicking the chart, with filters,
a comparison period, the peak-usage heatmap and the top consumers. The URL holds the whole view."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from callbacks import explore_ids as ids
from dashapp.display import DEFAULT_VOLUME_UNIT, VOLUME_UNITS

dash.register_page(__name__, path="/explore", name="Explore", title="Waterline · Explore")

COMPARE_OPTIONS = [{"label": "No comparison", "value": "none"},
                   {"label": "Previous period", "value": "previous"},
                   {"label": "Same period last year", "value": "last-year"}]


def _chart(graph_id: str, description: str) -> html.Div:
    return html.Div(dcc.Graph(id=graph_id, config={"displaylogo": False}), role="figure",
                    **{"aria-label": description})


def _control(label: str, control_id: str, control, lg: int = 2) -> dbc.Col:
    return dbc.Col([html.Label(label, htmlFor=control_id, className="form-label small mb-1"), control],
                   xs=12, sm=6, lg=lg, className="mb-2")


def layout(level: str | None = None, period: str | None = None, zone: str | None = None,
           category: str | None = None, meter: str | None = None, unit: str | None = None,
           tz: str | None = None, compare: str | None = None, **_query: str) -> html.Div:
    initial = {"level": level, "key": period, "zone": zone, "category": category, "meter": meter, "tz": tz}
    unit = unit if unit in VOLUME_UNITS else DEFAULT_VOLUME_UNIT
    compare = compare if compare in {o["value"] for o in COMPARE_OPTIONS} else "none"
    return html.Div(
        [
            html.H1("Explore", className="h3"),
            dcc.Store(id=ids.INITIAL, data=initial),
            dcc.Store(id=ids.STATE),
            dcc.Store(id=ids.URL_SEARCH),
            dbc.Row(
                [
                    _control("Zone", ids.ZONE, dcc.Dropdown(id=ids.ZONE, placeholder="All zones")),
                    _control("Customer category", ids.CATEGORY, dcc.Dropdown(id=ids.CATEGORY,
                                                                             placeholder="All categories")),
                    _control("Meter", ids.METER, dcc.Dropdown(id=ids.METER, placeholder="All meters"), lg=3),
                    _control("Unit", ids.UNIT, dbc.Select(id=ids.UNIT, value=unit,
                                                          options=[{"label": u, "value": u} for u in VOLUME_UNITS]),
                             lg=1),
                    _control("Time zone", ids.TZ, dcc.Dropdown(id=ids.TZ, clearable=False)),
                    _control("Compare with", ids.COMPARE, dbc.Select(id=ids.COMPARE, value=compare,
                                                                     options=COMPARE_OPTIONS)),
                ],
                className="align-items-end",
            ),
            html.Div(id=ids.NOTICE),
            html.Div(
                [
                    dbc.Button("↑ Up one level", id=ids.UP, size="sm", color="secondary", outline=True,
                               className="me-2", n_clicks=0),
                    dbc.Button("All years", id=ids.TOP_LEVEL, size="sm", color="secondary", outline=True,
                               className="me-3", n_clicks=0),
                    html.Nav(id=ids.BREADCRUMB, className="d-inline small", **{"aria-label": "drill-down path"}),
                ],
                className="mb-2 d-flex align-items-center flex-wrap",
            ),
            dbc.Card(dbc.CardBody([
                dcc.Loading([html.Div(id=ids.SUMMARY, className="small mb-1"),
                             _chart(ids.CONSUMPTION, "Consumption of the chosen period; click a bar to drill down")], type="default"),
                html.Div("Click a bar to drill down: year → month → day → hour.", className="small text-muted"),
            ]), className="mb-3"),
            dbc.Row(
                [
                    dbc.Col(dbc.Card(dbc.CardBody(dcc.Loading(_chart(ids.HEATMAP, "Peak usage: mean consumption per hour of the week")))),
                            lg=7, className="mb-3"),
                    dbc.Col(dbc.Card(dbc.CardBody([html.H2("Top consumers", className="h6"),
                                                   dcc.Loading(html.Div(id=ids.TOP))])), lg=5, className="mb-3"),
                ]
            ),
        ]
    )
