"""Leaks & alerts callbacks: filters → alerts, zone schematic and timeline; one alert's story; the buttons.

Reads go through `data.queries.alerts`, figures through `dashapp.figures.alerts`;
the buttons call the alert lifecycle in one alert transaction and bump a
counter that makes the list and the detail re-read the store.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from alerts.lifecycle import AlertStateError, acknowledge, mark_not_a_leak, resolve
from alerts.rules import Rule, describe
from alerts.writes import alert_transaction
from callbacks import alerts_ids as ids
from dashapp import runtime
from dashapp.display import zone_label
from dashapp.figures.alerts import alert_chart, alert_timeline, zone_schematic
from dashapp.figures.theme import empty_figure
from data.queries.alert_rules import rule_deciding
from data.queries.alerts import (
    alert_concerns,
    alert_detail,
    alert_kinds,
    alert_series,
    list_alerts,
    with_zone_rules,
    zone_choices,
    zone_status,
)
from data.queries.clock import data_now
from data.queries.scope import Scope
from data.queries.zone_status import StatusLimits, zone_statuses

SEVERITY_BADGE = {"critical": "danger", "warning": "warning", "info": "info"}
STATE_BADGE = {"open": "danger", "acknowledged": "primary", "resolved": "success", "not_a_leak": "secondary"}
NO_ALERT = "Choose an alert from the list or the timeline to see its explanation and chart."


def _scope() -> Scope:
    """The caller's scope: everything until roles arrive."""
    return None


def _words(value: str | None) -> str:
    return (value or "").replace("_", " ")


def _badges(alert: dict) -> list:
    concern = alert.get("concern")
    return [dbc.Badge(alert["severity"], color=SEVERITY_BADGE.get(alert["severity"], "secondary"), className="me-1"),
            dbc.Badge(_words(alert["state"]), color=STATE_BADGE.get(alert["state"], "secondary"), className="me-1"),
            dbc.Badge(_words(concern), color="light", text_color="dark", className="me-1 border") if concern else None]


def _list_item(alert: dict) -> dbc.ListGroupItem:
    suppressed = alert.get("suppressed_reason")
    return dbc.ListGroupItem([
        html.Div([*_badges(alert), html.Strong(f"{alert['meter_id']} · {_words(alert['kind'])}"),
                  dbc.Button("Show", id={"type": ids.SHOW, "index": alert["alert_id"]}, size="sm",
                             color="link", className="float-end py-0")]),
        html.Div(alert["explanation"] or "", className="small"),
        html.Div(f"since {alert['event_start']:%Y-%m-%d %H:%M} UTC · score {alert['score']:.2f}",
                 className="small text-muted"),
        html.Div(suppressed, className="small text-warning") if suppressed else None,
    ], id=f"alerts-item-{alert['alert_id']}")


def _alert_list(alerts: pd.DataFrame, any_alerts: bool) -> html.Div | dbc.ListGroup:
    if alerts.empty:
        text = ("No alerts match these filters. Clear a filter, or include resolved and not-a-leak alerts."
                if any_alerts else "No alerts yet: the detectors have raised nothing for this store.")
        return html.P(text, className="text-muted", id="alerts-empty")
    return dbc.ListGroup([_list_item(a) for a in alerts.to_dict("records")], flush=True,
                         style={"maxHeight": "32rem", "overflowY": "auto"})


def _summary(alerts: pd.DataFrame) -> str:
    if alerts.empty:
        return ""
    counts = alerts["severity"].value_counts()
    lost = alerts["lost_volume_l"].fillna(0).sum()
    parts = [f"{counts.get(s, 0)} {s}" for s in ("critical", "warning", "info") if counts.get(s, 0)]
    return f"{len(alerts)} alerts shown ({', '.join(parts)}); estimated loss {lost / 1000:,.1f} m³."


@callback(
    Output(ids.ZONE_FILTER, "options"),
    Output(ids.CONCERN_FILTER, "options"),
    Output(ids.KIND_FILTER, "options"),
    Input(ids.TICK, "n_intervals"),
    Input(ids.CHANGED, "data"),
)
def fill_filters(_tick: int | None, _changed: int | None):
    cur = runtime.current().store.cursor()
    try:
        zones = zone_choices(cur, _scope())
        concerns = alert_concerns(cur, _scope())
        kinds = alert_kinds(cur, _scope())
    finally:
        cur.close()
    return ([{"label": zone_label(name, zone_id), "value": zone_id} for zone_id, name in zones],
            [{"label": _words(c).capitalize(), "value": c} for c in concerns],
            [{"label": _words(k).capitalize(), "value": k} for k in kinds])


