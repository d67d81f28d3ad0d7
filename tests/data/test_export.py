"""Consumption exports per hour, day, ISO week and month, across DST days in Europe/Rome."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.export import EXPORT_COLUMNS, consumption_by_period
from data.store import Store, StoreOptions
from data.units import US_GALLON_L
from data.validation import ValidationRules, validate_frame

ROME = "Europe/Rome"
HOURLY_L = 100.0


def load_hourly(store: Store, meter_id: str, tz: str, zone: str, hours: pd.DatetimeIndex,
                volumes: np.ndarray | None = None) -> None:
    """An interval-volume meter reporting the litres of each UTC hour at the hour's end."""
    store.register_meters(pd.DataFrame({"meter_id": [meter_id], "zone_id": [zone], "quantity": ["interval_volume"],
                                        "unit": ["L"], "tz": [tz], "category": ["residential"]}))
    reported = pd.DataFrame({
        "meter_id": meter_id, "ts": hours, "quantity": "interval_volume",
        "value": volumes if volumes is not None else HOURLY_L, "unit": "L",
    })
    rows, reasons = validate_frame(reported, ValidationRules(max_past_s=None))
    assert (reasons == None).all()
    store.ingest(rows, [])


@pytest.fixture(scope="module")
def store() -> Store:
    hours = pd.date_range("2021-02-27", "2021-11-03", freq="h", tz="UTC")
    gap = pd.date_range("2021-06-10 10:00", "2021-06-10 13:00", freq="h", tz="UTC")
    with_gap = hours.difference(gap)
    volumes = np.where(with_gap == pd.Timestamp("2021-06-10 14:00", tz="UTC"), 5 * HOURLY_L, HOURLY_L)
    with Store(":memory:", StoreOptions()) as store:
        load_hourly(store, "rome", ROME, "Z", hours)
        load_hourly(store, "utc", "UTC", "Z", hours)
        load_hourly(store, "gap", ROME, "G", with_gap, volumes)
        yield store


def export(store: Store, **kwargs) -> pd.DataFrame:
    return consumption_by_period(store.cursor(), **kwargs)


def test_hours_of_dst_days_on_the_local_clock(store):
    spring = export(store, meter_ids=["rome"], freq="h", start="2021-03-28", end="2021-03-29")
    autumn = export(store, meter_ids=["rome"], freq="h", start="2021-10-31", end="2021-11-01")
    assert list(spring.columns) == EXPORT_COLUMNS
    assert len(spring) == 23 and len(autumn) == 25
    assert "2021-03-28T02:00:00+01:00" not in set(spring["period_start"])
    assert spring["period_start"].iloc[2] == "2021-03-28T03:00:00+02:00"
    assert list(autumn["period_start"].iloc[2:4]) == ["2021-10-31T02:00:00+02:00", "2021-10-31T02:00:00+01:00"]
    assert (autumn["consumption"] == HOURLY_L).all() and (autumn["unit"] == "L").all()


def test_days_of_23_and_25_hours(store):
    days = export(store, meter_ids=["rome"], freq="D", start="2021-03-27", end="2021-03-30")
    assert list(days["period_start"]) == ["2021-03-27T00:00:00+01:00", "2021-03-28T00:00:00+01:00",
                                          "2021-03-29T00:00:00+02:00"]
    assert list(days["consumption"]) == [24 * HOURLY_L, 23 * HOURLY_L, 24 * HOURLY_L]
    autumn = export(store, meter_ids=["rome"], freq="D", start="2021-10-31", end="2021-11-01")
    assert list(autumn["consumption"]) == [25 * HOURLY_L]


def test_iso_weeks_start_on_monday_and_months_follow_the_local_calendar(store):
    weeks = export(store, meter_ids=["rome"], freq="W", start="2021-03-22", end="2021-04-05")
    assert list(weeks["period_start"]) == ["2021-03-22T00:00:00+01:00", "2021-03-29T00:00:00+02:00"]
    assert list(weeks["consumption"]) == [(7 * 24 - 1) * HOURLY_L, 7 * 24 * HOURLY_L]
    months = export(store, meter_ids=["rome"], freq="M", start="2021-03-01", end="2021-11-01")
    by_month = dict(zip(months["period_start"], months["consumption"]))
    assert by_month["2021-03-01T00:00:00+01:00"] == (31 * 24 - 1) * HOURLY_L
    assert by_month["2021-10-01T00:00:00+02:00"] == (31 * 24 + 1) * HOURLY_L
    assert by_month["2021-04-01T00:00:00+02:00"] == 30 * 24 * HOURLY_L


