"""Detectors scored against ground truth: precision, recall, delay and false alarms per event kind.

The simulator writes what it injected into `event_labels`; detectors never read
that table. An event detects a label when it overlaps the label (plus a grace
period after it) on the same asset, or, for labels on network assets that have
no meter (a pipe, a valve, a pump), on any network series or the zone of the
label's zone. Delay runs from the label's start to the earliest ``raised_at`` of
its detecting events (never negative). An event that detects no label at all
is a false alarm. Labels that began before the scored span (in the warm-up) are
not scored, but an event that detects one is not a false alarm either.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from detection.features import consumption_meters
from detection.scan import CHUNK_DAYS, RULES
from detection.statistical import confirmed

#: Label kinds that are not anomalies to detect; events overlapping them are still not false alarms.
CONTEXT_KINDS = ("gateway_outage", "meter_swap")
CUSTOMER_LEAKS = ("running_toilet", "dripping_tap", "irrigation_left_on")
GRACE = pd.Timedelta(hours=6)
RULE_DETECTORS = RULES[:1] + ("steady_trickle",) + RULES[1:]
GROUPS = ("isolation forest", "rules", "z-score", "combination")


def group_events(events: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Events of each detector group; the combination is `statistical.confirmed`."""
    return {"isolation forest": events[events["detector"] == "isolation_forest"],
            "rules": events[events["detector"].isin(RULE_DETECTORS)],
            "z-score": events[events["detector"] == "zscore"],
            "combination": confirmed(events)}


def match(events: pd.DataFrame, labels: pd.DataFrame, series: pd.DataFrame) -> pd.DataFrame:
    """Pairs (event index, label index) where the event detects the label."""
    customers = set(series.loc[consumption_meters(series), "meter_id"])
    metered = set(series["meter_id"])
    pairs = []
    for index, label in labels.iterrows():
        overlapping = events[(events["start"] <= label["end"] + GRACE) & (events["end"] >= label["start"])]
        if overlapping.empty:
            continue
        if label["asset"] in metered:
            hit = overlapping[overlapping["meter_id"] == label["asset"]]
        else:
            hit = overlapping[(overlapping["zone_id"] == label["zone_id"]) & ~overlapping["meter_id"].isin(customers)]
        pairs += [(event_index, index) for event_index in hit.index]
    return pd.DataFrame(pairs, columns=["event", "label"])


@dataclass(frozen=True)
class Scores:
    by_kind: pd.DataFrame      # group, label kind, labels, detected, recall, delay median/p90 (h)
    by_group: pd.DataFrame     # group, events, true, precision, false alarms, per 100 meter-months
    by_event_kind: pd.DataFrame  # group, event kind, events, precision
    by_concern: pd.DataFrame   # group, concern, events, precision, false alarms, per 100 meter-months


