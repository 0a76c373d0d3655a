"""Distil a model folder into a smaller student: fewer of the base encoder's layers, trained against the teacher's scores.

    .venv/bin/python -m training.distil --teacher .cache/default-model --out models/distilled [--layers 6 --train-layers 2]

The teacher scores every paragraph of the default recipe's training text (the seeds and the civil-affairs corpus's
`train` documents) and a sample of the government reports (`--corpus-sample`), never a `dev` or `test` document.
Each score, rescaled so that the teacher's threshold sits at 0.5 (`models.decision.rescale_at_threshold`), is the
student's soft label: the student learns the teacher's decisions and how sure it was.  The student is the base
encoder cut to `--layers` layers with the top `--train-layers` of them trained, plus the mean-pooling layer and the
head (`TrainingConfig.keep_layers` / `freeze_layers`); its thresholds are tuned on validation documents against the
teacher's decisions.  The folder is a stock `BertForSequenceClassification`, like every model folder.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from models import load_documents
from models.decision import rescale_at_threshold
from models.modeling import RULES_FILE, ThemeModel
from models.rules import RuleSet, paragraphs_of

from .config import TrainingConfig
from .corpus import REPORT_CORPUS
from .dataset import rules_fingerprint, split_documents, to_dataset_dict, unit_row
from .default_model import ROOT, _resolve, load_recipe, recipe_config
from .train import fit_model


def distil(teacher_dir: Path, out: Path, *, layers: int = 6, train_layers: int = 2, corpus_sample: int = 2000, seed: int = 13,
           epochs: int = 12, groups=None, corpus_documents=None, progress: bool = True) -> Path:
    """The student folder at `out`.  `groups` (lists of documents, one per source) and `corpus_documents` default to
    the default recipe's data and the government reports."""
    teacher_dir = Path(teacher_dir)
    teacher = ThemeModel.load(teacher_dir)
    recipe = load_recipe()
    if groups is None:
        groups = [load_documents([_resolve(spec)])[0] for spec in recipe["data"]]
    corpus = paragraphs_of(load_documents([REPORT_CORPUS])[0] if corpus_documents is None else corpus_documents)
    corpus = [corpus[i] for i in sorted(np.random.default_rng(seed).permutation(len(corpus))[:corpus_sample])]
    paragraphs = paragraphs_of([d for g in groups for d in g]) + corpus
    scores = teacher.predict_proba([p.text for p in paragraphs], progress=progress, desc="teacher scores")
    soft = rescale_at_threshold(scores, teacher.thresholds).round(4)
    validation = split_documents([[d.doc_id for d in g] for g in groups], validation_fraction=0.2, seed=seed,
                                 sizes={d.doc_id: len(d.paragraphs) for g in groups for d in g})
    rows = {"train": [], "validation": []}
    for p, y in zip(paragraphs, soft):
        rows["validation" if p.doc_id in validation else "train"].append(unit_row(p, y, source="teacher"))
    themes = teacher.themes
    rules_file = teacher_dir / RULES_FILE
    rule_set = RuleSet.load(rules_file) if rules_file.is_file() else RuleSet.load()
    labeling = {"themes": themes, "theme_names": teacher.meta.theme_names,
                "sources": recipe["data"] + [f"{REPORT_CORPUS.relative_to(ROOT)} ({len(corpus)} paragraphs)"],
                "aggregation": f"distilled from {teacher_dir} (its scores, rescaled at its thresholds)",
                "rules_file": str(rules_file), "rules_sha256": rules_fingerprint(rule_set), "rules_text": rule_set.raw,
                "recipe": {"distilled_from": str(teacher_dir), "teacher_recipe": teacher.meta.extra.get("recipe"),
                           "layers": layers, "train_layers": train_layers, "corpus_sample": corpus_sample}}
    base = (teacher.meta.extra.get("base_model") or {}).get("name") or recipe_config(recipe).base_model   # the teacher's own base
    config = TrainingConfig.from_dict({**recipe_config(recipe).to_dict(), "base_model": base, "keep_layers": layers, "freeze_layers": layers - train_layers,
                                       "epochs": epochs, "patience": 3, "seed": seed})
    return fit_model(to_dataset_dict(rows, themes), labeling, out, config=config, progress=progress)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", type=Path, default=None, help="teacher model folder (default: the default model)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--train-layers", type=int, default=2)
    parser.add_argument("--corpus-sample", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    if args.teacher is None:
        from .default_model import ensure_default_model

        args.teacher = ensure_default_model()
    folder = distil(args.teacher, args.out, layers=args.layers, train_layers=args.train_layers, corpus_sample=args.corpus_sample,
                    seed=args.seed, epochs=args.epochs)
    meta = json.loads((folder / "policy_tagger.json").read_text(encoding="utf-8"))
    print(f"student -> {folder} ({meta['training']['seconds']:.0f} s, peak {meta['training']['peak_memory_mb']} MB)")


if __name__ == "__main__":
    main()
