"""Registering and correcting meters from an asset register: rows checked alone, history moved with a meter."""

from __future__ import annotations

import pandas as pd
import pytest

from data.store import Store, StoreOptions
from tests.data.builders import at, ingest, query, reading, register_series

ROLLUPS = ("meter_hourly", "meter_daily", "zone_hourly", "zone_daily")


def two_days_of(store: Store, fold_rollups: bool = True) -> None:
    """Three household registers in zone Z1, hourly for two days, plus an inlet."""
    store.register_meters(pd.DataFrame({"meter_id": ["h1", "h2", "h3"], "quantity": "volume", "zone_id": "Z1",
                                        "category": "residential"}))
    readings = [r for meter, step in (("h1", 10), ("h2", 7), ("h3", 3))
                for r in register_series(meter, [i * step for i in range(49)])]
    ingest(store, readings, fold_rollups=fold_rollups)


def rollups(store: Store) -> dict[str, pd.DataFrame]:
    return {table: query(store, f"SELECT * FROM {table} ORDER BY ALL") for table in ROLLUPS}


def assert_rollups_as_rebuilt(store: Store) -> None:
    """The rollups the changes left are those a rebuild from every interval gives."""
    kept = rollups(store)
    store.rebuild_rollups()
    for table, rebuilt in rollups(store).items():
        pd.testing.assert_frame_equal(kept[table], rebuilt, check_exact=False, obj=table)


def zone_litres(store: Store, table: str = "zone_daily") -> dict[tuple[str, str], float]:
    frame = query(store, f"SELECT zone_id, category, sum(volume_l) AS v FROM {table} GROUP BY ALL")
    return {(z, c): v for z, c, v in frame.itertuples(index=False)}


def change(store: Store, *rows: dict[str, str], **options) -> object:
    return store.change_meters([(f"line {i + 2}", row) for i, row in enumerate(rows)], **options)


def test_a_meter_moved_to_another_zone_takes_its_history_with_it(store: Store):
    two_days_of(store)
    assert zone_litres(store) == {("Z1", "residential"): 480 + 336 + 144}
    changes = change(store, {"meter_id": "h1", "zone_id": "Z2"}, {"meter_id": "h3", "category": "commercial"})
    assert changes.moved == ["h1", "h3"] and changes.zones_created == ["Z2"]
    for table in ("zone_daily", "zone_hourly"):
        assert zone_litres(store, table) == {("Z2", "residential"): 480, ("Z1", "residential"): 336,
                                             ("Z1", "commercial"): 144}
    assert_rollups_as_rebuilt(store)


def test_a_new_time_zone_redraws_the_meters_days(store: Store):
    two_days_of(store)
    days_before = query(store, "SELECT day, volume_l FROM meter_daily WHERE meter_id = 'h1' ORDER BY day")
    assert days_before["volume_l"].tolist() == [240, 240]
    assert change(store, {"meter_id": "h1", "tz": "America/New_York"}).retimed == ["h1"]
    days = query(store, "SELECT day::VARCHAR AS day, volume_l FROM meter_daily WHERE meter_id = 'h1' ORDER BY day")
    assert days.values.tolist() == [["2024-05-31", 40.0], ["2024-06-01", 240.0], ["2024-06-02", 200.0]]
    assert_rollups_as_rebuilt(store)


def test_deltas_queued_under_load_are_folded_before_the_history_moves(store: Store):
    two_days_of(store, fold_rollups=False)
    assert store.rollups_pending
    change(store, {"meter_id": "h2", "zone_id": "Z2"})
    assert not store.rollups_pending
    assert zone_litres(store)[("Z2", "residential")] == 336
    assert_rollups_as_rebuilt(store)


def test_a_dry_run_says_what_would_change_and_changes_nothing(store: Store):
    two_days_of(store)
    before = rollups(store) | {"meters": query(store, "SELECT * FROM meters ORDER BY meter_id")}
    changes = change(store, {"meter_id": "h1", "zone_id": "Z2", "tz": "Asia/Tokyo"},
                     {"meter_id": "new-1", "quantity": "flow", "unit": "m3/h", "category": "inlet"}, dry_run=True)
    assert (changes.registered, changes.updated, changes.moved, changes.retimed) == (["new-1"], ["h1"], ["h1"], ["h1"])
    after = rollups(store) | {"meters": query(store, "SELECT * FROM meters ORDER BY meter_id")}
    for table in before:
        pd.testing.assert_frame_equal(before[table], after[table], obj=table)


