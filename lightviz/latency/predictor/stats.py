"""The error statistics both latency models report: RMSPE and the split-conformal interval."""

from __future__ import annotations

import math

import numpy as np

COVERAGE = 0.90


def rmspe(pred, meas) -> float:
    pred, meas = np.asarray(pred, float), np.asarray(meas, float)
    return float(np.sqrt(np.mean(((pred - meas) / meas) ** 2)))


def conformal_bounds(log_ratios: np.ndarray, coverage: float = COVERAGE) -> tuple[float, float]:
    """The split-conformal ranks of ln(measured / predicted) for a two-sided interval."""
    r = np.sort(np.asarray(log_ratios, float))
    n = len(r)
    tail = (1 - coverage) / 2
    lo = max(int(math.floor((n + 1) * tail)) - 1, 0)
    hi = min(int(math.ceil((n + 1) * (1 - tail))) - 1, n - 1)
    return float(r[lo]), float(r[hi])
