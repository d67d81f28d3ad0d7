"""Leak rules that water utilities trust: continuous flow on a customer meter, zone night-flow rise, burst.

Every rule learns "normal" from the series' own training window (the weeks
before the scanned window) and says in plain words what it saw against what is
usual. Nothing here knows simulator ids: series are chosen by quantity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from detection.events import Tariff, event, merge_runs, runs, squash
from detection.features import Window, night_minimum
from detection.rules_trickle import steady_trickle

SUSTAINED_SPAN_H = 4
SUSTAINED_FACTOR = 4.0
MIN_TRAINING_HOURS = 7 * 24
#: A night-flow rise smaller than this share of the usual minimum night flow is not raised however
#: steady the nights: about what a district meter's error and small changes of night use make.
NIGHT_RISE_FLOOR = 0.05


def _same_hour_baseline(floor: pd.DataFrame, days: int) -> pd.DataFrame:
    """Per hour, the highest ``floor`` of that hour of day (or the hour either side) on the ``days`` days before.

    A household's lowest flow over a few hours depends on the hour: nothing at
    night, a shower and a dishwasher in the evening. The hour either side absorbs
    a shift of the daily rhythm (summer time, a late weekend).
    """
    around = floor.rolling(3, center=True, min_periods=1).max().to_numpy()
    lead = floor.index[0].hour if len(floor) else 0
    rows, width = len(around), around.shape[1]
    padded = np.full((-(-(lead + rows) // 24) * 24, width), np.nan)
    padded[lead:lead + rows] = around
    by_day = padded.reshape(-1, 24 * width)
    highest, seen = np.full(by_day.shape, np.nan), np.zeros(by_day.shape, dtype=int)
    for back in range(1, min(days, len(by_day) - 1) + 1):
        highest[back:] = np.fmax(highest[back:], by_day[:-back])
        seen[back:] += ~np.isnan(by_day[:-back])
    earlier = np.where(seen >= 7, highest, np.nan).reshape(-1, width)
    return pd.DataFrame(earlier[lead:lead + rows], index=floor.index, columns=floor.columns)


def continuous_flow(volumes: pd.DataFrame, window: Window, zones: dict[str, str | None],
                    tariff: Tariff = Tariff(), min_leak_l_h: float = 30.0) -> list[dict]:
    """Customer meters whose flow does not rest: sustained high flow, or a steady trickle (`rules_trickle`).

    Sustained: the lowest hourly volume of the last 4 h is at least 4x (and
    ``min_leak_l_h`` above) the highest such value at that time of day (the hour
    either side included) on the previous 28 days: a running toilet or irrigation
    left on, raised after 4 h of evidence whatever the hour, where a household's
    own quiet hours make it stand out.
    """
    if volumes.empty:
        return []
    rows = []
    enough = volumes[volumes.index < window.start].notna().sum() >= MIN_TRAINING_HOURS
    floor = volumes.rolling(SUSTAINED_SPAN_H, min_periods=SUSTAINED_SPAN_H).min()
    baseline = _same_hour_baseline(floor, window.training_days)
    threshold = np.maximum(SUSTAINED_FACTOR * baseline, baseline + min_leak_l_h)
    fired = (floor >= threshold).to_numpy() & ((volumes.index >= window.start) & (volumes.index < window.end))[:, None]
    for column, meter_id in enumerate(volumes.columns):
        if not enough.iloc[column]:
            continue
        series = volumes.iloc[:, column]
        for first, last in merge_runs(runs(fired[:, column]), gap=1):
            start = _run_start(series, first, float(threshold.iat[first, column]))
            lowest = float(series.iloc[first - SUSTAINED_SPAN_H + 1:last + 1].min())
            hours = int((volumes.index[last] - start) / HOUR) + 1
            rest = float(baseline.iat[first, column])
            rows.append(event(
                detector="continuous_flow", meter_id=meter_id, zone_id=zones.get(meter_id), kind="continuous_flow",
                start=start, end=volumes.index[last] + HOUR, raised_at=volumes.index[first] + HOUR,
                score=squash(float(floor.iat[first, column]) / max(float(threshold.iat[first, column]), 1e-9) + 0.5),
                tariff=tariff, lost_volume_l=max(lowest - rest, 0.0) * hours,
                explanation=(f"Flow has not dropped below {lowest:.0f} L/h ({lowest / 3600:.4f} L/s) for {hours} h; "
                             f"at this time of day in the previous {window.training_days} days it never stayed above "
                             f"{rest:.0f} L/h for {SUSTAINED_SPAN_H} h")))
    return _one_per_leak(rows + steady_trickle(volumes.loc[:, enough.to_numpy()], window, zones, tariff))


HOUR = pd.Timedelta(hours=1)


def _one_per_leak(rows: list[dict]) -> list[dict]:
    """One event per leak: of overlapping events on a meter, the first raised (a running toilet is both
    sustained flow and a steady trickle; one alert is enough)."""
    kept: list[dict] = []
    for row in sorted(rows, key=lambda r: r["raised_at"]):
        if not any(k["meter_id"] == row["meter_id"] and k["start"] <= row["end"] and row["start"] <= k["end"]
                   for k in kept):
            kept.append(row)
    return kept


def _run_start(series: pd.Series, first: int, level: float) -> pd.Timestamp:
    """Where the flow that triggered at ``first`` began: back while hours stay at or above ``level``."""
    position = first
    values = series.to_numpy()
    while position > 0 and values[position - 1] >= level:
        position -= 1
    return series.index[position]


def recent_same_quarter(values: pd.Series, days: int = 1, how: str = "max") -> pd.Series:
    """Per reading, the highest (``how="max"``) or lowest (``"min"``) value of the same quarter hour on the
    previous ``days`` days (by default the day before).

    A water use that runs on a schedule (park irrigation every night at 03:30 once
    the weather turns dry) is then news on its first day only, however new it is
    against the weeks of training. One day back only: a burst two days ago at
    this quarter hour must not hide a new one today.
    """
    quarters = values.resample("15min").mean()
    day, slot = quarters.index.floor("D"), quarters.index.hour * 4 + quarters.index.minute // 15
    table = quarters.groupby([day, slot]).mean().unstack()
    recent = getattr(table.shift(1).rolling(days, min_periods=1), how)().stack()
    keys = pd.MultiIndex.from_arrays([values.index.floor("D"), values.index.hour * 4 + values.index.minute // 15])
    return pd.Series(recent.reindex(keys).to_numpy(), index=values.index)


def _usual_interval(index: pd.DatetimeIndex) -> pd.Timedelta:
    """Median time between readings."""
    return pd.Timedelta(np.median(np.diff(index.to_numpy(dtype="datetime64[ns]"))))


def _typical_by_slot(values: pd.Series, training_end: pd.Timestamp) -> tuple[pd.Series, float]:
    """Same quarter hour of the day (weekdays and weekends apart): median of training, and a robust spread."""
    quarter = values.index.hour * 4 + values.index.minute // 15
    slot = quarter + 96 * (values.index.day_of_week >= 5)
    training = values.index < training_end
    grouped = values[training].groupby(slot[training])
    by_slot = grouped.median().where(grouped.count() >= 3)
    by_quarter = values[training].groupby(quarter[training]).median()
    typical = pd.Series(by_slot.reindex(slot).to_numpy(), index=values.index)
    typical = typical.fillna(pd.Series(by_quarter.reindex(quarter).to_numpy(), index=values.index))
    residual = (values[training] - typical[training]).dropna()
    spread = float(1.4826 * np.median(np.abs(residual - residual.median()))) if len(residual) > 48 else float("nan")
    return typical, spread


def burst(flows: pd.DataFrame, pressures: pd.DataFrame, series: pd.DataFrame, window: Window,
          tariff: Tariff = Tariff(), sigmas: float = 6.0, turned: frozenset[str] = frozenset()) -> list[dict]:
    """A sudden step up in a flow series, held for two readings; the explanation says if pressure fell too.

    A step counts when the flow is above the same quarter hour's usual by more
    than ``sigmas`` robust spreads and 1.2x the 99.9 % excess of training (runs above
    that floor longer than 4 h, earlier bursts, left out),
    and above that quarter hour of the day before by half that (a new schedule is news
    on its first day, not until the weeks of training learn it).

    ``flows`` and ``pressures`` are readings (meter_id, ts, value); ``series`` the catalogue;
    ``turned`` the flow series read with their sign turned (`features.in_usual_direction`).
    """
    rows = []
    pressure_drop = _pressure_drops(pressures, series, window)
    for meter_id, group in flows.groupby("meter_id", sort=True):
        values = group.set_index("ts")["value"].sort_index()
        typical, spread = _typical_by_slot(values, window.start)
        if not np.isfinite(spread) or spread <= 0:
            continue
        excess = (values - typical).to_numpy()
        threshold = max(sigmas * spread, 1.2 * _usual_peak(values.index, excess, window.start, sigmas * spread))
        lately = recent_same_quarter(values).to_numpy()
        unheard_of = ~(values.to_numpy() <= lately + 0.5 * threshold)
        high = (excess > threshold) & unheard_of & (values.index >= window.start) & (values.index < window.end)
        info = series.set_index("meter_id").loc[meter_id]
        zone = info["zone_id"] if pd.notna(info["zone_id"]) else None
        drops = pressure_drop.get(zone, pd.Series(dtype=bool))
        corroborated = np.array([bool(drops.get(ts, False)) for ts in values.index]) if len(drops) else \
            np.zeros(len(values), dtype=bool)
        for first, last in runs(high):
            if last == first:
                continue
            raised = first + 1
            run = slice(first, last + 1)
            step = float(np.median(excess[run]))
            interval_s = _usual_interval(values.index).total_seconds() if len(values) > 1 else 900.0
            lost = float(np.clip(excess[run], 0, None).sum() * interval_s)
            pressure_note = "; pressure in the zone fell at the same time" if corroborated[first:last + 1].any() else ""
            rows.append(event(
                detector="burst", meter_id=meter_id, zone_id=zone, kind="burst", start=values.index[first],
                end=values.index[last], raised_at=values.index[raised], score=squash(step / threshold),
                severity="critical", tariff=tariff, lost_volume_l=lost,
                explanation=(f"Flow stepped up to {values.iloc[first]:.2f} L/s, {excess[first]:.2f} L/s above the "
                             f"usual {typical.iloc[first]:.2f} L/s at this hour (alarm above {threshold:.2f} L/s), "
                             f"for {last - first + 1} readings{pressure_note}{_turned_note(meter_id, turned)}")))
    return rows


def _inlets_note(info: pd.DataFrame, meter_id: str) -> str:
    """Names the meters a zone's flow was summed from (`detection.zone_inflow`)."""
    inlets = info.at[meter_id, "inlets"] if "inlets" in info.columns else None
    if not isinstance(inlets, list):
        return ""
    outlets = info.at[meter_id, "outlets"] if "outlets" in info.columns else None
    outlets = outlets if isinstance(outlets, list) else []
    words = f"; the zone's inflow through its {len(inlets)} inlets ({', '.join(inlets)})" if len(inlets) > 1 else \
        f"; the zone's inflow through {', '.join(inlets)}" if inlets else "; the zone's inflow"
    return words + (f", less its outflow through {', '.join(outlets)}" if outlets else "")


