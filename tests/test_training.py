import json

import numpy as np
import pytest
import torch

from models.modeling import ThemeModel, length_batches, make_windows, pool_windows
from training.config import TrainingConfig
from training.dataset import build_dataset, save_dataset, text_hash
from models.rules import RuleSet
from training.train import SplitNetwork, build_network, train
from tests.tiny_model import build_tiny_base


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    return build_tiny_base(tmp_path_factory.mktemp("tiny-base"))


def tiny_config(base, **kw):
    settings = dict(base_model=str(base), keep_layers=None, freeze_layers=1, text_prefix="", max_length=64, stride=16,
                    epochs=3, batch_size=8, patience=2)
    return TrainingConfig(**{**settings, **kw})


@pytest.fixture(scope="module")
def seed_dataset(tmp_path_factory, seed_documents):
    rs = RuleSet.load()
    out = tmp_path_factory.mktemp("ds") / "seeds"
    dd = build_dataset([seed_documents], rs, validation_fraction=0.2, seed=13)
    return save_dataset(dd, out, rs, method="weighted_vote", sources=["seeds"], seed=13, validation_fraction=0.2)


def test_config_validates_and_round_trips():
    c = TrainingConfig(epochs=3)
    assert TrainingConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ValueError, match="freeze_layers \\(6\\) must be below keep_layers \\(6\\)"):
        TrainingConfig(keep_layers=6, freeze_layers=6, pooling="cls")
    TrainingConfig(keep_layers=6, freeze_layers=6)   # the pooling layer on top still trains
    with pytest.raises(ValueError, match="freeze_layers \\(7\\) must be below"):
        TrainingConfig(keep_layers=6, freeze_layers=7)
    for bad in ({"pooling": "max"}, {"thresholds": "auto"}):
        with pytest.raises(ValueError, match="must be"):
            TrainingConfig(**bad)
    with pytest.raises(ValueError, match="unknown setting.*epoks"):
        TrainingConfig.from_dict({"epoks": 3})
    # `--config` takes a recipe too: its settings are under "config" (what `train` by hand reproduces the default with).
    from training.default_model import RECIPE, load_recipe

    assert TrainingConfig.from_file(RECIPE) == TrainingConfig.from_dict(load_recipe()["config"])


def test_windows_cover_every_token(tiny_base):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_base)
    text = "民政" * 100   # 200 tokens
    w = make_windows(tok, [text, "短"], max_length=64, stride=16)
    body = [ids[1:-1] for ids, o in zip(w.input_ids, w.owner) if o == 0]
    assert all(len(ids) <= 64 for ids in w.input_ids)
    covered = body[0] + [t for b in body[1:] for t in b[16:]]
    assert covered == tok(text, add_special_tokens=False)["input_ids"]
    assert w.owner.count(1) == 1


def test_length_batches_cover_every_window_once_and_pad_little():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 250, size=90).tolist()
    batches = length_batches(lengths, 8, max_padding=0.1)
    assert sorted(i for b in batches for i in b) == list(range(90))
    assert max(len(b) for b in batches) <= 8
    for b in batches:
        assert max(lengths[i] for i in b) * len(b) <= 1.1 * sum(lengths[i] for i in b)
    fixed = sum(max(sorted(lengths)[s:s + 8]) * len(sorted(lengths)[s:s + 8]) for s in range(0, 90, 8))
    assert sum(max(lengths[i] for i in b) * len(b) for b in batches) < fixed   # fewer padded tokens than fixed batches of 8
    assert length_batches([7, 7, 7], 2) == [[0, 1], [2]] and length_batches([], 4) == []


def test_pooling_takes_the_max_over_windows():
    logits = torch.tensor([[0.0, 5.0], [3.0, -1.0], [1.0, 1.0]])
    assert pool_windows(logits, [0, 0, 1], 2).tolist() == [[3.0, 5.0], [1.0, 1.0]]


