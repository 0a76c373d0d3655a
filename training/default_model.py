"""The embedded default model: trained on first use from the seeds and the corpora in the repository, kept in the
git-ignored cache."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from models.base_model import EMBEDDED
from models.modeling import META_FILE
from models.rules import RuleSet

from .config import CONFIG_FILE, TrainingConfig
from .corpus import REPORT_CORPUS
from .dataset import CORPUS_NEGATIVES, DEFAULT_UNITS, build_dataset, rules_fingerprint, save_dataset
from .train import train

ROOT = Path(__file__).resolve().parents[1]


def cache_dir() -> Path:
    return Path(os.environ.get("POLICY_TAGGER_CACHE", ROOT / ".cache"))


def default_model_dir() -> Path:
    return cache_dir() / "default-model"


def is_current(folder: Path, config: TrainingConfig, rule_set: RuleSet, corpora: list[Path] = ()) -> bool:
    """Whether the model in `folder` was trained with these settings, these rules and these corpora (by name)."""
    try:
        # The saved dict, not TrainingConfig.from_file: that fills settings an older model lacks with today's defaults.
        saved = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    used = (meta.get("data", {}).get("corpora") or {}).get("sources", [])
    return (saved == config.to_dict() and meta.get("rules", {}).get("sha256") == rules_fingerprint(rule_set)
            and [Path(c).name for c in used] == [Path(c).name for c in corpora])


def ensure_default_model(*, seeds: Path = ROOT / "seeds", corpus: Path = REPORT_CORPUS, config: TrainingConfig | None = None) -> Path:
    """The default model folder, training it (seeds + corpus, default rules, embedded base) if it is missing or out of date.

    Out of date: trained with other settings, rules or corpora than today's, e.g. after an update that
    changed the recipe.  The old folder serves until the new one is complete (`train` swaps it in).
    The corpus is part of the repository; a checkout without it is broken, and says so.
    """
    from models import load_documents

    folder = default_model_dir()
    config = config or TrainingConfig(base_model=EMBEDDED)
    rule_set = RuleSet.load()
    if not corpus.is_file():
        raise FileNotFoundError(f"the default model's corpus {corpus} is missing: it is part of the repository (git checkout it)")
    corpora = [corpus]
    if is_current(folder, config, rule_set, corpora):
        return folder
    reason = "is out of date (other settings, rules or data)" if (folder / META_FILE).is_file() else "is not there yet"
    data = " and ".join(str(p) for p in [seeds, *corpora])
    print(f"The default model at {folder} {reason}: training it from {data} on the embedded base model "
          "(once; minutes on a laptop CPU).", file=sys.stderr)
    docs, _ = load_documents([seeds])
    corpus_docs = [load_documents([p])[0] for p in corpora]
    dd = build_dataset([docs], rule_set, seed=config.seed, units=DEFAULT_UNITS, corpora=corpus_docs, progress=True)
    dataset = save_dataset(dd, cache_dir() / "default-dataset", rule_set, method="weighted_vote", sources=[str(seeds)], seed=config.seed,
                           validation_fraction=0.2, units=DEFAULT_UNITS, corpora=[str(p) for p in corpora], corpus_negatives=CORPUS_NEGATIVES)
    return train(dataset, folder, config=config)
