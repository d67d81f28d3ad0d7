"""A steady trickle through a customer meter (a dripping tap, a small running toilet), told apart from use.

A household's use comes in draws (a flush, a shower) with hours of nothing
between them; a trickle adds the same few litres to every hour. Its signs are
that no hour reads less than the trickle since it began, and that the hours
without use read the same small volume again and again: a volume this meter
seldom reads at that hour of day, when it usually reads nothing at all.

Each such hour is evidence, weighed by the meter's own previous weeks (same
hour of day, the hour either side included, days away from home left out):
the log of how much likelier "nothing" was than "this volume". An hour below
the level ends the run and its evidence. An event is raised when a run's
evidence reaches `EVIDENCE_NATS`; the explanation turns it into odds. Hours
with use on top of the trickle neither add nor take away. Levels run from
1 L/h up (a band of 1 L, or a tenth, at each level), so a meter whose quiet
hours read 0 L is the meter this rule can speak for; meters that never rest
(a plant, a building's cooling) give it no evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from detection.events import Tariff, event, runs, squash
from detection.features import Window

EVIDENCE_NATS = 15.0
LEVELS_L_H = tuple(range(1, 13)) + tuple(round(12 * 1.15 ** k) for k in range(1, 20))
AWAY_SHARE = 0.3            # a day below this share of the usual daily volume is a day away
MIN_SAMPLES = 21            # same-hour samples (7 days x 3 hours) before an hour can give evidence
PRIOR = 0.5
HOUR = pd.Timedelta(hours=1)


def band_width(level: float) -> float:
    """The band above a level that a steady trickle stays within (register counting in whole litres)."""
    return max(1.0, float(int(0.1 * level)))


class _SameHourHistory:
    """Per hour, how often each volume was read at that hour of day (the hour either side too) on the
    previous days, days away left out. Arrays are whole UTC days, hours x meters."""

    def __init__(self, volumes: np.ndarray, days: int):
        self.days, self.volumes = days, volumes
        n_days = len(volumes) // 24
        self.shape = (n_days, 24, volumes.shape[1])
        daily = np.nansum(volumes.reshape(self.shape), axis=1)
        usual = pd.DataFrame(daily).shift(1).rolling(days, min_periods=7).median().to_numpy()
        at_home = (daily >= AWAY_SHARE * usual) | np.isnan(usual)
        self.counted = ~np.isnan(volumes).reshape(self.shape) & at_home[:, None, :]
        self.samples = self._earlier(self.counted)

    def _earlier(self, flags: np.ndarray) -> np.ndarray:
        """Counts of ``flags`` on the previous ``days`` days, same hour and the hour either side."""
        total = np.concatenate([np.zeros_like(flags[:1], dtype=float), np.cumsum(flags, axis=0, dtype=float)])
        counts = total[:-1].copy()
        counts[self.days:] -= total[:len(counts) - self.days]
        return counts + np.roll(counts, 1, axis=1) + np.roll(counts, -1, axis=1)

    def share(self, flags: np.ndarray) -> np.ndarray:
        """Smoothed share of earlier same-hour samples where ``flags`` held (hours x meters)."""
        hits = self._earlier(flags.reshape(self.shape) & self.counted)
        return ((hits + PRIOR) / (self.samples + 2 * PRIOR)).reshape(self.volumes.shape)

    def known(self) -> np.ndarray:
        return (self.samples >= MIN_SAMPLES).reshape(self.volumes.shape)


def _run_sum(flowing: np.ndarray, evidence: np.ndarray) -> np.ndarray:
    """Per hour, the evidence summed since the last hour that was not ``flowing``."""
    total = np.cumsum(np.where(flowing, evidence, 0.0), axis=0)
    return total - np.maximum.accumulate(np.where(flowing, 0.0, total), axis=0)


@dataclass(frozen=True)
class TrickleEvidence:
    """Per hour (hours x meters of whole UTC days): the strongest run evidence over all levels (nats),
    the level (L/h) it was found at, and the meter's usual share of quiet hours at that hour."""

    evidence: np.ndarray
    level: np.ndarray
    quiet: np.ndarray
    history: _SameHourHistory

    def at_level(self, level: float) -> np.ndarray:
        """The usual share of hours reading ``level``'s band, per hour."""
        volumes = self.history.volumes
        return self.history.share((volumes >= level) & (volumes <= level + band_width(level)))