@callback(
    Output(ids.TIMELINE, "figure"),
    Output(ids.LIST, "children"),
    Output(ids.SUMMARY, "children"),
    Output(ids.SHOWN, "data"),
    Input(ids.ZONE_FILTER, "value"),
    Input(ids.CONCERN_FILTER, "value"),
    Input(ids.KIND_FILTER, "value"),
    Input(ids.SEVERITY_FILTER, "value"),
    Input(ids.STATE_FILTER, "value"),
    Input(ids.TICK, "n_intervals"),
    Input(ids.CHANGED, "data"),
)
def refresh_alerts(zones, concerns, kinds, severities, states, _tick, _changed):
    cur = runtime.current().store.cursor()
    try:
        alerts = list_alerts(cur, _scope(), zones, kinds, severities, states, concerns=concerns)
        any_alerts = not alerts.empty or not list_alerts(cur, _scope(), limit=1).empty
    finally:
        cur.close()
    return alert_timeline(alerts), _alert_list(alerts, any_alerts), _summary(alerts), list(alerts["alert_id"])


@callback(
    Output(ids.SCHEMATIC, "figure"),
    Output(ids.ZONE_REASONS, "children"),
    Input(ids.TICK, "n_intervals"),
    Input(ids.CHANGED, "data"),
)
def refresh_zones(_tick, _changed):
    """The zones as the Overview judges them (the filters do not change a zone's status)."""
    rt = runtime.current()
    cur = rt.store.cursor()
    try:
        judged = zone_statuses(cur, data_now(cur, _scope()), _scope(), StatusLimits.from_settings(rt.settings))
        statuses = with_zone_rules(zone_status(cur, _scope()), judged)
    finally:
        cur.close()
    return zone_schematic(statuses), _zone_reasons(statuses)


def _zone_reasons(statuses: list) -> list:
    """One line per zone whose status its alerts do not explain (the Overview's zone rules set it)."""
    return [html.P([html.Strong(f"{zone_label(z.name, z.zone_id)} · {z.status.capitalize()}"),
                    f" by the zone rules, not an alert: {z.reason}"], className="mb-1") for z in statuses if z.reason]


@callback(
    Output(ids.ZONE_FILTER, "value"),
    Input(ids.SCHEMATIC, "clickData"),
    State(ids.ZONE_FILTER, "value"),
    prevent_initial_call=True,
)
def filter_by_clicked_zone(click, zones):
    """Clicking a zone box narrows the list to that zone; clicking it again widens it back."""
    if not click or not click.get("points"):
        return no_update
    zone_id = click["points"][0].get("customdata")
    if not zone_id:
        return no_update
    return [] if zones == [zone_id] else [zone_id]


@callback(
    Output(ids.SELECTED, "data"),
    Input({"type": ids.SHOW, "index": ALL}, "n_clicks"),
    Input(ids.TIMELINE, "clickData"),
    Input(ids.SHOWN, "data"),
    State(ids.SELECTED, "data"),
)
def select_alert(_clicks, timeline_click, shown, selected):
    """A click on Show or on a timeline bar selects; a new list keeps the selection or takes its first alert."""
    fired = {t["prop_id"]: t["value"] for t in ctx.triggered}
    for prop_id, component in ctx.triggered_prop_ids.items():
        if isinstance(component, dict) and fired.get(prop_id):
            return component["index"]
    if f"{ids.TIMELINE}.clickData" in fired and timeline_click:
        return timeline_click["points"][0]["customdata"][0]
    if f"{ids.SHOWN}.data" in fired and shown is not None:
        if selected in shown:
            return no_update
        return shown[0] if shown else None
    return no_update


def _fact(label: str, value) -> html.Tr:
    return html.Tr([html.Th(label, className="fw-normal text-muted small"), html.Td(value, className="small")])


