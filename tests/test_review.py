"""The review loop: selection, Label Studio tasks and config, and reading Label Studio's JSON export back.

tests/fixtures/label_studio_export.json is a real export of Label Studio 1.23.2 (scripts/check_label_studio.py): tasks
written by `review export` on eight train-document paragraphs, annotated through Label Studio's API with arbitrary test
values (not gold): task 1 accepts the pre-annotation, 2 changes it, 3 is skipped, 4 is cancelled and then submitted,
5 says "no theme", 6-8 have no annotation.
"""
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from models.document import build_document
from models.rules import RuleSet
from policy_tagger import app
from tests.tiny_model import build_tiny_model
from training.dataset import label_rows, load_corrections, text_hash
from training.review import (CONTROL, NONE_CHOICE, TEXT, Exclusion, Pool, ReviewError, labeling_config, read_annotations, select,
                             tasks)

FIXTURE = Path(__file__).with_name("fixtures") / "label_studio_export.json"
REPORT = ("一、兜底保障\n全年发放低保金3200万元，临时救助1200人次。\n"
          "二、养老服务\n新建农村幸福院12所，开展留守老年人关爱探访。\n"
          "三、婚姻登记\n婚姻登记实现全省通办，办理结婚登记5100对。\n")


def pool_of(proba, rules, docs_paragraphs=((0, 1, 2), (0, 1, 2))):
    docs = [build_document(f"d{k}", "甲段落。\n乙段落。\n丙段落。\n") for k in range(len(docs_paragraphs))]
    items = [(d, d.paragraphs[i]) for d, idx in zip(docs, docs_paragraphs) for i in idx]
    proba, rules = np.asarray(proba, float), np.asarray(rules, float)
    shown = np.maximum(proba, rules)
    return Pool(docs, items, proba, np.full(proba.shape[1], 0.5), rules, shown, shown >= 0.5, ["a", "b"])


def test_uncertain_takes_scores_nearest_the_threshold_spread_over_documents():
    pool = pool_of(proba=[[0.51, 0.0], [0.9, 0.0], [0.45, 0.0], [0.55, 0.0], [0.99, 0.01], [0.2, 0.0]],
                   rules=np.zeros((6, 2)))
    s = select(pool, "uncertain", limit=4)
    keys = [(pool.items[i][0].doc_id, pool.items[i][1].index) for i in s.chosen]
    # Each document's most uncertain first, in turns: d0#0 (0.51) and d1#0 (0.55), then d0#2 (0.45) and d1#2 (0.2).
    assert keys == [("d0", 0), ("d1", 0), ("d0", 2), ("d1", 2)]
    assert len(s.left_out["over the limit of 4"]) == 2


def test_disagree_takes_only_paragraphs_where_rules_and_model_differ():
    pool = pool_of(proba=[[0.9, 0.0], [0.1, 0.0], [0.9, 0.9], [0.1, 0.1], [0.6, 0.0], [0.0, 0.0]],
                   rules=[[1, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 1]])
    s = select(pool, "disagree", limit=None)
    keys = [(pool.items[i][0].doc_id, pool.items[i][1].index) for i in s.chosen]
    assert keys[0] == ("d0", 2)                  # two themes in dispute
    assert set(keys) == {("d0", 2), ("d1", 1), ("d1", 2)}
    assert len(s.left_out["the rules and the model agree"]) == 3


def test_random_is_seeded_and_exclusions_say_why(tmp_path):
    pool = pool_of(proba=np.full((6, 2), 0.3), rules=np.zeros((6, 2)))
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"doc_id": "d0", "index": 1, "labels": []}) + "\n", encoding="utf-8")
    fixes = tmp_path / "fixes.jsonl"   # by text: the same paragraph text in another document is left out too
    fixes.write_text(json.dumps({"doc_id": "elsewhere", "index": 9, "labels": [], "hash": text_hash("丙段落。")}) + "\n", encoding="utf-8")
    exclude = [Exclusion.from_jsonl(gold, "in a gold set"), Exclusion.from_jsonl(fixes, "already corrected")]
    a, b = select(pool, "random", limit=3, exclude=exclude, seed=1), select(pool, "random", limit=3, exclude=exclude, seed=1)
    assert a.chosen == b.chosen and len(a.chosen) == 3
    chosen = {(pool.items[i][0].doc_id, pool.items[i][1].index) for i in a.chosen}
    assert ("d0", 1) not in chosen and not {("d0", 2), ("d1", 2)} & chosen
    reasons = {r.split(" (")[0]: v for r, v in a.left_out.items()}
    assert reasons["in a gold set"] == ["d0#1"] and sorted(reasons["already corrected"]) == ["d0#2", "d1#2"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"labels": []}\n', encoding="utf-8")
    with pytest.raises(ReviewError, match="doc_id and index"):
        Exclusion.from_jsonl(bad, "in a gold set")


