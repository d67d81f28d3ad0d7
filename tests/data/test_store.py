"""The store end to end: validated batches in, the litres, flags and quarantine rows users see out."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.payload import decode_message
from data.quality import Flag
from data.schema import SCHEMA_VERSION
from data.store import Store, StoreOptions, StoreVersionError, byte_size
from data.validation import ValidationRules, validate_readings
from tests.data.builders import (
    T0,
    TOPIC,
    UTC,
    at,
    ingest,
    meter_daily,
    meter_hourly,
    query,
    reading,
    readings_row_groups,
    register_series,
    total_litres,
)
from tests.data.strategies import ITEMS, valid_reading


def flags_by_ts(store: Store, meter_id: str) -> dict[datetime, int]:
    frame = query(store, "SELECT ts, flags FROM readings WHERE meter_id = ? ORDER BY ts", [meter_id])
    return {row.ts.to_pydatetime().replace(tzinfo=UTC): int(row.flags) for row in frame.itertuples()}


def hourly_litres(values: list[float], start: datetime = T0) -> dict[datetime, float]:
    """What meter_hourly must say for hourly register readings starting on the hour."""
    return {(start + timedelta(hours=i)).replace(tzinfo=None): float(b - a)
            for i, (a, b) in enumerate(zip(values, values[1:])) if b != a}


# --- duplicates ----------------------------------------------------------------------------------

def test_same_batch_twice_is_stored_once(store):
    batch = register_series("m-1", [1000, 1100, 1250, 1300])
    first = ingest(store, batch)
    again = ingest(store, batch)
    assert (first.stored, first.duplicates) == (4, 0)
    assert (again.stored, again.duplicates) == (0, 4)
    assert query(store, "SELECT count(*) AS n FROM readings")["n"].iat[0] == 4
    assert total_litres(store, "m-1") == 300.0
    assert meter_hourly(store, "m-1") == hourly_litres([1000, 1100, 1250, 1300])


def test_redelivery_mixed_with_new_readings(store):
    values = [1000 + 60 * i for i in range(9)]
    series = register_series("m-1", values)
    ingest(store, series[:6])
    result = ingest(store, series[3:])
    assert (result.stored, result.duplicates) == (3, 3)
    assert meter_hourly(store, "m-1") == hourly_litres(values)
    assert meter_daily(store, "m-1") == {"2024-06-01": 480.0}


def test_same_meter_and_timestamp_with_another_value_is_a_duplicate(store):
    ingest(store, register_series("m-1", [100, 200, 300]))
    result = ingest(store, [reading("m-1", at(1), 250), reading("m-1", at(3), 400)])
    assert (result.stored, result.duplicates) == (1, 1)
    assert meter_hourly(store, "m-1") == hourly_litres([100, 200, 300, 400])


def test_duplicates_inside_one_batch_count_once(store):
    series = register_series("m-1", [10, 20, 30])
    result = ingest(store, series + series[1:])
    assert (result.stored, result.duplicates) == (3, 2)
    assert total_litres(store, "m-1") == 20.0


def test_same_timestamp_of_another_quantity_is_not_a_duplicate(store):
    result = ingest(store, [reading("m-1", at(1), 100), reading("m-1", at(1), 3.1, "pressure", "bar")])
    assert (result.stored, result.duplicates) == (2, 0)


# --- late and out-of-order readings ----------------------------------------------------------------

def test_late_readings_give_the_same_litres_as_in_order(store):
    values = [1000, 1080, 1200, 1210, 1400, 1450, 1600, 1690]
    series = register_series("m-1", values)
    with Store(":memory:") as in_order:
        ingest(in_order, series)
        expected = meter_hourly(in_order, "m-1")
    ingest(store, [series[i] for i in (0, 1, 4, 5, 7)])
    ingest(store, [series[2], series[3]])
    ingest(store, [series[6]])
    assert meter_hourly(store, "m-1") == expected == hourly_litres(values)
    assert total_litres(store, "m-1") == 690.0
    assert meter_daily(store, "m-1") == {"2024-06-01": 690.0}


def test_late_readings_are_flagged_out_of_order(store):
    series = register_series("m-1", [0, 10, 20, 30, 40, 50, 60])
    ingest(store, [series[i] for i in (0, 1, 2, 5, 6)])
    ingest(store, [series[3], series[4]])  # both older than 05:00, which was stored before them
    flags = flags_by_ts(store, "m-1")
    out_of_order = {ts.hour for ts, f in flags.items() if f & Flag.OUT_OF_ORDER}
    assert out_of_order == {3, 4}


def test_reading_older_than_the_newest_in_its_own_batch_is_out_of_order(store):
    series = register_series("m-1", [0, 10, 20, 30])
    ingest(store, [series[0], series[2], series[1], series[3]])
    out_of_order = {ts.hour for ts, f in flags_by_ts(store, "m-1").items() if f & Flag.OUT_OF_ORDER}
    assert out_of_order == {1}
    assert total_litres(store, "m-1") == 30.0


def test_late_reading_older_than_all_history(store):
    values = [500, 620, 700, 760, 900]
    series = register_series("m-1", values)
    ingest(store, series[2:])
    ingest(store, series[:2])
    assert meter_hourly(store, "m-1") == hourly_litres(values)
    first = query(store, "SELECT ts_end, flags FROM consumption WHERE meter_id = 'm-1' ORDER BY ts_end")
    assert [bool(f & Flag.FIRST) for f in first["flags"]] == [True, False, False, False, False]
    assert bool(flags_by_ts(store, "m-1")[at(0)] & Flag.OUT_OF_ORDER)


def test_late_reading_filling_a_gap_removes_the_estimate(store):
    series = register_series("m-1", [0, 100, 200, 300, 400, 500, 600, 700])
    ingest(store, [series[i] for i in (0, 1, 2, 6, 7)])
    estimated = query(store, "SELECT sum(estimated_l) AS e FROM meter_hourly")["e"].iat[0]
    assert estimated == pytest.approx(400.0)
    ingest(store, series[3:6])
    assert query(store, "SELECT sum(estimated_l) AS e FROM meter_hourly")["e"].iat[0] == pytest.approx(0.0)
    assert meter_hourly(store, "m-1") == {at(h).replace(tzinfo=None): 100.0 for h in range(7)}


def test_late_reading_across_a_rollover(store):
    store.register_meters(pd.DataFrame({"meter_id": ["m-1"], "quantity": ["volume"], "register_size_l": [100_000.0]}))
    values = [99_700, 99_800, 99_950, 50, 150]
    series = register_series("m-1", values)
    ingest(store, [series[i] for i in (0, 1, 3, 4)])
    ingest(store, [series[2]])
    assert list(meter_hourly(store, "m-1").values()) == [100.0, 150.0, 100.0, 100.0]
    assert total_litres(store, "m-1") == 450.0


def test_register_state_continues_across_batches(store):
    ingest(store, register_series("m-1", [1000, 999, 1000.5]))  # backflow held at 1000
    ingest(store, register_series("m-1", [1100], start=at(3)))
    assert total_litres(store, "m-1") == 100.0
    consumption = query(store, "SELECT flags FROM consumption ORDER BY ts_end")["flags"]
    assert not consumption.iat[-1] & Flag.FIRST


# --- meters, zones and the unknown-meter policy ------------------------------------------------------

def test_register_policy_takes_zone_category_and_tz_from_the_reading(store):
    result = ingest(store, [reading("m-1", at(1), 10, zone="north", category="residential", tz="Europe/Rome"),
                            reading("m-1", at(2), 20, zone="north", category="residential", tz="Europe/Rome"),
                            reading("w-1", at(1), 18.5, "air_temperature", "degC")])
    assert result.registered == 2
    meters = query(store, "SELECT * FROM meters ORDER BY meter_id").set_index("meter_id")
    assert meters.loc["m-1", ["zone_id", "category", "tz", "quantity", "unit"]].tolist() == [
        "north", "residential", "Europe/Rome", "volume", "L"]
    assert meters.loc["m-1", "max_flow_l_s"] == 2.0
    assert meters.loc["w-1", "category"] == "weather"
    assert meters.loc["w-1", "tz"] == "UTC"


def test_meter_first_heard_through_pressure_still_gets_consumption(store):
    ingest(store, [reading("m-1", at(0), 3.2, "pressure", "bar")])
    ingest(store, register_series("m-1", [1000, 1100, 1250], start=at(1)))
    ingest(store, [reading("m-1", at(4), 3.1, "pressure", "bar"), reading("m-1", at(4), 1300)])
    assert total_litres(store, "m-1") == 300.0
    assert meter_hourly(store, "m-1") == hourly_litres([1000, 1100, 1250, 1300], start=at(1))
    assert query(store, "SELECT quantity FROM meters")["quantity"].tolist() == ["volume"]
    assert query(store, "SELECT sum(n) AS n FROM reading_hourly WHERE quantity = 'pressure'")["n"].iat[0] == 2


def test_quarantine_policy_keeps_unknown_meters_out(store):
    policy_store = Store(":memory:", StoreOptions(unknown_meters="quarantine"))
    policy_store.register_meters(pd.DataFrame({"meter_id": ["known"], "quantity": ["volume"]}))
    result = ingest(policy_store, [reading("known", at(1), 10), reading("known", at(2), 30),
                                   reading("stranger", at(1), 2.5, unit="m3", seq=7, zone="x"),
                                   reading("known", at(3), "broken")])
    assert (result.stored, result.quarantined, result.registered) == (2, 2, 0)
    quarantined = query(policy_store, "SELECT * FROM quarantine ORDER BY meter_id DESC")
    assert quarantined["meter_id"].tolist() == ["stranger", "known"]
    assert quarantined["reason"].tolist() == ["unknown meter 'stranger': the unknown-meter policy is 'quarantine'",
                                              "value must be a number, got str"]
    assert quarantined["received_at"].tolist() == [at(1, 0.5).replace(tzinfo=None), at(3, 0.5).replace(tzinfo=None)]
    payload = json.loads(quarantined["payload"].iat[0])
    assert payload == {"meter_id": "stranger", "ts": "2024-06-01T01:00:00Z", "quantity": "volume",
                       "value": 2.5, "unit": "m3", "seq": 7, "zone": "x"}
    assert query(policy_store, "SELECT count(*) AS n FROM meters")["n"].iat[0] == 1
    assert query(policy_store, "SELECT DISTINCT meter_id FROM readings")["meter_id"].tolist() == ["known"]
    policy_store.close()


def test_only_an_outlet_takes_the_zone_its_reading_says_its_water_goes_to(store):
    ingest(store, [reading("o-1", at(1), 4, quantity="flow", unit="L/s", zone="up", category="outlet", to_zone="down"),
                   reading("i-1", at(1), 4, quantity="flow", unit="L/s", zone="up", category="inlet", to_zone="down")])
    meters = query(store, "SELECT meter_id, to_zone_id FROM meters ORDER BY meter_id")
    assert meters.astype(object).where(meters.notna(), None).values.tolist() == [["i-1", None], ["o-1", "down"]]


def test_a_store_of_the_earlier_schema_is_upgraded_when_opened_to_write_and_refused_read_only(tmp_path):
    path = tmp_path / "old.duckdb"
    with Store(path) as s:
        s.cursor().execute("ALTER TABLE meters DROP COLUMN to_zone_id; UPDATE schema_info SET version = 1")
    with pytest.raises(StoreVersionError, match="open it once with write access"):
        Store(path, read_only=True)
    with Store(path) as s:
        assert "to_zone_id" in query(s, "SELECT * FROM meters").columns
    with Store(path, read_only=True) as s:
        assert query(s, "SELECT version FROM schema_info")["version"].tolist() == [SCHEMA_VERSION]


def test_zone_rollups_add_meters_by_zone_and_category(store):
    readings = []
    for meter, zone, category, step in [("r-1", "north", "residential", 10), ("r-2", "north", "residential", 20),
                                        ("c-1", "north", "commercial", 300), ("r-3", "south", "residential", 5)]:
        readings += register_series(meter, [1000 + step * i for i in range(4)], zone=zone, category=category)
    ingest(store, readings)
    zones = query(store, "SELECT zone_id, category, sum(volume_l) AS litres FROM zone_hourly GROUP BY ALL")
    assert {(r.zone_id, r.category): r.litres for r in zones.itertuples()} == {
        ("north", "residential"): 90.0, ("north", "commercial"): 900.0, ("south", "residential"): 15.0}
    daily = query(store, "SELECT zone_id, category, day, volume_l FROM zone_daily ORDER BY ALL")
    assert daily["volume_l"].tolist() == [900.0, 90.0, 15.0]
    hour = query(store, "SELECT volume_l FROM zone_hourly WHERE zone_id = 'north' AND category = 'residential' "
                        "AND hour = '2024-06-01 01:00:00'")
    assert hour["volume_l"].tolist() == [30.0]


def test_meter_without_zone_rolls_up_as_unassigned(store):
    ingest(store, register_series("m-1", [0, 40, 100]))
    zones = query(store, "SELECT zone_id, category, sum(volume_l) AS v FROM zone_daily GROUP BY ALL")
    assert zones.to_dict("records") == [{"zone_id": "", "category": "", "v": 100.0}]


# --- quarantine -----------------------------------------------------------------------------------

def test_quarantine_keeps_reason_and_payload_of_every_refused_reading(store):
    payload = json.dumps([
        reading("m-1", at(1), 100), reading("m-1", at(2), "lots"), reading("m-1", at(3), -5),
        reading("m-1", "2024-06-01T04:00:00", 7), 17,
    ]).encode()
    raws, refused = decode_message(payload, TOPIC, at(5), 65_536, 100)
    batch = validate_readings(raws, ValidationRules(), at(5))
    result = store.ingest(batch.rows, refused + batch.rejections)
    assert (result.stored, result.quarantined) == (1, 4)
    rows = query(store, "SELECT * FROM quarantine ORDER BY reason")
    assert rows["reason"].tolist() == [
        "reading must be a JSON object, got int",
        "timestamp '2024-06-01T04:00:00' has no UTC offset",
        "value must be a number, got str",
        "volume -5 L outside the plausible range 0..1e+13 L",
    ]
    assert json.loads(rows["payload"].iat[2])["value"] == "lots"
    assert rows["payload"].iat[0] == "17"
    assert set(rows["source"]) == {"gw-1"}
    assert rows["received_at"].iat[0] == at(5).replace(tzinfo=None)


def test_message_level_refusals_are_quarantined_with_the_raw_text(store):
    raws, refused = decode_message(b'{"meter_id": "m-1", "value": \xff}', TOPIC, at(5), 65_536, 100)
    result = store.ingest(validate_readings(raws, ValidationRules(), at(5)).rows, refused)
    assert (result.stored, result.quarantined) == (0, 1)
    row = query(store, "SELECT reason, payload FROM quarantine").iloc[0]
    assert row["reason"].startswith("payload is not UTF-8")
    assert row["payload"] == '{"meter_id": "m-1", "value": \ufffd}'


def test_unstorable_text_never_blocks_the_rest_of_the_batch(store):
    good = reading("m-1", at(1), 100)
    payload = ('[' + json.dumps(good) + ', {"meter_id": "bad\\ud800", "ts": "2024-06-01T02:00:00Z", '
               '"quantity": "volume", "value": 1, "unit": "L"}, {"meter_id": "m-1", "ts": "2024-06-01T03:00:00Z", '
               '"quantity": "volume", "value": 300, "unit": "L", "note": "\\udc00"}]').encode()
    raws, refused = decode_message(payload, TOPIC, at(5), 65_536, 100)
    batch = validate_readings(raws, ValidationRules(), at(5))
    result = store.ingest(batch.rows, refused + batch.rejections)
    assert (result.stored, result.quarantined) == (1, 2)
    assert len(query(store, "SELECT * FROM quarantine")) == 2


STORABLE_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
DESCRIPTIONS = st.fixed_dictionaries({}, optional={
    "zone": STORABLE_JSON, "category": st.sampled_from(["residential", "inlet"]) | STORABLE_JSON,
    "tz": st.sampled_from(["Europe/Rome", "Mars/Olympus_Mons", "", "../../etc/passwd", "UTC"]) | STORABLE_JSON,
})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ITEMS, st.lists(st.tuples(st.integers(0, 6), DESCRIPTIONS), min_size=1, max_size=3,
                       unique_by=lambda pair: pair[0]))
def test_fuzzed_messages_are_stored_or_quarantined_never_lost(items, good):
    """Valid readings (describing their meter in any odd way) land beside any garbage."""
    items = list(items)
    good_positions = [i for i, _ in good]
    for i, description in good:
        items.insert(min(i, len(items)), {**valid_reading(i), **description})
    raws, refused = decode_message(json.dumps(items, allow_nan=True).encode(), TOPIC, at(12), 1_048_576, 100)
    batch = validate_readings(raws, ValidationRules(), at(12))
    with Store(":memory:") as s:
        result = s.ingest(batch.rows, refused + batch.rejections)
        assert result.stored + result.duplicates + result.quarantined == len(items)
        assert query(s, "SELECT count(*) AS n FROM quarantine")["n"].iat[0] == result.quarantined
        assert query(s, "SELECT count(*) AS n FROM quarantine WHERE reason = ''")["n"].iat[0] == 0
        landed = query(s, "SELECT meter_id, value FROM readings WHERE meter_id LIKE 'good-%' ORDER BY meter_id")
        assert landed["meter_id"].tolist() == sorted(f"good-{i}" for i in good_positions)
        assert landed["value"].tolist() == [1000.0 * int(m.split("-")[1]) for m in landed["meter_id"]]


@pytest.mark.parametrize("extra", [{"tz": "Mars/Olympus_Mons"}, {"tz": 5}, {"category": {"kind": "house"}},
                                   {"zone": ["a", "b"]}, {"category": 3}])
def test_odd_meter_description_in_a_reading_does_not_block_the_batch(store, extra):
    result = ingest(store, [reading("m-1", at(1), 100, **extra), reading("m-1", at(2), 150, **extra),
                            reading("m-2", at(1), 10), reading("m-2", at(2), 30)])
    assert result.stored == 4
    assert total_litres(store, "m-1") == 50.0 and total_litres(store, "m-2") == 20.0
    meter = query(store, "SELECT tz FROM meters WHERE meter_id = 'm-1'")
    assert meter["tz"].iat[0] == "UTC"


# --- reading stats, flags, quality --------------------------------------------------------------------

def test_reading_hourly_stats_for_pressure(store):
    ingest(store, [reading("p-1", at(1, 0), 3.0, "pressure", "bar"),
                   reading("p-1", at(1, 15), 45.0, "pressure", "psi"),
                   reading("p-1", at(1, 30), 250.0, "pressure", "kPa"),
                   reading("p-1", at(2, 0), 40.0, "pressure", "m head")])
    ingest(store, [reading("p-1", at(1, 45), 3.5, "pressure", "bar"),
                   reading("p-1", at(1, 15), 45.0, "pressure", "psi")])  # a redelivery is not counted again
    stats = query(store, "SELECT hour, n, total / n AS mean, minimum, maximum FROM reading_hourly ORDER BY hour")
    first = stats.iloc[0]
    values = [3.0, 45.0 * 0.0689475729, 2.5, 3.5]
    assert first["hour"] == at(1).replace(tzinfo=None)
    assert first["n"] == 4
    assert first["mean"] == pytest.approx(sum(values) / 4)
    assert (first["minimum"], first["maximum"]) == pytest.approx((2.5, 3.5))
    assert stats.iloc[1][["n", "minimum"]].tolist() == [1, pytest.approx(3.92266)]
    assert query(store, "SELECT count(*) AS n FROM meter_hourly")["n"].iat[0] == 0


def test_seq_gap_is_flagged_within_and_across_batches(store):
    series = [reading("m-1", at(h), 100 * h, seq=s) for h, s in [(0, 1), (1, 2), (2, 4), (3, 5)]]
    ingest(store, series)
    ingest(store, [reading("m-1", at(4), 400, seq=9), reading("m-1", at(5), 500, seq=10)])
    flags = flags_by_ts(store, "m-1")
    assert {ts.hour for ts, f in flags.items() if f & Flag.SEQ_GAP} == {2, 4}


def test_batch_mixing_readings_with_and_without_seq_is_stored(store):
    ingest(store, [reading("a", at(0), 0), reading("b", at(0), 0, seq=1)])
    ingest(store, [reading("a", at(1), 100), reading("b", at(1), 100, seq=2)])
    ingest(store, [reading("a", at(2), 200), reading("b", at(2), 200, seq=5)])
    assert {ts.hour for ts, f in flags_by_ts(store, "b").items() if f & Flag.SEQ_GAP} == {2}
    assert total_litres(store, "a") == total_litres(store, "b") == 200.0


def test_largest_sequence_numbers_round_trip(store):
    ingest(store, [reading("m-1", at(0), 0, seq=2**53 - 1)])
    ingest(store, [reading("m-1", at(1), 10, seq=2**53)])
    assert query(store, "SELECT seq FROM readings ORDER BY ts")["seq"].tolist() == [2**53 - 1, 2**53]
    assert not any(f & Flag.SEQ_GAP for f in flags_by_ts(store, "m-1").values())


def test_quality_score_is_stored_with_each_reading(store):
    ingest(store, [reading("m-1", at(5), 500)], received_at=at(5, 1))
    ingest(store, [reading("m-1", at(4), 400)], received_at=at(5, 2))  # late and out of order
    ingest(store, [reading("m-1", at(6), 600)], received_at=at(8))  # late
    quality = query(store, "SELECT ts, quality FROM readings ORDER BY ts")["quality"].tolist()
    assert quality == pytest.approx([0.85, 1.0, 0.95])


def test_implausible_jump_is_flagged_not_charted(store):
    ingest(store, register_series("m-1", [1000, 1100, 900_000, 900_100], category="residential"))
    assert max(meter_hourly(store, "m-1").values()) == 100.0
    flags = query(store, "SELECT flags FROM consumption ORDER BY ts_end")["flags"].tolist()
    assert flags[2] & Flag.IMPLAUSIBLE_JUMP


def test_flow_meter_rollups_hold_integrated_litres(store):
    ingest(store, [reading("f-1", at(0, 15 * i), 3.6, "flow", "m3/h") for i in range(9)])
    assert meter_hourly(store, "f-1") == {at(0).replace(tzinfo=None): 3600.0, at(1).replace(tzinfo=None): 3600.0}


@pytest.mark.parametrize(("start", "hours", "expected"), [
    (datetime(2024, 3, 30, 23, tzinfo=UTC), 23 + 24, {"2024-03-31": 2300.0, "2024-04-01": 2400.0}),
    (datetime(2024, 10, 26, 22, tzinfo=UTC), 25 + 24, {"2024-10-27": 2500.0, "2024-10-28": 2400.0}),
])
def test_daily_rollups_follow_the_meter_local_calendar_on_dst_days(store, start, hours, expected):
    values = [5000 + 100 * i for i in range(hours + 1)]  # 100 L every hour, read on the hour
    series = register_series("m-1", values, start=start, tz="Europe/Rome")
    ingest(store, series[:10], received_at=start + timedelta(days=3))
    ingest(store, series[10:], received_at=start + timedelta(days=3))
    assert meter_daily(store, "m-1") == expected
    assert query(store, "SELECT day, volume_l FROM zone_daily ORDER BY day")["volume_l"].tolist() == list(expected.values())
    assert len(meter_hourly(store, "m-1")) == hours


def test_interval_volume_meter_rollups(store):
    ingest(store, [reading("q-1", at(h), 10 * h, "interval_volume", "L") for h in range(1, 4)])
    ingest(store, [reading("q-1", at(4), 0.04, "interval_volume", "m3")])
    assert meter_hourly(store, "q-1") == {at(h).replace(tzinfo=None): 10.0 * (h + 1) for h in range(4)}
    assert total_litres(store, "q-1") == 100.0


def test_weather_readings_become_hourly_stats_in_canonical_units(store):
    ingest(store, [reading("wx-1", at(1, 10), 68, "air_temperature", "degF"),
                   reading("wx-1", at(1, 40), 77, "air_temperature", "degF"),
                   reading("wx-1", at(1, 40), 0.5, "rainfall", "in"),
                   reading("wx-1", at(1, 40), 5, "wind_speed", "m/s"),
                   reading("wx-1", at(1, 40), 64, "humidity", "%")])
    stats = query(store, "SELECT quantity, n, total / n AS mean, minimum, maximum FROM reading_hourly ORDER BY quantity")
    assert stats.set_index("quantity")["mean"].to_dict() == pytest.approx(
        {"air_temperature": 22.5, "humidity": 64.0, "rainfall": 12.7, "wind_speed": 18.0})
    assert stats.set_index("quantity").loc["air_temperature", ["minimum", "maximum"]].tolist() == pytest.approx([20.0, 25.0])
    assert query(store, "SELECT category FROM meters")["category"].tolist() == ["weather"]
    assert total_litres(store, "wx-1") == 0.0


# --- a file store outlives its process ---------------------------------------------------------------

def test_file_store_survives_close_and_reopen(tmp_path):
    path = tmp_path / "waterline.duckdb"
    with Store(path) as first:
        ingest(first, register_series("m-1", [99_900, 99_950, 99_990], category="commercial", zone="z"))
    with Store(path) as second:
        result = ingest(second, register_series("m-1", [40, 140], start=at(3)))
        assert result.registered == 0
        assert total_litres(second, "m-1") == 90.0 + 50.0 + 100.0
        assert meter_hourly(second, "m-1") == {at(0).replace(tzinfo=None): 50.0, at(1).replace(tzinfo=None): 40.0,
                                               at(2).replace(tzinfo=None): 50.0, at(3).replace(tzinfo=None): 100.0}
        flags = query(second, "SELECT flags FROM consumption ORDER BY ts_end")["flags"].tolist()
        assert flags[3] & Flag.ROLLOVER and not flags[3] & Flag.FIRST
        again = ingest(second, register_series("m-1", [99_950], start=at(1)))
        assert (again.stored, again.duplicates) == (0, 1)
        assert query(second, "SELECT zone_id FROM meters")["zone_id"].tolist() == ["z"]


def test_db_threads_setting_reaches_the_store_and_zero_is_refused():
    from dashapp.runtime import store_options
    from dashapp.settings import SettingsError, load_settings

    settings = load_settings(environ={"WATERLINE_DB_THREADS": "1"})
    with Store(":memory:", store_options(settings)) as store:
        assert store.cursor().execute("SELECT current_setting('threads')").fetchone()[0] == 1
        ingest(store, register_series("m-1", [100.0, 160.0], step=timedelta(hours=1)))
        assert total_litres(store, "m-1") == pytest.approx(60.0)
    with pytest.raises(SettingsError, match="db_threads"):
        load_settings(environ={"WATERLINE_DB_THREADS": "0"})


def test_the_store_reports_its_wal_and_checkpoint_size(tmp_path):
    with Store(tmp_path / "waterline.duckdb") as store:
        assert store.checkpoint_threshold_bytes() == 16 * 2**20  # DuckDB's default
        before = store.wal_bytes()
        ingest(store, register_series("m-1", [100.0, 160.0, 200.0]))
        assert store.wal_bytes() > before
        assert store.try_checkpoint()
        assert store.wal_bytes() == 0
    with Store(":memory:") as memory:
        assert (memory.wal_bytes(), memory.checkpoint_threshold_bytes()) == (0, 0)


def test_a_checkpoint_can_leave_its_row_groups_for_a_later_one_to_merge(tmp_path):
    with Store(tmp_path / "waterline.duckdb") as store:
        vacuum_tasks = store.cursor().execute("SELECT current_setting('max_vacuum_tasks')").fetchall()[0][0]
        for day in range(3):
            ingest(store, register_series("m-1", [100.0 * h for h in range(24)], start=T0 + timedelta(days=day)))
            assert store.try_checkpoint(merge_row_groups=False)
        assert readings_row_groups(store) == 3
        assert store.cursor().execute("SELECT current_setting('max_vacuum_tasks')").fetchall()[0][0] == vacuum_tasks
        ingest(store, register_series("m-1", [5000.0], start=T0 + timedelta(days=3)))
        assert store.try_checkpoint()
        assert readings_row_groups(store) == 1
        assert query(store, "SELECT count(*) AS n FROM readings")["n"].iat[0] == 73


@pytest.mark.parametrize(("text", "size"), [("16.0 MiB", 16 * 2**20), ("1000 bytes", 1000), ("2GB", 2 * 10**9),
                                             ("97.6 KiB", 99942)])
def test_duckdb_sizes_read_as_bytes(text, size):
    assert byte_size(text) == size


def test_an_unreadable_size_is_refused():
    with pytest.raises(ValueError, match="not a size"):
        byte_size("sixteen megabytes")
