"""Figures of the Leaks & alerts page built from plain rows: colours, bars and empty states."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from dashapp.figures.alerts import STATUS_COLOURS, alert_chart, alert_timeline, zone_schematic
from data.queries.alerts import AlertSeries, ZoneStatus

T0 = datetime(2025, 7, 9, 2)


def test_schematic_colours_each_zone_by_status():
    figure = zone_schematic([ZoneStatus("Z1", "Colle", "critical", 2, "booster_tank"),
                             ZoneStatus("Z2", "Centro", "normal", 0, "gravity")])
    boxes = [s for s in figure.layout.shapes if s.type == "rect"]
    assert [b.line.color for b in boxes] == [STATUS_COLOURS["critical"], STATUS_COLOURS["normal"]]
    assert "2 active alerts" in figure.data[0].text[0] and "no active alerts" in figure.data[0].text[1]
    assert "supply booster tank" in figure.data[0].hovertext[0]
    reasoned = zone_schematic([ZoneStatus("Z1", "Colle", "warning", 0, None, "Pressure at Z1-P1 1.2 bar.")])
    assert reasoned.data[0].hovertext[0].endswith("<br>Pressure at Z1-P1 1.2 bar.")
    assert "No zones" in zone_schematic([]).layout.annotations[0].text


def test_timeline_has_a_bar_per_alert_by_severity():
    alerts = pd.DataFrame({
        "alert_id": ["A1", "A2"], "meter_id": ["Z1-INLET", "Z1-R-0001"], "kind": ["burst", "continuous_flow"],
        "severity": ["critical", "warning"], "state": ["open", "acknowledged"], "score": [0.9, 0.7],
        "event_start": [T0, T0], "last_event_end": [T0 + timedelta(minutes=5), T0 + timedelta(hours=6)],
    })
    figure = alert_timeline(alerts)
    bars = {t.name: t for t in figure.data}
    assert list(bars) == ["critical", "warning"]
    assert bars["critical"].x[0] == 900_000  # short events still show: at least 15 minutes wide
    assert bars["warning"].x[0] == 6 * 3600 * 1000 and bars["warning"].customdata[0][0] == "A2"


def test_chart_shades_the_alert_and_says_when_there_is_no_data():
    frame = pd.DataFrame({"hour": [T0 + timedelta(hours=h) for h in range(5)], "value": [1.0, 2, 3, 2, 1],
                          "low": [0.5] * 5, "high": [3.5] * 5})
    figure = alert_chart(AlertSeries(frame, "Z1-INLET flow", "L/s"), T0, T0 + timedelta(hours=2), "critical")
    assert [t.name for t in figure.data][-1] == "Z1-INLET flow" and figure.layout.yaxis.title.text == "L/s"
    assert len(figure.layout.shapes) == 1
    empty = alert_chart(AlertSeries(frame.iloc[0:0], "Z1-INLET flow", "L/s"), T0, T0, "critical")
    assert "No hourly data for Z1-INLET flow" in empty.layout.annotations[0].text
