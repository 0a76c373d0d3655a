"""Training settings: one dataclass, validated on creation, saved with every model it trains."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

EMBEDDED_BASE = "embedded:multilingual-e5-small-q4"
CONFIG_FILE = "training_config.json"   # the settings, as written into every model folder


@dataclass
class TrainingConfig:
    # --- the network ---------------------------------------------------------------------------
    base_model: str = EMBEDDED_BASE      # the embedded default, a local checkpoint folder, or a hub id where a hub is reachable
    keep_layers: int | None = None       # use the first N encoder layers (None: all). Read at [CLS] alone, e5's lower layers say little
                                         # (seeds only: out-of-genre micro-F1 0.08 with 6 layers vs 0.34 with 12); with the mean-pooling
                                         # layer, the n-gram reader and the in-genre labels, 6 of them score as 12 on in-genre dev
                                         # (README lever table: `python -m eval.recipe_levers --name six_layers ...`)
    pooling: str = "mean"                # "mean": append a layer that starts as masked mean pooling into [CLS]
                                         # (models.modeling.append_mean_pooling_layer); "cls": read e5's [CLS] as it is.
                                         # Mean: student precision 0.68 | 0.49 vs 0.54 | 0.32 (eval/results/ablations/pooling_cls.md)
    freeze_layers: int = 12              # embeddings and the first N layers stay fixed; their outputs are computed once and cached.
                                         # 12: all of e5's layers; the pooling layer and the head train
    text_prefix: str = "passage: "       # e5 was trained with this prefix on passages
    max_length: int = 256                # tokens per window, specials included
    stride: int = 64                     # tokens shared by consecutive windows of a long paragraph
    # --- optimisation ----------------------------------------------------------------------------
    epochs: int = 30
    batch_size: int = 16                 # paragraphs per step (all of each paragraph's windows)
    group_by_length: bool = False        # batches of paragraphs of similar length (as transformers' `group_by_length`: shuffled
                                         # chunks of 50 batches, sorted within): less padding, which matters once e5's own
                                         # layers train over every token (freeze_layers < 12)
    learning_rate: float = 1e-4          # trainable encoder layers. With 5e-4 / 3e-3 leave-one-document-out micro-F1 spread
    head_learning_rate: float = 1e-3     # pooler (new: e5 has none) and classifier.  0.34-0.48 over four seeds; these: 0.47, 0.48 (README)
    weight_decay: float = 0.01
    max_pos_weight: float = 3.0          # BCE pos_weight per theme = negatives/positives, capped: rare themes count more
    patience: int = 8                    # epochs without a better validation loss before stopping
    seed: int = 13
    device: str = "auto"                 # "auto": the GPU when there is one, else the CPU
    # --- decisions ---------------------------------------------------------------------------
    thresholds: str = "fixed"            # "fixed": default_threshold for every theme; "tuned": per theme on the validation split.
                                         # Tuned on ~56 validation paragraphs against weak labels they ranged 0.10-0.95 and scored lower:
                                         # micro-F1 0.441 | 0.378 vs 0.466 | 0.386 fixed (eval/results/ablations/thresholds_tuned.md)
    default_threshold: float = 0.5       # every theme's threshold when fixed; a theme the validation split cannot tune when tuned
    threshold_min_precision: float = 0.8 # tuned thresholds keep validation precision (vs weak labels) at least this high
    rules_and_model: str = "model"       # the rules+model decision's lines. "model": the model's thresholds, every rule positive
                                         # stands; "tuned": per theme a threshold and a keep line (a rule positive the model scores
                                         # below it is dropped), tuned on the validation paragraphs that carry people's labels
    # --- the character n-gram reader beside the encoder (models.lexical) ---------------------------------------------
    lexical: str = "none"                # "none": the encoder's scores alone; "tuned": TF-IDF over 1-3 character n-grams and a
                                         # logistic regression per theme, fitted on the train split, mixed with the encoder's
                                         # scores at the share (0, 0.1, ..., 1) that scores best on validation (the decision's F1)
    lexical_max_features: int = 50000    # the most frequent n-grams kept (the shipped file: ~3 MB at 50,000)
    lexical_c: float = 4.0               # inverse L2 strength of each theme's logistic regression (as eval's TF-IDF baseline)

    def __post_init__(self):
        checks = [
            (self.max_length >= 16, f"max_length must be at least 16, not {self.max_length}"),
            (0 <= self.stride < self.max_length - 2, f"stride must lie in [0, max_length - 2), not {self.stride}"),
            (self.keep_layers is None or self.keep_layers >= 1, f"keep_layers must be None or >= 1, not {self.keep_layers}"),
            (self.freeze_layers >= 0, f"freeze_layers must be >= 0, not {self.freeze_layers}"),
            (self.keep_layers is None or self.freeze_layers < self.keep_layers + (self.pooling == "mean"),
             f"freeze_layers ({self.freeze_layers}) must be below keep_layers ({self.keep_layers}), plus one with mean pooling: "
             "something must train"),
            (self.epochs >= 1 and self.batch_size >= 1, "epochs and batch_size must be >= 1"),
            (self.learning_rate > 0 and self.head_learning_rate > 0, "learning rates must be > 0"),
            (self.pooling in ("mean", "cls"), f"pooling must be mean or cls, not {self.pooling!r}"),
            (self.device in ("auto", "cpu", "cuda"), f"device must be auto, cpu or cuda, not {self.device!r}"),
            (self.thresholds in ("fixed", "tuned"), f"thresholds must be fixed or tuned, not {self.thresholds!r}"),
            (self.rules_and_model in ("model", "tuned"), f"rules_and_model must be model or tuned, not {self.rules_and_model!r}"),
            (self.lexical in ("none", "tuned"), f"lexical must be none or tuned, not {self.lexical!r}"),
            (self.lexical_max_features >= 1 and self.lexical_c > 0, "lexical_max_features must be >= 1 and lexical_c > 0"),
            (0 < self.default_threshold < 1, "default_threshold must lie in (0, 1)"),
            (0 <= self.threshold_min_precision <= 1, "threshold_min_precision must lie in [0, 1]"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"TrainingConfig: {message}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainingConfig":
        known = {f.name for f in fields(cls)}
        if unknown := set(data) - known:
            raise ValueError(f"TrainingConfig: unknown setting(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | Path) -> "TrainingConfig":
        """Settings from a JSON file: a dict of them, or a recipe (`training/default_recipe.json`), whose `config` holds them."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if isinstance(data, dict) and "data" in data and isinstance(data.get("config"), dict):
            data = data["config"]
        return cls.from_dict(data)
