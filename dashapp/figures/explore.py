"""Figures of the Explore page: consumption by period (clickable to drill down), with an optional
comparison period, and the hour x weekday peak-usage heatmap.

Pure builders over the frames `data.queries.explore` returns; volumes arrive in
litres and leave in the user's unit.
"""

from __future__ import annotations

import pandas as pd

from dashapp.figures.plain import figure, message_figure
from dashapp.figures.theme import COLOURS

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def consumption_figure(series: pd.DataFrame, unit: str, factor: float, title: str, drillable: bool,
                       compare: pd.DataFrame | None = None, compare_title: str | None = None) -> dict:
    """Bars of consumption per child bucket; each bar carries its period key for the drill-down click.

    A comparison period is drawn as a line over the same bucket positions
    (1st day with 1st day, 13:00 with 13:00), with its own labels in the hover.
    """
    if series.empty:
        return message_figure(f"No consumption recorded for {title}.", height=380)
    hover = "%{x}<br>%{y:,.2f} " + unit + ("<br>click to drill down" if drillable else "") + "<extra></extra>"
    data = [{
        "type": "bar", "name": title, "x": series["label"].tolist(),
        "y": (series["volume_l"] * factor).round(6).tolist(), "customdata": series["key"].tolist(),
        "marker": {"color": COLOURS["volume"]}, "hovertemplate": hover,
    }]
    if compare is not None and not compare.empty:
        n = min(len(series), len(compare))
        data.append({
            "type": "scatter", "mode": "lines+markers", "name": compare_title or "comparison",
            "x": series["label"].tolist()[:n], "y": (compare["volume_l"] * factor).round(6).tolist()[:n],
            "customdata": compare["label"].tolist()[:n], "line": {"color": COLOURS["forecast"], "dash": "dot"},
            "hovertemplate": "%{customdata}<br>%{y:,.2f} " + unit + "<extra>" + (compare_title or "") + "</extra>",
        })
    return figure(data, height=380, title={"text": title, "x": 0, "font": {"size": 15}},
                  xaxis={"type": "category", "title": {"text": ""}},
                  yaxis={"title": {"text": unit}, "rangemode": "tozero"},
                  hovermode="closest", clickmode="event", bargap=0.15)


def heatmap_figure(profile: pd.DataFrame, unit: str, factor: float, title: str) -> dict:
    """Mean consumption per hour of the week: rows are weekdays, columns local hours."""
    if profile.empty:
        return message_figure(f"No hourly consumption for {title}.", height=320)
    grid = (profile.pivot(index="weekday", columns="hour", values="mean_l")
            .reindex(index=range(7), columns=range(24)) * factor)
    z = [[None if pd.isna(v) else round(float(v), 6) for v in row] for row in grid.to_numpy()]
    return figure(
        [{"type": "heatmap", "z": z, "x": [f"{h:02d}:00" for h in range(24)], "y": WEEKDAYS,
          "colorscale": "Blues", "reversescale": True, "colorbar": {"title": {"text": f"{unit}/h"}},
          "hovertemplate": "%{y} %{x}<br>%{z:,.3f} " + unit + " per hour<extra></extra>"}],
        height=320, title={"text": f"Peak usage: mean per hour, {title}", "x": 0, "font": {"size": 15}},
        yaxis={"autorange": "reversed"}, xaxis={"title": {"text": "local hour"}},
    )
