"""The store's incremental rollups: however readings are batched, ordered or delayed, the same litres."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.quality import Flag
from data.store import Store
from tests.data.builders import (
    UTC,
    assert_same_rollups,
    ingest,
    query,
    reading,
    register_series,
    rollups,
    total_litres,
)

# --- incremental rollups equal a rebuild and an all-at-once load ---------------------------------------

METERS = {  # meter: (quantity, unit, zone, category, tz)
    "r-rome": ("volume", "L", "A", "commercial", "Europe/Rome"),
    "r-ny": ("volume", "m3", "A", "industrial", "America/New_York"),
    "f-1": ("flow", "L/s", "B", "commercial", "UTC"),
    "q-1": ("interval_volume", "L", "Q", "municipal", "Asia/Kolkata"),
}
#: The first interval of an interval-volume meter is assumed (its usual interval, learned from
#: the readings at hand), so only its total is compared between deliveries.
ASSUMED_FIRST = {"meter_id": "q-1", "zone_id": "Q"}
START = datetime(2024, 10, 26, 20, tzinfo=UTC)  # across the end of summer time in Rome and a day later in NY
STEPS_MIN = [15, 30, 60, 60, 60, 90, 240]


@st.composite
def meter_series(draw, meter_id: str) -> list[dict]:
    quantity, unit, zone, category, tz = METERS[meter_id]
    n = draw(st.integers(2, 10))
    offsets = [0]
    for _ in range(n - 1):
        offsets.append(offsets[-1] + draw(st.sampled_from(STEPS_MIN)))
    out, register = [], draw(st.floats(0, 99_000))
    for minutes in offsets:
        if quantity == "volume":
            event = draw(st.sampled_from(["use"] * 6 + ["backflow", "reset", "jump"]))
            register = {"use": register + draw(st.floats(0, 800)), "backflow": max(register - 1.0, 0.0),
                        "reset": draw(st.floats(0, 50)), "jump": register + 5e8}[event]
            value = register / 1000 if unit == "m3" else register
        elif quantity == "flow":
            value = draw(st.floats(0, 5))
        else:
            value = draw(st.floats(0, 400))
        out.append(reading(meter_id, START + timedelta(minutes=minutes), value, quantity, unit,
                           zone=zone, category=category, tz=tz))
    return out


@st.composite
def deliveries(draw) -> tuple[list[dict], list[list[dict]]]:
    """Every reading, and the same readings as batches in a random order with some redelivered."""
    readings = [r for meter in METERS for r in draw(meter_series(meter))]
    order = draw(st.permutations(range(len(readings))))
    cuts = sorted(draw(st.lists(st.integers(1, len(readings) - 1), max_size=4, unique=True)))
    bounds = [0, *cuts, len(readings)]
    batches = [[readings[i] for i in order[a:b]] for a, b in zip(bounds, bounds[1:])]
    again = draw(st.lists(st.integers(0, len(readings) - 1), max_size=5))
    if again:
        batches.insert(draw(st.integers(1, len(batches))), [readings[i] for i in again])
    return readings, batches


NOW = START + timedelta(days=4)


def without(tables: dict[str, pd.DataFrame], keys: dict[str, str]) -> dict[str, pd.DataFrame]:
    out = {}
    for name, frame in tables.items():
        for column, value in keys.items():
            if column in frame:
                frame = frame[frame[column] != value]
        out[name] = frame.reset_index(drop=True)
    return out


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deliveries(), st.lists(st.booleans(), min_size=6, max_size=6))
def test_incremental_rollups_equal_all_at_once_and_rebuild(delivery, folds):
    """Some batches queue their rollup deltas (as the writer does under load); the last one folds."""
    readings, batches = delivery
    with Store(":memory:") as batched, Store(":memory:") as at_once:
        for i, batch in enumerate(batches):
            ingest(batched, batch, received_at=NOW, now=NOW, fold_rollups=folds[i % len(folds)] or i == len(batches) - 1)
        ingest(at_once, readings, received_at=NOW, now=NOW)
        incremental = rollups(batched)
        assert_same_rollups(without(incremental, ASSUMED_FIRST), without(rollups(at_once), ASSUMED_FIRST),
                            label="batched vs all at once:")
        for meter in METERS:
            assert total_litres(batched, meter) == pytest.approx(total_litres(at_once, meter), rel=1e-9, abs=1e-6)
        stats = "SELECT meter_id, quantity, hour, n, round(total, 6) AS total, minimum, maximum FROM reading_hourly ORDER BY ALL"
        pd.testing.assert_frame_equal(query(batched, stats), query(at_once, stats))
        assert query(batched, "SELECT min(volume_l) AS v FROM consumption")["v"].iat[0] >= 0
        assert incremental["meter_hourly"]["volume_l"].min() > -1e-6
        batched.rebuild_rollups()
        assert_same_rollups(incremental, rollups(batched), label="incremental vs rebuild:")
        stored = query(batched, "SELECT count(*) AS n FROM readings")["n"].iat[0]
        assert stored == len({(r["meter_id"], r["ts"]) for r in readings})


def test_gap_of_a_fifteen_minute_meter_read_live_is_flagged_estimated(store):
    minutes = [0, 15, 30, 45, 60, 75, 90, 105, 180, 195]  # silent for 75 min once
    for m in minutes:
        ingest(store, [reading("m-1", START + timedelta(minutes=m), 10 * m)], received_at=NOW, now=NOW)
    gap = query(store, "SELECT flags FROM consumption WHERE ts_end = ?",
                [(START + timedelta(minutes=180)).replace(tzinfo=None)])["flags"].iat[0]
    assert gap & Flag.ESTIMATED
    assert query(store, "SELECT sum(estimated_l) AS e FROM meter_hourly")["e"].iat[0] == pytest.approx(750.0)


def test_estimated_litres_do_not_depend_on_how_readings_were_batched():
    hours = [0, 1, 2, 3, 4, 5, 7.25, 8.25]  # an hourly meter, silent for 2 h 15 min once
    series = [reading("m-1", START + timedelta(hours=h), 100 * h) for h in hours]
    with Store(":memory:") as batched, Store(":memory:") as at_once:
        for r in series:
            ingest(batched, [r], received_at=NOW, now=NOW)
        ingest(at_once, series, received_at=NOW, now=NOW)
        assert_same_rollups(rollups(batched), rollups(at_once))


def test_gap_flags_after_a_change_of_pace_do_not_depend_on_batching():
    minutes = [0, 60, 120, 180, 195, 210, 310]  # hourly, then every 15 min, then 100 min of silence
    series = [reading("m-1", START + timedelta(minutes=m), float(m)) for m in minutes]
    with Store(":memory:") as batched, Store(":memory:") as at_once:
        for r in series:
            ingest(batched, [r], received_at=NOW, now=NOW)
        ingest(at_once, series, received_at=NOW, now=NOW)
        flags = "SELECT flags FROM consumption ORDER BY ts_end"
        assert query(batched, flags)["flags"].tolist() == query(at_once, flags)["flags"].tolist()
        assert_same_rollups(rollups(batched), rollups(at_once))


def test_random_delivery_orders_give_the_same_totals():
    rng = random.Random(7)
    values = [1000 + 37 * i + (i % 5) * 3 for i in range(30)]
    series = register_series("m-1", values, step=timedelta(minutes=30))
    with Store(":memory:") as ordered:
        ingest(ordered, series)
        expected = rollups(ordered)
    for _ in range(2):
        shuffled = series[:]
        rng.shuffle(shuffled)
        with Store(":memory:") as s:
            for i in range(0, 30, 4):
                ingest(s, shuffled[i:i + 4])
            assert_same_rollups(rollups(s), expected)
            assert total_litres(s, "m-1") == pytest.approx(values[-1] - values[0])


# --- rollup deltas queued under load ----------------------------------------------------------------

def rollup_litres(store: Store, meter_id: str) -> float:
    return float(query(store, "SELECT coalesce(sum(volume_l), 0) AS v FROM meter_hourly WHERE meter_id = ?",
                       [meter_id])["v"].iat[0])


def test_queued_rollup_deltas_wait_for_the_fold_and_survive_a_crash(tmp_path):
    path = tmp_path / "queued.duckdb"
    first = [reading("r-1", START + timedelta(minutes=15 * i), 1000.0 + 10 * i, zone="A") for i in range(5)]
    later = [reading("r-1", START + timedelta(minutes=15 * i), 1000.0 + 10 * i, zone="A") for i in range(5, 9)]
    store = Store(path)
    ingest(store, first, received_at=NOW, now=NOW)
    ingest(store, later, received_at=NOW, now=NOW, fold_rollups=False)
    assert store.rollups_pending
    assert total_litres(store, "r-1") == pytest.approx(80.0)
    assert rollup_litres(store, "r-1") == pytest.approx(40.0)  # the first batch's four intervals
    assert query(store, "SELECT count(*) AS n FROM rollup_deltas")["n"].iat[0] > 0
    store._conn.close()  # the process dies: the queued deltas were committed with their batch

    with Store(path) as reopened:
        assert reopened.rollups_pending
        ingest(reopened, [reading("r-1", START + timedelta(minutes=135), 1090.0, zone="A")], received_at=NOW, now=NOW)
        assert not reopened.rollups_pending
        assert rollup_litres(reopened, "r-1") == pytest.approx(90.0)
        zone = query(reopened, "SELECT sum(volume_l) AS v FROM zone_daily WHERE zone_id = 'A'")["v"].iat[0]
        assert zone == pytest.approx(90.0)
        incremental = rollups(reopened)
        reopened.rebuild_rollups()
        assert_same_rollups(incremental, rollups(reopened), label="folded vs rebuild:")
        assert query(reopened, "SELECT count(*) AS n FROM rollup_deltas")["n"].iat[0] == 0
