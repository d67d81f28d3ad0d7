"""`python -m dashapp meters` as an operator runs it, through click's test runner."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from dashapp.cli import main
from data.store import Store
from tests.data.builders import ingest, register_series


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def a_store(tmp_path: Path) -> str:
    db = str(tmp_path / "waterline.duckdb")
    with Store(db) as store:
        ingest(store, register_series("H-1", [0, 10, 20], zone="A", category="residential")
               + register_series("B-1", [0, 500, 1000], zone="A", category="outlet"))
    return db


def test_a_listed_register_loads_back_unchanged_and_an_edited_one_applies(tmp_path: Path):
    db = a_store(tmp_path)
    listed = tmp_path / "meters.csv"
    code, _, err = run("meters", "list", "--db", db, "--out", str(listed))
    assert code == 0 and "Wrote 2 meters" in err
    code, out, _ = run("meters", "load", str(listed), "--db", db)
    assert code == 0 and out.split("\n")[1:5] == ["  registered          0", "  updated             0",
                                                  "  unchanged           2", "  refused             0"]
    register = pd.read_csv(listed, dtype=str, keep_default_na=False)
    register.loc[register["meter_id"] == "B-1", "to_zone_id"] = "B"
    register = pd.concat([register, pd.DataFrame([{"meter_id": "P-1", "quantity": "pressure", "unit": "psi",
                                                   "zone_id": "B", "category": "sensor"},
                                                  {"meter_id": "X-1", "quantity": "pressure", "tz": "Nowhere"}])])
    register.to_csv(listed, index=False)
    code, out, _ = run("meters", "load", str(listed), "--db", db)
    assert code == 0 and "registered          1" in out and "updated             1" in out
    assert "Zones created: B" in out and "line 5: time zone 'Nowhere' is not an IANA name" in out
    code, out, _ = run("meters", "list", "--db", db, "--zone", "B")
    assert [line.split(",")[:6] for line in out.splitlines()[1:]] == [
        ["B-1", "volume", "L", "A", "outlet", "B"], ["P-1", "pressure", "psi", "B", "sensor", ""]]


def test_set_changes_named_meters_and_fails_on_any_it_could_not(tmp_path: Path):
    db = a_store(tmp_path)
    code, out, _ = run("meters", "set", "H-1", "--zone", "C", "--db", db, "--dry-run")
    assert code == 0 and "dry run" in out and "History would be moved to another zone or category: H-1" in out
    code, out, err = run("meters", "set", "H-1", "NOPE", "--zone", "C", "--db", db)
    assert code == 1 and "NOPE: meter NOPE is not registered" in out and "1 of 2 meters not changed" in err
    code, out, _ = run("meters", "list", "--db", db, "--zone", "C")
    assert [line.split(",")[0] for line in out.splitlines()[1:]] == ["H-1"]
    code, _, err = run("meters", "set", "H-1", "--db", db)
    assert code == 2 and "give at least one value to change" in err


def test_a_register_with_columns_it_does_not_know_is_refused_whole(tmp_path: Path):
    db = a_store(tmp_path)
    register = tmp_path / "gis.csv"
    register.write_text("meter,zone,diameter_mm\nH-1,B,15\n")
    code, _, err = run("meters", "load", str(register), "--db", db)
    assert code == 1 and "columns 'diameter_mm' are not register columns" in err
    register.write_text("zone,category\nB,inlet\n")
    code, _, err = run("meters", "load", str(register), "--db", db)
    assert code == 1 and "no meter_id column" in err
    code, _, err = run("meters", "list", "--db", str(tmp_path / "none.duckdb"))
    assert code == 1 and "no store at" in err


def test_a_store_held_by_a_running_server_says_to_stop_it(tmp_path: Path):
    db = a_store(tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(60)", db], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        code, _, err = run("meters", "set", "H-1", "--zone", "B", "--db", db)
        assert code == 1 and "Stop the `serve` or `listen` that holds it" in err
    finally:
        holder.kill()
        holder.wait()
