"""Leaks added to real household registers: `python -m bench.real_household_leaks [--seed 0]`.

The simulated city's households are the simulator's; these are real ones (DAIAD trial A:
89 households, hourly registers, March to May 2017). It imports the file twice into
scratch stores: as it is, where every customer-leak event is an alarm on data with no
known leak (some may be real: the data carry no labels), and with one leak added to each
household's register from a random hour at least five weeks into its data (four weeks of
training and one of scanning before it) until the end: a running toilet (30-120 L/h) or a
dripping tap (2-10 L/h), in turn. A leak is found by a customer-leak event on its meter that
overlaps it and was raised after it began; delay = `raised_at` minus the leak's start.
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

DAIAD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "daiad" / "swm_trialA_extended.csv.gz"
TZ = "Europe/Athens"
LEAKS = {"running_toilet": (30.0, 120.0), "dripping_tap": (2.0, 10.0)}
CUSTOMER_DETECTORS = ("continuous_flow", "silent_meter")   # continuous_flow runs steady_trickle too
TRAINING = pd.Timedelta(days=28)


def add_leaks(raw: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The DAIAD rows with a leak added to each household's register, and the leaks (meter, kind, L/h, start UTC)."""
    rng = np.random.default_rng(seed)
    raw = raw.copy()
    local = pd.to_datetime(raw["V2"], format="%d/%m/%Y %H:%M:%S")
    leaks = []
    for k, (meter, rows) in enumerate(local.groupby(raw["V1"], sort=True)):
        first, last = rows.min(), rows.max()
        earliest, latest = first + TRAINING + pd.Timedelta(days=7), last - pd.Timedelta(days=3)
        if latest <= earliest:
            continue
        start = (earliest + (latest - earliest) * rng.random()).floor("h") + pd.Timedelta(minutes=30)
        kind = list(LEAKS)[k % len(LEAKS)]
        rate = float(rng.uniform(*LEAKS[kind]))
        hours = ((rows - start) / pd.Timedelta(hours=1)).clip(lower=0)
        raw.loc[rows.index, "V3"] = (raw.loc[rows.index, "V3"] + rate * hours).round().astype("int64")
        leaks.append({"meter_id": meter, "kind": kind, "l_per_h": rate, "start_local": start})
    leaks = pd.DataFrame(leaks)
    leaks["start"] = leaks["start_local"].dt.tz_localize(TZ).dt.tz_convert("UTC").dt.tz_localize(None)
    return raw, leaks


def scan(raw: pd.DataFrame, folder: Path, name: str) -> tuple[pd.DataFrame, float]:
    """Import the rows into a fresh store and run the customer-leak rules; (events, meter-months scanned)."""
    from data.import_spec import PRESETS
    from detection.scan import scan_range

    db = imported_store(raw, folder, name, PRESETS["daiad"].with_options(tz=TZ, zone="daiad"), sep=";")
    with duckdb.connect(str(db), read_only=True) as conn:
        first, last = conn.execute("SELECT min(ts), max(ts) FROM readings").fetchone()
        start = pd.Timestamp(first).floor("D") + TRAINING
        events = scan_range(conn.cursor(), "daiad", start, pd.Timestamp(last).ceil("D"),
                            detectors=CUSTOMER_DETECTORS, internal=True)
    months = raw["V1"].nunique() * (pd.Timestamp(last).ceil("D") - start) / MONTH
    return events[events["kind"] == "continuous_flow"], months


def score(events: pd.DataFrame, leaks: pd.DataFrame) -> pd.DataFrame:
    """Per leak kind: leaks, found, median and p90 delay, found under 6 h."""
    delays = []
    for leak in leaks.itertuples():
        found = events[(events["meter_id"] == leak.meter_id) & (events["end"] >= leak.start)
                       & (events["raised_at"] >= leak.start)]
        delays.append((found["raised_at"].min() - leak.start) / pd.Timedelta(hours=1) if len(found) else np.nan)
    scored = leaks.assign(delay_h=delays)
    return scored.groupby("kind").agg(
        leaks=("delay_h", "size"), found=("delay_h", "count"), median_delay_h=("delay_h", "median"),
        p90_delay_h=("delay_h", lambda d: d.quantile(0.9)), under_6_h=("delay_h", lambda d: int((d < 6).sum())))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--daiad", type=Path, default=DAIAD, help="DAIAD trial A CSV (gzip)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    raw = pd.read_csv(args.daiad, sep=";")
    leaky, leaks = add_leaks(raw, args.seed)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        untouched, months = scan(raw, Path(folder), "untouched")
        events, _ = scan(leaky, Path(folder), "leaks")
        seconds = time.perf_counter() - started
    print(f"Real households as they are: {months:.0f} meter-months scanned, {len(untouched)} customer-leak events "
          f"({100 * len(untouched) / months:.1f} per 100 meter-months; no labels: some may be real)")
    print(untouched.groupby("detector").size().to_string())
    print(f"\n{len(leaks)} leaks added (seed {args.seed}), one per household:")
    scored = score(events, leaks)
    print(scored.round(2).to_string())
    all_delays = score(events, leaks.assign(kind="all"))
    print(all_delays.round(2).to_string(header=False))
    print(f"\n{seconds:.0f} s")


if __name__ == "__main__":
    main()