@pytest.mark.parametrize(("row", "reason"), [
    ({"meter_id": "x y", "quantity": "volume"}, "meter id 'x y' is not one"),
    ({"meter_id": "new", "zone_id": "Z1"}, "a new meter needs its quantity"),
    ({"meter_id": "new", "quantity": "flux"}, "quantity 'flux' is not one of volume, interval_volume, flow"),
    ({"meter_id": "new", "quantity": "flow", "unit": "L"}, "unit 'L' is not a unit of flow"),
    ({"meter_id": "h1", "quantity": "flow"}, "meter h1 is registered as a volume meter; its quantity cannot change"),
    ({"meter_id": "h1", "tz": "Europe/Atlantis"}, "time zone 'Europe/Atlantis' is not an IANA name"),
    ({"meter_id": "h1", "tz": "-"}, "tz cannot be cleared with '-'"),
    ({"meter_id": "h1", "to_zone_id": "Z2"}, "only a meter of category outlet takes it"),
    ({"meter_id": "h1", "category": "outlet", "to_zone_id": "Z1"}, "an outlet into its own zone Z1"),
    ({"meter_id": "h1", "category": "weather"}, "category weather is for weather stations' quantities, not volume"),
    ({"meter_id": "st", "quantity": "rainfall", "category": "inlet"}, "a rainfall meter is a weather station"),
    ({"meter_id": "p1", "quantity": "pressure", "register_size_l": "1e6"}, "register_size_l is for cumulative"),
    ({"meter_id": "h1", "register_size_l": "0"}, "register_size_l '0' is not a positive number"),
    ({"meter_id": "h1", "max_flow_l_s": "lots"}, "max_flow_l_s 'lots' is not a positive number"),
])
def test_a_bad_row_is_refused_with_its_reason_and_the_others_apply(store: Store, row: dict, reason: str):
    two_days_of(store)
    changes = change(store, {"meter_id": "h2", "zone_id": "Z2"}, row)
    assert [r.where for r in changes.refused] == ["line 3"] and reason in changes.refused[0].reason
    assert changes.updated == ["h2"]
    assert query(store, "SELECT zone_id FROM meters WHERE meter_id = 'h1'").values.tolist() == [["Z1"]]


def test_a_meter_given_twice_keeps_its_first_row(store: Store):
    two_days_of(store)
    changes = change(store, {"meter_id": "h1", "zone_id": "Z2"}, {"meter_id": "h1", "zone_id": "Z3"})
    assert changes.refused[0].reason == "meter h1 appears twice; its first row stands"
    assert query(store, "SELECT zone_id FROM meters WHERE meter_id = 'h1'").values.tolist() == [["Z2"]]


def test_an_outlet_made_an_inlet_loses_its_destination_and_takes_the_new_limits(store: Store):
    changes = change(store, {"meter_id": "B-1", "quantity": "flow", "unit": "L/s", "zone_id": "UP",
                             "category": "outlet", "to_zone_id": "DOWN"})
    assert changes.registered == ["B-1"] and changes.zones_created == ["DOWN", "UP"]
    change(store, {"meter_id": "B-1", "category": "inlet"})
    change(store, {"meter_id": "H-1", "quantity": "volume", "category": "residential"},
           {"meter_id": "C-1", "quantity": "volume", "category": "residential", "max_flow_l_s": "5"})
    change(store, {"meter_id": "H-1", "category": "commercial"}, {"meter_id": "C-1", "category": "commercial"})
    meters = query(store, "SELECT meter_id, category, to_zone_id, max_flow_l_s FROM meters ORDER BY meter_id")
    assert meters.astype(object).where(meters.notna(), None).values.tolist() == [
        ["B-1", "inlet", None, 2000.0],
        ["C-1", "commercial", None, 5.0],  # set by hand: kept
        ["H-1", "commercial", None, 20.0],  # the residential default: now the commercial one
    ]


def test_clearing_a_cell_and_leaving_one_empty(store: Store):
    change(store, {"meter_id": "B-1", "quantity": "flow", "zone_id": "UP", "category": "outlet", "to_zone_id": "DOWN",
                   "weather_station": "ST-1"})
    assert change(store, {"meter_id": "B-1", "zone_id": "", "to_zone_id": "-", "weather_station": "-"}).updated
    assert query(store, "SELECT zone_id, to_zone_id, weather_station FROM meters").values.tolist() == [
        ["UP", None, None]]


def test_a_meter_registered_ahead_passes_the_quarantine_policy():
    with Store(":memory:", StoreOptions(unknown_meters="quarantine")) as store:
        change(store, {"meter_id": "m-1", "quantity": "volume", "unit": "m3", "zone_id": "Z1",
                       "category": "residential", "register_size_l": "50000"})
        result = ingest(store, [reading("m-1", at(0), 49.99, unit="m3"), reading("m-1", at(1), 0.01, unit="m3"),
                                reading("m-2", at(0), 1.0, unit="m3")])
        assert (result.stored, result.quarantined) == (2, 1)
        # the register wrapped at the size given (50 m3, not the power of ten it would be taken for): 20 L
        assert query(store, "SELECT volume_l FROM consumption WHERE volume_l > 0").values.tolist() == [[20.0]]
