"""Leave-one-seed-out for the default recipe itself: for each seed report, train `training/default_recipe.json` with
that seed taken out of its data (the civil-affairs train documents, their people's labels and the government reports
stay), and score the held-out seed against its gold — the rules, the model alone and rules + model, as `tag` decides.

    python -m eval.recipe_lodo            # five fits of the default recipe; report -> eval/results/recipe_lodo.md
    python -m eval.recipe_lodo --name recipe_lodo_no_lexical --set lexical='"none"'    # the same with a setting changed

`policy-tagger evaluate --protocol lodo` fits its predictors on the seeds alone (plus `--extra` as a corpus); this
trains exactly what `python -m training.default_model --ship` would, less one seed. Fits are kept in
`.cache/recipe-lodo/[NAME/]SEED_ID` (reused when they exist).
"""
from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from models import load_documents
from models.rules import RuleSet
from training.default_model import RECIPE, ROOT, cache_dir, load_recipe, recipe_fingerprint, train_by_recipe

from .baselines import RulesAndModelPredictor, RulesPredictor, TextPredictor
from .gold import SEED_GOLD, align, load_gold
from .recipe_levers import parse_setting, varied_recipe
from .harness import Result, write_report
from .metrics import score

OUT = ROOT / "eval" / "results"
SEEDS = ROOT / "seeds"


def recipe_without(recipe: dict, held: str, folder: Path) -> dict:
    """The recipe with the seed `held` left out: its `seeds` entry becomes a folder of the other seed files."""
    if "seeds" not in recipe["data"]:
        raise ValueError(f"{RECIPE}: the recipe's data {recipe['data']} has no `seeds` entry to leave a seed out of")
    folder.mkdir(parents=True, exist_ok=True)
    for f in sorted(SEEDS.glob("*.txt")):
        if f.stem != held:
            shutil.copy2(f, folder / f.name)
    return {**recipe, "data": [str(folder) if spec == "seeds" else spec for spec in recipe["data"]]}


def fold_model(recipe: dict, held, rule_set: RuleSet, work: Path) -> Path:
    """The model folder of the fold that leaves out the seed `held` (a Document): trained now where it is missing."""
    model_dir = work / held.doc_id / "model"
    if not (model_dir / "policy_tagger.json").is_file():
        fold_recipe = recipe_without(recipe, held.doc_id, work / held.doc_id / "seeds")
        train_by_recipe(fold_recipe, model_dir, rule_set=rule_set, fingerprint=recipe_fingerprint(recipe, rule_set) + f"-without-{held.doc_id}",
                        recipe_file=f"{RECIPE.relative_to(ROOT)} without seed {held.doc_id}", progress=False)
    return model_dir


def fold(recipe: dict, held, rule_set: RuleSet, gold, work: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(gold, {predictor: predictions}) on the held-out seed `held` (a Document)."""
    from models.modeling import ThemeModel

    model_dir = fold_model(recipe, held, rule_set, work)
    paragraphs, y = align([g for g in gold if g.doc_id == held.doc_id], [held], rule_set.theme_ids)
    model = ThemeModel.load(model_dir)
    alone = TextPredictor("the default recipe, model alone", model.predict_proba, model.thresholds, model.rules_and_model_lines)
    predictors = [RulesPredictor(rule_set).fit(paragraphs), alone, RulesAndModelPredictor(rule_set, alone, name="the default recipe, rules + model").fit(paragraphs, None)]
    return y, {p.name: (p.predict_proba(paragraphs) >= p.thresholds_).astype(int) for p in predictors}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="recipe_lodo", help="report name under eval/results/")
    parser.add_argument("--set", dest="settings", type=parse_setting, action="append", default=[],
                        help="a TrainingConfig setting of the recipe to change, KEY=JSON (repeatable)")
    args = parser.parse_args(argv)
    recipe, rule_set = load_recipe(), RuleSet.load()
    recipe = varied_recipe(recipe, dict(args.settings))
    seeds, _ = load_documents([SEEDS])
    gold = load_gold(SEED_GOLD, rule_set.theme_ids)
    work = cache_dir() / "recipe-lodo" / (args.name if args.settings else "")
    ys, preds, folds = [], {}, {}
    for held in seeds:
        started = time.time()
        y, by_predictor = fold(recipe, held, rule_set, gold, work)
        ys.append(y)
        for name, pred in by_predictor.items():
            preds.setdefault(name, []).append(pred)
            folds.setdefault(name, {})[held.doc_id] = score(y, pred, rule_set.theme_ids)
        print(f"held out {held.doc_id}: " + ", ".join(f"{n} {folds[n][held.doc_id]['micro']['f1']:.3f}" for n in by_predictor)
              + f" ({time.time() - started:.0f} s)", file=sys.stderr)
    y_all = np.vstack(ys)
    results = [Result(name, "lodo", score(y_all, np.vstack(p), rule_set.theme_ids), folds[name]) for name, p in preds.items()]
    command = " ".join(["python -m eval.recipe_lodo", shlex.join(argv if argv is not None else sys.argv[1:])]).strip()
    header = (f"# The default recipe, leave one seed out\n\nProduced by `{command}`: for each of the five seed reports, "
              f"`{RECIPE.relative_to(ROOT)}`{' with ' + json.dumps(dict(args.settings)) if args.settings else ''} trained with that seed "
              "left out of its data (everything else as the recipe says), "
              "scored on the held-out seed's gold (`eval/gold/seeds.jsonl`), pooled over the folds. The rules were refined "
              "against this gold (eval/results/rules_seeds.md), so their row is optimistic.\n")
    write_report(results, rule_set.theme_ids, OUT, name=args.name, header=header)
    print(f"report -> {OUT / (args.name + '.md')}", file=sys.stderr)


if __name__ == "__main__":
    main()
