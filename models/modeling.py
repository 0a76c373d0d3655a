"""The theme classifier: a BERT-family encoder with a multi-label head, read over windows.

The network itself is a stock `AutoModelForSequenceClassification` (sigmoid, multi-label), so
a model folder loads in plain transformers and in `pipeline("text-classification", top_k=None)`.
What this module adds is how a *paragraph* is read: texts longer than the window are cut into
overlapping windows and the paragraph's logit per theme is the maximum over its windows, so a
theme stated anywhere in a 2,000-character paragraph counts.  Training and inference share it.

`ThemeModel.load(folder)` is the one loader used by tagging, evaluation and training resume.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .lexical import LexicalHead

META_FILE = "policy_tagger.json"
RULES_FILE = "rules.yaml"        # the labeling rules the model was trained on: they locate evidence when tagging


@dataclass
class ModelMeta:
    """What a model folder says about itself beyond the transformers config."""

    themes: list[str]
    theme_names: dict[str, str]
    thresholds: list[float]
    max_length: int = 256
    stride: int = 64
    text_prefix: str = ""
    # The lines of the rules+model decision, where training tuned them (`training.thresholds.tune_rules_and_model`):
    # {"thresholds": [...], "keep": [...], "tuned_on": ...}; absent: the model's thresholds, and every rule positive stands.
    rules_and_model: dict | None = None
    extra: dict = field(default_factory=dict)   # training provenance: data/rules hashes, base model, metrics

    def to_dict(self) -> dict:
        own = {"themes": self.themes, "theme_names": self.theme_names, "thresholds": self.thresholds,
               "max_length": self.max_length, "stride": self.stride, "text_prefix": self.text_prefix}
        return {**own, **({"rules_and_model": self.rules_and_model} if self.rules_and_model else {}), **self.extra}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelMeta":
        own = {"themes", "theme_names", "thresholds", "max_length", "stride", "text_prefix", "rules_and_model"}
        missing = {"themes", "thresholds"} - set(d)
        if missing:
            raise ValueError(f"{META_FILE} lacks {sorted(missing)}")
        return cls(**{k: d[k] for k in own if k in d}, extra={k: v for k, v in d.items() if k not in own})


@dataclass
class Windows:
    """Token windows of many texts: `owner[i]` is the text window i belongs to."""

    input_ids: list[list[int]]
    owner: list[int]


def make_windows(tokenizer, texts: Sequence[str], *, max_length: int, stride: int, prefix: str = "") -> Windows:
    """Overlapping windows of at most `max_length` tokens (specials included) covering every token of each text."""
    body = max_length - 2
    step = max(body - stride, 1)
    ids, owner = [], []
    encoded = tokenizer([prefix + t for t in texts], add_special_tokens=False, verbose=False)["input_ids"]   # long is fine: windowed below
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    for i, toks in enumerate(encoded):
        starts = range(0, max(len(toks) - stride, 1), step) if len(toks) > body else [0]
        for s in starts:
            ids.append([cls] + toks[s:s + body] + [sep])
            owner.append(i)
    return Windows(ids, owner)


def pad_batch(windows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(w) for w in windows)
    ids = torch.full((len(windows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(windows), width), dtype=torch.long)
    for i, w in enumerate(windows):
        ids[i, :len(w)] = torch.tensor(w)
        mask[i, :len(w)] = 1
    return ids, mask


def length_batches(lengths: Sequence[int], batch_size: int, *, max_padding: float = 0.1) -> list[list[int]]:
    """Indices of `lengths` in batches of similar length: shortest first, at most `batch_size` each, and a new batch
    wherever padding to the next one's length would pad the batch by more than `max_padding` of its tokens.

    Fixed batches of 32 over one report's paragraphs (some 40, of 20 to 250 tokens) computed 1.8x the tokens there
    are; at 10% the network's work nearly halves, for a few more (smaller) calls (eval/results/benchmark.md).
    """
    batches: list[list[int]] = []
    batch: list[int] = []
    tokens = 0
    for i in np.argsort(lengths, kind="stable"):
        n = lengths[i]
        if batch and (len(batch) == batch_size or (len(batch) + 1) * n > (1 + max_padding) * (tokens + n)):
            batches.append(batch)
            batch, tokens = [], 0
        batch.append(int(i))
        tokens += n
    return batches + [batch] if batch else batches


def pool_windows(window_logits: torch.Tensor, owner: Sequence[int], n_texts: int) -> torch.Tensor:
    """Max over each text's windows: (n_windows, T) -> (n_texts, T)."""
    index = torch.as_tensor(owner, device=window_logits.device)
    out = torch.full((n_texts, window_logits.shape[1]), float("-inf"), device=window_logits.device, dtype=window_logits.dtype)
    return out.scatter_reduce(0, index[:, None].expand_as(window_logits), window_logits, reduce="amax", include_self=True)


