"""The writer's batch decoder: DuckDB's fast path must give exactly what the reading-by-reading path gives."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.batch_decode import BatchDecoder
from data.ingest_queue import Envelope
from data.payload import PayloadLimits
from data.validation import ValidationRules, validate_readings
from tests.data.builders import TOPIC, at, reading
from tests.data.strategies import ITEMS, valid_reading

NOW = at(hours=12)
LIMITS = PayloadLimits(max_bytes=65_536, max_readings=100)
RULES = ValidationRules()


@pytest.fixture(scope="module")
def decoder():
    decoder = BatchDecoder(LIMITS)
    yield decoder
    decoder.close()


def envelopes(payloads: list[bytes | str], topic: str = TOPIC) -> list[Envelope]:
    return [Envelope(mid, 1, 0, [], [], NOW, p.encode() if isinstance(p, str) else p, topic)
            for mid, p in enumerate(payloads, start=1)]


def one_by_one(batch: list[Envelope]):
    """The careful path alone: every message decoded and every reading validated in Python."""
    raws, refused = [], []
    for envelope in batch:
        readings, rejections = envelope.decoded(LIMITS)
        raws += readings
        refused += rejections
    validated = validate_readings(raws, RULES, NOW)
    return validated.rows, refused + validated.rejections


def assert_same_as_one_by_one(decoder: BatchDecoder, batch: list[Envelope]) -> None:
    validated, seen = decoder.validate(batch, RULES, NOW)
    rows, rejections = one_by_one(batch)
    pd.testing.assert_frame_equal(validated.rows, rows)
    key = lambda r: (r.reason, r.payload, r.source, r.meter_id)  # noqa: E731
    assert sorted(map(key, validated.rejections)) == sorted(map(key, rejections))
    assert seen == len(rows) + len(rejections)


def good(meter: str = "m-1", minutes: int = 0, **changes) -> dict:
    return {**reading(meter, at(hours=11, minutes=minutes), 1234.5 + minutes, unit="L", seq=minutes), **changes}


def test_well_formed_messages_take_the_fast_path(decoder):
    batch = envelopes([json.dumps([good("m-1", i), good("m-2", i, ts=int(at(hours=11, minutes=i).timestamp() * 1000))])
                       for i in range(5)] + [json.dumps(good("m-3", 7))])
    rows, message, careful = decoder._fast(batch, list(range(len(batch))), RULES, NOW)
    assert careful == [] and len(rows) == 11 and list(message) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5]
    assert_same_as_one_by_one(decoder, batch)


@pytest.mark.parametrize("payload", [
    json.dumps(good(battery=87)),                                        # an attribute to keep
    '{"meter_id":"m-1","ts":"2024-06-01T11:00:00+00:00","quantity":"volume","value":1,"value":2,"unit":"L"}',
    '{"meter_id" : "m-1", "ts" : "2024-06-01T11:00:00+00:00", "quantity" : "volume", "value" : 1, "unit" : "L"}',
    json.dumps(good(value=True)), json.dumps(good(value="12")), json.dumps(good(seq=1.5)), json.dumps(good(seq=None)),
    json.dumps(good(seq=2**60)), json.dumps(good(meter_id="caf\u00e9"), ensure_ascii=False), json.dumps(good(ts=12)),
    json.dumps(good(ts="2024-06-01T11:00:00")), json.dumps(good(unit="gallons")), json.dumps(good(quantity="pressure", unit="bar", value=1e9)),
    '{"meter_id":"m-1","ts":"2024-06-01T11:00:00Z","quantity":"volume","value":NaN,"unit":"L"}',
    json.dumps([good(), None, 3]), "[]", "{}", "not json", b"\xff\xfe", json.dumps([good()] * 101),
    json.dumps(good(meter_id="m-\\ud800")), '{"meter_id":"m-\\ud800","ts":"2024-06-01T11:00:00Z","quantity":"volume","value":1,"unit":"L"}',
])
def test_anything_unusual_goes_the_careful_way_with_the_same_result(decoder, payload):
    batch = envelopes([json.dumps(good("m-0")), payload, json.dumps([good("m-5", 3), good("m-6", 4)])])
    rows, _, careful = decoder._fast(batch, [0, 1, 2], RULES, NOW)
    assert careful == [1] and list(rows["meter_id"]) == ["m-0", "m-5", "m-6"]
    assert_same_as_one_by_one(decoder, batch)


def test_escaped_texts_read_as_the_careful_path_reads_them(decoder):
    escaped = '{"meter_id":"m-\\u0031","ts":"2024-06-01T11:00:00Z","quantity":"vol\\u0075me","value":1,"unit":"L"}'
    quoted = '{"meter_id":"m-\\"1","ts":"2024-06-01T11:00:00Z","quantity":"volume","value":1,"unit":"L"}'
    rows, _, careful = decoder._fast(envelopes([escaped, quoted]), [0, 1], RULES, NOW)
    assert careful == [1] and list(rows["meter_id"]) == ["m-1"] and list(rows["quantity"]) == ["volume"]
    assert_same_as_one_by_one(decoder, envelopes([escaped, quoted]))


def test_rows_keep_message_order_when_both_paths_mix(decoder):
    batch = envelopes([json.dumps(good("m-1", 1)), json.dumps(good("m-2", 2, note="kept")), json.dumps(good("m-3", 3))])
    validated, _ = decoder.validate(batch, RULES, NOW)
    assert list(validated.rows["meter_id"]) == ["m-1", "m-2", "m-3"]
    assert validated.rows["attrs"].iat[1] == '{"note": "kept"}'


def test_an_undecoded_oversized_message_is_refused_by_the_writer_too(decoder):
    validated, seen = decoder.validate(envelopes(["[" + ",".join([json.dumps(good())] * 600) + "]"]), RULES, NOW)
    assert validated.rows.empty and seen == 1
    assert "exceeds the 65536-byte limit" in validated.rejections[0].reason


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ITEMS, min_size=1, max_size=5), st.lists(st.booleans(), min_size=5, max_size=5))
def test_fast_and_careful_paths_agree_on_any_batch(decoder, messages, as_object):
    payloads = [json.dumps(items[0] if as_object[i] and len(items) == 1 else items + [valid_reading(i)])
                for i, items in enumerate(messages)]
    payloads.append(json.dumps([{k: v for k, v in valid_reading(9).items() if k != "note"}]))
    assert_same_as_one_by_one(decoder, envelopes(payloads))
