"""Multi-label scores with scikit-learn: per theme, micro, macro, exact match.

>>> import numpy as np
>>> y_true = np.array([[1, 0], [0, 1], [1, 1]])
>>> y_pred = np.array([[1, 0], [1, 1], [0, 1]])
>>> s = score(y_true, y_pred, ["a", "b"])
>>> s["per_theme"]["a"]["precision"], s["per_theme"]["a"]["recall"], s["micro"]["f1"]
(0.5, 0.5, 0.75)
>>> round(s["exact_match"], 3)
0.333
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, precision_recall_fscore_support


def score(y_true: np.ndarray, y_pred: np.ndarray, theme_ids: Sequence[str]) -> dict:
    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, average=None, labels=range(len(theme_ids)), zero_division=0)
    out = {"per_theme": {t: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                         for i, t in enumerate(theme_ids)}}
    for avg in ("micro", "macro"):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average=avg, zero_division=0)
        out[avg] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    out["exact_match"] = float(accuracy_score(y_true, y_pred))
    out["n"] = int(len(y_true))
    return out
