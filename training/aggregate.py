"""Combine rule votes into per-theme probabilities (soft labels).

Two aggregators with one interface (`fit(votes)` then `predict_proba(votes, kinds)`):

- `WeightedVote` (`models.decision`, since tagging decides with it too): each rule's weight is its prior accuracy.
- `LabelModel`: per theme, a naive-Bayes generative model (latent true label y; each rule fires
  with probability alpha_j when y = 1 and beta_j when y = 0) fitted by EM on the unlabelled
  votes, with the rules' weights as priors.  Unlike the vote it learns how often each rule fires
  on true positives, so a paragraph that no rule covers gets P(theme) > 0 rather than a hard 0.

Paragraphs whose kind is listed in `no_theme_kinds` (bylines, sources) get 0 for every theme.
"""
from __future__ import annotations

import numpy as np

from models.decision import WeightedVote, content_mask, no_theme
from models.rules import POSITIVE, RuleSet, VoteMatrix


class LabelModel:
    """Per-theme naive-Bayes label model fitted by EM (cf. snorkel's LabelModel, simplified to one binary task per theme)."""

    def __init__(self, rule_set: RuleSet, *, n_iter: int = 100, prior_strength: float = 0.5, tol: float = 1e-6):
        # prior_strength: the priors' pseudo-counts as a share of the data.  With one or two rules a
        # theme, naive Bayes is barely identifiable and unanchored EM drifts to "the theme is rare and
        # the rule fires at random"; priors as strong as half the data keep it near the stated weights.
        self.rule_set, self.n_iter, self.prior_strength, self.tol = rule_set, n_iter, prior_strength, tol
        self.params_: dict[str, dict] = {}

    def fit(self, votes: VoteMatrix, kinds: list[str] | None = None) -> "LabelModel":
        content = content_mask(kinds, self.rule_set, votes.votes.shape[0])
        start = WeightedVote(self.rule_set).predict_proba(votes)
        for t, theme in enumerate(self.rule_set.theme_ids):
            cols = votes.theme_columns(theme)
            fired = (votes.votes[content][:, cols] != 0).astype(float)
            signs = np.array([votes.rules[j].vote for j in cols])
            w = np.array([votes.rules[j].weight for j in cols])
            q = start[content, t]
            pi0 = float(np.clip(q.mean() * 2, 0.01, 0.5))   # rules cover about half the positives
            params = None
            for _ in range(self.n_iter):
                params = self._m_step(fired, q, signs, w, pi0)
                new_q = self._posterior(fired, params)
                if np.max(np.abs(new_q - q)) < self.tol:
                    q = new_q
                    break
                q = new_q
            self.params_[theme] = params
        return self

    def _m_step(self, fired, q, signs, w, pi0):
        n = len(q)
        pi = float(np.clip((q.sum() + self.prior_strength * n * pi0) / (n * (1 + self.prior_strength)), 1e-3, 0.5))
        # Priors: a positive rule of precision w fires on half the true positives and, on negatives,
        # just often enough that P(y=1 | it fires) = w; an exclusion fires on 5 % of the negatives
        # and just often enough on positives that P(y=0 | it fires) = w.
        odds = (1 - w) / w * np.where(signs == POSITIVE, pi0 / (1 - pi0), (1 - pi0) / pi0)
        prior_hit = np.where(signs == POSITIVE, 0.5, np.minimum(0.05 * odds, 0.5))
        prior_false = np.where(signs == POSITIVE, np.minimum(0.5 * odds, 0.5), 0.05)
        s_pos, s_neg = self.prior_strength * n * pi0, self.prior_strength * n * (1 - pi0)
        alpha = (q @ fired + s_pos * prior_hit) / (q.sum() + s_pos)
        beta = ((1 - q) @ fired + s_neg * prior_false) / ((1 - q).sum() + s_neg)
        return {"pi": pi, "alpha": np.clip(alpha, 1e-4, 1 - 1e-4), "beta": np.clip(beta, 1e-4, 1 - 1e-4)}

    @staticmethod
    def _posterior(fired, params):
        a, b = params["alpha"], params["beta"]
        log1 = np.log(params["pi"]) + fired @ np.log(a) + (1 - fired) @ np.log(1 - a)
        log0 = np.log(1 - params["pi"]) + fired @ np.log(b) + (1 - fired) @ np.log(1 - b)
        return 1 / (1 + np.exp(log0 - log1))

    def predict_proba(self, votes: VoteMatrix, kinds: list[str] | None = None) -> np.ndarray:
        if not self.params_:
            raise RuntimeError("LabelModel is not fitted; call fit(votes) first")
        proba = np.zeros((votes.votes.shape[0], len(self.rule_set.theme_ids)))
        for t, theme in enumerate(self.rule_set.theme_ids):
            fired = (votes.votes[:, votes.theme_columns(theme)] != 0).astype(float)
            proba[:, t] = self._posterior(fired, self.params_[theme])
        return no_theme(proba, kinds, self.rule_set)


AGGREGATORS = {"weighted_vote": WeightedVote, "label_model": LabelModel}


def aggregate(votes: VoteMatrix, rule_set: RuleSet, kinds: list[str] | None = None, *, method: str = "weighted_vote") -> np.ndarray:
    """Soft labels, shape (n_paragraphs, n_themes), with the chosen aggregator fitted on these votes."""
    if method not in AGGREGATORS:
        raise ValueError(f"unknown aggregation method {method!r}; choose one of {sorted(AGGREGATORS)}")
    return AGGREGATORS[method](rule_set).fit(votes, kinds).predict_proba(votes, kinds)
