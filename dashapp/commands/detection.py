"""`python -m dashapp detect` and `evaluate-detection`: events of chosen series as CSV, and the detectors' scores.

`detect` reads any store (imported or simulated) read-only and runs every
detector over the chosen meters or zone, writing what the evaluation scores as
the combination (rule events, and statistical events the other statistical
detector confirms); `evaluate-detection` simulates the demo city into a scratch
store, scores the detectors against its ground-truth labels and writes the table
into docs/DETECTION.md.
"""

from __future__ import annotations

import math
import platform
import sys
import tempfile
import time
from pathlib import Path

import click
import duckdb
import pandas as pd

from dashapp.commands.csv_out import write_csv
from dashapp.display import count_of
from dashapp.options import settings_options
from dashapp.settings import Settings
from detection.events import CONCERNS

#: ``raised_at``: when a streaming scan would first have raised the event (its rule first held), so the
#: detection delay is ``raised_at`` minus the leak's start; ``start`` is where the evidence begins.
#: ``concern``: what the event says (`detection.events.CONCERNS`); ``water_loss`` are the leak signs.
CSV_COLUMNS = ["meter_id", "zone_id", "kind", "detector", "start", "end", "raised_at", "score", "severity",
               "explanation", "lost_volume_l", "cost", "concern", "event_id"]


def _time(text: str, name: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise click.BadParameter(f"{text!r} is not a date or time (use e.g. 2025-07-01 or 2025-07-01T06:00)",
                                 param_hint=name) from None
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp


@click.command("detect")
@click.option("--meter", "meters", multiple=True, metavar="ID", help="Meter or sensor to scan (repeatable).")
@click.option("--zone", default=None, metavar="ID", help="Scan every meter and sensor of this zone.")
@click.option("--all", "every", is_flag=True, help="Scan every meter and sensor in the store, with a zone or not.")
@click.option("--start", required=True, help="First time scanned (UTC), e.g. 2025-07-01.")
@click.option("--end", required=True, help="Time to stop before (UTC).")
@click.option("--out", default="-", show_default=True, help="CSV file to write, or - for stdout.")
@click.option("--detector", "detectors", multiple=True,
              help="Only these detectors, every event they raise (repeatable; default all, see --unconfirmed).")
@click.option("--unconfirmed", is_flag=True,
              help="Also write z-score and isolation-forest events the other of the two does not confirm "
                   "(each alone raises an order of magnitude more false alarms than the rules).")
@click.option("--concern", "concerns", multiple=True, type=click.Choice(CONCERNS),
              help="Only events of this concern (repeatable; default all): water_loss for leaks, bursts and water "
                   "left running, as labelled leak data is scored; operations (pumps, valves), instrument, "
                   "reporting (silent meters), anomaly (z-score, isolation forest).")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Progress bar on stderr (a week of data per step).")
@settings_options
def detect_command(settings: Settings, meters: tuple[str, ...], zone: str | None, every: bool, start: str, end: str,
                   out: str, detectors: tuple[str, ...], unconfirmed: bool, concerns: tuple[str, ...],
                   progress: bool) -> None:
    """Find leaks and anomalies of --meter IDs, a --zone or --all between --start and --end; write events as CSV."""
    from tqdm import tqdm

    from data.store import Store
    from detection.events import Tariff
    from detection.scan import CHUNK_DAYS, DETECTORS, scan_range
    from detection.statistical import confirmed

    if [bool(meters), bool(zone), every].count(True) != 1:
        raise click.UsageError("give --meter ID (one or more), --zone ID or --all")
    if not Path(settings.db).is_file():
        raise click.ClickException(f"no store at {settings.db} (give --db FILE)")
    lo, hi = _time(start, "--start"), _time(end, "--end")
    tariff = Tariff(settings.tariff_per_m3, settings.currency)
    weeks = max(math.ceil((hi - lo) / pd.Timedelta(days=CHUNK_DAYS)), 1)
    try:
        with Store(settings.db, read_only=True) as store, \
                tqdm(total=weeks, unit=" week", desc="detect", file=sys.stderr, disable=not progress) as bar:
            events = scan_range(store.cursor(), list(meters) or zone, lo, hi,
                                tariff=tariff, detectors=detectors or DETECTORS,
                                training_days=settings.detection_training_days, internal=True,
                                progress=lambda _: bar.update(1))
    except duckdb.Error as err:
        raise click.ClickException(f"cannot read the store {settings.db}: {err}") from None
    except ValueError as err:
        raise click.ClickException(str(err)) from None
    if not (detectors or unconfirmed):
        events = confirmed(events)
    if concerns:
        events = events[events["concern"].isin(concerns)]
    table = events[CSV_COLUMNS].rename(columns={"cost": f"cost_{settings.currency}"})
    write_csv(table, out, count_of(len(table), "event"))


@click.command("evaluate-detection")
@click.option("--days", type=float, default=365.0, show_default=True, help="Days of the simulated city to score.")
@click.option("--seed", type=int, default=0, show_default=True, help="Simulation seed.")
@click.option("--end", "end", default="2026-01-01T00:00:00", show_default=True, help="When the simulation ends (UTC).")
@click.option("--warmup-days", type=float, default=28.0, show_default=True,
              help="Days simulated before the scored span, for detectors to learn from.")
@click.option("--store", "store_path", default=None, type=click.Path(dir_okay=False),
              help="Keep the simulated store in this file (reused if it already holds the span).")
@click.option("--forest-share", type=float, default=0.25, show_default=True,
              help="Share of consumption meters the isolation forest runs on (network series: all).")
@click.option("--chunk-days", type=float, default=7.0, show_default=True, help="Scan window length (days).")
@click.option("--doc", default="docs/DETECTION.md", show_default=True,
              help="Markdown file the table is written into ('' = do not write).")
def evaluate_command(days: float, seed: int, end: str, warmup_days: float, store_path: str | None,
                     forest_share: float, chunk_days: float, doc: str) -> None:
    """Simulate the city, run every detector, score against the labels: precision, recall, delay, false alarms."""
    from data.store import Store
    from detection.evaluation import evaluate, markdown_table
    from sim.backfill import backfill_into_store

    if days <= 0 or warmup_days < 7:
        raise click.UsageError("--days must be positive and --warmup-days at least 7")
    if not 0 <= forest_share <= 1:
        raise click.UsageError("--forest-share must be between 0 and 1")
    stop = _time(end, "--end")
    first = stop - pd.Timedelta(days=days)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="waterline-detect-eval-") as scratch:
        path = store_path or str(Path(scratch) / "city.duckdb")
        with Store(path) as store:
            report = backfill_into_store(store, days + warmup_days, end=stop.isoformat(), seed=seed, progress=False)
            simulated = time.perf_counter() - started
            click.echo(f"Simulated {report.start:%Y-%m-%d} to {report.end:%Y-%m-%d} in {simulated:.0f} s", err=True)
            scores, facts = evaluate(store.cursor(), first, stop, forest_share=forest_share, chunk_days=chunk_days,
                                     progress=lambda t: click.echo(f"  scanned to {t:%Y-%m-%d}", err=True))
    seconds = time.perf_counter() - started
    kinds = scores.by_kind[scores.by_kind["labels"] > 0]
    text = _report(days, seed, stop, facts, forest_share, kinds, scores, seconds, simulated, markdown_table)
    click.echo(text)
    if doc:
        _write_doc(Path(doc), text)
        click.echo(f"Wrote the tables into {doc}", err=True)


