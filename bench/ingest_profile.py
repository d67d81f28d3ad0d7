"""`python -m dashapp bench ingest-profile`: where `Store.ingest` spends its CPU, step by step, without MQTT.

The MQTT benchmark says how fast the whole path is; this says which step of a
batch costs what. Register readings of 500 meters, as the MQTT benchmark
publishes them, are validated up front and stored batch by batch in a scratch
store; each step of `data.ingest`, `data.ingest_consumption` and `data.rollups` is timed in process CPU time,
which other load on a shared machine disturbs less than wall time. The first two
batches (meters registered, caches filled) are left out; figures are the 20th
percentile and the median over the rest.
"""

from __future__ import annotations

import collections
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

#: steps timed where `data.ingest` and `data.ingest_consumption` call them (names they define or import)
STEPS = ("_naive_utc", "_resolve_meters", "_drop_stored", "_flag_arrival", "_insert_readings", "derive_consumption",
         "_update_meters", "_quarantine", "derive_intervals", "typical_intervals", "volume_deltas",
         "apply_volume_deltas", "queue_volume_deltas", "add_reading_stats")
WARM_UP_BATCHES = 2


def _timed(module, name: str, spent: dict[str, float]) -> None:
    original = getattr(module, name)

    def timed(*args, **kwargs):
        started = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[name] += time.process_time() - started

    setattr(module, name, timed)


def profile_ingest(readings_per_batch: int, batches: int, fold_every: int = 1) -> dict[str, list[float]]:
    """CPU seconds per batch: 'total' and one list per step found in the modules."""
    import data.ingest
    import data.ingest_consumption

    spent: dict[str, float] = collections.defaultdict(float)
    originals = {(module, name): getattr(module, name) for module in (data.ingest, data.ingest_consumption)
                 for name in STEPS if hasattr(module, name)}
    for module, name in originals:
        _timed(module, name, spent)
    try:
        return _store_batches(readings_per_batch, batches, fold_every, spent)
    finally:
        for (module, name), original in originals.items():
            setattr(module, name, original)


def _store_batches(readings_per_batch: int, batches: int, fold_every: int,
                   spent: dict[str, float]) -> dict[str, list[float]]:
    from bench.publisher import readings
    from data.payload import RawReading
    from data.store import Store
    from data.validation import ValidationRules, validate_readings

    now = datetime.now(UTC)
    source = list(readings(readings_per_batch * batches, 500, False, time.time() - 86400 * 3))
    prepared = [validate_readings([RawReading(r, "bench", now) for r in source[i * readings_per_batch:
                                                                              (i + 1) * readings_per_batch]],
                                  ValidationRules(), now) for i in range(batches)]
    per_batch: dict[str, list[float]] = collections.defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="waterline-profile-") as workdir:
        store = Store(str(Path(workdir) / "profile.duckdb"))
        try:
            for number, batch in enumerate(prepared):
                before = dict(spent)
                started = time.process_time()
                store.ingest(batch.rows, batch.rejections, fold_rollups=number % fold_every == 0)
                if number < WARM_UP_BATCHES:
                    continue
                per_batch["total"].append(time.process_time() - started)
                for name, seconds in spent.items():
                    per_batch[name].append(seconds - before.get(name, 0.0))
        finally:
            store.close()
    return dict(per_batch)


def format_profile(per_batch: dict[str, list[float]], readings_per_batch: int) -> str:
    """Milliseconds per batch, p20 and median, the whole and each step (largest first)."""
    def row(name: str, seconds: list[float]) -> str:
        return f"| {name} | {np.percentile(seconds, 20) * 1000:.1f} | {np.median(seconds) * 1000:.1f} |"
    steps = sorted((k for k in per_batch if k != "total"), key=lambda k: -np.percentile(per_batch[k], 20))
    lines = [f"CPU ms per batch of {readings_per_batch:,} readings ({len(per_batch['total'])} batches):", "",
             "| step | p20 | median |", "|---|---:|---:|", row("Store.ingest (total)", per_batch["total"])]
    return "\n".join(lines + [row(k, per_batch[k]) for k in steps])
