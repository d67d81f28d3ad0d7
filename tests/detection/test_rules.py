"""Each detector on constructed series: the fault it must find, and normal series it must leave alone."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from tests.detection.conftest import (
    BURST_FROM,
    DRIP_FROM,
    GAP,
    LOW_PRESSURE,
    NIGHT_LEAK_FROM,
    PEER_LEAK_FROM,
    SCAN_END,
    SILENT,
    SPIKES,
    STUCK,
    TOILET_FROM,
    ZONE_DROP_FROM,
)

NORMAL = ("H-NORMAL", "H-INTERVAL", "H-FLOW", "Z2-IN", "Z2-P", "Z8-IN", "ZONE:Z8", "Z11-LINK")


def of(events: pd.DataFrame, meter_id: str, kind: str, detector: str | None = None) -> pd.DataFrame:
    found = events[(events["meter_id"] == meter_id) & (events["kind"] == kind)]
    return found if detector is None else found[found["detector"] == detector]


@pytest.mark.parametrize("meter_id", NORMAL)
def test_a_normal_week_raises_nothing(constructed_events, meter_id):
    assert constructed_events[constructed_events["meter_id"] == meter_id].empty


def test_the_contract_columns_and_values(constructed_events):
    from detection.events import CONCERN_OF_KIND, CONCERNS, INTERNAL_COLUMNS, KINDS

    assert list(constructed_events.columns) == INTERNAL_COLUMNS
    assert set(constructed_events["kind"]) <= set(KINDS)
    assert set(CONCERN_OF_KIND.values()) <= set(CONCERNS)
    leak_signs = constructed_events[constructed_events["concern"] == "water_loss"]
    assert {"burst", "continuous_flow", "night_flow_rise"} <= set(leak_signs["kind"])
    instrument = constructed_events["kind"].str.startswith("sensor_")
    assert not constructed_events.loc[instrument, "concern"].eq("water_loss").any()
    assert constructed_events["score"].between(0, 1).all()
    assert set(constructed_events["severity"]) <= {"info", "warning", "critical"}
    assert (constructed_events["end"] >= constructed_events["start"]).all()
    assert constructed_events["event_id"].is_unique


def test_a_dripping_tap_is_found_as_a_steady_trickle(constructed_events):
    drip = of(constructed_events, "H-DRIP", "continuous_flow")
    assert list(drip["detector"]) == ["steady_trickle"]
    event = drip.iloc[0]
    assert event["start"] == DRIP_FROM and event["raised_at"] - DRIP_FROM <= pd.Timedelta(hours=8)
    assert "steady flow of about 6 L/h" in event["explanation"] and "read nothing" in event["explanation"]
    assert event["lost_volume_l"] == pytest.approx(6.0 * (event["end"] - event["start"]) / pd.Timedelta(hours=1))


def test_a_running_toilet_is_found_within_hours(constructed_events):
    toilet = of(constructed_events, "H-TOILET", "continuous_flow")
    assert list(toilet["detector"]) == ["continuous_flow"]
    event = toilet.iloc[0]
    assert event["start"] == TOILET_FROM
    assert event["raised_at"] - TOILET_FROM <= pd.Timedelta(hours=6)
    assert "below 90 L/h" in event["explanation"]
    assert event["cost"] == pytest.approx(event["lost_volume_l"] / 1000 * 2.0, abs=0.01)


def test_a_meter_reporting_interval_volumes_is_watched_like_a_register(constructed_events):
    from_register = of(constructed_events, "H-TOILET", "continuous_flow").iloc[0]
    from_intervals = of(constructed_events, "H-INTERVAL-TOILET", "continuous_flow")
    assert list(from_intervals["detector"]) == ["continuous_flow"]
    event = from_intervals.iloc[0]
    assert (event["start"], event["raised_at"]) == (from_register["start"], from_register["raised_at"])
    assert "below 90 L/h" in event["explanation"]


def test_a_household_meter_reporting_its_flow_rate_is_watched_like_a_register(constructed_events):
    from_register = of(constructed_events, "H-TOILET", "continuous_flow").iloc[0]
    from_flow = constructed_events[constructed_events["meter_id"] == "H-FLOW-TOILET"]
    sustained = of(from_flow, "H-FLOW-TOILET", "continuous_flow")
    assert list(sustained["detector"]) == ["continuous_flow"]
    event = sustained.iloc[0]
    assert event["start"] == from_register["start"] == TOILET_FROM
    assert event["raised_at"] - from_register["raised_at"] <= pd.Timedelta(minutes=15)  # the reading closing the hour
    assert "below 90 L/h" in event["explanation"]
    assert not set(from_flow["detector"]) & {"burst", "night_flow_rise", "sensor_spike", "sensor_stuck", "sensor_drift"}


def test_a_meter_read_once_a_day_raises_no_earlier_than_the_read_that_told_it(constructed_events):
    daily = constructed_events[constructed_events["meter_id"] == "H-DAILY-TOILET"]
    assert "continuous_flow" in set(daily["detector"])
    first_read_after = TOILET_FROM.normalize() + pd.Timedelta(days=1)  # the store spreads each day over its hours
    assert (daily["raised_at"] >= first_read_after).all() and (daily["raised_at"].dt.hour == 0).all()


def test_a_burst_is_raised_at_its_first_reading_with_the_pressure_drop(constructed_events):
    burst = of(constructed_events, "Z1-IN", "burst")
    assert len(burst) == 1
    event = burst.iloc[0]
    assert event["start"] == BURST_FROM and event["raised_at"] - BURST_FROM < pd.Timedelta(minutes=30)
    assert event["severity"] == "critical" and "pressure in the zone fell" in event["explanation"]
    assert event["lost_volume_l"] == pytest.approx(2.0 * 6 * 3600, rel=0.1)


def test_a_zone_night_flow_rise(constructed_events):
    rise = of(constructed_events, "ZONE:Z3", "night_flow_rise")
    assert len(rise) == 1
    assert rise.iloc[0]["zone_id"] == "Z3" and rise.iloc[0]["start"] >= NIGHT_LEAK_FROM
    night, usual, up = map(float, re.search(r"Minimum night flow ([0-9.]+) L/s on the night to \d\d \w+, against the "
                                            r"median ([0-9.]+) L/s .* a rise of about ([0-9.]+) L/s",
                                            rise.iloc[0]["explanation"]).groups())
    assert night > usual + 0.2
    assert up == pytest.approx(0.3, abs=0.03)


def test_a_new_leak_in_a_district_whose_nights_are_mostly_old_leakage(constructed_events):
    """0.3 L/s more on a night floor of 2.4 L/s: an eighth of the night flow, many times the nights' spread."""
    rise = of(constructed_events, "ZONE:Z7", "night_flow_rise")
    assert len(rise) == 1
    event = rise.iloc[0]
    assert NIGHT_LEAK_FROM <= event["start"] and event["raised_at"] <= NIGHT_LEAK_FROM + pd.Timedelta(days=2)
    rise_l_s = float(re.search(r"a rise of about ([0-9.]+) L/s", event["explanation"]).group(1))
    assert rise_l_s == pytest.approx(0.3, abs=0.03)


