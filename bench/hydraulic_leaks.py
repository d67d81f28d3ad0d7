"""Leaks in a real network's hydraulics, found from its pressures: `python -m bench.hydraulic_leaks`.

Leak benchmarks of the LeakDB kind give a network's pressures at many nodes over weeks, some
scenarios with one leak and some with none, and score who finds the leak, how soon, and how often
an alarm rings with no leak. This bench makes such scenarios with EPANET (through WNTR, which the
simulator already uses) on a published network, EPANET's Net3 by default, or any `--inp` model:
pumps switched by a tank's level, a source open for part of the day, tanks filling and draining.

Demand is not one curve scaled everywhere, which would make every sensor predict every other
exactly: the junctions fall into areas, and each area's demand has its own day-to-day swing and
hour-to-hour noise on top of the model's patterns and a citywide weather swing. A leak is extra
demand at one junction, from a given hour, either at once or growing over days. Sensors sit at
junctions spread over the map (the one nearest each k-means centre); each reading has gauge noise.

Each scenario is written as a wide CSV of pressures in metres of head, imported with the
product's own command (one zone per scenario), scanned with `detect`, and scored: a leak is found
by the first leak-kind event raised after it starts; every event raised before the leak, or in a
scenario without one, is a false alarm. The sensor an event names is ranked by its pipe distance
from the leak (1 = the nearest sensor).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import wntr
from sklearn.cluster import KMeans
from wntr.network import LinkStatus, controls

from bench.scada_year import timed

START = pd.Timestamp("2024-01-01")
STEP_S = 900
TRAINING_DAYS = 28


@dataclasses.dataclass(frozen=True)
class Leak:
    """Extra demand at ``node`` from ``start``: ``m3_h`` at once, or growing to it over ``ramp_days``."""

    node: str
    start: pd.Timestamp
    m3_h: float
    ramp_days: float = 0.0


def load_network(inp: Path | None) -> wntr.network.WaterNetworkModel:
    """The model; Net3's lake source, scheduled for its first week only, opens 01:00-15:00 every day."""
    if inp is not None:
        return wntr.network.WaterNetworkModel(str(inp))
    net3 = Path(wntr.__file__).parent / "library" / "networks" / "Net3.inp"
    wn = wntr.network.WaterNetworkModel(str(net3))
    for name in list(wn.control_name_list):
        if "SimTimeCondition" in repr(wn.get_control(name)):
            wn.remove_control(name)
    lake = wn.get_link("10")
    for hour, status in ((1, LinkStatus.Open), (15, LinkStatus.Closed)):
        wn.add_control(f"lake-{hour}", controls.Control(
            controls.TimeOfDayCondition(wn, "=", hour * 3600, repeat=True),
            controls.ControlAction(lake, "status", status)))
    return wn


def _junctions_on_map(wn: wntr.network.WaterNetworkModel) -> tuple[list[str], np.ndarray]:
    names = wn.junction_name_list
    return names, np.array([wn.get_node(n).coordinates for n in names])


def area_of_junctions(wn: wntr.network.WaterNetworkModel, areas: int, seed: int) -> dict[str, int]:
    names, xy = _junctions_on_map(wn)
    labels = KMeans(n_clusters=areas, n_init=4, random_state=seed).fit_predict(xy)
    return dict(zip(names, labels.tolist()))


def sensor_nodes(wn: wntr.network.WaterNetworkModel, count: int, seed: int) -> list[str]:
    """The junction nearest each of ``count`` k-means centres of the junctions' coordinates."""
    names, xy = _junctions_on_map(wn)
    centres = KMeans(n_clusters=count, n_init=4, random_state=seed).fit(xy).cluster_centers_
    picked = {names[int(np.argmin(((xy - c) ** 2).sum(axis=1)))] for c in centres}
    return sorted(picked)


def mean_demand_m3_h(wn: wntr.network.WaterNetworkModel) -> float:
    total = 0.0
    for name in wn.junction_name_list:
        for demand in wn.get_node(name).demand_timeseries_list:
            pattern = demand.pattern_name or wn.options.hydraulic.pattern
            shape = wn.get_pattern(pattern).multipliers if pattern in wn.pattern_name_list else [1.0]
            total += demand.base_value * float(np.mean(shape))
    return total * 3600


