"""Figures of the System health page: the ingest pipeline's recorded history."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashapp.figures.theme import COLOURS, TEMPLATE, empty_figure

FEW_SAMPLES = 30                              # below this, each sample is drawn as a marker too
LONE_SAMPLE_SPAN = pd.Timedelta(minutes=30)   # the time axis around a single sample


def ingest_history_figure(history: pd.DataFrame) -> go.Figure:
    """Readings per second, batch p50/p95 and queue depth over time, on three stacked panels."""
    if history.empty:
        return empty_figure("No ingest history recorded yet: the listener records it while it runs.", 420)
    x = pd.to_datetime(history["recorded_at"])
    mode = "lines" if len(history) > FEW_SAMPLES else "lines+markers"
    figure = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                           subplot_titles=("Readings per second", "Batch processing (ms)", "Queue depth (readings)"))
    figure.add_trace(go.Scatter(x=x, y=history["readings_per_s"], name="Readings/s", mode=mode,
                                line=dict(color=COLOURS["flow"])), row=1, col=1)
    figure.add_trace(go.Scatter(x=x, y=history["batch_p50_ms"], name="p50", mode=mode,
                                line=dict(color=COLOURS["normal"])), row=2, col=1)
    figure.add_trace(go.Scatter(x=x, y=history["batch_p95_ms"], name="p95", mode=mode,
                                line=dict(color=COLOURS["warning"])), row=2, col=1)
    figure.add_trace(go.Scatter(x=x, y=history["queue_depth"], name="Queue depth", mode=mode,
                                line=dict(color=COLOURS["pressure"])), row=3, col=1)
    figure.update_layout(template=TEMPLATE, height=420, uirevision="health-history", hovermode="x unified")
    figure.update_xaxes(title_text="Recorded at (UTC)", row=3, col=1)
    if x.nunique() == 1:
        figure.update_xaxes(range=[x.iloc[0] - LONE_SAMPLE_SPAN / 2, x.iloc[0] + LONE_SAMPLE_SPAN / 2])
    return figure
