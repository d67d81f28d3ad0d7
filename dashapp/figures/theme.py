"""What every Waterline figure shares: one Plotly template and the empty-chart message.

Backgrounds are transparent and text and grid colours are mid-greys, so one
figure reads on both the light and the dark Bootstrap theme without being
rebuilt when the user switches.
"""

from __future__ import annotations

import functools

import plotly.graph_objects as go
import plotly.io as pio

#: A small template of its own: "plotly_white+waterline" is re-merged and re-validated for every
#: figure (40-60 ms each on this machine, the largest part of a page callback); this one costs ~5 ms.
TEMPLATE = "waterline"

#: One colour per series role, used consistently across pages.
COLOURS = {
    "flow": "#0ea5e9",
    "pressure": "#a855f7",
    "volume": "#0284c7",
    "forecast": "#f59e0b",
    "baseline": "#94a3b8",
    "normal": "#22c55e",
    "warning": "#f59e0b",
    "critical": "#ef4444",
}

#: The zone palette, in zone order.
SERIES = ["#0ea5e9", "#f97316", "#22c55e", "#a855f7", "#ef4444", "#14b8a6", "#eab308", "#64748b"]

#: Above this many points a trace should be WebGL (`go.Scattergl`) or downsampled.
WEBGL_THRESHOLD = 10_000

_GREY = "#8a94a6"
_GRID = "rgba(138, 148, 166, 0.25)"

_WATERLINE = go.layout.Template(
    layout=dict(
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font=dict(color=_GREY, family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"),
        colorway=SERIES,
        xaxis=dict(gridcolor=_GRID, linecolor=_GRID, zerolinecolor=_GRID, ticks="", automargin=True),
        yaxis=dict(gridcolor=_GRID, linecolor=_GRID, zerolinecolor=_GRID, ticks="", automargin=True),
        hovermode="closest",
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
        margin=dict(l=50, r=20, t=40, b=40),
        hoverlabel=dict(namelength=-1),
        modebar=dict(bgcolor="rgba(0,0,0,0)", color=_GREY, activecolor="#0ea5e9"),
    )
)
pio.templates["waterline"] = _WATERLINE


@functools.cache
def template_json() -> dict:
    """The template as plain JSON, for figures built as dicts (fast paths such as live charts)."""
    return pio.templates[TEMPLATE].to_plotly_json()


def base_figure(height: int = 320, **layout) -> go.Figure:
    """An empty figure in the Waterline template."""
    figure = go.Figure()
    figure.update_layout(template=TEMPLATE, height=height, **layout)
    return figure


def empty_figure(message: str, height: int = 320) -> go.Figure:
    """A figure with no axes that says why there is nothing to draw."""
    figure = base_figure(height)
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    figure.add_annotation(text=message, showarrow=False, font=dict(size=15), x=0.5, y=0.5,
                          xref="paper", yref="paper")
    return figure


def scatter_class(points: int) -> type:
    """`go.Scattergl` for large series, `go.Scatter` otherwise."""
    return go.Scattergl if points > WEBGL_THRESHOLD else go.Scatter
