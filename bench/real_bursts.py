"""Bursts added to real DMA inflows: `python -m bench.real_bursts [--shares 0.1,0.2,0.4] [--hours 6] [--ramp-hours 0] [--seed 0]`.

The simulated city says how the rules do on the simulator's noise; this says how they do on
a utility's. It imports the real BWDF inflows (ten Italian DMAs, hourly, 2021-01 to 2022-07)
twice into scratch stores: as they are, where every event the rules raise is an alarm on
data with no known leak (some may be real: the data carry no labels), and with bursts added,
where it scores each burst as `evaluate-detection` does (an event on that DMA overlapping the
burst or the 6 h after; delay = `raised_at` minus the burst's start).

Bursts: in every DMA, one every seven weeks or so from 2021-03-15 (a random hour), each a
step of a share of that DMA's mean flow (the shares taken in turn) held for ``--hours``. With
``--hours 336`` they are new leaks that run two weeks until found and mended; with ``--ramp-hours``
each grows evenly to its size over that time first, as an incipient leak does.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from bench.scratch_store import MONTH, imported_store

INFLOW = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bwdf2024" / \
    "dma_inflow_2021-01-01_2022-07-24.csv"
TZ = "Europe/Rome"
SCAN = ("2021-02-12", "2022-07-24")   # after four weeks of training
GRACE = pd.Timedelta(hours=6)


def add_bursts(inflow: pd.DataFrame, shares: list[float], hours: float, seed: int,
               ramp_hours: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The wide inflow file with steps added, and the bursts (meter_id, start and end in naive UTC, share, L/s)."""
    rng = np.random.default_rng(seed)
    inflow = inflow.copy()
    local = pd.to_datetime(inflow["timestamp_local"])
    bursts = []
    for column in (c for c in inflow.columns if c.startswith("DMA_")):
        size_of = inflow[column].mean()
        at, k = pd.Timestamp("2021-03-15") + pd.Timedelta(hours=int(rng.integers(0, 24 * 14))), 0
        while at < local.max() - pd.Timedelta(days=14):
            held = (local >= at) & (local < at + pd.Timedelta(hours=hours))
            if inflow.loc[held, column].notna().sum() >= 0.75 * hours:
                share = shares[k % len(shares)]
                grown = ((local[held] - at) / pd.Timedelta(hours=ramp_hours)).clip(upper=1) if ramp_hours else 1.0
                inflow.loc[held, column] += share * size_of * grown
                bursts.append({"meter_id": column.removesuffix("_l_per_s"), "start_local": at, "share": share,
                               "size_l_s": share * size_of})
                k += 1
            at += pd.Timedelta(days=49) + pd.Timedelta(hours=int(rng.integers(-24 * 7, 24 * 7)))
    bursts = pd.DataFrame(bursts)
    bursts["start"] = bursts["start_local"].dt.tz_localize(TZ, nonexistent="shift_forward", ambiguous=False) \
        .dt.tz_convert("UTC").dt.tz_localize(None)
    bursts["end"] = bursts["start"] + pd.Timedelta(hours=hours)
    return inflow, bursts


def scan(inflow: pd.DataFrame, folder: Path, name: str) -> tuple[pd.DataFrame, float]:
    """Import the wide file into a fresh store and run every rule over the scanned span; (events, meter-months)."""
    from data.import_spec import PRESETS
    from detection.scan import RULES, scan_range

    db = imported_store(inflow, folder, name, PRESETS["bwdf-inflow"])
    meters = [c.removesuffix("_l_per_s") for c in inflow.columns if c.startswith("DMA_")]
    with duckdb.connect(str(db), read_only=True) as conn:
        events = scan_range(conn.cursor(), meters, *SCAN, detectors=RULES, internal=True)
    months = len(meters) * (pd.Timestamp(SCAN[1]) - pd.Timestamp(SCAN[0])) / MONTH
    return events, months


def score(events: pd.DataFrame, bursts: pd.DataFrame) -> pd.DataFrame:
    """Per share: bursts, found by the burst rule (median delay), found by any rule but silent_meter (median delay)."""
    rows = []
    for burst in bursts.itertuples():
        near = events[(events["meter_id"] == burst.meter_id) & (events["start"] <= burst.end + GRACE)
                      & (events["end"] >= burst.start) & (events["detector"] != "silent_meter")]
        by_burst = near[near["detector"] == "burst"]
        rows.append({"share": burst.share, "burst_rule": len(by_burst) > 0, "any_rule": len(near) > 0,
                     "delay_h": (by_burst["raised_at"].min() - burst.start) / pd.Timedelta(hours=1),
                     "any_delay_h": (near["raised_at"].min() - burst.start) / pd.Timedelta(hours=1)})
    found = pd.DataFrame(rows)
    return found.groupby("share").agg(bursts=("burst_rule", "size"), burst_rule=("burst_rule", "sum"),
                                      median_delay_h=("delay_h", "median"), any_rule=("any_rule", "sum"),
                                      any_median_delay_h=("any_delay_h", "median"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inflow", type=Path, default=INFLOW, help="BWDF DMA inflow CSV")
    parser.add_argument("--shares", default="0.1,0.2,0.4", help="burst sizes as shares of each DMA's mean flow")
    parser.add_argument("--hours", type=float, default=6.0, help="how long each burst runs")
    parser.add_argument("--ramp-hours", type=float, default=0.0, help="each burst grows to its size over this time")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    inflow = pd.read_csv(args.inflow)
    with_bursts, bursts = add_bursts(inflow, [float(s) for s in args.shares.split(",")], args.hours, args.seed,
                                     args.ramp_hours)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        untouched, months = scan(inflow, Path(folder), "untouched")
        events, _ = scan(with_bursts, Path(folder), "bursts")
        seconds = time.perf_counter() - started
    alarms = untouched.groupby(["detector", "severity"]).size().rename("events").to_frame()
    alarms["per_100_meter_months"] = (100 * alarms["events"] / months).round(1)
    print(f"Real inflows as they are: {months:.0f} meter-months, events by rule (no labels: alarms, some may be real)")
    print(alarms.to_string())
    grows = f", each grown over {args.ramp_hours:g} h" if args.ramp_hours else ""
    print(f"\n{len(bursts)} bursts of {args.hours:g} h added{grows} (seed {args.seed}); found:")
    print(score(events, bursts).to_string())
    print(f"\n{seconds:.0f} s")


if __name__ == "__main__":
    main()
