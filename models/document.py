"""A report as the rest of the product sees it: load -> normalise -> segment, in one place."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .ingest import DEFAULT_MAX_BYTES, IngestError, read_reports
from .normalise import NormaliseConfig, NormalisedText, normalise
from .segment import Paragraph, segment


@dataclass(frozen=True)
class Document:
    doc_id: str
    normalised: NormalisedText
    paragraphs: tuple[Paragraph, ...]
    source: str | None = None

    @property
    def text(self) -> str:
        return self.normalised.text

    def original_span(self, paragraph: Paragraph, start: int = 0, end: int | None = None) -> tuple[int, int]:
        """Span of the original text behind [start, end) of a paragraph (the whole paragraph by default)."""
        end = len(paragraph.text) if end is None else end
        return self.normalised.to_original(paragraph.start + start, paragraph.start + end)


def build_document(doc_id: str, raw: str, *, config: NormaliseConfig | None = None, source: str | None = None) -> Document:
    normalised = normalise(raw, config)
    return Document(doc_id, normalised, tuple(segment(doc_id, normalised.text)), source)


def load_documents(
    paths: Iterable[str | Path], *, config: NormaliseConfig | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[list[Document], list[IngestError]]:
    """Documents from files and folders, plus the files that were skipped and why."""
    result = read_reports(paths, max_bytes=max_bytes)
    docs = [build_document(r.doc_id, r.text, config=config, source=str(r.path)) for r in result.reports]
    return docs, result.skipped
