"""A district fed through two inlets, or through another's outlet: its night flow is the signed sum of its
supply points, as the Zones page reads it."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from detection.zone_inflow import zone_inflows
from detection.scan import scan_range
from tests.detection import series as s

DAY = pd.Timedelta(days=1)
SCAN_START = s.START + 28 * DAY
SCAN_END = s.START + s.DAYS * DAY
SPLIT_FROM = s.START + 30 * DAY          # a valve moves: inlet A now carries 90 % of ZS, not 40 %
LEAK_FROM = s.START + 30 * DAY


def _split(zone_flow: pd.Series, share_a: np.ndarray) -> tuple[pd.Series, pd.Series]:
    return zone_flow * share_a, zone_flow * (1 - share_a)


@pytest.fixture(scope="module")
def two_inlet_events(tmp_path_factory):
    shifted = s.inlet_flow(seed=71)
    share = np.where(shifted.index >= SPLIT_FROM, 0.9, 0.4)
    shifted_a, shifted_b = _split(shifted, share)
    leaking = s.inlet_flow(seed=72, step_l_s=0.3, step_from=LEAK_FROM, step_hours=24 * 10)
    leaking_a, leaking_b = _split(leaking, np.full(len(leaking), 0.5))
    leaking_b = leaking_b.iloc[1::2]     # inlet B of ZL logs every 30 min, A every 15
    frames = [s.sensor_readings(meter, values, "flow", "L/s") for meter, values in
              (("ZS-A", shifted_a), ("ZS-B", shifted_b), ("ZL-A", leaking_a), ("ZL-B", leaking_b))]
    meters = s.meters_frame([(m, m[:2], "inlet", "flow") for m in ("ZS-A", "ZS-B", "ZL-A", "ZL-B")])
    return _scanned(tmp_path_factory.mktemp("two-inlets") / "store.duckdb", frames, meters)


def _scanned(path, frames: list[pd.DataFrame], meters: pd.DataFrame) -> pd.DataFrame:
    """Every event of the scan window in a store of these readings."""
    s.store_with(path, *frames, meters=meters).close()
    with duckdb.connect(str(path), read_only=True) as conn:
        return scan_range(conn.cursor(), None, SCAN_START, SCAN_END, internal=True)


def test_flow_moving_between_a_zones_inlets_is_not_a_leak(two_inlet_events):
    rises = two_inlet_events[two_inlet_events["kind"] == "night_flow_rise"]
    assert not (rises["zone_id"] == "ZS").any(), rises["explanation"].tolist()


def test_a_leak_in_a_zone_with_two_inlets_is_one_rise_of_their_sum(two_inlet_events):
    rises = two_inlet_events[(two_inlet_events["kind"] == "night_flow_rise") & (two_inlet_events["zone_id"] == "ZL")]
    assert list(rises["meter_id"]) == ["ZONE:ZL"]
    assert _rise_l_s(rises.iloc[0]) == pytest.approx(0.3, abs=0.05)
    assert "its 2 inlets (ZL-A, ZL-B)" in rises.iloc[0]["explanation"]


def _rise_l_s(event: pd.Series) -> float:
    """The rise a night-flow event's explanation states."""
    return float(event["explanation"].split("a rise of about ")[1].split(" L/s")[0])


def test_inlets_are_summed_where_all_have_a_reading_and_single_inlets_stay_as_they_are():
    ts = pd.date_range("2025-01-01", periods=4, freq="15min")
    flows = pd.DataFrame({"meter_id": ["A"] * 4 + ["B"] * 2 + ["C"] * 4,
                          "ts": list(ts) + [ts[0], ts[2]] + list(ts),
                          "value": [1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 5.0, 5.0, 5.0, 5.0]})
    series = pd.DataFrame({"meter_id": ["A", "B", "C"], "zone_id": ["Z", "Z", "Y"], "category": "inlet",
                           "quantity": "flow", "tz": "UTC", "interval_s": [900.0, 1800.0, 900.0]})
    summed, zone_series = zone_inflows(flows, series)
    z = summed[summed["meter_id"] == "ZONE:Z"].set_index("ts")["value"]
    assert z.tolist() == [3.0, 3.0, 4.0, 4.0]         # B's 30-min reading stands for the quarter hour after it
    assert summed[summed["meter_id"] == "C"]["value"].tolist() == [5.0] * 4
    assert set(zone_series["meter_id"]) == {"ZONE:Z", "C"}
    assert zone_series.set_index("meter_id").at["ZONE:Z", "zone_id"] == "Z"


