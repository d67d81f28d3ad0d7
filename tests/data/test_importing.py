"""File import on small constructed files: layouts, clocks, bad rows, zones, Parquet.

The real data sets (BWDF 2024, DAIAD) are checked in test_importing_real.py.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from data.import_spec import ImportSpec, ImportSpecError, detect_layout, parse_mapping, preset
from data.importing import file_stem, import_file, resolve_spec
from data.store import Store, StoreOptions


@pytest.fixture
def store() -> Store:
    with Store(":memory:", StoreOptions(default_tz="UTC")) as store:
        yield store


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def readings(store: Store) -> pd.DataFrame:
    return store.cursor().execute(
        "SELECT meter_id, ts, quantity, value, unit, orig_unit, attrs FROM readings ORDER BY meter_id, ts"
    ).df()


def test_bad_rows_are_quarantined_with_line_and_reason_while_good_rows_land(store, tmp_path):
    lines = [
        "meter_id,ts,quantity,value,unit",
        "m1,2021-03-28 00:00,volume,100,L",
        "m1,2021-03-28 01:00,volume,abc,L",
        "m1,2021-03-28 01:30,volume,120,furlongs",
        "m1,2021-03-28 02:30,volume,130,L",
        "m1,2021-03-28 03:00,volume",
        "m1,2021-03-28 04:00,volume,150,L",
    ]
    path = write(tmp_path, "history.csv", "\n".join(lines) + "\n")
    report = import_file(store, path, ImportSpec(tz="Europe/Rome"))

    assert (report.rows_read, report.stored, report.bad_rows) == (6, 2, 4)
    assert [bad.row for bad in report.first_bad] == [3, 4, 5, 6]
    reasons = {bad.row: bad.reason for bad in report.first_bad}
    assert "line 3" in reasons[3] and "'abc'" in reasons[3]
    assert "furlongs" in reasons[4] and "is not a unit of volume" in reasons[4]
    assert "does not exist in Europe/Rome" in reasons[5]
    assert "wrong number of fields" in reasons[6]
    quarantine = store.cursor().execute("SELECT reason, payload, source FROM quarantine ORDER BY reason").df()
    assert sorted(quarantine["payload"]) == sorted(lines[2:6])
    assert set(quarantine["source"]) == {"import:history.csv"}
    stored = readings(store)
    assert list(stored["ts"].astype(str)) == ["2021-03-27 23:00:00", "2021-03-28 02:00:00"]


def test_repeated_fall_back_hour_becomes_two_utc_hours_with_meters_interleaved(store, tmp_path):
    local = ["01:00", "02:00", "02:00", "03:00"]
    rows = [f"{m},2021-10-31 {t},flow,{i},L/s" for i, t in enumerate(local) for m in ("m1", "m2")]
    path = write(tmp_path, "fallback.csv", "meter_id,ts,quantity,value,unit\n" + "\n".join(rows) + "\n")
    report = import_file(store, path, ImportSpec(tz="Europe/Rome", chunk_rows=1))

    assert report.stored == 8 and report.bad_rows == 0
    stored = readings(store)
    for meter in ("m1", "m2"):
        mine = stored[stored["meter_id"] == meter]
        assert list(mine["ts"].dt.strftime("%H:%M")) == ["23:00", "00:00", "01:00", "02:00"]
        assert list(mine["value"]) == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("chunk_rows", [100_000, 1])
def test_irregular_readings_in_the_repeated_hour_switch_to_standard_time_when_the_clock_steps_back(
        store, tmp_path, chunk_rows):
    local = ["02:10", "02:50", "02:05", "02:55", "03:20"]
    rows = [f"m1,2021-10-31 {t},volume,{100 + i},L" for i, t in enumerate(local)]
    path = write(tmp_path, "irregular.csv", "meter_id,ts,quantity,value,unit\n" + "\n".join(rows) + "\n")
    import_file(store, path, ImportSpec(tz="Europe/Rome", chunk_rows=chunk_rows))

    utc = readings(store)["ts"].dt.strftime("%H:%M")
    assert list(utc) == ["00:10", "00:50", "01:05", "01:55", "02:20"]


def test_offsets_and_epoch_milliseconds_are_taken_as_given(store, tmp_path):
    rows = ["m1,2021-06-01T12:00:00+02:00,pressure,3.0,bar",
            "m1,1622548800000,pressure,3.1,bar",
            "m1,2021-06-01T10:30:00Z,pressure,300,kPa"]
    path = write(tmp_path, "aware.csv", "meter_id,ts,quantity,value,unit\n" + "\n".join(rows) + "\n")
    import_file(store, path, ImportSpec(tz="America/New_York"))

    stored = readings(store)
    assert list(stored["ts"].dt.strftime("%H:%M")) == ["10:00", "10:30", "12:00"]
    assert stored["value"].round(6).tolist() == [3.0, 3.0, 3.1]


def test_epoch_seconds_are_read_too_and_other_numbers_are_bad_rows(store, tmp_path):
    rows = ["m1,1622548800,pressure,3.0,bar", "m1,1622552400000,pressure,3.1,bar", "m1,5000000000,pressure,3.2,bar"]
    path = write(tmp_path, "epochs.csv", "meter_id,ts,quantity,value,unit\n" + "\n".join(rows) + "\n")
    report = import_file(store, path, ImportSpec())
    assert list(readings(store)["ts"].dt.strftime("%m-%d %H:%M")) == ["06-01 12:00", "06-01 13:00"]
    assert [bad.reason for bad in report.first_bad] == [
        "line 4: epoch timestamp 5000000000 is neither seconds nor milliseconds between 2000 and 2100"]


def test_other_long_columns_are_kept_as_attributes_and_seq_is_read(store, tmp_path):
    text = "meter_id,ts,quantity,value,unit,seq,site\nm1,2021-01-01T00:00Z,volume,5,m3,7,pump house\n"
    import_file(store, write(tmp_path, "attrs.csv", text), ImportSpec())
    row = store.cursor().execute("SELECT value, orig_unit, seq, attrs FROM readings").fetchone()
    assert row[:3] == (5000.0, "m3", 7)
    assert json.loads(row[3]) == {"site": "pump house"}


def test_wide_file_with_column_and_regex_mappings(store, tmp_path):
    text = (
        "when,Tank_level_cm,DMA_X_m3_per_h,DMA_Y_m3_per_h\n"
        "2022-01-10 08:00,250,36,\n"
        "2022-01-10 09:00,,18,oops\n"
    )
    spec = ImportSpec(layout="wide", tz="Europe/Rome", mappings=(
        parse_mapping("Tank_level_cm=tank1:level:cm"),
        parse_mapping(r"DMA_(?P<dma>\w)_m3_per_h=inlet-{dma}:flow:m3/h", regex=True),
    ))
    report = import_file(store, write(tmp_path, "wide.csv", text), spec)

    assert (report.readings, report.missing_cells, report.stored, report.bad_rows) == (4, 2, 3, 1)
    assert "column 'DMA_Y_m3_per_h'" in report.first_bad[0].reason and "line 3" in report.first_bad[0].reason
    stored = readings(store).set_index(["meter_id", "ts"])["value"]
    assert stored[("inlet-X", pd.Timestamp("2022-01-10 07:00"))] == pytest.approx(10.0)  # 36 m3/h = 10 L/s
    assert stored[("tank1", pd.Timestamp("2022-01-10 07:00"))] == pytest.approx(2.5)


def test_wide_fall_back_hour_across_chunk_boundaries(store, tmp_path):
    text = "time,a,b\n" + "".join(f"2021-10-31 {t},{i},{i}\n" for i, t in enumerate(["01:00", "02:00", "02:00", "03:00"]))
    spec = ImportSpec(layout="wide", tz="Europe/Rome", chunk_rows=1,
                      mappings=(parse_mapping("(a|b)=m-{1}:flow:L/s", regex=True),))
    report = import_file(store, write(tmp_path, "wide_dst.csv", text), spec)
    assert report.stored == 8
    stored = readings(store)
    assert list(stored.loc[stored["meter_id"] == "m-b", "ts"].dt.strftime("%H:%M")) == ["23:00", "00:00", "01:00", "02:00"]


def test_new_meters_get_the_zone_tz_and_category_and_existing_meters_keep_theirs(store, tmp_path):
    first = write(tmp_path, "a.csv", "meter_id,ts,quantity,value,unit\nm1,2021-01-01 00:00,volume,1,L\n")
    import_file(store, first, ImportSpec(tz="Europe/Rome", zone="Z1", category="commercial"))
    second = write(tmp_path, "b.csv", "meter_id,ts,quantity,value,unit\nm1,2021-01-02 00:00,volume,2,L\n"
                                      "m2,2021-01-02 00:00,volume,2,L\n")
    report = import_file(store, second, ImportSpec(tz="UTC", zone="Z2"))

    assert report.meters_registered == 1
    meters = store.cursor().execute("SELECT meter_id, zone_id, tz, category, max_flow_l_s FROM meters "
                                    "ORDER BY meter_id").fetchall()
    assert meters == [("m1", "Z1", "Europe/Rome", "commercial", 20.0), ("m2", "Z2", "UTC", None, 20.0)]
    zones = store.cursor().execute("SELECT zone_id, tz FROM zones ORDER BY zone_id").fetchall()
    assert zones == [("Z1", "Europe/Rome"), ("Z2", "UTC")]


def test_an_outlet_names_the_zone_its_water_goes_on_to(store, tmp_path):
    text = "meter_id,ts,quantity,value,unit\nUP-DOWN,2021-01-01 00:00,flow,4,L/s\n"
    import_file(store, write(tmp_path, "boundary.csv", text), ImportSpec(tz="UTC", zone="UP", category="outlet",
                                                                          to_zone="DOWN"))
    meters = store.cursor().execute("SELECT meter_id, zone_id, category, to_zone_id FROM meters").fetchall()
    assert meters == [("UP-DOWN", "UP", "outlet", "DOWN")]
    zones = store.cursor().execute("SELECT zone_id FROM zones ORDER BY zone_id").fetchall()
    assert zones == [("DOWN",), ("UP",)]


def test_a_zone_template_makes_each_new_meter_its_own_zone(store, tmp_path):
    text = "when,DMA_X_l_per_s,DMA_Y_l_per_s\n2022-01-10 08:00,3.5,4\n"
    spec = ImportSpec(layout="wide", tz="Europe/Rome", zone="dma-{meter_id}", category="inlet",
                      mappings=(parse_mapping(r"DMA_(?P<d>\w)_l_per_s=DMA_{d}:flow:L/s", regex=True),))
    import_file(store, write(tmp_path, "dmas.csv", text), spec)
    meters = store.cursor().execute("SELECT meter_id, zone_id, category FROM meters ORDER BY meter_id").fetchall()
    assert meters == [("DMA_X", "dma-DMA_X", "inlet"), ("DMA_Y", "dma-DMA_Y", "inlet")]
    zones = store.cursor().execute("SELECT zone_id, tz FROM zones ORDER BY zone_id").fetchall()
    assert zones == [("dma-DMA_X", "Europe/Rome"), ("dma-DMA_Y", "Europe/Rome")]
    with pytest.raises(ImportSpecError, match="meter_id"):
        import_file(store, write(tmp_path, "again.csv", text), ImportSpec(layout="wide", zone="{dma}",
                                                                          mappings=spec.mappings))


def test_a_zone_named_after_the_file_holds_every_sensor_of_that_file(store, tmp_path):
    text = "ts,inflow,p_high,p_low\n2022-01-10 08:00,3.5,4.1,3.2\n"
    spec = ImportSpec(layout="wide", tz="UTC", zone="dma-{file}",
                      mappings=(parse_mapping("inflow={file}-IN:flow:L/s"),
                                parse_mapping(r"p_(\w+)={file}-P-{1}:pressure:bar", regex=True)))
    for name in ("north.csv", "south.csv.gz"):
        path = tmp_path / name
        path.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
        import_file(store, path, spec)
    meters = store.cursor().execute("SELECT meter_id, zone_id FROM meters ORDER BY meter_id").fetchall()
    assert meters == [("north-IN", "dma-north"), ("north-P-high", "dma-north"), ("north-P-low", "dma-north"),
                      ("south-IN", "dma-south"), ("south-P-high", "dma-south"), ("south-P-low", "dma-south")]
    with pytest.raises(ImportSpecError, match="file"):
        import_file(store, tmp_path / "north.csv", ImportSpec(layout="wide", zone="{district}", mappings=spec.mappings))


def test_pipe_flows_keep_their_sign_and_count_forward_flow_as_consumption(store, tmp_path):
    """A model's link flows, one file per link, in m3/h: below zero where the water runs against the link."""
    for name, sign in (("Link_1", 1), ("Link_2", -1)):
        rows = "".join(f"2017-01-01 0{h}:00:00,{sign * 90.0}\n" for h in range(4))
        write(tmp_path, f"{name}.csv", "Timestamp,Value\n" + rows)
    spec = ImportSpec(layout="wide", tz="UTC", category="sensor", mappings=(parse_mapping("Value=F-{file}:flow:m3/h"),))
    reports = [import_file(store, tmp_path / f"{name}.csv", spec) for name in ("Link_1", "Link_2")]
    assert [(r.stored, r.bad_rows, r.implausible_intervals) for r in reports] == [(4, 0, 0), (4, 0, 0)]
    assert readings(store).groupby("meter_id")["value"].first().to_dict() == {"F-Link_1": 25.0, "F-Link_2": -25.0}
    litres = dict(store.cursor().execute("SELECT meter_id, sum(volume_l) FROM consumption GROUP BY ALL").fetchall())
    assert litres == {"F-Link_1": pytest.approx(3 * 90_000), "F-Link_2": 0.0}