def trickle_evidence(volumes: np.ndarray, days: int) -> TrickleEvidence:
    """The evidence of a steady trickle in ``volumes`` (hours x meters of whole UTC days)."""
    history = _SameHourHistory(volumes, days)
    quiet = history.share(volumes < 1)
    known = history.known()
    best, best_level = np.zeros(volumes.shape), np.zeros(volumes.shape)
    with np.errstate(invalid="ignore"):
        for level in LEVELS_L_H:
            flowing = volumes >= level
            steady = flowing & (volumes <= level + band_width(level))
            weight = np.where(steady & known, np.maximum(np.log(quiet / history.share(steady)), 0.0), 0.0)
            evidence = _run_sum(flowing, weight)
            stronger = evidence > best
            best, best_level = np.where(stronger, evidence, best), np.where(stronger, level, best_level)
    return TrickleEvidence(best, best_level, quiet, history)


def _whole_days(volumes: pd.DataFrame) -> tuple[np.ndarray, int]:
    """The volumes padded with empty hours to whole UTC days; and how many hours were added in front."""
    lead = volumes.index[0].hour
    rows = lead + len(volumes)
    padded = np.full((-(-rows // 24) * 24, volumes.shape[1]), np.nan)
    padded[lead:rows] = volumes.to_numpy(dtype=float)
    return padded, lead


def steady_trickle(volumes: pd.DataFrame, window: Window, zones: dict[str, str | None],
                   tariff: Tariff = Tariff()) -> list[dict]:
    """Events for runs of hourly ``volumes`` (UTC hours x meters) whose trickle evidence passes the bar."""
    if volumes.empty:
        return []
    padded, lead = _whole_days(volumes)
    found = trickle_evidence(padded, window.training_days)
    hours_of = slice(lead, lead + len(volumes))
    evidence, quiet = found.evidence[hours_of], found.quiet[hours_of]
    values = volumes.to_numpy(dtype=float)
    in_window = (volumes.index >= window.start) & (volumes.index < window.end)
    fired = (evidence >= EVIDENCE_NATS) & in_window[:, None]
    rows = []
    for column, meter_id in enumerate(volumes.columns):
        for first, last in runs(fired[:, column]):
            level = float(found.level[hours_of][first, column])
            top = level + band_width(level)
            series = values[:, column]
            below = np.flatnonzero(~(series[:first + 1] >= level))
            begin = int(below[-1]) + 1 if len(below) else 0
            run = series[begin:last + 1]
            steady = (run >= level) & (run <= top)
            rate = float(np.median(run[steady])) if steady.any() else level
            hours = last + 1 - begin
            told = _first_telling_hours(steady[:first + 1 - begin]) + begin
            usual_quiet = float(np.median(quiet[told, column]))
            usual_level = float(np.median(found.at_level(level)[hours_of][told, column]))
            nats = float(evidence[first, column])
            rows.append(event(
                detector="steady_trickle", meter_id=meter_id, zone_id=zones.get(meter_id), kind="continuous_flow",
                start=volumes.index[begin], end=volumes.index[last] + HOUR, raised_at=volumes.index[first] + HOUR,
                score=squash(nats / EVIDENCE_NATS), tariff=tariff, lost_volume_l=rate * hours,
                explanation=(f"Flow has not stopped for {hours} h: every hour read at least {level:g} L, and "
                             f"{int(steady.sum())} hours without other use read a steady {level:g}-{top:g} L "
                             f"(a steady flow of about {rate:.0f} L/h). In the {window.training_days} days "
                             f"before it began (or as many as it has), at those hours of day this meter read "
                             f"nothing {usual_quiet:.0%} of the time and {level:g}-{top:g} L {usual_level:.0%}: "
                             f"by chance {_chance(nats)}")))
    return rows


def _first_telling_hours(steady: np.ndarray) -> np.ndarray:
    """Positions of a run's steady hours on its first day (or its first steady hour): their same-hour
    history is still the meter before the trickle, which later hours' history fills up with the trickle itself."""
    hours = np.flatnonzero(steady)
    return hours[hours < 24] if (hours < 24).any() else hours[:1]


def _chance(nats: float) -> str:
    """exp(-nats) in words, to two figures: "about 1 in 3.3 million"."""
    odds = float(np.exp(min(nats, 60.0)))
    if odds >= 1e12:
        return "less than 1 in a trillion"
    for size, word in ((1e9, "billion"), (1e6, "million"), (1e3, "thousand")):
        if odds >= size:
            return f"about 1 in {odds / size:.2g} {word}"
    return f"about 1 in {odds:.2g}"
