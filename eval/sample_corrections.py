"""Draw corpus paragraphs for people to label as training corrections (never as gold).

The student learns only what the rules say unless someone reads text and says otherwise: this draws
the paragraphs worth reading from the government-work-report corpus, leaving out the out-of-genre gold
sample.  Three strata: paragraphs a rule labels (where the rules over-reach, a correction teaches
precision), paragraphs near civil-affairs vocabulary that no rule labels (where they miss), and
paragraphs at random.  Rules and vocabulary only choose what is read; the labels come from reading
against taxonomy.md (eval/GUIDELINES.md).

    python -m eval.sample_corrections --out /tmp/to_annotate.jsonl
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from models import load_documents
from training.dataset import text_hash
from training.corpus import REPORT_CORPUS
from models.rules import RuleSet, apply_rules, paragraphs_of

from .gold import OUTGENRE_GOLD, load_gold
from .sample_outgenre import MIN_CHARS, VOCAB

SEED = 20261124
STRATA = {"rules": 150, "vocab": 200, "random": 100}


def sample(corpus: Path = REPORT_CORPUS, *, seed: int = SEED, sizes: dict[str, int] = STRATA) -> list[dict]:
    rule_set = RuleSet.load()
    gold = {(g.doc_id, g.index) for g in load_gold(OUTGENRE_GOLD, rule_set.theme_ids)}
    pool = [p for p in paragraphs_of(load_documents([corpus])[0])
            if len(p.text) >= MIN_CHARS and p.kind != "meta" and (p.doc_id, p.index) not in gold]
    votes = apply_rules(rule_set, pool)
    labelled = {i for i in range(len(pool)) if votes.fired(i)}
    strata = {"rules": sorted(labelled),
              "vocab": [i for i in range(len(pool)) if i not in labelled and VOCAB.search(pool[i].text)]}
    near = set(strata["vocab"])
    strata["random"] = [i for i in range(len(pool)) if i not in labelled and i not in near]
    rng = random.Random(seed)
    picked = [(i, name) for name, n in sizes.items() for i in rng.sample(strata[name], min(n, len(strata[name])))]
    rng.shuffle(picked)
    return [{"doc_id": pool[i].doc_id, "index": pool[i].index, "hash": text_hash(pool[i].text), "stratum": name,
             "heading": pool[i].heading or "", "text": pool[i].text} for i, name in picked]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPORT_CORPUS)
    parser.add_argument("--out", type=Path, required=True, help="JSONL with the paragraphs' text, for annotation: keep it out of the repository")
    args = parser.parse_args()
    rows = sample(args.corpus)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} paragraphs -> {args.out}")


if __name__ == "__main__":
    main()
