"""Fine-tune the encoder on the weak-label dataset and write a self-sufficient model folder.

The loop, in order: load the dataset -> build the network from the base model (or a previous
model) -> cut paragraphs into windows -> run the frozen lower layers once and cache their output
-> train the upper layers and the head on soft labels (BCE, capped pos_weight) with early
stopping on validation loss -> choose per-theme thresholds on validation (and, on its paragraphs with people's
labels, the rules+model decision's lines) -> write the folder
atomically (a previous model at the same path survives until the new one is complete).
"""
from __future__ import annotations

import copy
import hashlib
import json
import platform
import random
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from models.atomic import atomic_directory
from models.decision import WeightedVote, model_may_not_add, rules_and_model
from models.lexical import LexicalHead
from models.modeling import META_FILE, RULES_FILE, ModelMeta, ThemeModel, append_mean_pooling_layer, make_windows, pool_windows
from models.rules import RuleSet, VoteMatrix

from .config import CONFIG_FILE, TrainingConfig
from .dataset import load_dataset_dir, multi_hot, unit_counts
from .lexical import choose_weight, fit_lexical_head
from .model_card import write_model_card
from .thresholds import tune_rules_and_model, tune_thresholds


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _device(config: TrainingConfig) -> torch.device:
    if config.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(config.device)


