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
