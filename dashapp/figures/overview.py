"""The Overview's live chart: zone inflow above, lowest zone pressure below, one shared time axis.

The figure is built once from a window of recent points; afterwards only new
points travel to the browser (`extension`, for dcc.Graph's ``extendData``), and
``uirevision`` keeps the user's zoom across updates. Traces are keyed
``(quantity, zone_id)`` so that an extension lands on the right trace.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashapp.figures.theme import SERIES, TEMPLATE, empty_figure

QUANTITIES = ("flow", "pressure")
MAX_POINTS_PER_TRACE = 5_000


def trace_keys(points: pd.DataFrame) -> list[tuple[str, str]]:
    """Trace order: every zone's inflow, then every zone's pressure."""
    zones = sorted(points["zone_id"].unique())
    present = set(zip(points["quantity"], points["zone_id"]))
    return [(q, z) for q in QUANTITIES for z in zones if (q, z) in present]


def _values(points: pd.DataFrame, key: tuple[str, str], flow_factor: float) -> tuple[list, list]:
    quantity, zone = key
    rows = points[(points["quantity"] == quantity) & (points["zone_id"] == zone)]
    factor = flow_factor if quantity == "flow" else 1.0
    return [ts.isoformat() for ts in rows["ts"]], (rows["value"] * factor).round(4).tolist()


def live_figure(points: pd.DataFrame, zone_names: dict[str, str], flow_unit: str, flow_factor: float,
                window_label: str) -> tuple[go.Figure, list[tuple[str, str]]]:
    """The live chart and its trace keys, from `data.queries.overview.live_series` points."""
    if points.empty:
        return empty_figure(f"No inflow or pressure readings in the {window_label}.", height=460), []
    keys = trace_keys(points)
    zones = sorted({z for _, z in keys})
    colour = {z: SERIES[i % len(SERIES)] for i, z in enumerate(zones)}
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                           subplot_titles=(f"Zone inflow ({flow_unit})", "Lowest zone pressure (bar)"))
    for key in keys:
        quantity, zone = key
        x, y = _values(points, key, flow_factor)
        unit = flow_unit if quantity == "flow" else "bar"
        figure.add_trace(
            go.Scatter(x=x, y=y, mode="lines", name=zone_names.get(zone, zone), legendgroup=zone,
                       showlegend=quantity == "flow", line=dict(color=colour[zone], width=2),
                       hovertemplate=f"%{{y:.2f}} {unit}<extra>{zone_names.get(zone, zone)}</extra>"),
            row=1 if quantity == "flow" else 2, col=1,
        )
    figure.update_layout(template=TEMPLATE, height=460, uirevision="overview-live", hovermode="x unified",
                         margin=dict(t=60))
    figure.update_annotations(font_size=13)
    return figure, keys


def extension(points: pd.DataFrame, keys: list[tuple[str, str]], flow_factor: float) -> tuple | None:
    """``extendData`` for new points of known traces, or None when nothing new arrived."""
    xs, ys, indices = [], [], []
    for index, key in enumerate(keys):
        x, y = _values(points, key, flow_factor)
        if x:
            xs.append(x)
            ys.append(y)
            indices.append(index)
    if not indices:
        return None
    return dict(x=xs, y=ys), indices, MAX_POINTS_PER_TRACE
