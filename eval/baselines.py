"""Predictors the harness can score.  Each has `fit(paragraphs, soft_labels)` and
`predict_proba(paragraphs) -> array (n, n_themes)`, plus per-theme `thresholds_` chosen on the
training side only.  Any object with that shape can be scored, including a wrapper around a
plain `predict_proba(texts)` (see `TextPredictor`).
"""
from __future__ import annotations

from collections import Counter
from typing import Callable, Sequence

import numpy as np

from models.segment import Paragraph
from models.decision import rules_and_model
from training.aggregate import AGGREGATORS
from training.dataset import CORPUS_NEGATIVES, DEFAULT_UNITS, Correction, sample_negatives
from models.rules import RuleSet, apply_rules

from training.thresholds import tune_thresholds


class RulesPredictor:
    """The rules alone: their aggregated votes, thresholded at 0.5."""

    def __init__(self, rule_set: RuleSet, method: str = "weighted_vote"):
        self.rule_set, self.method = rule_set, method
        self.name = f"rules ({method.replace('_', ' ')})"

    def fit(self, paragraphs: Sequence[Paragraph], soft_labels: np.ndarray | None = None) -> "RulesPredictor":
        # The label model learns rule accuracies from the training side's votes (no labels needed).
        votes = apply_rules(self.rule_set, paragraphs)
        self.model_ = AGGREGATORS[self.method](self.rule_set).fit(votes, [p.kind for p in paragraphs])
        self.thresholds_ = np.full(len(self.rule_set.theme_ids), 0.5)
        return self

    def predict_proba(self, paragraphs: Sequence[Paragraph]) -> np.ndarray:
        votes = apply_rules(self.rule_set, paragraphs)
        return self.model_.predict_proba(votes, [p.kind for p in paragraphs])


class TfidfPredictor:
    """Character n-gram TF-IDF + one-vs-rest logistic regression, trained on the hard weak labels."""

    name = "tf-idf char n-grams + logistic regression"

    def __init__(self, *, ngram_range=(1, 3), C: float = 4.0, inner_folds: int = 3, seed: int = 0, min_precision: float = 0.8):
        self.ngram_range, self.C, self.inner_folds, self.seed = ngram_range, C, inner_folds, seed
        self.min_precision = min_precision   # the same floor as the encoder's thresholds (TrainingConfig)

    def _fit_head(self, texts, y):
        # The same reader the default model mixes in (`training.lexical`), with every n-gram kept.
        from training.lexical import fit_lexical_head

        return fit_lexical_head(texts, y, max_features=None, C=self.C, seed=self.seed, ngram_range=self.ngram_range)

    def fit(self, paragraphs: Sequence[Paragraph], soft_labels: np.ndarray) -> "TfidfPredictor":
        texts = [p.text for p in paragraphs]
        y = (np.asarray(soft_labels) >= 0.5).astype(int)
        docs = np.array([p.doc_id for p in paragraphs])
        # Thresholds from inner cross-validation by document, against the weak labels: the training side only.
        oof = np.zeros(y.shape, dtype=float)
        unique = sorted(set(docs))
        folds = [unique[i::self.inner_folds] for i in range(min(self.inner_folds, len(unique)))]
        if len(folds) > 1:
            for held in folds:
                test = np.isin(docs, held)
                oof[test] = self._fit_head([t for t, m in zip(texts, ~test) if m], y[~test]).predict_proba([t for t, m in zip(texts, test) if m])
            self.thresholds_ = tune_thresholds(y, oof, min_precision=self.min_precision)
        else:
            self.thresholds_ = np.full(y.shape[1], 0.5)
        self.head_ = self._fit_head(texts, y)
        return self

    def predict_proba(self, paragraphs: Sequence[Paragraph]) -> np.ndarray:
        return self.head_.predict_proba([p.text for p in paragraphs])


class TextPredictor:
    """Adapts a `predict_proba(texts)` callable (already trained) to the harness."""

    def __init__(self, name: str, predict_proba: Callable[[list[str]], np.ndarray], thresholds: np.ndarray, rules_and_model_lines=None):
        self.name, self._predict, self.thresholds_ = name, predict_proba, np.asarray(thresholds)
        self.rules_and_model_lines_ = rules_and_model_lines   # (thresholds, keep) for `RulesAndModelPredictor`; None: the thresholds, keep 0

    def fit(self, paragraphs, soft_labels=None) -> "TextPredictor":
        return self

    def predict_proba(self, paragraphs: Sequence[Paragraph]) -> np.ndarray:
        return np.asarray(self._predict([p.text for p in paragraphs]))


