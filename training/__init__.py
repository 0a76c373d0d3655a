"""Bootstrapping and (re)training: theme rules, label aggregation, the weak-label dataset, fine-tuning."""
from .aggregate import LabelModel, WeightedVote, aggregate
from .rules import ABSTAIN, NEGATIVE, POSITIVE, Rule, RuleConfigError, RuleSet, Theme, VoteMatrix, apply_rules

__all__ = ["LabelModel", "WeightedVote", "aggregate", "ABSTAIN", "NEGATIVE", "POSITIVE", "Rule", "RuleConfigError",
           "RuleSet", "Theme", "VoteMatrix", "apply_rules"]
