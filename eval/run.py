"""The evaluation as one function: every protocol, every predictor, one report under eval/results/."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

from models import load_documents
from training.config import TrainingConfig
from training.dataset import DEFAULT_UNITS, Correction
from training.corpus import REPORT_CORPUS, civil_affairs_documents
from models.rules import RuleSet

from .baselines import EncoderPredictor, RulesAndModelPredictor, RulesPredictor, TextPredictor, TfidfPredictor
from .gold import IN_GENRE_GOLD, OUTGENRE_GOLD, SEED_GOLD, align, load_gold
from .harness import Result, in_genre, leave_one_document_out, out_of_genre, score_predictions, write_report

ROOT = Path(__file__).resolve().parents[1]
PREDICTORS = ("rules", "label_model", "tfidf", "encoder", "rules_tfidf", "rules_encoder")
# The default model as it ships (trained by training/default_recipe.json, never on a dev or test document): scored
# as it is, in genre only (it trained on the seeds and the government reports, the other protocols' held-out text).
SHIPPED_PREDICTORS = ("default_model", "rules_default_model")
PROTOCOLS = ("in_genre", "lodo", "out_of_genre")


def _factories(names: Sequence[str], rule_set: RuleSet, seed_ids, encoder_config: TrainingConfig | None, suffix: str, units: str,
               corrections: Sequence[Correction] = ()):
    def encoder():
        name = "fine-tuned encoder" + (" (paragraph units only)" if units == "paragraphs" else "") + suffix
        return EncoderPredictor(rule_set, encoder_config, seed_docs=seed_ids, units=units, corrections=corrections, name=name)

    def default_model():
        from models.modeling import ThemeModel
        from training.default_model import ensure_default_model

        model = ThemeModel.load(ensure_default_model())
        if model.themes != rule_set.theme_ids:
            raise ValueError(f"the default model's themes {model.themes} differ from the rule file's {rule_set.theme_ids}")
        return TextPredictor("the default model (as shipped)", model.predict_proba, model.thresholds, model.rules_and_model_lines)

    out = []
    for name in names:
        if name == "default_model":
            out.append(default_model)
        elif name == "rules_default_model":
            out.append(lambda: RulesAndModelPredictor(rule_set, default_model()))
        elif name == "rules":
            out.append(lambda: RulesPredictor(rule_set))
        elif name == "label_model":
            out.append(lambda: RulesPredictor(rule_set, "label_model"))
        elif name == "tfidf":
            out.append(lambda: _renamed(TfidfPredictor(), suffix))
        elif name == "encoder":
            out.append(encoder)
        elif name == "rules_tfidf":
            out.append(lambda: RulesAndModelPredictor(rule_set, _renamed(TfidfPredictor(), suffix)))
        elif name == "rules_encoder":   # the encoder fit is shared with the `encoder` row (EncoderPredictor memoises)
            out.append(lambda: RulesAndModelPredictor(rule_set, encoder()))
        else:
            raise ValueError(f"unknown predictor {name!r}; choose from {PREDICTORS + SHIPPED_PREDICTORS}")
    return out


def _renamed(predictor, suffix: str):
    predictor.name = predictor.name + suffix
    return predictor


def evaluate_protocols(*, predictors: Sequence[str] = PREDICTORS, protocols: Sequence[str] = PROTOCOLS, extra: Sequence[Path] = (),
                       encoder_config: TrainingConfig | None = None, units: str = DEFAULT_UNITS, corrections: Sequence[Correction] = (),
                       log=print) -> list[Result]:
    """Every predictor under each protocol.  `corrections` (people's labels for paragraphs of `extra`, never of a
    gold set) replace those paragraphs' weak labels in the encoder's training data.

    In genre, the corpus's `train` documents join the training side as reports do (`policy-tagger train --data`: all
    their paragraphs train, whole documents validate); its `dev` and `test` documents are only scored.
    """
    if unknown := set(protocols) - set(PROTOCOLS):
        raise ValueError(f"unknown protocol(s) {sorted(unknown)}; choose from {PROTOCOLS}")
    if shipped := sorted(set(predictors) & set(SHIPPED_PREDICTORS)):
        if "in_genre" not in protocols:
            raise ValueError(f"{shipped} can be scored in genre only: the default model trained on the seeds and the government reports")
        if set(protocols) - {"in_genre"}:
            log(f"{shipped}: scored in genre only (the default model trained on the other protocols' held-out text)")
    rule_set = RuleSet.load()
    seeds, _ = load_documents([ROOT / "seeds"])
    seed_ids = [d.doc_id for d in seeds]
    extra_docs = load_documents(extra)[0] if extra else []
    suffix = (" + corpus" if extra_docs else "") + (f" + {len(corrections)} corrections" if corrections else "")
    seed_gold, og_gold = load_gold(SEED_GOLD, rule_set.theme_ids), load_gold(OUTGENRE_GOLD, rule_set.theme_ids)
    # The seed gold covers every seed paragraph: corrections may name only paragraphs of the added data outside both gold sets.
    og_keys = {(g.doc_id, g.index) for g in og_gold}
    if clash := [c for c in corrections if c.doc_id in seed_ids or (c.doc_id, c.index) in og_keys]:
        raise ValueError(f"{len(clash)} correction(s) name a seed or gold paragraph (e.g. {clash[0].doc_id}#{clash[0].index}): "
                         "nothing may train on a gold set")
    results = []
    if "in_genre" in protocols:
        genre_train = civil_affairs_documents("train")
        held_out = {split: (civil_affairs_documents(split), load_gold(path, rule_set.theme_ids)) for split, path in IN_GENRE_GOLD.items()}
        held_keys = {(g.doc_id, g.index) for _, gold in held_out.values() for g in gold}
        if clash := [c for c in corrections if (c.doc_id, c.index) in held_keys]:
            raise ValueError(f"{len(clash)} correction(s) name a dev or test paragraph (e.g. {clash[0].doc_id}#{clash[0].index}): "
                             "nothing may train on a gold set")
        # The corpus's train documents are reports of the genre: all their paragraphs train, and whole documents of
        # them validate (early stopping), as `policy-tagger train --data` does with a report folder.
        report_ids = seed_ids + [d.doc_id for d in genre_train]
        for factory in _factories(predictors, rule_set, report_ids, encoder_config, suffix, units, corrections):
            t = time.time()
            results += in_genre(factory, seeds + genre_train, held_out, rule_set, extra=extra_docs, corrections=corrections)
            log(f"genre {results[-1].predictor:45s} micro-F1 dev {results[-2].scores['micro']['f1']:.3f} "
                f"test {results[-1].scores['micro']['f1']:.3f}  ({time.time() - t:.0f} s)")
    predictors = [p for p in predictors if p not in SHIPPED_PREDICTORS]   # in genre only (above)
    if "lodo" in protocols:
        for factory in _factories(predictors, rule_set, seed_ids, encoder_config, suffix, units, corrections):
            t = time.time()
            results.append(leave_one_document_out(factory, seeds, seed_gold, rule_set, extra=extra_docs, corrections=corrections))
            log(f"lodo  {results[-1].predictor:45s} micro-F1 {results[-1].scores['micro']['f1']:.3f}  ({time.time() - t:.0f} s)")
    if "out_of_genre" in protocols:
        test_docs, _ = load_documents([REPORT_CORPUS])
        for factory in _factories(predictors, rule_set, seed_ids, encoder_config, suffix, units, corrections):
            t = time.time()
            results.append(out_of_genre(factory, seeds, test_docs, og_gold, rule_set, extra=extra_docs, corrections=corrections))
            log(f"ood   {results[-1].predictor:45s} micro-F1 {results[-1].scores['micro']['f1']:.3f}  ({time.time() - t:.0f} s)")
    return results


def evaluate_user_gold(gold_file: Path, docs_dir: Path, model_dir: Path | None) -> list[Result]:
    """Score the rules and a trained model on a user's own gold file for their own reports."""
    from models.modeling import ThemeModel

    rule_set = RuleSet.load()
    docs, _ = load_documents([docs_dir])
    paragraphs, y = align(load_gold(gold_file, rule_set.theme_ids), docs, rule_set.theme_ids)
    rules = RulesPredictor(rule_set).fit(paragraphs)
    results = [score_predictions(rules.name, "user_gold", paragraphs, y, rules.predict_proba(paragraphs), rules.thresholds_, rule_set.theme_ids)]
    if model_dir is not None:
        model = ThemeModel.load(model_dir)
        if model.themes != rule_set.theme_ids:
            raise ValueError(f"the model's themes {model.themes} differ from the rule file's {rule_set.theme_ids}")
        p = TextPredictor(f"model {model_dir}", model.predict_proba, model.thresholds)
        results.append(score_predictions(p.name, "user_gold", paragraphs, y, p.predict_proba(paragraphs), p.thresholds_, rule_set.theme_ids))
    return results


def write(results: list[Result], out_dir: Path, *, name: str, command: str) -> tuple[Path, Path]:
    header = (f"# Evaluation report\n\nProduced by `{command}`.\nGold (eval/gold/, annotated by reading against taxonomy.md; see "
              "eval/GUIDELINES.md): `civil_affairs_dev.jsonl` and `civil_affairs_test.jsonl` (every paragraph of the 24 dev and 24 test "
              "documents of training/corpora/civil_affairs_reports/, the genre the tagger is for; dev guides choices, test only "
              "reports), `seeds.jsonl` (all 220 seed paragraphs) and `gwr_sample.jsonl` (200 paragraphs of national government "
              "work reports, another genre). Thresholds come from each predictor's training side only. The rules were refined "
              "against the seed gold (eval/results/rules_seeds.md), so their seed scores are optimistic.\n")
    return write_report(results, RuleSet.load().theme_ids, out_dir, name=name, header=header)
