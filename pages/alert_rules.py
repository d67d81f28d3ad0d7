"""Alert rules: who decides how loud an event is — its severity on the Overview and the score that opens an alert."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from callbacks import alert_rules_ids as ids
from detection.events import CONCERNS, KINDS

dash.register_page(__name__, path="/alerts/rules", name="Alert rules", title="Waterline · Alert rules")

ANY_OPTION = {"label": "Any", "value": "*"}
KIND_OPTIONS = [ANY_OPTION, *({"label": k.replace("_", " ").capitalize(), "value": k} for k in KINDS)]
CONCERN_OPTIONS = [ANY_OPTION, *({"label": c.replace("_", " ").capitalize(), "value": c} for c in CONCERNS)]
SEVERITY_OPTIONS = [{"label": "Keep the detector's", "value": "detector"},
                    *({"label": s.capitalize(), "value": s} for s in ("info", "warning", "critical"))]

HOW_RULES_WORK = (
    "Each detected event takes the most specific rule that matches it: an exact kind counts most, then the concern, "
    "then the meter category (zone-level events have the category 'zone'), then the zone. The rule sets the "
    "event's severity, which drives the zone status on the Overview, and the lowest score that opens an alert. "
    "A change applies from the next detection scan; an open alert keeps its severity until its event updates it, "
    "and a severity is never lowered while the alert is open.")


def _field(label: str, component, width: int = 6) -> dbc.Col:
    return dbc.Col([dbc.Label(label, className="small mb-1", html_for=component.id), component], md=width,
                   className="mb-2")


def _form() -> dbc.Card:
    return dbc.Card(dbc.CardBody([
        html.H2("Add or change a rule", className="h5"),
        dbc.Row([
            _field("Zone", dcc.Dropdown(id=ids.ZONE, value="*", clearable=False)),
            _field("Meter category", dcc.Dropdown(id=ids.CATEGORY, value="*", clearable=False)),
            _field("Kind", dcc.Dropdown(id=ids.KIND, options=KIND_OPTIONS, value="*", clearable=False)),
            _field("Concern", dcc.Dropdown(id=ids.CONCERN, options=CONCERN_OPTIONS, value="*", clearable=False)),
            _field("Severity", dcc.Dropdown(id=ids.SEVERITY, options=SEVERITY_OPTIONS, value="warning",
                                            clearable=False)),
            _field("Lowest score that opens an alert (0-1)", dbc.Input(id=ids.MIN_SCORE, value="0.5", type="text",
                                                                       inputMode="decimal", size="sm")),
        ], className="g-2"),
        html.Div(id=ids.REACH, className="small text-muted mb-2"),
        dbc.Row([
            dbc.Col(dbc.Input(id=ids.ACTOR, placeholder="Your name", value="operator", persistence=True,
                              persistence_type="local", size="sm"), md=4),
            dbc.Col([dbc.Button("Save rule", id=ids.SAVE, color="primary", size="sm", className="me-2"),
                     dbc.Button("Remove rule", id=ids.REMOVE, color="outline-danger", size="sm")], md="auto"),
        ], className="g-2 align-items-center"),
        html.Div(id=ids.MESSAGE, className="mt-2"),
    ]))


def layout(**_query: str) -> html.Div:
    return html.Div([
        html.Div([html.H1("Alert rules", className="h3 d-inline me-3"),
                  dcc.Link("Back to Leaks & alerts", href="/alerts", className="small")]),
        html.P(HOW_RULES_WORK, className="text-muted small", style={"maxWidth": "60rem"}),
        dbc.Row([
            dbc.Col([html.H2("Rules", className="h5"), html.Div(id=ids.TABLE)], xl=7),
            dbc.Col(_form(), xl=5),
        ]),
        dcc.Store(id=ids.RULES),
        dcc.Store(id=ids.CHANGED, data=0),
    ])
