"""The forecasting pipeline on series of known shape: accuracy, DST days, gaps, outliers, too-short series."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from forecasting.backtest import measures, naive_baselines
from forecasting.model import ForecastError, forecast
from forecasting.series import to_daily
from tests.forecasting.conftest import TZ, demand_series, local_profile


def test_forecast_follows_the_local_daily_and_weekend_profile(synthetic):
    result = forecast(synthetic, 168)
    frame = result.frame
    assert len(frame) == 168 and frame.index[0] == synthetic.values.index[-1] + pd.Timedelta(hours=1)
    truth = local_profile(frame.index)
    assert np.mean(np.abs(frame["yhat"] - truth)) < 0.1 * truth.mean()
    assert (frame["yhat_lower"] <= frame["yhat"]).all() and (frame["yhat"] <= frame["yhat_upper"]).all()
    local = frame.index.tz_localize("UTC").tz_convert(TZ)
    weekday_peak = frame["yhat"][local.day_of_week < 5].groupby(local.hour[local.day_of_week < 5]).mean().idxmax()
    weekend_peak = frame["yhat"][local.day_of_week >= 5].groupby(local.hour[local.day_of_week >= 5]).mean().idxmax()
    assert (weekday_peak, weekend_peak) == (7, 9)


def test_model_beats_copying_last_week_on_noisy_data():
    series = demand_series("2024-01-01", "2024-03-11", noise=0.15, seed=3)
    origin = pd.Timestamp("2024-03-03 23:00")  # Monday 00:00 local
    history = replace(series, values=series.values.loc[:origin - pd.Timedelta(hours=1)])
    targets = pd.date_range(origin, periods=168, freq="h")
    actual = series.values.reindex(targets).to_numpy()
    model = measures(actual, forecast(history, 168).frame["yhat"].to_numpy(), "h")
    naive = measures(actual, naive_baselines(history.values, targets, "h", TZ)["previous week"], "h")
    assert model["PI3"] < 0.95 * naive["PI3"]


@pytest.mark.parametrize("start,end,changeover", [
    ("2024-03-04", "2024-03-30 12:00", "2024-03-31"),   # spring forward: a 23-hour day ahead
    ("2024-10-07", "2024-10-26 12:00", "2024-10-27"),   # fall back: a 25-hour day ahead
])
def test_dst_day_ahead_keeps_the_local_morning_peak(start, end, changeover):
    series = demand_series(start, end, noise=0.05)
    frame = forecast(series, 72).frame
    local = frame.index.tz_localize("UTC").tz_convert(TZ)
    day = local.normalize().tz_localize(None) == pd.Timestamp(changeover)
    assert day.sum() == (23 if changeover.endswith("31") else 25)
    on_the_day = frame["yhat"][day]
    assert local[day][int(np.argmax(on_the_day.to_numpy()))].hour == 9   # a Sunday: the weekend peak, local time


def test_daily_totals_on_dst_days_count_23_and_25_hours():
    series = demand_series("2024-10-21", "2024-10-29", noise=0.0, unit="L")
    daily = to_daily(series).values
    hours = series.values.groupby(series.values.index.tz_localize("UTC").tz_convert(TZ).date).size()
    assert hours[pd.Timestamp("2024-10-27").date()] == 25
    assert daily[pd.Timestamp("2024-10-27")] == pytest.approx(series.values[
        series.values.index.tz_localize("UTC").tz_convert(TZ).date == pd.Timestamp("2024-10-27").date()].sum())


def test_gaps_and_outliers_in_training_do_not_spoil_the_forecast(synthetic):
    values = synthetic.values.copy()
    values = values.drop(values.index[-600:-500])                     # four days missing
    values = values.drop(values.index[::7])                            # every seventh hour missing
    values.iloc[-50] = 500.0                                           # a spike two days before the origin
    gappy = replace(synthetic, values=values)
    frame = forecast(gappy, 48).frame
    truth = local_profile(frame.index)
    assert np.isfinite(frame["yhat"]).all()
    assert np.mean(np.abs(frame["yhat"] - truth)) < 0.15 * truth.mean()
    assert frame["yhat"].max() < 2 * truth.max()


def test_too_short_a_series_gives_a_clear_message():
    short = demand_series("2024-01-01", "2024-01-04")
    with pytest.raises(ForecastError, match=r"meter SYN-1 has 72 hours of data; at least 168 are needed"):
        forecast(short, 24)
    with pytest.raises(ForecastError, match=r"has 3 days of data; at least 21 are needed"):
        forecast(to_daily(short), 7)


def test_daily_forecast_of_a_volume_series(synthetic):
    daily = to_daily(replace(synthetic, unit="L"))
    frame = forecast(daily, 14).frame
    assert len(frame) == 14 and frame.index[0] == daily.values.index[-1] + pd.Timedelta(days=1)
    expected = daily.values.groupby(daily.values.index.day_of_week).mean()
    predicted = frame["yhat"].groupby(frame.index.day_of_week).mean()
    assert np.allclose(predicted.sort_index(), expected.sort_index(), rtol=0.1)


def test_ensemble_members_grow_with_the_history():
    young = forecast(demand_series("2024-01-01", "2024-01-15"), 24).meta["members"]
    assert young == ["seasonal naive", "trees 168 d", "prophet"]      # two weeks: too young for the recent-weeks fit
    seasoned = demand_series("2023-07-03", "2024-03-04")              # eight months: both tree windows add history
    result = forecast(seasoned, 336)
    assert result.meta["members"] == ["seasonal naive", "trees 168 d", "trees 364 d", "prophet",
                                      "prophet with recent weeks"]
    truth = local_profile(result.frame.index)
    assert np.mean(np.abs(result.frame["yhat"] - truth)) < 0.1 * truth.mean()   # the second week too (own lags)
