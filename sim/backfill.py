"""History straight into the store, without a broker: days of the city in seconds.

A producer thread simulates the city a period at a time, orders each period's
readings by arrival (late and out-of-order ones are held back until the batch
they arrive in), and validates them; the calling thread stores the batches.
DuckDB releases the GIL while it works, so simulating the next period overlaps
storing this one. If the store already holds the city's history, the backfill
resumes where it ends: calling it at every demo start fills the gap up to now.
"""

from __future__ import annotations

import json
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from data.payload import Rejection
from data.store import Store
from data.validation import ValidationRules, validate_frame
from sim.config import SimConfig
from sim.engine import DAY, STEP, CitySimulation, SimState, floor_step
from sim.labels import write_labels
from sim.population import meters_frame, zones_frame
from sim.resume import history_end, resume_state

RULES = ValidationRules(max_past_s=None)


@dataclass(frozen=True)
class BackfillReport:
    start: datetime
    end: datetime
    readings: int            # readings generated and handed to the store
    stored: int
    duplicates: int
    quarantined: int
    events: int              # labels written
    seconds: float           # wall time, end to end
    generation_s: float      # simulating and ordering (producer thread)
    validation_s: float      # validate_frame (producer thread)
    store_s: float           # Store.ingest (calling thread)

    @property
    def readings_per_s(self) -> float:
        return self.readings / self.seconds if self.seconds else 0.0


@dataclass
class _Batch:
    rows: pd.DataFrame
    rejections: list[Rejection]
    reported: int
    days: float              # simulated days this batch completes (for the progress bar)


def _batches(simulation: CitySimulation, state: SimState, end: np.datetime64, events: pd.DataFrame,
             timings: dict[str, float], now: datetime) -> Iterator[_Batch]:
    """One validated batch per simulated period (a week: ~145k readings), in arrival order.

    Readings still on their way at the end of a period (late, out of order) go
    into the batch of the period they arrive in.
    """
    pending: pd.DataFrame | None = None
    while state.time < end:
        t0 = time.perf_counter()
        period_end = min(state.time + DAY * simulation.config.period_days, end)
        period, state = simulation.run(state, period_end, events)
        frame = period.readings if pending is None else pd.concat([pending, period.readings], ignore_index=True)
        arrived = frame["received_at"].to_numpy(dtype="datetime64[us]")
        order = np.argsort(arrived, kind="stable")
        frame, arrived = frame.iloc[order].reset_index(drop=True), arrived[order]
        if period_end >= end:  # nothing arrives after the end of a backfill: what is on its way arrives then
            frame["received_at"] = frame["received_at"].clip(upper=pd.Timestamp(end, tz="UTC"))
            ready, pending = frame, None
        else:
            cut = int(np.searchsorted(arrived, np.datetime64(period_end, "us")))
            ready, pending = frame.iloc[:cut].reset_index(drop=True), frame.iloc[cut:]
        timings["generation"] += time.perf_counter() - t0
        t1 = time.perf_counter()
        rows, reasons = validate_frame(ready, RULES, now)
        timings["validation"] += time.perf_counter() - t1
        yield _Batch(rows, _rejections(ready, reasons), len(ready),
                     float((period.times[-1] + STEP - period.times[0]) / DAY))


def _rejections(frame: pd.DataFrame, reasons: np.ndarray) -> list[Rejection]:
    """Readings validation refused (none, unless a fault drives a sensor out of range): to quarantine."""
    refused = np.flatnonzero(reasons != None)
    out = []
    for i in refused:
        row = frame.iloc[int(i)]
        payload = {"meter_id": str(row["meter_id"]), "ts": row["ts"].isoformat(), "quantity": str(row["quantity"]),
                   "value": float(row["value"]), "unit": str(row["unit"])}
        out.append(Rejection(str(reasons[i]), json.dumps(payload), str(row["source"]),
                             row["received_at"].to_pydatetime(), str(row["meter_id"])))
    return out