def append_mean_pooling_layer(model, *, scale: float = 10.0):
    """Append one encoder layer that starts out writing the masked mean of the layer below into [CLS].

    BERT's stock head reads [CLS], but e5 was trained to be read by mean pooling: with this layer the
    student's precision rose from 0.54 to 0.68 on the seeds and from 0.32 to 0.49 out of genre
    (eval/results/ablations/pooling_cls.md).  The head stays stock so the folder still loads in plain transformers:
    the new layer's queries are zero, so every position attends evenly to the unmasked tokens;
    values are the identity and the attention output `scale` times the identity, so [CLS] becomes
    LayerNorm(h_cls + scale * mean(h)), mostly the mean; the FFN adds nothing until training moves
    its zeroed output.  Training is free to move every weight from there.
    """
    import copy

    layers = model.base_model.encoder.layer
    layer = copy.deepcopy(layers[-1])
    attention = layer.attention
    identity = torch.eye(model.config.hidden_size)
    starts = {attention.self.query: 0 * identity, attention.self.key: 0 * identity, attention.self.value: identity,
              attention.output.dense: scale * identity, layer.output.dense: torch.zeros_like(layer.output.dense.weight)}
    with torch.no_grad():
        for linear, weight in starts.items():
            linear.weight.copy_(weight)
            linear.bias.zero_()
        for norm in (attention.output.LayerNorm, layer.output.LayerNorm):
            norm.weight.fill_(1.0)
            norm.bias.zero_()
    layers.append(layer)
    model.config.num_hidden_layers = len(layers)
    return model


def quantize_int8(model):
    """Dynamic int8 (per-channel weights) for the encoder's linear layers, except each layer's FFN output
    projection and the whole last layer.

    The FFN output projection reads the 1,536-wide GELU activations, whose few outlier channels a
    per-tensor activation scale cannot hold: measured on the seed gold with one default model,
    quantising every linear layer cost 3.8 points of micro-F1 (1.7 per-channel), keeping these 12
    projections in fp32 cost 1.0 and kept most of the speed.  The last layer writes the [CLS] vector the
    head reads, and in the mean-pooling layer (`append_mean_pooling_layer`) that vector is an average
    the per-tensor activation scale flattens: quantising it took the default model's seed-gold micro-F1
    from 0.763 to 0.373, keeping it in fp32 to 0.757 (`python -m eval.benchmark`).
    """
    import warnings

    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    last = f".encoder.layer.{len(model.base_model.encoder.layer) - 1}."
    spec = {name: per_channel_dynamic_qconfig for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear) and ".encoder.layer." in f".{name}"
            and not _is_ffn_output(name) and last not in f".{name}"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch.ao's deprecation notice for eager quantisation: it still works in 2.13
        return quantize_dynamic(model, spec, dtype=torch.qint8)


def _is_ffn_output(name: str) -> bool:
    return name.endswith("output.dense") and ".attention." not in name


