"""Explore callbacks: resolve the view the URL asks for, drill on clicks, draw the view, write the URL.

The URL is written with `history.replaceState` from a client-side callback
rather than through a `dcc.Location`: Dash Pages re-renders the whole page
whenever its location's search changes, which would rebuild the page (and
query everything twice) on every click. The page's `layout(**query)` reads
the same query string back, so a copied URL opens the same view.
"""

from __future__ import annotations

from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import pandas as pd
from dash import (
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    html,
    no_update,
)
from dash.exceptions import PreventUpdate

from callbacks import explore_ids as ids
from dashapp import runtime
from dashapp.display import TIME_ZONES, volume_factor, zone_label
from dashapp.figures.explore import consumption_figure, heatmap_figure
from dashapp.figures.plain import message_figure
from data.queries.clock import data_now
from data.queries.explore import (
    ExploreFilter,
    consumption_by_child,
    explore_choices,
    period_total,
    time_zones_in_use,
    top_consumers,
    weekday_hour_profile,
)
from data.queries.periods import CHILD, COMPARISONS, Period, parse_period


def _notice(problems: list[str]) -> dbc.Alert | str:
    if not problems:
        return ""
    return dbc.Alert(["This link asked for something Waterline cannot show, so it shows the default instead: ",
                      html.Ul([html.Li(p) for p in problems], className="mb-0")],
                     color="warning", className="py-2 small", dismissable=True)


@callback(
    Output(ids.ZONE, "options"), Output(ids.ZONE, "value"),
    Output(ids.CATEGORY, "options"), Output(ids.CATEGORY, "value"),
    Output(ids.METER, "options"), Output(ids.METER, "value"),
    Output(ids.TZ, "options"), Output(ids.TZ, "value"),
    Output(ids.STATE, "data"),
    Output(ids.NOTICE, "children"),
    Input(ids.INITIAL, "data"),
)
def resolve_view(initial: dict | None):
    """Filter choices from the store, and the URL's view checked against them (defaults where it is wrong)."""
    initial = initial or {}
    cur = runtime.current().store.cursor()
    try:
        choices = explore_choices(cur)
        zones_tz = time_zones_in_use(cur)
        now = data_now(cur)
        has_data = bool(choices["meters"])
    finally:
        cur.close()
    problems = []
    zone_ids = {z for z, _ in choices["zones"]}
    meter_ids = {m for m, _, _ in choices["meters"]}

    def pick(name: str, allowed: set) -> str | None:
        value = initial.get(name)
        if value and value not in allowed:
            problems.append(f"{name} {value!r} is not in the store")
            return None
        return value or None

    zone, category, meter = pick("zone", zone_ids), pick("category", set(choices["categories"])), pick("meter", meter_ids)
    tz_options = list(dict.fromkeys(zones_tz + TIME_ZONES))
    tz = initial.get("tz") or (zones_tz[0] if zones_tz else "UTC")
    try:
        parse_period(None, None, tz)
    except ValueError as error:
        problems.append(str(error))
        tz = zones_tz[0] if zones_tz else "UTC"
    if tz not in tz_options:
        tz_options.append(tz)
    state = {"level": "year", "key": f"{pd.Timestamp(now, tz='UTC').tz_convert(tz):%Y}"} if has_data else \
        {"level": "all", "key": ""}
    if initial.get("level") or initial.get("key"):
        try:
            period = parse_period(initial.get("level"), initial.get("key"), tz)
            state = {"level": period.level, "key": period.key}
        except ValueError as error:
            problems.append(str(error))
    return (
        [{"label": zone_label(name, z), "value": z} for z, name in choices["zones"]], zone,
        [{"label": c.capitalize(), "value": c} for c in choices["categories"]], category,
        [{"label": f"{m} ({z or '–'}, {c})", "value": m} for m, z, c in choices["meters"]], meter,
        [{"label": t, "value": t} for t in tz_options], tz,
        state,
        _notice(problems),
    )


