"""Weather regressors: air temperature and rainfall of the linked station, observed or climatological.

Past hours use the station's stored observations. Future hours use stored values
when there are any (a weather forecast, or the observed week in a backtest), and
otherwise a climatology: the station's mean for the same local hour of day within
15 days of the same calendar day in earlier years, else the mean of that hour over
the last 14 observed days. Gaps in observations are filled the same way, so the
model never sees a missing regressor.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

QUANTITIES = {"air_temperature": "temperature", "rainfall": "rainfall"}
CLIMATE_WINDOW_DAYS = 15
RECENT_DAYS = 14


def load_weather(cur: duckdb.DuckDBPyConnection, station: str | None) -> pd.DataFrame:
    """Hourly mean temperature (degC) and rainfall total (mm) of ``station``, indexed by naive UTC hour."""
    if not station:
        return pd.DataFrame(columns=list(QUANTITIES.values()), dtype=float)
    frame = cur.execute(
        """SELECT hour, quantity, CASE WHEN quantity = 'rainfall' THEN total ELSE total / n END AS value
           FROM reading_hourly WHERE meter_id = ? AND quantity IN ('air_temperature', 'rainfall')""",
        [station]).df()
    if frame.empty:
        return pd.DataFrame(columns=list(QUANTITIES.values()), dtype=float)
    wide = frame.pivot_table(index="hour", columns="quantity", values="value").rename(columns=QUANTITIES)
    wide.index = pd.DatetimeIndex(wide.index).as_unit("ns")
    for column in QUANTITIES.values():
        if column not in wide:
            wide[column] = np.nan
    return wide[list(QUANTITIES.values())].sort_index()


def regressors(observed: pd.DataFrame, hours: pd.DatetimeIndex, tz: str, known_until: pd.Timestamp) -> pd.DataFrame:
    """Temperature and rainfall for every hour in ``hours`` (naive UTC).

    Observations after ``known_until`` are used as a weather forecast when stored; the
    rest comes from the climatology described in the module docstring.
    """
    columns = list(QUANTITIES.values())
    result = observed.reindex(hours)[columns] if not observed.empty else pd.DataFrame(index=hours, columns=columns,
                                                                                      dtype=float)
    missing = result.isna().any(axis=1)
    if not missing.any():
        return result.astype(float)
    history = observed.loc[observed.index <= known_until].dropna(how="all") if not observed.empty else observed
    if history.empty:
        return result.fillna({"temperature": 0.0, "rainfall": 0.0}).astype(float)
    climate = _climatology(history, result.index[missing], tz)
    result.loc[missing] = result.loc[missing].fillna(climate)
    return result.astype(float)


def _climatology(history: pd.DataFrame, hours: pd.DatetimeIndex, tz: str) -> pd.DataFrame:
    local_hist = history.index.tz_localize("UTC").tz_convert(tz)
    local = hours.tz_localize("UTC").tz_convert(tz)
    hist = history.assign(doy=local_hist.day_of_year, hod=local_hist.hour)
    recent = hist.loc[hist.index > history.index.max() - pd.Timedelta(days=RECENT_DAYS)]
    recent_by_hour = recent.groupby("hod")[list(QUANTITIES.values())].mean()
    out = pd.DataFrame(index=hours, columns=list(QUANTITIES.values()), dtype=float)
    by_day_hour = hist.groupby(["doy", "hod"])[list(QUANTITIES.values())].agg(["sum", "count"])
    for doy in np.unique(local.day_of_year):
        window = (np.arange(doy - CLIMATE_WINDOW_DAYS, doy + CLIMATE_WINDOW_DAYS + 1) - 1) % 366 + 1
        sel = by_day_hour.loc[by_day_hour.index.get_level_values(0).isin(window)]
        sums = sel.groupby(level=1).sum()
        mask = local.day_of_year == doy
        for column in QUANTITIES.values():
            mean = sums[(column, "sum")] / sums[(column, "count")].replace(0, np.nan)
            fallback = recent_by_hour[column] if column in recent_by_hour else pd.Series(dtype=float)
            values = mean.reindex(local.hour[mask]).to_numpy()
            values = np.where(np.isnan(values), fallback.reindex(local.hour[mask]).to_numpy(), values)
            out.loc[hours[mask], column] = values
    return out.fillna(0.0)
