"""Zone status as page components: coloured cards for a strip of zones and the detail of one zone.

Shared by the Zones page and the Overview, so a zone looks the same wherever it appears.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.display import zone_label
from data.queries.zone_status import ZoneStatus

BADGE_COLOURS = {"Normal": "success", "Warning": "warning", "Critical": "danger"}


def status_badge(status: str) -> dbc.Badge:
    return dbc.Badge(status, color=BADGE_COLOURS.get(status, "secondary"), className="ms-2",
                     title=f"zone status: {status}")


def _reading(value: float | None, unit: str, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f} {unit}"


def zone_status_cards(statuses: list[ZoneStatus], selected: str | None = None,
                      link: bool = False) -> dbc.Row | html.P:
    """One small card per zone: name, status, the worst reason, inflow and lowest pressure.

    With ``link``, each zone's name leads to its Zones page.
    """
    if not statuses:
        return html.P("No zones in the store yet: import meters with zones or run the simulator.",
                      className="text-muted")
    cards = []
    for status in statuses:
        outline = "border-primary border-2" if status.zone_id == selected else ""
        cards.append(dbc.Col(dbc.Card(dbc.CardBody([
            html.Div([_title(status, link), status_badge(status.status)]),
            html.Div(status.reasons[0], className="small text-body-secondary mt-1"),
            html.Div(f"inflow {_reading(status.inflow_l_s, 'L/s')} · pressure "
                     f"{_reading(status.pressure_bar, 'bar', 1)}", className="small mt-1"),
        ]), className=f"h-100 zone-card zone-{status.status.lower()} {outline}"), xs=12, md=6, xl=3, className="mb-2"))
    return dbc.Row(cards)


def _title(status: ZoneStatus, link: bool) -> html.Strong | dcc.Link:
    title = html.Strong(zone_label(status.name, status.zone_id))
    return dcc.Link(title, href=f"/zones?zone={status.zone_id}", className="stretched-link") if link else title


def zone_status_detail(status: ZoneStatus | None) -> dbc.Alert | html.P:
    """Every reason behind one zone's status, worst first."""
    if status is None:
        return html.P("This zone has no status: it is not in the store.", className="text-muted")
    colour = {"Normal": "success", "Warning": "warning", "Critical": "danger"}[status.status]
    return dbc.Alert([
        html.Div([html.Strong(f"{status.name}: {status.status}")]),
        html.Ul([html.Li(reason) for reason in status.reasons], className="mb-0 small"),
    ], color=colour, className="py-2")
