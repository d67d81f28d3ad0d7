"""The city over MQTT, as its devices would publish it (docs/MQTT.md), in real time or faster.

The simulated clock runs at ``speed`` simulated seconds per wall second and
never passes the wall clock (a reading from the future would be refused). At
real-time speed, a run that starts behind the clock — a demo restarted after a
pause — first catches up as fast as ``rate`` allows, then keeps time. The city is simulated a
day ahead at a time; each reading is published when the simulated clock
reaches the moment it would arrive: customer registers through their zone's
gateway (in arrays, or one message per reading), sensors through SCADA, the
weather station on its own. Load-test patterns (`sim.loadtest`) are mixed in
on the way out. Labels of the events in force go to the store when the run
shares the process with it, or to a JSON-lines file.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import paho.mqtt.client as mqtt
import pandas as pd
from paho.mqtt.enums import CallbackAPIVersion

from data.payload import TOPIC_ROOT
from data.store import Store
from sim.config import SimConfig
from sim.engine import DAY, CitySimulation, SimState, floor_step
from sim.labels import write_labels, write_labels_file
from sim.loadtest import BURST_EVERY_S, MESSAGE_CORRUPTIONS, LoadMix, encode, spoil
from sim.population import meters_frame, zones_frame
from sim.resume import history_end, resume_state

log = logging.getLogger(__name__)

LOOKAHEAD = np.timedelta64(6 * 3600, "s")   # simulate a period ahead once the clock is this close to its end
TICK_S = 0.2


@dataclass(frozen=True)
class LiveOptions:
    """How to publish: pace, batching and the load-test mix."""

    speed: float = 1.0              # simulated seconds per wall second; 0 = as fast as `rate` allows
    rate: float = 0.0               # most readings per second published (0 = no cap)
    arrays: bool = True             # gateways send arrays; False = one message per reading
    gateway_window_s: float = 60.0  # a gateway gathers readings this long (simulated) before sending
    max_array: int = 500
    mix: LoadMix = field(default_factory=LoadMix)
    qos: int = 1


@dataclass
class LiveReport:
    sim_start: datetime | None = None
    sim_end: datetime | None = None
    messages: int = 0
    readings: int = 0               # good readings published (replays not counted)
    replayed: int = 0               # readings sent a second time (bursts)
    missing: int = 0                # readings not sent on purpose
    corrupt_messages: int = 0       # messages spoiled as a whole (one quarantine row each)
    corrupt_readings: int = 0       # readings spoiled inside a message (one quarantine row each)
    corruptions: dict[str, int] = field(default_factory=dict)
    labels: int = 0
    seconds: float = 0.0

    @property
    def expected_quarantine(self) -> int:
        return self.corrupt_messages + self.corrupt_readings


class _Clock:
    """Simulated time for wall time: ``speed`` x real time from ``start``, never past the wall clock.

    At speed 1 the simulated clock is the wall clock: a run that starts behind it
    releases everything up to now at once (as fast as ``rate`` allows), then keeps time.
    """

    def __init__(self, start: np.datetime64, speed: float):
        self.start, self.speed = np.datetime64(start, "us"), speed
        self.wall0 = time.monotonic()

    def now(self) -> np.datetime64:
        wall = _utc_now()
        if self.speed <= 0 or self.speed == 1.0:
            return wall
        elapsed = np.timedelta64(int((time.monotonic() - self.wall0) * self.speed * 1e6), "us")
        return min(self.start + elapsed, wall)


def _utc_now() -> np.datetime64:
    return np.datetime64(datetime.now(UTC).replace(tzinfo=None), "us")


def _connect(host: str, port: int, client_id: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.max_inflight_messages_set(1000)
    connected = threading.Event()
    client.on_connect = lambda c, u, flags, reason, props: connected.set() if not reason.is_failure else None
    client.connect(host, port, keepalive=60)
    client.loop_start()
    if not connected.wait(15):
        client.loop_stop()
        raise ConnectionError(f"no CONNACK from MQTT broker {host}:{port}")
    return client


class _Publisher:
    """Turns released readings into messages, applies the load-test mix, paces and publishes."""

    def __init__(self, client: mqtt.Client, simulation: CitySimulation, options: LiveOptions, report: LiveReport,
                 describe_meters: bool, rng: np.random.Generator):
        self.client, self.simulation, self.options, self.report, self.rng = client, simulation, options, report, rng
        self.described: set[str] = set() if describe_meters else set(simulation.vocabulary.meter_id.categories)
        customers = simulation.customers.set_index("meter_id")
        described = pd.concat([simulation.customers, simulation.sensors]).drop_duplicates("meter_id")
        self.meta = {m: {k: v for k, v in (("zone", z), ("category", c)) if isinstance(v, str)}
                     for m, z, c in zip(described["meter_id"], described["zone_id"], described["category"])}
        self.customer_ids = set(customers.index)
        self.tz = simulation.city.tz
        self.tokens, self.last_refill = 0.0, time.monotonic()
        self.last_info: mqtt.MQTTMessageInfo | None = None

    def readings(self, frame: pd.DataFrame) -> list[dict]:
        """JSON-ready reading objects: customer meters stamp local ISO times, SCADA epoch milliseconds."""
        ts = pd.DatetimeIndex(frame["ts"])
        local = ts.tz_convert(self.tz).strftime("%Y-%m-%dT%H:%M:%S%z")
        iso = [t[:-2] + ":" + t[-2:] for t in local]
        epoch_ms = ts.as_unit("ms").asi8.tolist()
        out = []
        for meter, q, v, u, s, i, e in zip(frame["meter_id"].astype(object), frame["quantity"].astype(object),
                                           frame["value"].tolist(), frame["unit"].astype(object),
                                           frame["seq"].astype("Int64").fillna(-1).tolist(), iso, epoch_ms):
            reading = {"meter_id": meter, "ts": i if meter in self.customer_ids else e, "quantity": q,
                       "value": v, "unit": u}
            if s >= 0:
                reading["seq"] = int(s)
            if meter not in self.described:
                reading.update(self.meta.get(meter, {}), tz=self.tz)
                self.described.add(meter)
            out.append(reading)
        return out

    def publish(self, frame: pd.DataFrame, stop: threading.Event) -> list[tuple[str, list[dict]]]:
        """Publish released readings; returns the messages that went out intact (for replays)."""
        mix = self.options.mix
        if frame.empty:
            return []
        if mix.missing > 0:
            keep = self.rng.random(len(frame)) >= mix.missing
            self.report.missing += int((~keep).sum())
            frame = frame[keep]
        readings = self.readings(frame)
        if mix.noise > 0:
            for r in readings:
                if r["quantity"] == "volume" and self.rng.random() < 0.01 * mix.noise:   # a register jitters back
                    litres = float(self.rng.uniform(1, 5))
                    r["value"] = max(0.0, r["value"] - (litres / 1000 if r["unit"] == "m3" else litres))
        sources = frame["source"].astype(object).tolist()
        if self.options.arrays:  # one message per gateway and gateway window
            windows = frame["release"].to_numpy().tolist() if "release" in frame else [0] * len(frame)
            groups: dict[tuple, list[dict]] = {}
            for source, window, reading in zip(sources, windows, readings):
                groups.setdefault((window, source), []).append(reading)
            messages = [(key[1], chunk[k:k + self.options.max_array]) for key, chunk in groups.items()
                        for k in range(0, len(chunk), self.options.max_array)]
        else:
            messages = [(r["meter_id"], [r]) for r in readings]
        intact = []
        for topic_id, batch in messages:
            if stop.is_set():
                break
            self._pace(len(batch), stop)
            if self._send(topic_id, batch):
                intact.append((topic_id, batch))
        return intact

    def _send(self, topic_id: str, batch: list[dict]) -> bool:
        """Publish one message, spoiled at the mix's corrupt share; True if it went out intact."""
        topic = f"{TOPIC_ROOT}/{topic_id}"
        intact = not (self.options.mix.corrupt > 0 and self.rng.random() < self.options.mix.corrupt)
        if intact:
            payload = encode(batch, self.options.arrays)
            self.report.readings += len(batch)
        else:
            payload, kind = spoil(batch, self.options.arrays, self.rng)
            self.report.corruptions[kind] = self.report.corruptions.get(kind, 0) + 1
            if kind in MESSAGE_CORRUPTIONS:
                self.report.corrupt_messages += 1
                self.described.difference_update(r.get("meter_id") for r in batch)   # describe them again
            else:
                self.report.corrupt_readings += 1
                self.report.readings += len(batch) - 1
        self.last_info = self.client.publish(topic, payload, qos=self.options.qos)
        self.report.messages += 1
        return intact

    def replay(self, messages: list[tuple[str, list[dict]]]) -> None:
        """Send intact messages again, as a gateway replaying its buffer does (bursts)."""
        for topic_id, batch in messages:
            self.last_info = self.client.publish(f"{TOPIC_ROOT}/{topic_id}", encode(batch, self.options.arrays),
                                                 qos=self.options.qos)
            self.report.messages += 1
            self.report.replayed += len(batch)

    def _pace(self, readings: int, stop: threading.Event) -> None:
        """A token bucket of `rate` readings per second (one second of burst); waits off any debt."""
        rate = self.options.rate
        if rate <= 0:
            return
        now = time.monotonic()
        self.tokens = min(rate, self.tokens + (now - self.last_refill) * rate) - readings
        self.last_refill = now
        if self.tokens < 0:
            stop.wait(-self.tokens / rate)

    def flush(self, timeout_s: float = 30.0) -> None:
        if self.last_info is not None:
            self.last_info.wait_for_publish(timeout_s)