def _ar1(rng: np.random.Generator, n: int, sd: float, phi: float = 0.8) -> np.ndarray:
    noise = rng.normal(0, sd * np.sqrt(1 - phi ** 2), n)
    out = np.empty(n)
    out[0] = rng.normal(0, sd)
    for k in range(1, n):
        out[k] = phi * out[k - 1] + noise[k]
    return out


def vary_demands(wn: wntr.network.WaterNetworkModel, days: int, areas: dict[str, int], seed: int) -> None:
    """Give each (model pattern, area) an hourly pattern of its own: the shape times day and hour swings."""
    rng = np.random.default_rng(seed)
    hours = days * 24
    day_of = np.arange(hours) // 24
    weekend = (START + pd.to_timedelta(np.arange(hours), unit="h")).day_of_week >= 5
    city = 1 + _ar1(rng, days, 0.06)
    area_swing = {a: 1 + _ar1(rng, days, 0.04) for a in set(areas.values())}
    area_weekend = {a: rng.uniform(0.8, 1.05) for a in set(areas.values())}
    step_of_hour = np.arange(hours) * 3600 // (wn.options.time.pattern_timestep or 3600)
    made: dict[tuple[str, int], str] = {}
    for name in wn.junction_name_list:
        area = areas[name]
        for demand in wn.get_node(name).demand_timeseries_list:
            base = demand.pattern_name or wn.options.hydraulic.pattern
            key = (str(base), area)
            if key not in made:
                shape = np.asarray(wn.get_pattern(base).multipliers if base in wn.pattern_name_list else [1.0])
                shape = shape[step_of_hour % len(shape)]
                hourly = shape * city[day_of] * area_swing[area][day_of] * np.where(weekend, area_weekend[area], 1.0)
                hourly = hourly * rng.lognormal(0, 0.05, hours)
                made[key] = f"V{len(made)}"
                wn.add_pattern(made[key], hourly.tolist())
            demand.pattern_name = made[key]
    wn.options.time.pattern_timestep = 3600


def add_leak(wn: wntr.network.WaterNetworkModel, leak: Leak, days: int) -> None:
    hours = np.arange(days * 24)
    since = hours - (leak.start - START) / pd.Timedelta(hours=1)
    share = np.clip(since / (leak.ramp_days * 24), 0, 1) if leak.ramp_days else (since >= 0).astype(float)
    wn.add_pattern("LEAK", share.tolist())
    wn.get_node(leak.node).add_demand(leak.m3_h / 3600, "LEAK", "leak")


def simulate(inp: Path | None, days: int, seed: int, sensors: list[str], areas: dict[str, int],
             leak: Leak | None, workdir: Path) -> pd.DataFrame:
    """Sensor pressures (m) every 15 min with gauge noise, one column per sensor."""
    wn = load_network(inp)
    wn.options.time.duration = days * 86400
    wn.options.time.hydraulic_timestep = STEP_S
    wn.options.time.report_timestep = STEP_S
    vary_demands(wn, days, areas, seed)
    if leak is not None:
        add_leak(wn, leak, days)
    results = wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=str(workdir / f"s{seed}"))
    pressure = results.node["pressure"][sensors].iloc[:-1]
    rng = np.random.default_rng(seed + 10_000)
    noisy = pressure.to_numpy() + rng.normal(0, 0.03, pressure.shape)
    stamps = START + pd.to_timedelta(pressure.index, unit="s")
    return pd.DataFrame(np.round(noisy, 2), index=stamps, columns=[f"n{s}" for s in sensors])


