"""Fitting the character n-gram reader that sits beside the encoder (`models.lexical.LexicalHead`), and choosing
its share of the mixture on the validation split."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from models.lexical import LexicalHead

WEIGHT_GRID = tuple(np.round(np.arange(0.0, 1.01, 0.1), 1))


def fit_lexical_head(texts: Sequence[str], labels: np.ndarray, *, max_features: int, C: float, seed: int,
                     ngram_range: tuple[int, int] = (1, 3)) -> LexicalHead:
    """TF-IDF over character n-grams (the `max_features` most frequent) and a class-balanced logistic regression per
    theme on the hard labels `labels` (n, themes). A theme without positives (or without negatives) gets a constant."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    labels = np.asarray(labels).astype(int)
    vec = TfidfVectorizer(analyzer="char", ngram_range=ngram_range, sublinear_tf=True, max_features=max_features)
    x = vec.fit_transform(list(texts))
    coef, intercept = np.zeros((labels.shape[1], x.shape[1])), np.zeros(labels.shape[1])
    for t in range(labels.shape[1]):
        if 0 < labels[:, t].sum() < len(labels):
            lr = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=seed).fit(x, labels[:, t])
            coef[t], intercept[t] = lr.coef_[0], lr.intercept_[0]
        else:
            rate = float(np.clip(labels[:, t].mean() if len(labels) else 0.0, 1e-4, 1 - 1e-4))
            intercept[t] = np.log(rate / (1 - rate))
    vocabulary = [None] * x.shape[1]
    for gram, column in vec.vocabulary_.items():
        vocabulary[column] = gram
    return LexicalHead(vocabulary=vocabulary, idf=vec.idf_.astype(np.float64), coef=coef, intercept=intercept, ngram_range=ngram_range,
                       weight=0.5, about={"max_features": max_features, "C": C, "ngram_range": list(ngram_range),
                                          "train_rows": len(labels), "features": int(x.shape[1])})


def choose_weight(encoder_proba: np.ndarray, lexical_proba: np.ndarray, score: Callable[[np.ndarray], float],
                  grid: Sequence[float] = WEIGHT_GRID) -> tuple[float, dict[float, float]]:
    """The lexical share of the mixture whose validation `score(mixed_proba)` is highest (ties: the encoder's side,
    the lower share), and every share's score."""
    scores = {float(w): float(score((1 - w) * encoder_proba + w * lexical_proba)) for w in grid}
    best = max(scores, key=lambda w: (round(scores[w], 6), -w))
    return best, scores