def test_a_burst_on_a_pipe_whose_meter_reads_its_flow_below_zero(constructed_events):
    """The link's meter is installed against the water's way: 2 L/s more through it reads 2 L/s lower."""
    burst = of(constructed_events, "Z9-LINK", "burst")
    assert len(burst) == 1
    event = burst.iloc[0]
    assert event["start"] == BURST_FROM and event["raised_at"] - BURST_FROM < pd.Timedelta(minutes=30)
    assert event["lost_volume_l"] == pytest.approx(2.0 * 6 * 3600, rel=0.1)
    assert "sign turned" in event["explanation"]


def test_a_night_flow_rise_on_an_inlet_that_reads_below_zero(constructed_events):
    rise = of(constructed_events, "ZONE:Z10", "night_flow_rise")
    assert len(rise) == 1
    assert rise.iloc[0]["start"] >= NIGHT_LEAK_FROM
    rise_l_s = float(re.search(r"a rise of about ([0-9.]+) L/s", rise.iloc[0]["explanation"]).group(1))
    assert rise_l_s == pytest.approx(0.3, abs=0.05)


def test_pressure_out_of_band(constructed_events):
    low = of(constructed_events, "P-LOW", "pressure_out_of_band")
    assert len(low) == 1
    assert low.iloc[0]["start"] == LOW_PRESSURE[0] and low.iloc[0]["end"] < LOW_PRESSURE[1]
    assert "below its usual band" in low.iloc[0]["explanation"]