def backfill_into_store(
    store: Store,
    days: float,
    end: datetime | str | None = None,
    seed: int = 0,
    config: SimConfig = SimConfig(),
    progress: bool = False,
) -> BackfillReport:
    """Simulate ``days`` ending at ``end`` (default now) into ``store``; resumes after existing history.

    Registers zones, meters and sensors (``registered_by="sim"``), writes every
    event open in the window to ``event_labels``, and ingests the readings a
    simulated week per batch (`SimConfig.period_days`).
    """
    simulation = CitySimulation(seed, config)
    try:
        return backfill_simulation(store, simulation, days, end, progress)
    finally:
        simulation.close()


def backfill_simulation(store: Store, simulation: CitySimulation, days: float, end: datetime | str | None = None,
                        progress: bool = False) -> BackfillReport:
    """`backfill_into_store` for a city already built (tests adjust one before running it)."""
    started = time.perf_counter()
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    stop = floor_step(end or now)
    timings = {"generation": 0.0, "validation": 0.0, "store": 0.0}
    totals = {"readings": 0, "stored": 0, "duplicates": 0, "quarantined": 0}
    store.register_zones(zones_frame(simulation.city))
    store.register_meters(meters_frame(simulation.city, simulation.population), registered_by="sim")
    cur = store.cursor()
    try:
        resume_at = history_end(cur, simulation)
        begin = floor_step(stop - np.timedelta64(int(days * 86400), "s"))
        if resume_at is not None and resume_at > begin:
            begin = resume_at
        events = simulation.schedule(begin, max(stop, begin))
        labelled = write_labels(cur, events)
        state = resume_state(cur, simulation, begin) if resume_at is not None else simulation.initial_state(begin)
    finally:
        cur.close()
    if begin < stop:
        validate_now = max(pd.Timestamp(stop), pd.Timestamp(now)).tz_localize("UTC").to_pydatetime()
        batches = _produce(lambda: _batches(simulation, state, stop, events, timings, validate_now))
        _store_batches(store, batches, float((stop - begin) / DAY), progress, timings, totals)
    return BackfillReport(
        pd.Timestamp(begin).to_pydatetime(), pd.Timestamp(stop).to_pydatetime(), totals["readings"],
        totals["stored"], totals["duplicates"], totals["quarantined"], labelled, time.perf_counter() - started,
        timings["generation"], timings["validation"], timings["store"])


def _produce(make: Callable[[], Iterator[_Batch]]) -> Iterator[_Batch]:
    """Run a batch generator on a producer thread, two batches ahead of the consumer."""
    handoff: queue.Queue = queue.Queue(maxsize=2)
    done = object()

    def work() -> None:
        try:
            for batch in make():
                handoff.put(batch)
            handoff.put(done)
        except BaseException as err:  # handed to the consumer, which re-raises
            handoff.put(err)

    thread = threading.Thread(target=work, name="sim-backfill-producer", daemon=True)
    thread.start()
    while True:
        item = handoff.get()
        if item is done:
            break
        if isinstance(item, BaseException):
            raise item
        yield item
    thread.join()


def _store_batches(store: Store, batches: Iterator[_Batch], total_days: float, progress: bool,
                   timings: dict[str, float], totals: dict[str, int]) -> None:
    with tqdm(total=round(total_days, 2), unit="day", disable=not progress, desc="backfill") as bar:
        for batch in batches:
            t0 = time.perf_counter()
            result = store.ingest(batch.rows, batch.rejections, registered_by="sim")
            timings["store"] += time.perf_counter() - t0
            totals["readings"] += batch.reported
            totals["stored"] += result.stored
            totals["duplicates"] += result.duplicates
            totals["quarantined"] += result.quarantined
            bar.update(min(batch.days, bar.total - bar.n))


def bench_backfill(days: float = 365, seed: int = 0) -> dict:
    """Backfill ``days`` of the default city into a fresh store file; readings, seconds, readings/s and the split."""
    with tempfile.TemporaryDirectory(prefix="waterline-bench-sim-") as workdir:
        with Store(Path(workdir) / "bench.duckdb") as store:
            report = backfill_into_store(store, days, end="2026-01-01T00:00:00", seed=seed)
    return {
        "days": days,
        "readings": report.readings,
        "stored": report.stored,
        "seconds": round(report.seconds, 2),
        "readings_per_s": round(report.readings_per_s),
        "generation_s": round(report.generation_s, 2),
        "validation_s": round(report.validation_s, 2),
        "store_s": round(report.store_s, 2),
        "events": report.events,
    }
