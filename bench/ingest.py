"""The ingest benchmark behind `python -m dashapp bench ingest`.

Against a real Mosquitto (a private one on a free port unless `--broker` names
one), with the publisher in its own process, it measures in one run:

1. the bare transport: a paho subscriber that only parses JSON with orjson (the ceiling),
   with single-reading messages and with 100-reading arrays;
2. the full listener (decode, validate, store, rollups, acknowledge) with
   the same single-reading QoS 1 messages and 100-reading arrays;
3. publish-to-queryable latency at a paced rate: a reader polls the store and
   notes when each reading's sequence number becomes visible.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from dashapp.settings import Settings
from data.ingest_queue import ReadingQueue
from data.listener import ListenerConfig, MqttListener
from data.metrics import IngestMetrics
from data.store import Store, StoreOptions
from data.validation import ValidationRules
from data.writer import IngestWriter

DEFAULT_STORE_OPTIONS = StoreOptions()

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Phase:
    name: str
    readings: int
    seconds: float
    batch_p50_ms: float | None = None
    batch_p95_ms: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    #: Readings the phase published; fewer arrived when the phase timed out.
    expected: int | None = None

    @property
    def rate(self) -> float:
        return self.readings / self.seconds if self.seconds else 0.0

    @property
    def complete(self) -> bool:
        return self.expected is None or self.readings >= self.expected


def _publish(port: int, count: int, array: int, rate: float = 0.0, now_ts: bool = False,
             topic: str | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "bench.publisher", "--port", str(port), "--count", str(count),
               "--array", str(array), "--rate", str(rate)]
    if now_ts:
        command.append("--now-ts")
    if topic:
        command += ["--topic", topic]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE)


def _wait(condition, timeout_s: float, poll_s: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll_s)
    return False


def bare_transport(host: str, port: int, count: int, array: int = 1) -> Phase:
    """A subscriber that parses each message and counts: what the transport alone allows."""
    received = 0
    first: list[float] = []
    done = threading.Event()

    def on_message(client, userdata, message):
        nonlocal received
        document = orjson.loads(message.payload)
        received += len(document) if isinstance(document, list) else 1
        if not first:
            first.append(time.perf_counter())
        if received >= count:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-bare", clean_session=True)
    client.on_message = on_message
    client.connect(host, port)
    client.subscribe("bench/bare", qos=1)
    client.loop_start()
    time.sleep(0.5)
    started = time.perf_counter()
    publisher = _publish(port, count, array, topic="bench/bare")
    done.wait(600)
    elapsed = time.perf_counter() - started
    publisher.wait()
    client.loop_stop()
    client.disconnect()
    return Phase(f"bare transport, {_kind(array)} QoS 1 messages", received, elapsed, expected=count)


def _kind(array: int) -> str:
    return "single-reading" if array == 1 else f"{array}-reading array"


class ListenerUnderTest:
    """The production listener and writer on a scratch store, as `listen` runs them."""

    def __init__(self, host: str, port: int, workdir: Path, client_id: str, options: StoreOptions = DEFAULT_STORE_OPTIONS,
                 batch_readings: int | None = None, batch_target_ms: int | None = None):
        self.host, self.port, self.client_id = host, port, client_id
        self.store = Store(workdir / f"{client_id}.duckdb", options)
        self.queue = ReadingQueue(Settings().queue_capacity_readings)
        self.metrics = IngestMetrics(lambda: self.queue.depth, f"{host}:{port}")
        self.listener = MqttListener(ListenerConfig(host, port, client_id=client_id), self.queue, self.metrics)
        defaults = Settings()
        self.writer = IngestWriter(self.store, self.queue, self.metrics, ValidationRules(), self.listener.ack,
                                   batch_readings or defaults.batch_max_readings, defaults.batch_max_wait_ms,
                                   self.listener.config.limits, batch_target_ms or defaults.batch_target_ms)

    def __enter__(self) -> ListenerUnderTest:
        self.writer.start()
        self.listener.start()
        _wait(lambda: self.metrics.broker_connected, 10)
        time.sleep(0.3)
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.pause()
        self.writer.stop()
        self.listener.stop()
        self.store.close()
        _forget_session(self.host, self.port, self.client_id)


def _forget_session(host: str, port: int, client_id: str) -> None:
    """End a listener's persistent session, so the broker stops queueing later phases' messages for it."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    client.connect(host, port)
    client.loop_start()
    _wait(client.is_connected, 10)
    client.disconnect()
    client.loop_stop()


def through_listener(host: str, port: int, workdir: Path, count: int, array: int,
                     options: StoreOptions = DEFAULT_STORE_OPTIONS, batch_readings: int | None = None,
                     batch_target_ms: int | None = None) -> Phase:
    with ListenerUnderTest(host, port, workdir, f"bench-listener-{array}", options, batch_readings,
                           batch_target_ms) as run:
        started = time.perf_counter()
        publisher = _publish(port, count, array)
        _wait(lambda: run.metrics.stored + run.metrics.duplicates >= count, 900, 0.01)
        elapsed = time.perf_counter() - started
        publisher.wait()
        snapshot = run.metrics.snapshot()
        return Phase(f"listener, {_kind(array)} QoS 1 messages", snapshot.stored, elapsed,
                     snapshot.batch_p50_ms, snapshot.batch_p95_ms, expected=count - snapshot.duplicates)