def test_a_zone_whose_pressure_sensors_fall_together_is_a_pressure_drop_not_a_drift(constructed_events):
    drop = of(constructed_events, "ZONE:Z5", "zone_pressure_drop")
    assert len(drop) == 1
    event = drop.iloc[0]
    assert event["start"] <= ZONE_DROP_FROM < event["raised_at"] <= ZONE_DROP_FROM + pd.Timedelta(hours=24)
    assert "Pressure at Z5-PA, Z5-PB has stayed below" in event["explanation"] and "0.104 bar at Z5-PA" in event["explanation"]
    assert constructed_events[constructed_events["meter_id"].isin(["Z5-PA", "Z5-PB"])
                              & (constructed_events["detector"] == "sensor_drift")].empty
    assert of(constructed_events, "ZONE:Z6", "zone_pressure_drop").empty  # one sensor alone is an instrument
    assert len(of(constructed_events, "Z6-PA", "sensor_drift")) == 1


def test_a_leak_between_pressure_sensors_is_placed_at_the_one_that_falls_furthest(constructed_events):
    local = constructed_events[constructed_events["kind"] == "local_pressure_drop"]
    leak = local[local["zone_id"] == "Z12"]
    assert list(leak["meter_id"]) == ["Z12-PA"]
    event = leak.iloc[0]
    assert abs(event["start"] - PEER_LEAK_FROM) <= pd.Timedelta(hours=1)
    assert event["raised_at"] - PEER_LEAK_FROM <= pd.Timedelta(hours=8) and event["end"] == SCAN_END
    assert event["severity"] == "warning" and "Z12-PB read low too" in event["explanation"]
    fell = float(re.search(r"read ([0-9.]+) bar below what 4 other", event["explanation"]).group(1))
    assert 0.02 < fell < 0.05  # the others fell a little too, so PA stands out by less than its own 0.05 bar


def test_a_hot_week_moves_every_pressure_sensor_and_is_no_local_drop(constructed_events):
    local = constructed_events[constructed_events["kind"] == "local_pressure_drop"]
    assert local[local["zone_id"] == "Z13"].empty


def test_one_pressure_sensor_falling_alone_may_be_its_instrument(constructed_events):
    alone = of(constructed_events, "Z14-PA", "local_pressure_drop")
    assert len(alone) == 1
    assert alone.iloc[0]["severity"] == "info"
    assert "No other sensor reads low with it" in alone.iloc[0]["explanation"]


def test_sensor_faults(constructed_events):
    stuck = of(constructed_events, "P-STUCK", "sensor_stuck")
    assert len(stuck) == 1 and stuck.iloc[0]["start"] == STUCK[0]
    spikes = of(constructed_events, "P-SPIKE", "sensor_spike")
    assert len(spikes) == 1 and spikes.iloc[0]["explanation"].startswith(f"{len(SPIKES)} readings jumped")
    drift = of(constructed_events, "L-DRIFT", "sensor_drift")
    assert len(drift) == 1 and "0.90 m" in drift.iloc[0]["explanation"]
    assert "no other sensor in its zone to compare with" in drift.iloc[0]["explanation"]  # it has no zone


def test_a_silent_meter(constructed_events):
    silent = of(constructed_events, "H-SILENT", "silent_meter")
    assert len(silent) == 1
    assert silent.iloc[0]["end"] == SILENT[1] and "No reading for 13.0 h" in silent.iloc[0]["explanation"]


def test_statistical_detectors_see_the_big_faults(constructed_events):
    assert not of(constructed_events, "H-TOILET", "isolation_forest").empty
    assert not of(constructed_events, "Z1-IN", "isolation_forest").empty
    assert not of(constructed_events, "H-TOILET", "zscore_anomaly").empty
    assert not of(constructed_events, "P-LOW", "zscore_anomaly").empty


def test_use_spread_over_a_gap_is_not_a_steady_flow(constructed_events):
    """A meter silent for a day, then its register's jump spread evenly over the gap (flagged estimated):
    every hour reads the same litres, night hours too, which is no evidence of a leak."""
    events = constructed_events[constructed_events["meter_id"] == "H-GAP"]
    assert set(events["kind"]) == {"silent_meter"}
    assert events["start"].min() <= GAP[0] + pd.Timedelta(hours=1)