def test_while_an_inlet_is_silent_its_zones_inflow_is_unknown():
    ts = pd.date_range("2025-01-01", periods=8, freq="15min")
    flows = pd.DataFrame({"meter_id": ["A"] * 8 + ["B"], "ts": list(ts) + [ts[0]], "value": [1.0] * 8 + [2.0]})
    series = pd.DataFrame({"meter_id": ["A", "B"], "zone_id": "Z", "category": "inlet", "quantity": "flow",
                           "tz": "UTC", "interval_s": 900.0})
    summed, _ = zone_inflows(flows, series)
    assert summed["ts"].tolist() == list(ts[:2]) and summed["value"].tolist() == [3.0, 3.0]


@pytest.fixture(scope="module")
def cascade_events(tmp_path_factory):
    """UP takes its inflow through UP-IN and passes DOWN's on through UP-DOWN; a leak of 0.3 L/s in DOWN."""
    down = s.inlet_flow(seed=81, step_l_s=0.3, step_from=LEAK_FROM, step_hours=24 * 10)
    up_own = s.inlet_flow(seed=82)
    frames = [s.sensor_readings("UP-IN", up_own + down, "flow", "L/s"),
              s.sensor_readings("UP-DOWN", down, "flow", "L/s")]
    meters = s.meters_frame([("UP-IN", "UP", "inlet", "flow"), ("UP-DOWN", "UP", "outlet", "flow")])
    meters["to_zone_id"] = [None, "DOWN"]
    return _scanned(tmp_path_factory.mktemp("cascade") / "store.duckdb", frames, meters)


def test_a_leak_downstream_of_a_boundary_meter_is_the_downstream_zones_and_not_the_upstream_ones(cascade_events):
    rises = cascade_events[cascade_events["kind"] == "night_flow_rise"]
    assert list(rises["meter_id"]) == ["ZONE:DOWN"], rises[["meter_id", "explanation"]].values.tolist()
    assert list(rises["zone_id"]) == ["DOWN"]
    assert _rise_l_s(rises.iloc[0]) == pytest.approx(0.3, abs=0.05)
    assert "the zone's inflow through UP-DOWN" in rises.iloc[0]["explanation"]


def test_an_upstream_zones_inflow_is_its_inlets_less_its_outlets():
    ts = pd.date_range("2025-01-01", periods=3, freq="15min")
    flows = pd.DataFrame({"meter_id": ["IN"] * 3 + ["OUT"] * 3, "ts": list(ts) * 2, "value": [5.0] * 3 + [2.0] * 3})
    series = pd.DataFrame({"meter_id": ["IN", "OUT"], "zone_id": "UP", "category": ["inlet", "outlet"],
                           "to_zone_id": [None, "DOWN"], "quantity": "flow", "tz": "UTC", "interval_s": 900.0})
    summed, zone_series = zone_inflows(flows, series)
    by_zone = summed.groupby("meter_id")["value"].first().to_dict()
    assert by_zone == {"ZONE:UP": 3.0, "ZONE:DOWN": 2.0}
    rows = zone_series.set_index("meter_id")
    assert (rows.at["ZONE:UP", "inlets"], rows.at["ZONE:UP", "outlets"]) == (["IN"], ["OUT"])
    assert rows.at["ZONE:DOWN", "zone_id"] == "DOWN"
