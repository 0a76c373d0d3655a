"""Evaluation protocols and the report they write.

(a) Leave-one-document-out on the seeds: for each seed report, weak-label the other four (plus
    any added unlabelled corpus), fit the predictor, predict the held-out report and score it
    against its gold.  Scores are pooled over the five folds and also given per fold.
(b) Out of genre: fit on all seeds (plus added corpus), score on the gold sample drawn from the
    government-work-report corpus.  Paragraphs of the gold sample are removed from any training
    data, so no gold text is ever trained on, even with weak labels.
(c) In genre: fit on the seeds and the `train` documents of the civil-affairs corpus (plus added corpus), score
    on the gold of its `dev` documents (for choices) and of its `test` documents (for reporting only).
Thresholds come from each predictor's own training side (`thresholds_`), never from the test fold.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from models.atomic import atomic_write_text
from models.document import Document
from training.aggregate import aggregate
from training.dataset import text_hash
from models.rules import RuleSet, apply_rules, paragraphs_of

from .gold import GoldRow, align
from .metrics import score

PredictorFactory = Callable[[], object]


@dataclass
class Result:
    predictor: str
    protocol: str
    scores: dict
    folds: dict = field(default_factory=dict)


def weak_labels(paragraphs, rule_set: RuleSet, method: str = "weighted_vote") -> np.ndarray:
    return aggregate(apply_rules(rule_set, paragraphs), rule_set, [p.kind for p in paragraphs], method=method)


def training_labels(paragraphs, rule_set: RuleSet, method: str = "weighted_vote", corrections: Sequence = ()) -> np.ndarray:
    """The weak labels, with people's labels (`training.dataset.Correction`) in place of them where a correction names the paragraph."""
    soft = weak_labels(paragraphs, rule_set, method)
    fixes = {(c.doc_id, c.index): c for c in corrections}
    for i, p in enumerate(paragraphs):
        if (fix := fixes.get((p.doc_id, p.index))) is not None:
            soft[i] = fix.soft_labels(p, rule_set.theme_ids)
    return soft


def _training_paragraphs(documents: Sequence[Document], exclude_hashes: set[str]):
    return [p for p in paragraphs_of(documents) if text_hash(p.text) not in exclude_hashes]


def leave_one_document_out(factory: PredictorFactory, seeds: Sequence[Document], gold: Sequence[GoldRow], rule_set: RuleSet,
                           *, extra: Sequence[Document] = (), method: str = "weighted_vote", exclude_hashes: set[str] = frozenset(),
                           corrections: Sequence = ()) -> Result:
    theme_ids = rule_set.theme_ids
    y_all, pred_all, folds, name = [], [], {}, ""
    for held in seeds:
        train_docs = [d for d in seeds if d.doc_id != held.doc_id]
        assert held.doc_id not in {d.doc_id for d in train_docs}
        train = _training_paragraphs(list(train_docs) + list(extra), exclude_hashes)
        predictor = factory().fit(train, training_labels(train, rule_set, method, corrections))
        name = predictor.name
        rows = [g for g in gold if g.doc_id == held.doc_id]
        paragraphs, y = align(rows, [held], theme_ids)
        pred = (predictor.predict_proba(paragraphs) >= predictor.thresholds_).astype(int)
        folds[held.doc_id] = score(y, pred, theme_ids)
        y_all.append(y)
        pred_all.append(pred)
    return Result(name, "lodo", score(np.vstack(y_all), np.vstack(pred_all), theme_ids), folds)


def out_of_genre(factory: PredictorFactory, seeds: Sequence[Document], test_docs: Sequence[Document], gold: Sequence[GoldRow],
                 rule_set: RuleSet, *, extra: Sequence[Document] = (), method: str = "weighted_vote", corrections: Sequence = ()) -> Result:
    theme_ids = rule_set.theme_ids
    paragraphs, y = align(gold, test_docs, theme_ids)
    exclude = {text_hash(p.text) for p in paragraphs}
    train = _training_paragraphs(list(seeds) + list(extra), exclude)
    predictor = factory().fit(train, training_labels(train, rule_set, method, corrections))
    pred = (predictor.predict_proba(paragraphs) >= predictor.thresholds_).astype(int)
    return Result(predictor.name, "out_of_genre", score(y, pred, theme_ids))


