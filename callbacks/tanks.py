"""Tanks & pumps callbacks: the tank list, one tank's level and prediction, and every pump's run hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, callback, dcc, html

from callbacks import tanks_ids as ids
from dashapp import runtime
from dashapp.figures.tanks import run_hours_figure, tank_level_figure
from dashapp.figures.theme import empty_figure
from data.queries.tanks import latest_level, level_hourly, newest_hour, pump_run_hours, pumps, tank_hourly, tanks
from forecasting.tank_level import (
    TankLevelModel,
    TankModelError,
    backtest,
    fit_tank_model,
    roll_forward,
    threshold_crossings,
)

SCOPE = None  # every tank until users are scoped
TRAINING_DAYS = 28
HOLDOUT_DAYS = 2


def _now(cur, meter_ids: list[str]) -> datetime:
    """Views end at the newest hour these sensors reported, or at the wall clock if that is earlier."""
    wall = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0) + timedelta(hours=1)
    newest = newest_hour(cur, meter_ids)
    return wall if newest is None else min(wall, newest)


@callback(Output(ids.TANK, "options"), Output(ids.TANK, "value"), Input(ids.LOADED, "data"))
def list_tanks(_loaded: bool):
    cur = runtime.current().store.cursor()
    try:
        found = tanks(cur, SCOPE)
    finally:
        cur.close()
    options = [{"label": f"{t.meter_id} · zone {t.zone_id or '–'}", "value": t.meter_id} for t in found]
    return options, (options[0]["value"] if options else None)


def _card(label: str, value: str, note: str = "") -> dbc.Col:
    body = [html.Div(label, className="kpi-label"), html.Div(value, className="kpi-text")]
    if note:
        body.append(html.Div(note, className="kpi-note"))
    return dbc.Col(dbc.Card(dbc.CardBody(body), className="h-100"), xs=6, md=3, className="mb-2")


def _when(hours: float | None, horizon: int) -> str:
    if hours is None:
        return f"not within {horizon} h"
    return f"in {hours:.0f} h" if hours < 48 else f"in {hours / 24:.1f} days"


def _thresholds(tank_low: float | None, tank_high: float | None) -> tuple[float | None, float | None]:
    settings = runtime.current().settings
    return (tank_low if tank_low is not None else settings.tank_low_level_m,
            tank_high if tank_high is not None else settings.tank_high_level_m)


def _model_text(model: TankLevelModel) -> str:
    names = {"outflow_l_s": "zone outflow", "pump_on": "pump running share", "level_m": "level"}
    text = (f"Linear regression of the hourly level change on {', '.join(names[f] for f in model.features)} "
            f"and the hour of day, fitted on {model.trained_hours} hours. Future outflow: the last week's "
            f"typical hour of day")
    if model.pump_switching:
        start_m, stop_m = model.pump_switching
        return text + f"; the pump starts at {start_m:.2f} m and stops at {stop_m:.2f} m, as it did in the history."
    return text + "; the pump, if any, its typical share of each hour." if "pump_on" in model.features else text + "."


@callback(
    Output(ids.SUMMARY, "children"),
    Output(ids.LEVEL, "figure"),
    Output(ids.MODEL, "children"),
    Input(ids.TANK, "value"),
    Input(ids.DAYS, "value"),
    Input(ids.HORIZON, "value"),
)
def show_tank(tank_id: str | None, days: str | None, horizon: str | None):
    days_n = int(days) if (days or "").isdigit() else 7
    horizon_h = int(horizon) if (horizon or "").isdigit() else 24
    cur = runtime.current().store.cursor()
    try:
        found = {t.meter_id: t for t in tanks(cur, SCOPE)}
        if not found:
            message = "No tank level sensors in the store (meters measuring 'level')."
            return dbc.Alert(message, color="secondary"), empty_figure(message), ""
        tank = found.get(tank_id or "")
        if tank is None:
            return dbc.Alert("Choose a tank.", color="secondary"), empty_figure("Choose a tank above."), ""
        now = _now(cur, [tank.meter_id])
        history = level_hourly(cur, tank.meter_id, now - timedelta(days=days_n), now)
        training = tank_hourly(cur, tank, now - timedelta(days=TRAINING_DAYS), now)
        latest = None if history.empty else latest_level(cur, tank.meter_id, history["hour"].iat[-1], now)
    finally:
        cur.close()
    low, high = _thresholds(tank.low_level_m, tank.high_level_m)
    if history.empty:
        message = f"No level readings from {tank.meter_id} in the last {days_n} days."
        return dbc.Alert(message, color="info"), empty_figure(message), ""
    prediction, model_note, cards = None, [], []
    read_at, level_now = latest
    cards.append(_card("Level now", f"{level_now:.2f} m", f"read {read_at:%Y-%m-%d %H:%M} UTC"))
    try:
        model = fit_tank_model(training, tank.tz)
    except TankModelError as err:
        model_note = [dbc.Alert(f"No prediction: {err}", color="warning", className="mb-0")]
    else:
        last = training.dropna(subset=["level_m"]).iloc[-1]
        running = bool(last["pump_on"] > 0) if pd.notna(last.get("pump_on")) else None
        prediction = roll_forward(model, last["hour"], float(last["level_m"]), horizon_h, running)
        for crossing in threshold_crossings(prediction, low, high):
            cards.append(_card(f"Reaches {crossing.threshold} ({crossing.level_m:g} m)",
                               _when(crossing.hours, horizon_h)))
        model_note = [html.P(_model_text(model), className="text-muted mb-1")]
        try:
            score = backtest(training, tank.tz, HOLDOUT_DAYS)
        except TankModelError as err:
            model_note.append(html.P(f"No backtest: {err}", className="text-muted mb-0"))
        else:
            cards.append(_card("Prediction error", f"±{score.run_mae_m:.2f} m",
                               f"MAE over {score.holdout_hours} held-out hours "
                               f"(persistence {score.persistence_mae_m:.2f} m)"))
            model_note.append(html.P(
                f"Backtest on the last {HOLDOUT_DAYS} days held out: one hour ahead MAE {score.step_mae_m:.3f} m, "
                f"RMSE {score.step_rmse_m:.3f} m; rolled forward MAE {score.run_mae_m:.3f} m, RMSE "
                f"{score.run_rmse_m:.3f} m, against {score.persistence_mae_m:.3f} m for keeping the level constant.",
                className="text-muted mb-0"))
    if low is None and high is None:
        model_note.append(html.P("No level thresholds are set for this tank (meter attrs low_level_m/high_level_m "
                                 "or the tank_low_level_m/tank_high_level_m settings).", className="text-muted"))
    figure = tank_level_figure(history, prediction, tank.meter_id, tank.tz, low, high)
    return dbc.Row(cards), figure, model_note


@callback(Output(ids.PUMPS, "children"), Input(ids.DAYS, "value"))
def show_pumps(days: str | None):
    days_n = max(int(days) if (days or "").isdigit() else 7, 7)
    cur = runtime.current().store.cursor()
    try:
        found = pumps(cur, SCOPE)
        if not found:
            return dbc.Alert("No pump run-state sensors in the store (quantity 'pump_state'), so run hours "
                             "cannot be counted.", color="secondary")
        now = _now(cur, [m for m, _, _ in found])
        runs = [(meter_id, zone_id, pump_run_hours(cur, meter_id, tz, now - timedelta(days=days_n), now))
                for meter_id, zone_id, tz in found]
    finally:
        cur.close()
    cards = []
    for meter_id, zone_id, frame in runs:
        whole = frame[frame["observed_h"] >= 23]
        note = (f"mean {whole['run_h'].mean():.2f} h/day over {len(whole)} complete days, "
                f"{frame['run_h'].sum():.1f} h in all" if not frame.empty else "no readings")
        cards.append(dbc.Col(dbc.Card(dbc.CardBody([
            html.H3(f"{meter_id} · zone {zone_id or '–'}", className="h6"),
            html.Div(note, className="small text-muted"),
            dcc.Graph(figure=run_hours_figure(frame, meter_id), config={"displaylogo": False})]), className="mb-3"),
            lg=6))
    return dbc.Row(cards)
