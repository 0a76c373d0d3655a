"""The corpora inside the repository (training/corpora/, copied from the project's shared data) and the fixed
split of the civil-affairs corpus: which documents may train, which are for choices (`dev`), which only report (`test`).

    >>> [d.doc_id for d in civil_affairs_documents("dev")][:2]     # doctest: +SKIP
    ['s1_10', 's2_12']
"""
from __future__ import annotations

from pathlib import Path

CORPORA = Path(__file__).with_name("corpora")
# National government work reports, 1954-2025 (public domain; training/corpora/README.md).
REPORT_CORPUS = CORPORA / "government_work_reports.jsonl"
# ~290 civil-affairs documents written for the project, with a fixed train/dev/test split per document.
CIVIL_AFFAIRS = CORPORA / "civil_affairs_reports"
SPLITS = ("train", "dev", "test")


def civil_affairs_manifest(root: Path = CIVIL_AFFAIRS) -> list[dict]:
    """One dict per document: id, split, slice, genre, place, year, script, paragraphs, chars."""
    from models.ingest import read_manifest

    return read_manifest(root)


def civil_affairs_files(split: str, root: Path = CIVIL_AFFAIRS) -> list[Path]:
    """The document files of one split, in manifest order (what `policy-tagger ... civil_affairs_reports:SPLIT` reads)."""
    from models.ingest import split_corpus_files

    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    return split_corpus_files(root, split)


def civil_affairs_documents(split: str, root: Path = CIVIL_AFFAIRS):
    """The documents of one split, normalised and segmented (`models.Document`)."""
    from models import load_documents

    docs, skipped = load_documents(civil_affairs_files(split, root))
    if skipped:
        raise ValueError(f"{root}: unreadable corpus documents: {[str(e) for e in skipped]}")
    return docs
