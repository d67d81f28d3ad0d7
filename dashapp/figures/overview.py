"""The Overview's live chart: zone inflow above, lowest zone pressure below, one shared time axis.

The figure is built once from a window of recent points; afterwards only new
points travel to the browser (`extension`, for dcc.Graph's ``extendData``), and
``uirevision`` keeps the user's zoom across updates. Traces are keyed
``(quantity, zone_id)`` so that an extension lands on the right trace. The
figure is a plain dict (what Dash sends anyway): plotly's validating objects
cost 140 ms for this chart, the dict under 1 ms.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashapp.figures.theme import COLOURS, SERIES, empty_figure, template_json

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
                window_label: str) -> tuple[go.Figure | dict, list[tuple[str, str]]]:
    """The live chart and its trace keys, from `data.queries.overview.live_series` points."""
    if points.empty:
        return empty_figure(f"No inflow or pressure readings in the {window_label}.", height=460), []
    keys = trace_keys(points)
    zones = sorted({z for _, z in keys})
    colour = {z: SERIES[i % len(SERIES)] for i, z in enumerate(zones)}
    traces = []
    for key in keys:
        quantity, zone = key
        x, y = _values(points, key, flow_factor)
        unit = flow_unit if quantity == "flow" else "bar"
        name = zone_names.get(zone, zone)
        traces.append(dict(
            type="scatter", mode="lines", x=x, y=y, name=name, legendgroup=zone,
            showlegend=quantity == "flow", line=dict(color=colour[zone], width=2),
            xaxis="x", yaxis="y" if quantity == "flow" else "y2",
            hovertemplate=f"%{{y:.2f}} {unit}<extra>{name}</extra>",
        ))
    title = dict(xref="paper", yref="paper", x=0, xanchor="left", showarrow=False, font=dict(size=13))
    layout = dict(
        template=template_json(), height=460, uirevision="overview-live", hovermode="x unified",
        margin=dict(l=50, r=20, t=60, b=40),
        legend=dict(orientation="h", x=1, xanchor="right", y=1.0, yanchor="bottom"),
        xaxis=dict(anchor="y2", type="date"),
        yaxis=dict(domain=[0.56, 1.0], title=dict(text=flow_unit)),
        yaxis2=dict(domain=[0.0, 0.44], title=dict(text="bar")),
        annotations=[dict(title, text=f"Zone inflow ({flow_unit})", y=1.0, yanchor="bottom"),
                     dict(title, text="Lowest zone pressure (bar)", y=0.44, yanchor="bottom"),
                     *[dict(text=text, xref="paper", yref="paper", x=0.5, y=middle, showarrow=False,
                            font=dict(color=COLOURS["baseline"]))
                       for quantity, middle, text in (("flow", 0.78, "No zone inlet flow in this window"),
                                                      ("pressure", 0.22, "No pressure sensor reporting"))
                       if quantity not in {q for q, _ in keys}]],
    )
    return dict(data=traces, layout=layout), keys


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