def build_network(themes: list[str], config: TrainingConfig, init_from: str | Path | None = None):
    """(model, tokenizer, base description): from a previous model folder, or a fresh head on the base encoder."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    labels = dict(id2label=dict(enumerate(themes)), label2id={t: i for i, t in enumerate(themes)},
                  num_labels=len(themes), problem_type="multi_label_classification")
    if init_from is not None:
        previous = ThemeModel.load(init_from)
        # A theme added since the previous model gets a new head row; everything else continues.
        model = AutoModelForSequenceClassification.from_pretrained(init_from, ignore_mismatched_sizes=previous.themes != themes, **labels)
        return model, previous.tokenizer, previous.meta.extra.get("base_model", {"init_from": str(init_from)})
    from models.base_model import ensure_base_model

    path = ensure_base_model(config.base_model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    # A fresh head is missing from any base checkpoint by design: transformers' load report says so at length.
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()
    try:
        model = AutoModelForSequenceClassification.from_pretrained(path, **labels)
    finally:
        transformers_logging.set_verbosity(verbosity)
    layers = model.base_model.encoder.layer
    if config.keep_layers is not None and config.keep_layers < len(layers):
        model.base_model.encoder.layer = layers[:config.keep_layers]
        model.config.num_hidden_layers = config.keep_layers
    base = {"name": config.base_model, "path": str(path), "layers_kept": model.config.num_hidden_layers, "pooling": config.pooling}
    if config.pooling == "mean":
        append_mean_pooling_layer(model)
    return model, tokenizer, base


class SplitNetwork:
    """The network cut at `freeze` layers: a frozen bottom whose outputs are cached, a trainable top.

    Written against the BERT layout (`base_model.embeddings`, `.encoder.layer`, `.pooler`,
    `dropout`, `classifier`) that the embedded default and BERT/RoBERTa-style checkpoints share.
    """

    def __init__(self, model, freeze: int):
        self.model, self.freeze = model, freeze
        self.layers = model.base_model.encoder.layer
        for p in model.base_model.embeddings.parameters():
            p.requires_grad_(False)
        for layer in self.layers[:freeze]:
            for p in layer.parameters():
                p.requires_grad_(False)

    @staticmethod
    def _additive_mask(mask: torch.Tensor, dtype) -> torch.Tensor:
        return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min

    def bottom(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.model.base_model.embeddings(input_ids=ids)
        m = self._additive_mask(mask, h.dtype)
        for layer in self.layers[:self.freeze]:
            h = _hidden(layer(h, attention_mask=m))
        return h

    def top(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = self._additive_mask(mask, h.dtype)
        for layer in self.layers[self.freeze:-1]:
            h = _hidden(layer(h, attention_mask=m))
        h = cls_output(self.layers[-1], h, m)
        pooler = getattr(self.model.base_model, "pooler", None)
        if pooler is not None:   # BERT: pooled [CLS] -> dropout -> linear
            return self.model.classifier(self.model.dropout(pooler(h)))
        return self.model.classifier(h)   # RoBERTa-style heads read [CLS] themselves

    def trainable_parameters(self) -> tuple[list, list]:
        """(upper encoder layers, head): they get different learning rates."""
        top = [p for layer in self.layers[self.freeze:] for p in layer.parameters()]
        prefix = self.model.base_model_prefix + "."
        head = [p for n, p in self.model.named_parameters() if not n.startswith(prefix) or ".pooler." in n]
        return top, head


def cls_output(layer, h: torch.Tensor, additive_mask: torch.Tensor) -> torch.Tensor:
    """A BERT layer's output at [CLS] alone, shape (batch, 1, dim).

    The head reads nothing else from the last layer, so its queries and FFN need run only there:
    the FFN is two thirds of a layer's arithmetic, and training the last layer alone ran about
    five times faster this way.  Equal to the full layer at [CLS] (tests/test_training.py).
    """
    attention = layer.attention.self

    def heads(x):
        return x.view(x.shape[0], x.shape[1], -1, attention.attention_head_size).transpose(1, 2)

    q, k, v = heads(attention.query(h[:, :1])), heads(attention.key(h)), heads(attention.value(h))
    context = torch.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=additive_mask, dropout_p=attention.dropout.p if attention.training else 0.0, scale=attention.scaling)
    x = layer.attention.output(context.transpose(1, 2).reshape(h.shape[0], 1, -1), h[:, :1])
    return layer.output(layer.intermediate(x), x)


def _hidden(out):
    return out[0] if isinstance(out, tuple) else out


class CachedSplit:
    """Window-level cache of the frozen bottom's output for one split, grouped by paragraph.

    Outputs are also kept per process (`_BOTTOM_OUTPUTS`, keyed by the bottom's weights and the window settings):
    an evaluation fits five or more models on largely the same corpus, and the frozen layers are most of the
    arithmetic of a fit, so each text is encoded once per run.
    """

    def __init__(self, net: SplitNetwork, tokenizer, texts, config: TrainingConfig, device, desc: str):
        w = make_windows(tokenizer, texts, max_length=config.max_length, stride=config.stride, prefix=config.text_prefix)
        self.n_texts, self.owner = len(texts), np.asarray(w.owner)
        self.windows_of = [[] for _ in texts]
        for i, o in enumerate(w.owner):
            self.windows_of[o].append(i)
        self.hidden: list[torch.Tensor] = [None] * len(w.input_ids)
        known = _BOTTOM_OUTPUTS.setdefault(_bottom_key(net, device), {})
        todo = []
        for i, ids in enumerate(w.input_ids):
            if (h := known.get(tuple(ids))) is not None:
                self.hidden[i] = h
            else:
                todo.append(i)
        order = sorted(todo, key=lambda i: len(w.input_ids[i]))
        net.model.eval()
        with torch.inference_mode():
            for s in tqdm(range(0, len(order), 32), desc=f"encoding {desc} (frozen layers)", unit="batch", leave=False):
                idx = order[s:s + 32]
                from models.modeling import pad_batch

                ids, mask = pad_batch([w.input_ids[i] for i in idx], tokenizer.pad_token_id)
                h = net.bottom(ids.to(device), mask.to(device))
                for k, i in enumerate(idx):
                    self.hidden[i] = known[tuple(w.input_ids[i])] = h[k, :len(w.input_ids[i])].clone()
        self.n_windows = len(w.input_ids)
        self.lengths = np.array([max((len(w.input_ids[i]) for i in wins), default=0) for wins in self.windows_of])

    def batch(self, texts_idx):
        win = [i for t in texts_idx for i in self.windows_of[t]]
        owner = [k for k, t in enumerate(texts_idx) for _ in self.windows_of[t]]
        width = max(self.hidden[i].shape[0] for i in win)
        dim = self.hidden[win[0]].shape[1]
        h = self.hidden[win[0]].new_zeros((len(win), width, dim))
        mask = torch.zeros((len(win), width), dtype=torch.long, device=h.device)
        for k, i in enumerate(win):
            n = self.hidden[i].shape[0]
            h[k, :n], mask[k, :n] = self.hidden[i], 1
        return h, mask, owner


# bottom key -> {window token ids: frozen-layer output}: see CachedSplit.
_BOTTOM_OUTPUTS: dict[tuple, dict[tuple, torch.Tensor]] = {}


def _bottom_key(net: SplitNetwork, device) -> tuple:
    """What the frozen bottom's output depends on: its depth and weights (hashed), and the device."""
    h = hashlib.sha256()
    for module in [net.model.base_model.embeddings, *net.layers[:net.freeze]]:
        for name, t in sorted(module.state_dict().items()):
            h.update(name.encode())
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return net.freeze, h.hexdigest(), str(device)


def _soft_labels(rows, device) -> torch.Tensor:
    return torch.tensor(np.asarray(rows["soft_labels"], dtype=np.float32), device=device)


@dataclass
class _Fit:
    best_state: dict
    best_epoch: int
    history: list


def _fit(net, cache: CachedSplit, y: torch.Tensor, config: TrainingConfig, *, val=None, progress: bool = True) -> _Fit:
    """Train the top of `net` on `cache`, keeping the epoch of least loss on `val` (cache, labels), or on the
    training data without it, and stopping after `config.patience` epochs without a better one."""
    model = net.model
    positives = (y >= 0.5).sum(0).float()
    pos_weight = ((len(y) - positives) / positives.clamp(min=1)).clamp(1.0, config.max_pos_weight)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    top, head = net.trainable_parameters()
    optimizer = torch.optim.AdamW([{"params": top, "lr": config.learning_rate}, {"params": head, "lr": config.head_learning_rate}],
                                  weight_decay=config.weight_decay)
    rng = np.random.default_rng(config.seed)
    best, best_state, best_epoch, stale, history = float("inf"), None, 0, 0, []
    bar = tqdm(range(1, config.epochs + 1), desc="training", unit="epoch", disable=not progress)
    for epoch in bar:
        model.train()
        total, n = 0.0, 0
        for idx in _batches(cache, config, rng):
            loss = loss_fn(_forward(net, cache, idx), y[idx])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(top + head, 1.0)
            optimizer.step()
            total, n = total + loss.item() * len(idx), n + len(idx)
        train_loss = total / n
        val_loss = loss_fn(_predict(net, val[0], 64), val[1]).item() if val else train_loss
        history.append({"epoch": epoch, "train_loss": round(train_loss, 5), "val_loss": round(val_loss, 5)})
        bar.set_postfix(loss=f"{train_loss:.4f}", val=f"{val_loss:.4f}")
        if val_loss < best - 1e-5:
            best, best_epoch, stale = val_loss, epoch, 0
            best_state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
        else:
            stale += 1
            if stale >= config.patience:
                break
    return _Fit(best_state, best_epoch, history)


def _batches(cache: CachedSplit, config: TrainingConfig, rng) -> list[list[int]]:
    """One epoch's batches of paragraph indices: a random order, or with `group_by_length` random chunks of 50
    batches sorted by length within, cut into batches whose order is shuffled again."""
    order, size = rng.permutation(cache.n_texts), config.batch_size
    if config.group_by_length:
        chunk = size * 50
        order = np.concatenate([sorted(order[s:s + chunk], key=lambda i: -cache.lengths[i]) for s in range(0, len(order), chunk)])
    batches = [order[s:s + size].tolist() for s in range(0, len(order), size)]
    if config.group_by_length:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def _forward(net, cache: CachedSplit, idx) -> torch.Tensor:
    h, mask, owner = cache.batch(idx)
    return pool_windows(net.top(h, mask), owner, len(idx))


def _predict(net, cache: CachedSplit, batch_size: int) -> torch.Tensor:
    net.model.eval()
    order = np.argsort(cache.lengths, kind="stable")   # by length: little padding; put back in order below
    device = next(net.model.parameters()).device
    out = torch.zeros((cache.n_texts, net.model.config.num_labels), device=device)
    with torch.no_grad():
        for s in range(0, cache.n_texts, batch_size):
            idx = order[s:s + batch_size].tolist()
            out[torch.as_tensor(idx, device=device)] = _forward(net, cache, idx).float()
    return out


def _fingerprint(dataset_dir: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(dataset_dir.rglob("*")):
        if f.is_file() and f.suffix in (".arrow", ".json"):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _micro(y: np.ndarray, pred: np.ndarray) -> dict:
    tp, fp, fn = int((pred & y).sum()), int((pred & ~y).sum()), int((~pred & y).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0}


@dataclass
class PeopleLabelled:
    """The validation paragraphs that carry people's labels, with the rules' votes on them (the rows' own fired rules):
    what the rules+model lines are tuned on and the lexical share is chosen by."""

    rows: list[int]
    rule_set: RuleSet
    votes: VoteMatrix
    kinds: list[str]
    rules_proba: np.ndarray
    y: np.ndarray

    @classmethod
    def of(cls, val_rows, labeling: dict) -> "PeopleLabelled | None":
        """None where there are none, or the dataset kept no rule file."""
        people = [i for i, (source, unit) in enumerate(zip(val_rows["label_source"], val_rows["unit"])) if source == "correction" and unit == "paragraph"]
        if not people or not labeling.get("rules_text"):
            return None
        rule_set = RuleSet.from_text(labeling["rules_text"], source=labeling.get("rules_file", "rules"))
        rows = val_rows.select(people)
        votes, kinds = VoteMatrix.from_fired(rule_set, rows["rules"]), rows["kind"]
        return cls(people, rule_set, votes, kinds, WeightedVote(rule_set).predict_proba(votes, kinds), multi_hot(rows["labels"], len(rule_set.theme_ids)))

    def tune_lines(self, val_proba: np.ndarray, thresholds: np.ndarray) -> dict:
        add, keep = tune_rules_and_model(self.y, val_proba[self.rows], self.rules_proba >= 0.5, model_may_not_add(self.votes, self.rule_set, self.kinds), thresholds)
        return {"thresholds": [float(x) for x in add], "keep": [float(x) for x in keep],
                "tuned_on": f"{len(self.rows)} validation paragraphs with people's labels"}

    def f1(self, val_proba: np.ndarray, lines: dict) -> float:
        """Micro-F1 of the rules+model decision at `lines` on these paragraphs."""
        decided = rules_and_model(self.votes, self.rules_proba, val_proba[self.rows], lines["thresholds"], self.rule_set, self.kinds,
                                  keep=lines["keep"]) >= 0.5
        return _micro(self.y.astype(bool), decided)["f1"]


def _decide_on_validation(y_hard: np.ndarray, val_proba: np.ndarray, config: TrainingConfig,
                          people: PeopleLabelled | None) -> tuple[np.ndarray, dict | None, float]:
    """(thresholds, rules+model lines or None, the validation micro-F1 of the decision they make) for `val_proba`:
    the rules+model decision on people's labels (`people`, where the lines are tuned), else the model's against the
    split's labels `y_hard`."""
    thresholds = (tune_thresholds(y_hard, val_proba, default=config.default_threshold, min_precision=config.threshold_min_precision)
                  if config.thresholds == "tuned" else np.full(y_hard.shape[1], config.default_threshold))
    if people is None:
        return thresholds, None, _micro(y_hard.astype(bool), val_proba >= thresholds)["f1"]
    lines = people.tune_lines(val_proba, thresholds)
    return thresholds, lines, people.f1(val_proba, lines)


def _fit_lexical(train_rows, val_rows, val_proba: np.ndarray | None, config: TrainingConfig, labeling: dict,
                 decide: Callable[[np.ndarray], tuple]) -> tuple[LexicalHead, np.ndarray | None]:
    """The character n-gram reader on the train split's labels, its share of the mixture chosen on validation; and
    the mixed validation scores."""
    head = fit_lexical_head(train_rows["text"], multi_hot(train_rows["labels"], len(labeling["themes"])),
                            max_features=config.lexical_max_features, C=config.lexical_c, seed=config.seed)
    if val_proba is None:
        head.about["weight_chosen_by"] = "not chosen: no validation split (the default share)"
        return head, None
    lexical_val = head.predict_proba(val_rows["text"])
    head.weight, tried = choose_weight(val_proba, lexical_val, lambda mixed: decide(mixed)[2])
    head.about.update(weight_chosen_by="validation micro-F1 of the decision (rules+model where its lines are tuned)",
                      validation_f1_by_weight=tried)
    return head, head.mix(val_proba, lexical_val)


def train(dataset_dir: str | Path, out_dir: str | Path, *, config: TrainingConfig | None = None,
          init_from: str | Path | None = None, progress: bool = True) -> Path:
    """Fine-tune on a dataset written by `policy-tagger label`; returns the model folder."""
    dataset_dir = Path(dataset_dir)
    dd, labeling = load_dataset_dir(dataset_dir)
    labeling = {**labeling, "dataset": str(dataset_dir), "sha256": _fingerprint(dataset_dir)}
    return fit_model(dd, labeling, out_dir, config=config, init_from=init_from, progress=progress)


def fit_model(dd, labeling: dict, out_dir: str | Path, *, config: TrainingConfig | None = None,
              init_from: str | Path | None = None, progress: bool = True) -> Path:
    """Fine-tune on an in-memory DatasetDict; `labeling` is its labeling.json (plus dataset path and hash)."""
    config = config or TrainingConfig()
    out_dir = Path(out_dir)
    started = time.time()
    set_seed(config.seed)
    themes = labeling["themes"]
    if "train" not in dd:
        raise ValueError(f"{labeling.get('dataset', 'the dataset')}: the train split is empty")
    train_rows, val_rows = dd["train"], dd.get("validation", [])
    device = _device(config)

    model, tokenizer, base = build_network(themes, config, init_from)
    model.to(device)
    net = SplitNetwork(model, min(config.freeze_layers, len(model.base_model.encoder.layer) - 1))
    train_cache = CachedSplit(net, tokenizer, train_rows["text"], config, device, "train")
    val_cache = CachedSplit(net, tokenizer, val_rows["text"], config, device, "validation") if len(val_rows) else None

    y_train = _soft_labels(train_rows, device)
    y_val = _soft_labels(val_rows, device) if val_cache else None
    fit = _fit(net, train_cache, y_train, config, val=(val_cache, y_val) if val_cache else None, progress=progress)
    model.load_state_dict(fit.best_state)
    best_epoch, history = fit.best_epoch, fit.history

    # Thresholds and metrics on validation, against its weak labels: the training side only.
    thresholds, metrics, lines = np.full(len(themes), config.default_threshold), {}, None
    val_proba = torch.sigmoid(_predict(net, val_cache, 64)).cpu().numpy() if val_cache else None
    y_hard = multi_hot(val_rows["labels"], len(themes)) if val_cache else None
    people = PeopleLabelled.of(val_rows, labeling) if val_cache and config.rules_and_model == "tuned" else None

    def decide(proba: np.ndarray) -> tuple:
        return _decide_on_validation(y_hard, proba, config, people)

    lexical = None
    if config.lexical == "tuned":   # the scores the thresholds and lines are tuned on become the mixture's
        lexical, val_proba = _fit_lexical(train_rows, val_rows, val_proba, config, labeling, decide)
    if val_cache:
        thresholds, lines, _ = decide(val_proba)
        metrics = {"validation_vs_weak_labels": {"at_0.5": _micro(y_hard, val_proba >= 0.5), "at_model_thresholds": _micro(y_hard, val_proba >= thresholds)},
                   "validation_paragraphs": len(val_rows)}
    elapsed = time.time() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    train_units = unit_counts(train_rows)
    meta = ModelMeta(themes=themes, theme_names=labeling.get("theme_names", {t: t for t in themes}), thresholds=[float(t) for t in thresholds],
                     rules_and_model=lines, max_length=config.max_length, stride=config.stride, text_prefix=config.text_prefix,
                     extra={"base_model": base, "data": {"dataset": labeling.get("dataset"), "sha256": labeling.get("sha256"), "sources": labeling["sources"],
                                                         "corpora": labeling.get("corpora"), "corrections": labeling.get("corrections"),
                                                         "train_paragraphs": train_units.get("paragraph", 0),
                                                         "train_sentence_units": train_units.get("sentence", 0), "train_documents": len(set(train_rows["doc_id"])),
                                                         "aggregation": labeling["aggregation"]},
                            "rules": {"file": labeling["rules_file"], "sha256": labeling["rules_sha256"]},
                            "recipe": labeling.get("recipe"),
                            "init_from": str(init_from) if init_from else None,
                            "training": {"best_epoch": best_epoch, "epochs_run": len(history), "seconds": round(elapsed, 1),
                                         "peak_memory_mb": round(peak_mb), "device": str(device), "torch": torch.__version__,
                                         "python": platform.python_version(), "history": history},
                            "metrics": metrics})
    with atomic_directory(out_dir) as tmp:
        model.cpu().save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / META_FILE).write_text(json.dumps(meta.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        (tmp / CONFIG_FILE).write_text(json.dumps(config.to_dict(), indent=2), encoding="utf-8")
        if lexical is not None:
            lexical.save(tmp)
        if labeling.get("rules_text"):
            (tmp / RULES_FILE).write_text(labeling["rules_text"], encoding="utf-8")
        write_model_card(tmp, meta, config, lexical)
    return out_dir
