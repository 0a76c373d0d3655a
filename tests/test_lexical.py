"""The character n-gram reader beside the encoder: it reproduces scikit-learn's TF-IDF + logistic regression from
stored arrays, its share of the mixture is chosen on validation, and a model folder carries it through training,
loading and shipping."""
import json

import numpy as np
import pytest

from models.lexical import LEXICAL_FILE, LEXICAL_WEIGHTS, LexicalHead
from models.modeling import ThemeModel
from models.shipped import assemble, ship
from tests.test_training import seed_dataset, tiny_base, tiny_config  # noqa: F401  (fixtures)
from training.config import TrainingConfig
from training.lexical import choose_weight, fit_lexical_head
from training.train import train

TEXTS = ["全面落实低保标准动态调整机制。", "成立工作领导小组，纳入年度目标考核。", "新建公益性公墓3处，推进殡葬改革。",
         "开展农村留守儿童关爱保护专项行动。", "加强低保对象动态管理，落实临时救助。", "召开专题会议研究部署，开展督查督导。"]
LABELS = np.array([[1, 0], [0, 1], [0, 0], [0, 0], [1, 0], [0, 1]])


def test_the_stored_head_scores_as_scikit_learn_does():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    head = fit_lexical_head(TEXTS, LABELS, max_features=200, C=4.0, seed=0)
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, max_features=200)
    x = vec.fit_transform(TEXTS)
    new = ["落实低保和临时救助。", "督查督导，领导小组。", ""]
    ours, theirs = head.features(new).toarray(), vec.transform(new).toarray()
    order = [vec.vocabulary_[g] for g in head.vocabulary]
    np.testing.assert_allclose(ours, theirs[:, order], atol=1e-12)
    expected = np.column_stack([LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000, random_state=0).fit(x, LABELS[:, t])
                                .predict_proba(vec.transform(new))[:, 1] for t in range(2)])
    np.testing.assert_allclose(head.predict_proba(new), expected, atol=1e-8)
    assert head.predict_proba(new)[0, 0] > 0.5 > head.predict_proba(new)[0, 1]   # 低保 is theme 0, 督查/领导小组 theme 1


def test_a_theme_without_positives_scores_its_rate_and_shapes_are_checked():
    head = fit_lexical_head(TEXTS, np.column_stack([LABELS[:, 0], np.zeros(len(TEXTS), dtype=int)]), max_features=100, C=1.0, seed=0)
    assert np.all(head.predict_proba(TEXTS)[:, 1] < 1e-3)
    with pytest.raises(ValueError, match="shapes disagree"):
        LexicalHead(vocabulary=["a"], idf=np.ones(2), coef=np.zeros((1, 2)), intercept=np.zeros(1), ngram_range=(1, 1), weight=0.5, about={})
    with pytest.raises(ValueError, match="weight"):
        LexicalHead(vocabulary=["a"], idf=np.ones(1), coef=np.zeros((1, 1)), intercept=np.zeros(1), ngram_range=(1, 1), weight=1.5, about={})


def test_save_and_load_round_trip_and_a_half_saved_head_is_an_error(tmp_path):
    head = fit_lexical_head(TEXTS, LABELS, max_features=200, C=4.0, seed=0)
    head.weight = 0.3
    head.save(tmp_path)
    again = LexicalHead.load(tmp_path)
    assert again.weight == 0.3 and again.vocabulary == head.vocabulary
    np.testing.assert_allclose(again.predict_proba(TEXTS), head.predict_proba(TEXTS), atol=1e-6)   # float32 on disk
    assert LexicalHead.load(tmp_path / "nothing") is None
    (tmp_path / LEXICAL_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="needs both"):
        LexicalHead.load(tmp_path)


def test_the_share_is_the_one_validation_scores_best_ties_to_the_encoder():
    enc, lex = np.array([[0.9], [0.1]]), np.array([[0.1], [0.9]])
    y = np.array([[1], [0]])
    share, tried = choose_weight(enc, lex, lambda p: float(((p >= 0.5) == y).mean()))
    assert share == 0.0 and set(tried) == {round(w, 1) for w in np.arange(0, 1.01, 0.1)}   # 0.0-0.4 all score 1.0: the lowest
    share, _ = choose_weight(lex, enc, lambda p: float(((p >= 0.5) == y).mean()))
    assert share == 0.6   # the mirror: from 0.6 up the lexical side wins


def test_training_fits_the_head_mixes_it_in_and_ships_it(tiny_base, seed_dataset, tmp_path):
    folder = train(seed_dataset, tmp_path / "model", config=tiny_config(tiny_base, epochs=1, lexical="tuned"), progress=False)
    model = ThemeModel.load(folder)
    head = model.lexical
    assert head is not None and head.weight in {round(w, 1) for w in np.arange(0, 1.01, 0.1)}
    assert len(head.about["validation_f1_by_weight"]) == 11 and head.about["train_rows"] > 0
    assert f"{head.weight:.1f} × its scores" in (folder / "README.md").read_text(encoding="utf-8")   # the model card says so
    texts = ["全面落实低保标准。", "成立工作领导小组，开展督查督导。"]
    np.testing.assert_allclose(model.predict_proba(texts), (1 - head.weight) * model.encoder_proba(texts) + head.weight * head.predict_proba(texts))
    rebuilt = ThemeModel.load(assemble(tmp_path / "assembled", ship(folder, tmp_path / "shipped")))
    assert (tmp_path / "shipped" / LEXICAL_WEIGHTS).is_file() and rebuilt.lexical.weight == head.weight
    np.testing.assert_allclose(rebuilt.predict_proba(texts), model.predict_proba(texts), atol=1e-6)
    # Without the setting the folder is the encoder alone, as before.
    plain = train(seed_dataset, tmp_path / "plain", config=tiny_config(tiny_base, epochs=1), progress=False)
    assert not (plain / LEXICAL_FILE).exists() and ThemeModel.load(plain).lexical is None
    assert json.loads((folder / "training_config.json").read_text())["lexical"] == "tuned"
    with pytest.raises(ValueError, match="lexical must be"):
        TrainingConfig(lexical="always")