def test_labeling_config_is_a_label_studio_view_of_every_theme():
    rs = RuleSet.load()
    view = ET.fromstring(labeling_config(rs))
    assert view.tag == "View"
    choices = view.find(f".//Choices[@name='{CONTROL}']")
    assert choices.get("toName") == TEXT and choices.get("choice") == "multiple"
    assert view.find(f".//Text[@name='{TEXT}']").get("value") == "$text"
    options = choices.findall("Choice")
    assert [c.get("alias") for c in options] == rs.theme_ids + [NONE_CHOICE]          # stored: the ids
    assert [c.get("value") for c in options[:-1]] == [t.name for t in rs.themes]      # shown: the Chinese names


@pytest.fixture(scope="module")
def model(tmp_path_factory, seed_documents):
    return build_tiny_model(tmp_path_factory.mktemp("review"), seed_documents, thresholds=0.5)


def test_export_writes_label_studio_tasks_with_pre_annotations(model, tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "county.txt").write_text(REPORT, encoding="utf-8")
    fixes = tmp_path / "fixes.jsonl"
    fixes.write_text(json.dumps({"doc_id": "county", "index": 1, "labels": ["dibao"]}) + "\n", encoding="utf-8")
    out = tmp_path / "tasks.json"
    result = CliRunner().invoke(app, ["review", "export", str(reports), "--model", str(model), "--out", str(out), "--select", "all",
                                      "--corrections", str(fixes)])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text(encoding="utf-8"))
    assert [t["data"]["index"] for t in written] == [0, 2, 3, 4, 5]      # #1 is corrected already
    assert "already corrected" in result.output
    rs = RuleSet.load()
    for t in written:
        d = t["data"]
        assert d["doc_id"] == "county" and d["hash"] == text_hash(d["text"]) and d["original"]
        (prediction,) = t["predictions"]
        (r,) = prediction["result"]
        assert (r["from_name"], r["to_name"], r["type"]) == (CONTROL, TEXT, "choices")
        assert r["value"]["choices"] and set(r["value"]["choices"]) <= set(rs.theme_ids) | {NONE_CHOICE}
        assert 0 <= prediction["score"] <= 1 and set(t["meta"]["scores"]) == set(rs.theme_ids)
    assert ET.fromstring(out.with_name("tasks.config.xml").read_text(encoding="utf-8")).tag == "View"


def test_export_never_offers_a_gold_paragraph(model, tmp_path):
    out = tmp_path / "tasks.json"
    seeds = Path(__file__).resolve().parents[1] / "seeds"        # every seed paragraph is in eval/gold/seeds.jsonl
    result = CliRunner().invoke(app, ["review", "export", str(seeds), "--model", str(model), "--out", str(out)])
    assert result.exit_code == 2 and "no paragraph to review" in result.output and "in a gold set" in result.output
    assert not out.exists()


