"""A lever on the default recipe itself: train `training/default_recipe.json` with some settings changed, over
several seeds, and score each fit on the in-genre dev gold (the model alone and rules + model, as `tag` decides).

    python -m eval.recipe_levers --name top1 --set freeze_layers=11 --set epochs=10 --set patience=3 --seeds 13,14,15

Unlike `policy-tagger evaluate --protocol in_genre` (which fits the encoder predictor on its own training side),
this trains exactly what `python -m training.default_model --ship` would ship, so a row here is a candidate
default.  Dev only: the test gold is scored by the evaluation report once a default is chosen.  Fits are kept in
`.cache/levers/NAME-sSEED` (reused while the recipe, rules and data that made them are unchanged) and the report goes to `eval/results/levers/NAME.md`.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from models.rules import RuleSet
from training.corpus import civil_affairs_documents
from training.default_model import RECIPE, ROOT, cache_dir, is_current, load_recipe, recipe_config, recipe_fingerprint, train_by_recipe

from .baselines import RulesAndModelPredictor, RulesPredictor, TextPredictor
from .gold import IN_GENRE_GOLD, align, load_gold
from .harness import Result, write_report
from .metrics import score

OUT = ROOT / "eval" / "results" / "levers"


def parse_setting(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--set wants KEY=VALUE, not {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def varied_recipe(recipe: dict, settings: dict, seed: int | None = None) -> dict:
    """The recipe with some training settings changed (checked as `TrainingConfig` checks them) and the seed set
    (None: the recipe's own)."""
    varied = {**recipe, "config": {**recipe["config"], **settings, **({} if seed is None else {"seed": seed})}}
    recipe_config(varied)
    return varied


def fit(recipe: dict, settings: dict, seed: int, folder: Path, rule_set: RuleSet) -> Path:
    """The recipe varied by `settings` trained into `folder`, or the fit already there if the same recipe, rules and
    data made it."""
    varied = varied_recipe(recipe, settings, seed)
    fingerprint = recipe_fingerprint(varied, rule_set)
    if is_current(folder, fingerprint):
        return folder
    return train_by_recipe(varied, folder, rule_set=rule_set, fingerprint=fingerprint,
                           recipe_file=f"{RECIPE.relative_to(ROOT)} with {json.dumps({**settings, 'seed': seed})}")


def dev_results(folder: Path, rule_set: RuleSet, label: str) -> list[Result]:
    from models.modeling import ThemeModel

    docs = civil_affairs_documents("dev")
    paragraphs, y = align(load_gold(IN_GENRE_GOLD["dev"], rule_set.theme_ids), docs, rule_set.theme_ids)
    model = ThemeModel.load(folder)
    alone = TextPredictor(f"{label}, model alone", model.predict_proba, model.thresholds, model.rules_and_model_lines)
    both = RulesAndModelPredictor(rule_set, alone, name=f"{label}, rules + model").fit(paragraphs, None)
    return [Result(p.name, "in_genre_dev", score(y, (p.predict_proba(paragraphs) >= p.thresholds_).astype(int), rule_set.theme_ids))
            for p in (alone, both)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", required=True, help="the lever's name: folder and report name")
    parser.add_argument("--set", dest="settings", type=parse_setting, action="append", default=[],
                        help="a TrainingConfig setting of the recipe to change, KEY=JSON (repeatable)")
    parser.add_argument("--seeds", default="13", help="comma-separated training seeds")
    parser.add_argument("--about", default="", help="one line saying what the lever is")
    args = parser.parse_args(argv)
    settings = dict(args.settings)
    seeds = [int(s) for s in args.seeds.split(",")]
    recipe, rule_set = load_recipe(), RuleSet.load()
    rules_only = RulesPredictor(rule_set)
    results, rows = [], []
    for seed in seeds:
        folder = cache_dir() / "levers" / f"{args.name}-s{seed}"
        started = time.time()
        fit(recipe, settings, seed, folder, rule_set)
        training = json.loads((folder / "policy_tagger.json").read_text(encoding="utf-8"))["training"]
        seed_results = dev_results(folder, rule_set, f"{args.name} seed {seed}")
        results += seed_results
        rows.append({"seed": seed, "model": seed_results[0].scores["micro"]["f1"], "rules+model": seed_results[1].scores["micro"]["f1"],
                     "training_s": training["seconds"], "peak_mb": training["peak_memory_mb"], "best_epoch": training["best_epoch"],
                     "epochs_run": training["epochs_run"]})
        print(f"{args.name} seed {seed}: dev micro-F1 model {rows[-1]['model']:.3f}, rules+model {rows[-1]['rules+model']:.3f} "
              f"(training {training['seconds']:.0f} s, peak {training['peak_memory_mb']} MB, best epoch {training['best_epoch']} of "
              f"{training['epochs_run']}; {time.time() - started:.0f} s with scoring)", file=sys.stderr)
    docs = civil_affairs_documents("dev")
    paragraphs, y = align(load_gold(IN_GENRE_GOLD["dev"], rule_set.theme_ids), docs, rule_set.theme_ids)
    rules_only.fit(paragraphs)
    results.append(Result("rules (weighted vote)", "in_genre_dev",
                          score(y, (rules_only.predict_proba(paragraphs) >= 0.5).astype(int), rule_set.theme_ids)))
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("model", "rules+model")}
    command = "python -m eval.recipe_levers " + shlex.join(argv if argv is not None else sys.argv[1:])
    lines = [f"# Lever: {args.name}", "", args.about, "",
             f"Produced by `{command}`: the default recipe (`training/default_recipe.json`) with {json.dumps(settings)}, "
             "one fit per seed, scored on the in-genre dev gold (2-core CPU).", "",
             "| seed | dev micro-F1, model alone | rules + model | training (s) | peak memory (MB) | best epoch / run |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['seed']} | {r['model']:.3f} | {r['rules+model']:.3f} | {r['training_s']:.0f} | {r['peak_mb']} | "
              f"{r['best_epoch']} / {r['epochs_run']} |" for r in rows]
    lines += [f"| mean | {mean['model']:.3f} | {mean['rules+model']:.3f} | | | |", ""]
    OUT.mkdir(parents=True, exist_ok=True)
    write_report(results, rule_set.theme_ids, OUT, name=args.name, header="\n".join(lines))
    (OUT / f"{args.name}.json").write_text(json.dumps({"settings": settings, "seeds": rows, "mean": mean,
                                                      "results": [r.__dict__ for r in results]}, ensure_ascii=False, indent=2),
                                          encoding="utf-8")
    print(f"report -> {OUT / (args.name + '.md')}", file=sys.stderr)


if __name__ == "__main__":
    main()
