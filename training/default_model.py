"""The embedded default model: trained on first use by the recipe in `default_recipe.json` (the seeds, the
civil-affairs corpus's train documents with their people's labels, the government-work-report corpus; all inside
the repository), kept in the git-ignored cache."""
from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from models.base_model import EMBEDDED
from models.ingest import iter_report_paths
from models.modeling import META_FILE
from models.rules import RuleSet
from models.shipped import SHIPPED, assemble, ship, shipped_meta

from .config import TrainingConfig
from .dataset import build_dataset, load_corrections, rules_fingerprint, save_dataset
from .train import train

ROOT = Path(__file__).resolve().parents[1]
RECIPE = Path(__file__).with_name("default_recipe.json")


def cache_dir() -> Path:
    return Path(os.environ.get("POLICY_TAGGER_CACHE", ROOT / ".cache"))


def default_model_dir() -> Path:
    return cache_dir() / "default-model"


def load_recipe(path: Path = RECIPE) -> dict:
    recipe = json.loads(path.read_text(encoding="utf-8"))
    missing = {"data", "corrections", "corpora", "config"} - set(recipe)
    if missing:
        raise ValueError(f"{path}: the recipe lacks {sorted(missing)}")
    return recipe


def recipe_config(recipe: dict) -> TrainingConfig:
    return TrainingConfig.from_dict({"base_model": EMBEDDED, **recipe["config"]})


def recipe_fingerprint(recipe: dict, rule_set: RuleSet) -> str:
    """A hash of everything the default model is made from: the recipe, the rules and the content of every file it reads.

    A model folder records it (`policy_tagger.json`, `recipe.sha256`); a different one means the model is out of date.
    """
    h = hashlib.sha256(json.dumps(recipe, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    h.update(rules_fingerprint(rule_set).encode())
    for spec in recipe["data"] + recipe["corrections"] + recipe["corpora"]:
        for f in iter_report_paths([_resolve(spec)]):
            h.update(str(f.resolve().relative_to(ROOT)).encode())   # raises for a file outside the repository
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _resolve(spec: str) -> Path:
    return ROOT / spec


def is_current(folder: Path, fingerprint: str) -> bool:
    """Whether the model in `folder` was made by the recipe whose fingerprint this is."""
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (meta.get("recipe") or {}).get("sha256") == fingerprint


def ensure_default_model(*, recipe_path: Path = RECIPE, shipped: Path = SHIPPED) -> Path:
    """The default model folder: in the cache if it is current, else assembled from the shipped layers (seconds)
    if they are current, else trained by the recipe (minutes).

    Current: made by this recipe, these rules and this data (`recipe_fingerprint`).  A shipped model that is not
    current means someone changed the rules or the recipe without regenerating it (`--ship`): training says so.
    The old cache folder serves until the new one is complete.
    """
    folder = default_model_dir()
    recipe, rule_set = load_recipe(recipe_path), RuleSet.load()
    fingerprint = recipe_fingerprint(recipe, rule_set)
    if is_current(folder, fingerprint):
        return folder
    if ((shipped_meta(shipped) or {}).get("recipe") or {}).get("sha256") == fingerprint:
        print(f"Assembling the shipped default model ({shipped.relative_to(ROOT)}) onto the embedded base model in {folder} (once, seconds)...",
              file=sys.stderr)
        return assemble(folder, shipped)
    reason = "is out of date (other recipe, rules or data)" if (folder / META_FILE).is_file() else "is not there yet"
    stale = (f" The shipped weights in {shipped.relative_to(ROOT)} were made by another recipe, rules or data: "
             "regenerate them with `python -m training.default_model --ship`." if shipped_meta(shipped) else "")
    print(f"The default model at {folder} {reason}: training it by {recipe_path.relative_to(ROOT)} on the embedded base model "
          f"(once; minutes on a laptop CPU).{stale}", file=sys.stderr)
    return train_by_recipe(recipe, folder, rule_set=rule_set, fingerprint=fingerprint, recipe_file=str(recipe_path.relative_to(ROOT)))


def train_by_recipe(recipe: dict, out: Path, *, rule_set: RuleSet, fingerprint: str, recipe_file: str, progress: bool = True) -> Path:
    from models import load_documents

    config = recipe_config(recipe)
    groups = []
    for spec in recipe["data"]:
        docs, skipped = load_documents([_resolve(spec)])
        if skipped or not docs:
            raise FileNotFoundError(f"the default model's data {spec} is missing or unreadable: it is part of the repository "
                                    f"({[str(e) for e in skipped][:3]})")
        groups.append(docs)
    corpora = [load_documents([_resolve(spec)])[0] for spec in recipe["corpora"]]
    fixes = [c for spec in recipe["corrections"] for c in load_corrections(_resolve(spec), rule_set.theme_ids)]
    dd = build_dataset(groups, rule_set, method=recipe["aggregation"], corrections=fixes, validation_fraction=recipe["validation_fraction"],
                       seed=config.seed, units=recipe["units"], corpora=corpora, corpus_negatives=recipe["corpus_negatives"], progress=progress)
    dataset = save_dataset(dd, cache_dir() / "default-dataset", rule_set, method=recipe["aggregation"], sources=recipe["data"], seed=config.seed,
                           validation_fraction=recipe["validation_fraction"], units=recipe["units"], corpora=recipe["corpora"],
                           corpus_negatives=recipe["corpus_negatives"], corrections=fixes,
                           recipe={"file": recipe_file, "sha256": fingerprint})
    return train(dataset, out, config=config, progress=progress)


def main(argv: list[str] | None = None) -> None:
    """`python -m training.default_model --ship`: train the default model by the recipe (seeds fixed) and write
    its shipped form into models/default/."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--ship", action="store_true", help="write the shipped layers into models/default/")
    args = parser.parse_args(argv)
    recipe, rule_set = load_recipe(), RuleSet.load()
    fingerprint = recipe_fingerprint(recipe, rule_set)
    if not args.ship:
        print(ensure_default_model())
        return
    cache_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        model = train_by_recipe(recipe, Path(tmp) / "model", rule_set=rule_set, fingerprint=fingerprint, recipe_file=str(RECIPE.relative_to(ROOT)))
        out = ship(model)
    print(f"shipped -> {out} (recipe {fingerprint})")


if __name__ == "__main__":
    main()
