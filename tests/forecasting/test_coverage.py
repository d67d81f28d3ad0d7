"""Interval coverage: a daily forecast's 80 % band holds about eight days in ten, also months ahead."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner

from dashapp.cli import main
from forecasting.coverage import coverage_report, interval_coverage
from forecasting.series import to_daily
from tests.forecasting.conftest import demand_series


def test_a_daily_band_is_neither_far_too_wide_nor_far_too_narrow_months_ahead():
    daily = to_daily(demand_series("2023-01-02", "2024-01-01", seed=3, noise=0.3))
    origins = [pd.Timestamp("2023-07-03"), pd.Timestamp("2023-08-07"), pd.Timestamp("2023-09-04")]
    periods = interval_coverage(daily, origins, horizon=84)
    assert len(periods) == 3 * 84
    late = periods[periods["weeks_ahead"] >= 6]["inside"].mean()
    assert 0.6 <= periods["inside"].mean() <= 0.93
    assert 0.6 <= late <= 0.95
    report = coverage_report(periods, 0.8)
    assert report.startswith("Inside the 80% interval:") and "\n12 | " in report


def test_a_bad_origin_is_explained():
    result = CliRunner().invoke(main, ["forecast-coverage", "--city", "--origins", "2022-02-01,soon"])
    assert result.exit_code == 2 and "not a day" in result.output
