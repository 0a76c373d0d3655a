"""The `policy-tagger` command: a thin typer layer over the plain functions of models/, training/ and eval/."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer(help="Tag the paragraphs of Chinese civil-affairs (民政) work reports with policy themes.", no_args_is_help=True)


@app.callback()
def _root() -> None:
    """Keeps every command a subcommand (typer would flatten a single command)."""


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _report_skipped(skipped) -> None:
    for err in skipped:
        typer.secho(f"skipped {err.path}: {err.problem}", fg=typer.colors.YELLOW, err=True)


@app.command()
def segment(
    paths: List[Path] = typer.Argument(..., help="Report files or folders (.txt .md .docx .html)."),
    out: Optional[Path] = typer.Option(None, help="Write paragraphs as JSONL here instead of printing a table."),
    max_bytes: int = typer.Option(20 * 1024 * 1024, help="Skip files larger than this."),
) -> None:
    """Normalise and segment reports: paragraphs with kind, heading and sentence count."""
    from models import load_documents
    from models.atomic import atomic_write_text

    docs, skipped = load_documents(paths, max_bytes=max_bytes)
    _report_skipped(skipped)
    if not docs:
        _fail("no readable report among the given paths")
    if out:
        rows = []
        for doc in docs:
            for p in doc.paragraphs:
                rows.append(json.dumps({
                    "doc_id": p.doc_id, "index": p.index, "kind": p.kind, "level": p.level, "heading": p.heading,
                    "text": p.text, "sentences": [[s.start, s.end] for s in p.sentences],
                    "original_span": list(doc.original_span(p)),
                }, ensure_ascii=False))
        atomic_write_text(out, "\n".join(rows) + "\n")
        typer.echo(f"{sum(len(d.paragraphs) for d in docs)} paragraphs of {len(docs)} report(s) -> {out}")
        return
    for doc in docs:
        typer.secho(f"\n{doc.doc_id}  ({len(doc.paragraphs)} paragraphs, {len(doc.text):,} characters)", bold=True)
        for p in doc.paragraphs:
            text = p.text if len(p.text) <= 60 else p.text[:59] + "…"
            typer.echo(f"{p.index:4d}  {p.kind:<9}  {len(p.sentences):3d} sent  {text}")
    typer.echo(f"\n{len(docs)} report(s), {len(skipped)} skipped")


rules_app = typer.Typer(help="Inspect the labeling rules.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

# models.rules.DEFAULT_RULES, training.dataset's DEFAULT_UNITS and CORPUS_NEGATIVES, not imported: the CLI starts without torch
DEFAULT_RULES = Path(__file__).resolve().parent / "models" / "themes.yaml"
DEFAULT_UNITS = "paragraphs+sentences"
CORPUS_NEGATIVES = 1500


def _load_rule_set(path: Path):
    from models.rules import RuleConfigError, RuleSet

    try:
        return RuleSet.load(path)
    except RuleConfigError as err:
        _fail(str(err))


def _load_docs(paths, max_bytes: int = 20 * 1024 * 1024):
    from models import load_documents

    docs, skipped = load_documents(paths, max_bytes=max_bytes)
    _report_skipped(skipped)
    if not docs:
        _fail("no readable report among the given paths")
    return docs


@rules_app.command("report")
def rules_report(
    paths: List[Path] = typer.Argument(None, help="Reports to run the rules on (default: seeds/)."),
    gold: Optional[Path] = typer.Option(None, help="Gold JSONL for these reports: adds precision and recall per rule and theme."),
    rules: Path = typer.Option(DEFAULT_RULES, help="Themes-and-rules file."),
    method: str = typer.Option("weighted_vote", help="Aggregation: weighted_vote or label_model."),
    out: Optional[Path] = typer.Option(None, help="Also write the report (Markdown) here."),
) -> None:
    """Coverage, overlaps, conflicts and (with --gold) precision/recall of every rule and theme."""
    from models.atomic import atomic_write_text
    from training.aggregate import aggregate
    from training.analysis import format_report
    from models.rules import apply_rules, paragraphs_of

    rule_set = _load_rule_set(rules)
    docs = _load_docs(paths or [Path(__file__).resolve().parent / "seeds"])
    if gold:
        from eval.gold import GoldError, align, load_gold

        try:
            paragraphs, y = align(load_gold(gold, rule_set.theme_ids), docs, rule_set.theme_ids)
        except GoldError as err:
            _fail(str(err))
    else:
        paragraphs, y = paragraphs_of(docs), None
    votes = apply_rules(rule_set, paragraphs)
    proba = aggregate(votes, rule_set, [p.kind for p in paragraphs], method=method)
    report = format_report(votes, proba, rule_set, y)
    typer.echo(report)
    if out:
        atomic_write_text(out, report + "\n")


@app.command()
def label(
    paths: List[Path] = typer.Argument(..., help="Report files, folders or JSONL corpora; each argument is one source for the split."),
    out: Path = typer.Option(..., help="Folder for the DatasetDict (train/validation by document)."),
    corrections: List[Path] = typer.Option([], help="JSONL of corrected labels: {doc_id, index, labels, hash?} per line."),
    rules: Path = typer.Option(DEFAULT_RULES, help="Themes-and-rules file."),
    method: str = typer.Option("weighted_vote", help="Aggregation: weighted_vote or label_model."),
    validation_fraction: float = typer.Option(0.2, help="Share of each source's documents held out for validation."),
    seed: int = typer.Option(13, help="Seed of the document split."),
    units: str = typer.Option(DEFAULT_UNITS, help="paragraphs+sentences (each sentence of a paragraph is also a training unit, labelled on its own) or paragraphs."),
    corpus: List[Path] = typer.Option([], help="A large corpus, mostly about other subjects (JSONL or folder; repeatable): its rule-labelled "
                                                "paragraphs and --corpus-negatives of the rest join the training split."),
    corpus_negatives: int = typer.Option(CORPUS_NEGATIVES, help="Paragraphs with no weak label drawn from the corpora."),
) -> None:
    """Weak-label reports with the rules and write the training dataset."""
    from training.dataset import build_dataset, load_corrections, save_dataset, summarise

    rule_set = _load_rule_set(rules)
    groups = [_load_docs([p]) for p in paths]
    corpora = [_load_docs([p]) for p in corpus]
    fixes = [c for f in corrections for c in load_corrections(f, rule_set.theme_ids)]
    try:
        dd = build_dataset(groups, rule_set, method=method, corrections=fixes, validation_fraction=validation_fraction, seed=seed,
                           units=units, corpora=corpora, corpus_negatives=corpus_negatives, progress=True)
    except ValueError as err:
        _fail(str(err))
    save_dataset(dd, out, rule_set, method=method, sources=[str(p) for p in paths], seed=seed, validation_fraction=validation_fraction, units=units,
                 corpora=[str(p) for p in corpus], corpus_negatives=corpus_negatives, corrections=fixes)
    typer.echo(summarise(dd, rule_set.theme_ids))
    typer.echo(f"dataset -> {out}")


def _is_dataset(path: Path) -> bool:
    return (path / "labeling.json").is_file()


@app.command("train")
def train_command(
    data: List[Path] = typer.Option(..., "--data", help="A dataset folder from `label`, or report folders/files/corpora to label now (repeatable)."),
    out: Path = typer.Option(..., help="Model folder to write (replaced whole only when the new one is complete)."),
    corrections: List[Path] = typer.Option([], help="JSONL of corrected labels (with report folders in --data)."),
    init_from: Optional[Path] = typer.Option(None, help="Continue from this model folder instead of the base model."),
    config: Optional[Path] = typer.Option(None, help="JSON of TrainingConfig settings (see training/config.py)."),
    base_model: Optional[str] = typer.Option(None, help="Override the base model: a local checkpoint folder or a hub id."),
    epochs: Optional[int] = typer.Option(None, help="Override the number of epochs."),
    rules: Path = typer.Option(DEFAULT_RULES, help="Themes-and-rules file (when labelling report folders)."),
    units: str = typer.Option(DEFAULT_UNITS, help="Training units when labelling report folders: paragraphs+sentences or paragraphs."),
    corpus: List[Path] = typer.Option([], help="A large corpus added to the training side (as `label --corpus`; with report folders in --data)."),
) -> None:
    """Fine-tune the classifier on weak labels (and corrections); writes a self-sufficient model folder."""
    import dataclasses

    from training.config import TrainingConfig
    from training.train import train

    cfg = TrainingConfig.from_file(config) if config else TrainingConfig()
    overrides = {k: v for k, v in {"base_model": base_model, "epochs": epochs}.items() if v is not None}
    cfg = dataclasses.replace(cfg, **overrides) if overrides else cfg
    if len(data) == 1 and _is_dataset(data[0]):
        if corrections or corpus:
            _fail("--corrections and --corpus apply when labelling: pass report folders to --data, or give them to `policy-tagger label`")
        dataset = data[0]
    else:
        if any(_is_dataset(d) for d in data):
            _fail("give either one dataset folder or report folders to --data, not a mix")
        dataset = out.with_name(out.name + ".dataset")
        label(paths=data, out=dataset, corrections=corrections, rules=rules, method="weighted_vote", validation_fraction=0.2, seed=cfg.seed, units=units,
              corpus=corpus, corpus_negatives=CORPUS_NEGATIVES)
    try:
        folder = train(dataset, out, config=cfg, init_from=init_from)
    except (ValueError, FileNotFoundError) as err:
        _fail(str(err))
    typer.echo(f"model -> {folder}  (model card: {folder / 'README.md'})")


@app.command()
def tag(
    paths: List[Path] = typer.Argument(..., help="Report files or folders."),
    model: Optional[Path] = typer.Option(None, help="Model folder (default: the embedded default model, trained on first use)."),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl, csv, md or html."),
    out: Optional[Path] = typer.Option(None, help="Output file, or a folder (one file per format run). Default: print to stdout."),
    quantize: Optional[bool] = typer.Option(None, "--quantize/--no-quantize",
                                            help="int8 weights for the linear layers (default: on with onnx, off with torch)."),
    backend: str = typer.Option("onnx", help="onnx (default): ONNX Runtime, the model exported into its folder on first use (seconds); "
                                             "torch: PyTorch."),
    decision: str = typer.Option("rules+model", help="rules+model (default, the best on the in-genre dev gold): the rules' vote, with the "
                                                      "model adding what they miss and dropping the rule positives it scores below the folder's keep lines; "
                                                      "model: the model's thresholds decide; rules: the rules' vote decides."),
    max_bytes: int = typer.Option(20 * 1024 * 1024, help="Skip files larger than this."),
) -> None:
    """Tag every paragraph of the given reports with its themes, scores and evidence."""
    from models.atomic import atomic_write_text
    from models.render import FORMATS, render
    from models.tagger import Tagger

    if fmt not in FORMATS:
        _fail(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    docs = _load_docs(paths, max_bytes)
    if model is None:
        from training.default_model import ensure_default_model

        model = ensure_default_model()
    try:
        tagger = Tagger.load(model, quantize=backend == "onnx" if quantize is None else quantize, decision=decision, backend=backend)
    except (FileNotFoundError, ValueError) as err:
        _fail(str(err))
    tagged = tagger.tag_documents(docs, progress=True)
    text = render(tagged, fmt, {t: tagger.model.meta.theme_names.get(t, t) for t in tagger.model.themes})
    if out is None:
        sys.stdout.write(text)
        return
    target = out / f"tags.{fmt}" if (out.is_dir() or not out.suffix) else out
    atomic_write_text(target, text)
    n = sum(len(d.paragraphs) for d in tagged)
    typer.echo(f"{n} paragraphs of {len(tagged)} report(s) -> {target}", err=True)


review_app = typer.Typer(help="The review loop with Label Studio: export paragraphs worth correcting, import the corrections.",
                         no_args_is_help=True)
app.add_typer(review_app, name="review")
GOLD_DIR = Path(__file__).resolve().parent / "eval" / "gold"


@review_app.command("export")
def review_export(
    paths: List[Path] = typer.Argument(..., help="Report files or folders (or FOLDER:SPLIT) to choose paragraphs from."),
    out: Path = typer.Option(..., help="Label Studio tasks (JSON); the labeling config is written beside it as OUT.config.xml."),
    model: Optional[Path] = typer.Option(None, help="Model folder whose themes pre-annotate the tasks (default: the default model)."),
    select: str = typer.Option("disagree", help="disagree (rules and model tag different themes: the best on the in-genre dev gold, "
                                                "eval/results/selection.md), uncertain (scores nearest the thresholds), random, or all."),
    limit: Optional[int] = typer.Option(200, help="At most this many paragraphs, spread over the documents."),
    corrections: List[Path] = typer.Option([], help="Corrections already made (JSONL, repeatable): never offered again."),
    gold: List[Path] = typer.Option([], help="Gold files whose paragraphs are never offered (default: every file under eval/gold/)."),
    decision: str = typer.Option("rules+model", help="Who decides the pre-annotated themes: rules+model, model or rules (as `tag`)."),
    seed: int = typer.Option(0, help="Seed of --select random."),
    max_bytes: int = typer.Option(20 * 1024 * 1024, help="Skip files larger than this."),
) -> None:
    """Write Label Studio tasks, pre-annotated with the model's themes, for the paragraphs most worth a person's reading."""
    from models.atomic import atomic_write_text
    from models.modeling import RULES_FILE
    from models.tagger import DECISIONS, Tagger
    from training.review import SELECTIONS, Exclusion, ReviewError, labeling_config, score_pool, tasks
    from training.review import select as choose

    if select not in SELECTIONS:
        _fail(f"unknown selection {select!r}; choose one of {', '.join(SELECTIONS)}")
    if decision not in DECISIONS:
        _fail(f"unknown decision {decision!r}; choose one of {', '.join(DECISIONS)}")
    if limit is not None and limit < 1:
        _fail("--limit must be at least 1")
    docs = _load_docs(paths, max_bytes)
    if model is None:
        from training.default_model import ensure_default_model

        model = ensure_default_model()
    try:
        tagger = Tagger.load(model, decision=decision, rules=None if (model / RULES_FILE).is_file() else _load_rule_set(DEFAULT_RULES))
        exclude = [Exclusion.from_jsonl(f, "already corrected") for f in corrections]
        exclude += [Exclusion.from_jsonl(f, "in a gold set") for f in (gold or sorted(GOLD_DIR.rglob("*.jsonl")))]
        pool = score_pool(tagger, docs, progress=True)
    except (FileNotFoundError, ReviewError, ValueError) as err:
        _fail(str(err))
    selection = choose(pool, select, limit=limit, exclude=exclude, seed=seed)
    if not selection.chosen:
        _fail("no paragraph to review: " + selection.summary().replace("\n", ";"))
    version = f"{model.name} ({(tagger.model.meta.extra.get('recipe') or {}).get('sha256') or 'policy-tagger'}; decision {decision})"
    config_file = out.with_name(out.stem + ".config.xml")
    atomic_write_text(out, json.dumps(tasks(pool, selection, tagger.rule_set, how=select, model_version=version), ensure_ascii=False, indent=1))
    atomic_write_text(config_file, labeling_config(tagger.rule_set))
    typer.echo(selection.summary(), err=True)
    typer.echo(f"{len(selection.chosen)} task(s) from {len({pool.items[i][0].doc_id for i in selection.chosen})} report(s) -> {out}\n"
               f"labeling config -> {config_file} (Label Studio: Settings > Labeling Interface > Code)", err=True)


@review_app.command("import")
def review_import(
    export: Path = typer.Argument(..., help="A Label Studio project export in its JSON format (Export > JSON)."),
    out: Path = typer.Option(..., help="Corrections JSONL to write, ready for `train --corrections`."),
    rules: Path = typer.Option(DEFAULT_RULES, help="Themes-and-rules file the labels are checked against."),
) -> None:
    """Turn a Label Studio export (the latest submitted annotation of each task) into corrections."""
    from models.atomic import atomic_write_text
    from training.review import ReviewError, corrections_jsonl, read_annotations

    rule_set = _load_rule_set(rules)
    if not export.is_file():
        _fail(f"{export}: no such file")
    try:
        imported = read_annotations(export, rule_set)
    except ReviewError as err:
        _fail(str(err))
    for line in imported.summary().splitlines()[1:]:
        typer.secho(f"not imported: {line.strip()}", fg=typer.colors.YELLOW, err=True)
    if not imported.corrections:
        _fail(f"{export}: no task has a usable annotation; nothing written")
    atomic_write_text(out, corrections_jsonl(imported.corrections))
    typer.echo(f"{len(imported.corrections)} correction(s) -> {out}", err=True)


@app.command()
def evaluate(
    predictor: List[str] = typer.Option(["rules", "label_model", "tfidf", "encoder", "rules_tfidf", "rules_encoder"],
                                        help="rules, label_model, tfidf, encoder, rules_tfidf, rules_encoder, default_model, rules_default_model (repeatable); "
                                             "rules_X: the rules, with model X adding what they miss."),
    protocol: List[str] = typer.Option(["in_genre", "lodo", "out_of_genre"],
                                       help="in_genre (civil-affairs dev and test gold), lodo (seeds) and/or out_of_genre (repeatable)."),
    extra: List[Path] = typer.Option([], help="Unlabelled reports or corpora added as weakly labelled training data."),
    corrections: List[Path] = typer.Option([], help="JSONL of people's labels for paragraphs of --extra (as `train --corrections`): "
                                                     "the encoder trains on them instead of the weak labels."),
    config: Optional[Path] = typer.Option(None, help="TrainingConfig JSON for the encoder."),
    units: str = typer.Option(DEFAULT_UNITS, help="Training units of the encoder: paragraphs+sentences or paragraphs (as `label --units`)."),
    gold: Optional[Path] = typer.Option(None, help="Your own gold JSONL: score the rules and --model on --docs instead."),
    docs: Optional[Path] = typer.Option(None, help="The reports your --gold file annotates."),
    model: Optional[Path] = typer.Option(None, help="Model folder to score with --gold (default: the default model)."),
    out: Path = typer.Option(Path(__file__).resolve().parent / "eval" / "results", help="Folder for the Markdown and JSON report."),
    name: str = typer.Option("report", help="File name (without extension) of the report."),
) -> None:
    """Score predictors against gold labels: the protocols on the shipped gold, or your own gold file."""
    from eval.gold import GoldError
    from eval.run import evaluate_protocols, evaluate_user_gold, write

    command = "policy-tagger evaluate " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else "policy-tagger evaluate"
    try:
        if gold:
            if docs is None:
                _fail("--gold needs --docs: the folder of the reports it annotates")
            if model is None:
                from training.default_model import ensure_default_model

                model = ensure_default_model()
            results = evaluate_user_gold(gold, docs, model)
        else:
            from training.config import TrainingConfig
            from training.dataset import load_corrections
            from models.rules import RuleSet

            cfg = TrainingConfig.from_file(config) if config else None
            fixes = [c for f in corrections for c in load_corrections(f, RuleSet.load().theme_ids)]
            results = evaluate_protocols(predictors=predictor, protocols=protocol, extra=extra, encoder_config=cfg, units=units,
                                         corrections=fixes, log=lambda m: typer.echo(m, err=True))
    except (GoldError, ValueError, FileNotFoundError) as err:
        _fail(str(err))
    md, js = write(results, out, name=name, command=command)
    typer.echo(md.read_text(encoding="utf-8"))
    typer.echo(f"report -> {md} and {js}", err=True)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":
    main()
