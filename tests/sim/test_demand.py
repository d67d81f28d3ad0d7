"""Customer use follows the clock, the calendar and the weather the way utilities see it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.demand import GARDEN_SHAPE, SUNDAY, WEEKDAY, expected_use_l, local_calendar
from sim.engine import CitySimulation
from sim.weather import Climate, synthetic_weather, weather_for

STEPS = 96


def _day(date: str) -> np.ndarray:
    """The 96 step starts (UTC) of a local day in Rome (CET in winter, CEST in summer)."""
    local = pd.date_range(date, periods=STEPS, freq="15min", tz="Europe/Rome")
    return local.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[s]")


def _expected(simulation: CitySimulation, date: str, heat: float = 0.0, dryness: float = 1.0) -> np.ndarray:
    calendar = local_calendar(_day(date), "Europe/Rome", "IT")
    flat = np.ones(STEPS)
    return expected_use_l(simulation.customers, calendar, heat * flat, dryness * flat, 0 * flat)


def _by_profile(simulation: CitySimulation, use: np.ndarray, profile: str) -> np.ndarray:
    return use[:, (simulation.customers["profile"] == profile).to_numpy()]


def test_households_have_a_morning_and_an_evening_peak_and_sleep_at_night():
    simulation = CitySimulation(0)
    households = _by_profile(simulation, _expected(simulation, "2025-03-12"), "household").sum(axis=1)
    hourly = households.reshape(24, 4).sum(axis=1)
    assert 6 <= int(np.argmax(hourly[:12])) <= 9 and 18 <= int(np.argmax(hourly[12:])) + 12 <= 21
    assert hourly[3] < 0.25 * hourly.max()
    per_household = households.sum() / (simulation.customers["profile"] == "household").sum()
    assert 250 < per_household < 450          # litres per household per day


def test_weekends_and_public_holidays_change_the_rhythm():
    simulation = CitySimulation(0)
    weekday = _expected(simulation, "2025-12-17")
    christmas = _expected(simulation, "2025-12-25")             # a Thursday, a public holiday in Italy
    assert local_calendar(_day("2025-12-25"), "Europe/Rome", "IT").day_type[0] == SUNDAY
    assert local_calendar(_day("2025-12-17"), "Europe/Rome", "IT").day_type[0] == WEEKDAY
    for profile in ("shop", "building", "two_shift"):
        closed, open_ = (_by_profile(simulation, day, profile).sum() for day in (christmas, weekday))
        assert closed < 0.25 * open_, profile

    def morning_peak(use: np.ndarray) -> int:
        hourly = _by_profile(simulation, use, "household").sum(axis=1).reshape(24, 4).sum(axis=1)
        return int(np.argmax(hourly[:14]))

    assert morning_peak(_expected(simulation, "2025-12-21")) > morning_peak(weekday)   # Sunday: a later morning


def test_heat_and_dry_weather_drive_gardens_and_irrigation_and_rain_stops_them():
    simulation = CitySimulation(0)
    mild = _expected(simulation, "2025-07-16", heat=0.0)
    hot_dry = _expected(simulation, "2025-07-16", heat=1.5, dryness=1.0)
    hot_wet = _expected(simulation, "2025-07-16", heat=1.5, dryness=0.05)
    assert _by_profile(simulation, mild, "irrigation").sum() == 0.0
    irrigation = {name: _by_profile(simulation, use, "irrigation").sum() for name, use in
                  (("hot_dry", hot_dry), ("hot_wet", hot_wet))}
    assert irrigation["hot_dry"] > 10 * irrigation["hot_wet"]
    gardens = (simulation.customers["outdoor_share"] > 0).to_numpy()
    extra = hot_dry[:, gardens].sum(axis=1) - mild[:, gardens].sum(axis=1)
    assert extra.sum() > 0.1 * mild[:, gardens].sum()
    assert np.allclose(extra[GARDEN_SHAPE[local_calendar(_day("2025-07-16"), "Europe/Rome", "IT").slot] == 0], 0.0)


def test_the_synthetic_station_has_a_mediterranean_climate():
    year = np.arange(np.datetime64("2025-01-01T00:00:00"), np.datetime64("2026-01-01T00:00:00"),
                     np.timedelta64(900, "s"))
    weather = synthetic_weather(year, seed=3)
    month = year.astype("datetime64[M]").astype(int) % 12
    july, january = weather.air_temperature_c[month == 6].mean(), weather.air_temperature_c[month == 0].mean()
    assert 21 < july < 29 and 3 < january < 12
    assert 400 < weather.rainfall_mm.sum() < 1400
    decade = np.arange(np.datetime64("2010-01-01T00:00:00"), np.datetime64("2020-01-01T00:00:00"),
                       np.timedelta64(3600, "s"))
    hourly = pd.Series(synthetic_weather(decade, seed=3).rainfall_mm * 4, index=pd.DatetimeIndex(decade))
    by_month = hourly.groupby(hourly.index.month).sum() / 10
    assert by_month[11] > 2.5 * by_month[7]                             # wet November, dry July
    hour = (year - year.astype("datetime64[D]")).astype(int) // 3600
    assert weather.air_temperature_c[hour == 14].mean() > weather.air_temperature_c[hour == 5].mean() + 4
    assert np.array_equal(synthetic_weather(year[:96], seed=3).air_temperature_c, weather.air_temperature_c[:96])
    assert not np.array_equal(synthetic_weather(year[:96], seed=4).air_temperature_c, weather.air_temperature_c[:96])


def test_a_weather_file_replaces_the_synthetic_station_where_it_has_data(tmp_path):
    path = tmp_path / "station.csv"
    pd.DataFrame({"ts": ["2025-07-16T10:00:00+02:00", "2025-07-16T11:00:00+02:00"],
                  "air_temperature": [35.0, 36.0], "rainfall": [4.0, 0.0]}).to_csv(path, index=False)
    from sim.weather import read_weather_file

    observed = read_weather_file(path)
    times = np.arange(np.datetime64("2025-07-16T07:00:00"), np.datetime64("2025-07-16T10:00:00"),
                      np.timedelta64(900, "s"))
    weather = weather_for(times, seed=1, observed=observed, climate=Climate())
    temperature, rain = weather.air_temperature_c, weather.rainfall_mm
    assert temperature[4] == 35.0 and temperature[8] == 36.0 and 35.0 < temperature[6] < 36.0   # 08:00, 09:00 UTC
    assert np.allclose(rain[4:8], 1.0) and np.allclose(rain[8:], 0.0)   # the hour's 4 mm, spread over it
    synthetic = synthetic_weather(times, seed=1)
    assert np.array_equal(temperature[:4], synthetic.air_temperature_c[:4])
    assert np.array_equal(temperature[9:], synthetic.air_temperature_c[9:])
