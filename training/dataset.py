"""The weak-label dataset: documents -> rule votes -> soft labels -> a `datasets.DatasetDict`.

One row per paragraph.  Train and validation are split **by document** so that no report leaks
paragraphs into both sides.  Corrections (a user's JSONL of fixed labels) override the weak
labels of the paragraphs they name.  A corpus (many reports, mostly about other subjects) is added
to the training side only: its rule-labelled paragraphs and a sample of the rest.
"""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from models.atomic import atomic_directory
from models.document import Document
from models.modeling import RULES_FILE
from models.segment import Paragraph, Sentence

from .aggregate import aggregate
from .model_card import repo_relative
from models.rules import RuleSet, apply_rules, paragraphs_of

LABEL_THRESHOLD = 0.5
UNITS = ("paragraphs", "paragraphs+sentences")
# Sentence units lifted the student's leave-one-document-out micro-F1 on the seed gold from 0.26 to 0.46
# (same split; `policy-tagger evaluate --predictor encoder --units ...`, eval/results/report.md).
DEFAULT_UNITS = "paragraphs+sentences"
# Of a corpus's paragraphs that no rule labels, this many (drawn with the seed) join the training data: enough to
# show where themes stop, few enough that one fit on the ~8,000-paragraph report corpus takes ~3 minutes on 2 cores.
# With them the student's micro-F1 went 0.466 -> 0.616 (seeds, leave-one-document-out) and 0.386 -> 0.541 (out of
# genre) (eval/results/report_corpus.md).
CORPUS_NEGATIVES = 1500


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Correction:
    doc_id: str
    index: int
    labels: tuple[str, ...]
    text_hash: str | None = None

    def soft_labels(self, paragraph: Paragraph, theme_ids: Sequence[str]) -> list[float]:
        """The paragraph's labels as this correction sets them; an error if the paragraph's text has changed since."""
        if self.text_hash and self.text_hash != text_hash(paragraph.text):
            raise ValueError(f"correction for {self.doc_id}#{self.index} does not match the paragraph's text any more (hash {self.text_hash})")
        return [1.0 if t in self.labels else 0.0 for t in theme_ids]


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


def split_documents(groups: Sequence[Sequence[str]], *, validation_fraction: float, seed: int,
                    sizes: Mapping[str, int] | None = None) -> set[str]:
    """Validation document ids: from each group (a source folder or corpus), whole documents in a seeded
    order until they hold `validation_fraction` of the group's paragraphs (`sizes`; 1 per document if not given).

    A document that would overshoot the target by half is passed over, so that one long report (a seed
    of 114 paragraphs among five that hold 220) does not take half the training data into validation.
    """
    rng = random.Random(seed)
    validation = set()
    for ids in groups:
        ids = sorted(ids)
        if len(ids) < 2 or validation_fraction <= 0:
            continue
        size = {d: (sizes or {}).get(d, 1) for d in ids}
        target = validation_fraction * sum(size.values())
        chosen, held = [], 0
        for d in rng.sample(ids, len(ids)):
            if held >= target or len(chosen) == len(ids) - 1:
                break
            if held + size[d] <= 1.5 * target:
                chosen.append(d)
                held += size[d]
        if not chosen:   # every document is too long for the target: the shortest one
            chosen = [min(ids, key=lambda d: (size[d], d))]
        validation.update(chosen)
    return validation


def sentence_units(paragraph: Paragraph) -> list[Paragraph]:
    """Each sentence of a multi-sentence content paragraph as a unit of its own, under the same headings.

    Why: a paragraph's label is the union of what its sentences say, so with a few hundred paragraphs a
    student cannot tell which words carry a theme; the sentences, labelled by the same rules, show it.
    """
    if len(paragraph.sentences) < 2 or paragraph.kind == "meta":
        return []
    return [replace(paragraph, text=s.text, start=paragraph.start + s.start, end=paragraph.start + s.end,
                    sentences=(Sentence(s.text, 0, len(s.text)),)) for s in paragraph.sentences]


def unit_row(p: Paragraph, soft: Sequence[float], *, fired: Sequence[str] = (), source: str = "rules", unit: str = "paragraph") -> dict:
    """One training row: the unit's text and structure, its soft labels and the hard labels they imply."""
    return {"doc_id": p.doc_id, "index": p.index, "kind": p.kind, "heading": p.heading or "", "text": p.text, "hash": text_hash(p.text),
            "soft_labels": [float(x) for x in soft], "labels": [int(x >= LABEL_THRESHOLD) for x in soft],
            "rules": list(fired), "label_source": source, "unit": unit}


def sample_negatives(positive: np.ndarray, n: int, seed: int) -> np.ndarray:
    """A mask that keeps every positive and `n` of the rest, drawn with `seed`."""
    keep = np.array(positive, dtype=bool)
    keep[np.random.default_rng(seed).permutation(np.flatnonzero(~keep))[:n]] = True
    return keep


