"""Figures of the Leaks & alerts page: the zone schematic, the alert timeline and the chart around an alert."""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd
import plotly.graph_objects as go

from dashapp.display import count_of, zone_label
from dashapp.figures.theme import COLOURS, base_figure, empty_figure
from data.queries.alerts import AlertSeries, ZoneStatus

SEVERITY_COLOURS = {"critical": COLOURS["critical"], "warning": COLOURS["warning"], "info": "#38bdf8"}
STATUS_COLOURS = {"critical": COLOURS["critical"], "warning": COLOURS["warning"], "normal": COLOURS["normal"]}
#: Opaque pale fills with dark text: a zone box reads the same on the light and the dark theme.
STATUS_FILLS = {"critical": "#fecaca", "warning": "#fde68a", "normal": "#bbf7d0"}
BOX_TEXT = "#1e293b"
STATE_OPACITY = {"open": 1.0, "acknowledged": 0.6, "resolved": 0.3, "not_a_leak": 0.3}


def zone_schematic(zones: list[ZoneStatus], height: int = 260) -> go.Figure:
    """The supply trunk feeding each zone, a box per zone coloured by its status (its worst open alert, or a
    zone-status rule's finding, which the hover gives)."""
    if not zones:
        return empty_figure("No zones are registered yet: import a zone list or run the simulator.", height)
    columns = min(len(zones), 4)
    rows = math.ceil(len(zones) / columns)
    figure = base_figure(height, showlegend=False, margin=dict(l=10, r=10, t=10, b=10))
    figure.update_xaxes(visible=False, range=[-0.75, columns - 0.5])
    figure.update_yaxes(visible=False, range=[-rows + 0.4, 1.0])
    figure.add_shape(type="line", x0=-0.7, x1=columns - 1, y0=0.7, y1=0.7,
                     line=dict(color=COLOURS["flow"], width=4))
    figure.add_annotation(x=-0.7, y=0.85, text="Supply", showarrow=False, xanchor="left")
    xs, ys, texts, hovers = [], [], [], []
    for i, zone in enumerate(zones):
        x, y = i % columns, -(i // columns)
        colour = STATUS_COLOURS[zone.status]
        figure.add_shape(type="line", x0=x, x1=x, y0=0.7, y1=y + 0.3, line=dict(color=COLOURS["flow"], width=2))
        figure.add_shape(type="rect", x0=x - 0.46, x1=x + 0.46, y0=y - 0.3, y1=y + 0.3,
                         line=dict(color=colour, width=3), fillcolor=STATUS_FILLS[zone.status], layer="below")
        xs.append(x)
        ys.append(y)
        count = count_of(zone.open_alerts, "active alert") if zone.open_alerts else "no active alerts"
        texts.append(f"<b>{zone.name}</b><br>{zone.zone_id} · {zone.status.capitalize()}<br>{count}")
        hovers.append(f"{zone_label(zone.name, zone.zone_id)}: {zone.status}, {count}"
                      + (f", supply {zone.supply.replace('_', ' ')}" if zone.supply else "")
                      + (f"<br>{zone.reason}" if zone.reason else ""))
    figure.add_trace(go.Scatter(x=xs, y=ys, mode="text", text=texts, hovertext=hovers, hoverinfo="text",
                                customdata=[z.zone_id for z in zones], textfont=dict(size=12, color=BOX_TEXT)))
    return figure


def alert_timeline(alerts: pd.DataFrame, height: int | None = None) -> go.Figure:
    """One bar per alert from its event's start to its last seen end, coloured by severity."""
    if alerts.empty:
        return empty_figure("No alerts match these filters.", height or 240)
    frame = alerts.copy()
    frame["label"] = frame["meter_id"] + " · " + frame["kind"].str.replace("_", " ")
    start = pd.to_datetime(frame["event_start"])
    end = pd.to_datetime(frame["last_event_end"])
    frame["duration_ms"] = ((end - start).dt.total_seconds().clip(lower=900) * 1000)
    figure = base_figure(height or min(120 + 28 * frame["label"].nunique(), 700),
                         barmode="overlay", xaxis=dict(type="date", title="UTC"), yaxis=dict(autorange="reversed"))
    for severity in ("critical", "warning", "info"):
        part = frame[frame["severity"] == severity]
        if part.empty:
            continue
        figure.add_trace(go.Bar(
            x=part["duration_ms"], base=part["event_start"].astype(str), y=part["label"], orientation="h",
            name=severity, marker=dict(color=SEVERITY_COLOURS[severity],
                                       opacity=[STATE_OPACITY.get(s, 1.0) for s in part["state"]]),
            customdata=part[["alert_id", "state", "score"]].to_numpy(),
            hovertemplate="%{y}<br>from %{base|%Y-%m-%d %H:%M} UTC<br>"
                          "state %{customdata[1]}, score %{customdata[2]:.2f}<extra>%{fullData.name}</extra>",
        ))
    return figure


def alert_chart(series: AlertSeries, start: datetime, end: datetime, severity: str,
                height: int = 300) -> go.Figure:
    """The meter's hourly series around the alert, the alert's period shaded."""
    if series.frame.empty:
        return empty_figure(f"No hourly data for {series.label} around this alert.", height)
    frame = series.frame
    figure = base_figure(height, yaxis=dict(title=series.unit), xaxis=dict(title="UTC"))
    if frame["low"].notna().any():
        figure.add_trace(go.Scatter(x=frame["hour"], y=frame["high"], mode="lines", line=dict(width=0),
                                    showlegend=False, hoverinfo="skip"))
        figure.add_trace(go.Scatter(x=frame["hour"], y=frame["low"], mode="lines", line=dict(width=0),
                                    fill="tonexty", fillcolor="rgba(14, 165, 233, 0.15)", name="hourly min–max"))
    figure.add_trace(go.Scatter(x=frame["hour"], y=frame["value"], mode="lines", name=series.label,
                                line=dict(color=COLOURS["flow"], width=2)))
    figure.add_vrect(x0=start, x1=max(end, start + pd.Timedelta(minutes=30)),
                     fillcolor=SEVERITY_COLOURS.get(severity, COLOURS["warning"]), opacity=0.15, line_width=0, annotation_text="alert", annotation_position="top left")
    return figure