def test_import_reads_a_real_label_studio_export(tmp_path):
    rs = RuleSet.load()
    imported = read_annotations(FIXTURE, rs)
    by_task = {r["task"]: r for r in imported.corrections}
    export = json.loads(FIXTURE.read_text(encoding="utf-8"))
    accepted = export[0]["predictions"] and export[0]["annotations"][0]["result"][0]["value"]["choices"]
    assert by_task[1]["labels"] == sorted(accepted, key=rs.theme_ids.index)
    assert by_task[2]["labels"] == ["leadership"]
    assert by_task[4]["labels"] == ["affairs"]          # the submitted annotation, not the cancelled one before it
    assert by_task[5]["labels"] == []                   # "no theme"
    assert set(by_task) == {1, 2, 4, 5}
    assert imported.problems == {"skipped (a cancelled annotation only)": [3], "without an annotation": [6, 7, 8]}
    out = tmp_path / "corrections.jsonl"
    result = CliRunner().invoke(app, ["review", "import", str(FIXTURE), "--out", str(out)])
    assert result.exit_code == 0 and "ids 6, 7, 8" in result.output and "4 correction(s)" in result.output
    fixes = load_corrections(out, rs.theme_ids)
    assert {(c.doc_id, c.index): c.labels for c in fixes}[("s1_05", 19)] == ("affairs",)


def test_imported_corrections_train_in_place_of_the_weak_labels():
    from models import load_documents
    from training.corpus import civil_affairs_files
    from training.dataset import Correction

    rs = RuleSet.load()
    corrections = [Correction(r["doc_id"], r["index"], tuple(r["labels"]), r["hash"]) for r in read_annotations(FIXTURE, rs).corrections]
    files = [f for f in civil_affairs_files("train") if f.stem in {c.doc_id for c in corrections}]
    docs, _ = load_documents(files)
    rows = {(r["doc_id"], r["index"]): r for r in label_rows(docs, rs, corrections=corrections, units="paragraphs")}
    for c in corrections:
        row = rows[c.doc_id, c.index]
        assert row["label_source"] == "correction"
        assert [rs.theme_ids[i] for i, v in enumerate(row["labels"]) if v] == list(c.labels)


def test_import_counts_unknown_values_changed_text_and_empty_annotations(tmp_path):
    export = json.loads(FIXTURE.read_text(encoding="utf-8"))
    export[0]["annotations"][0]["result"][0]["value"]["choices"] = ["dibao", "pension"]
    export[1]["data"]["text"] += "（改）"
    export[4]["annotations"][0]["result"] = []
    export[3]["annotations"][1]["result"][0]["value"]["choices"] = ["none", "affairs"]
    f = tmp_path / "export.json"
    f.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    imported = read_annotations(f, RuleSet.load())
    assert imported.corrections == []
    assert imported.problems["with unknown theme value(s) ['pension']"] == [1]
    assert imported.problems["whose text no longer matches its hash"] == [2]
    assert imported.problems["with an empty annotation (neither a theme nor “no theme”)"] == [5]
    assert imported.problems["with “no theme” and a theme at once"] == [4]
    out = tmp_path / "c.jsonl"
    result = CliRunner().invoke(app, ["review", "import", str(f), "--out", str(out)])
    assert result.exit_code == 2 and "nothing written" in result.output and not out.exists()


@pytest.mark.parametrize("content, message", [
    (b"\x00\x01\xff\xfe binary", "not UTF-8"),
    (b"{\"tasks\": []}", "expected a list of tasks"),
    (b"not json", "not JSON"),
    (json.dumps([{"text": "a", "themes": "dibao"}]).encode(), "JSON-MIN"),
])
def test_import_refuses_what_is_not_a_label_studio_export(tmp_path, content, message):
    f = tmp_path / "x.json"
    f.write_bytes(content)
    with pytest.raises(ReviewError, match=message):
        read_annotations(f, RuleSet.load())


def test_import_refuses_the_tasks_file_itself(tmp_path):
    pool = pool_of(proba=np.full((6, 2), 0.3), rules=np.zeros((6, 2)))
    f = tmp_path / "tasks.json"
    rs = RuleSet.from_dict({"themes": [{"id": "a", "name": "甲", "description": "x"}, {"id": "b", "name": "乙", "description": "y"}],
                            "rules": [{"name": "r", "theme": "a", "pattern": "甲"}, {"name": "s", "theme": "b", "pattern": "乙"}]})
    f.write_text(json.dumps(tasks(pool, select(pool, "all", limit=None), rs, how="all", model_version="m"), ensure_ascii=False),
                 encoding="utf-8")
    with pytest.raises(ReviewError, match="tasks file"):
        read_annotations(f, rs)
