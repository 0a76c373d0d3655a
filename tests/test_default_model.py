import json

from models.base_model import EMBEDDED
from training.config import TrainingConfig
from training.dataset import rules_fingerprint
from training.default_model import is_current
from models.rules import RuleSet


def _folder(path, config: TrainingConfig, rules_sha: str, corpora=None):
    path.mkdir()
    (path / "training_config.json").write_text(json.dumps(config.to_dict()), encoding="utf-8")
    meta = {"themes": [], "thresholds": [], "rules": {"sha256": rules_sha}, "data": {"corpora": corpora}}
    (path / "policy_tagger.json").write_text(json.dumps(meta), encoding="utf-8")
    return path


def test_a_default_model_trained_with_other_settings_or_rules_is_out_of_date(tmp_path):
    rs, config = RuleSet.load(), TrainingConfig(base_model=EMBEDDED)
    assert is_current(_folder(tmp_path / "same", config, rules_fingerprint(rs)), config, rs)
    assert not is_current(_folder(tmp_path / "settings", TrainingConfig(base_model=EMBEDDED, pooling="cls", freeze_layers=11),
                                  rules_fingerprint(rs)), config, rs)
    assert not is_current(_folder(tmp_path / "rules", config, "0" * 16), config, rs)
    assert not is_current(tmp_path / "missing", config, rs)


def test_a_default_model_trained_without_the_corpus_there_now_is_out_of_date(tmp_path):
    rs, config, sha = RuleSet.load(), TrainingConfig(base_model=EMBEDDED), rules_fingerprint(RuleSet.load())
    corpus = tmp_path / "elsewhere" / "reports.jsonl"
    with_corpus = _folder(tmp_path / "with", config, sha, {"sources": ["/old/place/reports.jsonl"], "negatives": 1500})
    assert is_current(with_corpus, config, rs, [corpus])           # by name: a moved checkout keeps its model
    assert not is_current(with_corpus, config, rs, [])
    assert not is_current(_folder(tmp_path / "without", config, sha), config, rs, [corpus])
