"""Readings to consumption, as pure functions: registers, interval volumes, flow, gaps, local days."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.consumption import (
    RECENT_INTERVALS,
    bucket_volumes,
    derive_intervals,
    hour_boundaries,
    local_day_boundaries,
    typical_intervals,
)
from data.quality import Flag

HOUR_US = 3_600_000_000
T0_US = int(pd.Timestamp("2024-06-01T00:00:00Z").value // 1000)


def us(text: str) -> int:
    """Microseconds since the epoch of an ISO instant with offset."""
    return int(pd.Timestamp(text).tz_convert("UTC").value // 1000)


def window(values, quantity: str = "volume", step_h: float = 1.0, start_us: int = T0_US,
           ts_us: list[int] | None = None, meter_id: str = "m-1", anchor: bool = False,
           register_size_l: float = math.nan, max_flow_l_s: float = 20.0,
           interval_s: float = math.nan) -> pd.DataFrame:
    """Readings of one meter as `derive_intervals` takes them; the first row is an anchor if asked."""
    n = len(values)
    ts = ts_us if ts_us is not None else [start_us + round(i * step_h * HOUR_US) for i in range(n)]
    return pd.DataFrame(
        {
            "meter_id": [meter_id] * n,
            "ts": np.array(ts, dtype="int64"),
            "value": np.array(values, dtype="float64"),
            "is_anchor": [anchor and i == 0 for i in range(n)],
            "quantity": [quantity] * n,
            "register_size_l": [register_size_l] * n,
            "max_flow_l_s": [max_flow_l_s] * n,
            "interval_s": [interval_s] * n,
        }
    )


def volumes(intervals: pd.DataFrame) -> list[float]:
    return [round(v, 9) for v in intervals["volume_l"]]


def has(flags: int, flag: Flag) -> bool:
    return bool(int(flags) & int(flag))


# --- cumulative registers ------------------------------------------------------------------------

def test_steady_register_gives_the_differences():
    out = derive_intervals(window([1000, 1100, 1250, 1250, 1300]))
    assert volumes(out) == [0, 100, 150, 0, 50]
    assert out["flags"].tolist() == [int(Flag.FIRST), 0, 0, 0, 0]
    assert (out["ts_start"].iloc[1:].to_numpy() == out["ts_end"].iloc[:-1].to_numpy()).all()
    assert out["ts_start"].iat[0] == out["ts_end"].iat[0]  # the first reading opens, it closes nothing


def test_register_reset_to_zero_counts_only_what_follows():
    out = derive_intervals(window([5000, 5100, 0, 40, 90]))
    assert volumes(out) == [0, 100, 0, 40, 50]
    assert has(out["flags"].iat[2], Flag.RESET)
    assert out["baseline"].iat[-1] == 90


def test_register_reset_seen_after_some_use_counts_that_use():
    out = derive_intervals(window([5000, 5100, 30, 80]))
    assert volumes(out) == [0, 100, 30, 50]
    assert has(out["flags"].iat[2], Flag.RESET)


def test_rollover_at_a_known_register_size():
    out = derive_intervals(window([99_500, 99_900, 150, 400], register_size_l=100_000))
    assert volumes(out) == [0, 400, 250, 250]
    assert has(out["flags"].iat[2], Flag.ROLLOVER) and not has(out["flags"].iat[2], Flag.RESET)
    assert out["baseline"].tolist() == [99_500, 99_900, 150, 400]


def test_rollover_of_a_smaller_known_register():
    out = derive_intervals(window([9_950, 20, 70], register_size_l=10_000))
    assert volumes(out) == [0, 70, 50]
    assert has(out["flags"].iat[1], Flag.ROLLOVER)


def test_rollover_with_register_size_inferred():
    out = derive_intervals(window([99_900, 99_990, 30, 130]))
    assert volumes(out) == [0, 90, 40, 100]
    assert has(out["flags"].iat[2], Flag.ROLLOVER)


def test_meter_swap_to_a_lower_reading_counts_nothing_for_the_swap():
    out = derive_intervals(window([3_456_000, 3_456_100, 1_200_000, 1_200_080, 1_200_200]))
    assert volumes(out) == [0, 100, 0, 80, 120]
    assert has(out["flags"].iat[2], Flag.RESET)


def test_meter_swap_to_a_higher_reading_is_flagged_and_not_counted():
    out = derive_intervals(window([1_000, 1_100, 5_000_000, 5_000_090, 5_000_200]))
    assert volumes(out) == [0, 100, 0, 90, 110]
    assert has(out["flags"].iat[2], Flag.IMPLAUSIBLE_JUMP)


def test_small_backward_step_is_held_and_not_counted_twice():
    out = derive_intervals(window([1000, 999, 999.5, 1001, 1101]))
    assert volumes(out) == [0, 0, 0, 1, 100]
    assert sum(volumes(out)) == 1101 - 1000
    assert has(out["flags"].iat[1], Flag.BACKFLOW)
    assert out["baseline"].iat[1] == 1000  # the next batch starts from the held value


def test_implausible_jump_is_flagged_and_not_counted():
    # residential: at most 2 L/s, 7200 L in an hour
    out = derive_intervals(window([1000, 1100, 21_100, 21_200], max_flow_l_s=2.0))
    assert volumes(out) == [0, 100, 0, 100]
    assert has(out["flags"].iat[2], Flag.IMPLAUSIBLE_JUMP)
    plausible = derive_intervals(window([1000, 1100, 8_100, 8_200], max_flow_l_s=2.0))
    assert volumes(plausible) == [0, 100, 7000, 100]
    assert not has(plausible["flags"].iat[2], Flag.IMPLAUSIBLE_JUMP)


def test_gap_is_flagged_estimated_and_spread_uniformly_over_the_hours():
    ts = [T0_US, T0_US + HOUR_US, T0_US + 2 * HOUR_US, T0_US + 8 * HOUR_US, T0_US + 9 * HOUR_US]
    out = derive_intervals(window([1000, 1100, 1200, 1800, 1900], ts_us=ts, interval_s=3600))
    assert volumes(out) == [0, 100, 100, 600, 100]
    assert [has(f, Flag.ESTIMATED) for f in out["flags"]] == [False, False, False, True, False]
    hourly = bucket_volumes(out, hour_boundaries(T0_US, ts[-1])).set_index("bucket")
    assert hourly["volume_l"].round(9).tolist() == [100.0] * 9
    estimated = hourly["estimated_l"].round(9)
    assert estimated.tolist() == [0, 0] + [100.0] * 6 + [0]


def test_gap_threshold_follows_the_usual_interval():
    ts = [T0_US + m * 60_000_000 for m in (0, 15, 30, 75, 90)]  # 45 min without a 15-min reading
    fifteen = derive_intervals(window([0, 10, 20, 50, 60], ts_us=ts, interval_s=900))
    assert has(fifteen["flags"].iat[3], Flag.ESTIMATED)
    unknown = derive_intervals(window([0, 10, 20, 50, 60], ts_us=ts))
    assert not has(unknown["flags"].iat[3], Flag.ESTIMATED)  # 2 h when the interval is not known


def _minutes_to_us(minutes) -> np.ndarray:
    return T0_US + np.asarray(minutes, dtype="int64") * 60_000_000


def test_typical_interval_is_the_median_of_the_previous_ones():
    ts = _minutes_to_us([0, 15, 30, 45, 105, 120])
    typical, last = typical_intervals(np.zeros(6, dtype="int64"), ts, [np.empty(0)])
    assert typical[:2].tolist() == [pytest.approx(math.nan, nan_ok=True)] * 2  # nothing to judge by yet
    assert typical[2:].tolist() == [900.0, 900.0, 900.0, 900.0]  # the 60-min gap is judged by what came before
    assert last[0].tolist() == [900.0, 900.0, 900.0, 3600.0, 900.0]


def test_typical_interval_starts_from_the_history_before_the_window():
    ts = _minutes_to_us([0, 60, 75])  # the first row is the anchor: it closes no interval here
    typical, _ = typical_intervals(np.zeros(3, dtype="int64"), ts, [np.array([3600.0] * 3 + [900.0] * 2)])
    assert typical[1] == 3600.0  # judged by the five intervals before the anchor, not four
    assert typical[2] == 3600.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([5, 15, 15, 60, 60, 100, 240]), min_size=1, max_size=20), st.integers(1, 20))
def test_typical_interval_is_the_same_however_the_series_is_split(steps_min, split):
    ts = _minutes_to_us(np.cumsum([0] + steps_min))
    n = len(ts)
    whole, whole_last = typical_intervals(np.zeros(n, dtype="int64"), ts, [np.empty(0)])
    split = min(split, n - 1)
    head, head_last = typical_intervals(np.zeros(split, dtype="int64"), ts[:split], [np.empty(0)])
    history = head_last[0][~np.isnan(head_last[0])]
    assert len(history) == min(split - 1, RECENT_INTERVALS)
    tail, tail_last = typical_intervals(np.zeros(n - split + 1, dtype="int64"), ts[split - 1:], [history])
    np.testing.assert_array_equal(np.concatenate([head, tail[1:]]), whole)
    np.testing.assert_array_equal(tail_last, whole_last)


# --- interval volume and flow ---------------------------------------------------------------------

def test_interval_volume_is_counted_as_reported():
    out = derive_intervals(window([50, 60, 0, 70], quantity="interval_volume"))
    assert volumes(out) == [50, 60, 0, 70]
    assert out["ts_start"].tolist() == [T0_US - HOUR_US, T0_US, T0_US + HOUR_US, T0_US + 2 * HOUR_US]
    assert has(out["flags"].iat[0], Flag.FIRST)


def test_first_interval_volume_spans_the_usual_interval():
    out = derive_intervals(window([5, 6], quantity="interval_volume", step_h=0.25, interval_s=900))
    assert out["ts_start"].iat[0] == T0_US - 900_000_000


def test_interval_volume_beyond_the_meter_is_flagged_not_counted():
    out = derive_intervals(window([50, 60, 500_000, 70], quantity="interval_volume"))
    assert volumes(out) == [50, 60, 0, 70]
    assert has(out["flags"].iat[2], Flag.IMPLAUSIBLE_JUMP)


def test_constant_flow_of_one_litre_per_second_for_an_hour_is_3600_litres():
    out = derive_intervals(window([1.0, 1.0], quantity="flow"))
    assert volumes(out) == [0, 3600]


def test_flow_is_integrated_by_the_trapezoid_rule():
    out = derive_intervals(window([0.0, 2.0, 2.0, 0.0], quantity="flow", step_h=0.5))
    assert volumes(out) == [0, 1800, 3600, 1800]


def test_reverse_flow_counts_no_consumption_and_is_flagged_backflow():
    out = derive_intervals(window([1.0, 1.0, -1.0, -1.0, 1.0], quantity="flow"))
    assert volumes(out) == [0, 3600, 900, 0, 900]
    assert [has(f, Flag.BACKFLOW) for f in out["flags"]] == [False, False, True, True, True]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-50, 50, allow_nan=False), min_size=2, max_size=30))
def test_flow_consumption_is_the_forward_part_of_the_line_through_the_readings(rates):
    out = derive_intervals(window(rates, quantity="flow", step_h=0.25, max_flow_l_s=100.0))
    expected = []
    for a, b in zip(rates[:-1], rates[1:]):
        crossing = [a / (a - b)] if a * b < 0 else []
        t = np.array([0.0, *crossing, 1.0])
        expected.append(np.trapezoid(np.clip(a + (b - a) * t, 0, None), t * 900))
    assert (out["volume_l"] >= 0).all()
    assert out["volume_l"].iloc[1:].to_numpy() == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_flow_above_the_meter_maximum_is_flagged_not_counted():
    out = derive_intervals(window([1.0, 1.0, 50.0, 1.0], quantity="flow", max_flow_l_s=20.0))
    assert volumes(out)[:2] == [0, 3600]
    assert volumes(out)[2] == 0 and has(out["flags"].iat[2], Flag.IMPLAUSIBLE_JUMP)


# --- anchors: state carried between batches --------------------------------------------------------

def _in_two_batches(values, split: int, **kwargs) -> pd.DataFrame:
    whole = window(values, **kwargs)
    first = derive_intervals(whole.iloc[:split].reset_index(drop=True))
    second_window = whole.iloc[split - 1:].reset_index(drop=True)
    second_window.loc[0, "value"] = first["baseline"].iat[-1]
    second_window.loc[0, "is_anchor"] = True
    second = derive_intervals(second_window)
    return pd.concat([first, second], ignore_index=True)


@pytest.mark.parametrize("split", [1, 2, 3, 4, 5, 6])
def test_anchor_carries_register_state_between_batches(split):
    values = [99_800, 99_700.5, 99_900, 30, 0, 5, 4.5, 80]
    whole = derive_intervals(window(values, register_size_l=100_000))
    batched = _in_two_batches(values, split, register_size_l=100_000)
    assert volumes(batched) == volumes(whole)
    assert batched["flags"].tolist() == whole["flags"].tolist()
    assert batched["baseline"].tolist() == whole["baseline"].tolist()


def test_anchor_row_produces_no_interval():
    out = derive_intervals(window([1000, 1100, 1200], anchor=True))
    assert volumes(out) == [100, 100]
    assert not any(has(f, Flag.FIRST) for f in out["flags"])


def test_anchor_of_an_interval_volume_meter_is_not_counted_again():
    out = derive_intervals(window([40, 50, 60], quantity="interval_volume", anchor=True))
    assert volumes(out) == [50, 60]
    assert out["ts_start"].tolist() == [T0_US, T0_US + HOUR_US]


def test_several_meters_in_one_window_do_not_leak_into_each_other():
    frame = pd.concat([window([100, 200, 300], meter_id="a"), window([50_000, 10, 20], meter_id="b")],
                      ignore_index=True)
    out = derive_intervals(frame)
    assert out.groupby("meter_id")["volume_l"].sum().to_dict() == {"a": 200.0, "b": 20.0}


REGISTER_VALUES = st.lists(
    st.one_of(st.floats(0, 1e6, allow_nan=False), st.floats(0, 200), st.sampled_from([0.0, 99_999.0, 999_999.0])),
    min_size=1, max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(REGISTER_VALUES, st.sampled_from([math.nan, 100_000.0, 1_000_000.0]),
       st.lists(st.floats(0.01, 48), min_size=30, max_size=30), st.sampled_from([2.0, 20.0, 2000.0]))
def test_register_never_gives_negative_or_impossible_consumption(values, size, steps_h, max_flow):
    ts = (T0_US + np.cumsum([0] + [round(h * HOUR_US) for h in steps_h[: len(values) - 1]])).tolist()
    out = derive_intervals(window(values, ts_us=ts, register_size_l=size, max_flow_l_s=max_flow))
    assert len(out) == len(values)
    assert np.isfinite(out["volume_l"]).all()
    assert (out["volume_l"] >= 0).all()
    span_s = (out["ts_end"] - out["ts_start"]) / 1e6
    assert (out["volume_l"] <= max_flow * np.maximum(span_s, 300) + 1e-6).all()  # never beyond the meter


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 5000), min_size=2, max_size=25), st.integers(1, 24))
def test_rising_register_total_is_last_minus_first_however_it_is_split(steps, split):
    values = np.cumsum([10_000.0] + steps).tolist()
    whole = derive_intervals(window(values))
    assert whole["volume_l"].sum() == pytest.approx(values[-1] - values[0], rel=1e-9, abs=1e-6)
    split = min(split, len(values) - 1)
    batched = _in_two_batches(values, split)
    assert batched["volume_l"].sum() == pytest.approx(whole["volume_l"].sum(), rel=1e-9, abs=1e-6)


# --- buckets: hours and local days ---------------------------------------------------------------

def test_bucket_volumes_divide_in_proportion_to_time():
    intervals = pd.DataFrame({"meter_id": ["m"], "ts_start": [T0_US + HOUR_US // 2],
                              "ts_end": [T0_US + 3 * HOUR_US], "volume_l": [250.0], "flags": [0]})
    pieces = bucket_volumes(intervals, hour_boundaries(T0_US, T0_US + 3 * HOUR_US))
    assert pieces["bucket"].tolist() == [T0_US, T0_US + HOUR_US, T0_US + 2 * HOUR_US]
    assert pieces["volume_l"].tolist() == pytest.approx([50.0, 100.0, 100.0])
    assert pieces["estimated_l"].tolist() == [0.0, 0.0, 0.0]


def test_zero_length_intervals_carry_nothing():
    intervals = pd.DataFrame({"meter_id": ["m"], "ts_start": [T0_US], "ts_end": [T0_US], "volume_l": [0.0],
                              "flags": [int(Flag.FIRST)]})
    assert bucket_volumes(intervals, hour_boundaries(T0_US, T0_US)).empty


def test_buckets_that_do_not_cover_are_an_error():
    intervals = pd.DataFrame({"meter_id": ["m"], "ts_start": [T0_US], "ts_end": [T0_US + 5 * HOUR_US],
                              "volume_l": [1.0], "flags": [0]})
    with pytest.raises(ValueError, match="do not cover"):
        bucket_volumes(intervals, hour_boundaries(T0_US, T0_US + HOUR_US)[:3])


def _local_day_totals(start: str, end: str, tz: str, litres_per_hour: float = 100.0) -> dict[str, float]:
    """Daily totals on the local calendar of a register read every UTC hour at a constant rate."""
    hours = int((us(end) - us(start)) // HOUR_US)
    values = [10_000 + litres_per_hour * i for i in range(hours + 1)]
    intervals = derive_intervals(window(values, start_us=us(start)))
    days = bucket_volumes(intervals, local_day_boundaries(us(start), us(end), tz))
    local = pd.to_datetime(days["bucket"], unit="us", utc=True).dt.tz_convert(tz).dt.strftime("%Y-%m-%d")
    return dict(zip(local, days["volume_l"].round(6)))


def test_spring_forward_day_in_rome_has_23_hours():
    midnights = local_day_boundaries(us("2024-03-30T12:00:00Z"), us("2024-04-01T12:00:00Z"), "Europe/Rome")
    hours = np.diff(midnights) / HOUR_US
    starts = pd.to_datetime(midnights[:-1], unit="us", utc=True).tz_convert("Europe/Rome").strftime("%Y-%m-%d")
    assert dict(zip(starts, hours))["2024-03-31"] == 23
    totals = _local_day_totals("2024-03-29T23:00:00Z", "2024-04-01T22:00:00Z", "Europe/Rome")
    assert totals["2024-03-30"] == 2400.0
    assert totals["2024-03-31"] == 2300.0
    assert totals["2024-04-01"] == 2400.0


def test_fall_back_day_in_rome_has_25_hours():
    totals = _local_day_totals("2024-10-25T22:00:00Z", "2024-10-28T23:00:00Z", "Europe/Rome")
    assert totals["2024-10-26"] == 2400.0
    assert totals["2024-10-27"] == 2500.0
    assert totals["2024-10-28"] == 2400.0


def test_day_boundary_of_a_half_hour_offset_zone():
    midnights = local_day_boundaries(us("2024-06-01T00:00:00Z"), us("2024-06-02T00:00:00Z"), "Asia/Kolkata")
    assert us("2024-05-31T18:30:00Z") in midnights and us("2024-06-01T18:30:00Z") in midnights
    straddling = pd.DataFrame({"meter_id": ["m"], "ts_start": [us("2024-06-01T18:00:00Z")],
                               "ts_end": [us("2024-06-01T19:00:00Z")], "volume_l": [100.0], "flags": [0]})
    days = bucket_volumes(straddling, midnights)
    assert dict(zip(days["bucket"], days["volume_l"])) == {
        us("2024-05-31T18:30:00Z"): pytest.approx(50.0),
        us("2024-06-01T18:30:00Z"): pytest.approx(50.0),
    }
    totals = _local_day_totals("2024-05-31T18:00:00Z", "2024-06-02T19:00:00Z", "Asia/Kolkata")
    assert totals["2024-06-01"] == 2400.0


@pytest.mark.parametrize("tz", ["UTC", "Europe/Rome", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe",
                                "America/Santiago", "America/Havana"])
def test_local_days_start_at_the_first_instant_of_each_local_date(tz):
    start, end = us("2024-01-01T00:00:00Z"), us("2024-12-31T00:00:00Z")
    midnights = local_day_boundaries(start, end, tz)
    assert midnights[0] <= start and midnights[-1] > end
    assert set(np.diff(midnights) / HOUR_US) <= {23.0, 23.5, 24.0, 24.5, 25.0}
    dates = pd.to_datetime(midnights, unit="us", utc=True).tz_convert(tz).date
    assert (np.diff(dates.astype("datetime64[D]")) == np.timedelta64(1, "D")).all()
    just_before = pd.to_datetime(midnights - 1, unit="us", utc=True).tz_convert(tz).date
    assert (just_before.astype("datetime64[D]") == dates.astype("datetime64[D]") - 1).all()


def test_hour_boundaries_cover_the_span():
    bounds = hour_boundaries(T0_US + 10, T0_US + 2 * HOUR_US + 5)
    assert bounds[0] == T0_US and bounds[-1] >= T0_US + 3 * HOUR_US
    assert (np.diff(bounds) == HOUR_US).all()