def score(events: pd.DataFrame, labels: pd.DataFrame, series: pd.DataFrame,
          meter_months: dict[str, float], scored_from: pd.Timestamp | None = None,
          unscanned: dict[str, set[str]] | None = None) -> Scores:
    """Score every detector group on the same labels (``meter_months`` scanned, per group).

    Recall and delay count the labels that start at or after ``scored_from``; every label
    (one that began earlier too) can make an event a true detection. A group's recall leaves
    out the labels on the meters it did not scan (``unscanned``, per group).
    """
    labels = labels.reset_index(drop=True)
    all_scored = labels if scored_from is None else labels[labels["start"] >= scored_from]
    kinds = sorted(k for k in all_scored["kind"].unique() if k not in CONTEXT_KINDS)
    by_kind, by_group, by_event_kind, by_concern = [], [], [], []
    for group, frame in group_events(events.reset_index(drop=True)).items():
        frame = frame.reset_index(drop=True)
        scored = all_scored[~all_scored["asset"].isin((unscanned or {}).get(group, set()))]
        pairs = match(frame, labels, series)
        detected = pairs.merge(frame[["raised_at"]], left_on="event", right_index=True)
        first = detected.groupby("label")["raised_at"].min()
        delay_h = ((first - labels.loc[first.index, "start"]).dt.total_seconds() / 3600).clip(lower=0)
        for kind in kinds + ["customer leaks (all three)"]:
            wanted = scored.index[scored["kind"].isin(CUSTOMER_LEAKS if kind.startswith("customer") else [kind])]
            delays = delay_h.reindex(wanted).dropna()
            by_kind.append({"group": group, "label kind": kind, "labels": len(wanted), "detected": len(delays),
                            "recall": len(delays) / len(wanted) if len(wanted) else np.nan,
                            "delay median h": float(delays.median()) if len(delays) else np.nan,
                            "delay p90 h": float(delays.quantile(0.9)) if len(delays) else np.nan})
        true = set(pairs["event"])
        false = len(frame) - len(true)
        months = meter_months.get(group, 0.0)
        by_group.append({"group": group, "events": len(frame), "true": len(true),
                         "precision": len(true) / len(frame) if len(frame) else np.nan, "false alarms": false,
                         "meter-months": months,
                         "false alarms per 100 meter-months": 100 * false / months if months else np.nan})
        for kind, part in frame.groupby("kind"):
            hits = sum(i in true for i in part.index)
            by_event_kind.append({"group": group, "event kind": kind, "events": len(part),
                                  "precision": hits / len(part), "false alarms": len(part) - hits})
        for concern, part in frame.groupby("concern"):
            misses = sum(i not in true for i in part.index)
            by_concern.append({"group": group, "concern": concern, "events": len(part),
                               "precision": 1 - misses / len(part), "false alarms": misses,
                               "false alarms per 100 meter-months": 100 * misses / months if months else np.nan})
    return Scores(pd.DataFrame(by_kind), pd.DataFrame(by_group), pd.DataFrame(by_event_kind),
                  pd.DataFrame(by_concern))


def markdown_table(frame: pd.DataFrame) -> str:
    """A pipe table (no extra dependency): numbers rounded for reading."""
    def cell(value: object) -> str:
        if isinstance(value, float):
            return "-" if np.isnan(value) else f"{value:.2f}"
        return str(value)
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def evaluate(cur, start: object, end: object, forest_share: float = 1.0, chunk_days: float = CHUNK_DAYS,
             progress=None) -> tuple[Scores, dict]:
    """Scan every series of the store between ``start`` and ``end`` and score against its labels.

    ``forest_share`` < 1 runs the isolation forest on every network series but only
    on that share of consumption meters (every n-th by id): fitting a forest per
    meter is the slow part. The meter-months of each group say what was scanned.
    """
    from detection.features import catalogue
    from detection.scan import DETECTORS, scan_range
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    series = catalogue(cur)
    customers = series.loc[consumption_meters(series), "meter_id"].tolist()
    step = max(round(1 / forest_share), 1) if forest_share > 0 else 0
    forest_ids = sorted(set(series["meter_id"]) - set(customers)) + (customers[::step] if step else [])
    others = tuple(d for d in DETECTORS if d != "isolation_forest")
    events = scan_range(cur, None, start, end, detectors=others, chunk_days=chunk_days, internal=True, progress=progress)
    forest = scan_range(cur, forest_ids, start, end, detectors=("isolation_forest",),
                        chunk_days=chunk_days, internal=True, progress=progress)
    events = pd.concat([events, forest], ignore_index=True)
    months = (end - start) / pd.Timedelta(days=365.25 / 12)
    forest_months = len(forest_ids) * months
    all_months = len(series) * months
    meter_months = {"isolation forest": forest_months, "rules": all_months, "z-score": all_months,
                    "combination": all_months}
    labels = read_labels(cur, start, end)
    facts = {"series": len(series), "forest series": len(forest_ids), "labels": int((labels["start"] >= start).sum()),
             "events": len(events), "start": start, "end": end}
    unscanned = {"isolation forest": set(customers) - set(forest_ids)}
    return score(events, labels, series, meter_months, scored_from=start, unscanned=unscanned), facts


def read_labels(cur, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Labels that overlap [start, end), those that began earlier included (read-only: the store may be
    opened read-only)."""
    known = cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'event_labels'").fetchall()[0][0]
    if not known:
        raise ValueError("the store has no event_labels table: evaluate a simulated store")
    return cur.execute("""SELECT event_id, kind, asset, zone_id, start, "end", magnitude FROM event_labels
                          WHERE start < ? AND "end" >= ? ORDER BY start, event_id""",
                       [end.to_pydatetime(), (start - GRACE).to_pydatetime()]).df()
