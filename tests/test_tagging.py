import csv
import io
import json
import os

import numpy as np
import pytest
from typer.testing import CliRunner

from models.atomic import atomic_write_text
from models.render import render
from models.tagger import TaggedDocument, Tagger
from policy_tagger import app
from tests.tiny_model import build_tiny_model

RAW = "◎記者\n一、推進殯葬改革(gǎi)\n新建公益性公墓3處,,婚姻登記全省通辦。另外，加強組織領導。\n<b>不是标签</b>"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, seed_documents):
    # Thresholds of 0 make the outputs below deterministic whatever the tiny net learnt: everything over 0 is a hit.
    return build_tiny_model(tmp_path_factory.mktemp("m"), seed_documents, thresholds=0.0)


def test_tag_returns_one_documented_type_with_evidence_in_the_original(tiny_model):
    doc = Tagger.load(tiny_model).tag(RAW, doc_id="r")
    assert isinstance(doc, TaggedDocument) and len(doc.paragraphs) == 4
    byline, heading, body, html_line = doc.paragraphs
    assert byline.kind == "meta" and byline.themes == ()            # bylines are never tagged
    assert heading.text == "一、推进殡葬改革" and heading.original == "一、推進殯葬改革"
    assert len(body.themes) == 13                                   # threshold 0: every theme is a hit
    for hit in body.themes:
        assert hit.evidence
        for e in hit.evidence:
            assert body.text[e.start:e.end] == e.text
            assert RAW[e.original_start:e.original_end] in body.original
    scores = [h.score for h in body.themes]
    assert scores == sorted(scores, reverse=True)
    assert {s.theme for s in doc.summary} == set(body.scores) and all(0 < s.share_of_text <= 1 for s in doc.summary)


def test_evidence_is_where_the_themes_rules_matched_else_the_best_scored_sentence(tiny_model):
    assert (tiny_model / "rules.yaml").is_file()                    # the rules travel with the model they trained
    body = Tagger.load(tiny_model).tag(RAW, doc_id="r").paragraphs[2]
    hits = {h.theme: h for h in body.themes}
    affairs = hits["affairs"].evidence
    assert [(e.text, e.rule) for e in affairs] == [("新建公益性公墓3处，婚姻登记全省通办。", "affairs_terms")]
    assert affairs[0].score == hits["affairs"].score                # a rule-located sentence carries the paragraph's score
    # No leadership rule matches `加强组织领导`: the model's sentence scores choose, and say so (no rule).
    assert all(e.rule is None for e in hits["leadership"].evidence)
    # Without rules every theme's evidence comes from sentence scores.
    bare = Tagger(Tagger.load(tiny_model).model).tag(RAW, doc_id="r").paragraphs[2]
    assert all(e.rule is None for h in bare.themes for e in h.evidence)


def test_jsonl_and_csv_outputs(tiny_model):
    tagger = Tagger.load(tiny_model)
    docs = [tagger.tag(RAW, doc_id="r")]
    rows = [json.loads(l) for l in render(docs, "jsonl", {}).splitlines()]
    assert [r["index"] for r in rows] == [0, 1, 2, 3]
    assert {"doc_id", "index", "kind", "heading", "text", "original", "themes", "scores"} <= set(rows[2])
    assert rows[0]["document_summary"] and "document_summary" not in rows[1]
    assert all({"theme", "name", "score", "evidence"} <= set(t) for t in rows[2]["themes"])
    table = list(csv.DictReader(io.StringIO(render(docs, "csv", {}))))
    assert len(table) == 4 and table[2]["text"].startswith("新建公益性公墓3处，婚姻登记")
    assert table[0]["themes"] == ""


def test_html_escapes_the_report_and_has_filters(tiny_model):
    tagger = Tagger.load(tiny_model)
    page = render([tagger.tag(RAW, doc_id="<script>x</script>")], "html", tagger.model.meta.theme_names)
    assert "<b>不是标签</b>" not in page and "&lt;b&gt;不是标签&lt;/b&gt;" in page
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page
    assert 'type="checkbox" value="affairs"' in page and "<mark" in page


