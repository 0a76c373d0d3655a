"""Tag reports: every paragraph's themes, their scores, and where in the paragraph the evidence is.

    >>> from models import Tagger                               # doctest: +SKIP
    >>> tagger = Tagger.load("models/default")                  # doctest: +SKIP
    >>> doc = tagger.tag("一、推进殡葬改革\\n新建公益性公墓3处。")     # doctest: +SKIP
    >>> [(p.index, [t.theme for t in p.themes]) for p in doc.paragraphs]   # doctest: +SKIP
    [(0, ['affairs']), (1, ['affairs'])]

`tag` always returns a `TaggedDocument`.  Evidence for a tagged theme is, first, the sentences
where one of that theme's labeling rules matched (the rules the model was trained on, kept in its
folder as `rules.yaml`): exact, and free.  Where no rule of the theme matched (the model found the
theme on its own), each sentence is scored with the same model and the sentences over the theme's
threshold, or else the best one, are the evidence.  Scoring sentences costs a second pass, so it is
only paid where the rules are silent.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from .decision import WeightedVote, rules_and_model
from .document import Document, build_document
from .modeling import RULES_FILE, ThemeModel
from .normalise import NormaliseConfig
from .rules import RuleSet, apply_rules

NO_THEME_KINDS = ("meta",)   # bylines, sources, dates: never tagged (as in training)


@dataclass(frozen=True)
class Evidence:
    text: str
    start: int              # offsets into the paragraph's normalised text
    end: int
    original_start: int     # offsets into the original document text
    original_end: int
    score: float            # the sentence's own score; the paragraph's score when a rule located it
    rule: str | None = None # the labeling rule that matched in this sentence, if one did


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


DECISIONS = ("model", "rules", "rules+model")


class Tagger:
    """A model plus the rules that locate its evidence (`rules=None`: evidence by sentence scores only).

    `decision="model"`: a theme is tagged where the model's score reaches its threshold.
    `decision="rules"`: where the rules' weighted vote reaches 0.5 (the model still scores every theme,
    and locates evidence where no rule matched).
    `decision="rules+model"`: where the rules' vote says so or the model does (unless an exclusion
    rule of the theme fired), at the lines the model folder was tuned to (`ThemeModel.rules_and_model_lines`:
    where the model scores a rule's positive below `keep`, it is dropped); scores are then rescaled so that
    0.5 is the line for every theme (`models.decision.rules_and_model`, the same function the evaluation scores).
    All three are scored side by side in `eval/results/report.md`.
    """

    def __init__(self, model: ThemeModel, *, rules: RuleSet | None = None, decision: str = "model", normalise_config: NormaliseConfig | None = None,
                 batch_size: int = 32):
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}, not {decision!r}")
        if decision != "model" and (rules is None or rules.theme_ids != model.themes):
            raise ValueError(f"decision {decision!r} needs the rules the model was trained on (same themes as the model: {model.themes})")
        self.model, self.rule_set, self.decision = model, rules, decision
        self.normalise_config, self.batch_size = normalise_config, batch_size
        themes = set(model.themes)
        self.evidence_rules = [r for r in (rules.rules if rules is not None else ()) if r.theme in themes and r.vote > 0 and r.field == "text"]

    @classmethod
    def load(cls, path: str | Path, *, quantize: bool = False, batch_size: int = 32, rules: RuleSet | None = None, decision: str = "model",
             backend: str = "torch") -> "Tagger":
        """The model folder at `path`, with the rules it was trained on (its `rules.yaml`) unless `rules` is given;
        `backend="onnx"`: the network runs in ONNX Runtime (`models.runtime`)."""
        model = ThemeModel.load(path, quantize=quantize, backend=backend)
        if rules is None and (Path(path) / RULES_FILE).is_file():
            rules = RuleSet.load(Path(path) / RULES_FILE)
        return cls(model, rules=rules, decision=decision, batch_size=batch_size)

    def tag(self, text: str, doc_id: str = "document") -> TaggedDocument:
        """Tag raw report text (any script; it is normalised first)."""
        return self.tag_documents([build_document(doc_id, text, config=self.normalise_config)])[0]

    def tag_documents(self, documents: Sequence[Document], *, progress: bool = False) -> list[TaggedDocument]:
        items = [(d, p) for d in documents for p in d.paragraphs if p.kind not in NO_THEME_KINDS]
        paragraphs = [p for _, p in items]
        scores, hits = self.decide(paragraphs, self.model_scores(paragraphs, progress=progress))
        evidence = self._evidence(items, hits, scores)
        by_key = {(d.doc_id, p.index): (scores[i], evidence.get(i, {})) for i, (d, p) in enumerate(items)}
        return [self._tagged_document(d, by_key) for d in documents]

    def model_scores(self, paragraphs: Sequence, *, progress: bool = False, desc: str = "tagging") -> np.ndarray:
        """The model's score for every theme of each paragraph (n, themes), a few batches at a time (the progress bar)."""
        proba = np.zeros((len(paragraphs), len(self.model.themes)))
        step = self.batch_size * 8
        with tqdm(total=len(paragraphs), desc=desc, unit="para", disable=not progress) as bar:
            for s in range(0, len(paragraphs), step):
                proba[s:s + step] = self.model.predict_proba([p.text for p in paragraphs[s:s + step]], batch_size=self.batch_size)
                bar.update(len(paragraphs[s:s + step]))
        return proba

    def decide(self, paragraphs, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scores shown, hits) per paragraph and theme, by this tagger's decision, from the model's scores `proba`."""
        if self.decision == "model":
            return proba, proba >= self.model.thresholds
        votes, kinds = apply_rules(self.rule_set, paragraphs), [p.kind for p in paragraphs]
        rules = WeightedVote(self.rule_set).predict_proba(votes, kinds)
        if self.decision == "rules":
            return rules, rules >= 0.5
        thresholds, keep = self.model.rules_and_model_lines
        scores = rules_and_model(votes, rules, proba, thresholds, self.rule_set, kinds, keep=keep)
        return scores, scores >= 0.5

    def _evidence(self, items, hits: np.ndarray, scores: np.ndarray) -> dict[int, dict[int, tuple[Evidence, ...]]]:
        """Per tagged paragraph and theme, the sentences that carry it: where its rules matched, else by sentence score."""
        index = {t: k for k, t in enumerate(self.model.themes)}
        located: dict[tuple[int, int], list[tuple[object, str]]] = {}   # (paragraph, theme) -> [(sentence, rule)]
        for i, (_, p) in enumerate(items):
            for rule in self.evidence_rules:
                t = index[rule.theme]
                if not hits[i, t] or rule(p) <= 0:
                    continue
                for a, b in rule.spans(p):
                    for s in p.sentences:
                        if s.start < b and a < s.end and all(s is not x for x, _ in located.get((i, t), ())):
                            located.setdefault((i, t), []).append((s, rule.name))
        unlocated = {i for i in range(len(items)) for t in np.flatnonzero(hits[i]) if (i, t) not in located}
        multi = [(i, s) for i in sorted(unlocated) for s in items[i][1].sentences if len(items[i][1].sentences) > 1]
        sproba = dict(zip(multi, self.model.predict_proba([s.text for _, s in multi], batch_size=self.batch_size))) if multi else {}
        out: dict[int, dict[int, tuple[Evidence, ...]]] = {}
        for i, (doc, p) in enumerate(items):
            for t in np.flatnonzero(hits[i]):
                if (i, t) in located:
                    chosen = [(s, float(scores[i, t]), name) for s, name in sorted(located[(i, t)], key=lambda x: x[0].start)]
                else:
                    scored = [(s, float(sproba[(i, s)][t]) if (i, s) in sproba else float(scores[i, t]), None) for s in p.sentences]
                    chosen = [x for x in scored if x[1] >= self.model.thresholds[t]] or [max(scored, key=lambda x: x[1])]
                out.setdefault(i, {})[t] = tuple(Evidence(s.text, s.start, s.end, *doc.original_span(p, s.start, s.end), round(sc, 4), rule)
                                                 for s, sc, rule in chosen)
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
