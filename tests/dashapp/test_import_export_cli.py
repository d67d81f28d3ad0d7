"""`python -m dashapp import` and `export` as a user runs them, through click's test runner."""

from __future__ import annotations

import io
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from click.testing import CliRunner

from dashapp.cli import main

HEADER = "meter_id,ts,quantity,value,unit\n"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "waterline.duckdb")


def history(tmp_path: Path) -> Path:
    hours = pd.date_range("2021-10-30 00:00", "2021-11-01 00:00", freq="h", tz="Europe/Rome")
    lines = [f"m1,{t.isoformat()},interval_volume,50,L" for t in hours]
    lines.insert(5, "m1,2021-10-30 05:30,interval_volume,lots,L")
    path = tmp_path / "history.csv"
    path.write_text(HEADER + "\n".join(lines) + "\n")
    return path


def test_import_prints_a_summary_and_bad_rows_do_not_fail_it(db, tmp_path):
    code, out, err = run("import", str(history(tmp_path)), "--db", db, "--tz", "Europe/Rome",
                         "--zone", "north", "--no-progress")
    assert code == 0, err
    assert re.search(r"readings stored\s+50\b", out)
    assert re.search(r"bad rows\s+1\b", out)
    assert "line 7: value 'lots' is not a finite number" in out
    assert "Traceback" not in out + err


def test_export_after_import_writes_csv(db, tmp_path):
    run("import", str(history(tmp_path)), "--db", db, "--tz", "Europe/Rome", "--zone", "north", "--no-progress")
    code, out, err = run("export", "--db", db, "--meter", "m1", "--freq", "D", "--start", "2021-10-30",
                         "--end", "2021-11-01", "--unit", "m3")
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns) == ["meter_id", "period_start", "consumption", "unit", "estimated_share"]
    assert list(table["period_start"]) == ["2021-10-30T00:00:00+02:00", "2021-10-31T00:00:00+02:00"]
    assert table["consumption"].iloc[1] == pytest.approx(25 * 0.05)

    out_file = tmp_path / "zone.csv"
    code, _, err = run("export", "--db", db, "--zone", "north", "--freq", "h", "--out", str(out_file))
    assert code == 0 and "Wrote 50 rows" in err
    assert set(pd.read_csv(out_file)["meter_id"]) == {"north"}


def test_wide_file_with_mappings_and_autodetected_presets(db, tmp_path):
    wide = tmp_path / "scada.csv"
    wide.write_text("Time,P1_bar,Q_in\n2022-01-01 00:00,3.2,12\n2022-01-01 01:00,,13\n")
    code, out, err = run("import", str(wide), "--db", db, "--no-progress", "--tz", "UTC",
                         "--map", "P1_bar=P1:pressure:bar", "--map-regex", r"Q_(\w+)=flow-{1}:flow:L/s")
    assert code == 0, err
    assert "(wide)" in out and re.search(r"empty cells\s+1\b", out)

    daiad_like = tmp_path / "household.csv"
    daiad_like.write_text("V1;V2;V3;V4\nh1;01/03/2017 00:03:26;117279;8\nh1;01/03/2017 01:03:28;117288;9\n")
    code, out, err = run("import", str(daiad_like), "--db", db, "--no-progress", "--tz", "Europe/Madrid")
    assert code == 0, err
    assert "(daiad)" in out and re.search(r"readings stored\s+2\b", out)


