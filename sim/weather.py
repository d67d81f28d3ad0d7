"""The weather that drives outdoor water use: a synthetic station, or a real file.

The synthetic station has a Mediterranean climate by default: a seasonal cycle
of daily mean temperature with persistent anomalies (an AR(1) process: warm
spells last days), a diurnal cycle peaking mid-afternoon, and rain from a
two-state Markov chain of wet and dry days — dry summers, wet autumns — falling
in one to three showers. The daily series is generated from a fixed epoch, so a
given seed and day always have the same weather whatever window is asked for.

A real file (CSV with ``ts``, ``air_temperature`` in °C and ``rainfall`` in mm
per row's interval) replaces the synthetic values where it has data.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from sim.rng import Stream, day_rng, stream_rng

EPOCH = np.datetime64("2000-01-01", "D")
HORIZON_DAYS = 36_525             # the daily series runs to 2100, whatever window is asked for
STEP = np.timedelta64(900, "s")
STEPS_PER_DAY = 96


@dataclass(frozen=True)
class Climate:
    """Parameters of the synthetic station (defaults: a hill town in central Italy)."""

    mean_c: float = 15.5
    seasonal_amplitude_c: float = 8.5
    warmest_day_of_year: int = 200
    anomaly_persistence: float = 0.75
    anomaly_sd_c: float = 2.2
    diurnal_range_c: tuple[float, float] = (7.0, 11.0)      # winter, summer
    wet_day_probability: tuple[float, ...] = (0.30, 0.28, 0.27, 0.28, 0.22, 0.14,
                                              0.07, 0.10, 0.20, 0.30, 0.35, 0.33)
    wet_spell_persistence: float = 0.35
    mean_wet_day_mm: float = 8.0


@dataclass(frozen=True)
class WeatherSeries:
    """Weather at the start of each 15-minute step (UTC) of a window."""

    times: np.ndarray           # datetime64[s], step starts
    air_temperature_c: np.ndarray
    rainfall_mm: np.ndarray     # rain in the step

    def rolling_rain_mm(self, hours: float) -> np.ndarray:
        """Rain over the previous ``hours`` at each step (the window must include them)."""
        steps = int(hours * 4)
        total = np.concatenate([[0.0], np.cumsum(self.rainfall_mm)])
        idx = np.arange(1, len(total))
        return total[idx] - total[np.maximum(idx - steps, 0)]


@lru_cache(maxsize=8)
def _daily(seed: int, climate: Climate) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Daily mean temperature, diurnal range and rain amount of every day from the epoch to 2100."""
    days = HORIZON_DAYS
    rng = stream_rng(seed, Stream.WEATHER)
    doy = (np.arange(days) % 365.25).astype(float)
    season = np.cos(2 * np.pi * (doy - climate.warmest_day_of_year) / 365.25)
    shocks = rng.normal(0.0, climate.anomaly_sd_c, days)
    anomaly = np.empty(days)
    level = 0.0
    for d in range(days):  # an AR(1) filter; a few thousand steps
        level = climate.anomaly_persistence * level + shocks[d]
        anomaly[d] = level
    mean = climate.mean_c + climate.seasonal_amplitude_c * season + anomaly

    dates = EPOCH + np.arange(days).astype("timedelta64[D]")
    month = dates.astype("datetime64[M]").astype(int) % 12
    p_wet = np.asarray(climate.wet_day_probability)[month]
    u = rng.random(days)
    wet = np.zeros(days, dtype=bool)
    for d in range(1, days):
        stay = climate.wet_spell_persistence if wet[d - 1] else 0.0
        wet[d] = u[d] < p_wet[d] + stay * (1 - p_wet[d])
    amount = np.where(wet, rng.gamma(0.7, climate.mean_wet_day_mm / 0.7, days), 0.0)
    low, high = climate.diurnal_range_c
    diurnal_range = (low + (high - low) * (season + 1) / 2) * np.where(wet, 0.55, 1.0)
    return mean, diurnal_range, amount


