"""Figures of the Tanks & pumps page: level history with its prediction and thresholds, pump run hours."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashapp.figures.meters import local_times
from dashapp.figures.theme import COLOURS, base_figure, empty_figure, scatter_class


def tank_level_figure(history: pd.DataFrame, prediction: pd.DataFrame | None, tank_id: str, tz: str,
                      low_m: float | None = None, high_m: float | None = None) -> go.Figure:
    """Measured hourly level (mean with min–max band), the predicted level ahead, and the thresholds."""
    if history.empty:
        return empty_figure(f"No level readings from {tank_id} in this period.")
    x = local_times(history["hour"], tz)
    trace = scatter_class(len(history))
    figure = base_figure(340, hovermode="x unified", yaxis_title="Level (m)", xaxis_title=f"Local time ({tz})")
    figure.add_trace(trace(x=x, y=history["maximum"], mode="lines", line=dict(width=0), showlegend=False,
                           hoverinfo="skip"))
    figure.add_trace(trace(x=x, y=history["minimum"], mode="lines", line=dict(width=0), fill="tonexty",
                           fillcolor="rgba(14,165,233,0.15)", name="Hourly min–max", hoverinfo="skip"))
    figure.add_trace(trace(x=x, y=history["level_m"], mode="lines", name="Measured level",
                           line=dict(color=COLOURS["flow"], width=1.8)))
    if prediction is not None and not prediction.empty:
        figure.add_trace(go.Scatter(x=local_times(prediction["hour"], tz), y=prediction["level_m"], mode="lines",
                                    name="Predicted level", line=dict(color=COLOURS["forecast"], dash="dash",
                                                                      width=2)))
    shapes, notes = [], []
    for name, level, colour in (("Low threshold", low_m, COLOURS["critical"]),
                                ("High threshold", high_m, COLOURS["warning"])):
        if level is not None:  # shapes in one update: add_hline costs ~30 ms a line
            shapes.append(dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=level, y1=level,
                               line=dict(color=colour, dash="dot", width=1.2)))
            notes.append(dict(xref="paper", x=0, yref="y", y=level, text=f"{name} {level:g} m", showarrow=False,
                              xanchor="left", yanchor="bottom", font=dict(size=11)))
    figure.update_layout(shapes=shapes, annotations=notes)
    return figure


def run_hours_figure(days: pd.DataFrame, pump_id: str) -> go.Figure:
    """Bars of hours run per local day; days observed only in part are drawn lighter."""
    if days.empty:
        return empty_figure(f"No run-state readings from {pump_id} in this period.")
    complete = days["observed_h"] >= 23
    colours = [COLOURS["pressure"] if c else "rgba(168,85,247,0.35)" for c in complete]
    figure = base_figure(280, yaxis_title="Run hours per day", showlegend=False)
    figure.add_trace(go.Bar(x=pd.to_datetime(days["day"]), y=days["run_h"], marker_color=colours, name=pump_id,
                            customdata=days["observed_h"],
                            hovertemplate="%{x|%a %d %b}: %{y:.2f} h run (%{customdata} h observed)<extra></extra>"))
    figure.update_xaxes(title_text="Local day")
    return figure