def test_atomic_write_survives_an_interruption(tmp_path, monkeypatch):
    import models.atomic

    target = tmp_path / "tags.jsonl"
    atomic_write_text(target, "old\n")
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask   # an ordinary file, not mkstemp's private 0600

    def interrupted(*args):   # Ctrl-C after the new text is written, before it replaces the old file
        raise KeyboardInterrupt

    monkeypatch.setattr(models.atomic.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "new, half-written\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["tags.jsonl"]


def test_tag_command_skips_bad_files_and_writes_each_format(tiny_model, tmp_path):
    reports = tmp_path / "in"
    reports.mkdir()
    (reports / "good.txt").write_text(RAW, encoding="utf-8")
    (reports / "empty.txt").write_bytes(b"")
    (reports / "pic.png").write_bytes(b"\x89PNG")
    runner = CliRunner()
    for fmt in ("jsonl", "csv", "md", "html"):
        out = tmp_path / f"out.{fmt}"
        result = runner.invoke(app, ["tag", str(reports), "--model", str(tiny_model), "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "empty.txt: empty file" in result.output and "pic.png: unsupported file type" in result.output
        assert out.stat().st_size > 0
    result = runner.invoke(app, ["tag", str(reports), "--model", str(tiny_model), "--format", "pdf"])
    assert result.exit_code == 2 and "unknown format 'pdf'" in result.output
    result = runner.invoke(app, ["tag", str(reports / "good.txt"), "--model", str(tmp_path)])
    assert result.exit_code == 2 and "not a policy-tagger model folder" in result.output


def test_int8_quantised_model_gives_close_scores(tiny_model):
    texts = ["推进殡葬改革，新建公益性公墓。", "成立领导小组，纳入目标考核。"]
    full = Tagger.load(tiny_model).model.predict_proba(texts)
    q = Tagger.load(tiny_model, quantize=True).model.predict_proba(texts)
    assert np.abs(full - q).max() < 0.1


def test_rules_plus_model_decision_tags_what_the_rules_say_even_where_the_model_does_not(tiny_model):
    tagger = Tagger.load(tiny_model, decision="rules+model")
    tagger.model.meta.thresholds = [0.999999] * len(tagger.model.themes)   # the model alone tags nothing
    body = tagger.tag(RAW, doc_id="r").paragraphs[2]
    assert {h.theme for h in body.themes} == {"affairs", "digital"}       # 公墓/婚姻登记, 全省通办: the rules' vote
    assert all(h.score >= 0.5 for h in body.themes) and body.themes[0].evidence[0].rule
    assert Tagger.load(tiny_model).tag(RAW, doc_id="r").paragraphs[2].themes != ()   # thresholds of 0: the model tags
    rules_only = Tagger.load(tiny_model, decision="rules").tag(RAW, doc_id="r").paragraphs[2]
    assert {h.theme for h in rules_only.themes} == {"affairs", "digital"}        # whatever the model says
    with pytest.raises(ValueError, match="decision"):
        Tagger(tagger.model, decision="rules+model")                          # no rules to vote with


def test_a_keep_line_drops_the_rule_positives_the_model_scores_below_it(tiny_model):
    tagger = Tagger.load(tiny_model, decision="rules+model")
    themes = tagger.model.themes
    never = [0.999999] * len(themes)                                      # the model adds nothing
    tagger.model.meta.rules_and_model = {"thresholds": never, "keep": [1.0 if t == "affairs" else 0.0 for t in themes]}
    body = tagger.tag(RAW, doc_id="r").paragraphs[2]
    assert {h.theme for h in body.themes} == {"digital"}                  # 公墓/婚姻登记 dropped: the model scores < 1
    assert body.scores["affairs"] < 0.5


def test_the_decision_margin_lever_is_tag_at_margin_zero_and_the_rules_at_a_margin_past_every_score(tiny_model):
    from eval.decision_margin import decided
    from models.document import build_document
    from models.tagger import NO_THEME_KINDS

    tagger = Tagger.load(tiny_model, decision="rules+model")
    themes = tagger.model.themes
    tagger.model.meta.rules_and_model = {"thresholds": [0.3] * len(themes), "keep": [0.0] * len(themes)}
    doc = build_document("r", RAW)
    paragraphs = [p for p in doc.paragraphs if p.kind not in NO_THEME_KINDS]
    tagged = {p.index: {h.theme for h in p.themes} for p in tagger.tag(RAW, doc_id="r").paragraphs}
    rules_alone, by_margin = decided(tagger.model, paragraphs, tagger.rule_set, {0: np.zeros(len(themes)), 1: np.ones(len(themes))})
    at_zero, past = by_margin[0], by_margin[1]
    assert [{t for t, hit in zip(themes, row) if hit} for row in at_zero] == [tagged[p.index] for p in paragraphs]
    rules = Tagger.load(tiny_model, decision="rules").tag(RAW, doc_id="r").paragraphs
    expected_rules = [{h.theme for h in rules[p.index].themes} for p in paragraphs]
    assert [{t for t, hit in zip(themes, row) if hit} for row in past] == expected_rules   # lines at 0.99: nothing added
    assert [{t for t, hit in zip(themes, row) if hit} for row in rules_alone] == expected_rules
    assert at_zero.sum() > past.sum()                                     # the model did add themes at margin 0
