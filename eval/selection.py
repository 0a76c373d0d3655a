"""Does the review loop pay?  Which 200 paragraphs to correct: `uncertain`, `disagree` or `random`.

    .venv/bin/python -m eval.selection [--limit 200] [--seeds 13,14] [--name selection]

1. Fit the encoder on the rules' weak labels of the seeds and the civil-affairs corpus's `train` documents
   (no people's labels): the model a team would have before its first review round.
2. From the `train` documents' paragraphs, `training.review.select` picks `--limit` paragraphs per strategy with that
   model (exactly as `policy-tagger review export --select ...` would), never one in a gold set.
3. The chosen paragraphs get people's labels: those of `training/corrections/civil_affairs_train.jsonl`, where every
   paragraph of the train documents was labelled by reading against taxonomy.md and eval/GUIDELINES.md before and
   independently of any selection (the oracle a reviewer would be; nothing here runs the rules or a model to label).
4. Refit with each set as corrections (several training seeds), score on the in-genre `dev` gold (never `test`).
The TF-IDF learner on the same labels is a cheap second view (deterministic given the labels).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from models import load_documents
from models.atomic import atomic_write_text
from models.rules import RuleSet
from models.tagger import Tagger
from training.config import TrainingConfig
from training.corpus import civil_affairs_documents
from training.dataset import Correction, corrections_fingerprint, load_corrections, text_hash
from training.default_model import load_recipe
from training.review import Exclusion, score_pool, select

from .baselines import EncoderPredictor, RulesAndModelPredictor, TfidfPredictor
from .gold import IN_GENRE_GOLD, OUTGENRE_GOLD, SEED_GOLD, align, load_gold
from .harness import _training_paragraphs, training_labels
from .metrics import score
from .run import ROOT

ORACLE = ROOT / "training" / "corrections" / "civil_affairs_train.jsonl"
STRATEGIES = ("uncertain", "disagree", "random")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--seeds", default="13,14", help="training seeds of the refits")
    parser.add_argument("--name", default="selection")
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "results")
    parser.add_argument("--override", default="{}", help="TrainingConfig settings over the recipe's, as JSON (a quick trial: '{\"epochs\": 1}')")
    args = parser.parse_args()
    seeds_ = [int(s) for s in args.seeds.split(",")]
    t0 = time.time()

    rule_set = RuleSet.load()
    themes = rule_set.theme_ids
    recipe = load_recipe()
    # The default recipe's settings; the experiment leaves out the government reports and trains paragraphs only
    # (a third of the fit time; neither changed in-genre dev by more than a point in the lever table).
    config = TrainingConfig.from_dict({**recipe["config"], **json.loads(args.override)})
    seeds, _ = load_documents([ROOT / "seeds"])
    train_docs = civil_affairs_documents("train")
    dev_docs, test_docs = civil_affairs_documents("dev"), civil_affairs_documents("test")
    dev_paragraphs, y_dev = align(load_gold(IN_GENRE_GOLD["dev"], themes), dev_docs, themes)
    held_hashes = {text_hash(p.text) for d in dev_docs + test_docs for p in d.paragraphs}
    paragraphs = _training_paragraphs(seeds + train_docs, held_hashes)
    report_ids = [d.doc_id for d in seeds + train_docs]
    oracle = {(c.doc_id, c.index): c for c in load_corrections(ORACLE, themes)}
    cache = args.out / f"{args.name}.json"
    results = json.loads(cache.read_text(encoding="utf-8")) if cache.is_file() else {}

    def fit(corrections: list[Correction], seed: int, learner: str):
        key = f"{learner}|{len(corrections)}|{corrections_fingerprint(corrections)}|{seed}"
        if key in results:
            return results[key]
        t = time.time()
        if learner == "encoder":
            cfg = TrainingConfig.from_dict({**config.to_dict(), "seed": seed})
            predictor = EncoderPredictor(rule_set, cfg, seed_docs=report_ids, units="paragraphs", corrections=corrections)
        else:
            predictor = TfidfPredictor()
        both = RulesAndModelPredictor(rule_set, predictor)
        both.fit(paragraphs, training_labels(paragraphs, rule_set, corrections=corrections))
        row = {}
        for label, p in (("model", predictor), ("rules+model", both)):
            pred = (p.predict_proba(dev_paragraphs) >= p.thresholds_).astype(int)
            s = score(y_dev, pred, themes)
            row[label] = {"micro_f1": s["micro"]["f1"], "precision": s["micro"]["precision"], "recall": s["micro"]["recall"],
                          "macro_f1": s["macro"]["f1"]}
        row["seconds"] = round(time.time() - t)
        results[key] = row
        atomic_write_text(cache, json.dumps(results, indent=1))
        print(f"  {learner} {len(corrections)} corrections seed {seed}: dev micro-F1 {row['model']['micro_f1']:.3f} "
              f"(rules+model {row['rules+model']['micro_f1']:.3f}) {row['seconds']} s", flush=True)
        return row

    # 1. the weak-label model that chooses
    print("fitting the weak-label encoder (seed 13) that selects ...", flush=True)
    base = EncoderPredictor(rule_set, TrainingConfig.from_dict({**config.to_dict(), "seed": 13}), seed_docs=report_ids,
                            units="paragraphs", corrections=[])
    base.fit(paragraphs, training_labels(paragraphs, rule_set))
    gold_exclusions = [Exclusion.from_jsonl(p, "in a gold set") for p in (SEED_GOLD, OUTGENRE_GOLD, *IN_GENRE_GOLD.values())]
    pool = score_pool(Tagger(base.model_, rules=rule_set, decision="rules+model"), train_docs)
    chosen, sel_rows = {}, []
    for how in STRATEGIES:
        selection = select(pool, how, limit=args.limit, exclude=gold_exclusions, seed=13)
        keys = [(pool.items[i][0].doc_id, pool.items[i][1].index) for i in selection.chosen]
        missing = [k for k in keys if k not in oracle]
        if missing:
            raise SystemExit(f"{how}: {len(missing)} chosen paragraph(s) have no reading label, e.g. {missing[:3]}")
        chosen[how] = [oracle[k] for k in keys]
        for i, k in zip(selection.chosen, keys):
            if oracle[k].text_hash and oracle[k].text_hash != text_hash(pool.items[i][1].text):
                raise SystemExit(f"{k}: the reading label's hash does not match the paragraph")
        n_docs = len({k[0] for k in keys})
        positives = sum(bool(c.labels) for c in chosen[how])
        sel_rows.append((how, len(keys), n_docs, positives, selection.left_out))
        print(f"{how}: {len(keys)} paragraphs from {n_docs} documents, {positives} with a theme; "
              + "; ".join(f"{len(v)} {r}" for r, v in selection.left_out.items()), flush=True)
    atomic_write_text(args.out / f"{args.name}_chosen.jsonl", "".join(
        json.dumps({"select": how, "doc_id": c.doc_id, "index": c.index, "hash": c.text_hash}, ensure_ascii=False) + "\n"
        for how, cs in chosen.items() for c in cs))

    # 2. weak labels alone, and each set of corrections, per training seed
    rows = {"weak labels only": {s: fit([], s, "encoder") for s in seeds_}}
    for how in STRATEGIES:
        rows[f"+ {args.limit} `{how}`"] = {s: fit(chosen[how], s, "encoder") for s in seeds_}
    tfidf = {"weak labels only": fit([], 0, "tfidf")} | {f"+ {args.limit} `{how}`": fit(chosen[how], 0, "tfidf") for how in STRATEGIES}
    for extra_seed in (1, 2):   # random draws other than the one the encoder used: the spread of "random" itself
        r = select(pool, "random", limit=args.limit, exclude=gold_exclusions, seed=extra_seed)
        cs = [oracle[pool.items[i][0].doc_id, pool.items[i][1].index] for i in r.chosen]
        tfidf[f"+ {args.limit} `random` (draw {extra_seed})"] = fit(cs, 0, "tfidf")
    write_report(args, rows, tfidf, sel_rows, seeds_, time.time() - t0)


def write_report(args, rows, tfidf, sel_rows, seeds_, seconds) -> None:
    out = [f"# Does the review loop pay? Selection strategies for {args.limit} corrections\n",
           f"Produced by `.venv/bin/python -m eval.selection --limit {args.limit} --seeds {','.join(map(str, seeds_))}"
           f"{' --name ' + args.name if args.name != 'selection' else ''}` ({seconds / 60:.0f} min on the 2-core CPU).\n",
           "Every learner trains on the seeds and the 240 `train` documents of the civil-affairs corpus, weakly labelled by "
           "the rules; a row adds the chosen paragraphs' people's labels as corrections. The chooser is the encoder fit "
           "on weak labels alone (seed 13); the labels of the chosen paragraphs come from "
           "`training/corrections/civil_affairs_train.jsonl`, written by reading before any selection. Scored on the "
           "in-genre `dev` gold (477 paragraphs, 24 documents). The encoder: the default recipe's settings, paragraph units, "
           "no government reports.\n",
           "## The selections\n", "| strategy | paragraphs | documents | with a theme | left out |", "|---|---|---|---|---|"]
    for how, n, docs, pos, left in sel_rows:
        out.append(f"| {how} | {n} | {docs} | {pos} | " + "; ".join(f"{len(v)} {r}" for r, v in left.items()) + " |")
    out += ["\n## In-genre dev micro-F1 of the fine-tuned encoder\n",
            "| corrections | " + " | ".join(f"seed {s}" for s in seeds_) + " | mean | rules + model, mean | P / R (model, mean) |",
            "|---|" + "---|" * (len(seeds_) + 3)]
    for label, by_seed in rows.items():
        rs = [by_seed[s] for s in seeds_]
        f1 = [r["model"]["micro_f1"] for r in rs]
        out.append(f"| {label} | " + " | ".join(f"{x:.3f}" for x in f1) + f" | **{statistics.mean(f1):.3f}** | "
                   f"{statistics.mean(r['rules+model']['micro_f1'] for r in rs):.3f} | "
                   f"{statistics.mean(r['model']['precision'] for r in rs):.3f} / {statistics.mean(r['model']['recall'] for r in rs):.3f} |")
    out += ["\n## The same labels, TF-IDF char n-grams + logistic regression\n",
            "| corrections | model micro-F1 | rules + model |", "|---|---|---|"]
    for label, r in tfidf.items():
        out.append(f"| {label} | {r['model']['micro_f1']:.3f} | {r['rules+model']['micro_f1']:.3f} |")
    atomic_write_text(args.out / f"{args.name}.md", "\n".join(out) + "\n")
    print("\n".join(out))


if __name__ == "__main__":
    main()