def draw_leaks(wn: wntr.network.WaterNetworkModel, scenarios: int, without: int, days: int,
               seed: int) -> list[Leak | None]:
    """``scenarios`` leaks (a third growing over days) and ``without`` scenarios with none, shuffled."""
    rng = np.random.default_rng(seed)
    mean = mean_demand_m3_h(wn)
    candidates = [n for n in wn.junction_name_list if wn.get_node(n).demand_timeseries_list]
    leaks: list[Leak | None] = []
    for k in range(scenarios):
        start = START + pd.Timedelta(days=int(rng.integers(TRAINING_DAYS + 7, days - 14)),
                                     hours=int(rng.integers(0, 24)))
        leaks.append(Leak(node=str(rng.choice(candidates)), start=start,
                          m3_h=round(float(mean * np.exp(rng.uniform(np.log(0.01), np.log(0.06)))), 1),
                          ramp_days=float(rng.uniform(3, 10)) if k % 3 == 2 else 0.0))
    leaks += [None] * without
    order = rng.permutation(len(leaks))
    return [leaks[i] for i in order]


def pipe_distance(wn: wntr.network.WaterNetworkModel, sources: list[str]) -> dict[str, dict[str, float]]:
    """Metres of pipe from each of ``sources`` to every node (pumps and valves count 1 m)."""
    graph = nx.Graph()
    for name in wn.link_name_list:
        link = wn.get_link(name)
        graph.add_edge(link.start_node_name, link.end_node_name, weight=float(getattr(link, "length", 1.0)))
    return {node: nx.single_source_dijkstra_path_length(graph, node, weight="weight") for node in set(sources)}


def leak_signs(events: pd.DataFrame) -> pd.Series:
    """Events that say water is leaving (`detect`'s concern ``water_loss``): pressure above its band, or an
    instrument's fault, does not."""
    return events["concern"] == "water_loss"