def next_state(state: dict, trigger: str | None, click: dict | None, tz: str) -> dict:
    """The drill-down state after a click on a bar, 'up one level' or 'all years'."""
    period = parse_period(state.get("level"), state.get("key"), tz)
    if trigger == ids.TOP_LEVEL:
        return {"level": "all", "key": ""}
    if trigger == ids.UP:
        parent = period.parent()
        return {"level": parent.level, "key": parent.key}
    if trigger == ids.CONSUMPTION and click and period.level in CHILD:
        point = (click.get("points") or [{}])[0]
        key = point.get("customdata")
        if point.get("curveNumber", 0) == 0 and isinstance(key, str):
            child = parse_period(CHILD[period.level], key, tz)
            return {"level": child.level, "key": child.key}
    return state


@callback(
    Output(ids.STATE, "data", allow_duplicate=True),
    Input(ids.CONSUMPTION, "clickData"),
    Input(ids.UP, "n_clicks"),
    Input(ids.TOP_LEVEL, "n_clicks"),
    State(ids.STATE, "data"),
    State(ids.TZ, "value"),
    prevent_initial_call=True,
)
def drill(click: dict | None, _up: int, _top: int, state: dict | None, tz: str | None):
    if not state or not tz:
        raise PreventUpdate
    try:
        new = next_state(state, ctx.triggered_id, click, tz)
    except ValueError:
        raise PreventUpdate from None
    return no_update if new == state else new


def _top_table(top: pd.DataFrame, unit: str, factor: float) -> dbc.Table | html.P:
    if top.empty:
        return html.P("No customer meter used water in this period.", className="text-muted")
    header = html.Thead(html.Tr([html.Th(h) for h in ("Meter", "Zone", "Category", f"Used ({unit})", "Share")]))
    body = html.Tbody([
        html.Tr([html.Td(r.meter_id), html.Td(r.zone_id or "–"), html.Td(r.category),
                 html.Td(f"{r.volume_l * factor:,.2f}", className="text-end"),
                 html.Td("–" if pd.isna(r.share_pct) else f"{r.share_pct:.1f} %", className="text-end")])
        for r in top.itertuples()
    ])
    return dbc.Table([header, body], size="sm", striped=True, responsive=True, className="mb-0")


def _breadcrumb(period: Period) -> list:
    parts = [html.Span(p.label, className="text-muted") for p in period.ancestors()]
    parts.append(html.Strong(period.label))
    out = []
    for i, part in enumerate(parts):
        out += ([html.Span(" › ", className="text-muted")] if i else []) + [part]
    return out


def _summary(totals: tuple[float, float], compare: pd.DataFrame | None, period: Period, other: Period | None,
             unit: str, factor: float) -> str:
    total, estimated = totals
    text = f"{period.label}: {total * factor:,.2f} {unit} used"
    if total > 0:
        text += f", {100 * estimated / total:.1f} % estimated over gaps"
    if compare is not None and other is not None:
        before = compare["volume_l"].sum()
        text += (f"; {other.label}: {before * factor:,.2f} {unit} ({100 * (total - before) / before:+.1f} %)"
                 if before > 0 else f"; nothing recorded in {other.label}")
    return text + "."


def view_search(state: dict, filt: ExploreFilter, unit: str, tz: str, compare: str) -> str:
    """The query string that reopens this view."""
    values = {"level": state["level"], "period": state["key"], "zone": filt.zone_id, "category": filt.category,
              "meter": filt.meter_id, "unit": unit, "tz": tz, "compare": compare}
    return "?" + urlencode({k: v for k, v in values.items() if v not in (None, "")})


def _view(state: dict | None, zone: str | None, category: str | None, meter: str | None, unit: str,
          tz: str | None) -> tuple[Period, ExploreFilter, float]:
    """The callbacks' inputs checked: the period, the filter and the unit's factor (ValueError when wrong)."""
    if not state or not tz:
        raise PreventUpdate
    factor = volume_factor(unit)
    period = parse_period(state.get("level"), state.get("key"), tz)
    return period, ExploreFilter(zone or None, category or None, meter or None), factor


