"""How a zone's pressure sensors predict each other: a ridge regression of each on all the others at once.

A network's pressures are not all driven by one demand curve: a pump's delivery follows the pump, a
sensor near a tank follows its level, a district on a timetable follows the timetable. A straight line
on one other sensor (the pair regression of LILA) cannot see what the rest know, so its errors are wide
and only large leaks stand out; a regression on every other sensor reads the pumps and tanks through
the sensors beside them, and on EPANET's Net3 its errors were a tenth as wide (docs/DETECTION.md).

A regression on several references can also learn what it should not: a leak running through the
training weeks lowers the sensors near it by different amounts, and their differences are enough to
predict the leak away. So the readings a leak or a fault has moved are left out, of the fit and of the
others' references (``left_out``); they are found first with the pair lines (`pair_median`), which a
leak cannot fit. Each hour is predicted from the references that read at that hour, so a sensor
offline leaves a model of the others, not a gap.
"""

from __future__ import annotations

import warnings

import numpy as np

#: The ridge penalty for each training hour, on references scaled to unit variance.
RIDGE = 0.01


def pair_median(values: np.ndarray, target: int, training: np.ndarray, min_references: int,
                min_training_hours: int) -> tuple[np.ndarray, int] | None:
    """Column ``target`` at every hour as the median of its least-squares lines on each other column with
    ``min_training_hours`` of training beside it (the median: a faulty or unrelated reference is outvoted)."""
    y = values[:, target]
    both = (training & ~np.isnan(y))[:, None] & ~np.isnan(values)
    count = both.sum(axis=0)
    x = np.where(both, values, 0.0)
    yy = np.where(both, y[:, None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x, mean_y = x.sum(axis=0) / count, yy.sum(axis=0) / count
        variance = (x * x).sum(axis=0) / count - mean_x ** 2
        slope = np.where(variance > 1e-12, ((x * yy).sum(axis=0) / count - mean_x * mean_y) / variance, 0.0)
    predictions = mean_y + slope * (values - mean_x)
    usable = (count >= min_training_hours) & (np.arange(values.shape[1]) != target)
    if usable.sum() < min_references:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(predictions[:, usable], axis=1), int(usable.sum())


def ridge(values: np.ndarray, target: int, training: np.ndarray, min_references: int, min_training_hours: int,
          left_out: np.ndarray | None = None) -> tuple[np.ndarray, int] | None:
    """Column ``target`` of ``values`` (hours x sensors) at every hour, from the other columns with
    ``min_training_hours`` of training, fitted at once; ``left_out`` (hours x sensors) marks readings to use
    neither as references (unless fewer than ``min_references`` would be left) nor, for the target, in the fit.
    Returns the prediction (NaN where fewer than ``min_references`` read) and the number of references, or None
    when there are too few references or too few complete training hours."""
    y = values[:, target]
    references = [j for j in range(values.shape[1]) if j != target
                  and np.count_nonzero(training & ~np.isnan(values[:, j])) >= min_training_hours]
    if len(references) < min_references:
        return None
    x = values[:, references]
    reading = ~np.isnan(x)
    if left_out is not None:
        reading &= ~left_out[:, references]
    fitted = training & ~np.isnan(y) & reading.all(axis=1)
    if left_out is not None:
        fitted &= ~left_out[:, target]
    if np.count_nonzero(fitted) < min_training_hours:
        return None
    short = reading.sum(axis=1) < min_references
    reading[short] = ~np.isnan(x[short])
    mean, scale = x[fitted].mean(axis=0), x[fitted].std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    y_mean = float(y[fitted].mean())
    gram, cross = z[fitted].T @ z[fitted], z[fitted].T @ (y[fitted] - y_mean)
    penalty = RIDGE * np.count_nonzero(fitted) * np.eye(len(references))
    patterns, which = np.unique(reading, axis=0, return_inverse=True)
    predicted = np.full(len(y), np.nan)
    for k, present in enumerate(patterns):
        if np.count_nonzero(present) < min_references:
            continue
        weights = np.linalg.solve(gram[np.ix_(present, present)] + penalty[np.ix_(present, present)], cross[present])
        hours = which.ravel() == k
        predicted[hours] = y_mean + z[np.ix_(hours, present)] @ weights
    return predicted, len(references)