def score(events: pd.DataFrame, leaks: list[Leak | None], sensors: list[str], distance: dict
          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per scenario (found by what, how soon, the rank of the sensor named) and the false alarms: events
    that say water is leaving, raised before the leak or where there is none."""
    rows, false = [], []
    signs = events[leak_signs(events)]
    for k, leak in enumerate(leaks):
        zone = f"S{k:02d}"
        mine = signs[signs["zone"] == zone].sort_values("raised_at")
        false.append(mine if leak is None else mine[mine["raised_at"] < leak.start])
        row = {"scenario": zone, "leak": "none" if leak is None else
               f"{leak.m3_h:g} m3/h at {leak.node}" + (f", grows {leak.ramp_days:.0f} d" if leak.ramp_days else "")}
        if leak is not None:
            after = mine[mine["raised_at"] >= leak.start]
            row["starts"] = leak.start
            if len(after):
                row |= {"first_by": after.iloc[0]["kind"],
                        "first_delay_h": (after.iloc[0]["raised_at"] - leak.start) / pd.Timedelta(hours=1)}
            local = after[after["kind"] == "local_pressure_drop"]
            if len(local):
                node = local.iloc[0]["meter_id"].split("-", 1)[1][1:]
                ranked = sorted(sensors, key=lambda s: distance[leak.node].get(s, np.inf))
                row |= {"local_sensor_rank": ranked.index(node) + 1,
                        "local_delay_h": (local.iloc[0]["raised_at"] - leak.start) / pd.Timedelta(hours=1)}
        rows.append(row)
    return pd.DataFrame(rows), pd.concat(false, ignore_index=True)


def write_scenarios(args: argparse.Namespace, wn: wntr.network.WaterNetworkModel, sensors: list[str],
                    leaks: list[Leak | None], folder: Path, scratch: Path) -> None:
    (folder / "scada").mkdir(parents=True, exist_ok=True)
    (folder / "leaks.duckdb").unlink(missing_ok=True)
    areas = area_of_junctions(wn, args.areas, args.seed)
    began = time.perf_counter()
    for k, leak in enumerate(leaks):
        frame = simulate(args.inp, args.days, args.seed * 1000 + k, sensors, areas, leak, scratch)
        frame.index.name = "Timestamp"
        frame.to_csv(folder / "scada" / f"S{k:02d}.csv")
    print(f"{len(leaks)} scenarios of {args.days} days simulated in {time.perf_counter() - began:.0f} s: "
          f"{len(sensors)} pressure sensors, mean demand {mean_demand_m3_h(wn):.0f} m3/h")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inp", type=Path, help="EPANET model (default: Net3 from WNTR's library).")
    parser.add_argument("--days", type=int, default=70)
    parser.add_argument("--leaks", type=int, default=15, help="Scenarios with one leak.")
    parser.add_argument("--without", type=int, default=5, help="Scenarios with no leak.")
    parser.add_argument("--sensors", type=int, default=20)
    parser.add_argument("--areas", type=int, default=5, help="Areas whose demands swing on their own.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="Write the files, store and events here and keep them.")
    parser.add_argument("--reuse", action="store_true", help="Scan the store kept by an earlier run of the same "
                        "arguments again, without simulating and importing.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        db = folder / "leaks.duckdb"
        wn = load_network(args.inp)
        sensors = sensor_nodes(wn, args.sensors, args.seed)
        leaks = draw_leaks(wn, args.leaks, args.without, args.days, args.seed)
        cli = [sys.executable, "-m", "dashapp"]
        if not (args.reuse and db.exists()):
            write_scenarios(args, wn, sensors, leaks, folder, Path(scratch))
            seconds, peak = timed(cli + ["import", *sorted(map(str, (folder / "scada").glob("*.csv"))), "--tz", "UTC",
                                         "--zone", "{file}", "--category", "sensor", "--db", str(db), "--no-progress",
                                         "--map-regex", r"(n\w+)={file}-{1}:pressure:m"])
            print(f"import: {seconds:.1f} s, peak {peak:,.0f} MB")
        scored_from, end = START + pd.Timedelta(days=TRAINING_DAYS), START + pd.Timedelta(days=args.days)
        frames, detect_s = [], 0.0
        for k in range(len(leaks)):
            out = folder / f"events-S{k:02d}.csv"
            seconds, _ = timed(cli + ["detect", "--zone", f"S{k:02d}", "--start", str(scored_from), "--end", str(end),
                                      "--db", str(db), "--no-progress", "--out", str(out)])
            detect_s += seconds
            frames.append(pd.read_csv(out, parse_dates=["start", "raised_at"]).assign(zone=f"S{k:02d}"))
        events = pd.concat(frames, ignore_index=True)
        print(f"detect: {detect_s:.1f} s for {len(leaks)} zones")
        found, false = score(events, leaks, sensors, pipe_distance(wn, [leak.node for leak in leaks if leak]))
        report(found, false, events, len(sensors), len(leaks), args.days - TRAINING_DAYS)


def report(found: pd.DataFrame, false: pd.DataFrame, events: pd.DataFrame, sensors: int, scenarios: int,
           scored_days: int) -> None:
    print("\n" + found.to_string(index=False, float_format="{:.2f}".format, na_rep="-"))
    leaks = found[found["leak"] != "none"]
    sensor_months = sensors * scenarios * scored_days / 30.4
    for label, column in (("any rule", "first_delay_h"), ("local_pressure_drop", "local_delay_h")):
        delays = leaks[column].dropna() if column in leaks else pd.Series(dtype=float)
        print(f"leaks found by {label}: {len(delays)}/{len(leaks)}, delay median "
              f"{delays.median():.1f} h, p90 {delays.quantile(0.9):.1f} h" if len(delays) else
              f"leaks found by {label}: 0/{len(leaks)}")
    if "local_sensor_rank" in leaks:
        ranks = leaks["local_sensor_rank"].dropna()
        print(f"local_pressure_drop named one of the 3 sensors nearest the leak: {int((ranks <= 3).sum())}/{len(ranks)}")
    print(f"false alarms (leak signs before a leak or with none): {len(false)} in {sensor_months:.0f} sensor-months "
          f"({100 * len(false) / sensor_months:.2f} per 100), by kind: {false.groupby('kind').size().to_dict()}")
    others = events[~leak_signs(events)]
    print(f"other events (pressure above its band, instrument faults): {others.groupby('kind').size().to_dict()}")


if __name__ == "__main__":
    main()