def _report(days, seed, stop, facts, forest_share, kinds, scores, seconds, simulated, markdown_table) -> str:
    command = f"python -m dashapp evaluate-detection --days {days:g} --seed {seed} --forest-share {forest_share:g}"
    machine = f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}"
    return "\n".join([
        f"Command: `{command}` (simulation ends {stop:%Y-%m-%d %H:%M} UTC)",
        f"Machine: {machine}; {seconds:.0f} s in all ({simulated:.0f} s simulating).",
        (f"Scored: {facts['start']:%Y-%m-%d} to {facts['end']:%Y-%m-%d}, {facts['series']} series, "
         f"{facts['labels']} labelled events, {facts['events']} detected events; isolation forest on "
         f"{facts['forest series']} series (its recall counts the labels on those series only)."),
        "", "Recall and detection delay per labelled event kind:", "",
        markdown_table(kinds), "", "Precision and false alarms per detector group:", "",
        markdown_table(scores.by_group), "", "Precision per detected event kind:", "",
        markdown_table(scores.by_event_kind), "",
        "Precision and false alarms per concern (water_loss: what would send a crew to a leak):", "",
        markdown_table(scores.by_concern), ""])


MARK = "<!-- evaluate-detection output -->"


def _write_doc(path: Path, text: str) -> None:
    """Replace what follows the marker in the doc (the hand-written part above it is kept)."""
    head = path.read_text(encoding="utf-8").split(MARK)[0] if path.is_file() else "# Detection\n\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(head.rstrip() + "\n\n" + MARK + "\n\n" + text, encoding="utf-8")
