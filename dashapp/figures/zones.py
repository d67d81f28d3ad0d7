"""Figures of the Zones page: flow and pressure, the night-flow trend and the daily water balance.

Pure builders: each takes the frames the zone queries return and the user's
choices (flow unit, time zone, service pressure band) and returns a figure
(a plain dictionary, see `dashapp.figures.plain`), or a figure that says why
there is nothing to draw.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashapp.display import flow_factor
from dashapp.figures.plain import figure, line_type, message_figure
from dashapp.figures.theme import COLOURS, SERIES


def _local(hours: pd.Series, tz: str) -> np.ndarray:
    """Naive UTC times as local wall-clock ISO strings (vectorised: strftime is 10x slower)."""
    local = pd.to_datetime(hours).dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)
    return np.datetime_as_string(local.to_numpy(dtype="datetime64[s]"), unit="s")


def flow_pressure_figure(frame: pd.DataFrame, flow_unit: str, tz: str,
                         pressure_band: tuple[float, float], zone_label: str, step_hours: int = 1) -> dict:
    """Flow through each of the zone's supply points (top, in ``flow_unit``; what an outlet takes out is below
    zero) and pressure per sensor (bottom, bar), in local time, as means over ``step_hours``.

    Over a DST change local time repeats or skips an hour; the points keep their
    true order because they are drawn in UTC order with local labels.
    """
    if frame.empty:
        return message_figure(f"No inlet flow or pressure readings for {zone_label} in this period.", height=480)
    factor = flow_factor(flow_unit)
    mean_over = f" (mean over {step_hours} h)" if step_hours > 1 else ""
    frame = frame.assign(local=_local(frame["hour"], tz))
    data, flows = [], 0
    for i, ((meter_id, quantity), series) in enumerate(frame.groupby(["meter_id", "quantity"], sort=True)):
        flow = quantity == "flow"
        if flow:
            colour = COLOURS["flow"] if flows == 0 else SERIES[flows % len(SERIES)]
            flows += 1
        else:
            colour = SERIES[(i + 3) % len(SERIES)]
        data.append({
            "type": line_type(len(series)), "mode": "lines", "name": meter_id,
            "x": series["local"].tolist(), "y": (series["mean"] * (factor if flow else 1)).round(4).tolist(),
            "xaxis": "x", "yaxis": "y" if flow else "y2",
            "line": {"width": 1.5, "color": colour},
            "hovertemplate": "%{y:.2f} " + (flow_unit if flow else "bar") + mean_over,
        })
    low, _high = pressure_band
    absent = [{"text": text, "xref": "paper", "yref": "paper", "x": 0.5, "y": middle, "showarrow": False,
               "font": {"color": COLOURS["baseline"]}}
              for quantity, middle, text in (("flow", 0.78, f"No inlet flow meter in {zone_label}"),
                                             ("pressure", 0.22, f"No pressure sensor in {zone_label}"))
              if quantity not in set(frame["quantity"])]
    return figure(
        data, height=480, hovermode="x unified", uirevision=zone_label,
        xaxis={"anchor": "y2", "title": {"text": f"local time ({tz})"}},
        yaxis={"domain": [0.56, 1.0], "title": {"text": f"inflow ({flow_unit})"}, "rangemode": "tozero"},
        yaxis2={"domain": [0.0, 0.44], "title": {"text": "pressure (bar)"}},
        shapes=[{"type": "line", "xref": "x domain", "yref": "y2", "x0": 0, "x1": 1, "y0": low, "y1": low,
                 "line": {"color": COLOURS["critical"], "dash": "dash", "width": 1}}],
        annotations=[{"text": f"service minimum {low:g} bar", "xref": "x domain", "yref": "y2", "x": 1, "y": low,
                      "xanchor": "right", "yanchor": "top", "showarrow": False, "font": {"size": 11}}, *absent],
    )


def night_flow_figure(nights: pd.DataFrame, flow_unit: str, zone_label: str) -> dict:
    """Minimum night flow per night, with the period's median as the zone's typical night."""
    if nights.empty:
        return message_figure(f"No night-time inlet flow for {zone_label} in this period.")
    y = nights["night_flow_l_s"] * flow_factor(flow_unit)
    median = float(y.median())
    data = [{
        "type": "scatter", "mode": "lines+markers", "name": "minimum night flow",
        "x": pd.to_datetime(nights["night"]).dt.strftime("%Y-%m-%d").tolist(), "y": y.round(4).tolist(),
        "customdata": pd.to_datetime(nights["at_local"]).dt.strftime("%H:%M").tolist(),
        "line": {"color": COLOURS["flow"]},
        "hovertemplate": "night to %{x|%d %b %Y}<br>%{y:.2f} " + flow_unit + " at %{customdata}<extra></extra>",
    }]
    return figure(
        data, height=300, showlegend=False,
        yaxis={"title": {"text": f"{flow_unit}, lowest hour 01:00–05:00"}, "rangemode": "tozero"},
        shapes=[{"type": "line", "xref": "x domain", "yref": "y", "x0": 0, "x1": 1, "y0": median, "y1": median,
                 "line": {"color": COLOURS["baseline"], "dash": "dot"}}],
        annotations=[{"text": f"median {median:.2f} {flow_unit}", "xref": "x domain", "yref": "y", "x": 0,
                      "y": median, "xanchor": "left", "yanchor": "bottom", "showarrow": False}],
    )


def water_balance_figure(balance: pd.DataFrame, volume_unit: str, volume_factor: float, zone_label: str,
                         message: str | None = None) -> dict:
    """Daily customer volume and unaccounted-for water as stacked bars, the unaccounted share as a line."""
    if message:
        return message_figure(message)
    if balance.empty:
        return message_figure(f"No consumption recorded in {zone_label} in this period.")
    days = pd.to_datetime(balance["day"]).dt.strftime("%Y-%m-%d").tolist()
    volume_hover = "%{y:,.2f} " + volume_unit
    data = [
        {"type": "bar", "name": "customer meters", "x": days, "y": (balance["customers_l"] * volume_factor).tolist(),
         "marker": {"color": COLOURS["volume"]}, "hovertemplate": volume_hover},
        {"type": "bar", "name": "unaccounted-for", "x": days,
         "y": (balance["unaccounted_l"] * volume_factor).tolist(),
         "marker": {"color": COLOURS["warning"]}, "hovertemplate": volume_hover},
        {"type": "scatter", "mode": "lines+markers", "name": "unaccounted-for %", "x": days,
         "y": balance["unaccounted_pct"].round(2).tolist(), "yaxis": "y2",
         "line": {"color": COLOURS["critical"]}, "hovertemplate": "%{y:.1f} %"},
    ]
    return figure(
        data, height=340, barmode="relative", hovermode="x unified",
        yaxis={"title": {"text": f"{volume_unit} per day"}},
        yaxis2={"title": {"text": "% of inflow"}, "overlaying": "y", "side": "right", "showgrid": False,
                "rangemode": "tozero"},
    )
