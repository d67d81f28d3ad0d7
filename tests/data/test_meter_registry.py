"""The writer's copy of the meters table: what it holds after batches register meters must be what
a fresh load of the table reads, without reloading every meter for each one registered."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.meter_registry import MeterRegistry
from tests.data.builders import at, ingest, reading


def registry_rows(registry: MeterRegistry, cur) -> dict[str, dict]:
    """Each meter's row as the registry holds it, with its (zone, category) pair instead of its key."""
    ids = registry._load(cur).ids
    rows = registry.lookup(cur, ids)
    out = {}
    for i, meter in enumerate(ids):
        row = {column: rows[column][i] for column in rows.columns if column != "zone_key"}
        row["zone_category"] = tuple(registry.zone_categories[rows["zone_key"][i]])
        row["recent"] = rows.recent[i]
        out[meter] = row
    return out


def assert_same_rows(left: dict[str, dict], right: dict[str, dict]) -> None:
    assert left.keys() == right.keys()
    for meter in left:
        for column, value in left[meter].items():
            other = right[meter][column]
            if isinstance(value, np.ndarray) or isinstance(value, float) or isinstance(value, np.datetime64):
                assert np.array_equal(value, other, equal_nan=True), (meter, column, value, other)
            else:
                assert value == other, (meter, column, value, other)


def test_meters_registered_batch_by_batch_are_held_as_a_fresh_load_reads_them(store):
    ingest(store, [reading("r-1", at(1), 10, zone="north", category="residential"),
                   reading("r-2", at(1), 20, zone="north", category="residential")])
    ingest(store, [reading("r-1", at(2), 15),
                   reading("c-1", at(2), 300, zone="north", category="commercial", tz="Europe/Rome"),
                   reading("p-1", at(2), 3.2, "pressure", "bar", zone="south")])
    ingest(store, [reading("p-1", at(3), 1000, unit="m3"), reading("x-1", at(3), 7)])

    cur = store.cursor()
    fresh = MeterRegistry()
    assert_same_rows(registry_rows(store._registry, cur), registry_rows(fresh, cur))
    held = registry_rows(store._registry, cur)
    assert held["c-1"]["zone_category"] == ("north", "commercial")
    assert held["p-1"]["zone_category"] == ("south", "")
    assert (held["p-1"]["quantity"], held["p-1"]["unit"]) == ("volume", "m3")


def test_a_registered_meter_is_read_back_without_loading_the_others(store):
    cur = store.cursor()
    registry = MeterRegistry()
    store.register_meters(pd.DataFrame({"meter_id": ["a", "b"], "quantity": "volume", "zone_id": "z"}))
    registry.known(cur, np.array(["a"], dtype=object))
    cur.execute("INSERT INTO meters (meter_id, quantity, unit, tz, zone_id, category) "
                "VALUES ('c', 'flow', 'L/s', 'UTC', 'z', 'bulk')")
    cur.execute("UPDATE meters SET zone_id = 'elsewhere' WHERE meter_id = 'a'")  # not seen: nothing reloaded

    registry.admit(cur, np.array(["c", "a"], dtype=object))

    rows = registry.lookup(cur, np.array(["a", "b", "c"], dtype=object))
    assert rows["zone_id"].tolist() == ["z", "z", "z"]
    assert rows["quantity"].tolist() == ["volume", "volume", "flow"]
    assert [tuple(registry.zone_categories[k]) for k in rows["zone_key"]] == [("z", ""), ("z", ""), ("z", "bulk")]
