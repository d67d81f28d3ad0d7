"""A private Mosquitto process on a free loopback port, for benchmarks and tests.

Each broker gets its own config, persistence directory and log in a work
directory, so it never meets the system service on port 1883. Limits are raised
as in deploy/mosquitto.conf: Mosquitto 2.0's defaults drop QoS 1 bursts.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

from dashapp.netutil import free_port, wait_for_port

MOSQUITTO = Path("/usr/sbin/mosquitto")
START_TIMEOUT_S = 10.0


class MosquittoBroker:
    """One ``mosquitto -c CONF`` process on ``host:port``, files under ``workdir``."""

    def __init__(self, workdir: Path, host: str = "127.0.0.1", security: tuple[str, ...] = ("allow_anonymous true",)) -> None:
        """``security``: the listener's access lines (for example TLS files, a password file)."""
        self.workdir = workdir
        self.host = host
        self.security = security
        self.port = free_port(host)
        self.conf_path = workdir / "mosquitto.conf"
        self.log_path = workdir / "mosquitto.log"
        self._stderr_path = workdir / "mosquitto.stderr"
        self._process: subprocess.Popen[bytes] | None = None

    def config_text(self) -> str:
        # `user` only matters when run as root: stay that user instead of dropping to
        # `mosquitto`, which could not write this temp dir.
        return "\n".join([
            f"listener {self.port} {self.host}",
            *self.security,
            "max_inflight_messages 20000",
            "max_queued_messages 1000000",
            "persistence true",
            f"persistence_location {self.workdir}/",
            "autosave_interval 1",
            f"log_dest file {self.log_path}",
            f"user {pwd.getpwuid(os.geteuid()).pw_name}",
            "",
        ])

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(self.config_text())
        with self._stderr_path.open("ab") as stderr:
            self._process = subprocess.Popen(
                [str(MOSQUITTO), "-c", str(self.conf_path)],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        if not wait_for_port(self.host, self.port, START_TIMEOUT_S):
            code = self._process.poll()
            self.stop()
            raise RuntimeError(
                f"mosquitto did not listen on {self.host}:{self.port} within "
                f"{START_TIMEOUT_S:.0f} s (exit code {code})\n{self._diagnostics()}"
            )

    def stop(self) -> None:
        """SIGTERM (Mosquitto saves its persistence file), SIGKILL after 10 s."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def _diagnostics(self) -> str:
        parts = [p.read_text(errors="replace") for p in (self._stderr_path, self.log_path)
                 if p.exists()]
        return "\n".join(parts)
