"""Bootstrapping and (re)training: label aggregation, the weak-label dataset, fine-tuning, the default model.

The rules themselves (themes.yaml, `RuleSet`, `apply_rules`) and the weighted vote live in `models/`: a running
model uses them too.
"""
from .aggregate import LabelModel, aggregate

__all__ = ["LabelModel", "aggregate"]
