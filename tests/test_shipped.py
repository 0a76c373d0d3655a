"""The shipped default model: only the trained layers travel, they assemble back onto the base, and they cannot
silently fall out of step with the rules, the recipe or the data."""
import json

import numpy as np
import pytest

from models.modeling import ThemeModel
from models.rules import RuleSet
from models.shipped import SHIPPED, WEIGHTS, ShippedModelError, assemble, ship, shipped_meta
from tests.test_training import seed_dataset, tiny_base, tiny_config  # noqa: F401  (fixtures)
from training.default_model import load_recipe, recipe_fingerprint
from training.train import train


def test_ship_keeps_only_the_trained_tensors_and_assembles_the_same_model(tiny_base, seed_dataset, tmp_path):
    # freeze_layers=1 of 2: the top e5 layer, the appended pooling layer, the pooler and the head train.
    model_dir = train(seed_dataset, tmp_path / "model", config=tiny_config(tiny_base, epochs=1), progress=False)
    shipped = ship(model_dir, tmp_path / "shipped")
    from safetensors.torch import load_file

    kept = load_file(str(shipped / WEIGHTS))
    assert kept and not any("embeddings" in k or ".layer.0." in k for k in kept)   # the frozen bottom stays behind
    assert any(".layer.2." in k for k in kept) and any("classifier" in k for k in kept)
    rebuilt = assemble(tmp_path / "assembled", shipped)
    texts = ["全面落实低保标准。", "新建公益性公墓3处，推进殡葬改革。"]
    np.testing.assert_allclose(ThemeModel.load(rebuilt).predict_proba(texts), ThemeModel.load(model_dir).predict_proba(texts), atol=1e-6)
    assert json.loads((rebuilt / "policy_tagger.json").read_text())["thresholds"] == json.loads((model_dir / "policy_tagger.json").read_text())["thresholds"]


def test_layers_trained_on_another_base_are_refused(tiny_base, seed_dataset, tmp_path):
    model_dir = train(seed_dataset, tmp_path / "model", config=tiny_config(tiny_base, epochs=1), progress=False)
    shipped = ship(model_dir, tmp_path / "shipped")
    base = json.loads((shipped / "base.json").read_text())
    (shipped / "base.json").write_text(json.dumps({**base, "vocab_sha256": "0" * 16}))
    with pytest.raises(ShippedModelError, match="another conversion"):
        assemble(tmp_path / "assembled", shipped)
    with pytest.raises(ShippedModelError, match="lacks"):
        assemble(tmp_path / "other", tmp_path / "nothing-here")


def test_the_shipped_default_model_is_current_with_the_rules_recipe_and_data():
    """Fails when models/themes.yaml, training/default_recipe.json or a file the recipe reads changed and the shipped
    weights were not regenerated (`python -m training.default_model --ship`)."""
    meta = shipped_meta()
    assert meta is not None, f"{SHIPPED} is missing: regenerate it with `python -m training.default_model --ship`"
    assert meta["recipe"]["sha256"] == recipe_fingerprint(load_recipe(), RuleSet.load()), (
        "the shipped default model was made by other rules, recipe or data: regenerate it with `python -m training.default_model --ship`")
