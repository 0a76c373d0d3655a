"""How far the rules+model decision's additions could be held back: in-genre dev against the seed LODO.

    python -m eval.decision_margin            # report -> eval/results/levers/decision_margin.md

`tag` (rules+model) tags what the rules' vote says, plus what the model scores at or above its per-theme line where no
exclusion fired.  A margin raises every line by the same amount (the model adds less); per-theme margins are chosen on
dev (each theme's best dev F1, ties to the smaller margin) and judged by 2-fold cross-validation over dev documents.
The same margins are applied to the five seed-LODO fits of `python -m eval.recipe_lodo` (trained here when missing) and
scored on the held-out seeds: reported only, as the seed gold may not guide a choice.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from models import load_documents
from models.decision import WeightedVote, rules_and_model
from models.modeling import ThemeModel
from models.rules import RuleSet, apply_rules
from training.corpus import civil_affairs_documents
from training.default_model import cache_dir, ensure_default_model, load_recipe

from .gold import IN_GENRE_GOLD, SEED_GOLD, align, load_gold
from .metrics import score
from .recipe_lodo import SEEDS, fold_model
from .recipe_levers import OUT

MARGINS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3)


def decided(model: ThemeModel, paragraphs, rule_set: RuleSet, margins: dict) -> tuple[np.ndarray, dict]:
    """(the rules' decision, {key: rules+model as `tag` decides with each theme's line raised by `margins[key]`});
    the rules and the model score the paragraphs once for all the margins."""
    votes, kinds = apply_rules(rule_set, paragraphs), [p.kind for p in paragraphs]
    rules = WeightedVote(rule_set).predict_proba(votes, kinds)
    lines, keep = model.rules_and_model_lines
    proba = model.predict_proba([p.text for p in paragraphs])
    return (rules >= 0.5).astype(int), {key: (rules_and_model(votes, rules, proba, np.minimum(lines + m, 0.99), rule_set, kinds, keep=keep)
                                              >= 0.5).astype(int) for key, m in margins.items()}


def _f1(y: np.ndarray, pred: np.ndarray) -> float:
    return 2 * (y & pred).sum() / (y.sum() + pred.sum()) if y.sum() + pred.sum() else 1.0


def per_theme_margins(y: np.ndarray, by_margin: dict[float, np.ndarray], rows: np.ndarray) -> np.ndarray:
    return np.array([max(by_margin, key=lambda m: (_f1(y[rows, t], by_margin[m][rows, t]), -m)) for t in range(y.shape[1])])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    rule_set = RuleSet.load()
    themes, n = rule_set.theme_ids, len(rule_set.theme_ids)
    micro = lambda y, p: score(y, p, themes)["micro"]["f1"]   # noqa: E731

    model = ThemeModel.load(ensure_default_model())
    paragraphs, y = align(load_gold(IN_GENRE_GOLD["dev"], themes), civil_affairs_documents("dev"), themes)
    dev_rules, dev = decided(model, paragraphs, rule_set, {m: np.full(n, m) for m in MARGINS})
    docs = sorted({p.doc_id for p in paragraphs})
    held_half = np.array([docs.index(p.doc_id) % 2 for p in paragraphs])
    crossed = np.zeros_like(y)
    for half in (0, 1):
        chosen = per_theme_margins(y, dev, held_half != half)
        for t in range(n):
            crossed[held_half == half, t] = dev[chosen[t]][held_half == half, t]
    chosen = per_theme_margins(y, dev, np.ones(len(paragraphs), bool))

    seeds, _ = load_documents([SEEDS])
    gold, recipe, work = load_gold(SEED_GOLD, themes), load_recipe(), cache_dir() / "recipe-lodo"
    ys, by_rules, lodo = [], [], {m: [] for m in [*MARGINS, "per theme"]}
    for held in seeds:
        fit = ThemeModel.load(fold_model(recipe, held, rule_set, work))
        seed_paragraphs, seed_y = align([g for g in gold if g.doc_id == held.doc_id], [held], themes)
        held_rules, held_decided = decided(fit, seed_paragraphs, rule_set, {**{m: np.full(n, m) for m in MARGINS}, "per theme": chosen})
        ys.append(seed_y)
        by_rules.append(held_rules)
        for key, pred in held_decided.items():
            lodo[key].append(pred)
    seed_y, seed_rules = np.vstack(ys), np.vstack(by_rules)

    lines = ["# Lever: holding back the rules+model decision's additions (a margin on the model's lines)", "",
             "Produced by `python -m eval.decision_margin`: the shipped default model on the in-genre dev gold, and the five "
             "fits of `python -m eval.recipe_lodo` on their held-out seeds (reported only: the seed gold guides no choice). "
             "A margin m raises every theme's line for the model's additions by m (the rules' positives are unchanged).", "",
             "| decision | dev micro-F1 | seed LODO micro-F1 |", "|---|---|---|",
             f"| rules (weighted vote) | {micro(y, dev_rules):.3f} | {micro(seed_y, seed_rules):.3f} |"]
    for m in MARGINS:
        name = "rules + model as shipped (margin 0)" if m == 0 else f"rules + model, margin {m:g}"
        lines.append(f"| {name} | {micro(y, dev[m]):.3f} | {micro(seed_y, np.vstack(lodo[m])):.3f} |")
    lines.append(f"| rules + model, per-theme margins chosen on dev (dev: 2-fold cross-validation over its documents) "
                 f"| {micro(y, crossed):.3f} | {micro(seed_y, np.vstack(lodo['per theme'])):.3f} |")
    lines += ["", "Per-theme margins chosen on all of dev: " + ", ".join(f"{t} {m:g}" for t, m in zip(themes, chosen)) + ".", ""]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "decision_margin.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    print(f"report -> {OUT / 'decision_margin.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
