"""Tagging speed and memory on the 2-core CPU, with quality beside it.

    .venv/bin/python -m eval.benchmark [--model DIR] [--corpus PATH] [--threads N]

Tags the five seeds and the government-work-report corpus and prints, per variant (fp32,
dynamic int8): model load time, paragraphs per second on the seed paragraph mix and on the
corpus, milliseconds per ~5,000-character report, peak resident memory, and micro-F1 against
the seed gold, so that speed is never bought with quality unseen.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from models import load_documents
from models.tagger import NO_THEME_KINDS, Tagger
from training.corpus import REPORT_CORPUS

from .gold import SEED_GOLD, align, load_gold
from .metrics import score
from .run import ROOT


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def content(docs):
    return [p for d in docs for p in d.paragraphs if p.kind not in NO_THEME_KINDS]


def run_variant(model_dir: Path, quantize: bool, seeds, corpus, gold_paragraphs, y_gold) -> dict:
    t = time.perf_counter()
    tagger = Tagger.load(model_dir, quantize=quantize)
    load_s = time.perf_counter() - t
    tagger.model.predict_proba(["预热"])   # first call pays one-off allocation costs
    out = {"variant": "int8 dynamic" if quantize else "fp32", "load_s": load_s}
    t = time.perf_counter()
    tagger.tag_documents(seeds)
    seed_s = time.perf_counter() - t
    out["seed_para_per_s"] = len(content(seeds)) / seed_s
    out["ms_per_5k_chars"] = 1000 * seed_s / (sum(len(d.text) for d in seeds) / 5000)
    if corpus:
        t = time.perf_counter()
        tagger.tag_documents(corpus, progress=True)
        corpus_s = time.perf_counter() - t
        out["corpus_para_per_s"] = len(content(corpus)) / corpus_s
        out["corpus_s"] = corpus_s
    pred = (tagger.model.predict_proba([p.text for p in gold_paragraphs]) >= tagger.model.thresholds).astype(int)
    out["seed_gold_micro_f1"] = score(y_gold, pred, tagger.model.themes)["micro"]["f1"]
    out["peak_mb"] = peak_mb()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="model folder (default: the default model)")
    parser.add_argument("--corpus", type=Path, default=REPORT_CORPUS, help="JSONL corpus to tag ('' to skip)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--variants", default="fp32,int8")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.model is None:
        from training.default_model import ensure_default_model

        args.model = ensure_default_model()
    seeds, _ = load_documents([ROOT / "seeds"])
    corpus = load_documents([args.corpus])[0] if str(args.corpus) and Path(args.corpus).is_file() else []
    themes = Tagger.load(args.model).model.themes
    gold_paragraphs, y = align(load_gold(SEED_GOLD, themes), seeds, themes)
    print(f"model {args.model}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"seeds: {len(content(seeds))} content paragraphs, {sum(len(d.text) for d in seeds):,} chars; "
          f"corpus: {len(content(corpus))} content paragraphs, {sum(len(d.text) for d in corpus):,} chars")
    rows = []
    for v in args.variants.split(","):
        rows.append(run_variant(args.model, v == "int8", seeds, corpus, gold_paragraphs, y))
    print("\n| variant | load (s) | seed paragraphs/s | ms per 5,000-char report | corpus paragraphs/s | peak RSS (MB) | seed-gold micro-F1 |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['load_s']:.1f} | {r['seed_para_per_s']:.1f} | {r['ms_per_5k_chars']:.0f} | "
              f"{r.get('corpus_para_per_s', float('nan')):.1f} | {r['peak_mb']:.0f} | {r['seed_gold_micro_f1']:.3f} |")


if __name__ == "__main__":
    main()
