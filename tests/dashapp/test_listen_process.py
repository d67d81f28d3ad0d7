"""`python -m dashapp listen` as a process: killed with -9 or stopped with SIGTERM, it loses nothing.

The publisher sends single-reading QoS 1 messages flat out (bench.publisher, its own
process). The listener acknowledges a message only after committing it, so whatever a
killed listener had not committed is redelivered to its persistent session.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
READINGS = 40_000  # at full rate a fast machine sends 10,000 before the listener can be stopped mid-stream


def start_listener(db: Path, port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATERLINE_")}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "dashapp", "listen", "--db", str(db), "--broker", f"127.0.0.1:{port}"],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env,
        )


def wait_for_line(log: Path, text: str, timeout_s: float = 30.0, times: int = 1) -> None:
    """Wait until ``text`` is in the log ``times`` times (the log is shared by successive runs)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if log.exists() and log.read_text(errors="replace").count(text) >= times:
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in listener log:\n{log.read_text(errors='replace')}")


def start_publisher(port: int, count: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.publisher", "--port", str(port), "--count", str(count), "--meters", "50"],
        cwd=REPO, stdout=subprocess.PIPE,
    )


def stored(db: Path) -> tuple[int, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT count(*), count(DISTINCT seq) FROM readings").fetchone()


def drain(db: Path, port: int, log: Path, expected: int, rounds: int = 6) -> tuple[int, int]:
    """Run the listener for a while, stop it cleanly, count; repeat until all arrived."""
    total = (0, 0)
    for _ in range(rounds):
        connections = log.read_text(errors="replace").count("connected to") if log.exists() else 0
        listener = start_listener(db, port, log)
        wait_for_line(log, "connected to", 30, times=connections + 1)
        time.sleep(3)
        listener.send_signal(signal.SIGTERM)
        assert listener.wait(60) == 0
        total = stored(db)
        if total[0] >= expected:
            break
    return total


def stop_mid_stream(port: int, tmp_path: Path, how: signal.Signals) -> tuple[Path, Path, int]:
    """Start a listener and a flat-out publisher, signal the listener while the publisher is
    still sending, let the publisher finish; returns (store, log, readings stored by then)."""
    db, log = tmp_path / "store.duckdb", tmp_path / "listener.log"
    listener = start_listener(db, port, log)
    wait_for_line(log, "connected to")
    publisher = start_publisher(port, READINGS)
    wait_for_line(log, "first batch committed", 60)
    time.sleep(0.3)
    assert publisher.poll() is None, f"the publisher finished before {how.name}: not mid-stream"
    listener.send_signal(how)
    exit_code = listener.wait(60)
    if how == signal.SIGTERM:
        assert exit_code == 0
        assert "stopped:" in log.read_text()
    committed, _ = stored(db)
    assert publisher.wait(120) == 0
    return db, log, committed


@pytest.mark.slow
def test_kill_9_mid_stream_then_restart_stores_every_reading_exactly_once(mosquitto, tmp_path):
    db, log, committed_before_kill = stop_mid_stream(mosquitto.port, tmp_path, signal.SIGKILL)
    assert 0 < committed_before_kill < READINGS
    assert drain(db, mosquitto.port, log, READINGS) == (READINGS, READINGS)


@pytest.mark.slow
def test_sigterm_commits_what_it_holds_and_exits_cleanly(mosquitto, tmp_path):
    db, log, committed_at_stop = stop_mid_stream(mosquitto.port, tmp_path, signal.SIGTERM)
    assert committed_at_stop > 0
    assert drain(db, mosquitto.port, log, READINGS) == (READINGS, READINGS)


@pytest.mark.slow
def test_sigterm_while_starting_up_still_stops_cleanly(mosquitto, tmp_path):
    db, log = tmp_path / "store.duckdb", tmp_path / "listener.log"
    for attempt in range(1, 4):
        listener = start_listener(db, mosquitto.port, log)
        wait_for_line(log, "connected to", 60, times=attempt)
        listener.send_signal(signal.SIGTERM)
        assert listener.wait(60) == 0, log.read_text(errors="replace")
        assert log.read_text(errors="replace").count("stopped: ") == attempt
