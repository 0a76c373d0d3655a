"""Inter-annotator agreement between the gold labels and an independent second pass.

    .venv/bin/python -m eval.agreement

The second pass (eval/gold/second_pass/) re-annotated 30 paragraphs of each older gold set, drawn at
random (seed 7), and every paragraph of 12 of the 48 civil-affairs dev/test documents (6 of each split, drawn with
seed 13: 235 of 940 paragraphs), blind to the first pass and working only from taxonomy.md and GUIDELINES.md.
Per theme: Cohen's kappa and the F1 of the second pass against the gold (after reconciliation) and, for the
civil-affairs gold, against the first pass as it was before reconciliation; overall: micro-F1 and exact-match of label sets.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.metrics import cohen_kappa_score, f1_score

from models.rules import RuleSet

from .gold import GOLD_DIR, IN_GENRE_GOLD, OUTGENRE_GOLD, SEED_GOLD

SECOND = GOLD_DIR / "second_pass"
PAIRS = {
    "civil_affairs (dev + test), first pass before reconciliation": ([SECOND / "civil_affairs_first_pass.jsonl"], SECOND / "civil_affairs.jsonl"),
    "civil_affairs (dev + test), gold after reconciliation": (list(IN_GENRE_GOLD.values()), SECOND / "civil_affairs.jsonl"),
    "seeds": ([SEED_GOLD], SECOND / "seeds.jsonl"),
    "gwr_sample": ([OUTGENRE_GOLD], SECOND / "gwr_sample.jsonl"),
}


def _labels(*paths: Path) -> dict:
    rows = [json.loads(l) for path in paths for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]
    return {(r["doc_id"], int(r["index"])): set(r["labels"]) for r in rows}


def agreement(gold_paths: list[Path], second_path: Path, themes: list[str]) -> dict:
    gold, second = _labels(*gold_paths), _labels(second_path)
    keys = sorted(second)
    missing = [k for k in keys if k not in gold]
    if missing:
        raise ValueError(f"{second_path}: {len(missing)} paragraph(s) not in {[str(p) for p in gold_paths]}, e.g. {missing[0]}")
    a = np.array([[t in gold[k] for t in themes] for k in keys], dtype=int)
    b = np.array([[t in second[k] for t in themes] for k in keys], dtype=int)
    per = {}
    for i, t in enumerate(themes):
        if a[:, i].any() or b[:, i].any():
            kappa = cohen_kappa_score(a[:, i], b[:, i]) if len(set(a[:, i]) | set(b[:, i])) > 1 else 1.0
            per[t] = {"kappa": float(kappa), "f1": float(f1_score(a[:, i], b[:, i], zero_division=0)),
                      "gold_pos": int(a[:, i].sum()), "second_pos": int(b[:, i].sum())}
    return {"n": len(keys), "micro_f1": float(f1_score(a, b, average="micro", zero_division=0)),
            "exact_match": float((a == b).all(axis=1).mean()), "per_theme": per}


def main() -> None:
    themes = RuleSet.load().theme_ids
    print("# Inter-annotator agreement\n\nProduced by `.venv/bin/python -m eval.agreement` (see eval/GUIDELINES.md for how the gold was made).")
    for name, (g, s) in PAIRS.items():
        r = agreement(g, s, themes)
        print(f"\n## {name}: {r['n']} paragraphs annotated twice; micro-F1 {r['micro_f1']:.3f}, identical label sets {r['exact_match']:.0%}\n")
        print("| theme | kappa | F1 | gold positives | second-pass positives |\n|---|---|---|---|---|")
        for t, v in r["per_theme"].items():
            print(f"| {t} | {v['kappa']:.2f} | {v['f1']:.2f} | {v['gold_pos']} | {v['second_pos']} |")


if __name__ == "__main__":
    main()
