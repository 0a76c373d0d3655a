"""The weak-label dataset: documents -> rule votes -> soft labels -> a `datasets.DatasetDict`.

One row per paragraph.  Train and validation are split **by document** so that no report leaks
paragraphs into both sides.  Corrections (a user's JSONL of fixed labels) override the weak
labels of the paragraphs they name.
"""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from models.atomic import atomic_directory
from models.document import Document

from .aggregate import aggregate
from .rules import RuleSet, apply_rules, paragraphs_of

LABEL_THRESHOLD = 0.5


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Correction:
    doc_id: str
    index: int
    labels: tuple[str, ...]
    text_hash: str | None = None


def load_corrections(path: str | Path, theme_ids: Sequence[str]) -> list[Correction]:
    """JSONL rows `{"doc_id", "index", "labels": [...], "hash"?}`; an unknown theme is an error."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            c = Correction(str(row["doc_id"]), int(row["index"]), tuple(row["labels"]), row.get("hash"))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path}:{n}: expected {{\"doc_id\", \"index\", \"labels\": [...]}} ({err})") from err
        if unknown := set(c.labels) - set(theme_ids):
            raise ValueError(f"{path}:{n}: unknown theme(s) {sorted(unknown)}; known: {list(theme_ids)}")
        out.append(c)
    return out


def split_documents(groups: Sequence[Sequence[str]], *, validation_fraction: float, seed: int) -> set[str]:
    """Validation document ids: from each group (a source folder or corpus), a seeded share of its documents."""
    rng = random.Random(seed)
    validation = set()
    for ids in groups:
        ids = sorted(ids)
        if len(ids) < 2 or validation_fraction <= 0:
            continue
        k = min(len(ids) - 1, max(1, round(len(ids) * validation_fraction)))
        validation.update(rng.sample(ids, k))
    return validation


def label_rows(documents: Sequence[Document], rule_set: RuleSet, *, method: str = "weighted_vote",
               corrections: Iterable[Correction] = (), progress: bool = False) -> list[dict]:
    """One dict per paragraph: text, structure, soft and hard labels, the rules that fired."""
    paragraphs = paragraphs_of(documents)
    votes = apply_rules(rule_set, paragraphs, progress=progress)
    kinds = [p.kind for p in paragraphs]
    proba = aggregate(votes, rule_set, kinds, method=method)
    fixes = {(c.doc_id, c.index): c for c in corrections}
    rows = []
    for i, p in enumerate(paragraphs):
        soft = proba[i].round(4).tolist()
        source = "rules"
        fix = fixes.pop((p.doc_id, p.index), None)
        if fix is not None:
            if fix.text_hash and fix.text_hash != text_hash(p.text):
                raise ValueError(f"correction for {p.doc_id}#{p.index} does not match the paragraph's text any more (hash {fix.text_hash})")
            soft = [1.0 if t in fix.labels else 0.0 for t in rule_set.theme_ids]
            source = "correction"
        rows.append({
            "doc_id": p.doc_id, "index": p.index, "kind": p.kind, "heading": p.heading or "", "text": p.text,
            "hash": text_hash(p.text), "soft_labels": soft, "labels": [int(s >= LABEL_THRESHOLD) for s in soft],
            "rules": votes.fired(i), "label_source": source,
        })
    if fixes:
        missing = ", ".join(f"{d}#{i}" for d, i in list(fixes)[:5])
        raise ValueError(f"{len(fixes)} correction(s) name paragraphs that were not found: {missing}")
    return rows


def build_dataset(documents_by_source: Sequence[Sequence[Document]], rule_set: RuleSet, *, method: str = "weighted_vote",
                  corrections: Iterable[Correction] = (), validation_fraction: float = 0.2, seed: int = 13,
                  progress: bool = False):
    """A `DatasetDict` with train/validation splits by document."""
    from datasets import Dataset, DatasetDict, Features, Sequence as Seq, Value

    documents = [d for group in documents_by_source for d in group]
    rows = label_rows(documents, rule_set, method=method, corrections=corrections, progress=progress)
    validation = split_documents([[d.doc_id for d in g] for g in documents_by_source], validation_fraction=validation_fraction, seed=seed)
    features = Features({
        "doc_id": Value("string"), "index": Value("int32"), "kind": Value("string"), "heading": Value("string"),
        "text": Value("string"), "hash": Value("string"), "soft_labels": Seq(Value("float32")),
        "labels": Seq(Value("int8")), "rules": Seq(Value("string")), "label_source": Value("string"),
    })
    split = {"train": [r for r in rows if r["doc_id"] not in validation],
             "validation": [r for r in rows if r["doc_id"] in validation]}
    # An empty split is left out: datasets cannot reload a split saved with no rows.
    dd = DatasetDict({k: Dataset.from_list(v, features=features) for k, v in split.items() if v})
    return dd


def summarise(dd, theme_ids: Sequence[str]) -> str:
    lines = []
    for name, ds in dd.items():
        labels = np.array(ds["labels"]) if len(ds) else np.zeros((0, len(theme_ids)))
        no_vote = sum(1 for r in ds["rules"] if not r)
        docs = len(set(ds["doc_id"]))
        lines.append(f"{name}: {len(ds)} paragraphs from {docs} document(s); {no_vote / max(len(ds), 1):.0%} with no rule vote")
        lines.append("  " + "  ".join(f"{t}={int(n)}" for t, n in zip(theme_ids, labels.sum(axis=0))))
    return "\n".join(lines)


def rules_fingerprint(rule_set: RuleSet) -> str:
    return hashlib.sha256(rule_set.raw.encode("utf-8")).hexdigest()[:16]


def save_dataset(dd, out: str | Path, rule_set: RuleSet, *, method: str, sources: Sequence[str], seed: int, validation_fraction: float) -> Path:
    """Write the DatasetDict plus `labeling.json` (what produced it), atomically."""
    with atomic_directory(out) as tmp:
        dd.save_to_disk(str(tmp / "data"))
        meta = {
            "themes": rule_set.theme_ids, "theme_names": {t.id: t.name for t in rule_set.themes}, "rules_file": rule_set.source, "rules_sha256": rules_fingerprint(rule_set),
            "aggregation": method, "sources": list(sources), "seed": seed, "validation_fraction": validation_fraction,
            "splits": {k: {"paragraphs": len(v), "documents": sorted(set(v["doc_id"]))} for k, v in dd.items()},
        }
        (tmp / "labeling.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    return Path(out)


def load_dataset_dir(path: str | Path):
    """(DatasetDict, labeling metadata) from a folder written by `save_dataset`."""
    from datasets import load_from_disk

    path = Path(path)
    if not (path / "labeling.json").is_file():
        raise FileNotFoundError(f"{path} is not a weak-label dataset (no labeling.json); create one with `policy-tagger label`")
    return load_from_disk(str(path / "data")), json.loads((path / "labeling.json").read_text(encoding="utf-8"))
