"""Alert rules callbacks: the rules as a table, a row into the form, what the form's rule would reach, save and remove.

Reads go through `data.queries.alert_rules`; saving and removing call
`alerts.rules` in one alert transaction and bump a counter that re-reads the
table. A refused rule is explained under the form and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, State, callback, ctx, html, no_update

from alerts.rules import ANY, Rule, checked_rule, delete_rule, describe, exceptions_to, save_rule
from alerts.writes import alert_transaction
from callbacks import alert_rules_ids as ids
from dashapp import runtime
from dashapp.display import zone_label
from data.queries.alert_rules import rule_choices, rule_table, rules_of

HEADERS = ["Zone", "Category", "Kind", "Concern", "Severity", "Opens from score", "Changed", ""]


def _words(value: str | None) -> str:
    return "any" if value in (None, ANY) else value.replace("_", " ")


def _changed(row: dict) -> str:
    if row["changed_at"] is None:
        return "Waterline default" if row["seeded"] else "changed before changes were recorded"
    return f"{row['changed_at']:%Y-%m-%d %H:%M} UTC" + (f" by {row['changed_by']}" if row["changed_by"] else "")


def _rules_table(table: pd.DataFrame) -> dbc.Table:
    rows = [html.Tr([
        html.Td(_words(r["zone_id"])), html.Td(_words(r["category"])), html.Td(_words(r["kind"])),
        html.Td(_words(r["concern"])), html.Td(r["severity"] or "detector's"), html.Td(f"{r['min_score']:.2f}"),
        html.Td(_changed(r), className="text-muted"),
        html.Td(dbc.Button("Edit", id={"type": ids.EDIT, "index": i}, size="sm", color="link", className="py-0")),
    ], id=f"rules-row-{i}") for i, r in enumerate(table.to_dict("records"))]
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in HEADERS])), html.Tbody(rows)], size="sm",
                     striped=True, hover=True, responsive=True, className="small")


@callback(
    Output(ids.TABLE, "children"),
    Output(ids.RULES, "data"),
    Output(ids.ZONE, "options"),
    Output(ids.CATEGORY, "options"),
    Input(ids.CHANGED, "data"),
)
def show_rules(_changed: int | None):
    cur = runtime.current().store.cursor()
    try:
        table = rule_table(cur)
        zones, categories = rule_choices(cur)
    finally:
        cur.close()
    any_option = {"label": "Any", "value": ANY}
    return (_rules_table(table), [list(rule.key) for rule in rules_of(table)],
            [any_option, *({"label": zone_label(name, zone_id), "value": zone_id} for zone_id, name in zones)],
            [any_option, *({"label": c.capitalize(), "value": c} for c in categories)])


@callback(
    Output(ids.ZONE, "value"),
    Output(ids.CATEGORY, "value"),
    Output(ids.KIND, "value"),
    Output(ids.CONCERN, "value"),
    Output(ids.SEVERITY, "value"),
    Output(ids.MIN_SCORE, "value"),
    Input({"type": ids.EDIT, "index": ALL}, "n_clicks"),
    State(ids.RULES, "data"),
    prevent_initial_call=True,
)
def edit_rule(clicks, keys):
    """Edit puts that rule into the form."""
    row = ctx.triggered_id["index"] if isinstance(ctx.triggered_id, dict) else None
    if row is None or not keys or row >= len(keys) or row >= len(clicks) or not clicks[row]:
        return (no_update,) * 6
    cur = runtime.current().store.cursor()
    try:
        table = rule_table(cur)
    finally:
        cur.close()
    rule = next((r for r in rules_of(table) if list(r.key) == keys[row]), None)
    if rule is None:
        return (no_update,) * 6
    return (*rule.key, rule.severity or "detector", f"{rule.min_score:g}")


@callback(
    Output(ids.REACH, "children"),
    Input(ids.ZONE, "value"),
    Input(ids.CATEGORY, "value"),
    Input(ids.KIND, "value"),
    Input(ids.CONCERN, "value"),
    Input(ids.RULES, "data"),
)
def show_reach(zone_id, category, kind, concern, keys):
    """Whether the form's rule replaces one of the listed rules, and which of them still win over it."""
    try:
        rule = checked_rule(zone_id, category, kind, concern)
    except ValueError as error:
        return html.Span(f"This rule cannot be saved: {error}.", className="text-danger")
    rules = [Rule(*key) for key in keys or []]  # only keys matter: matching and specificity
    known = any(r.key == rule.key for r in rules)
    lines = [f"{'Replaces the rule for' if known else 'A new rule for'} {describe(rule)}."]
    winners = exceptions_to(rules, rule)
    if winners:
        lines.append("These narrower rules still decide the events they match: "
                     + "; ".join(describe(r) for r in winners) + ".")
    return [html.Div(line) for line in lines]


@callback(
    Output(ids.CHANGED, "data"),
    Output(ids.MESSAGE, "children"),
    Input(ids.SAVE, "n_clicks"),
    Input(ids.REMOVE, "n_clicks"),
    State(ids.ZONE, "value"),
    State(ids.CATEGORY, "value"),
    State(ids.KIND, "value"),
    State(ids.CONCERN, "value"),
    State(ids.SEVERITY, "value"),
    State(ids.MIN_SCORE, "value"),
    State(ids.ACTOR, "value"),
    State(ids.CHANGED, "data"),
    prevent_initial_call=True,
)
def change_rule(_save, _remove, zone_id, category, kind, concern, severity, min_score, actor, changed):
    actor = (actor or "").strip() or "operator"
    severity = None if severity in (None, "detector") else severity
    try:
        with alert_transaction(runtime.current().store) as cur:
            if ctx.triggered_id == ids.REMOVE:
                rule = checked_rule(zone_id, category, kind, concern)
                if not delete_rule(cur, *rule.key):
                    return no_update, _message(f"There is no rule for {describe(rule)} to remove.", "info")
                done = f"Removed the rule for {describe(rule)}."
            else:
                rule = save_rule(cur, zone_id, category, kind, severity, min_score, concern, actor,
                                 datetime.now(UTC).replace(tzinfo=None))
                done = (f"Saved: {describe(rule)} → {rule.severity or 'the detector’s severity'}, "
                        f"alerts from score {rule.min_score:.2f}. It applies from the next detection scan.")
    except ValueError as error:
        verb = "Not removed" if ctx.triggered_id == ids.REMOVE else "Not saved"
        return no_update, _message(f"{verb}: {error}.", "warning")
    return (changed or 0) + 1, _message(done, "success")


def _message(text: str, color: str) -> dbc.Alert:
    return dbc.Alert(text, color=color, className="py-2 small", id="rules-message-text")