def label_rows(documents: Sequence[Document], rule_set: RuleSet, *, method: str = "weighted_vote",
               corrections: Iterable[Correction] = (), units: str = DEFAULT_UNITS, corpora: Sequence[Document] = (),
               corpus_negatives: int = CORPUS_NEGATIVES, seed: int = 13, progress: bool = False) -> list[dict]:
    """One dict per paragraph (and, with `units="paragraphs+sentences"`, per sentence of a multi-sentence
    paragraph): text, structure, soft and hard labels, the rules that fired, and `unit`.

    Of the `corpora` documents, only paragraphs: those with a weak label or a correction, and
    `corpus_negatives` of the others (`sample_negatives`).
    """
    if units not in UNITS:
        raise ValueError(f"units must be one of {UNITS}, not {units!r}")
    report_paragraphs = paragraphs_of(documents)
    paragraphs, n_reports = report_paragraphs + paragraphs_of(corpora), len(report_paragraphs)
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
            soft, source = fix.soft_labels(p, rule_set.theme_ids), "correction"
        rows.append(unit_row(p, soft, fired=votes.fired(i), source=source))
    if fixes:
        missing = ", ".join(f"{d}#{i}" for d, i in list(fixes)[:5])
        raise ValueError(f"{len(fixes)} correction(s) name paragraphs that were not found: {missing}")
    reports, corpus = rows[:n_reports], rows[n_reports:]
    keep = sample_negatives([max(r["labels"]) > 0 or r["label_source"] == "correction" for r in corpus], corpus_negatives, seed)
    rows = reports + [r for r, k in zip(corpus, keep) if k]
    if units == "paragraphs+sentences":
        # A corrected paragraph's sentences would carry the rules' labels against the correction: left out.
        corrected = {(r["doc_id"], r["index"]) for r in reports if r["label_source"] == "correction"}
        rows += _sentence_rows([s for p in paragraphs[:n_reports] if (p.doc_id, p.index) not in corrected for s in sentence_units(p)],
                               rule_set, method)
    return rows


def _sentence_rows(sentences: Sequence[Paragraph], rule_set: RuleSet, method: str) -> list[dict]:
    if not sentences:
        return []
    votes = apply_rules(rule_set, sentences)
    proba = aggregate(votes, rule_set, [s.kind for s in sentences], method=method)
    return [unit_row(s, proba[i].round(4).tolist(), fired=votes.fired(i), unit="sentence") for i, s in enumerate(sentences)]


def build_dataset(documents_by_source: Sequence[Sequence[Document]], rule_set: RuleSet, *, method: str = "weighted_vote",
                  corrections: Iterable[Correction] = (), validation_fraction: float = 0.2, seed: int = 13,
                  units: str = DEFAULT_UNITS, corpora: Sequence[Sequence[Document]] = (), corpus_negatives: int = CORPUS_NEGATIVES,
                  progress: bool = False):
    """A `DatasetDict` with train/validation splits by document; validation holds paragraphs only
    (what early stopping and thresholds are for), sentence units go to train.

    `corpora` (`label_rows`) add to train only: validation, which stops training and may tune
    thresholds, stays in the genre of the reports being tagged.
    """
    documents = [d for group in documents_by_source for d in group]
    rows = label_rows(documents, rule_set, method=method, corrections=corrections, units=units, progress=progress,
                      corpora=[d for group in corpora for d in group], corpus_negatives=corpus_negatives, seed=seed)
    validation = split_documents([[d.doc_id for d in g] for g in documents_by_source], validation_fraction=validation_fraction, seed=seed,
                                 sizes={d.doc_id: len(d.paragraphs) for d in documents})
    split = {"train": [r for r in rows if r["doc_id"] not in validation],
             "validation": [r for r in rows if r["doc_id"] in validation and r["unit"] == "paragraph"]}
    return to_dataset_dict(split, rule_set.theme_ids)


def to_dataset_dict(splits: Mapping[str, Sequence[dict]], theme_ids: Sequence[str]):
    """A `DatasetDict` of label rows (`unit_row`), with named label columns (`dataset_features`)."""
    from datasets import Dataset, DatasetDict

    features, info = dataset_features(theme_ids)
    # An empty split is left out: datasets cannot reload a split saved with no rows.
    return DatasetDict({k: Dataset.from_list([_stored(r) for r in v], features=features, info=info) for k, v in splits.items() if v})


def dataset_features(theme_ids: Sequence[str]):
    """(Features, DatasetInfo) of a weak-label dataset: the label columns name their themes.

    `labels` is the datasets convention for multi-label classification, a list of class ids
    (`ds.features["labels"].feature.names` are the themes); `soft_labels` has one probability per theme, in that order.
    """
    from datasets import ClassLabel, DatasetInfo, Features, Sequence as Seq, Value

    features = Features({
        "doc_id": Value("string"), "index": Value("int32"), "kind": Value("string"), "heading": Value("string"),
        "text": Value("string"), "hash": Value("string"), "soft_labels": Seq(Value("float32"), length=len(theme_ids)),
        "labels": Seq(ClassLabel(names=list(theme_ids))), "rules": Seq(Value("string")), "label_source": Value("string"),
        "unit": Value("string"),
    })
    info = DatasetInfo(features=features, description=f"Weak (soft) theme labels per paragraph. soft_labels[k] is P(theme k) for k over {list(theme_ids)}; "
                                   "labels are the themes with soft_labels >= 0.5, as ClassLabel ids.")
    return features, info