@pytest.mark.parametrize("pooling,freeze", [("mean", 1), ("mean", 2), ("cls", 1)])
def test_split_network_equals_the_stock_forward(tiny_base, pooling, freeze):
    model, tok, _ = build_network(["a", "b"], tiny_config(tiny_base, pooling=pooling))
    model.eval()
    net = SplitNetwork(model, freeze=freeze)
    enc = tok(["加强组织领导，成立领导小组。", "低保"], padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = model(**enc).logits
        got = net.top(net.bottom(enc["input_ids"], enc["attention_mask"]), enc["attention_mask"])
    assert torch.allclose(expected, got, atol=1e-5)


def test_mean_pooling_layer_starts_as_the_masked_mean(tiny_base):
    model, tok, base = build_network(["a", "b"], tiny_config(tiny_base, pooling="mean"))
    model.eval()
    assert model.config.num_hidden_layers == 3 and base["layers_kept"] == 2 and base["pooling"] == "mean"
    texts = ["加强组织领导，成立领导小组。", "低保"]
    with torch.no_grad():
        padded = model.base_model(**tok(texts, padding=True, return_tensors="pt"), output_hidden_states=True).hidden_states
        alone = model.base_model(**tok(texts[1:], return_tensors="pt"), output_hidden_states=True).hidden_states
    n = len(tok(texts[1])["input_ids"])
    mean = alone[2][0].mean(0)
    assert torch.nn.functional.cosine_similarity(alone[3][0, 0], mean, dim=0) > 0.99
    # Padding does not leak into the mean: the padded row's [CLS] equals the unpadded one's.
    assert padded[3].shape[1] > n and torch.allclose(padded[3][1, 0], alone[3][0, 0], atol=1e-5)


def test_int8_keeps_ffn_outputs_and_the_last_layer_in_fp32(tiny_base):
    from models.modeling import quantize_int8

    model, _, _ = build_network(["a", "b"], tiny_config(tiny_base, pooling="mean"))
    q = quantize_int8(model)
    int8 = {name for name, m in q.named_modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)}
    layer = "bert.encoder.layer"
    assert {f"{layer}.0.attention.self.query", f"{layer}.0.attention.output.dense", f"{layer}.0.intermediate.dense"} <= int8
    assert f"{layer}.0.output.dense" not in int8                                  # the FFN output projection
    assert not [n for n in int8 if n.startswith(f"{layer}.2.")] and "classifier" not in int8   # the last (pooling) layer, the head


def test_train_writes_a_self_sufficient_folder(tiny_base, seed_dataset, tmp_path):
    out = train(seed_dataset, tmp_path / "model", config=tiny_config(tiny_base), progress=False)
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "policy_tagger.json", "training_config.json", "README.md", "tokenizer.json"} <= names
    meta = json.loads((out / "policy_tagger.json").read_text(encoding="utf-8"))
    assert len(meta["thresholds"]) == 13 and meta["rules"]["sha256"] and meta["data"]["sha256"]
    model = ThemeModel.load(out)
    proba = model.predict_proba(["加强组织领导。" * 80, "低保"])
    assert proba.shape == (2, 13) and np.all((proba >= 0) & (proba <= 1))
    # Plain transformers loads it as it is.
    from transformers import AutoModelForSequenceClassification, pipeline

    clf = AutoModelForSequenceClassification.from_pretrained(out)
    assert clf.config.problem_type == "multi_label_classification" and clf.config.id2label[0] == "dibao"
    scores = pipeline("text-classification", model=str(out), top_k=None)(["提高低保标准"])[0]
    assert len(scores) == 13 and {s["label"] for s in scores} == set(meta["themes"])


