"""Fitted forecasts on disk, keyed by series, a fingerprint of its values and the weather's, horizon, settings
and model version.

Each entry is the Prophet model (`prophet.serialize.model_to_json`) and the forecast
it produced with the regressor coefficients scenarios need (JSON), so the page and
the CLI answer a repeated question without refitting. Any change to the history makes
a new key: new data, and also history rewritten behind the newest reading (a meter
moved to another zone, an import of older files, a quarantine replay). A hit reads
only the forecast: rebuilding a Prophet object from JSON takes ~2 s, longer than the
fit, so `ModelCache.model` loads it on demand.
"""

from __future__ import annotations

import hashlib
import json
from io import StringIO
from pathlib import Path

import pandas as pd

from forecasting.model import MODEL_VERSION, Forecast, ForecastConfig, forecast
from forecasting.series import DemandSeries


def fingerprint(frame: pd.Series | pd.DataFrame | None) -> str:
    """A digest of every value and timestamp (about a millisecond for a year of hours)."""
    if frame is None or frame.empty:
        return "none"
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()).hexdigest()[:16]


def cache_key(series: DemandSeries, horizon: int, weather: pd.DataFrame, config: ForecastConfig) -> str:
    parts = [series.key.kind, series.key.ident, series.freq, series.unit, fingerprint(series.values),
             str(horizon), fingerprint(weather), config.key(), MODEL_VERSION]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


class ModelCache:
    """A directory of fitted forecasts."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.directory / f"{key}.forecast.json", self.directory / f"{key}.prophet.json"

    def get(self, key: str) -> Forecast | None:
        frame_path, _ = self._paths(key)
        if not frame_path.exists():
            return None
        try:
            document = json.loads(frame_path.read_text())
            frame = pd.read_json(StringIO(document["frame"]), orient="split")
        except (OSError, ValueError, KeyError):
            return None
        frame.index = pd.DatetimeIndex(frame.index).as_unit("ns")
        meta = document["meta"]
        meta["origin"] = pd.Timestamp(meta["origin"])
        return Forecast(frame, document["unit"], document["tz"], document["freq"], meta)

    def model(self, key: str):
        """The cached Prophet model (loading it costs ~2 s: only for inspecting components, never per request)."""
        _, model_path = self._paths(key)
        if not model_path.exists():
            return None
        from prophet.serialize import model_from_json
        return model_from_json(model_path.read_text())

    def put(self, key: str, result: Forecast) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        frame_path, model_path = self._paths(key)
        meta = {**result.meta, "origin": str(result.meta["origin"])}
        document = {"frame": result.frame.to_json(orient="split", date_format="iso"), "unit": result.unit,
                    "tz": result.tz, "freq": result.freq, "meta": meta}
        if result.model is not None:
            from prophet.serialize import model_to_json
            model_path.write_text(model_to_json(result.model))
        temporary = frame_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document, default=str))
        temporary.replace(frame_path)

    def forecast(self, series: DemandSeries, horizon: int, weather: pd.DataFrame, config: ForecastConfig) -> Forecast:
        key = cache_key(series, horizon, weather, config)
        hit = self.get(key)
        if hit is not None:
            hit.meta["cached"] = True
            return hit
        result = forecast(series, horizon, weather, config)
        self.put(key, result)
        result.meta["cached"] = False
        return result
