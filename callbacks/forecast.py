"""Forecast page callbacks: start a fit in the background, poll for it, apply what-if scenarios, save them.

Fits and backtests run in `forecasting.jobs` threads; every callback here returns
in milliseconds (a poll reads the job's progress, a scenario is arithmetic on the
cached forecast).
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, html, no_update

from callbacks import forecast_ids as ids
from dashapp import runtime
from dashapp.figures.forecast import forecast_figure, scenario_figure
from dashapp.figures.theme import empty_figure
from data.queries.forecast import category_shares, per_customer_demand, series_choices
from forecasting.cache import fingerprint
from forecasting.jobs import JOBS, Job
from forecasting.model import ForecastConfig, ForecastError
from forecasting.saved import ScenarioNameError, save_scenario, saved_scenarios
from forecasting.scenarios import DemandContext, Scenario, apply_scenario, compare
from forecasting.series import CITY, SeriesError, SeriesKey, load_hourly
from forecasting.service import ForecastRequest, forecast_with_scores

MAX_HORIZON = {"h": 24 * 90, "D": 90}
HISTORY_SHOWN = {"h": pd.Timedelta(days=14), "D": pd.Timedelta(days=120)}


def _config() -> ForecastConfig:
    settings = runtime.current().settings
    return ForecastConfig(country=settings.holiday_country or None)


@callback(Output(ids.SERIES, "options"), Output(ids.SERIES, "value"), Output(ids.SERIES, "disabled"),
          Input(ids.KIND, "value"))
def list_series(kind: str):
    if kind == CITY:
        return [], None, True
    cur = runtime.current().store.cursor()
    try:
        choices = series_choices(cur)["zones" if kind == "zone" else "meters"]
    finally:
        cur.close()
    return choices, (choices[0] if choices else None), False


def _request(kind: str, ident: str | None, freq: str, horizon) -> ForecastRequest:
    if kind != CITY and not ident:
        raise ValueError(f"choose a {kind} to forecast")
    try:
        periods = int(horizon)
    except (TypeError, ValueError):
        raise ValueError("the horizon must be a whole number of periods") from None
    if not 1 <= periods <= MAX_HORIZON[freq]:
        word = "hours" if freq == "h" else "days"
        raise ValueError(f"the horizon must be 1 to {MAX_HORIZON[freq]} {word}")
    return ForecastRequest(SeriesKey(kind, ident or CITY), freq, periods)


@callback(Output(ids.JOB, "data"), Output(ids.POLL, "disabled"), Output(ids.STATUS, "children"),
          Input(ids.RUN, "n_clicks"), State(ids.KIND, "value"), State(ids.SERIES, "value"),
          State(ids.FREQ, "value"), State(ids.HORIZON, "value"), prevent_initial_call=True)
def start_forecast(_clicks, kind: str, ident: str | None, freq: str, horizon):
    return _start(kind, ident, freq, horizon)


@callback(Output(ids.JOB, "data", allow_duplicate=True), Output(ids.POLL, "disabled", allow_duplicate=True),
          Output(ids.STATUS, "children", allow_duplicate=True),
          Input(ids.REFRESH, "n_intervals"), State(ids.JOB, "data"), prevent_initial_call=True)
def refresh_when_new_data(_tick, key: str | None):
    """New readings move the series' watermark: refit in the background and show the new forecast when ready."""
    if not key:
        return no_update, no_update, no_update
    kind, ident, freq, horizon, watermark, _values = key.split("|")
    job = JOBS.get(key)
    if job is not None and not job.future.done():
        return no_update, no_update, no_update
    new_key, disabled, status = _start(kind, ident, freq, horizon)
    if new_key in (None, key):
        return no_update, no_update, no_update
    why = f"New data since {watermark} UTC" if new_key.split("|")[4] != watermark else "History rewritten"
    return new_key, disabled, f"{why}: {status[0].lower()}{status[1:]}"