def test_importing_the_same_file_twice_stores_nothing_new(store, tmp_path):
    path = write(tmp_path, "twice.csv", "meter_id,ts,quantity,value,unit\nm1,2021-01-01T00:00Z,volume,1,L\n"
                                        "m1,2021-01-01T01:00Z,volume,3,L\n")
    import_file(store, path, ImportSpec())
    again = import_file(store, path, ImportSpec())
    assert (again.stored, again.duplicates, again.meters_registered) == (0, 2, 0)


def test_parquet_long_file_with_native_types(store, tmp_path):
    frame = pd.DataFrame({
        "meter_id": ["p1", "p1", "p2"],
        "ts": pd.to_datetime(["2021-10-31 02:00", "2021-10-31 02:00", "2021-10-31 02:30"]),
        "quantity": ["volume", "volume", "interval_volume"],
        "value": [10.0, 12.0, float("nan")],
        "unit": ["L", "L", "L"],
    })
    path = tmp_path / "history.parquet"
    frame.to_parquet(path)
    report = import_file(store, path, ImportSpec(tz="Europe/Rome"))

    assert (report.rows_read, report.stored, report.bad_rows) == (3, 2, 1)
    assert report.first_bad[0].reason.startswith("row 3:")
    stored = readings(store)
    assert list(stored["ts"].astype(str)) == ["2021-10-31 00:00:00", "2021-10-31 01:00:00"]


