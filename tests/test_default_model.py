import json

from models.base_model import EMBEDDED
from training.config import TrainingConfig
from training.dataset import rules_fingerprint
from training.default_model import is_current
from training.rules import RuleSet


def _folder(path, config: TrainingConfig, rules_sha: str):
    path.mkdir()
    (path / "training_config.json").write_text(json.dumps(config.to_dict()), encoding="utf-8")
    (path / "policy_tagger.json").write_text(json.dumps({"themes": [], "thresholds": [], "rules": {"sha256": rules_sha}}), encoding="utf-8")
    return path


def test_a_default_model_trained_with_other_settings_or_rules_is_out_of_date(tmp_path):
    rs, config = RuleSet.load(), TrainingConfig(base_model=EMBEDDED)
    assert is_current(_folder(tmp_path / "same", config, rules_fingerprint(rs)), config, rs)
    assert not is_current(_folder(tmp_path / "settings", TrainingConfig(base_model=EMBEDDED, pooling="cls", freeze_layers=11),
                                  rules_fingerprint(rs)), config, rs)
    assert not is_current(_folder(tmp_path / "rules", config, "0" * 16), config, rs)
    assert not is_current(tmp_path / "missing", config, rs)
