"""Zones callbacks: fill the zone choice from the store, then draw the chosen zone's status and charts."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from dash import Input, Output, callback

from callbacks import zones_ids as ids
from dashapp import runtime
from dashapp.display import volume_factor, zone_label
from dashapp.figures.plain import message_figure
from dashapp.figures.zones import flow_pressure_figure, night_flow_figure, water_balance_figure
from dashapp.zone_cards import zone_status_cards, zone_status_detail
from data.queries.clock import data_now
from data.queries.night_flow import night_flow_minima
from data.queries.zone_status import StatusLimits, zone_statuses
from data.queries.zones import water_balance, zone_flow_pressure, zone_list

VALID_DAYS = {7, 30, 90, 365}
STEP_HOURS = {7: 1, 30: 1, 90: 3, 365: 6}  # chart resolution: at most ~1,500 points per series


@callback(
    Output(ids.ZONE, "options"),
    Output(ids.ZONE, "value"),
    Input(ids.ZONE_FROM_URL, "data"),
)
def zone_choices(zone_from_url: str | None):
    cur = runtime.current().store.cursor()
    try:
        zones = zone_list(cur)
    finally:
        cur.close()
    options = [{"label": zone_label(z.name, z.zone_id), "value": z.zone_id} for z in zones]
    known = {z.zone_id for z in zones}
    value = zone_from_url if zone_from_url in known else (zones[0].zone_id if zones else None)
    return options, value


def _balance_summary(balance: pd.DataFrame, unit: str, factor: float) -> str:
    inflow, customers = balance["inflow_l"].sum(), balance["customers_l"].sum()
    if not inflow:
        return ""
    lost = inflow - customers
    return (f"Over these {len(balance)} days: inflow {inflow * factor:,.1f} {unit}, customer meters "
            f"{customers * factor:,.1f} {unit}, unaccounted-for {lost * factor:,.1f} {unit} ({100 * lost / inflow:.1f} %).")


@callback(
    Output(ids.STATUS_CARDS, "children"),
    Output(ids.STATUS_DETAIL, "children"),
    Input(ids.ZONE, "value"),
)
def render_status(zone_id: str | None):
    """Every zone's status as cards, and the reasons behind the chosen zone's."""
    rt = runtime.current()
    cur = rt.store.cursor()
    try:
        statuses = zone_statuses(cur, data_now(cur), limits=StatusLimits.from_settings(rt.settings))
    finally:
        cur.close()
    status = next((s for s in statuses if s.zone_id == zone_id), None)
    if zone_id is None:
        return zone_status_cards(statuses), ""
    return zone_status_cards(statuses, selected=zone_id), zone_status_detail(status)


def _zone_window(cur, zone_id: str | None, days: str | int | None):
    """The chosen zone (or a message why there is none), the period in days and the data's 'now'."""
    days = int(days) if str(days).isdigit() and int(days) in VALID_DAYS else 30
    zones = {z.zone_id: z for z in zone_list(cur)}
    zone = zones.get(zone_id)
    if zone is None:
        return None, ("No zones in the store yet." if not zones else f"Zone {zone_id!r} is not in the store."), days, None
    return zone, zone_label(zone.name, zone.zone_id), days, data_now(cur)


@callback(
    Output(ids.FLOW_PRESSURE, "figure"),
    Input(ids.ZONE, "value"),
    Input(ids.DAYS, "value"),
    Input(ids.FLOW_UNIT, "value"),
)
def render_flow_pressure(zone_id: str | None, days: str | int | None, flow_unit: str):
    """The zone's inlet flow and pressures over the last ``days`` days of data (downsampled for long periods)."""
    rt = runtime.current()
    limits = StatusLimits.from_settings(rt.settings)
    cur = rt.store.cursor()
    try:
        zone, label, days, now = _zone_window(cur, zone_id, days)
        if zone is None:
            return message_figure(label)
        frame = zone_flow_pressure(cur, zone.zone_id, now - timedelta(days=days), now, step_hours=STEP_HOURS[days])
    finally:
        cur.close()
    return flow_pressure_figure(frame, flow_unit, zone.tz, (limits.pressure_min_bar, limits.pressure_max_bar),
                                label, STEP_HOURS[days])


@callback(
    Output(ids.NIGHT_FLOW, "figure"),
    Input(ids.ZONE, "value"),
    Input(ids.DAYS, "value"),
    Input(ids.FLOW_UNIT, "value"),
)
def render_night_flow(zone_id: str | None, days: str | int | None, flow_unit: str):
    """Minimum night flow of each complete night in the period."""
    cur = runtime.current().store.cursor()
    try:
        zone, label, days, now = _zone_window(cur, zone_id, days)
        if zone is None:
            return message_figure(label)
        nights = night_flow_minima(cur, now - timedelta(days=days), now, zone_id=zone.zone_id)
    finally:
        cur.close()
    return night_flow_figure(nights[nights["complete"]], flow_unit, label)


@callback(
    Output(ids.BALANCE, "figure"),
    Output(ids.BALANCE_SUMMARY, "children"),
    Input(ids.ZONE, "value"),
    Input(ids.DAYS, "value"),
    Input(ids.VOLUME_UNIT, "value"),
)
def render_balance(zone_id: str | None, days: str | int | None, volume_unit: str):
    """The zone's water balance per local day: inflow, customer meters, unaccounted-for volume and share."""
    factor = volume_factor(volume_unit)
    cur = runtime.current().store.cursor()
    try:
        zone, label, days, now = _zone_window(cur, zone_id, days)
        if zone is None:
            return message_figure(label), ""
        local_today = pd.Timestamp(now, tz="UTC").tz_convert(zone.tz).date()
        balance = water_balance(cur, zone.zone_id, local_today - timedelta(days=days), local_today - timedelta(days=1))
    finally:
        cur.close()
    if not zone.inlets:
        message = f"{label} has no inlet flow meter: its water balance needs one."
    elif not zone.customers:
        message = f"{label} has no customer meters: nothing to balance the inflow against."
    else:
        return water_balance_figure(balance, volume_unit, factor, label), _balance_summary(balance, volume_unit, factor)
    return water_balance_figure(balance, volume_unit, factor, label, message), ""
