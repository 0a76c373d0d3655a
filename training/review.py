"""The review loop: choose the paragraphs worth a person's reading, hand them to Label Studio, take the labels back.

    policy-tagger review export REPORTS... --model DIR --out tasks.json [--select uncertain|disagree|random --limit N]
    policy-tagger review import EXPORT.json --out corrections.jsonl
    policy-tagger train ... --corrections corrections.jsonl

Export writes Label Studio's JSON import format (a list of tasks, each `{"data": ..., "predictions": [...]}`) with the
model's themes as pre-annotations, so a reviewer confirms or fixes rather than starting blank, and the labeling config
beside it (`labeling_config`).  The themes are shown by their Chinese names and stored by their ids (`<Choice alias>`);
"no theme" is a choice of its own, so that an empty annotation is never mistaken for a paragraph without themes.

Import reads Label Studio's JSON export (the same tasks, each with `annotations`; its "JSON" export, not "JSON-MIN")
and writes the corrections format of `training.dataset.load_corrections`.  Every task that yields no correction is
counted under its reason, with its id: nothing is dropped silently.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence
from xml.sax.saxutils import quoteattr

import numpy as np

from models.decision import WeightedVote, rescale_at_threshold
from models.document import Document
from models.rules import RuleSet, apply_rules
from models.tagger import NO_THEME_KINDS, Tagger

from .dataset import text_hash

SELECTIONS = ("uncertain", "disagree", "random", "all")
CONTROL, TEXT = "themes", "text"          # the names the labeling config gives its <Choices> and its <Text>
NONE_CHOICE = "none"                      # "no theme": an explicit choice, not an empty annotation
NONE_NAME = "（无主题）"


class ReviewError(ValueError):
    """A file that is not what the review loop expects (say which, and what it is instead)."""


# --- which paragraphs -------------------------------------------------------------------------------------------


@dataclass
class Pool:
    """Every content paragraph of the reports with the model's and the rules' view of it."""

    documents: list[Document]
    items: list[tuple[Document, object]]     # (document, paragraph)
    proba: np.ndarray                        # the model's scores (n, themes)
    thresholds: np.ndarray
    rules: np.ndarray                        # the rules' weighted vote (n, themes)
    scores: np.ndarray                       # the tagger's decision: the scores `tag` shows ...
    hits: np.ndarray                         # ... and the themes it tags
    themes: list[str]

    @property
    def model_hits(self) -> np.ndarray:
        return self.proba >= self.thresholds

    @property
    def rule_hits(self) -> np.ndarray:
        return self.rules >= 0.5

    @property
    def margin(self) -> np.ndarray:
        """How far each paragraph's nearest-to-the-line theme is from its threshold, 0 (on it) to 1 (sure)."""
        return np.abs(rescale_at_threshold(self.proba, self.thresholds) - 0.5).min(axis=1) * 2


def score_pool(tagger: Tagger, documents: Sequence[Document], *, progress: bool = False) -> Pool:
    """The model's scores and the tagger's decision (exactly as `tag` makes it), and the rules' own vote."""
    if tagger.rule_set is None:
        raise ValueError("the review needs the rules the model was trained on (its rules.yaml)")
    items = [(d, p) for d in documents for p in d.paragraphs if p.kind not in NO_THEME_KINDS]
    paragraphs = [p for _, p in items]
    proba = tagger.model_scores(paragraphs, progress=progress, desc="scoring")
    scores, hits = tagger.decide(paragraphs, proba)
    rules = WeightedVote(tagger.rule_set).predict_proba(apply_rules(tagger.rule_set, paragraphs), [p.kind for p in paragraphs])
    return Pool(list(documents), items, proba, tagger.model.thresholds, rules, scores, hits, list(tagger.model.themes))


def _priority(pool: Pool, how: str, seed: int) -> np.ndarray:
    """A sort key per paragraph, smallest first; NaN: not a candidate for this selection."""
    if how == "uncertain":
        return pool.margin
    if how == "disagree":
        # Most themes in dispute first; among equals, where the model is surest of its side.
        differ = pool.model_hits != pool.rule_hits
        strength = np.where(differ, np.abs(rescale_at_threshold(pool.proba, pool.thresholds) - 0.5), 0).sum(axis=1)
        key = -(differ.sum(axis=1) + strength / (differ.shape[1] + 1))
        return np.where(differ.any(axis=1), key, np.nan)
    if how in ("random", "all"):
        return np.random.default_rng(seed).random(len(pool.items)) if how == "random" else np.arange(len(pool.items), dtype=float)
    raise ValueError(f"unknown selection {how!r}; choose from {SELECTIONS}")


@dataclass
class Selection:
    chosen: list[int]                                            # indices into the pool, in the order chosen
    left_out: dict[str, list[str]] = field(default_factory=dict)  # reason -> "doc#index" of candidates passed over

    def summary(self) -> str:
        lines = [f"{len(self.chosen)} paragraph(s) selected"]
        for reason, keys in self.left_out.items():
            lines.append(f"  left out {len(keys)}: {reason} (e.g. {', '.join(keys[:3])})")
        return "\n".join(lines)