def test_length_grouped_batches_cover_every_paragraph_once_with_less_padding():
    from types import SimpleNamespace

    from training.train import _batches

    lengths = np.random.default_rng(0).integers(5, 256, size=2000)
    cache = SimpleNamespace(n_texts=len(lengths), lengths=lengths)

    def padding(config):
        batches = _batches(cache, config, np.random.default_rng(1))
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        assert all(len(b) <= config.batch_size for b in batches)
        return sum(len(b) * lengths[b].max() - lengths[b].sum() for b in batches)

    plain, grouped = padding(TrainingConfig(batch_size=16)), padding(TrainingConfig(batch_size=16, group_by_length=True))
    assert grouped < plain / 5
    first = _batches(cache, TrainingConfig(batch_size=16, group_by_length=True), np.random.default_rng(1))
    assert first == _batches(cache, TrainingConfig(batch_size=16, group_by_length=True), np.random.default_rng(1))   # seeded
    assert len({len(b) for b in first[:-1]}) <= 2 and first != sorted(first, key=lambda b: -lengths[b[0]])      # shuffled order


def test_training_is_reproducible(tiny_base, seed_dataset, tmp_path):
    config = tiny_config(tiny_base, epochs=2, group_by_length=True)
    a = ThemeModel.load(train(seed_dataset, tmp_path / "a", config=config, progress=False))
    b = ThemeModel.load(train(seed_dataset, tmp_path / "b", config=config, progress=False))
    texts = ["推进殡葬惠民", "成立领导小组"]
    assert np.allclose(a.predict_proba(texts), b.predict_proba(texts))


def test_retraining_follows_a_correction_and_never_breaks_the_previous_model(tiny_base, seed_documents, tmp_path):
    from models import build_document
    from training.dataset import load_corrections

    rs = RuleSet.load()
    first = train(save_dataset(build_dataset([seed_documents], rs), tmp_path / "ds1", rs, method="weighted_vote",
                               sources=["seeds"], seed=13, validation_fraction=0.2),
                  tmp_path / "model", config=tiny_config(tiny_base, epochs=2), progress=False)
    before = (first / "model.safetensors").read_bytes()
    # A new, made-up report, and a correction that says its second paragraph is about marriage registration.
    new = build_document("new_report", "一、工作情况\n全面推行婚姻登记跨省通办，新建婚姻登记处3个。\n其他工作有序开展。")
    target = new.paragraphs[1]
    from training.dataset import label_rows

    weak = label_rows([new], rs)[1]
    assert weak["labels"][rs.theme_ids.index("affairs")] == 1 and weak["labels"][rs.theme_ids.index("charity")] == 0
    fix = tmp_path / "fix.jsonl"
    fix.write_text(json.dumps({"doc_id": "new_report", "index": 1, "labels": ["charity"], "hash": text_hash(target.text)}) + "\n", encoding="utf-8")
    # The added data alone, with no validation split (early stopping then follows the training loss):
    # a tiny random network cannot tell the seeds' long paragraphs apart, but it can fit these.
    ds2 = save_dataset(build_dataset([[new]], rs, corrections=load_corrections(fix, rs.theme_ids), validation_fraction=0.0),
                       tmp_path / "ds2", rs, method="weighted_vote", sources=["new"], seed=13, validation_fraction=0.0)
    from datasets import load_from_disk

    row = [r for split in load_from_disk(str(ds2 / "data")).values() for r in split if r["doc_id"] == "new_report" and r["index"] == 1][0]
    assert row["label_source"] == "correction" and row["labels"] == [rs.theme_ids.index("charity")]

    # An interrupted retrain leaves the previous model untouched.
    class Stop(Exception):
        pass

    import training.train as tt

    real = tt.write_model_card
    tt.write_model_card = lambda *a, **k: (_ for _ in ()).throw(Stop())
    try:
        with pytest.raises(Stop):
            train(ds2, first, config=tiny_config(tiny_base, epochs=1), init_from=first, progress=False)
    finally:
        tt.write_model_card = real
    assert (first / "model.safetensors").read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    # Retrain from the previous model, many epochs on the corrected paragraph's label.
    cfg = tiny_config(tiny_base, epochs=60, patience=60, learning_rate=1e-3, head_learning_rate=1e-2)
    second = train(ds2, tmp_path / "model2", config=cfg, init_from=first, progress=False)
    proba = ThemeModel.load(second).predict_proba([target.text])[0]
    assert proba[rs.theme_ids.index("charity")] > 0.5
    assert json.loads((second / "policy_tagger.json").read_text())["init_from"] == str(first)


