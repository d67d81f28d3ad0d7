"""Decoding and validation: every refusal has a reason, good neighbours survive, rows are canonical."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.payload import decode_message, source_of
from data.quality import Flag, describe, quality_score
from data.validation import ValidationRules, validate_readings
from tests.data.builders import TOPIC, at, reading, validated
from tests.data.strategies import ITEMS, valid_reading

NOW = at(hours=12)
MAX_BYTES = 65_536
MAX_READINGS = 100


def decode(payload: bytes | str, max_bytes: int = MAX_BYTES, max_readings: int = MAX_READINGS):
    data = payload.encode() if isinstance(payload, str) else payload
    return decode_message(data, TOPIC, NOW, max_bytes, max_readings)


def through(payload: bytes | str, now: datetime = NOW, rules: ValidationRules = ValidationRules()):
    """Decode and validate one message: (rows, every rejection)."""
    raws, refused = decode(payload)
    batch = validate_readings(raws, rules, now)
    return batch.rows, refused + batch.rejections


def good(**changes) -> dict:
    return {**reading("m-1", at(hours=11), 1234.5, unit="L"), **changes}


def reasons(payload: bytes | str, **kwargs) -> list[str]:
    rows, rejections = through(payload, **kwargs)
    assert rows.empty
    return [r.reason for r in rejections]


# --- message level -------------------------------------------------------------------------------

def test_single_object_and_array_both_decode():
    raws, refused = decode(json.dumps(good()))
    assert refused == [] and [r.fields["value"] for r in raws] == [1234.5]
    raws, refused = decode(json.dumps([good(value=1), good(value=2)]))
    assert refused == [] and [r.fields["value"] for r in raws] == [1, 2]
    assert {r.source for r in raws} == {"gw-1"}


def test_source_is_the_topic_below_the_readings_root():
    assert source_of("waterline/v1/readings/site-4/gw-2") == "site-4/gw-2"
    assert source_of("other/topic") == "other/topic"


def test_oversized_payload_is_refused_with_its_size_and_head_kept():
    payload = json.dumps([good(value=i) for i in range(40)]).encode()
    raws, refused = decode(payload, max_bytes=1000)
    assert raws == []
    assert refused[0].reason == f"payload of {len(payload)} bytes exceeds the 1000-byte limit"
    assert refused[0].payload.startswith('[{"meter_id": "m-1"')


def test_bad_utf8_is_refused_and_the_payload_kept_readably():
    payload = b'{"meter_id": "m-\xff\xfe", "value": 1}'
    raws, refused = decode(payload)
    assert raws == []
    assert refused[0].reason == "payload is not UTF-8 (invalid start byte at byte 16)"
    assert refused[0].payload.startswith('{"meter_id": "m-')


def test_not_json_is_refused():
    raws, refused = decode(b"meter m-1 value 3")
    assert raws == [] and refused[0].reason.startswith("payload is not valid JSON")
    assert refused[0].payload == "meter m-1 value 3"


def test_empty_array_is_refused():
    raws, refused = decode(b"[]")
    assert raws == [] and [r.reason for r in refused] == ["payload is an empty array"]


def test_too_many_readings_in_one_message_are_refused():
    raws, refused = decode(json.dumps([good(value=i) for i in range(5)]), max_readings=4)
    assert raws == []
    assert refused[0].reason == "message holds 5 readings, more than the limit of 4"


def test_non_object_array_items_are_refused_one_by_one_and_objects_kept():
    raws, refused = decode(json.dumps([good(value=1), 42, "text", [good()], None, good(value=2)]))
    assert [r.fields["value"] for r in raws] == [1, 2]
    assert [r.reason for r in refused] == [
        "reading must be a JSON object, got int",
        "reading must be a JSON object, got str",
        "reading must be a JSON object, got list",
        "reading must be a JSON object, got NoneType",
    ]
    assert refused[0].payload == "42"


def test_a_bare_number_is_not_a_reading():
    assert reasons("17") == ["reading must be a JSON object, got int"]


# --- field level ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("missing", "reason"),
    [
        ("meter_id", "meter_id missing or not an id of 1-64 letters, digits and ._:@/-"),
        ("quantity", "unknown quantity None"),
        ("unit", "unit None is not a unit of volume"),
        ("value", "value must be a number, got NoneType"),
        ("ts", "ts must be an ISO 8601 string with offset or epoch milliseconds"),
    ],
)
def test_missing_field_is_refused_with_its_reason(missing, reason):
    fields = good()
    del fields[missing]
    [text] = reasons(json.dumps(fields))
    assert text.startswith(reason)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"value": True}, "value must be a number, got bool"),
        ({"value": "12.5"}, "value must be a number, got str"),
        ({"value": [1]}, "value must be a number, got list"),
        ({"meter_id": 17}, "meter_id missing or not an id"),
        ({"meter_id": "has space"}, "meter_id missing or not an id"),
        ({"meter_id": "x" * 65}, "meter_id missing or not an id"),
        ({"quantity": "salinity"}, "unknown quantity 'salinity'"),
        ({"quantity": "level_pct", "unit": "%"}, "unknown quantity 'level_pct'"),
        ({"unit": "bar"}, "unit 'bar' is not a unit of volume (accepted: L, US gal, ft3, gal, l, m3)"),
        ({"ts": True}, "ts must be an ISO 8601 string with offset or epoch milliseconds"),
        ({"ts": None}, "ts must be an ISO 8601 string with offset or epoch milliseconds"),
        ({"seq": "7"}, "seq must be an integer between -2**53 and 2**53"),
        ({"seq": True}, "seq must be an integer between -2**53 and 2**53"),
        ({"seq": 1.5}, "seq must be an integer between -2**53 and 2**53"),
    ],
)
def test_wrong_type_is_refused_with_its_reason(changes, reason):
    [text] = reasons(json.dumps(good(**changes)))
    assert text.startswith(reason)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_in_json_are_refused(literal):
    payload = json.dumps(good(value=0)).replace('"value": 0', f'"value": {literal}')
    [text] = reasons(payload)
    assert text == f"value is {float(literal)} (NaN or infinite)"


@pytest.mark.parametrize(
    ("quantity", "value", "unit", "reason"),
    [
        ("volume", -1, "L", "volume -1 L outside the plausible range 0..1e+13 L"),
        ("interval_volume", -0.5, "m3", "interval_volume -500 L outside the plausible range 0..1e+10 L"),
        ("flow", 200_000, "L/s", "flow 200000 L/s outside the plausible range -100000..100000 L/s"),
        ("flow", -3_600_000, "m3/h", "flow -1e+06 L/s outside the plausible range -100000..100000 L/s"),
        ("pressure", 1500, "psi", "pressure 103.421 bar outside the plausible range -1..100 bar"),
        ("pressure", -2, "bar", "pressure -2 bar outside the plausible range -1..100 bar"),
        ("level", 101, "%", "level 101 % outside the plausible range 0..100 %"),
        ("level", 600, "m", "level 600 m outside the plausible range -10..500 m"),
        ("air_temperature", 150, "degF", "air_temperature 65.5556 degC outside the plausible range -90..60 degC"),
        ("humidity", 120, "%", "humidity 120 % outside the plausible range 0..100 %"),
        ("rainfall", -1, "mm", "rainfall -1 mm outside the plausible range 0..500 mm"),
        ("wind_speed", 600, "km/h", "wind_speed 600 km/h outside the plausible range 0..500 km/h"),
    ],
)
def test_out_of_range_values_are_refused_in_canonical_units(quantity, value, unit, reason):
    assert reasons(json.dumps(good(quantity=quantity, value=value, unit=unit))) == [reason]


def test_flow_against_the_meters_marked_direction_is_kept_with_its_sign():
    rows, rejections = through(json.dumps(good(quantity="flow", value=-3, unit="L/min")))
    assert rejections == []
    assert rows["value"].iat[0] == pytest.approx(-0.05)


@pytest.mark.parametrize("ts", ["2024-06-01T11:00:00", "2024-06-01 11:00:00", "2024-06-01"])
def test_naive_iso_timestamp_is_refused(ts):
    assert reasons(json.dumps(good(ts=ts))) == [f"timestamp {ts!r} has no UTC offset"]


@pytest.mark.parametrize("ts", ["2024-06-31T11:00:00Z", "2024-06-01T25:00:00+02:00", "yesterdayT10:00-"])
def test_invalid_iso_timestamp_is_refused(ts):
    assert reasons(json.dumps(good(ts=ts))) == [f"timestamp {ts!r} is not a valid ISO 8601 time"]


def test_timestamps_with_any_offset_are_stored_in_utc():
    rows, rejections = through(json.dumps([
        good(ts="2024-06-01T13:00:00+02:00", value=1),
        good(ts="2024-06-01T06:00:00-05:00", value=2),
        good(ts="2024-06-01T16:30:00.000+0530", value=3),
    ]))
    assert rejections == []
    assert [t.isoformat() for t in rows["ts"]] == ["2024-06-01T11:00:00+00:00"] * 3


def test_epoch_milliseconds_are_accepted():
    millis = int(at(hours=11, minutes=30).timestamp() * 1000)
    rows, rejections = through(json.dumps(good(ts=millis)))
    assert rejections == []
    assert rows["ts"].iat[0] == at(hours=11, minutes=30)


@pytest.mark.parametrize("ts", [int(at(hours=11).timestamp()), 4_102_444_800_000, -1])
def test_epoch_seconds_and_far_epochs_are_refused(ts):
    assert reasons(json.dumps(good(ts=ts))) == [
        f"epoch timestamp {ts} is not milliseconds between 2000 and 2100"
    ]


def test_future_limit_is_max_future_seconds_after_now():
    rules = ValidationRules(max_future_s=600)
    rows, rejections = through(json.dumps([
        good(ts=(NOW + timedelta(seconds=590)).isoformat(), value=1),
        good(ts=(NOW + timedelta(seconds=660)).isoformat(), value=2),
    ]), rules=rules)
    assert rows["value"].tolist() == [1.0]
    assert [r.reason for r in rejections] == ["timestamp 2024-06-01T12:11:00+00:00 is 660 s in the future"]


def test_past_limit_is_max_past_seconds_before_now():
    rules = ValidationRules(max_past_s=30 * 86400)
    rows, rejections = through(json.dumps([
        good(ts=(NOW - timedelta(days=29)).isoformat(), value=1),
        good(ts=(NOW - timedelta(days=31)).isoformat(), value=2),
    ]), rules=rules)
    assert rows["value"].tolist() == [1.0]
    assert [r.reason for r in rejections] == ["timestamp 2024-05-01T12:00:00+00:00 is older than 30 days"]


def test_past_limit_can_be_switched_off_for_imports():
    rows, rejections = through(json.dumps(good(ts="2001-01-01T00:00:00Z")), rules=ValidationRules(max_past_s=None))
    assert rejections == [] and len(rows) == 1


def test_bad_readings_do_not_spoil_their_neighbours():
    rows, rejections = through(json.dumps([
        good(value=10),
        good(value=float("nan")),
        good(value=20, unit="furlong"),
        good(value=30, ts="2024-06-01T11:00:00"),
        good(value=40, quantity="pressure", unit="bar"),
        good(value=-5),
        good(value=50),
    ]))
    assert rows["value"].tolist() == [10.0, 40.0, 50.0]
    assert len(rejections) == 4
    assert all(r.reason and r.meter_id == "m-1" and r.source == "gw-1" for r in rejections)
    assert json.loads(rejections[1].payload)["unit"] == "furlong"


def test_rows_are_canonical_and_keep_the_original_unit():
    rows, rejections = through(json.dumps([
        good(value=2.5, unit="m3", seq=41),
        good(quantity="flow", value=36, unit="m3/h"),
        good(quantity="pressure", value=50, unit="psi"),
        good(quantity="level", value=40, unit="%"),
        good(quantity="air_temperature", value=50, unit="degF"),
    ]))
    assert rejections == []
    assert rows["quantity"].tolist() == ["volume", "flow", "pressure", "level_pct", "air_temperature"]
    assert rows["unit"].tolist() == ["L", "L/s", "bar", "%", "degC"]
    assert rows["orig_unit"].tolist() == ["m3", "m3/h", "psi", "%", "degF"]
    assert rows["value"].tolist() == pytest.approx([2500.0, 10.0, 50 * 0.0689475729, 40.0, 10.0])
    assert rows["seq"].iat[0] == 41 and rows["seq"].isna().sum() == 4
    assert rows["source"].tolist() == ["gw-1"] * 5


def test_extra_fields_are_kept_as_attrs_json():
    rows, _ = through(json.dumps([good(battery_v=3.6, zone="north", fw={"v": "1.2"}), good(value=1)]))
    assert json.loads(rows["attrs"].iat[0]) == {"battery_v": 3.6, "zone": "north", "fw": {"v": "1.2"}}
    assert rows["attrs"].isna().iat[1]


def test_late_reading_is_flagged_late_but_kept():
    late = validated([reading("m-1", at(hours=9), 5)], received_at=at(hours=10, minutes=1), now=NOW)
    fresh = validated([reading("m-1", at(hours=9), 5)], received_at=at(hours=9, minutes=59), now=NOW)
    assert late.rows["flags"].tolist() == [int(Flag.LATE)]
    assert fresh.rows["flags"].tolist() == [0]


def test_timestamp_slightly_ahead_is_flagged_clock_ahead_but_kept():
    batch = validated([reading("m-1", NOW + timedelta(seconds=300), 1),
                       reading("m-1", NOW + timedelta(seconds=30), 2)], received_at=NOW, now=NOW)
    assert batch.rejections == []
    assert batch.rows["flags"].tolist() == [int(Flag.CLOCK_AHEAD), 0]


def test_quality_score_condenses_flags():
    flags = [0, int(Flag.LATE), int(Flag.CLOCK_AHEAD | Flag.LATE), int(Flag.IMPLAUSIBLE_JUMP | Flag.ESTIMATED)]
    assert quality_score(flags).tolist() == pytest.approx([1.0, 0.95, 0.75, 0.0])
    assert describe(int(Flag.LATE | Flag.SEQ_GAP)) == ["late", "seq_gap"]


def test_large_numbers_are_refused_not_crashing_the_batch():
    rows, rejections = through(
        '[{"meter_id": "m-1", "ts": "2024-06-01T11:00:00Z", "quantity": "volume", "unit": "L", "value": 1e400},'
        ' {"meter_id": "m-1", "ts": "2024-06-01T11:00:00Z", "quantity": "volume", "unit": "L", "value": 1' + "0" * 400 + "},"
        ' {"meter_id": "m-1", "ts": 1' + "0" * 400 + ', "quantity": "volume", "unit": "L", "value": 1},'
        ' {"meter_id": "m-1", "ts": "2024-06-01T11:00:00Z", "quantity": "volume", "unit": "L", "value": 1, "seq": 1' + "0" * 30 + "},"
        ' {"meter_id": "m-1", "ts": "2024-06-01T11:00:00Z", "quantity": "volume", "unit": "L", "value": 7}]'
    )
    assert rows["value"].tolist() == [7.0]
    assert sorted(r.reason for r in rejections) == [
        "seq must be an integer between -2**53 and 2**53",
        "ts must be an ISO 8601 string with offset or epoch milliseconds",
        "value is an integer too large to be a measurement",
        "value is inf (NaN or infinite)",
    ]


def test_text_that_is_not_unicode_in_extra_fields_is_refused():
    payload = '[{"meter_id": "m-1", "ts": "2024-06-01T11:00:00Z", "quantity": "volume", "unit": "L", "value": 1, "note": "\\ud800"}, ' \
              '{"meter_id": "m-1", "ts": "2024-06-01T11:00:00Z", "quantity": "volume", "unit": "L", "value": 2, "note": "ok \\u00e9"}]'
    rows, rejections = through(payload)
    assert rows["value"].tolist() == [2.0]
    assert json.loads(rows["attrs"].iat[0]) == {"note": "ok \u00e9"}
    assert "not valid Unicode" in rejections[0].reason
    assert rejections[0].payload.encode("utf-8")


# --- fuzz ----------------------------------------------------------------------------------------

def _check_conservation(raws, refused, items: int | None, batch) -> None:
    for rejection in refused + batch.rejections:
        assert isinstance(rejection.reason, str) and rejection.reason.strip()
        assert isinstance(rejection.payload, str)
        for text in (rejection.reason, rejection.payload, rejection.meter_id or ""):
            text.encode("utf-8")  # the quarantine table can hold it
    for attrs in batch.rows["attrs"].dropna():
        json.loads(attrs.encode("utf-8"))
    assert len(batch.rows) + len(batch.rejections) == len(raws)
    if items is not None:
        assert len(raws) + len(refused) == items
    assert not batch.rows["value"].isna().any()
    assert batch.rows["ts"].notna().all()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_bytes_never_raise(payload):
    raws, refused = decode(payload)
    batch = validate_readings(raws, ValidationRules(), NOW)
    _check_conservation(raws, refused, None, batch)
    assert raws or refused


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ITEMS, st.lists(st.integers(0, 6), max_size=4, unique=True), st.booleans())
def test_fuzz_jsonish_readings_never_raise_and_good_ones_survive(items, good_positions, as_array):
    items = list(items)
    expected = []
    for i in good_positions:
        items.insert(min(i, len(items)), valid_reading(i))
        expected.append(i)
    if not as_array:
        items = items[:1]
        expected = [i for i in expected if items and items[0] == valid_reading(i)]
    document = items if as_array else (items[0] if items else {})
    text = json.dumps(document, allow_nan=True)
    raws, refused = decode(text)
    batch = validate_readings(raws, ValidationRules(), NOW)
    _check_conservation(raws, refused, len(items) if as_array and items else None, batch)
    kept = batch.rows[batch.rows["meter_id"].str.startswith("good-")]
    assert sorted(kept["meter_id"]) == sorted(f"good-{i}" for i in expected)
    for row in kept.itertuples():
        i = int(row.meter_id.split("-")[1])
        assert row.value == pytest.approx(1000.0 * i)
        assert json.loads(row.attrs) == {"note": "kept"}
    for rejection in batch.rejections:
        assert rejection.payload
        json.loads(rejection.payload)  # the quarantined reading is still JSON
