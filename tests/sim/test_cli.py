"""`python -m dashapp simulate backfill|live` from the command line."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
from click.testing import CliRunner

from dashapp.commands.simulating import simulate


def test_backfill_fills_the_store_and_a_second_run_resumes(tmp_path):
    db = str(tmp_path / "city.duckdb")
    args = ["backfill", "--db", db, "--days", "1", "--end", "2025-07-08T00:00:00Z", "--no-progress", "--scale", "0.1"]
    first = CliRunner().invoke(simulate, args)
    assert first.exit_code == 0, first.output
    assert "readings/s" in first.output and "event labels" in first.output
    second = CliRunner().invoke(simulate, args)
    assert second.exit_code == 0 and " 0 readings" in second.output
    with duckdb.connect(db, read_only=True) as con:
        readings, last = con.execute("SELECT count(*), max(ts) FROM readings").fetchone()
        labels = con.execute("SELECT count(*) FROM event_labels").fetchone()[0]
    assert readings > 1000 and labels >= 0 and pd.Timestamp(last) <= pd.Timestamp("2025-07-08")


def test_live_publishes_to_a_broker_for_a_while_and_reports(mosquitto_module, tmp_path):
    start = (pd.Timestamp.now(tz="UTC") - pd.Timedelta(minutes=30)).isoformat()
    labels = tmp_path / "labels.jsonl"
    result = CliRunner().invoke(simulate, [
        "live", "--db", str(tmp_path / "none.duckdb"), "--broker", f"{mosquitto_module.host}:{mosquitto_module.port}",
        "--speed", "0", "--duration", "3", "--start", start, "--pattern", "corrupt=0.02", "--singles",
        "--scale", "0.1", "--labels-file", str(labels)])
    assert result.exit_code == 0, result.output
    assert "messages" in result.output and "bound for quarantine" in result.output
    for line in labels.read_text().splitlines() if labels.exists() else []:
        assert json.loads(line)["kind"]


def test_a_bad_pattern_is_a_usage_error():
    result = CliRunner().invoke(simulate, ["live", "--pattern", "gremlins", "--duration", "1"])
    assert result.exit_code != 0 and "gremlins" in result.output
