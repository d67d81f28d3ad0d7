"""`python -m dashapp bench ingest-profile`: where the writer's two stages spend their CPU, step by step, without MQTT.

The MQTT benchmark says how fast the whole path is; this says which step of a
batch costs what. Register readings of 500 meters, in 100-reading arrays as the
MQTT benchmark publishes them, are decoded and validated batch by batch by the
validator's `BatchDecoder`, then stored in a scratch store; each step of
`data.batch_decode`, `data.ingest`, `data.ingest_consumption` and `data.rollups`
is timed in process CPU time, which other load on a shared machine disturbs less
than wall time. The first two batches (meters registered, caches filled) are
left out; figures are the 20th percentile and the median over the rest.
"""

from __future__ import annotations

import collections
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson

#: steps timed where `data.ingest` and `data.ingest_consumption` call them (names they define or import)
STEPS = ("_naive_utc", "_resolve_meters", "_drop_stored", "_flag_arrival", "_insert_readings", "derive_consumption",
         "_update_meters", "_quarantine", "derive_intervals", "typical_intervals", "volume_deltas",
         "apply_volume_deltas", "queue_volume_deltas", "add_reading_stats")
#: the validator's steps, in `data.batch_decode` (the DuckDB query is `BatchDecoder._decode`)
DECODE_STEPS = ("_reported", "validate_frame")
WARM_UP_BATCHES = 2
READINGS_PER_MESSAGE = 100


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
    """CPU seconds per batch: 'decode' and 'total' (the validator's and the writer's stage) and one
    list per step found in the modules."""
    import data.batch_decode
    import data.ingest
    import data.ingest_consumption

    spent: dict[str, float] = collections.defaultdict(float)
    originals = {(module, name): getattr(module, name) for module in (data.ingest, data.ingest_consumption)
                 for name in STEPS if hasattr(module, name)}
    originals |= {(data.batch_decode, name): getattr(data.batch_decode, name) for name in DECODE_STEPS}
    originals[(data.batch_decode.BatchDecoder, "_decode")] = data.batch_decode.BatchDecoder._decode
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
    from data.batch_decode import BatchDecoder
    from data.store import Store
    from data.validation import ValidationRules

    now = datetime.now(UTC)
    source = list(readings(readings_per_batch * batches, 500, False, time.time() - 86400 * 3))
    batches_of_messages = [_as_arrays(source[number * readings_per_batch:(number + 1) * readings_per_batch], now)
                           for number in range(batches)]
    per_batch: dict[str, list[float]] = collections.defaultdict(list)
    decoder, rules = BatchDecoder(), ValidationRules()
    decoder.warm_up()
    with tempfile.TemporaryDirectory(prefix="waterline-profile-") as workdir:
        store = Store(str(Path(workdir) / "profile.duckdb"))
        try:
            for number in range(batches):
                before = dict(spent)
                started = time.process_time()
                batch, _ = decoder.validate(batches_of_messages[number], rules, now)
                decoded = time.process_time()
                store.ingest(batch.rows, batch.rejections, fold_rollups=number % fold_every == 0)
                if number < WARM_UP_BATCHES:
                    continue
                per_batch["decode"].append(decoded - started)
                per_batch["total"].append(time.process_time() - decoded)
                for name, seconds in spent.items():
                    per_batch[name].append(seconds - before.get(name, 0.0))
        finally:
            store.close()
            decoder.close()
    return dict(per_batch)


def _as_arrays(readings: list[dict], received_at: datetime) -> list:
    """The readings as the MQTT benchmark publishes them: JSON arrays of `READINGS_PER_MESSAGE` each."""
    from bench.publisher import TOPIC
    from data.ingest_queue import Envelope

    return [Envelope(mid, 1, 0, [], [], received_at, orjson.dumps(readings[start:start + READINGS_PER_MESSAGE]), TOPIC)
            for mid, start in enumerate(range(0, len(readings), READINGS_PER_MESSAGE))]


def format_profile(per_batch: dict[str, list[float]], readings_per_batch: int) -> str:
    """Milliseconds per batch, p20 and median: each stage whole, then its steps (largest first)."""
    def row(name: str, seconds: list[float]) -> str:
        return f"| {name} | {np.percentile(seconds, 20) * 1000:.1f} | {np.median(seconds) * 1000:.1f} |"

    def steps(names) -> list[str]:
        return [row(k, per_batch[k]) for k in sorted((k for k in names if k in per_batch),
                                                      key=lambda k: -np.percentile(per_batch[k], 20))]
    decode_steps = ("_decode", *DECODE_STEPS)
    lines = [f"CPU ms per batch of {readings_per_batch:,} readings ({len(per_batch['total'])} batches):", "",
             "| step | p20 | median |", "|---|---:|---:|", row("BatchDecoder.validate (total)", per_batch["decode"]),
             *steps(decode_steps), row("Store.ingest (total)", per_batch["total"]),
             *steps(k for k in per_batch if k not in ("decode", "total", *decode_steps))]
    return "\n".join(lines)