def test_one_series_per_file_in_one_command_and_a_bad_file_does_not_stop_the_others(db, tmp_path):
    """Data sets such as LeakDB keep each sensor in its own file, named after it: {file} names the meter."""
    folder = tmp_path / "Pressures"
    folder.mkdir()
    for node, base in (("Node_1", 52.1), ("Node_7", 48.3)):
        (folder / f"{node}.csv").write_text("Timestamp,Value\n" + "".join(
            f"2024-01-01 00:{m:02d},{base + m / 100}\n" for m in range(0, 60, 30)))
    broken = folder / "Node_9.csv"
    broken.write_text("Timestamp;Reading\n2024-01-01 00:00;50\n")
    files = [str(p) for p in sorted(folder.glob("*.csv"))]
    code, out, err = run("import", *files, "--db", db, "--no-progress", "--tz", "UTC", "--zone", "hanoi",
                         "--map", "Value=P-{file}:pressure:m")
    assert code == 1
    assert len(re.findall(r"readings stored\s+2\b", out)) == 2
    assert "Node_9.csv" in err and "1 of 3 files not imported" in err
    from data.store import Store
    with Store(db) as store:
        stored = store.cursor().execute("SELECT meter_id, count(*) FROM readings GROUP BY 1 ORDER BY 1").fetchall()
    assert stored == [("P-Node_1", 2), ("P-Node_7", 2)]


def test_a_decimal_comma_is_explained_and_read_with_decimal(db, tmp_path):
    long = tmp_path / "registers.csv"
    long.write_text("meter_id;ts;quantity;value;unit\nm1;2024-03-01 00:00;volume;1234,5;m3\n"
                    "m1;2024-03-01 01:00;volume;1234,75;m3\n")
    code, out, err = run("import", str(long), "--db", db, "--no-progress", "--tz", "UTC")
    assert code == 0, err
    assert re.search(r"bad rows\s+2\b", out) and "line 2: value '1234,5' is not a finite number" in out
    assert "import again with --decimal ," in out
    code, out, err = run("import", str(long), "--db", db, "--no-progress", "--tz", "UTC", "--decimal", ",")
    assert code == 0, err
    assert re.search(r"readings stored\s+2\b", out) and "--decimal" not in out

    wide = tmp_path / "scada.csv"
    wide.write_text("Time;P1\n2024-03-01 00:00;3,25\n")
    code, out, err = run("import", str(wide), "--db", db, "--no-progress", "--tz", "UTC", "--decimal", ",",
                         "--map", "P1=P1:pressure:bar")
    assert code == 0, err
    import duckdb

    with duckdb.connect(db, read_only=True) as cur:
        values = dict(cur.execute("SELECT meter_id, max(value) FROM readings GROUP BY ALL").fetchall())
    assert values == {"m1": pytest.approx(1234750.0), "P1": pytest.approx(3.25)}


@pytest.mark.parametrize("args, message", [
    (["missing.csv"], "does not exist"),
    (["{empty}"], "no data rows"),
    (["{history}", "--tz", "Mars/Olympus"], "unknown time zone"),
    (["{history}", "--map", "nonsense"], "COLUMN=METER:QUANTITY:UNIT"),
])
def test_import_errors_are_messages_not_tracebacks(db, tmp_path, args, message):
    empty = tmp_path / "empty.csv"
    empty.write_text(HEADER)
    paths = {"empty": empty, "history": history(tmp_path)}
    code, out, err = run("import", *[a.format(**paths) for a in args], "--db", db, "--no-progress")
    assert code != 0
    assert message in out + err and "Traceback" not in out + err


def test_export_errors(db, tmp_path):
    run("import", str(history(tmp_path)), "--db", db, "--no-progress")
    code, out, err = run("export", "--db", db, "--meter", "nope")
    assert code == 1 and "unknown meter: nope" in err
    code, out, err = run("export", "--db", db)
    assert code == 2 and "--meter ID" in err
    code, out, err = run("export", "--db", str(tmp_path / "none.duckdb"), "--meter", "m1")
    assert code == 1 and "cannot read the store" in err


def test_a_store_of_an_earlier_schema_read_by_a_command_is_one_line_that_says_what_to_do(db, tmp_path):
    run("import", str(history(tmp_path)), "--db", db, "--no-progress")
    with duckdb.connect(db) as con:
        con.execute("ALTER TABLE meters DROP COLUMN to_zone_id; UPDATE schema_info SET version = 1")
    for command in (["export", "--meter", "m1"], ["meters", "list"], ["detect", "--meter", "m1", "--start", "2024-01-01", "--end", "2024-02-01"]):
        code, out, err = run(*command, "--db", db)
        assert code == 1 and "open it once with write access" in err and "Traceback" not in out + err
