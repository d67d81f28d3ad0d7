"""An MQTT broker inside the demo process, so `make demo` needs no broker installed.

Production runs Mosquitto (deploy/mosquitto.conf). The demo and the simulator only need
some broker on the loopback interface: `EmbeddedBroker` runs amqtt's broker on its own
asyncio event loop in a daemon thread of the serving process.

Every client may connect without a username. amqtt's stock ``AnonymousAuthPlugin`` marks
such clients anonymous, and amqtt 0.12.1 then drops their session as soon as they
disconnect and never queues QoS 1/2 messages for them. `OpenAuthPlugin` admits every
client without that mark, so a client that reconnects with the same client id and
``clean_session=False`` receives the QoS 1 messages published while it was away.

Limits of amqtt 0.12.1 (Mosquitto has none of them): sessions and queued messages live in
memory and are lost when the broker stops; the offline queue has no size limit; queued
messages are redelivered with the retain flag set.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import threading
from types import TracebackType
from typing import Any

from amqtt.broker import Broker
from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import Session

START_TIMEOUT_S = 10.0
SESSION_EXPIRY_S = 14 * 24 * 3600


class OpenAuthPlugin(BaseAuthPlugin):
    """Admit every client, keeping its persistent session (unlike AnonymousAuthPlugin)."""

    async def authenticate(self, *, session: Session) -> bool:
        return True


class EmbeddedBroker:
    """amqtt broker on ``host:port``, served from a daemon thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        self.host = host
        self.port = port
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop_requested = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> EmbeddedBroker:
        """Serve until `stop`; return once the broker listens, else raise RuntimeError."""
        if self._thread is not None:
            raise RuntimeError(f"MQTT broker on {self.host}:{self.port} is already running")
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._check_port_free()
        self._ready.clear()
        self._stop_requested.clear()
        self._error = None
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(),), name=f"mqtt-broker-{self.port}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            self.stop()
            raise RuntimeError(
                f"MQTT broker on {self.host}:{self.port} did not start "
                f"within {START_TIMEOUT_S:.0f} s"
            )
        if self._error is not None:
            self.stop()
            raise RuntimeError(
                f"MQTT broker could not start on {self.host}:{self.port}: {self._error}"
            ) from self._error
        return self

    def stop(self) -> None:
        """Disconnect all clients, close the listener and join the thread."""
        if self._thread is None:
            return
        self._stop_requested.set()
        self._thread.join(timeout=2 * START_TIMEOUT_S)
        self._thread = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _check_port_free(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((self.host, self.port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise RuntimeError(
                        f"Cannot start the MQTT broker: {self.host}:{self.port} is already in "
                        "use. Stop the other broker (e.g. `systemctl stop mosquitto`) or "
                        "choose another port."
                    ) from exc
                raise RuntimeError(
                    f"Cannot start the MQTT broker on {self.host}:{self.port}: {exc}"
                ) from exc

    def _config(self) -> dict[str, Any]:
        bind_host = f"[{self.host}]" if ":" in self.host else self.host
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{bind_host}:{self.port}"}},
            "session_expiry_interval": SESSION_EXPIRY_S,
            "plugins": {f"{__name__}.{OpenAuthPlugin.__name__}": {}},
        }

    async def _serve(self) -> None:
        try:
            broker = Broker(self._config())
            await broker.start()
        except Exception as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        while not self._stop_requested.is_set():  # polled: no executor thread to outlive us
            await asyncio.sleep(0.2)
        await broker.shutdown()
