import json

import pytest

from training.dataset import build_dataset, label_rows, load_corrections, load_dataset_dir, save_dataset, split_documents, text_hash
from models.rules import RuleSet


def test_split_is_by_document_and_seeded():
    groups = [["s1", "s2", "s3", "s4", "s5"], [f"c{i}" for i in range(20)]]
    val = split_documents(groups, validation_fraction=0.2, seed=1)
    assert val == split_documents(groups, validation_fraction=0.2, seed=1)
    assert len(val & set(groups[0])) == 1 and len(val & set(groups[1])) == 4
    assert split_documents([["only"]], validation_fraction=0.5, seed=1) == set()


def test_split_holds_a_share_of_paragraphs_and_passes_over_a_document_too_long_for_it():
    sizes = {"000": 12, "001": 12, "002": 114, "003": 26, "004": 56}   # the seeds' paragraph counts
    for seed in range(20):
        val = split_documents([list(sizes)], validation_fraction=0.2, seed=seed, sizes=sizes)
        held = sum(sizes[d] for d in val)
        assert "002" not in val and 0.2 * 220 <= held <= 1.5 * 0.2 * 220
    # Nothing fits under the target: the shortest document, never all of them.
    assert split_documents([["a", "b"]], validation_fraction=0.1, seed=0, sizes={"a": 50, "b": 40}) == {"b"}


def test_dataset_has_no_document_on_both_sides(seed_documents, tmp_path):
    rs = RuleSet.load()
    dd = build_dataset([seed_documents], rs, validation_fraction=0.2, seed=13)
    train, val = set(dd["train"]["doc_id"]), set(dd["validation"]["doc_id"])
    assert train and val and not train & val
    paragraph_units = dd["train"]["unit"].count("paragraph") + dd["validation"]["unit"].count("paragraph")
    assert paragraph_units == sum(len(d.paragraphs) for d in seed_documents)
    row = dd["train"][0]
    assert len(row["soft_labels"]) == len(rs.theme_ids)
    assert all(0 <= k < len(rs.theme_ids) for k in row["labels"])
    save_dataset(dd, tmp_path / "ds", rs, method="weighted_vote", sources=["seeds"], seed=13, validation_fraction=0.2)
    again, meta = load_dataset_dir(tmp_path / "ds")
    assert again["validation"]["doc_id"] == dd["validation"]["doc_id"]
    assert meta["themes"] == rs.theme_ids and len(meta["rules_sha256"]) == 16


def test_meta_paragraphs_are_kept_as_no_theme(seed_documents):
    rows = label_rows(seed_documents, RuleSet.load(), units="paragraphs")
    meta = [r for r in rows if r["kind"] == "meta"]
    assert meta and all(sum(r["labels"]) == 0 for r in meta)
    assert len(rows) == 220   # nothing dropped


def test_corrections_override_weak_labels(seed_documents, tmp_path):
    rs = RuleSet.load()
    p = seed_documents[0].paragraphs[2]
    path = tmp_path / "fix.jsonl"
    path.write_text(json.dumps({"doc_id": p.doc_id, "index": p.index, "labels": ["affairs"], "hash": text_hash(p.text)}) + "\n", encoding="utf-8")
    rows = label_rows(seed_documents, rs, corrections=load_corrections(path, rs.theme_ids))
    fixed = next(r for r in rows if (r["doc_id"], r["index"]) == (p.doc_id, p.index))
    assert fixed["label_source"] == "correction"
    assert [t for t, y in zip(rs.theme_ids, fixed["labels"]) if y] == ["affairs"]