def _stored(row: dict) -> dict:
    """A label row as the dataset stores it: hard labels as the ids of its themes rather than a 0/1 vector."""
    return {**row, "labels": [k for k, y in enumerate(row["labels"]) if y]}


def multi_hot(label_ids: Sequence[Sequence[int]], n_themes: int) -> np.ndarray:
    """The dataset's `labels` column (lists of theme ids) as an (n, n_themes) 0/1 matrix."""
    y = np.zeros((len(label_ids), n_themes), dtype=bool)
    for i, ids in enumerate(label_ids):
        y[i, list(ids)] = True
    return y


def unit_counts(ds) -> dict[str, int]:
    """{"paragraph": n, "sentence": m} of a split (a dataset from before units existed holds paragraphs only)."""
    units = ds["unit"] if "unit" in ds.column_names else ["paragraph"] * len(ds)
    return {u: units.count(u) for u in ("paragraph", "sentence") if u in units}


def summarise(dd, theme_ids: Sequence[str]) -> str:
    lines = []
    for name, ds in dd.items():
        labels = multi_hot(ds["labels"], len(theme_ids))
        no_vote = sum(1 for r in ds["rules"] if not r)
        docs = len(set(ds["doc_id"]))
        n = unit_counts(ds)
        also = f" + {n['sentence']} sentence units" if n.get("sentence") else ""
        lines.append(f"{name}: {n.get('paragraph', 0)} paragraphs{also} from {docs} document(s); {no_vote / max(len(ds), 1):.0%} with no rule vote")
        lines.append("  " + "  ".join(f"{t}={int(n)}" for t, n in zip(theme_ids, labels.sum(axis=0))))
    return "\n".join(lines)


def rules_fingerprint(rule_set: RuleSet) -> str:
    return hashlib.sha256(rule_set.raw.encode("utf-8")).hexdigest()[:16]


def corrections_fingerprint(corrections: Iterable[Correction]) -> str:
    keys = sorted((c.doc_id, c.index, sorted(c.labels), c.text_hash or "") for c in corrections)
    return hashlib.sha256(json.dumps(keys, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def save_dataset(dd, out: str | Path, rule_set: RuleSet, *, method: str, sources: Sequence[str], seed: int, validation_fraction: float,
                 units: str = DEFAULT_UNITS, corpora: Sequence[str] = (), corpus_negatives: int = CORPUS_NEGATIVES,
                 corrections: Sequence[Correction] = (), recipe: dict | None = None) -> Path:
    """Write the DatasetDict plus `labeling.json` (what produced it), atomically.  `recipe`: the default model's
    recipe file and fingerprint, when it made the dataset (`training.default_model`)."""
    with atomic_directory(out) as tmp:
        dd.save_to_disk(str(tmp / "data"))
        meta = {
            "themes": rule_set.theme_ids, "theme_names": {t.id: t.name for t in rule_set.themes}, "rules_file": repo_relative(rule_set.source), "rules_sha256": rules_fingerprint(rule_set),
            "aggregation": method, "sources": list(sources) + list(corpora), "seed": seed, "validation_fraction": validation_fraction, "units": units,
            "corpora": {"sources": list(corpora), "negatives": corpus_negatives} if corpora else None,
            "corrections": {"count": len(corrections), "sha256": corrections_fingerprint(corrections)} if corrections else None,
            "recipe": recipe,
            "splits": {k: {"paragraphs": unit_counts(v).get("paragraph", 0), "sentence_units": unit_counts(v).get("sentence", 0),
                           "documents": sorted(set(v["doc_id"]))} for k, v in dd.items()},
        }
        (tmp / "labeling.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        if rule_set.raw:
            (tmp / RULES_FILE).write_text(rule_set.raw, encoding="utf-8")   # travels on into every model trained on it
    return Path(out)


def load_dataset_dir(path: str | Path):
    """(DatasetDict, labeling metadata) from a folder written by `save_dataset`."""
    from datasets import load_from_disk

    path = Path(path)
    if not (path / "labeling.json").is_file():
        raise FileNotFoundError(f"{path} is not a weak-label dataset (no labeling.json); create one with `policy-tagger label`")
    labeling = json.loads((path / "labeling.json").read_text(encoding="utf-8"))
    if (path / RULES_FILE).is_file():
        labeling["rules_text"] = (path / RULES_FILE).read_text(encoding="utf-8")
    return load_from_disk(str(path / "data")), labeling
