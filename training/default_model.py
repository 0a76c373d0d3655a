"""The embedded default model: trained from the seeds on first use, kept in the git-ignored cache."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from models.base_model import EMBEDDED

from .config import TrainingConfig
from .dataset import DEFAULT_UNITS, build_dataset, save_dataset
from .rules import RuleSet
from .train import train

ROOT = Path(__file__).resolve().parents[1]


def cache_dir() -> Path:
    return Path(os.environ.get("POLICY_TAGGER_CACHE", ROOT / ".cache"))


def default_model_dir() -> Path:
    return cache_dir() / "default-model"


def ensure_default_model(*, seeds: Path = ROOT / "seeds", config: TrainingConfig | None = None) -> Path:
    """The default model folder, training it (seeds, default rules, embedded base) if it is not there yet."""
    from models import load_documents

    folder = default_model_dir()
    if (folder / "policy_tagger.json").is_file():
        return folder
    print(f"No default model at {folder} yet: training it from {seeds} on the embedded base model "
          "(once; minutes on a laptop CPU).", file=sys.stderr)
    config = config or TrainingConfig(base_model=EMBEDDED)
    rule_set = RuleSet.load()
    docs, _ = load_documents([seeds])
    dataset = save_dataset(build_dataset([docs], rule_set, seed=config.seed, units=DEFAULT_UNITS), cache_dir() / "default-dataset", rule_set,
                           method="weighted_vote", sources=[str(seeds)], seed=config.seed, validation_fraction=0.2, units=DEFAULT_UNITS)
    return train(dataset, folder, config=config)