def latency(host: str, port: int, workdir: Path, count: int, array: int, rate: float,
            options: StoreOptions = DEFAULT_STORE_OPTIONS) -> Phase:
    """Publish-to-queryable: when does each reading become visible to a reader of the store?"""
    with ListenerUnderTest(host, port, workdir, "bench-latency", options) as run:
        visible_ms: list[float] = []
        stop = threading.Event()

        def poll() -> None:
            cur = run.store.cursor()
            last_seq = -1
            while not stop.is_set():
                rows = cur.execute("SELECT seq, epoch_ms(ts) FROM readings WHERE seq > ?", [last_seq]).fetchall()
                now_ms = time.time() * 1000
                for seq, ts_ms in rows:
                    visible_ms.append(now_ms - ts_ms)
                    last_seq = max(last_seq, seq)
                time.sleep(0.01)
            cur.close()

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        started = time.perf_counter()
        publisher = _publish(port, count, array, rate=rate, now_ts=True)
        publisher.wait()
        _wait(lambda: len(visible_ms) >= count, 30, 0.01)
        stop.set()
        poller.join()
        elapsed = time.perf_counter() - started
        snapshot = run.metrics.snapshot()
        samples = np.array(visible_ms)
        return Phase(
            f"publish-to-queryable, {array}-reading messages at {rate:g} msg/s", len(samples), elapsed,
            snapshot.batch_p50_ms, snapshot.batch_p95_ms,
            float(np.percentile(samples, 50)) if len(samples) else None,
            float(np.percentile(samples, 95)) if len(samples) else None,
            expected=count,
        )


def run_ingest_bench(host: str, port: int, singles: int, arrays: int, workdir: Path | None = None,
                     db_threads: int | None = None, batch_readings: int | None = None,
                     batch_target_ms: int | None = None) -> list[Phase]:
    """All phases in one run, so the figures compare like with like."""
    options = StoreOptions(threads=db_threads)
    with tempfile.TemporaryDirectory(prefix="waterline-bench-") as scratch:
        work = workdir or Path(scratch)
        return [
            bare_transport(host, port, singles),
            through_listener(host, port, work, singles, 1, options, batch_readings, batch_target_ms),
            bare_transport(host, port, arrays, 100),
            through_listener(host, port, work, arrays, 100, options, batch_readings, batch_target_ms),
            latency(host, port, work, 5_000, 10, 100.0, options),
        ]


def _ratios(phases: list[Phase]) -> list[tuple[str, float]]:
    """Each listener phase's rate as a share of the bare transport with the same messages (both complete)."""
    complete = [p for p in phases if p.complete]
    bare = {p.name.removeprefix("bare transport, "): p.rate for p in complete if p.name.startswith("bare transport, ")}
    return [(kind, p.rate / bare[kind]) for p in complete
            if (kind := p.name.removeprefix("listener, ")) in bare and p.name.startswith("listener, ") and bare[kind]]


def _incomplete(phases: list[Phase]) -> list[str]:
    return [f"\n{p.name}: incomplete, {p.readings:,} of {p.expected:,} readings arrived in {p.seconds:.0f} s "
            "(its rate is not a measurement and no share of bare is taken from it)" for p in phases if not p.complete]


def format_report(phases: list[Phase]) -> str:
    def ms(value: float | None) -> str:
        return "–" if value is None else f"{value:.0f}"

    lines = ["| phase | readings | seconds | readings/s | batch p50 / p95 ms | latency p50 / p95 ms |",
             "|---|---:|---:|---:|---:|---:|"]
    for p in phases:
        lines.append(f"| {p.name} | {p.readings:,} | {p.seconds:.2f} | {p.rate:,.0f} | "
                     f"{ms(p.batch_p50_ms)} / {ms(p.batch_p95_ms)} | {ms(p.latency_p50_ms)} / {ms(p.latency_p95_ms)} |")
    for kind, ratio in _ratios(phases):
        lines.append(f"\nlistener rate with {kind} = {ratio:.0%} of the bare transport")
    return "\n".join(lines + _incomplete(phases))


def format_summary(runs: list[list[Phase]]) -> str:
    """Medians over repeated runs, with each run's figure beside them."""
    def each(values: list[float | None], pattern: str) -> str:
        return ", ".join("–" if v is None else pattern.format(v) for v in values)

    def median(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return float(np.median(known)) if known else None

    lines = ["| phase | readings/s median (runs) | batch p95 ms median (runs) | latency p95 ms median (runs) |",
             "|---|---:|---:|---:|"]
    for i, phase in enumerate(runs[0]):
        rates = [run[i].rate if run[i].complete else None for run in runs]
        batch = [run[i].batch_p95_ms for run in runs]
        latency = [run[i].latency_p95_ms for run in runs]
        lines.append(
            f"| {phase.name} | {each([median(rates)], '{:,.0f}')} ({each(rates, '{:,.0f}')}) | "
            f"{each([median(batch)], '{:.0f}')} ({each(batch, '{:.0f}')}) | "
            f"{each([median(latency)], '{:.0f}')} ({each(latency, '{:.0f}')}) |"
        )
    by_kind: dict[str, list[float]] = {}
    for run in runs:
        for kind, ratio in _ratios(run):
            by_kind.setdefault(kind, []).append(ratio)
    for kind, ratios in by_kind.items():
        lines.append(f"\nlistener rate with {kind} = {np.median(ratios):.0%} of the bare transport "
                     f"(median; runs: {', '.join(f'{r:.0%}' for r in ratios)})")
    for number, run in enumerate(runs, start=1):
        lines += [f"\nrun {number}: {line.lstrip()}" for line in _incomplete(run)]
    return "\n".join(lines)
