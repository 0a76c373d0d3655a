"""Rule analysis in the shape of snorkel's `LFAnalysis.lf_summary`: which rule to fix, and why.

Per rule: coverage (share of paragraphs it votes on), overlaps (votes where another rule of the
same theme also votes), conflicts (votes where another rule of the same theme votes the other
way), and, given gold labels, how often its vote is right (precision) and what share of the
theme's gold positives it covers (recall).  Per theme: the same for the aggregated labels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.rules import POSITIVE, RuleSet, VoteMatrix


@dataclass(frozen=True)
class RuleStats:
    name: str
    theme: str
    polarity: str
    coverage: float
    overlaps: float
    conflicts: float
    votes: int
    correct: int | None = None      # with gold
    precision: float | None = None
    recall: float | None = None
    faults: int = 0


def rule_summary(votes: VoteMatrix, gold: np.ndarray | None = None, theme_ids: list[str] | None = None) -> list[RuleStats]:
    """One row per rule.  `gold` is a 0/1 matrix (n_paragraphs, n_themes) ordered like `theme_ids`."""
    v = votes.votes
    n = max(v.shape[0], 1)
    rows = []
    for j, rule in enumerate(votes.rules):
        mine = v[:, j] != 0
        others = [k for k in votes.theme_columns(rule.theme) if k != j]
        other_votes = v[:, others]
        overlap = mine & (other_votes != 0).any(axis=1)
        conflict = mine & ((other_votes != 0) & (other_votes != v[:, [j]])).any(axis=1)
        stats = dict(name=rule.name, theme=rule.theme, polarity="+" if rule.vote == POSITIVE else "-",
                     coverage=mine.sum() / n, overlaps=overlap.sum() / n, conflicts=conflict.sum() / n,
                     votes=int(mine.sum()), faults=votes.faults.get(rule.name, 0))
        if gold is not None:
            y = gold[:, theme_ids.index(rule.theme)].astype(bool)
            right = (y if rule.vote == POSITIVE else ~y)[mine]
            stats.update(correct=int(right.sum()), precision=float(right.mean()) if mine.any() else float("nan"),
                         recall=float((mine & y).sum() / y.sum()) if rule.vote == POSITIVE and y.any() else float("nan"))
        rows.append(RuleStats(**stats))
    return rows


def theme_summary(votes: VoteMatrix, proba: np.ndarray, rule_set: RuleSet, gold: np.ndarray | None = None, threshold: float = 0.5) -> list[dict]:
    """Per theme: coverage of any vote, labelled share, and the aggregated labels' precision/recall against gold."""
    rows = []
    for t, theme in enumerate(rule_set.theme_ids):
        cols = votes.theme_columns(theme)
        covered = (votes.votes[:, cols] != 0).any(axis=1)
        pred = proba[:, t] >= threshold
        row = {"theme": theme, "rules": len(cols), "coverage": covered.mean(), "labelled": int(pred.sum())}
        if gold is not None:
            y = gold[:, t].astype(bool)
            tp = int((pred & y).sum())
            row.update(gold=int(y.sum()), tp=tp,
                       precision=tp / pred.sum() if pred.any() else float("nan"),
                       recall=tp / y.sum() if y.any() else float("nan"))
        rows.append(row)
    return rows


def _fmt(x) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        return "–" if np.isnan(x) else f"{x:.2f}"
    return str(x)


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def format_report(votes: VoteMatrix, proba: np.ndarray, rule_set: RuleSet, gold: np.ndarray | None = None) -> str:
    """The rule report a person reads: per-rule table, then per-theme table."""
    rule_rows = [r.__dict__ for r in rule_summary(votes, gold, rule_set.theme_ids)]
    cols = ["name", "theme", "polarity", "coverage", "overlaps", "conflicts", "votes", "faults"]
    if gold is not None:
        cols += ["correct", "precision", "recall"]
    theme_cols = ["theme", "rules", "coverage", "labelled"] + (["gold", "tp", "precision", "recall"] if gold is not None else [])
    n = votes.votes.shape[0]
    abstain = float((votes.votes == 0).all(axis=1).mean()) if n else 0.0
    return (f"## Rules ({len(votes.rules)} rules, {n} paragraphs, {abstain:.0%} with no vote at all)\n\n"
            + markdown_table(rule_rows, cols)
            + "\n\n## Themes (aggregated labels, threshold 0.5)\n\n" + markdown_table(theme_summary(votes, proba, rule_set, gold), theme_cols))
