"""Tagging speed and memory on the CPU, with in-genre quality beside it, every variant against the anchor in one run.

    .venv/bin/python -m eval.benchmark [--model DIR] [--anchor DIR] [--variants torch,torch-int8,onnx,onnx-int8,rules] [--student DIR] [--threads N]

The anchor is the 12-layer student in fp32 PyTorch: the default recipe with all of e5's 12 layers (trained once, seed
13, into `.cache/levers/anchor_12_layers-s13` by `eval.recipe_levers`; `--anchor DIR` for another folder).  The
variants are the model folder (default: the default model) in each runtime.  Each runs in a fresh process (so that
load time and peak memory are its own) and tags, with the shipped decision (rules+model): the five seeds together (paragraphs
per second, and that first pass in milliseconds per 5,000 characters), then each seed alone, as one report per call, three
rounds (their median in milliseconds per 5,000 characters of report), and the 24 `dev` documents of the civil-affairs corpus, whose gold
gives in-genre dev micro-F1 of the decision and of the model alone.  Speed is printed as a ratio to the anchor of
the same run (machines differ about 2x; ratios travel).  `rules` is the rules alone: the upper bound of any model.
`--student DIR` adds a smaller model folder (`python -m training.distil`) in PyTorch fp32 and ONNX Runtime int8.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import time
from pathlib import Path

VARIANTS = {   # name -> (backend, quantize); "rules": no model at all
    "torch": ("torch", False), "torch-int8": ("torch", True), "onnx": ("onnx", False), "onnx-int8": ("onnx", True), "rules": None,
}
TITLES = {"torch": "PyTorch fp32", "torch-int8": "PyTorch dynamic int8 (`--quantize`)", "onnx": "ONNX Runtime fp32 (`--backend onnx`)",
          "onnx-int8": "ONNX Runtime int8 (`--backend onnx --quantize`)", "rules": "rules only (no model: the upper bound)"}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(variant: str, model_dir: str, threads: int | None, queue) -> None:
    import numpy as np
    import torch

    from models import load_documents
    from models.decision import WeightedVote
    from models.rules import RuleSet, apply_rules
    from models.tagger import NO_THEME_KINDS, Tagger
    from training.corpus import civil_affairs_documents

    from .gold import IN_GENRE_GOLD, align, load_gold
    from .metrics import score
    from .run import ROOT

    if threads:
        torch.set_num_threads(threads)
    seeds, _ = load_documents([ROOT / "seeds"])
    dev = civil_affairs_documents("dev")
    content = lambda docs: [p for d in docs for p in d.paragraphs if p.kind not in NO_THEME_KINDS]   # noqa: E731
    out = {"variant": variant, "seed_paragraphs": len(content(seeds)), "seed_chars": sum(len(d.text) for d in seeds),
           "dev_paragraphs": len(content(dev))}
    t = time.perf_counter()
    if VARIANTS[variant] is None:
        rule_set = RuleSet.load()
        vote = WeightedVote(rule_set)
        def tag(docs):   # noqa: E306
            ps = content(docs)
            return vote.predict_proba(apply_rules(rule_set, ps), [p.kind for p in ps])
        themes = rule_set.theme_ids
    else:
        backend, quantize = VARIANTS[variant]
        tagger = Tagger.load(model_dir, quantize=quantize, backend=backend, decision="rules+model")
        tagger.model.predict_proba(["预热"])   # one-off allocations are not tagging
        tag = tagger.tag_documents
        themes = tagger.model.themes
    out["load_s"] = time.perf_counter() - t
    t = time.perf_counter()
    tag(seeds)
    seed_s = time.perf_counter() - t
    out["seed_para_per_s"] = out["seed_paragraphs"] / seed_s
    out["first_ms_per_5k_chars"] = 1000 * seed_s / (out["seed_chars"] / 5000)
    rounds = []
    for _ in range(REPORT_ROUNDS):   # one report per call, as `tag report.txt` does, once the process has tagged before
        t = time.perf_counter()
        for d in seeds:
            tag([d])
        rounds.append(time.perf_counter() - t)
    out["ms_per_5k_chars"] = 1000 * float(np.median(rounds)) / (out["seed_chars"] / 5000)
    t = time.perf_counter()
    tagged = tag(dev)
    out["dev_para_per_s"] = out["dev_paragraphs"] / (time.perf_counter() - t)
    out["peak_mb"] = _peak_mb()
    gold_paragraphs, y = align(load_gold(IN_GENRE_GOLD["dev"], themes), dev, themes)
    if VARIANTS[variant] is None:
        index = {(p.doc_id, p.index): i for i, p in enumerate(content(dev))}
        none = np.zeros(len(themes))   # bylines and sources: never tagged
        decided = np.array([(tagged[index[p.doc_id, p.index]] if (p.doc_id, p.index) in index else none) >= 0.5
                            for p in gold_paragraphs]).astype(int)
    else:
        by_key = {(p.doc_id, p.index): p for d in tagged for p in d.paragraphs}
        decided = np.array([[by_key[p.doc_id, p.index].scores[t] >= 0.5 for t in themes] for p in gold_paragraphs]).astype(int)
        alone = (tagger.model.predict_proba([p.text for p in gold_paragraphs]) >= tagger.model.thresholds).astype(int)
        out["dev_f1_model"] = score(y, alone, themes)["micro"]["f1"]
    out["dev_f1_decision"] = score(y, decided, themes)["micro"]["f1"]
    queue.put(out)


REPORT_ROUNDS = 3   # the per-report figure is their median: one round is one draw of a noisy machine
ANCHOR_SETTINGS = {"keep_layers": None, "freeze_layers": 12}   # the default recipe with every one of e5's layers


def anchor_model() -> Path:
    """The 12-layer student of the default recipe (seed 13): trained once (minutes), then reused while current."""
    from models.rules import RuleSet
    from training.default_model import cache_dir, load_recipe

    from .recipe_levers import fit

    return fit(load_recipe(), ANCHOR_SETTINGS, 13, cache_dir() / "levers" / "anchor_12_layers-s13", RuleSet.load())


def measure(variant: str, model_dir: Path, threads: int | None) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    p = ctx.Process(target=_run, args=(variant, str(model_dir), threads, queue))
    p.start()
    while True:
        try:
            result = queue.get(timeout=5)
            break
        except Exception:   # queue.Empty: still running, unless the child died
            if not p.is_alive():
                raise SystemExit(f"variant {variant}: the measuring process failed (exit code {p.exitcode}); see its traceback above")
    p.join()
    return result


def layers(folder: Path) -> str:
    """e5's layers a model folder keeps, and the pooling layer the recipe appends on top of them where it did."""
    n = json.loads((folder / "config.json").read_text(encoding="utf-8"))["num_hidden_layers"]
    meta = json.loads((folder / "policy_tagger.json").read_text(encoding="utf-8"))
    return f"{n - 1} layers + pooling layer" if meta.get("base_model", {}).get("pooling") == "mean" else f"{n} layers"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="model folder of the variants (default: the default model)")
    parser.add_argument("--anchor", type=Path, default=None, help="the anchor's model folder (default: the 12-layer default recipe)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, from {', '.join(VARIANTS)}")
    parser.add_argument("--student", type=Path, action="append", default=[], help="a distilled model folder to add (repeatable)")
    parser.add_argument("--threads", type=int, default=None, help="torch / ONNX Runtime threads (default: torch's choice)")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if unknown := [v for v in variants if v not in VARIANTS]:
        raise SystemExit(f"unknown variant(s) {unknown}; choose from {list(VARIANTS)}")
    if args.model is None:
        from training.default_model import ensure_default_model

        args.model = ensure_default_model()
    if args.anchor is None:
        args.anchor = anchor_model()
    import torch

    runs = [("torch", args.anchor, f"anchor: {layers(args.anchor)}, PyTorch fp32")]   # always, in the same run
    runs += [(v, args.model, f"{args.model.name} ({layers(args.model)}), {TITLES[v]}" if VARIANTS[v] else TITLES[v]) for v in variants]
    for student in args.student:
        runs += [(v, student, f"{student.name} ({layers(student)}), {TITLES[v]}") for v in ("torch", "onnx-int8")]
    rows = []
    for v, folder, title in runs:
        rows.append({**measure(v, folder, args.threads), "title": title})
        print(f"{title}: {rows[-1]['seed_para_per_s']:.1f} seed paragraphs/s", flush=True)
    anchor = rows[0]
    print(f"\nanchor {args.anchor}, model {args.model}; torch {torch.__version__}, {args.threads or torch.get_num_threads()} threads; seeds: "
          f"{anchor['seed_paragraphs']} content paragraphs, {anchor['seed_chars']:,} chars; dev: {anchor['dev_paragraphs']} paragraphs\n")
    print("| variant | load (s) | seed paragraphs/s (first pass) | × anchor | first pass, ms per 5,000 chars | ms per 5,000-char report "
          "| dev paragraphs/s | × anchor | peak RSS (MB) | dev micro-F1, rules+model | dev micro-F1, model alone |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        model_f1 = f"{r['dev_f1_model']:.3f}" if "dev_f1_model" in r else "–"
        print(f"| {r['title']} | {r['load_s']:.1f} | {r['seed_para_per_s']:.1f} | {r['seed_para_per_s'] / anchor['seed_para_per_s']:.2f} | "
              f"{r['first_ms_per_5k_chars']:.0f} | {r['ms_per_5k_chars']:.0f} | {r['dev_para_per_s']:.1f} | {r['dev_para_per_s'] / anchor['dev_para_per_s']:.2f} | "
              f"{r['peak_mb']:.0f} | {r['dev_f1_decision']:.3f} | {model_f1} |")


if __name__ == "__main__":
    main()
