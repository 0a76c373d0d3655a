import re

import numpy as np
import pytest

from models.segment import Paragraph
from models.decision import WeightedVote
from training.aggregate import LabelModel, aggregate
from training.analysis import format_report, rule_summary
from models.rules import ABSTAIN, NEGATIVE, POSITIVE, Rule, RuleConfigError, RuleSet, VoteMatrix, apply_rules

THEMES = [{"id": "a", "name": "甲", "description": "d"}, {"id": "b", "name": "乙", "description": "d"}]


def rule_set(rules, **extra):
    return RuleSet.from_dict({"themes": THEMES, "rules": rules, **extra})


def para(text, heading_path=(), kind="body", doc="d", index=0):
    return Paragraph(doc, index, text, 0, len(text), kind, None, heading_path[-1] if heading_path else None, tuple(heading_path))


def test_default_rule_file_loads_and_covers_every_theme():
    rs = RuleSet.load()
    assert len(rs.themes) == 13
    assert all(rs.rules_for(t) for t in rs.theme_ids)


@pytest.mark.parametrize("rules, message", [
    ([{"name": "r", "theme": "zzz", "pattern": "x"}], "unknown theme 'zzz'"),
    ([{"name": "r", "theme": "a", "pattern": "x"}, {"name": "r", "theme": "b", "pattern": "y"}], "duplicate rule name.*'r'"),
    ([{"name": "r", "theme": "a", "pattern": "(unclosed"}, {"name": "s", "theme": "b", "pattern": "y"}], "'r': pattern '\\(unclosed' does not compile"),
    ([{"name": "r", "pattern": "x"}], "rule 'r' has no theme"),
    ([{"name": "r", "theme": "a", "pattern": "x", "weight": 1.5}], "weight .* must lie in \\(0, 1\\)"),
    ([{"name": "r", "theme": "a", "pattern": "x", "vote": "maybe"}], "vote must be 'positive' or 'negative'"),
    ([{"name": "r", "theme": "a", "pattern": "x", "colour": "red"}], "unknown key.*colour"),
    ([{"name": "r", "theme": "a", "pattern": "x"}], "theme 'b' has no positive rule"),
])
def test_schema_errors_are_clear(rules, message):
    with pytest.raises(RuleConfigError, match=message):
        rule_set(rules)


def test_rule_votes_text_heading_exclusion_and_titles():
    rs = rule_set([
        {"name": "a_text", "theme": "a", "pattern": "低保", "unless": "慈善"},
        {"name": "a_head", "theme": "a", "field": "heading", "pattern": "救助"},
        {"name": "b_text", "theme": "b", "pattern": "领导小组", "outside_titles": True},
        {"name": "b_not", "theme": "b", "pattern": "考核.{0,4}第一", "vote": "negative"},
    ])
    a_text, a_head, b_text, b_not = rs.rules
    assert a_text(para("提高低保标准")) == POSITIVE
    assert a_text(para("慈善资金发给低保户")) == ABSTAIN
    assert a_head(para("正文", ("一、工作重点", "1.社会救助"))) == POSITIVE
    assert a_head(para("正文", ("社会救助", "一、工作重点", "1.其他"))) == ABSTAIN   # only the two innermost headings
    assert b_text(para("成立领导小组")) == POSITIVE
    assert b_text(para("印发《扶贫领导小组关于…的通知》")) == ABSTAIN
    assert b_not(para("考核获全省第一")) == NEGATIVE
    assert a_text.spans(para("低保和低保")) == [(0, 2), (3, 5)]


def test_a_rule_that_raises_is_a_fault_and_an_abstain():
    class Broken(Rule):
        def __call__(self, paragraph):
            raise RuntimeError("boom")

    rs = rule_set([{"name": "ok", "theme": "a", "pattern": "低保"}, {"name": "b", "theme": "b", "pattern": "x"}])
    broken = Broken("broken", "b", re.compile("x"))
    rs = RuleSet(rs.themes, rs.rules + (broken,))
    votes = apply_rules(rs, [para("低保"), para("x")])
    assert votes.faults == {"broken": 2}
    assert votes.votes.tolist() == [[1, 0, 0], [0, 1, 0]]