def _turned_note(meter_id: str, turned: frozenset[str]) -> str:
    return ("; the meter reads this flow below zero (against its marked direction): figures are its readings "
            "with the sign turned") if meter_id in turned else ""


LONGEST_USUAL_PEAK = pd.Timedelta(hours=4)


def _usual_peak(index: pd.DatetimeIndex, excess: np.ndarray, training_end: pd.Timestamp, floor: float) -> float:
    """The 99.9 % excess of training over the usual, leaving out runs above ``floor`` longer than 4 h.

    The peaks a schedule brings (an irrigation cycle, a cleaning run) are short and
    stay in; a burst in the training weeks ran for hours and does not raise the bar
    for the next one.
    """
    training = (index < training_end) & np.isfinite(excess)
    high = np.nan_to_num(excess, nan=0.0) > floor
    interval = _usual_interval(index) if len(index) > 1 else pd.Timedelta(minutes=15)
    longest = max(int(LONGEST_USUAL_PEAK / interval), 1)
    for first, last in runs(high, min_length=longest + 1):
        training[first:last + 1] = False
    return float(np.quantile(excess[training], 0.999)) if training.any() else 0.0


def _pressure_drops(pressures: pd.DataFrame, series: pd.DataFrame, window: Window) -> dict:
    """Per zone, reading times at which some pressure sensor of the zone is 3 spreads below its usual."""
    drops: dict = {}
    if pressures.empty:
        return drops
    zone_of = series.set_index("meter_id")["zone_id"]
    for meter_id, group in pressures.groupby("meter_id"):
        zone = zone_of.get(meter_id)
        if zone is None or pd.isna(zone):
            continue
        values = group.set_index("ts")["value"].sort_index()
        typical, spread = _typical_by_slot(values, window.start)
        if not np.isfinite(spread) or spread <= 0:
            continue
        low = (values - typical) < -4 * max(spread, 0.02)
        drops[zone] = low if zone not in drops else (drops[zone] | low.reindex(drops[zone].index, fill_value=False))
    return drops


