"""Timestamps of imported files to UTC, with one stated policy for local clocks.

Files give ISO 8601 times with an offset (kept), epoch milliseconds (UTC), or
local wall-clock times without offset (read in the import's time zone). Local
clocks are ambiguous once a year and skip an hour once a year:

- the repeated fall-back hour is read, per series in file order, as daylight time
  until the series' clock steps back within that hour, and as standard time
  from then on. Hourly files with the hour twice thus get two distinct UTC hours,
  and it works when rows of many meters interleave and across chunk boundaries;
- a wall time inside the spring-forward gap does not exist: it is refused, never
  shifted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data.validation import EPOCH_MS_MAX, EPOCH_MS_MIN

OFFSET = re.compile(r"[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|z|[+-]\d{2}(?::?\d{2})?)$")
EPOCH = re.compile(r"\d{10,14}(?:\.\d*)?")


def check_time_zone(tz: str) -> str:
    """``tz`` if it names an IANA time zone, else a ValueError saying so."""
    try:
        pd.Timestamp("2000-01-01").tz_localize(tz)
    except Exception:
        raise ValueError(f"unknown time zone {tz!r} (use an IANA name such as Europe/Rome)") from None
    return tz


@dataclass
class FallBackState:
    """Per (series, local date): latest ambiguous wall time seen, and whether it switched to standard time."""

    latest: dict[tuple[str, object], tuple[pd.Timestamp, bool]] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedTimes:
    utc: pd.DatetimeIndex  # tz-aware UTC, NaT where refused
    problem: np.ndarray    # object array: reason where refused, None where fine


def parse_times(values: pd.Series, tz: str, ts_format: str | None, series: np.ndarray,
                state: FallBackState) -> ParsedTimes:
    """Parse a column of timestamps (strings, numbers or datetimes) to UTC."""
    n = len(values)
    utc = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    problem = np.full(n, None, dtype=object)
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.DatetimeIndex(values)
        if stamps.tz is not None:
            utc[:] = stamps.tz_convert("UTC").tz_localize(None).as_unit("us").to_numpy()
        else:
            _localize_into(utc, problem, np.arange(n), stamps, series, tz, state)
        _refuse_missing(utc, problem, values)
        return ParsedTimes(pd.DatetimeIndex(utc).tz_localize("UTC"), problem)
    if pd.api.types.is_numeric_dtype(values):
        _epoch_into(utc, problem, np.arange(n), pd.to_numeric(values, errors="coerce").to_numpy("float64"))
        _refuse_missing(utc, problem, values)
        return ParsedTimes(pd.DatetimeIndex(utc).tz_localize("UTC"), problem)

    text = values.astype("string").str.strip().fillna("")
    is_epoch = text.str.fullmatch(EPOCH.pattern).to_numpy(dtype=bool)
    has_offset = ~is_epoch & text.str.contains(OFFSET.pattern, regex=True).to_numpy(dtype=bool)
    local = ~is_epoch & ~has_offset & (text != "").to_numpy(dtype=bool)
    if is_epoch.any():
        _epoch_into(utc, problem, np.flatnonzero(is_epoch), text[is_epoch].astype("float64").to_numpy())
    if has_offset.any():
        aware = pd.to_datetime(text[has_offset], format="ISO8601", utc=True, errors="coerce")
        utc[has_offset] = pd.DatetimeIndex(aware).tz_localize(None).as_unit("us").to_numpy()
    if local.any():
        wall = pd.DatetimeIndex(pd.to_datetime(text[local], format=ts_format or "ISO8601", errors="coerce"))
        _localize_into(utc, problem, np.flatnonzero(local), wall, series[local], tz, state)
    expected = f"format {ts_format!r}" if ts_format else "ISO 8601 or epoch seconds or milliseconds"
    for i in np.flatnonzero(np.isnat(utc) & (problem == None)):
        problem[i] = (f"timestamp {text.iat[i]!r} is not a valid time ({expected})" if text.iat[i]
                      else "timestamp missing")
    return ParsedTimes(pd.DatetimeIndex(utc).tz_localize("UTC"), problem)


def _refuse_missing(utc: np.ndarray, problem: np.ndarray, values: pd.Series) -> None:
    for i in np.flatnonzero(np.isnat(utc) & (problem == None)):
        problem[i] = f"timestamp {values.iat[i]!r} is missing or not a valid time"


def _epoch_into(utc: np.ndarray, problem: np.ndarray, where: np.ndarray, epoch: np.ndarray) -> None:
    """Epoch milliseconds, or seconds (files often have them): between 2000 and 2100 the two never overlap."""
    seconds = (epoch >= EPOCH_MS_MIN / 1000) & (epoch < EPOCH_MS_MAX / 1000)
    ms = np.where(seconds, epoch * 1000, epoch)
    ok = (ms >= EPOCH_MS_MIN) & (ms < EPOCH_MS_MAX)
    utc[where[ok]] = (ms[ok] * 1000).astype("int64").astype("datetime64[us]")
    for i, value in zip(where[~ok], epoch[~ok]):
        problem[i] = f"epoch timestamp {value:.0f} is neither seconds nor milliseconds between 2000 and 2100"


def _localize_into(utc: np.ndarray, problem: np.ndarray, where: np.ndarray, wall: pd.DatetimeIndex,
                   series: np.ndarray, tz: str, state: FallBackState) -> None:
    resolved, gap = localize_wall_times(wall, series, tz, state)
    utc[where] = resolved.tz_localize(None).as_unit("us").to_numpy()
    for i, stamp in zip(where[gap], wall[gap]):
        problem[i] = f"local time {stamp:%Y-%m-%d %H:%M:%S} does not exist in {tz} (spring-forward gap)"


def localize_wall_times(wall: pd.DatetimeIndex, series: np.ndarray, tz: str,
                        state: FallBackState) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Wall-clock times (in file order) to UTC under the fall-back policy; also the gap mask."""
    wall = wall.as_unit("us")
    n = len(wall)
    as_dst = wall.tz_localize(tz, ambiguous=np.ones(n, dtype=bool), nonexistent="NaT")
    as_std = wall.tz_localize(tz, ambiguous=np.zeros(n, dtype=bool), nonexistent="NaT")
    gap = np.asarray(as_dst.isna() & wall.notna())
    ambiguous = np.flatnonzero(np.asarray(as_dst != as_std) & ~gap & np.asarray(wall.notna()))
    standard = np.zeros(n, dtype=bool)
    if len(ambiguous):
        standard[ambiguous] = _stepped_back(wall[ambiguous], series[ambiguous], state)
    resolved = pd.DatetimeIndex(np.where(standard, as_std.tz_convert("UTC").tz_localize(None),
                                         as_dst.tz_convert("UTC").tz_localize(None))).tz_localize("UTC")
    return resolved, gap