def _parse_broker(broker: str) -> tuple[str, int]:
    host, _, port = broker.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"broker must be HOST:PORT, got {broker!r}")
    return host, int(port)


def run_live(
    broker: str,
    stop: threading.Event,
    store: Store | None = None,
    *,
    seed: int = 0,
    config: SimConfig = SimConfig(),
    options: LiveOptions = LiveOptions(),
    start: datetime | str | None = None,
    duration_s: float | None = None,
    labels_file: str | Path | None = None,
    client_id: str | None = None,
    resume_from: str | Path | None = None,
) -> LiveReport:
    """Publish the city to ``broker`` ("host:port") until ``stop`` is set (or ``duration_s`` passes).

    With ``store`` (the serving process's own), the run starts where the store's
    history of the city ends, registers the city's meters and writes event labels
    to it; otherwise it starts at ``start`` (default: where the history in the
    store file ``resume_from`` ends, read once and closed; else now, or early
    enough that an accelerated run with a duration ends at about now) and labels
    go to ``labels_file``.
    """
    started = time.monotonic()
    mix = options.mix
    if mix.anomalies or mix.noise:
        config = replace(config, events=replace(config.events, rate_multiplier=config.events.rate_multiplier
                                                * mix.event_multiplier),
                         sensor_noise=config.sensor_noise * mix.noise_multiplier)
    simulation = CitySimulation(seed, config)
    report = LiveReport()
    client = None
    try:
        state = _starting_state(simulation, store, start, options.speed, duration_s, resume_from)
        report.sim_start = pd.Timestamp(state.time).to_pydatetime()
        host, port = _parse_broker(broker)
        client = _connect(host, port, client_id or f"waterline-sim-{os.getpid()}-{seed}")
        publisher = _Publisher(client, simulation, options, report, describe_meters=store is None,
                               rng=np.random.default_rng([seed, 7, int(state.time.astype(int))]))
        _publish_until_stopped(simulation, state, publisher, store, labels_file, options, stop, started, duration_s)
        publisher.flush()
    finally:
        if client is not None:
            client.loop_stop()
            client.disconnect()
        simulation.close()
    report.seconds = time.monotonic() - started
    return report


