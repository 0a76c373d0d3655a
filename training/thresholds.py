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


KEEP_GRID = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)


def tune_rules_and_model(y: np.ndarray, proba: np.ndarray, rules_positive: np.ndarray, vetoed: np.ndarray, thresholds: np.ndarray, *,
                         grid: Sequence[float] = GRID, keep_grid: Sequence[float] = KEEP_GRID, min_positives: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Per-theme (thresholds, keep) of the rules+model decision maximising F1 against people's labels `y`.

    A paragraph carries a theme where the rules say so and the model scores it >= keep, or where no exclusion
    fired (`vetoed`) and the model scores it >= the threshold (`models.decision.rules_and_model`).  Tuned on
    the rules' and the model's joint output, since the model's own best line is not the best line for what it
    adds to the rules.  Ties go to the lower keep (trust the rules) and then the higher threshold.  `y` must be
    people's labels: against the rules' own labels, the rules would always be right.  A theme with fewer than
    `min_positives` positives keeps `thresholds` and keep 0.
    """
    y, proba = np.asarray(y).astype(bool), np.asarray(proba)
    add, keep = np.array(thresholds, dtype=float), np.zeros(y.shape[1])
    for t in range(y.shape[1]):
        if y[:, t].sum() < min_positives:
            continue
        candidates = []
        for k in keep_grid:
            for a in grid:
                pred = (rules_positive[:, t] & (proba[:, t] >= k)) | (~vetoed[:, t] & (proba[:, t] >= a))
                tp = (pred & y[:, t]).sum()
                candidates.append((2 * tp / (pred.sum() + y[:, t].sum()), -k, a))
        _, k, add[t] = max(candidates)
        keep[t] = -k
    return add, keep