def _stepped_back(wall: pd.DatetimeIndex, series: np.ndarray, state: FallBackState) -> np.ndarray:
    """True for ambiguous times from the first step back of the wall clock on, per series and night."""
    frame = pd.DataFrame({"series": pd.array(series, dtype="string"), "day": wall.date, "wall": wall})
    keys = [frame["series"], frame["day"]]
    carried = [state.latest.get((s, d), (pd.NaT, False)) for s, d in zip(frame["series"], frame["day"])]
    seen = pd.Series([latest for latest, _ in carried], dtype="datetime64[us]")
    switched = pd.Series([done for _, done in carried], dtype=bool)
    before = frame.groupby(keys, sort=False)["wall"].cummax().groupby(keys, sort=False).shift(1)
    before = pd.concat([before, seen], axis=1).max(axis=1)
    standard = ((frame["wall"] <= before).fillna(False) | switched).groupby(keys, sort=False).cummax()
    summary = frame.assign(standard=standard).groupby(["series", "day"], sort=False).agg(
        latest=("wall", "max"), standard=("standard", "max"))
    for (s, d), row in summary.iterrows():
        latest, done = state.latest.get((s, d), (row["latest"], False))
        state.latest[(s, d)] = (max(latest, row["latest"]), bool(done or row["standard"]))
    return standard.to_numpy(dtype=bool)
