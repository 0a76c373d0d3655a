"""Choosing per-theme decision thresholds on data the model did not train on."""
from __future__ import annotations

from typing import Sequence

import numpy as np

GRID = tuple(np.round(np.arange(0.05, 0.96, 0.05), 2))


def tune_thresholds(y: np.ndarray, proba: np.ndarray, *, grid: Sequence[float] = GRID, default: float = 0.5,
                    min_precision: float = 0.0) -> np.ndarray:
    """Per-theme threshold maximising F1 of `proba` against `y` among those with precision >= `min_precision`.

    Plain F1 on a small validation split rewards a weak model for predicting a theme everywhere
    (F1 = 2p/(1+p) at base rate p), which out of genre, where most text has no theme, wrecks
    precision; the floor stops that.  Where no threshold reaches it, the most precise one is taken.
    Ties go to the higher threshold.  Call it only on the training side of a split.  A theme with
    no positive in `y` keeps `default`.
    """
    y, proba = np.asarray(y), np.asarray(proba)
    out = np.full(y.shape[1], default, dtype=float)
    for t in range(y.shape[1]):
        if y[:, t].sum() == 0:
            continue
        candidates = []
        for th in grid:
            pred = proba[:, t] >= th
            tp, n_pred = (pred & (y[:, t] == 1)).sum(), pred.sum()
            precision = tp / n_pred if n_pred else 0.0
            precise = precision >= min_precision
            candidates.append((precise, 2 * tp / (n_pred + y[:, t].sum()) if precise else precision, th))
        out[t] = max(candidates)[2]
    return out