# A hand-made vote matrix: 6 paragraphs x 3 rules of theme "a" (r1 +, r2 +, r3 -) and 1 of theme "b".
VOTES = np.array([
    [1, 1, 0, 0],
    [1, 0, -1, 0],
    [0, 1, 0, 1],
    [0, 0, 0, 0],
    [1, 0, 0, 1],
    [0, 0, -1, 0],
], dtype=np.int8)


@pytest.fixture
def hand_votes():
    rs = rule_set([
        {"name": "r1", "theme": "a", "pattern": "x", "weight": 0.9},
        {"name": "r2", "theme": "a", "pattern": "x", "weight": 0.8},
        {"name": "r3", "theme": "a", "pattern": "x", "weight": 0.5, "vote": "negative"},
        {"name": "r4", "theme": "b", "pattern": "x", "weight": 0.6},
    ])
    return rs, VoteMatrix(VOTES, rs.rules, {})


def test_coverage_overlap_conflict_by_hand(hand_votes):
    rs, votes = hand_votes
    stats = {s.name: s for s in rule_summary(votes)}
    # r1 votes on rows 0,1,4: coverage 3/6; overlaps with r2 on row 0 and r3 on row 1: 2/6; conflicts with r3 on row 1: 1/6.
    assert (stats["r1"].coverage, stats["r1"].overlaps, stats["r1"].conflicts) == (3 / 6, 2 / 6, 1 / 6)
    assert (stats["r3"].coverage, stats["r3"].overlaps, stats["r3"].conflicts) == (2 / 6, 1 / 6, 1 / 6)
    assert (stats["r4"].coverage, stats["r4"].overlaps) == (2 / 6, 0.0)


def test_rule_precision_and_recall_against_gold(hand_votes):
    rs, votes = hand_votes
    gold = np.array([[1, 0], [0, 0], [1, 1], [1, 0], [1, 1], [0, 0]])
    stats = {s.name: s for s in rule_summary(votes, gold, rs.theme_ids)}
    assert stats["r1"].precision == pytest.approx(2 / 3) and stats["r1"].recall == pytest.approx(2 / 4)
    assert stats["r3"].precision == 1.0          # an exclusion is right where gold says "not a"
    assert stats["r4"].precision == 1.0 and stats["r4"].recall == 1.0
    assert "| r1 | a | + |" in format_report(votes, np.zeros((6, 2)), rs, gold)


def test_weighted_vote_by_hand(hand_votes):
    rs, votes = hand_votes
    p = WeightedVote(rs).fit(votes).predict_proba(votes)
    # row 0: noisy-OR of 0.9 and 0.8 = 1 - 0.1 * 0.2 = 0.98;  row 1: 0.9 scaled by the exclusion (1 - 0.5) = 0.45
    assert p[:, 0].round(4).tolist() == [0.98, 0.45, 0.8, 0.0, 0.9, 0.0]
    assert p[:, 1].round(4).tolist() == [0.0, 0.0, 0.6, 0.0, 0.6, 0.0]


def test_no_theme_kinds_and_label_model(hand_votes):
    rs, votes = hand_votes
    kinds = ["body", "body", "body", "meta", "meta", "body"]
    assert aggregate(votes, rs, kinds)[4].tolist() == [0.0, 0.0]       # a byline: no theme even though rules fired
    lm = LabelModel(rs).fit(votes, kinds)
    p = lm.predict_proba(votes, kinds)
    assert p.shape == (6, 2) and np.all((0 <= p) & (p <= 1))
    # More positive votes never lower the posterior; an exclusion lowers it.
    assert p[0, 0] >= p[2, 0] >= p[5, 0]
    with pytest.raises(ValueError, match="unknown aggregation method 'magic'"):
        aggregate(votes, rs, method="magic")


def test_seed_rules_run_fast_and_label_every_theme(seed_documents):
    rs = RuleSet.load()
    paragraphs = [p for d in seed_documents for p in d.paragraphs]
    votes = apply_rules(rs, paragraphs)
    proba = aggregate(votes, rs, [p.kind for p in paragraphs])
    assert votes.faults == {}
    assert (proba >= 0.5).sum(axis=0).min() > 0
