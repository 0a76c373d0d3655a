"""Choosing per-theme decision thresholds on data the model did not train on."""
from __future__ import annotations

from typing import Sequence

import numpy as np

GRID = tuple(np.round(np.arange(0.05, 0.96, 0.05), 2))


def tune_thresholds(y: np.ndarray, proba: np.ndarray, *, grid: Sequence[float] = GRID, default: float = 0.5) -> np.ndarray:
    """Per-theme threshold maximising F1 of `proba` against `y` (ties: the higher threshold).

    Call it only on the training side of a split: the caller passes labels it is allowed to see.
    A theme with no positive in `y` keeps `default`.
    """
    y, proba = np.asarray(y), np.asarray(proba)
    out = np.full(y.shape[1], default, dtype=float)
    for t in range(y.shape[1]):
        if y[:, t].sum() == 0:
            continue
        best = -1.0
        for th in grid:
            pred = proba[:, t] >= th
            tp = (pred & (y[:, t] == 1)).sum()
            denom = pred.sum() + y[:, t].sum()
            f1 = 2 * tp / denom if denom else 0.0
            if f1 >= best:
                best, out[t] = f1, th
    return out
