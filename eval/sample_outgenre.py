"""Draw the out-of-genre gold sample from the government-work-report corpus.

Run once; the keys it writes (title, paragraph index, text hash) are what the gold file stores,
so the corpus itself never enters the repository.  Half the sample is drawn uniformly, half from
paragraphs that mention civil-affairs vocabulary, so that themed and theme-free text are both
well represented (a uniform draw alone would be ~95 % "no theme").

    python eval/sample_outgenre.py --corpus training/corpora/government_work_reports.jsonl
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from pathlib import Path

SEED = 20261123
SIZE = 200
MIN_CHARS = 30
# Stratification only: chosen to find paragraphs near the civil-affairs field, never to label them.
VOCAB = re.compile(
    "低保|最低生活保障|救助|特困|五保|孤儿|儿童|留守|养老|老年|老龄|残疾|社会组织|慈善|社会工作|志愿|"
    "村民自治|居民自治|社区|基层|殡葬|婚姻|区划|地名|扶贫|帮扶|对口|救灾|优抚|民政|福利|疫情"
)


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def corpus_paragraphs(path: Path):
    """Yield (title, index, text): index counts the non-empty lines of one report."""
    with path.open(encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            lines = [l.strip() for l in record["content"].split("\n") if l.strip()]
            for index, text in enumerate(lines):
                yield record["title"], index, text


def key_by_segmenter(rows: list[dict], path: Path) -> list[dict]:
    """Re-key drawn lines by the project's own paragraphs: index among the normalised document's
    paragraphs and the hash of the normalised text (what eval/gold.py checks).  Raw line numbers
    differ where a report has `\r` inside a line or lines of invisible characters."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from models import load_documents, normalise
    from training.dataset import text_hash as normalised_hash

    docs = {d.doc_id: d for d in load_documents([path])[0]}
    out = []
    for row in rows:
        target = normalise(row["text"]).text
        matches = [p for p in docs[row["title"]].paragraphs if p.text == target]
        if len(matches) != 1:
            raise ValueError(f"{row['title']}: line {row['index']} matches {len(matches)} paragraphs after normalisation")
        out.append({**row, "raw_index": row["index"], "index": matches[0].index, "hash": normalised_hash(matches[0].text)})
    return out


def sample(path: Path, *, seed: int = SEED, size: int = SIZE) -> list[dict]:
    pool = [p for p in corpus_paragraphs(path) if len(p[2]) >= MIN_CHARS]
    themed = [p for p in pool if VOCAB.search(p[2])]
    rng = random.Random(seed)
    by_vocab = rng.sample(themed, size // 2)
    chosen = set(by_vocab)
    at_random = rng.sample([p for p in pool if p not in chosen], size - len(by_vocab))
    picked = [(p, "vocab") for p in by_vocab] + [(p, "random") for p in at_random]
    rng.shuffle(picked)
    return [
        {"title": t, "index": i, "hash": text_hash(x), "stratum": stratum, "text": x}
        for (t, i, x), stratum in picked
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("training/corpora/government_work_reports.jsonl"))
    parser.add_argument("--out", type=Path, required=True, help="JSONL of sampled paragraphs (with their text, for annotation: keep it out of the repository)")
    args = parser.parse_args()
    rows = key_by_segmenter(sample(args.corpus), args.corpus)
    with args.out.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} paragraphs -> {args.out}")


if __name__ == "__main__":
    main()
