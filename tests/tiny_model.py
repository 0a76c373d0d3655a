"""A tiny randomly initialised BERT with a character vocabulary, built in the test: keeps the suite fast."""
from __future__ import annotations

from pathlib import Path

from tests.conftest import SEEDS


def build_tiny_base(folder: Path, *, layers: int = 2, hidden: int = 32) -> Path:
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from models import normalise

    folder.mkdir(parents=True, exist_ok=True)
    chars = sorted({c for p in SEEDS.glob("*.txt") for c in normalise(p.read_text(encoding="utf-8")).text if not c.isspace()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars + list("abcdefghijklmnopqrstuvwxyz0123456789")
    (folder / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), tokenize_chinese_chars=True)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=hidden * 2, max_position_embeddings=512,
                        initializer_range=0.2)   # wider than BERT's 0.02: a tiny random net otherwise maps every text to nearly the same vector
    BertModel(config).save_pretrained(folder)
    return folder


def build_tiny_model(folder: Path, seed_documents, *, thresholds: float | None = None) -> Path:
    """A tiny model trained for one epoch on the seeds' weak labels; `thresholds` fixes every theme's threshold."""
    import json

    from models.rules import RuleSet
    from training.config import TrainingConfig
    from training.dataset import build_dataset, save_dataset
    from training.train import train

    base = build_tiny_base(folder / "base")
    rs = RuleSet.load()
    ds = save_dataset(build_dataset([seed_documents], rs), folder / "ds", rs, method="weighted_vote", sources=["seeds"], seed=13,
                      validation_fraction=0.2)
    model = train(ds, folder / "model", config=TrainingConfig(base_model=str(base), keep_layers=None, freeze_layers=1, text_prefix="",
                                                               max_length=64, stride=16, epochs=1), progress=False)
    if thresholds is not None:
        meta = json.loads((model / "policy_tagger.json").read_text(encoding="utf-8"))
        meta["thresholds"] = [thresholds] * len(meta["themes"])
        (model / "policy_tagger.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return model
