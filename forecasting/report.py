"""Backtest tables as text for the terminal and as Markdown for docs/FORECASTING.md."""

from __future__ import annotations

import pandas as pd

from forecasting.backtest import MEASURES


def _change(table: pd.DataFrame) -> dict[str, float]:
    if "previous week" not in table.index or "model" not in table.index:
        return {}
    return {m: (table.loc["model", m] / table.loc["previous week", m] - 1) * 100 for m in MEASURES}


def per_series(scores: pd.DataFrame) -> pd.DataFrame:
    table = scores.groupby(["series", "model"])[["PI1", "PI2", "PI3", "MAPE"]].mean().unstack("model")
    return table


def text_report(scores: pd.DataFrame, summary: pd.DataFrame, subsets: dict[str, pd.DataFrame] | None = None) -> str:
    lines = ["Mean over series and weeks (series units; MAPE in %):", summary.round(3).to_string(), ""]
    change = _change(summary)
    if change:
        lines.append("Model against the previous-week baseline: " +
                     ", ".join(f"{m} {v:+.1f} %" for m, v in change.items()))
    for title, table in (subsets or {}).items():
        lines += ["", f"{title}:", table.round(3).to_string()]
        part = _change(table)
        if part:
            lines.append("Model against the previous-week baseline: " +
                         ", ".join(f"{m} {v:+.1f} %" for m, v in part.items()))
    lines += ["", "Per series (PI1 / PI3):"]
    table = per_series(scores)
    for series in table.index:
        cells = [f"{model}: {table.loc[series, ('PI1', model)]:.3f} / {table.loc[series, ('PI3', model)]:.3f}"
                 for model in ("model", "previous week", "mean of 4 weeks") if ("PI1", model) in table.columns]
        lines.append(f"  {series}: " + "; ".join(cells))
    return "\n".join(lines)


def summary_markdown(summary: pd.DataFrame) -> str:
    """The mean table and the model's change against the previous-week baseline."""
    header = "| model | PI1 | PI2 | PI3 | MAPE % | weeks |\n|---|---|---|---|---|---|\n"
    rows = "".join(f"| {model} | {r.PI1:.3f} | {r.PI2:.3f} | {r.PI3:.3f} | {r.MAPE:.2f} | {int(r.weeks)} |\n"
                   for model, r in summary.iterrows())
    change = _change(summary)
    text = header + rows
    if change:
        text += "\nModel against the previous-week baseline: " + ", ".join(
            f"{m} {v:+.1f} %" for m, v in change.items()) + "\n"
    return text


def markdown_report(scores: pd.DataFrame, summary: pd.DataFrame, subsets: dict[str, pd.DataFrame] | None = None) -> str:
    """The full report; ``subsets`` (title -> summary) adds a mean table per subset of weeks."""
    text = summary_markdown(summary)
    for title, table in (subsets or {}).items():
        text += f"\n{title}:\n\n" + summary_markdown(table)
    table = per_series(scores)
    text += "\n| series | PI1 model | PI1 prev. week | PI1 4-week mean | PI3 model | PI3 prev. week | PI3 4-week mean |\n"
    text += "|---|---|---|---|---|---|---|\n"
    for series in table.index:
        cells = [table.loc[series, (m, model)] if (m, model) in table.columns else float("nan")
                 for m in ("PI1", "PI3") for model in ("model", "previous week", "mean of 4 weeks")]
        text += f"| {series} | " + " | ".join(f"{c:.3f}" for c in cells) + " |\n"
    return text
