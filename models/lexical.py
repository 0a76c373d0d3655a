"""A character n-gram reader beside the encoder: TF-IDF over 1-3 character n-grams and one logistic regression per
theme, stored as arrays (safetensors + JSON, no pickle) in the model folder.

Why: the encoder is e5-small, frozen, with one pooling layer and the head trained (what the CPU affords). On the
in-genre corpus's people's labels, character n-grams read the procedure and accountability words of `leadership`,
`party` or `digital` better than a frozen 384-d mean does, and the two err differently: their mixture, with the
rules, is what the default model tags with (README, lever table). A model folder with these files mixes the two
readers' scores (`ThemeModel.predict_proba`); without them it is the encoder alone, as before.

    >>> head = LexicalHead.load(folder)                       # doctest: +SKIP
    >>> head.predict_proba(["健全低保标准动态调整机制"]).shape   # doctest: +SKIP
    (1, 13)
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np

LEXICAL_WEIGHTS = "lexical_head.safetensors"
LEXICAL_FILE = "lexical_head.json"


@dataclass
class LexicalHead:
    """TF-IDF (sublinear tf, smoothed idf, l2 rows: scikit-learn's `TfidfVectorizer`) and per-theme logistic regression."""

    vocabulary: list[str]       # the n-gram of each feature column, in column order
    idf: np.ndarray             # (features,)
    coef: np.ndarray            # (themes, features)
    intercept: np.ndarray       # (themes,)
    ngram_range: tuple[int, int]
    weight: float               # the lexical scores' share of the mixture with the encoder's (`mix`)
    about: dict                 # how it was fitted: settings, rows, the choice of `weight`

    def __post_init__(self):
        n = len(self.vocabulary)
        if self.idf.shape != (n,) or self.coef.shape[1:] != (n,) or self.intercept.shape != self.coef.shape[:1]:
            raise ValueError(f"lexical head: shapes disagree (vocabulary {n}, idf {self.idf.shape}, coef {self.coef.shape}, "
                             f"intercept {self.intercept.shape})")
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"lexical head: weight must lie in [0, 1], not {self.weight}")

    def features(self, texts: Sequence[str]):
        """The TF-IDF rows of `texts` (sparse, one per text), as the fitted `TfidfVectorizer` would give them."""
        from sklearn.preprocessing import normalize

        counts = self._counter.transform(list(texts)).astype(np.float64)
        counts.data = 1.0 + np.log(counts.data)   # sublinear tf
        return normalize(counts.multiply(self.idf[None, :]).tocsr())

    @cached_property
    def _counter(self):
        """n-gram counts over the stored vocabulary (built once: checking a 50,000-entry vocabulary takes a while)."""
        from sklearn.feature_extraction.text import CountVectorizer

        return CountVectorizer(analyzer="char", ngram_range=tuple(self.ngram_range), vocabulary={g: i for i, g in enumerate(self.vocabulary)})

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(theme) per text, (n_texts, n_themes)."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.intercept)))
        logits = self.features(texts) @ self.coef.T + self.intercept[None, :]
        return 1.0 / (1.0 + np.exp(-np.asarray(logits)))

    def mix(self, encoder_proba: np.ndarray, lexical_proba: np.ndarray) -> np.ndarray:
        return (1.0 - self.weight) * np.asarray(encoder_proba) + self.weight * np.asarray(lexical_proba)

    def save(self, folder: str | Path) -> None:
        from safetensors.numpy import save_file

        folder = Path(folder)
        save_file({"idf": self.idf.astype(np.float32), "coef": self.coef.astype(np.float32), "intercept": self.intercept.astype(np.float32)},
                  str(folder / LEXICAL_WEIGHTS))
        (folder / LEXICAL_FILE).write_text(json.dumps({"ngram_range": list(self.ngram_range), "weight": self.weight, "about": self.about,
                                                       "vocabulary": self.vocabulary}, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> "LexicalHead | None":
        """The head saved in `folder`, or None when the folder has none (an encoder-only model)."""
        from safetensors.numpy import load_file

        folder = Path(folder)
        present = [(folder / n).is_file() for n in (LEXICAL_WEIGHTS, LEXICAL_FILE)]
        if not any(present):
            return None
        if not all(present):
            raise FileNotFoundError(f"{folder}: the lexical head needs both {LEXICAL_WEIGHTS} and {LEXICAL_FILE}; one is missing")
        arrays, spec = load_file(str(folder / LEXICAL_WEIGHTS)), json.loads((folder / LEXICAL_FILE).read_text(encoding="utf-8"))
        return cls(vocabulary=spec["vocabulary"], idf=arrays["idf"].astype(np.float64), coef=arrays["coef"].astype(np.float64),
                   intercept=arrays["intercept"].astype(np.float64), ngram_range=tuple(spec["ngram_range"]), weight=float(spec["weight"]),
                   about=spec.get("about", {}))
