"""Forecast page figures: recent history with the forecast and its band, and baseline against a scenario."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashapp.figures.theme import COLOURS, base_figure, empty_figure, scatter_class


def _local(index: pd.DatetimeIndex, tz: str, freq: str) -> pd.DatetimeIndex:
    return index if freq == "D" else index.tz_localize("UTC").tz_convert(tz).tz_localize(None)


def forecast_figure(history: pd.Series, frame: pd.DataFrame, unit: str, tz: str, freq: str, title: str) -> go.Figure:
    """Observed demand, the forecast line and its interval band (local time on the x axis)."""
    if frame is None or frame.empty:
        return empty_figure("No forecast to show")
    figure = base_figure(height=380, title={"text": title, "x": 0, "font": {"size": 14}})
    trace = scatter_class(len(history) + len(frame))
    x = _local(frame.index, tz, freq)
    figure.add_trace(trace(x=x, y=frame["yhat_upper"], mode="lines", line={"width": 0}, showlegend=False,
                           hoverinfo="skip", name="upper"))
    figure.add_trace(trace(x=x, y=frame["yhat_lower"], mode="lines", line={"width": 0}, fill="tonexty",
                           fillcolor="rgba(245, 158, 11, 0.2)", name="80 % interval"))
    if not history.empty:
        figure.add_trace(trace(x=_local(history.index, tz, freq), y=history.to_numpy(), mode="lines",
                               name="observed", line={"color": COLOURS["flow"], "width": 1.5}))
    figure.add_trace(trace(x=x, y=frame["yhat"], mode="lines", name="forecast",
                           line={"color": COLOURS["forecast"], "width": 2}))
    figure.update_yaxes(title_text=unit)
    figure.update_layout(uirevision=title, hovermode="x unified", legend={"x": 0.5, "xanchor": "center"})
    return figure


def scenario_figure(baseline: pd.DataFrame, scenario: pd.DataFrame, unit: str, tz: str, freq: str,
                    name: str) -> go.Figure:
    """Baseline and scenario forecasts side by side on one time axis."""
    if baseline is None or baseline.empty:
        return empty_figure("Run a forecast to try scenarios")
    figure = base_figure(height=320)
    x = _local(baseline.index, tz, freq)
    figure.add_trace(go.Scatter(x=x, y=baseline["yhat"], mode="lines", name="baseline",
                                line={"color": COLOURS["baseline"], "width": 2}))
    figure.add_trace(go.Scatter(x=x, y=scenario["yhat"], mode="lines", name=name or "scenario",
                                line={"color": COLOURS["forecast"], "width": 2}))
    figure.update_yaxes(title_text=unit)
    figure.update_layout(hovermode="x unified")
    return figure
