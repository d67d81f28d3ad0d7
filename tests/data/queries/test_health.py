"""System health queries: silent meters, quarantine reasons grouped, recorded ingest history."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from data.queries.health import ingest_history, quarantine_reasons, recent_quarantine, silent_meters
from tests.data.builders import T0, at, ingest, reading, register_series


def test_a_meter_is_silent_after_three_of_its_usual_intervals(store):
    quarter = timedelta(minutes=15)
    ingest(store, register_series("steady", range(0, 4000, 100), step=quarter)          # 40 readings, 10 h
           + register_series("quiet", range(0, 2400, 100), step=quarter)              # stops after 6 h
           + register_series("hourly", range(0, 900, 100), step=timedelta(hours=1)))  # stops after 8 h
    now = at(hours=9, minutes=45)
    silent = silent_meters(store.cursor(), now.replace(tzinfo=None))
    assert silent["meter_id"].tolist() == ["quiet"]   # hourly: 1.75 h < 3 h; steady: on time
    assert silent["silent_h"].iat[0] == pytest.approx(4.0)
    assert silent["interval_s"].iat[0] == 900
    later = silent_meters(store.cursor(), at(hours=12).replace(tzinfo=None))
    assert later["meter_id"].tolist() == ["quiet", "hourly", "steady"]   # longest silent first
    assert silent_meters(store.cursor(), now.replace(tzinfo=None), scope=["steady"]).empty


def test_sensors_without_a_register_are_judged_by_their_hourly_counts(store):
    ingest(store, [reading("P-1", at(minutes=15 * i), 3.1, quantity="pressure", unit="bar") for i in range(16)])
    assert silent_meters(store.cursor(), at(hours=4).replace(tzinfo=None)).empty
    silent = silent_meters(store.cursor(), at(hours=8).replace(tzinfo=None))
    assert silent["meter_id"].tolist() == ["P-1"] and silent["interval_s"].iat[0] == pytest.approx(900)


def test_quarantine_reasons_are_grouped_without_their_values(store):
    ingest(store, [reading("M1", at(), 1, quantity="lvl"), reading("M2", at(), 1, quantity="depth"),
                   reading("M3", at(), 1, unit="furlong")])
    reasons = quarantine_reasons(store.cursor())
    kinds = dict(zip(reasons["kind"], reasons["messages"]))
    assert kinds.pop("unknown quantity '…'") == 2
    [(unit_kind, count)] = kinds.items()
    assert count == 1 and unit_kind.startswith("unit '…' is not a unit of volume") and "m3" in unit_kind
    assert "'furlong'" in reasons["reason"].iat[1]
    assert len(recent_quarantine(store.cursor())) == 3
    assert quarantine_reasons(store.cursor(), scope=["M3"])["messages"].tolist() == [1]


def test_ingest_history_gives_rates_between_recorded_rows(store):
    cur = store.cursor()
    base = T0.replace(tzinfo=None)
    for k, (readings, quarantined) in enumerate([(0, 0), (1000, 10), (3000, 10)]):
        cur.execute("INSERT INTO ingest_stats VALUES (?, ?, ?, ?, 0, ?, 5.0, 9.0, ?)",
                    [base + timedelta(seconds=10 * k), readings, readings, readings - quarantined, quarantined, k])
    history = ingest_history(cur, datetime(2000, 1, 1))
    assert history["readings_per_s"].tolist()[1:] == [100.0, 200.0]
    assert history["error_rate"].tolist()[1:] == pytest.approx([0.01, 0.0])
    assert history["queue_depth"].tolist() == [0, 1, 2]


def test_meters_registered_but_never_heard_are_counted(store):
    import pandas as pd

    from data.queries.health import never_reported

    store.register_meters(pd.DataFrame({"meter_id": ["NEW-1", "NEW-2"], "zone_id": "Z1", "category": "residential",
                                        "quantity": "volume", "unit": "L", "tz": "UTC"}))
    ingest(store, register_series("NEW-2", [0, 10]))
    assert never_reported(store.cursor()) == 1
    assert never_reported(store.cursor(), scope=["NEW-2"]) == 0
