"""From simulated values to readings as devices report them, with the quirks of real delivery.

Customer meters report their register at the end of each 15-minute or hourly
interval, through their zone's gateway, a few seconds to a minute and a half
later; a meter counts its transmissions (``seq``). A few readings are lost on
the way (a gap in ``seq``), a few are retransmitted hours later, after newer
ones (out of order, and late), and while a gateway is offline its meters'
readings wait and arrive together when it returns (late, in order). Sensors
report every 15 minutes through SCADA, the weather station on its own; they
count their transmissions too.
The result is one frame in the shape `data.validation.validate_frame` takes,
sorted by arrival time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.network import STEP_S

READING_FRAME_COLUMNS = ["meter_id", "ts", "quantity", "value", "unit", "seq", "source", "received_at"]
TEXT_COLUMNS = ("meter_id", "quantity", "unit", "source")


@dataclass(frozen=True)
class Vocabulary:
    """Categorical types for the text columns of a city's readings: free to build, concatenate
    and hand to `validate_frame`, where a column of Python strings costs a conversion per period."""

    meter_id: pd.CategoricalDtype
    quantity: pd.CategoricalDtype
    unit: pd.CategoricalDtype
    source: pd.CategoricalDtype

    @classmethod
    def of(cls, customers: pd.DataFrame, sensors: pd.DataFrame) -> Vocabulary:
        def dtype(*columns: pd.Series | list[str]) -> pd.CategoricalDtype:
            values = pd.unique(np.concatenate([np.asarray(c, dtype=object) for c in columns]))
            return pd.CategoricalDtype(pd.Index(values, dtype=object))
        return cls(dtype(customers["meter_id"], sensors["meter_id"]), dtype(["volume"], sensors["quantity"]),
                   dtype(["L", "m3"], sensors["unit"]), dtype(customers["gateway"], sensors["gateway"]))

    def codes(self, column: str, values: object) -> np.ndarray:
        return getattr(self, column).categories.get_indexer(np.asarray(values, dtype=object))

    def column(self, column: str, codes: np.ndarray) -> pd.Categorical:
        return pd.Categorical.from_codes(codes, dtype=getattr(self, column))


@dataclass(frozen=True)
class DeliveryConfig:
    delay_s: tuple[float, float] = (2.0, 90.0)
    sensor_delay_s: tuple[float, float] = (1.0, 10.0)
    lost_share: float = 0.001
    out_of_order_share: float = 0.001
    out_of_order_delay_h: tuple[float, float] = (1.0, 6.0)


def displayed_register(registers_l: np.ndarray, register_size_l: np.ndarray) -> np.ndarray:
    """What the meter shows: whole litres, wrapped at the register size."""
    return np.mod(np.floor(registers_l), register_size_l)


def customer_readings(
    times: np.ndarray,
    registers_l: np.ndarray,
    customers: pd.DataFrame,
    silent: np.ndarray,
    outages: pd.DataFrame,
    seq_start: np.ndarray,
    config: DeliveryConfig,
    rng: np.random.Generator,
    vocabulary: Vocabulary,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Register readings delivered in a period, and each meter's last ``seq`` after it."""
    ts_end = np.asarray(times, dtype="datetime64[s]") + np.timedelta64(STEP_S, "s")
    on_the_hour = ts_end.astype("int64") % 3600 == 0
    reports = (customers["interval_s"].to_numpy() == STEP_S)[None, :] | on_the_hour[:, None]
    sending = reports & ~silent
    seq = seq_start[None, :] + np.cumsum(sending, axis=0)
    delivered = sending & (rng.random(sending.shape) >= config.lost_share)
    step, meter = np.nonzero(delivered)

    shown = displayed_register(registers_l[step, meter], customers["register_size_l"].to_numpy()[meter])
    in_m3 = customers["unit"].to_numpy(dtype=object)[meter] == "m3"
    value = np.where(in_m3, np.round(shown / 1000.0, 3), shown)
    ts = ts_end[step]
    delay = rng.uniform(*config.delay_s, len(step))
    retransmitted = rng.random(len(step)) < config.out_of_order_share
    delay = delay + np.where(retransmitted, rng.uniform(*config.out_of_order_delay_h, len(step)) * 3600, 0.0)
    received = ts + (delay * 1e6).astype("timedelta64[us]")
    gateway = customers["gateway"].to_numpy(dtype=object)[meter]
    for o in outages.itertuples():
        held = (gateway == o.asset) & (ts >= o.start) & (ts < o.end)
        back = np.datetime64(o.end, "us") + (rng.uniform(0, 300, int(held.sum())) * 1e6).astype("timedelta64[us]")
        received[held] = np.maximum(received[held], back)
    frame = pd.DataFrame({
        "meter_id": vocabulary.column("meter_id", vocabulary.codes("meter_id", customers["meter_id"])[meter]),
        "ts": ts,
        "quantity": vocabulary.column("quantity", np.full(len(meter), vocabulary.codes("quantity", ["volume"])[0])),
        "value": value,
        "unit": vocabulary.column("unit", vocabulary.codes("unit", customers["unit"])[meter]),
        "seq": seq[step, meter],
        "source": vocabulary.column("source", vocabulary.codes("source", customers["gateway"])[meter]),
        "received_at": received,
    })
    return frame, seq[-1] if len(seq) else seq_start


def sensor_readings(times: np.ndarray, reported: np.ndarray, sensors: pd.DataFrame, seq_start: np.ndarray,
                    config: DeliveryConfig, rng: np.random.Generator, vocabulary: Vocabulary
                    ) -> tuple[pd.DataFrame, np.ndarray]:
    """Sensor and weather readings (NaN in ``reported`` = no reading), stamped at the step start,
    and each sensor's last ``seq`` after them."""
    sending = ~np.isnan(reported)
    seq = seq_start[None, :] + np.cumsum(sending, axis=0)
    step, column = np.nonzero(sending)
    resolution = sensors["resolution"].to_numpy()[column]
    value = np.round(reported[step, column] / resolution) * resolution
    ts = np.asarray(times, dtype="datetime64[s]")[step]
    delay = rng.uniform(*config.sensor_delay_s, len(step))
    frame = pd.DataFrame({
        **{name: vocabulary.column(name, vocabulary.codes(name, sensors[sensor_column])[column])
           for name, sensor_column in (("meter_id", "meter_id"), ("quantity", "quantity"), ("unit", "unit"))},
        "ts": ts,
        "value": np.round(value, 6),
        "seq": seq[step, column],
        "source": vocabulary.column("source", vocabulary.codes("source", sensors["gateway"])[column]),
        "received_at": ts + (delay * 1e6).astype("timedelta64[us]"),
    })
    return frame, seq[-1] if len(seq) else seq_start


def by_arrival(*frames: pd.DataFrame) -> pd.DataFrame:
    """Readings of several frames in the order they arrive."""
    frame = pd.concat(frames, ignore_index=True)[READING_FRAME_COLUMNS]
    order = np.argsort(frame["received_at"].to_numpy(), kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    frame["ts"] = pd.DatetimeIndex(frame["ts"].to_numpy(dtype="datetime64[us]")).tz_localize("UTC")
    frame["received_at"] = pd.DatetimeIndex(frame["received_at"].to_numpy(dtype="datetime64[us]")).tz_localize("UTC")
    frame["seq"] = pd.array(frame["seq"].to_numpy(dtype="int64"), dtype="Int64")
    return frame
