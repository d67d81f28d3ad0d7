"""Quarantined messages replayed once what refused them is put right: nothing lost, nothing stored twice."""

from __future__ import annotations

import json
import pytest

from data.payload import PayloadLimits, Rejection
from data.store import Store, StoreOptions
from data.validation import ValidationRules, empty_rows
from tests.data.builders import at, ingest, query, reading, validated

RULES = ValidationRules()
LIMITS = PayloadLimits()


@pytest.fixture
def strict_store():
    with Store(":memory:", StoreOptions(unknown_meters="quarantine")) as store:
        yield store


def quarantined(store: Store) -> list[tuple]:
    return [tuple(row) for row in query(store, "SELECT received_at, source, meter_id, reason, payload FROM quarantine "
                                               "ORDER BY ALL").itertuples(index=False)]


def test_readings_of_a_meter_registered_after_they_came_are_stored_on_replay(strict_store: Store):
    store = strict_store
    ingest(store, [reading("new-1", at(0), 100), reading("new-1", at(1), 130), reading("other", at(0), 1)])
    assert len(quarantined(store)) == 3
    store.change_meters([("line 2", {"meter_id": "new-1", "quantity": "volume", "zone_id": "Z1",
                                     "category": "residential"})])
    other_before = [row for row in quarantined(store) if row[2] == "other"]

    done = store.replay_quarantine(RULES, LIMITS)
    assert (done.considered, done.replayed, done.result.stored, done.result.quarantined) == (3, 3, 2, 1)
    assert quarantined(store) == other_before  # still unknown: back as it was, time of arrival and all
    assert query(store, "SELECT zone_id, category, volume_l FROM zone_hourly").values.tolist() == [
        ["Z1", "residential", 30.0]]

    again = store.replay_quarantine(RULES, LIMITS, meter_ids=["other"])
    assert (again.considered, again.result.stored) == (1, 0)


def test_a_dry_run_changes_nothing(strict_store: Store):
    ingest(strict_store, [reading("new-1", at(0), 100)])
    strict_store.change_meters([("x", {"meter_id": "new-1", "quantity": "volume"})])
    before = quarantined(strict_store)
    done = strict_store.replay_quarantine(RULES, LIMITS, dry_run=True)
    assert done.result.stored == 1
    assert quarantined(strict_store) == before and query(strict_store, "SELECT count(*) AS n FROM readings")["n"][0] == 0


def test_a_reading_is_judged_as_of_when_it_arrived(store: Store):
    ingest(store, [reading("m", at(0), 5)], received_at=at(-2))  # 2 h ahead of its arrival
    forty_days_old = validated([reading("m", at(-24 * 40), 1)], received_at=at(0),
                               rules=ValidationRules(max_past_s=30 * 86400))  # a limit since raised to 400 days
    store.ingest(forty_days_old.rows, forty_days_old.rejections)
    refused = quarantined(store)
    assert [row[3].split(" is ")[-1] for row in refused] == ["7200 s in the future", "older than 30 days"]

    done = store.replay_quarantine(RULES, LIMITS, reason_like=None)
    assert (done.considered, done.replayed, done.result.stored) == (2, 1, 1)
    assert quarantined(store) == refused[:1]  # still 2 h ahead of when it arrived: it stays as it was
    assert store.replay_quarantine(RULES, LIMITS, reason_like="%older%").considered == 0


def test_a_message_refused_whole_is_replayed_reading_by_reading(store: Store):
    message = json.dumps([reading("m", at(h), 10.0 * h) for h in range(3)] + [reading("m", at(3), 40, unit="furlong")])
    store.ingest(empty_rows(), [Rejection("message holds 4 readings; the limit is 3", message, "gw-1", at(4)),
                                  Rejection("payload is not valid JSON: unexpected end", "{\"meter_id\": ", "gw-1",
                                            at(4))])
    done = store.replay_quarantine(RULES, LIMITS, reason_like=None)
    assert (done.considered, done.replayed, done.result.stored, done.result.quarantined) == (2, 1, 3, 1)
    reasons = sorted(row[3] for row in quarantined(store))
    assert len(reasons) == 2 and reasons[0].startswith("payload is not valid JSON") and "'furlong'" in reasons[1]
    assert query(store, "SELECT sum(volume_l) AS v FROM meter_hourly")["v"][0] == 20.0