def night_flow_rise(flows: pd.DataFrame, series: pd.DataFrame, window: Window, tariff: Tariff = Tariff(),
                    nights: int = 14, turned: frozenset[str] = frozenset()) -> list[dict]:
    """A zone's (or any flow series') minimum night flow above its recent nights' median by 3 spreads and
    ``NIGHT_RISE_FLOOR``, two nights running (the event starts with the first of them)."""
    rows = []
    info = series.set_index("meter_id")
    for meter_id, group in flows.groupby("meter_id", sort=True):
        values = group.set_index("ts")["value"].sort_index()
        tz = info.at[meter_id, "tz"] if "tz" in info.columns and pd.notna(info.at[meter_id, "tz"]) else "UTC"
        minima = night_minimum(values, tz)
        if len(minima) < 8:
            continue
        dates = pd.to_datetime(pd.Index(minima.index))
        night_end = (dates + pd.Timedelta(hours=5)).tz_localize(tz, ambiguous="NaT", nonexistent="NaT") \
            .tz_convert("UTC").tz_localize(None)
        zone = info.at[meter_id, "zone_id"] if pd.notna(info.at[meter_id, "zone_id"]) else None
        asset = f"ZONE:{zone}" if zone is not None and info.at[meter_id, "category"] == "inlet" else meter_id
        flagged = np.zeros(len(minima), dtype=bool)
        baselines, thresholds = np.full(len(minima), np.nan), np.full(len(minima), np.nan)
        for i in range(len(minima)):
            if pd.isna(night_end[i]) or not window.start <= night_end[i] <= window.end:
                continue
            earlier = minima.iloc[max(0, i - nights):i].dropna()
            if len(earlier) < 7:
                continue
            base = float(earlier.median())
            spread = float(1.4826 * np.median(np.abs(earlier - base)))
            threshold = base + max(3 * spread, NIGHT_RISE_FLOOR * abs(base), 1e-6)
            baselines[i], thresholds[i] = base, threshold
            flagged[i] = minima.iloc[i] > threshold and i > 0 and minima.iloc[i - 1] > threshold
        for first, last in runs(flagged):
            base = float(np.nanmedian(baselines[first:last + 1]))
            rise = float(np.median(minima.iloc[first:last + 1]) - base)
            start = night_end[max(first - 1, 0)] - pd.Timedelta(hours=4)
            duration_s = (night_end[last] - start).total_seconds()
            rows.append(event(
                detector="night_flow_rise", meter_id=asset, zone_id=zone, kind="night_flow_rise", start=start,
                end=night_end[last], raised_at=night_end[first], score=squash(minima.iloc[first] / thresholds[first]),
                tariff=tariff, lost_volume_l=rise * duration_s,
                explanation=(f"Minimum night flow {minima.iloc[last]:.3f} L/s on the night to {dates[last]:%d %b}, "
                             f"against the median {baselines[last]:.3f} L/s of the previous {nights} nights (alarm "
                             f"above {thresholds[last]:.3f} L/s); above the alarm {last - first + 2} nights running, "
                             f"a rise of about {rise:.3f} L/s{_inlets_note(info, meter_id)}"
                             f"{_turned_note(meter_id, turned)}")))
    return rows
