import doctest
import json

import numpy as np
import pytest

import eval.metrics
from eval.baselines import RulesPredictor, TfidfPredictor
from eval.gold import GoldError, GoldRow, align, load_gold
from eval.harness import leave_one_document_out
from eval.metrics import score
from training.thresholds import tune_thresholds
from training.dataset import text_hash
from models.rules import RuleSet


def test_metrics_docstring_examples():
    assert doctest.testmod(eval.metrics).failed == 0


def test_scores_by_hand():
    y = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 1, 1]])
    p = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 0], [0, 1, 0]])
    s = score(y, p, ["a", "b", "c"])
    assert s["per_theme"]["a"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert s["per_theme"]["c"]["precision"] == 0.0
    # micro: tp = 3, fp = 1, fn = 2
    assert s["micro"]["precision"] == 0.75 and s["micro"]["recall"] == 0.6
    assert s["exact_match"] == 0.5


def test_threshold_tuning():
    y = np.array([[1], [1], [0], [0]])
    proba = np.array([[0.9], [0.35], [0.3], [0.1]])
    assert tune_thresholds(y, proba)[0] == 0.35
    assert tune_thresholds(np.zeros((3, 1)), np.ones((3, 1)))[0] == 0.5
    # A weak model scoring every paragraph alike: plain F1 takes the threshold that tags everything,
    # the precision floor refuses it and keeps the most precise threshold instead.
    y = np.array([[1], [1], [0], [0], [0], [1]])
    proba = np.array([[0.6], [0.5], [0.5], [0.5], [0.5], [0.2]])
    assert tune_thresholds(y, proba)[0] == 0.2                       # F1 0.67 by tagging all six
    assert tune_thresholds(y, proba, min_precision=0.8)[0] == 0.6    # only (0.5, 0.6] is precise
    assert tune_thresholds(y, np.full((6, 1), 0.5), min_precision=0.8)[0] == 0.5   # nothing precise: the most precise


def _gold_file(tmp_path, rows):
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_gold_validation_errors(tmp_path, seed_documents):
    themes = RuleSet.load().theme_ids
    p = seed_documents[0].paragraphs[1]
    good = {"doc_id": p.doc_id, "index": p.index, "hash": text_hash(p.text), "labels": ["dibao"]}
    with pytest.raises(GoldError, match="unknown theme.*'welfare'"):
        load_gold(_gold_file(tmp_path, [{**good, "labels": ["welfare"]}]), themes)
    with pytest.raises(GoldError, match="duplicate key"):
        load_gold(_gold_file(tmp_path, [good, good]), themes)
    with pytest.raises(GoldError, match="expected"):
        load_gold(_gold_file(tmp_path, [{"doc_id": "x"}]), themes)
    rows = load_gold(_gold_file(tmp_path, [{**good, "hash": "000000000000"}]), themes)
    with pytest.raises(GoldError, match="no longer matches its text after re-segmentation"):
        align(rows, seed_documents, themes)
    rows = load_gold(_gold_file(tmp_path, [{**good, "index": 999}]), themes)
    with pytest.raises(GoldError, match="not found"):
        align(rows, seed_documents, themes)
    _, y = align(load_gold(_gold_file(tmp_path, [good]), themes), seed_documents, themes)
    assert y.sum() == 1 and y[0, themes.index("dibao")] == 1


class Spy:
    """Records what it is trained on, so the test can check nothing of the held-out document leaks in."""

    seen: list = []
    name = "spy"

    def fit(self, paragraphs, soft_labels):
        Spy.seen.append({p.doc_id for p in paragraphs})
        self.thresholds_ = np.full(soft_labels.shape[1], 0.5)
        return self

    def predict_proba(self, paragraphs):
        Spy.seen[-1] = (Spy.seen[-1], {p.doc_id for p in paragraphs})
        return np.zeros((len(paragraphs), len(self.thresholds_)))


def _whole_seed_gold(seed_documents):
    # Structure only (every paragraph, no theme): this test checks the split, not the scores.
    from eval.gold import GoldRow

    return [GoldRow(p.doc_id, p.index, text_hash(p.text), ()) for d in seed_documents for p in d.paragraphs]


def test_lodo_never_trains_on_the_held_out_document(seed_documents):
    rs = RuleSet.load()
    Spy.seen = []
    result = leave_one_document_out(Spy, seed_documents, _whole_seed_gold(seed_documents), rs)
    assert len(Spy.seen) == 5
    for trained_on, tested_on in Spy.seen:
        assert len(tested_on) == 1 and not trained_on & tested_on
    assert set(result.folds) == {d.doc_id for d in seed_documents}


def test_tfidf_thresholds_come_from_the_training_side_only(seed_documents, monkeypatch):
    import eval.baselines as baselines

    rs = RuleSet.load()
    train = [p for d in seed_documents[1:] for p in d.paragraphs]
    held_out = {p.text for p in seed_documents[0].paragraphs}
    seen = []
    real = baselines.tune_thresholds
    monkeypatch.setattr(baselines, "tune_thresholds", lambda y, proba, **k: seen.append(len(y)) or real(y, proba, **k))
    from eval.harness import weak_labels

    model = TfidfPredictor().fit(train, weak_labels(train, rs))
    assert seen == [len(train)]
    assert model.predict_proba(seed_documents[0].paragraphs).shape == (len(held_out), len(rs.theme_ids))


def test_rules_predictor_matches_aggregated_votes(seed_documents):
    rs = RuleSet.load()
    paragraphs = [p for d in seed_documents for p in d.paragraphs]
    from eval.harness import weak_labels

    pred = RulesPredictor(rs).fit(paragraphs).predict_proba(paragraphs)
    assert np.allclose(pred, weak_labels(paragraphs, rs))


def test_rescale_puts_each_threshold_at_one_half():
    from models.decision import rescale_at_threshold

    out = rescale_at_threshold(np.array([[0.0, 0.2, 0.4, 1.0]]), np.array([0.4, 0.4, 0.4, 0.4]))
    assert np.allclose(out, [[0.0, 0.25, 0.5, 1.0]])


class FixedModel:
    """A 'trained model' that scores every paragraph the same: 0.9 for the first theme, 0.1 elsewhere."""

    name = "fixed"

    def fit(self, paragraphs, soft_labels):
        self.n = soft_labels.shape[1]
        self.thresholds_ = np.full(self.n, 0.6)
        return self

    def predict_proba(self, paragraphs):
        out = np.full((len(paragraphs), self.n), 0.1)
        out[:, 0] = 0.9
        return out


def test_rules_and_model_adds_the_models_themes_except_where_an_exclusion_fired_or_nothing_may_be_tagged():
    from eval.baselines import RulesAndModelPredictor
    from eval.harness import weak_labels
    from models.segment import segment

    rs = RuleSet.load()
    assert rs.theme_ids[0] == "dibao"
    texts = ["为低保对象中的残疾人发放残疾人生活补贴。",   # dibao_not_disability_allowance fires: the model may not add dibao
             "全省新建公益性公墓3处。",              # the rules say affairs; the model adds dibao
             "来源：省民政厅"]                      # a source line: never tagged
    paragraphs = [p for k, t in enumerate(texts) for p in segment(f"d{k}", t)]
    assert [p.kind for p in paragraphs][-1] == "meta"
    labels = weak_labels(paragraphs, rs)
    hybrid = RulesAndModelPredictor(rs, FixedModel()).fit(paragraphs, labels)
    proba = hybrid.predict_proba(paragraphs)
    tagged = [{rs.theme_ids[t] for t in np.flatnonzero(row >= hybrid.thresholds_)} for row in proba]
    assert tagged[0] == {"disability"} and tagged[1] == {"dibao", "affairs"} and tagged[2] == set()
    assert proba[1, 0] == pytest.approx(0.5 + 0.5 * (0.9 - 0.6) / 0.4)


def test_the_encoder_trains_on_corrections_in_place_of_weak_labels_and_keeps_them(seed_documents, monkeypatch):
    import training.train
    from eval.baselines import EncoderPredictor
    from eval.harness import weak_labels
    from models import build_document
    from training.dataset import Correction

    rs = RuleSet.load()
    corpus = build_document("corpus", "全面推行婚姻登记跨省通办。\n工业技术改造项目完成投资。\n外贸进出口稳定增长。")
    paragraphs = [p for d in seed_documents for p in d.paragraphs] + list(corpus.paragraphs)
    soft = weak_labels(paragraphs, rs)
    assert soft[-3].max() >= 0.5 and soft[-2].max() < 0.5    # the rules label the first corpus line only
    fixes = [Correction("corpus", 0, ()), Correction("corpus", 1, ("charity",), text_hash(corpus.paragraphs[1].text))]
    seen = {}

    class Captured(Exception):
        pass

    def capture(dd, *args, **kwargs):
        seen["dd"] = dd
        raise Captured

    monkeypatch.setattr(training.train, "fit_model", capture)
    with pytest.raises(Captured):
        EncoderPredictor(rs, seed_docs=[d.doc_id for d in seed_documents], max_extra_negatives=0, corrections=fixes).fit(paragraphs, soft)
    rows = {r["index"]: r for r in seen["dd"]["train"] if r["doc_id"] == "corpus"}
    charity = rs.theme_ids.index("charity")
    assert set(rows) == {0, 1}                                      # the third line: no weak label, no correction, no room
    assert rows[0]["labels"] == [] and rows[1]["labels"] == [charity]
    assert {r["label_source"] for r in rows.values()} == {"correction"}


def test_the_evaluation_refuses_corrections_of_gold_paragraphs(seed_documents):
    from eval.gold import OUTGENRE_GOLD
    from eval.run import evaluate_protocols
    from training.dataset import Correction

    with pytest.raises(ValueError, match="gold"):
        evaluate_protocols(predictors=["rules"], protocols=[], corrections=[Correction(seed_documents[0].doc_id, 3, ())])
    gold = json.loads(OUTGENRE_GOLD.read_text(encoding="utf-8").splitlines()[0])
    with pytest.raises(ValueError, match="gold"):
        evaluate_protocols(predictors=["rules"], protocols=[], corrections=[Correction(gold["doc_id"], gold["index"], ())])


def test_the_in_genre_gold_covers_every_dev_and_test_paragraph_and_nothing_else():
    from eval.gold import IN_GENRE_GOLD
    from training.corpus import civil_affairs_documents, civil_affairs_manifest

    themes = RuleSet.load().theme_ids
    for split, path in IN_GENRE_GOLD.items():
        docs = civil_affairs_documents(split)
        gold = load_gold(path, themes)
        paragraphs, y = align(gold, docs, themes)   # raises if a hash no longer matches its paragraph
        assert {(p.doc_id, p.index) for p in paragraphs} == {(d.doc_id, p.index) for d in docs for p in d.paragraphs}
        assert y.sum(axis=0).min() > 0              # every theme occurs in each split
    train_ids = {m["id"] for m in civil_affairs_manifest() if m["split"] == "train"}
    assert not train_ids & {g.doc_id for path in IN_GENRE_GOLD.values() for g in load_gold(path, themes)}


def test_the_in_genre_protocol_fits_once_and_never_trains_on_held_out_text(seed_documents):
    from eval.harness import in_genre
    from models import build_document

    rs = RuleSet.load()
    themes = rs.theme_ids
    held = build_document("held", "推进殡葬惠民。\n全面落实低保标准。")
    gold = [GoldRow("held", 0, text_hash(held.paragraphs[0].text), ("affairs",)), GoldRow("held", 1, text_hash(held.paragraphs[1].text), ("dibao",))]
    copy = build_document("copy", "推进殡葬惠民。")   # a training document that repeats a held-out paragraph
    seen = []

    class Spy:
        name = "spy"

        def fit(self, paragraphs, soft_labels):
            seen.append([p.text for p in paragraphs])
            self.thresholds_ = np.full(len(themes), 0.5)
            return self

        def predict_proba(self, paragraphs):
            return RulesPredictor(rs).fit(paragraphs).predict_proba(paragraphs)

    results = in_genre(Spy, seed_documents[:1] + [copy], {"dev": ([held], gold[:1]), "test": ([held], gold[1:])}, rs)
    assert len(seen) == 1 and "推进殡葬惠民。" not in seen[0]
    assert [r.protocol for r in results] == ["in_genre_dev", "in_genre_test"]
    assert results[0].scores["micro"]["f1"] == 1.0 and results[1].scores["micro"]["f1"] == 1.0
    with pytest.raises(ValueError, match="also training"):
        in_genre(Spy, [held], {"dev": ([held], gold[:1])}, rs)


def test_the_recipe_lodo_leaves_exactly_one_seed_out_of_the_recipe(tmp_path):
    from eval.recipe_lodo import SEEDS, recipe_without
    from training.default_model import load_recipe

    recipe = load_recipe()
    held = sorted(SEEDS.glob("*.txt"))[2].stem
    fold = recipe_without(recipe, held, tmp_path / "seeds")
    assert fold["data"][0] == str(tmp_path / "seeds") and fold["data"][1:] == recipe["data"][1:] and fold["config"] == recipe["config"]
    assert sorted(p.stem for p in (tmp_path / "seeds").glob("*.txt")) == sorted(p.stem for p in SEEDS.glob("*.txt") if p.stem != held)
    with pytest.raises(ValueError, match="no `seeds` entry"):
        recipe_without({**recipe, "data": ["training/corpora/civil_affairs_reports:train"]}, held, tmp_path / "other")
