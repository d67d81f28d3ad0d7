"""Forecasting from a store: the simulated city (zone, meter, city), the cache, weather, saved scenarios, the CLI."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from dashapp.cli import main
from data.store import Store
from forecasting.cache import ModelCache
from forecasting.saved import save_scenario, saved_scenarios
from forecasting.scenarios import Comparison, Scenario
from forecasting.series import SeriesError, SeriesKey, load_series
from forecasting.weather import load_weather, regressors


@pytest.fixture(scope="module")
def city(city_db):
    with Store(city_db, read_only=True) as store:
        yield store.cursor()


def test_zone_series_is_the_sum_of_its_customers(city):
    series = load_series(city, SeriesKey("zone", "Z2"))
    expected = city.execute("""SELECT sum(volume_l) FROM meter_hourly JOIN meters USING (meter_id)
                               WHERE zone_id = 'Z2' AND category NOT IN ('inlet','sensor','weather')""").fetchone()[0]
    assert series.values.sum() == pytest.approx(expected)
    assert (series.unit, series.tz, series.weather_station) == ("L", "Europe/Rome", "WX-1")


def test_inlet_meter_is_mean_flow_and_city_sums_zones(city):
    inlet = load_series(city, SeriesKey("meter", "Z1-INLET"))
    assert inlet.unit == "L/s" and inlet.weather_station == "WX-1"
    zones = sum(load_series(city, SeriesKey("zone", z)).values.sum() for z in ("Z1", "Z2", "Z3", "Z4"))
    assert load_series(city, SeriesKey("city")).values.sum() == pytest.approx(zones)


def test_unknown_series_say_so(city):
    with pytest.raises(SeriesError, match="unknown meter 'NOPE'"):
        load_series(city, SeriesKey("meter", "NOPE"))
    with pytest.raises(SeriesError, match="unknown zone 'Z9'"):
        load_series(city, SeriesKey("zone", "Z9"))


def test_weather_future_uses_stored_values_then_climatology(city):
    observed = load_weather(city, "WX-1")
    until = observed.index.max() - pd.Timedelta(hours=24)
    hours = pd.date_range(until + pd.Timedelta(hours=1), periods=72, freq="h")
    frame = regressors(observed, hours, "Europe/Rome", until)
    stored = observed.reindex(hours[:24])
    assert frame["temperature"].iloc[:24].to_numpy() == pytest.approx(stored["temperature"].to_numpy())
    later = hours[24:]
    local_hour = later.tz_localize("UTC").tz_convert("Europe/Rome").hour
    history = observed.loc[:until]
    history_local = history.index.tz_localize("UTC").tz_convert("Europe/Rome")
    expected = history["temperature"].groupby(history_local.hour).mean()   # 14 days: all within +-15 days
    assert frame["temperature"].iloc[24:].to_numpy() == pytest.approx(expected.reindex(local_hour).to_numpy())


def test_cache_hits_until_new_data_arrives(city, tmp_path):
    from dataclasses import replace

    series = load_series(city, SeriesKey("zone", "Z1"))
    weather = load_weather(city, series.weather_station)
    cache = ModelCache(tmp_path)
    from forecasting.model import ForecastConfig
    first = cache.forecast(series, 24, weather, ForecastConfig())
    again = cache.forecast(series, 24, weather, ForecastConfig())
    assert (first.meta["cached"], again.meta["cached"]) == (False, True)
    assert again.frame["yhat"].to_numpy() == pytest.approx(first.frame["yhat"].to_numpy())
    assert len(list(tmp_path.glob("*.prophet.json"))) == 1
    shorter = replace(series, values=series.values.iloc[:-1])
    assert cache.forecast(shorter, 24, weather, ForecastConfig()).meta["cached"] is False
    rewritten = replace(series, values=series.values.copy())
    rewritten.values.iloc[100] += 1.0   # history corrected behind the newest hour: same watermark and length
    assert cache.forecast(rewritten, 24, weather, ForecastConfig()).meta["cached"] is False
    warmer = weather.copy()
    warmer.iloc[10, 0] += 1.0
    assert cache.forecast(series, 24, warmer, ForecastConfig()).meta["cached"] is False


def test_saved_scenarios_replace_by_name(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        cur = store.cursor()
        assert saved_scenarios(cur).empty
        save_scenario(cur, Scenario("dry"), "zone", "Z1", "h", 24, Comparison(100, 90, 2, 1.5))
        save_scenario(cur, Scenario("dry", growth_pct=3), "zone", "Z1", "h", 24, Comparison(100, 110, 2, 2.5))
        table = saved_scenarios(cur)
        assert list(table["name"]) == ["dry"] and table["volume_change_pct"].iloc[0] == pytest.approx(10)


def test_forecast_command_writes_local_times_and_units(city_db, tmp_path):
    out = tmp_path / "z1.csv"
    args = ["forecast", "--zone", "Z1", "--until", "2025-07-08T23:00", "--horizon", "30", "--db", str(city_db),
            "--out", str(out)]
    result = CliRunner().invoke(main, args + ["--config", str(_config(tmp_path))])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns) == ["ts", "yhat", "yhat_lower", "yhat_upper", "unit"]
    assert len(table) == 30 and table["ts"].iloc[0] == "2025-07-09T00:00:00+02:00" and set(table["unit"]) == {"L"}
    in_m3 = tmp_path / "z1-m3.csv"
    result = CliRunner().invoke(main, args[:-1] + [str(in_m3), "--unit", "m3", "--config", str(_config(tmp_path))])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(in_m3)["yhat"].to_numpy() == pytest.approx(table["yhat"].to_numpy() / 1000, rel=1e-3)


def test_forecast_command_bad_input_is_a_message(city_db, tmp_path):
    config = ["--db", str(city_db), "--config", str(_config(tmp_path))]
    cases = {
        ("--zone", "Z1", "--unit", "L/s"): "--unit must be one of L, m3, gal",
        ("--zone", "Z1", "--until", "2025-06-01T00:00"): "no demand data for zone Z1",
        ("--zone", "Z1", "--until", "2025-06-30T00:00"): "at least 168 are needed",
        ("--meter", "NOPE"): "unknown meter 'NOPE'",
        ("--zone", "Z1", "--until", "yesterday-ish"): "cannot read the time",
        (): "give exactly one of --meter ID, --zone ID or --city",
        ("--zone", "Z1", "--freq", "D", "--horizon", "120"): "--horizon is at most 90 days",
    }
    for args, message in cases.items():
        result = CliRunner().invoke(main, ["forecast", *args, *config])
        assert result.exit_code != 0 and message in result.output, (args, result.output)
        assert "Traceback" not in result.output


def _config(tmp_path):
    path = tmp_path / "waterline.toml"
    path.write_text(f'forecast_cache_dir = "{tmp_path / "cache"}"\n')
    return path


def test_forecast_command_defaults_to_the_unit_the_meter_was_imported_in(city_db, tmp_path):
    with Store(city_db, read_only=True) as store:
        meter = store.cursor().execute("SELECT min(meter_id) FROM meters WHERE unit = 'm3'").fetchone()[0]
    base = ["forecast", "--meter", meter, "--horizon", "24", "--db", str(city_db), "--config", str(_config(tmp_path))]
    assert CliRunner().invoke(main, [*base, "--out", str(tmp_path / "m3.csv")]).exit_code == 0
    assert CliRunner().invoke(main, [*base, "--unit", "L", "--out", str(tmp_path / "l.csv")]).exit_code == 0
    in_m3, in_l = pd.read_csv(tmp_path / "m3.csv"), pd.read_csv(tmp_path / "l.csv")
    assert set(in_m3["unit"]) == {"m3"} and set(in_l["unit"]) == {"L"}
    assert in_m3["yhat"].to_numpy() == pytest.approx(in_l["yhat"].to_numpy() / 1000, rel=1e-3, abs=1e-4)
