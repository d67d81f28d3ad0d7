"""`python -m dashapp alert-rules` as an operator runs it, through click's test runner."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
from click.testing import CliRunner

from dashapp.cli import main
from data.store import Store


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_set_list_and_remove_a_rule(tmp_path: Path):
    db = str(tmp_path / "waterline.duckdb")
    Store(db).close()
    code, out, _ = run("alert-rules", "set", "--db", db, "--zone", "Z1", "--kind", "pressure_out_of_band",
                       "--concern", "operations", "--severity", "info", "--min-score", "0.7", "--actor", "luca")
    assert code == 0 and "kind pressure_out_of_band, concern operations → info, alerts from score 0.70" in out
    code, out, _ = run("alert-rules", "list", "--db", db)
    lines = out.splitlines()
    assert code == 0 and lines[1].split() == ["*", "*", "*", "*", "detector's", "0.5", "default"]
    assert any(line.split()[:6] == ["Z1", "*", "pressure_out_of_band", "operations", "info", "0.7"]
               and line.endswith("luca") for line in lines)
    code, out, _ = run("alert-rules", "remove", "--db", db, "--zone", "Z1", "--kind", "pressure_out_of_band",
                       "--concern", "operations")
    assert code == 0 and "Removed" in out
    with duckdb.connect(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM alert_rules WHERE zone_id = 'Z1'").fetchone() == (0,)


def test_a_rule_that_could_never_match_or_a_missing_one_is_refused(tmp_path: Path):
    db = str(tmp_path / "waterline.duckdb")
    Store(db).close()
    code, _, err = run("alert-rules", "set", "--db", db, "--kind", "burst", "--concern", "operations",
                       "--min-score", "0.5")
    assert code == 1 and "a burst event is never about operations" in err
    code, _, err = run("alert-rules", "set", "--db", db, "--kind", "burst", "--min-score", "lots")
    assert code == 1 and "must be a number between 0 and 1, got 'lots'" in err
    code, _, err = run("alert-rules", "remove", "--db", db, "--zone", "Z9")
    assert code == 1 and "no rule for zone Z9" in err
    code, _, err = run("alert-rules", "list", "--db", str(tmp_path / "none.duckdb"))
    assert code == 1 and "no store at" in err


def test_a_store_held_by_a_running_server_points_to_the_page(tmp_path: Path):
    db = str(tmp_path / "waterline.duckdb")
    Store(db).close()
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(60)", db], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        code, _, err = run("alert-rules", "set", "--db", db, "--kind", "burst", "--min-score", "0.4")
    finally:
        holder.kill()
        holder.wait()
    assert code == 1 and "cannot open the store" in err and "Alert rules page (/alerts/rules)" in err