def _starting_state(simulation: CitySimulation, store: Store | None, start: object, speed: float,
                    duration_s: float | None, resume_from: str | Path | None) -> SimState:
    if store is not None:
        store.register_zones(zones_frame(simulation.city))
        store.register_meters(meters_frame(simulation.city, simulation.population), registered_by="sim")
        cur = store.cursor()
        try:
            at = history_end(cur, simulation)
            if at is not None and start is None:
                return resume_state(cur, simulation, at)
        finally:
            cur.close()
    elif resume_from is not None and start is None:
        try:
            with Store(resume_from, read_only=True) as history:
                cur = history.cursor()
                at = history_end(cur, simulation)
                if at is not None:
                    return resume_state(cur, simulation, at)
        except duckdb.Error as err:  # served by another process: start from the clock instead
            log.warning("cannot read %s (%s); starting from the clock", resume_from, err)
    if start is None:
        lead_s = duration_s * (speed - 1) if duration_s and speed > 1 else 0.0
        start = _utc_now() - np.timedelta64(int(lead_s * 1e6), "us")
    return simulation.initial_state(floor_step(start))


def _publish_until_stopped(simulation: CitySimulation, state: SimState, publisher: _Publisher, store: Store | None,
                           labels_file: str | Path | None, options: LiveOptions, stop: threading.Event,
                           started: float, duration_s: float | None) -> None:
    clock = _Clock(state.time, options.speed)
    pending = pd.DataFrame()
    labelled: set[str] = set()
    upcoming = pd.DataFrame()
    window_us = int(options.gateway_window_s * 1e6) if options.arrays else 1
    report = publisher.report
    while not stop.is_set():
        if duration_s is not None and time.monotonic() - started >= duration_s:
            break
        now = clock.now()
        due = pending["release"].to_numpy() <= now if len(pending) else np.zeros(0, bool)
        if not due.any() and state.time - now < LOOKAHEAD:
            period_end = (state.time + DAY).astype("datetime64[D]").astype("datetime64[s]")
            events = simulation.schedule(state.time, period_end)
            upcoming = pd.concat([upcoming, events], ignore_index=True).drop_duplicates("event_id")
            period, state = simulation.run(state, period_end, events)
            frame = period.readings
            release = frame["received_at"].to_numpy(dtype="datetime64[us]").astype("int64")
            release = -(-release // window_us) * window_us
            if options.mix.bursts > 0:  # held back to the next ten-minute mark, then sent together
                burst = publisher.rng.random(len(frame)) < options.mix.bursts
                every = BURST_EVERY_S * 1_000_000
                release = np.where(burst, -(-release // every) * every, release)
                frame = frame.assign(burst=burst)
            frame = frame.assign(release=release.astype("datetime64[us]"))
            pending = pd.concat([pending, frame], ignore_index=True).sort_values("release", kind="stable")
            continue
        ready, pending = pending[due], pending[~due]
        started_events = upcoming["start"].to_numpy(dtype="datetime64[us]") <= now if len(upcoming) else []
        if len(upcoming) and started_events.any():  # a label is written once its event has begun
            report.labels += _label(upcoming[started_events], store, labels_file, labelled)
            upcoming = upcoming[~started_events]
        if "burst" in ready and ready["burst"].any():  # a held-back gateway buffer: sent, then replayed
            burst = ready[ready["burst"]]
            publisher.replay(publisher.publish(burst.drop(columns="burst"), stop))
            ready = ready[~ready["burst"]]
        publisher.publish(ready.drop(columns="burst", errors="ignore"), stop)
        report.sim_end = pd.Timestamp(now).to_pydatetime()
        if not len(ready):
            stop.wait(TICK_S)


def _label(events: pd.DataFrame, store: Store | None, labels_file: str | Path | None, labelled: set[str]) -> int:
    if store is not None:
        new = events[~events["event_id"].isin(labelled)]
        labelled.update(new["event_id"])
        cur = store.cursor()
        try:
            return write_labels(cur, new)
        finally:
            cur.close()
    if labels_file is not None:
        return write_labels_file(labels_file, events, labelled)
    return 0
