"""What-if scenarios applied to a fitted forecast, without refitting: pure functions, milliseconds each.

A scenario is data (`Scenario`); `apply_scenario` turns a baseline forecast into the
scenario's forecast, and `compare` gives the differences planners read: volume over
the horizon and peak flow. Effects, in the order applied:

- temperature shift and rain/dry spell: the Prophet regressor coefficients (log
  demand per degC and per log(1 + mm of rain in 24 h)), times the blend's Prophet weight;
- growth (%): population or occupancy, scales all demand;
- restrictions (% by customer category): scale each category's share of demand
  (shares read from the store's recent consumption);
- leak repaired: subtract a constant flow (L/s) — the detected leak's size;
- new development: extra customers of a category times that category's typical
  per-customer demand by local hour of day (from the store).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from forecasting.model import Forecast

SECONDS = {"h": 3600.0, "D": 86400.0}


@dataclass(frozen=True)
class Scenario:
    name: str = "scenario"
    temperature_shift_c: float = 0.0
    rain_mm_per_day: float | None = None        # None = as forecast; 0 = dry spell
    growth_pct: float = 0.0
    restrictions_pct: dict[str, float] = field(default_factory=dict)   # category -> % reduction
    leak_repaired_l_s: float = 0.0
    new_customers: dict[str, int] = field(default_factory=dict)        # category -> extra customers

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Scenario:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class DemandContext:
    """What scenarios need to know about the series' customers, read once from the store."""

    category_shares: dict[str, float]                 # category -> share of demand (sums to 1)
    per_customer_l_per_h: dict[str, pd.Series]        # category -> mean L/h of one customer by local hour 0..23


def _as_flow(values: np.ndarray, forecast: Forecast) -> np.ndarray:
    """Series values as L/s (flow series already are; volumes per period are divided by its seconds)."""
    return values if forecast.unit == "L/s" else values / SECONDS[forecast.freq]


def _from_flow(flow_l_s: np.ndarray | float, forecast: Forecast) -> np.ndarray | float:
    return flow_l_s if forecast.unit == "L/s" else flow_l_s * SECONDS[forecast.freq]


def _weather_factor(baseline: Forecast, scenario: Scenario) -> np.ndarray:
    frame = baseline.frame
    log_change = np.zeros(len(frame))
    if scenario.temperature_shift_c and "temperature_effect" in baseline.meta:
        log_change += baseline.meta["temperature_effect"] * scenario.temperature_shift_c
    if scenario.rain_mm_per_day is not None and "rainfall_effect" in baseline.meta and "rainfall" in frame:
        daily_rain = np.log1p(scenario.rain_mm_per_day)   # the regressor is log(1 + rain of 24 h) at both steps
        log_change += baseline.meta["rainfall_effect"] * (daily_rain - frame["rainfall"].to_numpy())
    if not baseline.meta.get("log_space", True):
        return 1 + log_change
    return np.exp(log_change)


def _local_hours(forecast: Forecast) -> np.ndarray:
    if forecast.freq == "D":
        return np.zeros(len(forecast.frame), dtype=int)
    return forecast.frame.index.tz_localize("UTC").tz_convert(forecast.tz).hour.to_numpy()


def apply_scenario(baseline: Forecast, scenario: Scenario, context: DemandContext | None = None) -> Forecast:
    """The baseline forecast changed by ``scenario``; the interval moves with the central forecast."""
    context = context or DemandContext({}, {})
    factor = _weather_factor(baseline, scenario) * (1 + scenario.growth_pct / 100)
    if scenario.restrictions_pct:
        shares = context.category_shares or {}
        reduction = sum(shares.get(cat, 0.0) * pct / 100 for cat, pct in scenario.restrictions_pct.items())
        factor = factor * (1 - min(max(reduction, 0.0), 1.0))
    added = np.zeros(len(baseline.frame))
    for category, count in scenario.new_customers.items():
        profile = context.per_customer_l_per_h.get(category)
        if profile is None or not count:
            continue
        if baseline.freq == "h":
            litres = profile.reindex(_local_hours(baseline)).fillna(profile.mean()).to_numpy()
            added += _from_flow(litres * count / 3600.0, baseline)
        else:
            added += _from_flow(profile.mean() * count / 3600.0, baseline)
    removed = _from_flow(scenario.leak_repaired_l_s, baseline)
    frame = baseline.frame.copy()
    for column in ("yhat", "yhat_lower", "yhat_upper"):
        frame[column] = np.maximum(baseline.frame[column].to_numpy() * factor + added - removed, 0.0)
    return Forecast(frame, baseline.unit, baseline.tz, baseline.freq, {**baseline.meta, "scenario": scenario.name})


@dataclass(frozen=True)
class Comparison:
    baseline_volume_l: float
    scenario_volume_l: float
    baseline_peak_l_s: float
    scenario_peak_l_s: float

    @property
    def volume_change_l(self) -> float:
        return self.scenario_volume_l - self.baseline_volume_l

    @property
    def peak_change_l_s(self) -> float:
        return self.scenario_peak_l_s - self.baseline_peak_l_s

    @property
    def volume_change_pct(self) -> float:
        return 100 * self.volume_change_l / self.baseline_volume_l if self.baseline_volume_l else 0.0


def volume_and_peak(forecast: Forecast) -> tuple[float, float]:
    """Total volume over the horizon (L) and the peak period's mean flow (L/s)."""
    flow = _as_flow(forecast.frame["yhat"].to_numpy(), forecast)
    return float(flow.sum() * SECONDS[forecast.freq]), float(flow.max()) if len(flow) else 0.0


def compare(baseline: Forecast, scenario: Forecast) -> Comparison:
    base_volume, base_peak = volume_and_peak(baseline)
    volume, peak = volume_and_peak(scenario)
    return Comparison(base_volume, volume, base_peak, peak)