@dataclass(frozen=True)
class Exclusion:
    """Paragraphs that are never offered: already corrected, or in a gold set (a file each, by key and by text hash)."""

    reason: str
    keys: frozenset = frozenset()       # (doc_id, index)
    hashes: frozenset = frozenset()

    @classmethod
    def from_jsonl(cls, path: str | Path, reason: str) -> "Exclusion":
        keys, hashes = set(), set()
        for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                keys.add((str(row["doc_id"]), int(row["index"])))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
                raise ReviewError(f"{path}:{n}: expected a JSON object with doc_id and index ({err})") from err
            if row.get("hash"):
                hashes.add(row["hash"])
            elif row.get("text"):
                hashes.add(text_hash(row["text"]))
        return cls(f"{reason} ({_shown(path)})", frozenset(keys), frozenset(hashes))

    def __contains__(self, paragraph) -> bool:
        return (paragraph.doc_id, paragraph.index) in self.keys or text_hash(paragraph.text) in self.hashes


def _shown(path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def select(pool: Pool, how: str = "uncertain", *, limit: int | None = 200, exclude: Sequence[Exclusion] = (), seed: int = 0) -> Selection:
    """Up to `limit` paragraphs by `how`, spread over the documents (each document's best first, in turns).

    `uncertain`: the model's score nearest a theme's threshold.  `disagree`: the rules and the model tag different
    themes.  `random`: at random (seeded).  `all`: every paragraph, in order.
    """
    key = _priority(pool, how, seed)
    left_out: dict[str, list[str]] = defaultdict(list)
    candidates = []
    for i, (doc, p) in enumerate(pool.items):
        hit = next((e for e in exclude if p in e), None)
        if hit is not None:
            left_out[hit.reason].append(f"{doc.doc_id}#{p.index}")
        elif np.isnan(key[i]):
            left_out["the rules and the model agree"].append(f"{doc.doc_id}#{p.index}")
        else:
            candidates.append(i)
    # Spread over documents: rank within each document, then take rank 0 of every document, then rank 1, ...
    by_doc: dict[str, list[int]] = defaultdict(list)
    for i in sorted(candidates, key=lambda i: key[i]):
        by_doc[pool.items[i][0].doc_id].append(i)
    turns = sorted(((r, key[i], i) for idx in by_doc.values() for r, i in enumerate(idx)))
    chosen = [i for _, _, i in turns][:limit]
    if limit is not None and len(turns) > limit:
        left_out[f"over the limit of {limit}"] = [f"{pool.items[i][0].doc_id}#{pool.items[i][1].index}" for _, _, i in turns[limit:]]
    return Selection(chosen, dict(left_out))


# --- Label Studio: tasks and labeling config ---------------------------------------------------------------------


def labeling_config(rule_set: RuleSet) -> str:
    """The `<View>` to paste into a Label Studio project: the paragraph, and one multi-select choice per theme."""
    choices = "\n".join(f"    <Choice value={quoteattr(t.name)} alias={quoteattr(t.id)} hint={quoteattr(t.description)}/>"
                        for t in rule_set.themes)
    return f"""<View>
  <Header value="$doc_id · 第 $index 段 · $heading"/>
  <Text name="{TEXT}" value="$text"/>
  <Collapse>
    <Panel value="原文 / the paragraph as it was written, and the model's scores">
      <Text name="original" value="$original"/>
      <Text name="model_scores" value="$model_scores"/>
    </Panel>
  </Collapse>
  <Header value="主题（可多选；一个都不是则选“无主题”）"/>
  <Choices name="{CONTROL}" toName="{TEXT}" choice="multiple" showInline="false" required="true">
{choices}
    <Choice value={quoteattr(NONE_NAME)} alias="{NONE_CHOICE}" hint="the paragraph carries none of the themes"/>
  </Choices>
</View>
"""


def tasks(pool: Pool, selection: Selection, rule_set: RuleSet, *, how: str, model_version: str) -> list[dict]:
    names = {t.id: t.name for t in rule_set.themes}
    out = []
    for rank, i in enumerate(selection.chosen):
        doc, p = pool.items[i]
        start, end = doc.original_span(p)
        themes = [pool.themes[t] for t in np.argsort(-pool.scores[i]) if pool.hits[i, t]]
        scores = {t: round(float(s), 4) for t, s in zip(pool.themes, pool.scores[i])}
        shown = sorted(scores.items(), key=lambda kv: -kv[1])[:5]
        out.append({
            "data": {
                "text": p.text, "original": doc.normalised.original[start:end], "doc_id": doc.doc_id, "index": p.index,
                "heading": p.heading or "", "hash": text_hash(p.text), "source": doc.source or "",
                "model_scores": " · ".join(f"{names[t]} {s:.2f}" for t, s in shown),
                "selected_by": how, "rank": rank,
            },
            "predictions": [{
                "model_version": model_version,
                # Label Studio sorts by this: the paragraph's confidence, 0 where a theme sits on its threshold.
                "score": round(float(pool.margin[i]), 4),
                "result": [{"id": f"{doc.doc_id}-{p.index}", "from_name": CONTROL, "to_name": TEXT, "type": "choices",
                            "value": {"choices": themes or [NONE_CHOICE]}}],
            }],
            "meta": {"scores": scores},
        })
    return out


# --- Label Studio export -> corrections -------------------------------------------------------------------------


@dataclass
class Imported:
    corrections: list[dict]
    problems: dict[str, list] = field(default_factory=dict)     # reason -> task ids

    def summary(self) -> str:
        lines = [f"{len(self.corrections)} correction(s)"]
        for reason, ids in self.problems.items():
            lines.append(f"  {len(ids)} task(s) {reason}: ids {', '.join(map(str, ids[:20]))}{' …' if len(ids) > 20 else ''}")
        return "\n".join(lines)


def _read_export(path: Path) -> list[dict]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise ReviewError(f"{path}: not UTF-8 text: not a Label Studio JSON export") from err
    except json.JSONDecodeError as err:
        raise ReviewError(f"{path}: not JSON ({err}); export the project from Label Studio as JSON") from err
    if not isinstance(data, list) or not all(isinstance(t, dict) for t in data):
        raise ReviewError(f"{path}: not a Label Studio JSON export (expected a list of tasks, found {type(data).__name__})")
    if data and not any("annotations" in t for t in data):
        if all("data" in t and "predictions" in t for t in data):
            raise ReviewError(f"{path}: a tasks file (`review export`), not an export: import it into Label Studio, "
                              "annotate, then export the project as JSON")
        if all("data" not in t for t in data):
            raise ReviewError(f"{path}: looks like Label Studio's JSON-MIN or another format; export the project as JSON "
                              "(tasks with 'data' and 'annotations')")
        raise ReviewError(f"{path}: not a Label Studio JSON export: no task has 'annotations'")
    return data


def _latest(annotations: Iterable[dict]) -> dict | None:
    live = [a for a in annotations if isinstance(a, dict) and not a.get("was_cancelled")]
    return max(live, key=lambda a: (a.get("updated_at") or a.get("created_at") or "", a.get("id") or 0), default=None)


def read_annotations(path: str | Path, rule_set: RuleSet) -> Imported:
    """People's labels from a Label Studio JSON export, as corrections rows (the latest live annotation per task)."""
    tasks_ = _read_export(Path(path))
    by_value = {t.id: t.id for t in rule_set.themes} | {t.name: t.id for t in rule_set.themes}
    problems: dict[str, list] = defaultdict(list)
    rows: dict[tuple[str, int], dict] = {}
    for n, task in enumerate(tasks_):
        tid = task.get("id", f"#{n}")
        data = task.get("data") or {}
        try:
            doc_id, index, h, text = str(data["doc_id"]), int(data["index"]), data["hash"], data["text"]
        except (KeyError, TypeError, ValueError):
            problems["not written by `review export` (no doc_id, index, hash and text in data)"].append(tid)
            continue
        annotation = _latest(task.get("annotations") or [])
        if annotation is None:
            cancelled = any(a.get("was_cancelled") for a in task.get("annotations") or [] if isinstance(a, dict))
            problems["skipped (a cancelled annotation only)" if cancelled else "without an annotation"].append(tid)
            continue
        if text_hash(text) != h:
            problems["whose text no longer matches its hash"].append(tid)
            continue
        values = [v for r in annotation.get("result") or [] if r.get("type") == "choices" and r.get("from_name") == CONTROL
                  for v in (r.get("value") or {}).get("choices", [])]
        if not values:
            problems["with an empty annotation (neither a theme nor “no theme”)"].append(tid)
            continue
        if unknown := [v for v in values if v != NONE_CHOICE and v != NONE_NAME and v not in by_value]:
            problems[f"with unknown theme value(s) {sorted(set(unknown))}"].append(tid)
            continue
        labels = sorted({by_value[v] for v in values if v in by_value}, key=rule_set.theme_ids.index)
        if labels and (NONE_CHOICE in values or NONE_NAME in values):
            problems["with “no theme” and a theme at once"].append(tid)
            continue
        if (doc_id, index) in rows:
            problems[f"repeating another task's paragraph (kept task {rows[doc_id, index]['task']}'s later annotation or the first)"].append(tid)
            if (annotation.get("updated_at") or "") <= rows[doc_id, index]["updated_at"]:
                continue
        rows[doc_id, index] = {"doc_id": doc_id, "index": index, "labels": labels, "hash": h, "source": "label-studio",
                               "task": tid, "annotation": annotation.get("id"), "annotator": annotation.get("completed_by"),
                               "updated_at": annotation.get("updated_at") or annotation.get("created_at") or ""}
    return Imported(list(rows.values()), dict(problems))


def corrections_jsonl(rows: Sequence[Mapping]) -> str:
    return "".join(json.dumps(dict(r), ensure_ascii=False) + "\n" for r in rows)
