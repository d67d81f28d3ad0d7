"""`python -m dashapp serve` as a process: it serves, and stops cleanly even when signalled twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from dashapp.netutil import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[2]


def test_serve_answers_then_exits_cleanly_on_repeated_sigterm(tmp_path):
    web, mqtt = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATERLINE_")}
    env["WATERLINE_EMBEDDED_BROKER_PORT"] = str(mqtt)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "dashapp", "serve", "--db", str(tmp_path / "w.duckdb"), "--port", str(web)],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    try:
        assert wait_for_port("127.0.0.1", web, 30), log.read_text()
        page = urllib.request.urlopen(f"http://127.0.0.1:{web}/", timeout=10).read().decode()
        assert "Waterline" in page
        server.send_signal(signal.SIGTERM)
        time.sleep(0.01)
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
        assert "everything received was committed" in log.read_text()
    finally:
        if server.poll() is None:
            server.kill()


def test_serve_signalled_while_starting_up_stops_cleanly(tmp_path):
    mqtt = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATERLINE_")}
    env["WATERLINE_EMBEDDED_BROKER_PORT"] = str(mqtt)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "dashapp", "serve", "--db", str(tmp_path / "w.duckdb"), "--port", str(free_port())],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    try:
        deadline = time.monotonic() + 60
        while "connected to" not in log.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.05)
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0, log.read_text(errors="replace")
        assert "everything received was committed" in log.read_text(errors="replace")
    finally:
        if server.poll() is None:
            server.kill()
