"""Customer water use, every 15 minutes, for every customer at once.

Each customer's expected use is their typical daily volume shaped by their
profile's daily rhythm (weekday, Saturday, Sunday or public holiday, shifted by
up to an hour per customer), the season, closures (school holidays, the
August shutdown of two-shift plants, a household's summer holiday) and the
weather: gardens and park irrigation follow heat and stay off after rain.
Actual use is then drawn around that expectation — a household's quarter hour
is a handful of discrete uses (a flush, a shower) or nothing at all, a
compound Poisson-gamma draw; plants and irrigation timers vary smoothly.
All arrays are steps x customers; there is no per-reading Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import holidays
import numpy as np
import pandas as pd

from sim.population import PROFILES
from sim.rng import Stream, day_rng
from sim.weather import WeatherSeries

STEPS_PER_DAY = 96
WEEKDAY, SATURDAY, SUNDAY = 0, 1, 2

# Hourly shapes (weekday, Saturday, Sunday/holiday); each is scaled so a weekday averages 1.
_H = {
    "household": (
        [.25, .18, .15, .15, .2, .5, 1.4, 2.2, 1.9, 1.3, 1.0, .95,
         1.1, 1.1, .9, .8, .85, 1.1, 1.5, 1.8, 1.7, 1.3, .8, .45],
        [.35, .25, .18, .15, .15, .25, .5, .9, 1.5, 1.8, 1.7, 1.5,
         1.4, 1.3, 1.0, .9, .9, 1.1, 1.4, 1.6, 1.6, 1.3, .9, .55],
        [.4, .28, .2, .15, .15, .2, .35, .7, 1.3, 1.8, 1.9, 1.7,
         1.6, 1.4, 1.0, .9, .9, 1.0, 1.3, 1.5, 1.5, 1.2, .85, .5],
    ),
    "shop": (
        [.05] * 7 + [.8, 1.9, 2.0, 2.0, 1.9, 1.6, 1.5, 1.8, 1.9, 1.9, 1.8, 1.5, .6] + [.05] * 4,
        [.05] * 7 + [.8, 1.9, 2.0, 2.0, 1.9, 1.2, .8, 1.2, 1.4, 1.4, 1.3, 1.0, .4] + [.05] * 4,
        [.05] * 24,
    ),
    "restaurant": (
        [.1] * 9 + [.6, 1.2, 2.0, 2.4, 2.0, 1.0, .5, .5, .8, 1.6, 2.4, 2.6, 2.0, 1.0, .3],
        [.1] * 9 + [.6, 1.2, 2.2, 2.7, 2.3, 1.1, .5, .5, .9, 1.9, 2.8, 3.0, 2.4, 1.3, .4],
        [.15] * 9 + [.7, 1.4, 2.6, 3.2, 2.8, 1.4, .6, .5, .8, 1.6, 2.4, 2.5, 2.0, 1.0, .3],
    ),
    "two_shift": ([.15] * 6 + [1.45] * 16 + [.15] * 2, [.15] * 6 + [1.2] * 8 + [.15] * 10, [.15] * 24),
    "continuous": ([1.0] * 24, [.95] * 24, [.85] * 24),
    "building": (
        [.1] * 7 + [1.2, 2.4, 2.2, 2.0, 2.2, 2.6, 2.0, 1.8, 1.4, .8] + [.1] * 7,
        [.1] * 24,
        [.08] * 24,
    ),
    "irrigation": ([0.0] * 5 + [8.0] + [0.0] * 16 + [8.0, 8.0],) * 3,
}
GARDEN_HOURS = (6, 19, 20, 21)                  # when households water the garden
SEASONAL_AMPLITUDE = {"household": .08, "shop": .05, "restaurant": .15, "two_shift": .03,
                      "continuous": .05, "building": .1, "irrigation": 0.0}
EVENT_SIZE_L = {"household": 10.0, "shop": 8.0, "restaurant": 15.0, "building": 10.0}   # discrete uses
SMOOTH_CV = {"two_shift": .25, "continuous": .15, "irrigation": .05}                     # everything else
WEATHER_DRIVEN = frozenset({"irrigation"})


def _quarter_hours(hourly: list[float]) -> np.ndarray:
    return np.repeat(np.asarray(hourly, dtype=float), 4)


def _profile_table() -> np.ndarray:
    """profiles x day types x 96 quarter hours, each weekday averaging 1."""
    table = np.zeros((len(PROFILES), 3, STEPS_PER_DAY))
    for p, name in enumerate(PROFILES):
        shapes = [_quarter_hours(h) for h in _H[name]]
        scale = shapes[WEEKDAY].mean() or 1.0
        for day_type, shape in enumerate(shapes):
            table[p, day_type] = shape / scale
    return table


PROFILE_TABLE = _profile_table()
GARDEN_SHAPE = np.zeros(STEPS_PER_DAY)
for _hour in GARDEN_HOURS:
    GARDEN_SHAPE[_hour * 4:(_hour + 1) * 4] = 1.0
GARDEN_SHAPE *= STEPS_PER_DAY / GARDEN_SHAPE.sum()


@lru_cache(maxsize=32)
def _holiday_dates(country: str, year: int) -> frozenset:
    return frozenset(holidays.country_holidays(country, years=year))


@dataclass(frozen=True)
class Calendar:
    """The city's local calendar at each step."""

    slot: np.ndarray          # quarter hour of the local day, 0..95
    day_type: np.ndarray      # WEEKDAY, SATURDAY or SUNDAY (public holidays count as Sunday)
    day_of_year: np.ndarray
    is_holiday: np.ndarray