def _start(kind: str, ident: str | None, freq: str, horizon):
    rt = runtime.current()
    try:
        request = _request(kind, ident, freq, horizon)
        cur = rt.store.cursor()
        try:
            history = load_hourly(cur, request.key)
        finally:
            cur.close()
    except (ValueError, SeriesError) as err:
        return None, True, str(err)
    if history.watermark is None:
        return None, True, f"no demand data for {request.key.label}"
    key = f"{kind}|{request.key.ident}|{freq}|{request.horizon}|{history.watermark}|{fingerprint(history.values)}"
    config, cache_dir = _config(), rt.settings.forecast_cache_dir

    def work(job: Job):
        def progress(fraction: float, stage: str) -> None:
            job.progress, job.stage = fraction, stage
        cursor = rt.store.cursor()
        try:
            result = forecast_with_scores(cursor, request, config, cache_dir, progress=progress)
            job.extra["context"] = DemandContext(category_shares(cursor, request.key.kind, request.key.ident),
                                                 per_customer_demand(cursor, result.series.tz))
            job.extra["figure"] = _forecast_chart(result)   # built here, off the request thread
            return result
        finally:
            cursor.close()

    JOBS.submit(key, work)
    return key, False, f"Forecasting {request.key.label}…"


def _measure(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _scores_table(result) -> html.Div:
    if result.scores.empty:
        return html.P(result.backtest_note, className="text-muted small")
    unit = result.series.unit
    head = html.Thead(html.Tr([html.Th(h) for h in ("", f"PI1 ({unit})", f"PI2 ({unit})", f"PI3 ({unit})",
                                                    "MAPE")]))
    body = html.Tbody([html.Tr([html.Td(model), html.Td(_measure(row.PI1)), html.Td(_measure(row.PI2)),
                                html.Td(_measure(row.PI3)), html.Td(f"{row.MAPE:.1f} %")])
                       for model, row in result.scores.iterrows()])
    return html.Div([dbc.Table([head, body], size="sm", striped=True, className="mb-1"),
                     html.P([("PI1/PI2: mean/max absolute error of the first day; PI3: mean absolute error of "
                              "days 2–7; "), result.backtest_note, "."], className="small text-muted")])


@callback(Output(ids.GRAPH, "figure"), Output(ids.SCORES, "children"), Output(ids.STATUS, "children",
                                                                              allow_duplicate=True),
          Output(ids.PROGRESS, "value"), Output(ids.POLL, "disabled", allow_duplicate=True),
          Input(ids.POLL, "n_intervals"), State(ids.JOB, "data"), prevent_initial_call=True)
def poll_forecast(_tick, key: str | None):
    job = JOBS.get(key)
    if job is None:
        return no_update, no_update, no_update, 0, True
    if not job.future.done():
        return no_update, no_update, f"{job.stage}…", int(job.progress * 100), False
    error = job.future.exception()
    if error is not None:
        message = str(error) if isinstance(error, (ForecastError, SeriesError, ValueError)) else \
            f"the forecast failed: {error}"
        return empty_figure(message), "", message, 0, True
    result = job.future.result()
    cached = " (cached model)" if result.forecast.meta.get("cached") else ""
    figure = job.extra.get("figure") or _forecast_chart(result)
    return figure, _scores_table(result), f"Forecast ready{cached}.", 100, True


def _forecast_chart(result):
    fc = result.forecast
    history = result.series.values.loc[result.series.values.index > result.series.watermark - HISTORY_SHOWN[fc.freq]]
    title = f"{result.series.key.label}: {len(fc.frame)} {'hours' if fc.freq == 'h' else 'days'} ahead"
    return forecast_figure(history, fc.frame, fc.unit, fc.tz, fc.freq, title)


def scenario_from_inputs(name, temperature, rain, growth, restrict_category, restrict_pct, leak, new_category,
                         new_count) -> Scenario:
    def number(value, default=0.0) -> float:
        try:
            return float(value) if value not in (None, "") else default
        except (TypeError, ValueError):
            return default
    return Scenario(
        name=(name or "scenario").strip() or "scenario",
        temperature_shift_c=number(temperature),
        rain_mm_per_day=None if rain in (None, "none") else number(rain),
        growth_pct=number(growth),
        restrictions_pct={restrict_category: number(restrict_pct)} if number(restrict_pct) else {},
        leak_repaired_l_s=max(number(leak), 0.0),
        new_customers={new_category: int(number(new_count))} if int(number(new_count)) > 0 else {},
    )


def _context(job: Job) -> DemandContext:
    return job.extra.get("context") or DemandContext({}, {})


def _finished(key: str | None):
    job = JOBS.get(key)
    if job is None or not job.future.done() or job.future.exception() is not None:
        return None, None
    return job, job.future.result()


SCENARIO_INPUTS = [Input(ids.NAME, "value"), Input(ids.TEMPERATURE, "value"), Input(ids.RAIN, "value"),
                   Input(ids.GROWTH, "value"), Input(ids.RESTRICT_CATEGORY, "value"), Input(ids.RESTRICT_PCT, "value"),
                   Input(ids.LEAK, "value"), Input(ids.NEW_CATEGORY, "value"), Input(ids.NEW_COUNT, "value")]


def _difference(comparison, unit_volume: str = "m3") -> html.Div:
    sign = lambda v: f"{v:+,.1f}"
    return html.Div([
        html.Div("Scenario against baseline", className="kpi-label"),
        html.Div(f"Volume over the horizon: {comparison.baseline_volume_l / 1000:,.1f} → "
                 f"{comparison.scenario_volume_l / 1000:,.1f} m³ ({sign(comparison.volume_change_l / 1000)} m³, "
                 f"{comparison.volume_change_pct:+.1f} %)", id=ids.DIFFERENCE + "-volume"),
        html.Div(f"Peak flow: {comparison.baseline_peak_l_s:,.2f} → {comparison.scenario_peak_l_s:,.2f} L/s "
                 f"({comparison.peak_change_l_s:+,.2f} L/s)", id=ids.DIFFERENCE + "-peak"),
    ])


@callback(Output(ids.SCENARIO_GRAPH, "figure"), Output(ids.DIFFERENCE, "children"),
          Input(ids.GRAPH, "figure"), *SCENARIO_INPUTS, State(ids.JOB, "data"))
def show_scenario(_figure, name, temperature, rain, growth, restrict_category, restrict_pct, leak, new_category,
                  new_count, key):
    job, result = _finished(key)
    if result is None:
        return empty_figure("Run a forecast to try scenarios"), ""
    scenario = scenario_from_inputs(name, temperature, rain, growth, restrict_category, restrict_pct, leak,
                                    new_category, new_count)
    changed = apply_scenario(result.forecast, scenario, _context(job))
    fc = result.forecast
    return (scenario_figure(fc.frame, changed.frame, fc.unit, fc.tz, fc.freq, scenario.name),
            _difference(compare(fc, changed)))


def _saved_table(frame: pd.DataFrame) -> html.Div:
    if frame.empty:
        return html.P("No saved scenarios yet.", className="text-muted small")
    head = html.Thead(html.Tr([html.Th(h) for h in ("Name", "Series", "Horizon", "Volume change",
                                                    "Peak flow change", "Saved (UTC)")]))
    body = html.Tbody([html.Tr([
        html.Td(r.name), html.Td(f"{r.series_kind} {r.series_id}"), html.Td(f"{r.horizon} {r.freq}"),
        html.Td(f"{r.volume_change_l / 1000:+,.1f} m³ ({r.volume_change_pct:+.1f} %)"),
        html.Td(f"{r.peak_change_l_s:+,.2f} L/s"), html.Td(f"{r.saved_at:%Y-%m-%d %H:%M}")])
        for r in frame.itertuples()])
    return dbc.Table([head, body], size="sm", striped=True, responsive=True)


@callback(Output(ids.SAVED_NOTE, "children"), Output(ids.SAVED_TABLE, "children"),
          Input(ids.SAVE, "n_clicks"), *[State(i.component_id, i.component_property) for i in SCENARIO_INPUTS],
          State(ids.JOB, "data"))
def save_and_list(clicks, name, temperature, rain, growth, restrict_category, restrict_pct, leak, new_category,
                  new_count, key):
    cur = runtime.current().store.cursor()
    try:
        note = ""
        if clicks:
            job, result = _finished(key)
            if result is None:
                note = "Run a forecast before saving a scenario."
            elif not (name or "").strip():
                note = "Give the scenario a name to save it."
            else:
                scenario = scenario_from_inputs(name, temperature, rain, growth, restrict_category, restrict_pct,
                                                leak, new_category, new_count)
                fc = result.forecast
                comparison = compare(fc, apply_scenario(fc, scenario, _context(job)))
                try:
                    save_scenario(cur, scenario, result.series.key.kind, result.series.key.ident, fc.freq,
                                  len(fc.frame), comparison)
                    note = f"Saved “{scenario.name}”."
                except ScenarioNameError as err:
                    note = str(err)
        return note, _saved_table(saved_scenarios(cur))
    finally:
        cur.close()