def test_bad_corrections_are_errors(seed_documents, tmp_path):
    rs = RuleSet.load()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"doc_id": "x", "index": 0, "labels": ["nope"]}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown theme"):
        load_corrections(bad, rs.theme_ids)
    missing = tmp_path / "missing.jsonl"
    missing.write_text('{"doc_id": "x", "index": 0, "labels": ["dibao"]}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="not found: x#0"):
        label_rows(seed_documents, rs, corrections=load_corrections(missing, rs.theme_ids))


def test_sentence_units_are_labelled_on_their_own_and_only_train(seed_documents, tmp_path):
    from models.segment import segment
    from training.dataset import sentence_units

    rs = RuleSet.load()
    (p,) = segment("d", "（一）兜底保障\n全省新建公益性公墓3处。为残疾人发放两项补贴。")[1:]
    units = sentence_units(p)
    assert [u.text for u in units] == ["全省新建公益性公墓3处。", "为残疾人发放两项补贴。"]
    assert all(u.heading == p.heading and u.sentences[0].end == len(u.text) for u in units)
    # Each sentence carries only its own theme; the paragraph carries both.
    from eval.harness import weak_labels

    y = weak_labels([p] + units, rs) >= 0.5
    themes = [{rs.theme_ids[t] for t in row.nonzero()[0]} for row in y]
    assert {"affairs", "disability"} <= themes[0] and "disability" not in themes[1] and "affairs" not in themes[2]

    dd = build_dataset([seed_documents], rs, validation_fraction=0.2, seed=13, units="paragraphs+sentences")
    assert set(dd["validation"]["unit"]) == {"paragraph"}                       # thresholds and early stopping on paragraphs
    train_units = dd["train"]["unit"]
    assert train_units.count("sentence") > train_units.count("paragraph")
    save_dataset(dd, tmp_path / "ds", rs, method="weighted_vote", sources=["seeds"], seed=13, validation_fraction=0.2, units="paragraphs+sentences")
    meta = load_dataset_dir(tmp_path / "ds")[1]
    assert meta["units"] == "paragraphs+sentences" and meta["splits"]["train"]["sentence_units"] == train_units.count("sentence")


def test_a_corrected_paragraph_contributes_no_sentence_units(seed_documents, tmp_path):
    rs = RuleSet.load()
    p = next(p for p in seed_documents[0].paragraphs if len(p.sentences) > 1)
    path = tmp_path / "fix.jsonl"
    path.write_text(json.dumps({"doc_id": p.doc_id, "index": p.index, "labels": []}) + "\n", encoding="utf-8")
    rows = label_rows(seed_documents, rs, corrections=load_corrections(path, rs.theme_ids), units="paragraphs+sentences")
    assert [r["unit"] for r in rows if (r["doc_id"], r["index"]) == (p.doc_id, p.index)] == ["paragraph"]
    assert any(r["unit"] == "sentence" for r in rows)


def test_a_corpus_adds_its_labelled_paragraphs_and_a_sample_of_the_rest_to_train_only(seed_documents, tmp_path):
    from models import build_document

    rs = RuleSet.load()
    # A made-up corpus: 2 paragraphs the rules label, 30 about other subjects, one of those corrected.
    lines = ["全面推行婚姻登记跨省通办。新建婚姻登记处3个。", "加强留守儿童关爱保护。"] + [f"第{i}项工业技术改造项目完成投资。产值增长。" for i in range(30)]
    corpus = [build_document("corpus_a", "\n".join(lines[:16])), build_document("corpus_b", "\n".join(lines[16:]))]
    fix = tmp_path / "fix.jsonl"
    fix.write_text(json.dumps({"doc_id": "corpus_b", "index": 3, "labels": ["charity"]}) + "\n", encoding="utf-8")
    dd = build_dataset([seed_documents], rs, corpora=[corpus], corpus_negatives=5, seed=13, units="paragraphs+sentences",
                       corrections=load_corrections(fix, rs.theme_ids))
    rows = [r for r in dd["train"] if r["doc_id"].startswith("corpus")]
    assert not any(d.startswith("corpus") for d in dd["validation"]["doc_id"])
    assert {r["unit"] for r in rows} == {"paragraph"}                  # sentence units are the reports' only
    labelled = [r for r in rows if r["labels"]]
    assert {r["text"] for r in labelled} >= set(lines[:2]) and any(r["label_source"] == "correction" for r in labelled)
    assert len(rows) - len(labelled) == 5
    # Seeded: the same draw again, another with another seed.
    again = build_dataset([seed_documents], rs, corpora=[corpus], corpus_negatives=5, seed=13, corrections=load_corrections(fix, rs.theme_ids))
    other = build_dataset([seed_documents], rs, corpora=[corpus], corpus_negatives=5, seed=14, corrections=load_corrections(fix, rs.theme_ids))
    drawn = lambda d: sorted(r["text"] for r in d["train"] if r["doc_id"].startswith("corpus"))
    assert drawn(again) == sorted(r["text"] for r in rows) != drawn(other)
    # The seeds' own paragraphs are all there, whatever the corpus.
    assert dd["train"]["unit"].count("paragraph") + len(dd["validation"]) - len(rows) == sum(len(d.paragraphs) for d in seed_documents)


def test_the_label_columns_name_their_themes(seed_documents, tmp_path):
    from datasets import load_from_disk

    rs = RuleSet.load()
    dd = build_dataset([seed_documents], rs, units="paragraphs")
    save_dataset(dd, tmp_path / "ds", rs, method="weighted_vote", sources=["seeds"], seed=13, validation_fraction=0.2)
    train = load_from_disk(str(tmp_path / "ds" / "data"))["train"]
    assert train.features["labels"].feature.names == rs.theme_ids
    assert train.features["soft_labels"].length == len(rs.theme_ids)
    assert str(rs.theme_ids) in train.info.description
    # A paragraph about 低保 says so by name, and its hard labels are the soft labels over 0.5.
    row = next(r for r in train if "低保" in r["text"] and r["labels"])
    names = [train.features["labels"].feature.int2str(k) for k in row["labels"]]
    assert "dibao" in names
    assert names == [t for t, x in zip(rs.theme_ids, row["soft_labels"]) if x >= 0.5]
