"""The real-data detection benches add what they say they add, where they say, and nothing elsewhere."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.real_bursts import add_bursts
from bench.real_household_leaks import add_leaks


def test_bursts_are_steps_of_a_share_of_the_dmas_mean_flow_for_their_hours():
    stamps = pd.date_range("2021-01-01", "2021-09-30", freq="h")
    inflow = pd.DataFrame({"timestamp_local": stamps.strftime("%Y-%m-%d %H:%M"),
                           "DMA_A_l_per_s": 10.0, "DMA_B_l_per_s": np.where(stamps.hour < 6, 2.0, 6.0)})
    with_bursts, bursts = add_bursts(inflow, [0.1, 0.4], hours=6, seed=3)
    assert set(bursts["meter_id"]) == {"DMA_A", "DMA_B"} and list(bursts["share"][:2]) == [0.1, 0.4]
    added = with_bursts[["DMA_A_l_per_s", "DMA_B_l_per_s"]] - inflow[["DMA_A_l_per_s", "DMA_B_l_per_s"]]
    for burst in bursts.itertuples():
        column = added[f"{burst.meter_id}_l_per_s"]
        held = (stamps >= burst.start_local) & (stamps < burst.start_local + pd.Timedelta(hours=6))
        assert column[held].to_numpy() == pytest.approx(burst.size_l_s)
        assert burst.size_l_s == pytest.approx(burst.share * inflow[f"{burst.meter_id}_l_per_s"].mean())
    assert (added != 0).to_numpy().sum() == 6 * len(bursts)
    summer = bursts["start_local"].dt.month.between(4, 9)
    assert ((bursts["start_local"] - bursts["start"])[summer] == pd.Timedelta(hours=2)).all()  # Rome, CEST


def test_a_growing_leak_rises_evenly_to_its_size_then_holds():
    stamps = pd.date_range("2021-01-01", "2021-09-30", freq="h")
    inflow = pd.DataFrame({"timestamp_local": stamps.strftime("%Y-%m-%d %H:%M"), "DMA_A_l_per_s": 10.0})
    with_leaks, leaks = add_bursts(inflow, [0.2], hours=48, seed=1, ramp_hours=24)
    added = (with_leaks["DMA_A_l_per_s"] - inflow["DMA_A_l_per_s"]).to_numpy()
    for leak in leaks.itertuples():
        hours = ((stamps - leak.start_local) / pd.Timedelta(hours=1)).to_numpy()
        held = (hours >= 0) & (hours < 48)
        assert added[held] == pytest.approx(leak.size_l_s * np.minimum(hours[held] / 24, 1.0))
        assert added[held & (hours >= 24)] == pytest.approx(2.0)


def test_a_household_leak_adds_its_litres_per_hour_to_the_register_from_its_start():
    stamps = pd.date_range("2017-03-01 00:03", "2017-05-15", freq="h")
    raw = pd.concat([pd.DataFrame({"V1": meter, "V2": stamps.strftime("%d/%m/%Y %H:%M:%S"),
                                   "V3": 1000 + np.arange(len(stamps)) * 5, "V4": 5}) for meter in ("a", "b")],
                    ignore_index=True)
    leaky, leaks = add_leaks(raw, seed=0)
    assert list(leaks["kind"]) == ["running_toilet", "dripping_tap"]
    for leak in leaks.itertuples():
        rows = raw["V1"] == leak.meter_id
        hours = ((stamps - leak.start_local) / pd.Timedelta(hours=1)).to_numpy().clip(min=0)
        added = (leaky.loc[rows, "V3"] - raw.loc[rows, "V3"]).to_numpy()
        assert np.abs(added - leak.l_per_h * hours).max() <= 0.5
        assert (added[hours == 0] == 0).all() and leak.start_local >= stamps[0] + pd.Timedelta(days=35)


def test_a_scada_shaped_export_loads_whole_through_the_import_command(tmp_path, capsys):
    """Semicolons, decimal commas, m3/h flows, metres of head, L/h demands: every cell is a stored reading."""
    import duckdb

    from bench.scada_year import main

    main(["--days", "30", "--pressures", "2", "--customers", "2", "--keep", str(tmp_path)])
    with duckdb.connect(str(tmp_path / "scada.duckdb"), read_only=True) as store:
        kinds = dict(store.execute("SELECT quantity, count(*) FROM readings GROUP BY ALL").fetchall())
        bad = store.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        pump = store.execute("SELECT avg(value) FROM readings WHERE meter_id = 'PUMP_1'").fetchone()[0]
    assert kinds == {"flow": 30 * 288 * (3 + 2), "pressure": 30 * 288 * 2} and bad == 0
    assert 20 < pump < 60  # about 100-190 m3/h, stored in L/s
    assert "| detect |" in capsys.readouterr().out
