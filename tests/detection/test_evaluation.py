"""Scoring detectors against labels: what counts as found, how late, and what is a false alarm."""

from __future__ import annotations

import pandas as pd

from detection.evaluation import score
from detection.events import event, frame

SPAN_START = pd.Timestamp("2025-01-01")
H = pd.Timedelta(hours=1)


def _labels() -> pd.DataFrame:
    rows = [("warm-up drip", "dripping_tap", "A", SPAN_START - 5 * 24 * H, SPAN_START + 40 * H),
            ("toilet", "running_toilet", "B", SPAN_START + 10 * H, SPAN_START + 60 * H)]
    return pd.DataFrame([{"event_id": i, "kind": k, "asset": a, "zone_id": "Z1", "start": s, "end": e, "magnitude": 1.0}
                         for i, k, a, s, e in rows])


def _event(meter_id: str, start: pd.Timestamp, raised_after: pd.Timedelta) -> dict:
    return event(detector="continuous_flow", meter_id=meter_id, zone_id="Z1", kind="continuous_flow", start=start,
                 end=start + 8 * H, raised_at=start + raised_after, score=0.9, explanation="test")


def test_a_leak_from_the_warm_up_is_neither_scored_nor_a_false_alarm():
    series = pd.DataFrame({"meter_id": ["A", "B", "C"], "zone_id": "Z1", "category": "residential",
                           "quantity": "volume"})
    events = frame([_event("A", SPAN_START + 2 * H, 4 * H),
                    _event("B", SPAN_START + 10 * H, 5 * H),
                    _event("C", SPAN_START + 30 * H, 4 * H)])
    scores = score(events, _labels(), series, {"rules": 3.0}, scored_from=SPAN_START)
    rules = scores.by_group.set_index("group").loc["rules"]
    assert rules["events"] == 3 and rules["false alarms"] == 1
    customers = scores.by_kind.set_index(["group", "label kind"]).loc[("rules", "customer leaks (all three)")]
    assert customers["labels"] == 1 and customers["detected"] == 1 and customers["delay median h"] == 5.0


def test_false_alarms_are_counted_per_concern_too():
    series = pd.DataFrame({"meter_id": ["A", "B", "C"], "zone_id": "Z1", "category": "residential",
                           "quantity": "volume"})
    silent = event(detector="silent_meter", meter_id="C", zone_id="Z1", kind="silent_meter", start=SPAN_START,
                   end=SPAN_START + 9 * H, raised_at=SPAN_START + 6 * H, score=0.6, explanation="test")
    events = frame([_event("B", SPAN_START + 10 * H, 5 * H), _event("C", SPAN_START + 30 * H, 4 * H), silent])
    by_concern = score(events, _labels(), series, {"rules": 2.0}).by_concern.set_index(["group", "concern"])
    assert by_concern.loc[("rules", "water_loss"), ["events", "false alarms"]].tolist() == [2, 1]
    assert by_concern.loc[("rules", "water_loss"), "false alarms per 100 meter-months"] == 50.0
    assert by_concern.loc[("rules", "reporting"), ["events", "precision"]].tolist() == [1, 0.0]


def test_a_group_is_scored_only_on_the_labels_of_the_meters_it_scanned():
    """The forest runs on a share of the customer meters: a leak on a meter it never read is not its miss."""
    series = pd.DataFrame({"meter_id": ["A", "B", "C"], "zone_id": "Z1", "category": "residential",
                           "quantity": "volume"})
    labels = pd.concat([_labels(), pd.DataFrame([{"event_id": "drip C", "kind": "dripping_tap", "asset": "C",
                                                  "zone_id": "Z1", "start": SPAN_START + 20 * H,
                                                  "end": SPAN_START + 90 * H, "magnitude": 1.0}])])
    forest = event(detector="isolation_forest", meter_id="B", zone_id="Z1", kind="isolation_forest",
                   start=SPAN_START + 12 * H, end=SPAN_START + 20 * H, raised_at=SPAN_START + 15 * H, score=0.7,
                   explanation="test")
    events = frame([_event("B", SPAN_START + 10 * H, 5 * H), forest])
    scores = score(events, labels, series, {"rules": 3.0, "isolation forest": 2.0}, scored_from=SPAN_START,
                   unscanned={"isolation forest": {"C"}})
    customers = scores.by_kind.set_index(["group", "label kind"]).xs("customer leaks (all three)", level=1)
    assert customers.loc["isolation forest", ["labels", "detected"]].tolist() == [1, 1]
    assert customers.loc["rules", ["labels", "detected"]].tolist() == [2, 1]
