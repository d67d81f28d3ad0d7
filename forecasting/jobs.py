"""Forecast work in a background thread, so a page callback returns at once and polls for the result.

Jobs are keyed by what they compute (series, frequency, horizon, its history's watermark and values), so
two users asking the same question share one fit and a finished result is kept for
later questions: the registry is deliberately shared by every user of the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

MAX_KEPT = 32


@dataclass
class Job:
    future: Future
    progress: float = 0.0
    stage: str = "queued"
    extra: dict = field(default_factory=dict)


class JobRegistry:
    def __init__(self, workers: int = 1):
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="forecast")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, key: str, work: Callable[[Job], Any]) -> Job:
        """Start ``work(job)`` unless a job with ``key`` is running or has succeeded."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and not (job.future.done() and job.future.exception() is not None):
                return job
            job = Job(Future())
            job.future = self._executor.submit(work, job)
            self._jobs[key] = job
            while len(self._jobs) > MAX_KEPT:
                oldest = next(iter(self._jobs))
                if not self._jobs[oldest].future.done():
                    break
                del self._jobs[oldest]
            return job

    def get(self, key: str | None) -> Job | None:
        with self._lock:
            return self._jobs.get(key) if key else None


JOBS = JobRegistry()
