import json

import numpy as np
import pytest

from training.dataset import build_dataset, label_rows, load_corrections, load_dataset_dir, save_dataset, split_documents, text_hash
from training.rules import RuleSet


def test_split_is_by_document_and_seeded():
    groups = [["s1", "s2", "s3", "s4", "s5"], [f"c{i}" for i in range(20)]]
    val = split_documents(groups, validation_fraction=0.2, seed=1)
    assert val == split_documents(groups, validation_fraction=0.2, seed=1)
    assert len(val & set(groups[0])) == 1 and len(val & set(groups[1])) == 4
    assert split_documents([["only"]], validation_fraction=0.5, seed=1) == set()


def test_dataset_has_no_document_on_both_sides(seed_documents, tmp_path):
    rs = RuleSet.load()
    dd = build_dataset([seed_documents], rs, validation_fraction=0.2, seed=13)
    train, val = set(dd["train"]["doc_id"]), set(dd["validation"]["doc_id"])
    assert train and val and not train & val
    assert len(dd["train"]) + len(dd["validation"]) == sum(len(d.paragraphs) for d in seed_documents)
    row = dd["train"][0]
    assert len(row["soft_labels"]) == len(rs.theme_ids) == len(row["labels"])
    save_dataset(dd, tmp_path / "ds", rs, method="weighted_vote", sources=["seeds"], seed=13, validation_fraction=0.2)
    again, meta = load_dataset_dir(tmp_path / "ds")
    assert again["validation"]["doc_id"] == dd["validation"]["doc_id"]
    assert meta["themes"] == rs.theme_ids and len(meta["rules_sha256"]) == 16


def test_meta_paragraphs_are_kept_as_no_theme(seed_documents):
    rows = label_rows(seed_documents, RuleSet.load())
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
