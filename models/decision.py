"""Who decides whether a paragraph carries a theme: the rules' weighted vote, the model, or both.

- `WeightedVote`: each rule's weight is its prior accuracy.  Positive votes combine as a noisy-OR
  (p = 1 - prod(1 - w)), exclusions scale that down (p *= prod(1 - w)); no vote means p = 0.
- `rules_and_model`: the rules' vote, with a model adding what they miss unless an exclusion fired, and
  (where its folder was tuned to) dropping a rule's positive the model scores below a per-theme `keep` line.

Paragraphs whose kind is listed in the rule set's `no_theme_kinds` (bylines, sources) get 0 for every theme.
Tagging calls these at run time; training's label model (`training.aggregate`) shares the interface.
"""
from __future__ import annotations

import numpy as np

from .rules import NEGATIVE, POSITIVE, RuleSet, VoteMatrix


class WeightedVote:
    def __init__(self, rule_set: RuleSet):
        self.rule_set = rule_set

    def fit(self, votes: VoteMatrix, kinds: list[str] | None = None) -> "WeightedVote":
        return self   # nothing to learn: the weights are the rules' stated priors

    def predict_proba(self, votes: VoteMatrix, kinds: list[str] | None = None) -> np.ndarray:
        themes = self.rule_set.theme_ids
        proba = np.zeros((votes.votes.shape[0], len(themes)))
        weights = np.array([r.weight for r in votes.rules])
        for t, theme in enumerate(themes):
            cols = votes.theme_columns(theme)
            v, w = votes.votes[:, cols], weights[cols]
            miss = np.prod(np.where(v == POSITIVE, 1 - w, 1.0), axis=1)
            keep = np.prod(np.where(v == NEGATIVE, 1 - w, 1.0), axis=1)
            proba[:, t] = (1 - miss) * keep
        return no_theme(proba, kinds, self.rule_set)


def rescale_at_threshold(proba: np.ndarray, thresholds) -> np.ndarray:
    """Map each theme's score so that its threshold lands on 0.5 (piecewise linear, monotone, [0, 1] -> [0, 1])."""
    thr = np.clip(np.asarray(thresholds, dtype=float), 1e-6, 1 - 1e-6)
    return np.where(proba < thr, 0.5 * proba / thr, 0.5 + 0.5 * (proba - thr) / (1 - thr))


def rules_and_model(votes: VoteMatrix, rules_proba: np.ndarray, model_proba: np.ndarray, thresholds, rule_set: RuleSet,
                    kinds: list[str] | None = None, keep=None) -> np.ndarray:
    """The rules' vote, with a model adding what they miss; a theme is tagged where the result is >= 0.5.

    score = max(rules' aggregated vote, model score rescaled so that `thresholds` sits at 0.5), except
    that the model cannot add a theme one of whose exclusion rules fired, nor tag a no-theme paragraph.
    `keep` (per theme; None: 0): the rules' vote counts only where the model's score reaches it, so that
    a passing mention the rules fire on but the model reads as off-theme is dropped.
    """
    vetoed = model_may_not_add(votes, rule_set, kinds)
    if keep is not None:
        rules_proba = np.where(model_proba >= np.asarray(keep, dtype=float), rules_proba, 0.0)
    return np.maximum(rules_proba, np.where(vetoed, 0.0, rescale_at_threshold(model_proba, thresholds)))


def model_may_not_add(votes: VoteMatrix, rule_set: RuleSet, kinds: list[str] | None = None) -> np.ndarray:
    """(n, themes): where the model may not add a theme: one of its exclusion rules fired, or nothing may be tagged."""
    fired = np.column_stack([(votes.votes[:, votes.theme_columns(t)] < 0).any(axis=1) for t in rule_set.theme_ids])
    return fired | ~content_mask(kinds, rule_set, votes.votes.shape[0])[:, None]


def content_mask(kinds, rule_set: RuleSet, n: int) -> np.ndarray:
    if kinds is None:
        return np.ones(n, dtype=bool)
    return np.array([k not in rule_set.no_theme_kinds for k in kinds])


def no_theme(proba: np.ndarray, kinds, rule_set: RuleSet) -> np.ndarray:
    proba[~content_mask(kinds, rule_set, proba.shape[0])] = 0.0
    return proba