def _detail(alert: dict, rule: Rule) -> html.Div:
    lost = alert["lost_volume_l"]
    facts = [
        _fact("Meter", alert["meter_id"]), _fact("Zone", alert["zone_id"] or "–"),
        _fact("Concern", _words(alert["concern"]).capitalize() or "–"),
        _fact("Detector", alert["detector"] or "–"),
        _fact("Event", f"{alert['event_start']:%Y-%m-%d %H:%M} → {alert['last_event_end']:%Y-%m-%d %H:%M} UTC"),
        _fact("Score", f"{alert['score']:.2f}"),
        _fact("Estimated loss", "–" if lost is None else f"{lost:,.0f} L"
              + ("" if alert["cost"] is None else f" (cost {alert['cost']:,.2f})")),
        _fact("Escalation level", str(alert["escalation_level"])),
        _fact("Rule now", [f"{describe(rule)}: {rule.severity or 'the detector’s severity'}, alerts from score "
                           f"{rule.min_score:.2f} ", dcc.Link("change", href="/alerts/rules")]),
    ]
    if alert["acknowledged_by"]:
        facts.append(_fact("Acknowledged by", alert["acknowledged_by"]))
    if alert["note"]:
        facts.append(_fact("Note", alert["note"]))
    history = html.Ul([
        html.Li(f"{h['changed_at']:%Y-%m-%d %H:%M} · {h['actor']} · {_words(h['action'])}"
                + (f": {h['note']}" if h["note"] else ""), className="small")
        for h in alert["history"]
    ], className="mb-0")
    return html.Div([
        html.Div([*_badges(alert), html.Strong(f"{alert['meter_id']} · {_words(alert['kind'])}")],
                 className="mb-1"),
        html.P(alert["explanation"] or "The detector gave no explanation.", id="alerts-explanation"),
        dbc.Alert(["Why this alert did not open: ", alert["suppressed_reason"]], color="warning",
                  className="py-2 small", id="alerts-suppressed-reason") if alert["suppressed_reason"] else None,
        dbc.Table(html.Tbody(facts), size="sm", borderless=True, className="mb-1"),
        html.Details([html.Summary("History", className="small"), history]),
    ], id="alerts-detail-body", **{"data-state": alert["state"]})


@callback(
    Output(ids.DETAIL, "children"),
    Output(ids.CHART, "figure"),
    Output(ids.ACKNOWLEDGE, "disabled"),
    Output(ids.RESOLVE, "disabled"),
    Output(ids.NOT_A_LEAK, "disabled"),
    Input(ids.SELECTED, "data"),
    Input(ids.CHANGED, "data"),
)
def show_alert(alert_id: str | None, _changed: int | None):
    cur = runtime.current().store.cursor()
    try:
        alert = alert_detail(cur, alert_id, _scope())
        series = alert and alert_series(cur, alert["meter_id"], alert["zone_id"], alert["event_start"],
                                        alert["last_event_end"])
        rule = alert and rule_deciding(cur, alert)
    finally:
        cur.close()
    if alert is None:
        message = NO_ALERT if not alert_id else f"Alert {alert_id} is not in this store (or not in your scope)."
        return html.P(message, className="text-muted"), empty_figure("No alert selected.", 300), True, True, True
    state = alert["state"]
    figure = alert_chart(series, alert["event_start"], alert["last_event_end"], alert["severity"])
    return (_detail(alert, rule), figure, state != "open", state not in ("open", "acknowledged"),
            state == "not_a_leak")


@callback(
    Output(ids.CHANGED, "data"),
    Output(ids.ACTION_MESSAGE, "children"),
    Output(ids.NOTE, "value"),
    Input(ids.ACKNOWLEDGE, "n_clicks"),
    Input(ids.RESOLVE, "n_clicks"),
    Input(ids.NOT_A_LEAK, "n_clicks"),
    State(ids.SELECTED, "data"),
    State(ids.NOTE, "value"),
    State(ids.ACTOR, "value"),
    State(ids.FEEDBACK_EFFECT, "value"),
    State(ids.CHANGED, "data"),
    prevent_initial_call=True,
)
def act_on_alert(_ack, _resolve, _not_a_leak, alert_id, note, actor, effect, changed):
    if not alert_id:
        return no_update, dbc.Alert("Choose an alert first.", color="info", className="py-2 small"), no_update
    actor = (actor or "").strip() or "operator"
    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        with alert_transaction(runtime.current().store) as cur:
            if ctx.triggered_id == ids.ACKNOWLEDGE:
                acknowledge(cur, alert_id, actor, now, note)
                done = "acknowledged"
            elif ctx.triggered_id == ids.RESOLVE:
                resolve(cur, alert_id, actor, now, note)
                done = "resolved"
            else:
                mark_not_a_leak(cur, alert_id, actor, now, note, effect=effect or "suppress")
                done = "marked not a leak" + (": this pattern on this meter is now suppressed"
                                              if effect != "raise_threshold" else ": its score threshold is raised")
    except AlertStateError as error:
        return no_update, dbc.Alert(str(error), color="warning", className="py-2 small"), no_update
    return (changed or 0) + 1, dbc.Alert(f"Alert {alert_id} {done}.", color="success", className="py-2 small"), ""