def synthetic_weather(times: np.ndarray, seed: int, climate: Climate = Climate(), utc_offset_h: float = 1.0
                      ) -> WeatherSeries:
    """The synthetic station at ``times`` (15-minute UTC step starts, whole days or not)."""
    times = np.asarray(times, dtype="datetime64[s]")
    day = (times.astype("datetime64[D]") - EPOCH).astype(int)
    if day.min() < 0 or day.max() >= HORIZON_DAYS:
        raise ValueError("synthetic weather covers 2000 to 2099")
    mean, diurnal_range, amount = _daily(seed, climate)
    local_hour = ((times - times.astype("datetime64[D]")).astype(float) / 3600 + utc_offset_h) % 24
    temperature = mean[day] + diurnal_range[day] / 2 * np.cos(2 * np.pi * (local_hour - 15) / 24)
    return WeatherSeries(times, temperature, _rain_in_steps(times, day, amount, seed))


def _rain_in_steps(times: np.ndarray, day: np.ndarray, amount: np.ndarray, seed: int) -> np.ndarray:
    """Spread each wet day's rain over one to three showers of one to four hours."""
    rain = np.zeros(len(times))
    step_of_day = ((times - times.astype("datetime64[D]")).astype(int) // 900).astype(int)
    for d in np.unique(day):
        if amount[d] <= 0:
            continue
        rng = day_rng(seed, Stream.WEATHER, int(d))
        showers = rng.integers(1, 4)
        shape = np.zeros(STEPS_PER_DAY)
        for _ in range(showers):
            start, length = rng.integers(0, STEPS_PER_DAY), rng.integers(4, 17)
            shape[start:start + length] += rng.gamma(2.0, 1.0)
        shape /= shape.sum()
        here = day == d
        rain[here] = amount[d] * shape[step_of_day[here]]
    return rain


def read_weather_file(path: str | Path) -> pd.DataFrame:
    """A weather file as 15-minute UTC steps: ``air_temperature`` (°C) and ``rainfall`` (mm per step)."""
    frame = pd.read_csv(path)
    missing = {"ts", "air_temperature", "rainfall"} - set(frame.columns)
    if missing:
        raise ValueError(f"weather file {path} lacks columns {sorted(missing)}")
    ts = pd.to_datetime(frame["ts"], utc=True, format="ISO8601").dt.tz_localize(None)
    frame = frame.assign(ts=ts).set_index("ts").sort_index()
    interval = frame.index.to_series().diff().median()
    steps_per_row = max(1, round(interval / pd.Timedelta(minutes=15))) if pd.notna(interval) else 1
    temperature = frame["air_temperature"].resample("15min").mean().interpolate(limit=8)
    rain = frame["rainfall"].resample("15min").sum(min_count=1)
    if steps_per_row > 1:  # an hourly total is spread evenly over its four quarters
        rain = (rain / steps_per_row).reindex(temperature.index).ffill(limit=steps_per_row - 1)
    return pd.DataFrame({"air_temperature": temperature, "rainfall": rain})


def weather_for(times: np.ndarray, seed: int, observed: pd.DataFrame | None = None,
                climate: Climate = Climate(), utc_offset_h: float = 1.0) -> WeatherSeries:
    """Synthetic weather, replaced by ``observed`` values (from `read_weather_file`) where they exist."""
    synthetic = synthetic_weather(times, seed, climate, utc_offset_h)
    if observed is None or observed.empty:
        return synthetic
    index = pd.DatetimeIndex(np.asarray(times, dtype="datetime64[ns]"))
    seen = observed.reindex(index)
    temperature = seen["air_temperature"].to_numpy(dtype=float)
    rain = seen["rainfall"].to_numpy(dtype=float)
    return WeatherSeries(
        synthetic.times,
        np.where(np.isnan(temperature), synthetic.air_temperature_c, temperature),
        np.where(np.isnan(rain), synthetic.rainfall_mm, np.maximum(rain, 0.0)),
    )
