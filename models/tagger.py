"""Tag reports: every paragraph's themes, their scores, and where in the paragraph the evidence is.

    >>> from models import Tagger                               # doctest: +SKIP
    >>> tagger = Tagger.load("models/default")                  # doctest: +SKIP
    >>> doc = tagger.tag("一、推进殡葬改革\\n新建公益性公墓3处。")     # doctest: +SKIP
    >>> [(p.index, [t.theme for t in p.themes]) for p in doc.paragraphs]   # doctest: +SKIP
    [(0, ['affairs']), (1, ['affairs'])]

`tag` always returns a `TaggedDocument`.  Evidence is found by scoring each sentence of a tagged
paragraph with the same model: the sentences over the theme's threshold, or else the best one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from tqdm.auto import tqdm

from .document import Document, build_document
from .modeling import ThemeModel
from .normalise import NormaliseConfig

NO_THEME_KINDS = ("meta",)   # bylines, sources, dates: never tagged (as in training)


@dataclass(frozen=True)
class Evidence:
    text: str
    start: int              # offsets into the paragraph's normalised text
    end: int
    original_start: int     # offsets into the original document text
    original_end: int
    score: float


@dataclass(frozen=True)
class ThemeHit:
    theme: str
    name: str
    score: float
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class TaggedParagraph:
    doc_id: str
    index: int
    kind: str
    heading: str | None
    text: str                       # normalised (simplified) text
    original: str                   # the same paragraph in the original document
    original_start: int
    original_end: int
    themes: tuple[ThemeHit, ...]    # over threshold, best first
    scores: dict[str, float] = field(repr=False, default_factory=dict)   # every theme's score


@dataclass(frozen=True)
class ThemeSummary:
    theme: str
    name: str
    paragraphs: int
    share_of_text: float            # characters of tagged paragraphs / characters of content paragraphs


@dataclass(frozen=True)
class TaggedDocument:
    doc_id: str
    source: str | None
    paragraphs: tuple[TaggedParagraph, ...]
    summary: tuple[ThemeSummary, ...]


class Tagger:
    def __init__(self, model: ThemeModel, *, normalise_config: NormaliseConfig | None = None, batch_size: int = 32):
        self.model, self.normalise_config, self.batch_size = model, normalise_config, batch_size

    @classmethod
    def load(cls, path: str | Path, *, quantize: bool = False, batch_size: int = 32) -> "Tagger":
        return cls(ThemeModel.load(path, quantize=quantize), batch_size=batch_size)

    def tag(self, text: str, doc_id: str = "document") -> TaggedDocument:
        """Tag raw report text (any script; it is normalised first)."""
        return self.tag_documents([build_document(doc_id, text, config=self.normalise_config)])[0]

    def tag_documents(self, documents: Sequence[Document], *, progress: bool = False) -> list[TaggedDocument]:
        items = [(d, p) for d in documents for p in d.paragraphs if p.kind not in NO_THEME_KINDS]
        proba = np.zeros((len(items), len(self.model.themes)))
        bar = tqdm(total=len(items), desc="tagging", unit="para", disable=not progress)
        step = self.batch_size * 8
        for s in range(0, len(items), step):
            proba[s:s + step] = self.model.predict_proba([p.text for _, p in items[s:s + step]], batch_size=self.batch_size)
            bar.update(len(items[s:s + step]))
        bar.close()
        hits = proba >= self.model.thresholds
        evidence = self._evidence(items, hits)
        by_key = {(d.doc_id, p.index): (proba[i], evidence.get(i, {})) for i, (d, p) in enumerate(items)}
        return [self._tagged_document(d, by_key) for d in documents]

    def _evidence(self, items, hits) -> dict[int, dict[int, tuple[Evidence, ...]]]:
        """Per tagged paragraph and theme, the sentences that carry it."""
        jobs = [(i, s) for i, (_, p) in enumerate(items) if hits[i].any() for s in p.sentences]
        if not jobs:
            return {}
        multi = [(i, s) for i, s in jobs if len(items[i][1].sentences) > 1]
        sproba = dict(zip(multi, self.model.predict_proba([s.text for _, s in multi], batch_size=self.batch_size))) if multi else {}
        out: dict[int, dict[int, tuple[Evidence, ...]]] = {}
        for i, (doc, p) in enumerate(items):
            if not hits[i].any():
                continue
            out[i] = {}
            for t in np.flatnonzero(hits[i]):
                scored = [(s, float(sproba[(i, s)][t]) if (i, s) in sproba else 1.0) for s in p.sentences]
                chosen = [x for x in scored if x[1] >= self.model.thresholds[t]] or [max(scored, key=lambda x: x[1])]
                out[i][t] = tuple(Evidence(s.text, s.start, s.end, *doc.original_span(p, s.start, s.end), round(sc, 4)) for s, sc in chosen)
        return out

    def _tagged_document(self, doc: Document, by_key) -> TaggedDocument:
        themes, names = self.model.themes, self.model.meta.theme_names
        paragraphs = []
        for p in doc.paragraphs:
            scores, evidence = by_key.get((doc.doc_id, p.index), (np.zeros(len(themes)), {}))
            ranked = sorted(evidence, key=lambda t: -scores[t])
            hits = tuple(ThemeHit(themes[t], names.get(themes[t], themes[t]), round(float(scores[t]), 4), evidence[t]) for t in ranked)
            start, end = doc.original_span(p)
            paragraphs.append(TaggedParagraph(doc.doc_id, p.index, p.kind, p.heading, p.text, doc.normalised.original[start:end],
                                              start, end, hits, {t: round(float(s), 4) for t, s in zip(themes, scores)}))
        content = sum(len(p.text) for p in paragraphs if p.kind not in NO_THEME_KINDS) or 1
        summary = []
        for t in themes:
            tagged = [p for p in paragraphs if any(h.theme == t for h in p.themes)]
            if tagged:
                summary.append(ThemeSummary(t, names.get(t, t), len(tagged), round(sum(len(p.text) for p in tagged) / content, 4)))
        summary.sort(key=lambda s: -s.share_of_text)
        return TaggedDocument(doc.doc_id, doc.source, tuple(paragraphs), tuple(summary))
