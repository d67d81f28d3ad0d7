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
READINGS = 10_000


def start_listener(db: Path, port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATERLINE_")}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "dashapp", "listen", "--db", str(db), "--broker", f"127.0.0.1:{port}"],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env,
        )


def wait_for_line(log: Path, text: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
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
        listener = start_listener(db, port, log)
        wait_for_line(log, "connected to", 30)
        time.sleep(3)
        listener.send_signal(signal.SIGTERM)
        assert listener.wait(60) == 0
        total = stored(db)
        if total[0] >= expected:
            break
    return total


@pytest.mark.slow
def test_kill_9_mid_stream_then_restart_stores_every_reading_exactly_once(mosquitto, tmp_path):
    db, log = tmp_path / "store.duckdb", tmp_path / "listener.log"
    listener = start_listener(db, mosquitto.port, log)
    wait_for_line(log, "connected to")
    publisher = start_publisher(mosquitto.port, READINGS)
    time.sleep(1.0)
    assert publisher.poll() is None, "the publisher finished before the kill: not mid-stream"
    listener.send_signal(signal.SIGKILL)
    listener.wait(10)
    committed_before_kill, _ = stored(db)
    assert 0 < committed_before_kill < READINGS
    assert publisher.wait(120) == 0

    count, distinct = drain(db, mosquitto.port, log, READINGS)
    assert (count, distinct) == (READINGS, READINGS)


@pytest.mark.slow
def test_sigterm_commits_what_it_holds_and_exits_cleanly(mosquitto, tmp_path):
    db, log = tmp_path / "store.duckdb", tmp_path / "listener.log"
    listener = start_listener(db, mosquitto.port, log)
    wait_for_line(log, "connected to")
    publisher = start_publisher(mosquitto.port, READINGS)
    time.sleep(1.0)
    assert publisher.poll() is None, "the publisher finished before SIGTERM: not mid-stream"
    listener.send_signal(signal.SIGTERM)
    assert listener.wait(60) == 0
    assert "everything received was committed" in log.read_text() or "stopped:" in log.read_text()
    first_count, _ = stored(db)
    assert publisher.wait(120) == 0

    count, distinct = drain(db, mosquitto.port, log, READINGS)
    assert first_count > 0
    assert (count, distinct) == (READINGS, READINGS)
