"""Training settings: one dataclass, validated on creation, saved with every model it trains."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

EMBEDDED_BASE = "embedded:multilingual-e5-small-q4"


@dataclass
class TrainingConfig:
    # --- the network ---------------------------------------------------------------------------
    base_model: str = EMBEDDED_BASE      # the embedded default, a local checkpoint folder, or a hub id where a hub is reachable
    keep_layers: int | None = None       # use the first N encoder layers (None: all). e5's [CLS] is only informative near the top:
                                         # out-of-genre micro-F1 0.08 with 6 layers (freeze 4) vs 0.34 with all 12, measured by
                                         # `policy-tagger evaluate --protocol out_of_genre --predictor encoder [--config ...]`
    freeze_layers: int = 11              # embeddings and the first N layers stay fixed; their outputs are computed once and cached
    text_prefix: str = "passage: "       # e5 was trained with this prefix on passages
    max_length: int = 256                # tokens per window, specials included
    stride: int = 64                     # tokens shared by consecutive windows of a long paragraph
    # --- optimisation ----------------------------------------------------------------------------
    epochs: int = 30
    batch_size: int = 16                 # paragraphs per step (all of each paragraph's windows)
    learning_rate: float = 5e-4          # trainable encoder layers
    head_learning_rate: float = 3e-3     # pooler (new: e5 has none) and classifier
    weight_decay: float = 0.01
    max_pos_weight: float = 3.0          # BCE pos_weight per theme = negatives/positives, capped: rare themes count more
    patience: int = 8                    # epochs without a better validation loss before stopping
    seed: int = 13
    device: str = "auto"                 # "auto": the GPU when there is one, else the CPU
    # --- decisions ---------------------------------------------------------------------------
    default_threshold: float = 0.5       # for a theme the validation split cannot tune
    threshold_min_precision: float = 0.8 # thresholds keep validation precision (vs weak labels) at least this high

    def __post_init__(self):
        checks = [
            (self.max_length >= 16, f"max_length must be at least 16, not {self.max_length}"),
            (0 <= self.stride < self.max_length - 2, f"stride must lie in [0, max_length - 2), not {self.stride}"),
            (self.keep_layers is None or self.keep_layers >= 1, f"keep_layers must be None or >= 1, not {self.keep_layers}"),
            (self.freeze_layers >= 0, f"freeze_layers must be >= 0, not {self.freeze_layers}"),
            (self.keep_layers is None or self.freeze_layers < self.keep_layers,
             f"freeze_layers ({self.freeze_layers}) must be below keep_layers ({self.keep_layers}): something must train"),
            (self.epochs >= 1 and self.batch_size >= 1, "epochs and batch_size must be >= 1"),
            (self.learning_rate > 0 and self.head_learning_rate > 0, "learning rates must be > 0"),
            (self.device in ("auto", "cpu", "cuda"), f"device must be auto, cpu or cuda, not {self.device!r}"),
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
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