def test_rules_and_model_lines_drop_the_rule_positives_people_reject_and_add_what_the_rules_miss():
    from training.thresholds import tune_rules_and_model

    # One theme, 40 paragraphs.  The rules fire on 0-19; people say 0-9 (model 0.6-0.9) carry it and 10-19 (model 0.05-0.1:
    # passing mentions) do not.  The rules miss 20-24, which carry it and score 0.8; 25-39 score 0.3 and do not.
    proba = np.r_[np.linspace(0.6, 0.9, 10), np.linspace(0.05, 0.1, 10), np.full(5, 0.8), np.full(15, 0.3)][:, None]
    y = np.r_[np.ones(10), np.zeros(10), np.ones(5), np.zeros(15)][:, None]
    rules = (np.arange(40) < 20)[:, None]
    add, keep = tune_rules_and_model(y, proba, rules, np.zeros_like(rules), np.array([0.5]))
    assert 0.1 < keep[0] <= 0.6 and 0.3 < add[0] <= 0.8           # every paragraph right
    vetoed = (np.arange(40) >= 20)[:, None]                         # an exclusion fired where the rules are silent: no adding
    add_v, keep_v = tune_rules_and_model(y, proba, rules, vetoed, np.array([0.5]))
    assert 0.1 < keep_v[0] <= 0.6
    few = tune_rules_and_model(y[:12], proba[:12], rules[:12], np.zeros((12, 1), dtype=bool), np.array([0.5]), min_positives=11)
    assert few[0][0] == 0.5 and few[1][0] == 0.0                    # too few people's positives: the model's line, keep 0


def test_training_tunes_the_rules_and_model_lines_on_the_validation_paragraphs_people_labelled(tiny_base, seed_documents, seed_dataset, tmp_path):
    from training.dataset import label_rows, load_corrections

    rs = RuleSet.load()
    fixes = tmp_path / "fixes.jsonl"
    fixes.write_text("".join(json.dumps({"doc_id": r["doc_id"], "index": r["index"], "hash": r["hash"],
                                         "labels": [t for t, on in zip(rs.theme_ids, r["labels"]) if on]}, ensure_ascii=False) + "\n"
                             for r in label_rows(seed_documents, rs, units="paragraphs")), encoding="utf-8")
    dd = build_dataset([seed_documents], rs, corrections=load_corrections(fixes, rs.theme_ids), validation_fraction=0.2, seed=13)
    people = sum(r["label_source"] == "correction" and r["unit"] == "paragraph" for r in dd["validation"])
    ds = save_dataset(dd, tmp_path / "ds", rs, method="weighted_vote", sources=["seeds"], seed=13, validation_fraction=0.2)
    tuned = ThemeModel.load(train(ds, tmp_path / "tuned", config=tiny_config(tiny_base, epochs=1, rules_and_model="tuned"), progress=False))
    lines = tuned.meta.rules_and_model
    assert people > 0 and lines["tuned_on"] == f"{people} validation paragraphs with people's labels"
    thresholds, keep = tuned.rules_and_model_lines
    assert thresholds.shape == keep.shape == (13,) and set(keep) <= {0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3}
    assert "rules+model: threshold | keep |" in (tuned.path / "README.md").read_text(encoding="utf-8")
    # Without people's labels in validation (the seeds' weak labels only) there is nothing to tune on.
    plain = ThemeModel.load(train(seed_dataset, tmp_path / "plain", config=tiny_config(tiny_base, epochs=1, rules_and_model="tuned"), progress=False))
    assert plain.meta.rules_and_model is None and np.array_equal(plain.rules_and_model_lines[0], plain.thresholds)
    with pytest.raises(ValueError, match="rules_and_model"):
        TrainingConfig(rules_and_model="always")
