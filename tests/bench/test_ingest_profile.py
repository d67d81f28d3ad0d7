"""The ingest profile times each step of real batches and leaves the modules it times as it found them."""

from __future__ import annotations

import data.batch_decode
import data.ingest
import data.ingest_consumption
from bench.ingest_profile import format_profile, profile_ingest


def test_steps_are_timed_and_the_module_is_restored():
    before, inner = data.ingest.derive_consumption, data.ingest_consumption.derive_intervals
    query, frame = data.batch_decode.BatchDecoder._decode, data.batch_decode.validate_frame
    per_batch = profile_ingest(300, 4)
    assert data.ingest.derive_consumption is before and data.ingest_consumption.derive_intervals is inner
    assert data.batch_decode.BatchDecoder._decode is query and data.batch_decode.validate_frame is frame
    assert 0 < sum(per_batch["_decode"]) + sum(per_batch["validate_frame"]) <= sum(per_batch["decode"])
    assert 0 < sum(per_batch["derive_intervals"]) <= sum(per_batch["derive_consumption"])
    assert len(per_batch["total"]) == 2
    assert 0 < sum(per_batch["derive_consumption"]) <= sum(per_batch["total"])
    report = format_profile(per_batch, 300)
    assert report.startswith("CPU ms per batch of 300 readings (2 batches)")
    assert "| Store.ingest (total) |" in report and "| BatchDecoder.validate (total) |" in report
