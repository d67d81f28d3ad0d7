"""A year of a SCADA-sized network through import and detect: `python -m bench.scada_year [--days 365]`.

Utilities and leak benchmarks (BattLeDIM's L-Town is the best known) export a year of 5-minute
SCADA data as wide CSV files with `;` separators and decimal commas: a few flows in m3/h, a few
dozen pressures in metres of head, and household demands in L/h. This bench writes files of that
shape (synthetic: the shape and size are the point, not the hydraulics), imports them with the
product's own command as a user would, runs `detect` over the zone, and prints the wall time and
peak memory of each step. One leak is added (6 m3/h from mid-June, 3 % of the mean inflow): the
events on the flows and pressures after it are listed, found or not.

Demand has morning and evening peaks, a slow seasonal swing, and weekends a tenth lower in the day
but not at night: on the real BWDF districts the night minimum moves less than 2.5 % with the day of
the week in eight of ten districts (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

LEAK_M3_H = 6.0
START = pd.Timestamp("2018-01-01")


def write_files(folder: Path, days: int, pressures: int, customers: int, seed: int = 0) -> pd.Timestamp:
    """The SCADA and demand files; returns when the leak starts."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range(START, periods=days * 288, freq="5min")
    hour = np.asarray(stamps.hour + stamps.minute / 60)
    peaks = 0.9 * np.exp(-((hour - 7.5) ** 2) / 3) + 0.7 * np.exp(-((hour - 20) ** 2) / 4)
    weekend = np.asarray(stamps.day_of_week >= 5)
    demand = (0.5 + peaks * np.where(weekend, 0.9, 1.0)) * (1 + 0.1 * np.sin(2 * np.pi * np.arange(len(stamps))
                                                                              / (288 * 365)))
    leak_from = START + pd.Timedelta(days=int(days * 0.45), hours=14, minutes=35)
    leak = np.where(stamps >= leak_from, LEAK_M3_H, 0.0)
    scada = {"Timestamp": stamps.strftime("%Y-%m-%d %H:%M")}
    for name, share in (("PUMP_1", 1.0), ("p227", 0.35), ("p235", 0.25)):
        scada[name] = 200 * share * demand + rng.normal(0, 1.5, len(stamps)) + (leak if name == "PUMP_1" else 0)
    for k in range(pressures):
        scada[f"n{7 * k + 1}"] = 45 + 10 * rng.random() - 6 * demand ** 2 - 0.002 * (k + 1) * leak + \
            rng.normal(0, 0.05, len(stamps))
    pd.DataFrame(scada).round(2).to_csv(folder / "SCADA.csv", sep=";", decimal=",", index=False)
    homes = {"Timestamp": scada["Timestamp"]}
    for k in range(customers):
        homes[f"n{5 * k + 2}"] = rng.gamma(0.6, 40, len(stamps)) * demand
    pd.DataFrame(homes).round(2).to_csv(folder / "Demands.csv", sep=";", decimal=",", index=False)
    return leak_from


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one product command (its stderr shown if it fails)."""
    with tempfile.TemporaryFile("w+") as errors:   # a file, not a pipe: a chatty child cannot fill it and stall
        began = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - began
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise SystemExit(f"{' '.join(command)} failed:\n{errors.read()}")
    return seconds, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--pressures", type=int, default=33)
    parser.add_argument("--customers", type=int, default=82)
    parser.add_argument("--keep", type=Path, help="Write the files and the store here and keep them.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / "scada.duckdb"
        db.unlink(missing_ok=True)
        began = time.perf_counter()
        leak_from = write_files(folder, args.days, args.pressures, args.customers)
        print(f"files written in {time.perf_counter() - began:.0f} s: {args.days} days at 5 min, 3 flows, "
              f"{args.pressures} pressures, {args.customers} household demands; leak from {leak_from}")
        cli = [sys.executable, "-m", "dashapp"]
        common = ["--decimal", ",", "--tz", "UTC", "--zone", "net", "--db", str(db), "--no-progress"]
        steps = {
            "import SCADA": cli + ["import", str(folder / "SCADA.csv"), *common, "--category", "sensor",
                                   "--map-regex", r"(PUMP_\d+|p\d+)={1}:flow:m3/h",
                                   "--map-regex", r"(n\d+)=P-{1}:pressure:m"],
            "import demands": cli + ["import", str(folder / "Demands.csv"), *common, "--category", "residential",
                                     "--map-regex", r"(n\d+)=AMR-{1}:flow:L/h"],
            "detect": cli + ["detect", "--zone", "net", "--start", str(START + pd.Timedelta(days=28)),
                             "--end", str(START + pd.Timedelta(days=args.days)), "--db", str(db),
                             "--no-progress", "--out", str(folder / "events.csv")],
        }
        print("| step | seconds | peak MB |\n|---|---:|---:|")
        for name, command in steps.items():
            seconds, peak_mb = timed(command)
            print(f"| {name} | {seconds:.1f} | {peak_mb:,.0f} |")
        events = pd.read_csv(folder / "events.csv", parse_dates=["start", "raised_at"])
        print("\nevents by kind:", events.groupby("kind").size().to_dict() if len(events) else "none")
        network = events[~events["meter_id"].str.startswith("AMR-") & (events["raised_at"] >= leak_from)]
        print(f"events on the network from the leak on: {len(network)}")
        for row in network.itertuples():
            print(f"  {row.meter_id} {row.kind} raised {row.raised_at} ({(row.raised_at - leak_from) / pd.Timedelta(hours=1):.1f} h)")


if __name__ == "__main__":
    main()