def test_parquet_with_epoch_milliseconds(store, tmp_path):
    frame = pd.DataFrame({"meter_id": ["e1"], "ts": [1_600_000_000_000], "quantity": ["flow"],
                          "value": [2.0], "unit": ["l/s"]})
    frame.to_parquet(tmp_path / "epoch.parquet")
    import_file(store, tmp_path / "epoch.parquet", ImportSpec())
    assert readings(store)["ts"].iloc[0] == pd.Timestamp("2020-09-13 12:26:40")


def test_layout_detection_and_presets():
    assert detect_layout(["meter_id", "ts", "quantity", "value", "unit"], ImportSpec()) == "long"
    assert detect_layout(["V1", "V2", "V3", "V4"], ImportSpec()) == "daiad"
    assert detect_layout(["timestamp_local", "DMA_A_l_per_s"], ImportSpec()) == "bwdf-inflow"
    assert detect_layout(["time", "a"], ImportSpec(mappings=(parse_mapping("a=m:flow:L/s"),))) == "wide"
    with pytest.raises(ImportSpecError, match="give --format"):
        detect_layout(["dma", "population"], ImportSpec())
    with pytest.raises(ImportSpecError, match="unknown format"):
        preset("excel")


def test_mapping_syntax():
    mapping = parse_mapping("site=a:b:c=gw:1:level:cm")
    assert (mapping.column, mapping.meter, mapping.quantity, mapping.unit) == ("site=a:b:c", "gw:1", "level", "cm")
    for bad in ("no-equals", "col=meter:flow", "(=x:flow:L/s"):
        with pytest.raises(ImportSpecError):
            parse_mapping(bad, regex=True)


