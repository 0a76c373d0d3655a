"""Gold labels: loading, validating and aligning them with freshly segmented documents.

A gold row is keyed so that it survives re-segmentation: document id, paragraph index and a
hash of the paragraph's normalised text.  If segmentation changes so that the paragraph at that
index is no longer the one annotated, loading fails loudly rather than scoring the wrong text.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from models.document import Document
from models.segment import Paragraph
from training.dataset import text_hash

GOLD_DIR = Path(__file__).with_name("gold")
SEED_GOLD = GOLD_DIR / "seeds.jsonl"
OUTGENRE_GOLD = GOLD_DIR / "gwr_sample.jsonl"
# Every paragraph of the civil-affairs corpus's dev and test documents (training/corpora/civil_affairs_reports/).
IN_GENRE_GOLD = {"dev": GOLD_DIR / "civil_affairs_dev.jsonl", "test": GOLD_DIR / "civil_affairs_test.jsonl"}


class GoldError(ValueError):
    """A gold file that is malformed or no longer matches the documents."""


@dataclass(frozen=True)
class GoldRow:
    doc_id: str
    index: int
    hash: str
    labels: tuple[str, ...]
    reason: str | None = None


def load_gold(path: str | Path, theme_ids: Sequence[str]) -> list[GoldRow]:
    """Rows of a gold JSONL file; unknown themes, duplicate keys and missing fields are errors."""
    path = Path(path)
    rows, seen = [], Counter()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            row = GoldRow(str(d["doc_id"]), int(d["index"]), str(d["hash"]), tuple(d["labels"]), d.get("reason"))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise GoldError(f"{path}:{n}: expected {{\"doc_id\", \"index\", \"hash\", \"labels\": [...]}} ({type(err).__name__}: {err})") from err
        if unknown := sorted(set(row.labels) - set(theme_ids)):
            raise GoldError(f"{path}:{n}: unknown theme(s) {unknown}; known themes: {list(theme_ids)}")
        key = (row.doc_id, row.index)
        if seen[key]:
            raise GoldError(f"{path}:{n}: duplicate key {row.doc_id}#{row.index}")
        seen[key] += 1
        rows.append(row)
    if not rows:
        raise GoldError(f"{path}: no gold rows")
    return rows


def align(gold: Sequence[GoldRow], documents: Sequence[Document], theme_ids: Sequence[str]) -> tuple[list[Paragraph], np.ndarray]:
    """The annotated paragraphs, in gold order, and their 0/1 label matrix (n, n_themes)."""
    by_key = {(p.doc_id, p.index): p for d in documents for p in d.paragraphs}
    paragraphs, y = [], np.zeros((len(gold), len(theme_ids)), dtype=int)
    for i, row in enumerate(gold):
        p = by_key.get((row.doc_id, row.index))
        if p is None:
            raise GoldError(f"gold paragraph {row.doc_id}#{row.index} not found: is the document missing, or was it re-segmented?")
        if text_hash(p.text) != row.hash:
            raise GoldError(f"gold paragraph {row.doc_id}#{row.index} no longer matches its text after re-segmentation "
                            f"(hash {row.hash}, now {text_hash(p.text)}: {p.text[:30]!r}); re-key or re-annotate it")
        paragraphs.append(p)
        y[i, [theme_ids.index(t) for t in row.labels]] = 1
    return paragraphs, y