def test_other_clock_groups_hours_by_its_own_dates(store):
    utc_days = export(store, meter_ids=["rome"], freq="D", start="2021-03-27", end="2021-03-30", tz="UTC")
    assert list(utc_days["consumption"]) == [24 * HOURLY_L] * 3
    assert utc_days["period_start"].iloc[0] == "2021-03-27T00:00:00+00:00"
    # the daily rollup of a Rome meter and the hours of a UTC meter read on the Rome clock agree
    for freq in ("D", "W", "M"):
        rome = export(store, meter_ids=["rome"], freq=freq, start="2021-03-01", end="2021-11-01")
        utc_on_rome_clock = export(store, meter_ids=["utc"], freq=freq, start="2021-03-01", end="2021-11-01", tz=ROME)
        pd.testing.assert_frame_equal(rome.drop(columns="meter_id"), utc_on_rome_clock.drop(columns="meter_id"))


def test_units(store):
    litres = export(store, meter_ids=["rome"], freq="D", start="2021-05-01", end="2021-05-02")
    m3 = export(store, meter_ids=["rome"], freq="D", start="2021-05-01", end="2021-05-02", unit="m3")
    gal = export(store, meter_ids=["rome"], freq="D", start="2021-05-01", end="2021-05-02", unit="gal")
    assert litres["consumption"].iloc[0] == 2400.0
    assert m3["consumption"].iloc[0] == pytest.approx(2.4) and m3["unit"].iloc[0] == "m3"
    assert gal["consumption"].iloc[0] == pytest.approx(2400.0 / US_GALLON_L)


def test_estimated_share_over_a_gap(store):
    hours = export(store, meter_ids=["gap"], freq="h", start="2021-06-10T10:00", end="2021-06-10T18:00", tz="UTC")
    share = dict(zip(hours["period_start"].str[11:16], hours["estimated_share"]))
    assert [share[h] for h in ("10:00", "11:00", "12:00", "13:00")] == [1.0, 1.0, 1.0, 1.0]
    assert share["14:00"] == 0.0
    day = export(store, meter_ids=["gap"], freq="D", start="2021-06-10", end="2021-06-11")
    assert day["consumption"].iloc[0] == 24 * HOURLY_L
    assert day["estimated_share"].iloc[0] == pytest.approx(5 / 24)


def test_end_is_exclusive_and_periods_without_data_are_left_out(store):
    hours = export(store, meter_ids=["rome"], freq="h", start="2021-05-01T10:00", end="2021-05-01T12:00")
    assert list(hours["period_start"]) == ["2021-05-01T10:00:00+02:00", "2021-05-01T11:00:00+02:00"]
    edge = export(store, meter_ids=["rome"], freq="D", start="2021-11-01", end="2021-11-30")
    assert list(edge["period_start"]) == ["2021-11-01T00:00:00+01:00", "2021-11-02T00:00:00+01:00",
                                          "2021-11-03T00:00:00+01:00"]
    assert export(store, meter_ids=["rome"], freq="D", start="2020-01-01", end="2020-02-01").empty


def test_zone_sums_its_meters_under_the_zone_id(store):
    zone = export(store, zone_id="Z", freq="D", start="2021-05-01", end="2021-05-03", tz=ROME)
    assert list(zone["meter_id"]) == ["Z", "Z"]
    assert list(zone["consumption"]) == [2 * 24 * HOURLY_L] * 2


def test_scope_limits_what_can_be_exported(store):
    assert len(export(store, meter_ids=["gap"], freq="M", scope={"G"})) > 0
    with pytest.raises(ValueError, match="unknown meter"):
        export(store, meter_ids=["rome"], freq="D", scope={"G", "gap"})
    with pytest.raises(ValueError, match="unknown zone"):
        export(store, zone_id="Z", freq="D", scope={"rome"})


@pytest.mark.parametrize("kwargs, message", [
    ({"meter_ids": ["nope"]}, "unknown meter"),
    ({"meter_ids": ["rome"], "unit": "gallons"}, "unknown unit"),
    ({"meter_ids": ["rome"], "freq": "Q"}, "unknown frequency"),
    ({"meter_ids": ["rome"], "start": "2021-05-02", "end": "2021-05-01"}, "not before"),
    ({"meter_ids": ["rome"], "start": "yesterday-ish"}, "not a date"),
    ({"meter_ids": ["rome"], "tz": "Mars/Olympus"}, "unknown time zone"),
    ({"meter_ids": ["rome"], "zone_id": "Z"}, "either"),
    ({"zone_id": "nowhere"}, "unknown zone"),
])
def test_bad_arguments_are_explained(store, kwargs, message):
    with pytest.raises(ValueError, match=message):
        export(store, **kwargs)