def in_genre(factory: PredictorFactory, train_docs: Sequence[Document], held_out: dict[str, tuple[Sequence[Document], Sequence[GoldRow]]],
             rule_set: RuleSet, *, extra: Sequence[Document] = (), method: str = "weighted_vote", corrections: Sequence = ()) -> list[Result]:
    """One fit on `train_docs` (+ `extra`), scored on each held-out split: {"dev": (documents, gold), "test": ...}.
    Every learned predictor trains on `corrections` (people's labels of training paragraphs) in place of their weak labels.

    The held-out documents are never trained on; their paragraphs' text is removed from the training side as well,
    so that a paragraph repeated in another document (a slogan, a heading) cannot carry its gold over.
    """
    theme_ids = rule_set.theme_ids
    aligned = {split: align(gold, docs, theme_ids) for split, (docs, gold) in held_out.items()}
    held_ids = {d.doc_id for docs, _ in held_out.values() for d in docs}
    if clash := held_ids & {d.doc_id for d in list(train_docs) + list(extra)}:
        raise ValueError(f"held-out document(s) {sorted(clash)[:3]} are also training documents")
    exclude = {text_hash(p.text) for paragraphs, _ in aligned.values() for p in paragraphs}
    train = _training_paragraphs(list(train_docs) + list(extra), exclude)
    predictor = factory().fit(train, training_labels(train, rule_set, method, corrections))
    results = []
    for split, (paragraphs, y) in aligned.items():
        pred = (predictor.predict_proba(paragraphs) >= predictor.thresholds_).astype(int)
        results.append(Result(predictor.name, f"in_genre_{split}", score(y, pred, theme_ids)))
    return results


def score_predictions(name: str, protocol: str, paragraphs, y: np.ndarray, proba: np.ndarray, thresholds, theme_ids) -> Result:
    return Result(name, protocol, score(y, (proba >= np.asarray(thresholds)).astype(int), theme_ids))


PROTOCOL_TITLES = {
    "in_genre_dev": "In genre, dev: trained on the seeds + the civil-affairs corpus's train documents, scored on its 24 dev documents",
    "in_genre_test": "In genre, test: the same fits, scored on the corpus's 24 test documents (reported, never used for a choice)",
    "lodo": "Leave-one-document-out on the seeds (pooled over 5 folds)",
    "out_of_genre": "Out of genre: trained on the seeds, scored on the government-work-report gold sample",
}


def render_markdown(results: Sequence[Result], theme_ids: Sequence[str], *, header: str = "") -> str:
    out = [header] if header else []
    for protocol in dict.fromkeys(r.protocol for r in results):
        rs = [r for r in results if r.protocol == protocol]
        out.append(f"\n## {PROTOCOL_TITLES.get(protocol, protocol)}\n")
        out.append("| predictor | micro P | micro R | micro F1 | macro F1 | exact match | n |")
        out.append("|---|---|---|---|---|---|---|")
        for r in rs:
            s = r.scores
            out.append(f"| {r.predictor} | {s['micro']['precision']:.3f} | {s['micro']['recall']:.3f} | {s['micro']['f1']:.3f} | "
                       f"{s['macro']['f1']:.3f} | {s['exact_match']:.3f} | {s['n']} |")
        out.append("\nPer theme (P / R / F1, support):\n")
        out.append("| theme | support | " + " | ".join(r.predictor for r in rs) + " |")
        out.append("|---|---|" + "---|" * len(rs))
        for t in theme_ids:
            cells = [f"{r.scores['per_theme'][t]['precision']:.2f} / {r.scores['per_theme'][t]['recall']:.2f} / {r.scores['per_theme'][t]['f1']:.2f}" for r in rs]
            out.append(f"| {t} | {rs[0].scores['per_theme'][t]['support']} | " + " | ".join(cells) + " |")
        if any(r.folds for r in rs):
            out.append("\nPer held-out document (micro F1):\n")
            docs = list(next(r for r in rs if r.folds).folds)
            out.append("| document | " + " | ".join(r.predictor for r in rs) + " |")
            out.append("|---|" + "---|" * len(rs))
            for d in docs:
                out.append(f"| {d} | " + " | ".join(f"{r.folds[d]['micro']['f1']:.3f}" if d in r.folds else "" for r in rs) + " |")
    return "\n".join(out) + "\n"


def write_report(results: Sequence[Result], theme_ids: Sequence[str], out_dir: str | Path, *, name: str = "report", header: str = "") -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    md = atomic_write_text(out_dir / f"{name}.md", render_markdown(results, theme_ids, header=header))
    js = atomic_write_text(out_dir / f"{name}.json", json.dumps([r.__dict__ for r in results], ensure_ascii=False, indent=2))
    return md, js
