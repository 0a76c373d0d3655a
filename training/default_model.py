"""The embedded default model: trained from the seeds on first use, kept in the git-ignored cache."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from models.base_model import EMBEDDED
from models.modeling import META_FILE

from .config import CONFIG_FILE, TrainingConfig
from .dataset import DEFAULT_UNITS, build_dataset, rules_fingerprint, save_dataset
from .rules import RuleSet
from .train import train

ROOT = Path(__file__).resolve().parents[1]


def cache_dir() -> Path:
    return Path(os.environ.get("POLICY_TAGGER_CACHE", ROOT / ".cache"))


def default_model_dir() -> Path:
    return cache_dir() / "default-model"


def is_current(folder: Path, config: TrainingConfig, rule_set: RuleSet) -> bool:
    """Whether the model in `folder` was trained with these settings and these rules."""
    try:
        # The saved dict, not TrainingConfig.from_file: that fills settings an older model lacks with today's defaults.
        saved = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return saved == config.to_dict() and meta.get("rules", {}).get("sha256") == rules_fingerprint(rule_set)


def ensure_default_model(*, seeds: Path = ROOT / "seeds", config: TrainingConfig | None = None) -> Path:
    """The default model folder, training it (seeds, default rules, embedded base) if it is missing or out of date.

    Out of date: trained with other settings or other rules than today's, e.g. after an update that
    changed the recipe.  The old folder serves until the new one is complete (`train` swaps it in).
    """
    from models import load_documents

    folder = default_model_dir()
    config = config or TrainingConfig(base_model=EMBEDDED)
    rule_set = RuleSet.load()
    if is_current(folder, config, rule_set):
        return folder
    reason = "is out of date (other settings or rules)" if (folder / META_FILE).is_file() else "is not there yet"
    print(f"The default model at {folder} {reason}: training it from {seeds} on the embedded base model "
          "(once; minutes on a laptop CPU).", file=sys.stderr)
    docs, _ = load_documents([seeds])
    dataset = save_dataset(build_dataset([docs], rule_set, seed=config.seed, units=DEFAULT_UNITS), cache_dir() / "default-dataset", rule_set,
                           method="weighted_vote", sources=[str(seeds)], seed=config.seed, validation_fraction=0.2, units=DEFAULT_UNITS)
    return train(dataset, folder, config=config)
