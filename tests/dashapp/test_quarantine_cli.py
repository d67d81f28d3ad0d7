"""`python -m dashapp quarantine` as an operator runs it: a device that spoke before it was registered."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from dashapp.cli import main
from data.store import Store, StoreOptions
from tests.data.builders import ingest, register_series

STRICT = {"WATERLINE_UNKNOWN_METERS": "quarantine"}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner(env=STRICT).invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_register_the_meter_then_replay_what_it_sent_before(tmp_path: Path):
    db = str(tmp_path / "waterline.duckdb")
    with Store(db, StoreOptions(unknown_meters="quarantine")) as store:
        ingest(store, register_series("NEW-7", [0, 12, 30]))
    code, out, _ = run("quarantine", "list", "--db", db)
    assert code == 0 and out.splitlines()[1].split()[:4] == ["3", "2024-06-01", "02:00", "unknown"]
    register = tmp_path / "register.csv"
    register.write_text("meter_id,quantity,zone\nNEW-7,volume,Z1\n")
    assert run("meters", "load", str(register), "--db", db)[0] == 0

    code, out, _ = run("quarantine", "replay", "--db", db, "--dry-run")
    assert code == 0 and "(dry run, nothing changed)" in out and "stored                      3" in out
    code, out, _ = run("quarantine", "replay", "--db", db)
    assert code == 0 and "left quarantine             3" in out and "stored                      3" in out
    code, out, _ = run("quarantine", "list", "--db", db)
    assert code == 0 and out.strip() == "Nothing is quarantined."
    with Store(db, read_only=True) as store:
        assert store.cursor().execute("SELECT sum(volume_l) FROM zone_daily WHERE zone_id = 'Z1'").fetchone() == (30.0,)
    code, _, err = run("quarantine", "replay", "--db", db, "--all", "--reason", "%x%")
    assert code == 2 and "not both" in err