class EncoderPredictor:
    """The fine-tuned encoder, trained inside the protocol on the training side's weak labels.

    Whole training documents holding about a quarter of the paragraphs are the validation split (early
    stopping, thresholds), as `policy-tagger train` does.  Paragraphs of documents other than the seeds are a corpus
    (`policy-tagger train --corpus`): those with a weak label and `max_extra_negatives` of the rest, paragraphs only.
    """

    def __init__(self, rule_set: RuleSet, config=None, *, seed_docs: Sequence[str] | None = None, units: str = DEFAULT_UNITS,
                 max_extra_negatives: int = CORPUS_NEGATIVES, corrections: Sequence[Correction] = (), workdir=None,
                 name: str = "fine-tuned encoder"):
        from training.config import TrainingConfig

        self.rule_set, self.theme_ids, self.config, self.units = rule_set, rule_set.theme_ids, config or TrainingConfig(), units
        self.seed_docs = set(seed_docs) if seed_docs is not None else None   # None: every document is a seed
        self.max_extra_negatives, self.workdir, self.name = max_extra_negatives, workdir, name
        # A person's labels for some training paragraphs (as `policy-tagger train --corrections`); those absent from a
        # protocol's training side (a held-out document) are passed over.
        self.corrections = {(c.doc_id, c.index): c for c in corrections}

    _fitted: dict[str, str] = {}   # one fit per (training data, settings) per process: predictors that wrap it reuse it

    def fit(self, paragraphs: Sequence[Paragraph], soft_labels: np.ndarray) -> "EncoderPredictor":
        import hashlib
        import json

        from models.modeling import ThemeModel

        key = hashlib.sha256(json.dumps([[p.doc_id, p.index, p.text] for p in paragraphs], ensure_ascii=False).encode()
                             + np.asarray(soft_labels, dtype=np.float32).tobytes()
                             + json.dumps([self.config.to_dict(), sorted(self.seed_docs or []), self.max_extra_negatives, self.units,
                                           sorted(map(repr, self.corrections.values()))]).encode()).hexdigest()
        if key not in self._fitted:
            self._fitted[key] = str(self._fit(paragraphs, soft_labels))
        self.model_ = ThemeModel.load(self._fitted[key])
        self.thresholds_, self.rules_and_model_lines_ = self.model_.thresholds, self.model_.rules_and_model_lines
        return self

    def _fit(self, paragraphs: Sequence[Paragraph], soft_labels: np.ndarray):
        import tempfile
        from pathlib import Path

        from training.dataset import sentence_units, split_documents, to_dataset_dict, unit_row

        from .harness import weak_labels
        from training.train import fit_model

        soft = np.array(soft_labels, dtype=float)
        fixed = {i for i, p in enumerate(paragraphs) if (p.doc_id, p.index) in self.corrections}
        for i in fixed:
            soft[i] = self.corrections[paragraphs[i].doc_id, paragraphs[i].index].soft_labels(paragraphs[i], self.theme_ids)
        seeds = sorted({p.doc_id for p in paragraphs if self.seed_docs is None or p.doc_id in self.seed_docs})
        keep = sample_negatives([p.doc_id in seeds or soft[i].max() >= 0.5 or i in fixed for i, p in enumerate(paragraphs)],
                                self.max_extra_negatives, self.config.seed)
        sizes = Counter(p.doc_id for p in paragraphs)
        validation = split_documents([seeds], validation_fraction=0.25, seed=self.config.seed, sizes=sizes)
        votes = apply_rules(self.rule_set, paragraphs)   # the rows' fired rules: what tuning the rules+model lines reads
        units = [unit_row(paragraphs[i], soft[i], fired=votes.fired(i), source="correction" if i in fixed else "rules")
                 for i in np.flatnonzero(keep)]
        if self.units == "paragraphs+sentences":   # as `policy-tagger label --units`: the seeds' training-side sentences
            sentences = [s for i in np.flatnonzero(keep) if paragraphs[i].doc_id in seeds and paragraphs[i].doc_id not in validation
                         and i not in fixed for s in sentence_units(paragraphs[i])]
            if sentences:
                units += [unit_row(s, y, unit="sentence") for s, y in zip(sentences, weak_labels(sentences, self.rule_set))]
        rows = {"train": [], "validation": []}
        for row in units:
            rows["validation" if row["doc_id"] in validation else "train"].append(row)
        dd = to_dataset_dict(rows, self.theme_ids)
        labeling = {"themes": self.theme_ids, "theme_names": {}, "sources": ["(evaluation protocol)"],
                    "aggregation": "weighted_vote", "rules_file": self.rule_set.source, "rules_sha256": "", "rules_text": self.rule_set.raw}
        out = Path(tempfile.mkdtemp(prefix="policy-tagger-eval-", dir=self.workdir))
        return fit_model(dd, labeling, out / "model", config=self.config, progress=False)

    def predict_proba(self, paragraphs: Sequence[Paragraph]) -> np.ndarray:
        return self.model_.predict_proba([p.text for p in paragraphs])


class RulesAndModelPredictor:
    """The rules, with a trained model adding what they miss (`models.decision.rules_and_model`), at the lines the
    model predictor carries (`rules_and_model_lines_`), else at its thresholds with every rule positive standing."""

    def __init__(self, rule_set: RuleSet, model_predictor, name: str | None = None):
        self.rule_set, self.model_predictor = rule_set, model_predictor
        self.name = name or f"rules + {model_predictor.name}"

    def fit(self, paragraphs: Sequence[Paragraph], soft_labels: np.ndarray) -> "RulesAndModelPredictor":
        self.rules_ = RulesPredictor(self.rule_set).fit(paragraphs)
        self.model_predictor.fit(paragraphs, soft_labels)
        self.thresholds_ = np.full(len(self.rule_set.theme_ids), 0.5)
        return self

    def predict_proba(self, paragraphs: Sequence[Paragraph]) -> np.ndarray:
        votes, kinds = apply_rules(self.rule_set, paragraphs), [p.kind for p in paragraphs]
        thresholds, keep = getattr(self.model_predictor, "rules_and_model_lines_", None) or (self.model_predictor.thresholds_, None)
        return rules_and_model(votes, self.rules_.model_.predict_proba(votes, kinds), self.model_predictor.predict_proba(paragraphs),
                               thresholds, self.rule_set, kinds, keep=keep)
