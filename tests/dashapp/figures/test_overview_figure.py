"""The Overview's live chart: a trace per zone and quantity, and a word where a panel has nothing."""

from __future__ import annotations

import pandas as pd

from dashapp.figures.overview import live_figure


def _points(quantities: list[str]) -> pd.DataFrame:
    stamps = pd.date_range("2025-07-01 10:00", periods=3, freq="15min", tz="UTC")
    return pd.concat([pd.DataFrame({"zone_id": zone, "quantity": q, "ts": stamps, "value": 1.0})
                      for zone in ("Z1", "Z2") for q in quantities], ignore_index=True)


def _notes(figure: dict) -> list[str]:
    return [a["text"] for a in figure["layout"]["annotations"]]


def test_zones_without_pressure_sensors_leave_a_word_in_the_pressure_panel_not_a_blank():
    figure, keys = live_figure(_points(["flow"]), {"Z1": "Colle"}, "L/s", 1.0, "last hour")
    assert keys == [("flow", "Z1"), ("flow", "Z2")] and [t["name"] for t in figure["data"]] == ["Colle", "Z2"]
    assert "No pressure sensor reporting" in _notes(figure)
    both, _ = live_figure(_points(["flow", "pressure"]), {}, "L/s", 1.0, "last hour")
    assert not any(note.startswith("No ") for note in _notes(both)) and len(both["data"]) == 4
