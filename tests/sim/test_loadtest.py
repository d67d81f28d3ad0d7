"""Every load-test pattern produces what it claims; every corrupt payload ends in quarantine."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from data.payload import decode_message
from data.store import Store
from data.validation import ValidationRules, validate_readings
from sim.config import SimConfig
from sim.loadtest import (
    MESSAGE_CORRUPTIONS,
    PATTERNS,
    READING_CORRUPTIONS,
    LoadMix,
    corrupt_message,
    corrupt_reading,
    encode,
    parse_mix,
    spoil,
)
from tests.sim.conftest import JULY, simulate

TOPIC = "waterline/v1/readings/GW-Z1"
NOW = datetime(2025, 7, 7, 12, 0, tzinfo=UTC)


def _good(n: int = 3) -> list[dict]:
    return [{"meter_id": f"Z1-R-{k:04d}", "ts": f"2025-07-07T1{k}:00:00+02:00", "quantity": "volume",
             "value": 1000.0 + k, "unit": "L", "seq": k} for k in range(1, n + 1)]


def _ingest(store: Store, *payloads: bytes) -> tuple[int, int]:
    """(stored, quarantined) of messages through the listener's path: decode, validate, one store batch."""
    raws, rejected = [], []
    for payload in payloads:
        message_raws, message_rejected = decode_message(payload, TOPIC, NOW, 1_048_576, 10_000)
        raws += message_raws
        rejected += message_rejected
    batch = validate_readings(raws, ValidationRules(), NOW)
    result = store.ingest(batch.rows, rejected + batch.rejections)
    return result.stored, result.quarantined


@pytest.mark.parametrize("kind", READING_CORRUPTIONS)
def test_a_corrupt_reading_is_quarantined_and_its_neighbours_are_stored(kind):
    readings = _good()
    payload = encode([readings[0], corrupt_reading(readings[1], kind), readings[2]], array=True)
    with Store(":memory:") as store:
        assert _ingest(store, payload) == (2, 1)
        reason = store.cursor().execute("SELECT reason FROM quarantine").fetchall()[0][0]
    assert reason


@pytest.mark.parametrize("kind", MESSAGE_CORRUPTIONS)
def test_a_corrupt_message_is_quarantined_whole(kind):
    with Store(":memory:") as store:
        assert _ingest(store, corrupt_message(encode(_good(), array=True), kind)) == (0, 1)


@pytest.mark.parametrize("array", [True, False])
def test_spoiled_messages_quarantine_exactly_as_many_rows_as_the_publisher_counts(array):
    rng = np.random.default_rng(5)
    expected_good = 0
    seen_kinds, payloads = set(), []
    for k in range(120):
        minute = int(NOW.timestamp() * 1000) - (200 - k) * 60_000
        batch = [dict(r, ts=minute) for r in _good(3 if array else 1)]
        payload, kind = spoil(batch, array, rng)
        seen_kinds.add(kind)
        payloads.append(payload)
        expected_good += 0 if kind in MESSAGE_CORRUPTIONS else len(batch) - 1
    with Store(":memory:") as store:
        stored, quarantined = _ingest(store, *payloads)
    assert quarantined == 120 and stored == expected_good
    assert len(seen_kinds) >= 8


def test_patterns_parse_and_combine():
    assert parse_mix("normal") == LoadMix()
    assert parse_mix("corrupt") == PATTERNS["corrupt"]
    assert parse_mix("corrupt=0.2, missing=0.1") == LoadMix(corrupt=0.2, missing=0.1)
    assert parse_mix("bursts,anomalies") == LoadMix(bursts=PATTERNS["bursts"].bursts, anomalies=1.0)
    with pytest.raises(ValueError):
        parse_mix("gremlins")
    with pytest.raises(ValueError):
        parse_mix("missing=2")


def test_anomalies_multiply_events_and_noise_multiplies_sensor_noise():
    mix = parse_mix("anomalies,noise")
    assert mix.event_multiplier == 10.0 and mix.noise_multiplier == 10.0
    simulation, calm = simulate(SimConfig(events=SimConfig().events.only()), days=1)
    _, noisy = simulate(SimConfig(events=SimConfig().events.only(), sensor_noise=mix.noise_multiplier), days=1)
    pressure = (simulation.sensors["quantity"] == "pressure").to_numpy()
    spread = lambda p: np.std(p.sensor_reported[:, pressure] - p.sensor_truth[:, pressure])
    assert spread(noisy) > 5 * spread(calm)
    assert JULY == calm.times[0]