#: What every view callback reads: the drill-down state and the filters, in this order.
VIEW_INPUTS = (
    Input(ids.STATE, "data"),
    Input(ids.ZONE, "value"),
    Input(ids.CATEGORY, "value"),
    Input(ids.METER, "value"),
    Input(ids.UNIT, "value"),
    Input(ids.TZ, "value"),
)


def _what(filt: ExploreFilter) -> str:
    return filt.meter_id or " · ".join(x for x in (filt.zone_id, filt.category) if x) or "all customers"


@callback(
    Output(ids.SUMMARY, "children"),
    Output(ids.CONSUMPTION, "figure"),
    Output(ids.BREADCRUMB, "children"),
    Output(ids.URL_SEARCH, "data"),
    *VIEW_INPUTS,
    Input(ids.COMPARE, "value"),
)
def render_explore(state: dict | None, zone: str | None, category: str | None, meter: str | None,
                   unit: str, tz: str | None, compare: str | None):
    """Consumption of the drilled-to period by its child buckets (by meter for an hour), and the URL."""
    compare = compare if compare in COMPARISONS else "none"
    try:
        period, filt, factor = _view(state, zone, category, meter, unit, tz)
    except ValueError as error:
        return str(error), message_figure(str(error)), "", no_update
    other = period.shifted(compare) if period.level != "hour" else None
    cur = runtime.current().store.cursor()
    try:
        if period.level == "hour":
            top = top_consumers(cur, period, filt, limit=20)
            series = top.assign(key=top["meter_id"], label=top["meter_id"])
            total = period_total(cur, period, filt)
        else:
            series = consumption_by_child(cur, period, filt)
            total = (series["volume_l"].sum(), series["estimated_l"].sum())
        before = consumption_by_child(cur, other, filt) if other is not None else None
    finally:
        cur.close()
    title = f"{period.label} · {_what(filt)}" + (" · by meter" if period.level == "hour" else "")
    return (
        _summary(total, before, period, other, unit, factor),
        consumption_figure(series, unit, factor, title, drillable=period.level in CHILD, compare=before,
                           compare_title=other.label if other is not None else None),
        _breadcrumb(period),
        view_search(state, filt, unit, tz, compare),
    )


@callback(
    Output(ids.HEATMAP, "figure"),
    *VIEW_INPUTS,
)
def render_heatmap(state: dict | None, zone: str | None, category: str | None, meter: str | None,
                   unit: str, tz: str | None):
    """Peak usage per hour of the week over the period (the enclosing month for a day or an hour)."""
    try:
        period, filt, factor = _view(state, zone, category, meter, unit, tz)
    except ValueError as error:
        return message_figure(str(error))
    if period.level in ("day", "hour"):
        period = next(p for p in period.ancestors() if p.level == "month")
    cur = runtime.current().store.cursor()
    try:
        profile = weekday_hour_profile(cur, period, filt)
    finally:
        cur.close()
    return heatmap_figure(profile, unit, factor, f"{period.label} · {_what(filt)}")


@callback(
    Output(ids.TOP, "children"),
    Input(ids.STATE, "data"),
    Input(ids.ZONE, "value"),
    Input(ids.CATEGORY, "value"),
    Input(ids.UNIT, "value"),
    Input(ids.TZ, "value"),
)
def render_top(state: dict | None, zone: str | None, category: str | None, unit: str, tz: str | None):
    """The customer meters that used most in the period, within the zone and category filter."""
    try:
        period, filt, factor = _view(state, zone, category, None, unit, tz)
    except ValueError as error:
        return html.P(str(error), className="text-muted")
    cur = runtime.current().store.cursor()
    try:
        top = top_consumers(cur, period, filt)
    finally:
        cur.close()
    return [html.Div(f"{period.label} · {_what(filt)}", className="small text-muted mb-1"),
            _top_table(top, unit, factor)]


clientside_callback(  # assets/explore.js: a function in assets survives a second app in one process
    ClientsideFunction(namespace="waterline_explore", function_name="writeSearch"),
    Output(ids.URL_SEARCH, "id"),
    Input(ids.URL_SEARCH, "data"),
)
