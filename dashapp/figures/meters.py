"""Figures of the Meters page: one meter's consumption and its measured values over time.

Times arrive as naive UTC and are drawn in the meter's local time zone.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashapp.figures.theme import COLOURS, base_figure, empty_figure, scatter_class

QUANTITY_LABELS = {"flow": "Flow (L/s)", "pressure": "Pressure (bar)", "level": "Level (m)",
                   "level_pct": "Level (%)", "pump_state": "Pump running (share of hour)",
                   "air_temperature": "Air temperature (°C)", "rainfall": "Rainfall (mm)",
                   "humidity": "Humidity (%)", "wind_speed": "Wind speed (km/h)"}


def local_times(times: pd.Series, tz: str) -> pd.DatetimeIndex:
    """Naive UTC stamps as wall-clock times of ``tz`` (naive, for Plotly axes)."""
    return pd.DatetimeIndex(pd.to_datetime(times)).tz_localize("UTC").tz_convert(tz).tz_localize(None)


def consumption_figure(frame: pd.DataFrame, meter_id: str, tz: str, daily: bool,
                       unit: str = "L", litres_per_unit: float = 1.0) -> go.Figure:
    """Bars of volume per hour or per local day, the estimated part stacked and labelled."""
    if frame.empty or frame["volume_l"].sum() == 0 and frame["estimated_l"].sum() == 0:
        return empty_figure(f"No consumption recorded for {meter_id} in this period.")
    x = pd.to_datetime(frame["period"]) if daily else local_times(frame["period"], tz)
    volumes = pd.DataFrame({"measured": (frame["volume_l"] - frame["estimated_l"]).clip(lower=0).to_numpy(),
                            "estimated": frame["estimated_l"].to_numpy()}, index=x) / litres_per_unit
    volumes = volumes.groupby(level=0, sort=True).sum()   # the repeated local hour when clocks go back: one bar
    x, measured, estimated = volumes.index, volumes["measured"], volumes["estimated"]
    figure = base_figure(300, barmode="stack", yaxis_title=f"Volume ({unit}/{'day' if daily else 'hour'})",
                         hovermode="x unified", xaxis_title=f"Local day ({tz})" if daily else f"Local time ({tz})")
    figure.add_trace(go.Bar(x=x, y=measured, name="Measured", marker_color=COLOURS["volume"]))
    figure.add_trace(go.Bar(x=x, y=estimated, name="Estimated over gaps", marker_color=COLOURS["warning"]))
    return figure


def measured_figure(frame: pd.DataFrame, meter_id: str, tz: str, daily: bool = False) -> go.Figure:
    """Hourly (or daily) mean of each measured quantity, with its min–max band where known."""
    if frame.empty:
        return empty_figure(f"No readings from {meter_id} in this period.")
    quantities = [str(q) for q in pd.unique(frame["quantity"].to_numpy(dtype=object))]
    figure = base_figure(300, hovermode="x unified", xaxis_title="Day (UTC)" if daily else f"Local time ({tz})",
                         yaxis_title=" / ".join(QUANTITY_LABELS.get(q, q) for q in quantities))
    for quantity in quantities:
        rows = frame[frame["quantity"] == quantity]
        x = pd.to_datetime(rows["hour"]) if daily else local_times(rows["hour"], tz)
        trace = scatter_class(len(rows))
        label = QUANTITY_LABELS.get(quantity, quantity)
        colour = COLOURS.get(quantity, COLOURS["flow"])
        if rows["minimum"].notna().any():
            figure.add_trace(trace(x=x, y=rows["maximum"], mode="lines", line=dict(width=0), showlegend=False,
                                   hoverinfo="skip", name=f"{label} max"))
            figure.add_trace(trace(x=x, y=rows["minimum"], mode="lines", line=dict(width=0), fill="tonexty",
                                   fillcolor="rgba(14,165,233,0.15)", name=f"{'Daily' if daily else 'Hourly'} min–max",
                                   hoverinfo="skip"))
        figure.add_trace(trace(x=x, y=rows["mean"], mode="lines", name=f"{label}, {'daily' if daily else 'hourly'} mean",
                               line=dict(color=colour, width=1.5)))
    return figure