def test_regex_groups_are_numbered_from_one_as_in_the_regex():
    mapping = parse_mapping(r"(n|p)(\d+)_m={1}{2}-{0}:pressure:m", regex=True)
    assert mapping.match("n31_m", None) == ("n31-n31_m", "pressure", "m")
    with pytest.raises(ImportSpecError, match="numbered from 1"):
        parse_mapping(r"n(\d+)=P{2}:pressure:m", regex=True).match("n31", None)


def test_file_stem_drops_only_data_extensions():
    assert file_stem("Pressures/Node_1.csv.gz") == "Node_1"
    assert file_stem("scada.2019.CSV") == "scada.2019"
    assert file_stem("inflow.parquet") == "inflow"


def test_weather_preset_needs_a_station(store, tmp_path):
    path = write(tmp_path, "w.csv", "timestamp_local,rainfall_mm,air_temperature_c\n2021-01-01 00:00,0.2,5\n")
    name, spec = resolve_spec(path, None)
    assert name == "bwdf-weather"
    with pytest.raises(ImportSpecError, match="--station"):
        import_file(store, path, spec)
    name, spec = resolve_spec(path, None, station="ws1")
    report = import_file(store, path, spec)
    assert report.stored == 2
    assert store.cursor().execute("SELECT category FROM meters").fetchone() == ("weather",)


def test_bytes_that_are_not_utf8_and_oversized_seq_spoil_only_their_own_rows(store, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"meter_id,ts,quantity,value,unit,seq\n"
                     b"m1,2021-01-01T00:00Z,volume,1,L,1\n"
                     b"m\xe91,2021-01-01T01:00Z,volume,2,L,2\n"
                     b"m1,2021-01-01T02:00Z,volume,3,L,99999999999999999999\n"
                     b"m1,2021-01-01T03:00Z,volume,4,L,4\n")
    report = import_file(store, path, ImportSpec())
    assert (report.stored, report.bad_rows) == (2, 2)
    assert [bad.row for bad in report.first_bad] == [3, 4]
    assert "64-bit integer" in report.first_bad[1].reason
