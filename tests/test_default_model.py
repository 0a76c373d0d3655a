import json

import pytest

from models.rules import RuleSet
from training.default_model import is_current, load_recipe, recipe_config, recipe_fingerprint


def _folder(path, fingerprint):
    path.mkdir()
    (path / "policy_tagger.json").write_text(json.dumps({"themes": [], "thresholds": [], "recipe": {"sha256": fingerprint}}), encoding="utf-8")
    return path


def test_the_recipe_names_only_what_the_repository_holds_and_never_a_held_out_document():
    recipe = load_recipe()
    recipe_config(recipe)   # a valid TrainingConfig
    assert "training/corpora/civil_affairs_reports:train" in recipe["data"]
    assert not any(":dev" in s or ":test" in s for s in recipe["data"] + recipe["corpora"])
    assert len(recipe_fingerprint(recipe, RuleSet.load())) == 16


def test_a_default_model_made_by_another_recipe_rules_or_data_is_out_of_date(tmp_path):
    recipe, rules = load_recipe(), RuleSet.load()
    sha = recipe_fingerprint(recipe, rules)
    assert is_current(_folder(tmp_path / "same", sha), sha)
    assert not is_current(tmp_path / "missing", sha)
    # Any setting, any rule, any file the recipe reads: the fingerprint moves.
    assert recipe_fingerprint({**recipe, "config": {"epochs": 3}}, rules) != sha
    changed = RuleSet.from_dict({"themes": [{"id": t.id, "name": t.name, "description": t.description} for t in rules.themes],
                                 "rules": [{"name": f"r_{t.id}", "theme": t.id, "pattern": t.name} for t in rules.themes]}, raw="other rules")
    assert recipe_fingerprint(recipe, changed) != sha
    fixes = tmp_path / "fixes.jsonl"
    fixes.write_text('{"doc_id": "x", "index": 0, "labels": []}\n', encoding="utf-8")
    with pytest.raises(ValueError):   # a path outside the repository is refused rather than silently read
        recipe_fingerprint({**recipe, "corrections": [str(fixes)]}, rules)


def test_a_recipe_lever_changes_only_the_training_settings_it_names():
    from eval.recipe_levers import parse_setting, varied_recipe

    recipe, rules = load_recipe(), RuleSet.load()
    settings = dict([parse_setting("freeze_layers=5"), parse_setting("group_by_length=true")])
    assert settings == {"freeze_layers": 5, "group_by_length": True}
    varied = varied_recipe(recipe, settings, seed=14)
    config = recipe_config(varied)
    assert (config.freeze_layers, config.group_by_length, config.seed) == (5, True, 14)
    assert {k: v for k, v in varied.items() if k != "config"} == {k: v for k, v in recipe.items() if k != "config"}
    assert recipe_fingerprint(varied, rules) != recipe_fingerprint(recipe, rules)
    with pytest.raises(ValueError, match="unknown setting"):
        varied_recipe(recipe, {"freeze_layer": 11}, seed=13)