def local_calendar(times: np.ndarray, tz: str, country: str) -> Calendar:
    local = pd.DatetimeIndex(np.asarray(times, dtype="datetime64[ns]")).tz_localize("UTC").tz_convert(tz)
    dates = local.date
    years = set(local.year)
    holiday = set().union(*(_holiday_dates(country, y) for y in years)) if country else set()
    is_holiday = np.fromiter((d in holiday for d in dates), dtype=bool, count=len(dates))
    weekday = local.day_of_week.to_numpy()
    day_type = np.where(weekday == 5, SATURDAY, np.where(weekday == 6, SUNDAY, WEEKDAY))
    day_type = np.where(is_holiday, SUNDAY, day_type)
    slot = (local.hour * 4 + local.minute // 15).to_numpy()
    return Calendar(slot, day_type, local.day_of_year.to_numpy(), is_holiday)


def weather_response(weather: WeatherSeries, steps: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(heat, dryness, warmth) at ``steps`` of a weather window that starts two days earlier.

    heat: 0 below a 16 °C daily mean, 1 at 24 °C, capped at 2; dryness: 1 after
    two dry days, ~0 after a wet spell; warmth: degrees above 20 °C (showers).
    """
    temperature = pd.Series(weather.air_temperature_c).rolling(STEPS_PER_DAY, min_periods=1).mean().to_numpy()
    heat = np.clip((temperature - 16.0) / 8.0, 0.0, 2.0)
    dryness = np.exp(-weather.rolling_rain_mm(48) / 5.0)
    warmth = np.maximum(temperature - 20.0, 0.0)
    return heat[steps], dryness[steps], warmth[steps]


def expected_use_l(customers: pd.DataFrame, calendar: Calendar, heat: np.ndarray, dryness: np.ndarray,
                   warmth: np.ndarray) -> np.ndarray:
    """Expected litres per step, steps x customers."""
    profile = customers["profile_idx"].to_numpy()
    names = np.asarray(PROFILES, dtype=object)[profile]
    slot = (calendar.slot[:, None] - customers["shift_steps"].to_numpy()[None, :]) % STEPS_PER_DAY
    shape = PROFILE_TABLE[profile[None, :], calendar.day_type[:, None], slot]
    base = customers["base_l_day"].to_numpy() / STEPS_PER_DAY

    amplitude = np.array([SEASONAL_AMPLITUDE[n] for n in names])
    season = 1.0 + amplitude[None, :] * np.cos(2 * np.pi * (calendar.day_of_year[:, None] - 200) / 365.25)
    weekend = np.where(calendar.day_type[:, None] == WEEKDAY, 1.0, customers["weekend_factor"].to_numpy()[None, :])
    indoor = base[None, :] * shape * season * weekend * (1.0 + 0.015 * warmth[:, None])
    weather_driven = np.isin(names, list(WEATHER_DRIVEN))
    indoor = np.where(weather_driven[None, :], base[None, :] * shape * (heat * dryness)[:, None], indoor)
    watering = heat * dryness * GARDEN_SHAPE[calendar.slot]
    garden = (base * customers["outdoor_share"].to_numpy())[None, :] * watering[:, None]
    return (indoor + garden) * _availability(customers, names, calendar)


def _availability(customers: pd.DataFrame, names: np.ndarray, calendar: Calendar) -> np.ndarray:
    """Closures and absences: 1 where the customer uses water as usual."""
    doy = calendar.day_of_year[:, None]
    start = customers["holiday_start_doy"].to_numpy()[None, :]
    away = (start >= 0) & (doy >= start) & (doy < start + customers["holiday_days"].to_numpy()[None, :])
    factor = np.where(away, 0.03, 1.0)
    shutdown = ((doy >= 220) & (doy < 235)) | (doy >= 358) | (doy == 1)
    factor = np.where((names == "two_shift")[None, :] & shutdown, 0.1, factor)
    school_break = (doy >= 166) & (doy < 253)
    return np.where((names == "building")[None, :] & school_break, 0.3 * factor, factor)


def draw_use_l(expected: np.ndarray, customers: pd.DataFrame, first_day: int, seed: int) -> np.ndarray:
    """Actual litres per step around ``expected`` (whole UTC days from day number ``first_day``).

    Each day has its own generator, so a day's draws are the same whichever
    window or chunk it is simulated in.
    """
    names = np.asarray(PROFILES, dtype=object)[customers["profile_idx"].to_numpy()]
    event = np.array([EVENT_SIZE_L.get(n, 0.0) for n in names])
    discrete = event > 0
    cv = np.array([SMOOTH_CV.get(n, 0.2) for n in names])
    shape = np.broadcast_to(1.0 / cv ** 2, (STEPS_PER_DAY, len(names)))
    out = np.empty_like(expected)
    for k in range(expected.shape[0] // STEPS_PER_DAY):
        rows = slice(k * STEPS_PER_DAY, (k + 1) * STEPS_PER_DAY)
        rng = day_rng(seed, Stream.DEMAND, first_day + k)
        mean = expected[rows]
        uses = rng.poisson(np.where(discrete, mean / np.where(discrete, event, 1.0), 0.0))
        compound = rng.standard_gamma(2.0 * uses) * event / 2.0   # each use ~ gamma(2): a flush, a shower...
        smooth = mean * rng.standard_gamma(shape) / shape
        out[rows] = np.where(discrete, compound, smooth)
    return out