class ThemeModel:
    """A trained classifier folder: network, tokenizer, themes, thresholds, and the character n-gram reader whose
    scores are mixed with the network's where the folder has one (`models.lexical`)."""

    def __init__(self, model, tokenizer, meta: ModelMeta, path: Path | None = None, lexical: LexicalHead | None = None):
        self.model, self.tokenizer, self.meta, self.path, self.lexical = model, tokenizer, meta, path, lexical
        if lexical is not None and lexical.coef.shape[0] != len(meta.themes):
            raise ValueError(f"{path}: the lexical head scores {lexical.coef.shape[0]} themes, the model {len(meta.themes)}")
        self.model.eval()

    @property
    def themes(self) -> list[str]:
        return self.meta.themes

    @property
    def thresholds(self) -> np.ndarray:
        return np.asarray(self.meta.thresholds)

    @property
    def rules_and_model_lines(self) -> tuple[np.ndarray, np.ndarray]:
        """(thresholds, keep) of the rules+model decision (`models.decision.rules_and_model`)."""
        lines = self.meta.rules_and_model or {}
        return (np.asarray(lines.get("thresholds", self.meta.thresholds), dtype=float),
                np.asarray(lines.get("keep", np.zeros(len(self.themes))), dtype=float))

    @classmethod
    def load(cls, path: str | Path, *, quantize: bool = False, device: str | None = None, backend: str = "torch") -> "ThemeModel":
        """Load a model folder; `quantize=True` applies dynamic int8 quantisation (CPU; see `quantize_int8`).

        `backend="onnx"` runs the network in ONNX Runtime instead (`models.runtime`: `model.onnx`, or `model.int8.onnx`
        with `quantize`, exported into the folder on first use).
        """
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(path)
        if not (path / META_FILE).is_file():
            raise FileNotFoundError(f"{path} is not a policy-tagger model folder (no {META_FILE}); train one with `policy-tagger train`")
        meta = ModelMeta.from_dict(json.loads((path / META_FILE).read_text(encoding="utf-8")))
        tokenizer, lexical = AutoTokenizer.from_pretrained(path), LexicalHead.load(path)
        if backend == "onnx":
            from .runtime import OnnxNetwork, export_onnx

            return cls(OnnxNetwork(export_onnx(path, int8=quantize)), tokenizer, meta, path, lexical)
        if backend != "torch":
            raise ValueError(f"backend must be torch or onnx, not {backend!r}")
        model = AutoModelForSequenceClassification.from_pretrained(path)
        if quantize:
            model = quantize_int8(model)
        elif device:
            model = model.to(device)
        return cls(model, tokenizer, meta, path, lexical)

    def window_logits(self, windows: Windows, *, batch_size: int = 32, progress: bool = False, desc: str = "scoring") -> torch.Tensor:
        from tqdm.auto import tqdm

        device = next(self.model.parameters()).device if any(True for _ in self.model.parameters()) else torch.device("cpu")
        out = torch.empty((len(windows.input_ids), len(self.themes)))
        with torch.inference_mode():
            for idx in tqdm(length_batches([len(w) for w in windows.input_ids], batch_size), desc=desc, unit="batch", disable=not progress):
                ids, mask = pad_batch([windows.input_ids[i] for i in idx], self.tokenizer.pad_token_id)
                out[torch.as_tensor(idx)] = self.model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float().cpu()
        return out

    def predict_proba(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False, desc: str = "scoring") -> np.ndarray:
        """P(theme) for each text, shape (n_texts, n_themes): the network's, mixed with the lexical head's where there is one."""
        texts = list(texts)
        proba = self.encoder_proba(texts, batch_size=batch_size, progress=progress, desc=desc)
        return proba if self.lexical is None or not texts else self.lexical.mix(proba, self.lexical.predict_proba(texts))

    def encoder_proba(self, texts: Sequence[str], *, batch_size: int = 32, progress: bool = False, desc: str = "scoring") -> np.ndarray:
        """The network's P(theme) for each text (what the folder gives in plain transformers); long texts are read in
        overlapping windows."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.themes)))
        windows = make_windows(self.tokenizer, texts, max_length=self.meta.max_length, stride=self.meta.stride, prefix=self.meta.text_prefix)
        logits = pool_windows(self.window_logits(windows, batch_size=batch_size, progress=progress, desc=desc), windows.owner, len(texts))
        return torch.sigmoid(logits).numpy()

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return (self.predict_proba(texts) >= self.thresholds).astype(int)
