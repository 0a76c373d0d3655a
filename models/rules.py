"""Themes and labeling rules as data (models/themes.yaml), and applying the rules to paragraphs.

The rules are part of a running model: they label training data, locate a tagged theme's evidence and
take part in the `rules` and `rules+model` decisions, so they live with the code that runs models.

A rule is a small named object in the spirit of snorkel's labeling functions: one paragraph in,
one vote out (POSITIVE for its theme, NEGATIVE for an exclusion, ABSTAIN).  Applying a rule set to
paragraphs gives a vote matrix with one column per rule; a rule that raises counts as a fault
for that rule and as an abstain, and the run goes on.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import yaml
from tqdm.auto import tqdm

from .segment import Paragraph

POSITIVE, ABSTAIN, NEGATIVE = 1, 0, -1
DEFAULT_RULES = Path(__file__).with_name("themes.yaml")
FIELDS = ("text", "heading")
TITLE = re.compile(r"《[^《》]*》")


class RuleConfigError(ValueError):
    """themes.yaml (or a user's copy) does not describe a valid rule set."""


@dataclass(frozen=True)
class Theme:
    id: str
    name: str
    description: str


@dataclass(frozen=True)
class Rule:
    name: str
    theme: str
    pattern: re.Pattern
    vote: int = POSITIVE
    field: str = "text"
    weight: float = 0.9
    unless: re.Pattern | None = None
    outside_titles: bool = False

    def spans(self, paragraph: Paragraph) -> list[tuple[int, int]]:
        """Where in the paragraph text the rule matches (empty for heading rules and exclusions)."""
        if self.field != "text":
            return []
        text = paragraph.text
        if self.outside_titles:
            text = TITLE.sub(lambda m: "\0" * len(m.group()), text)   # keep offsets, hide titles
        return [m.span() for m in self.pattern.finditer(text)]

    def __call__(self, paragraph: Paragraph) -> int:
        if self.field == "heading":
            # A heading speaks for itself (its own words meet the text rules); only what sits under
            # a heading inherits its topic, so a bare `（4）实施方案：` does not.
            fired = paragraph.kind != "heading" and bool(self.pattern.search(heading_context(paragraph)))
        else:
            fired = bool(self.spans(paragraph))
        if fired and self.unless is not None and self.unless.search(paragraph.text):
            return ABSTAIN
        return self.vote if fired else ABSTAIN


def heading_context(paragraph: Paragraph) -> str:
    """The two innermost headings: the outer ones (`二、工作重点`) say little about the theme."""
    return " / ".join(paragraph.heading_path[-2:])


@dataclass(frozen=True)
class RuleSet:
    themes: tuple[Theme, ...]
    rules: tuple[Rule, ...]
    no_theme_kinds: tuple[str, ...] = ("meta",)
    source: str = ""
    raw: str = field(default="", repr=False)   # the file's text, hashed into every model trained on it

    @property
    def theme_ids(self) -> list[str]:
        return [t.id for t in self.themes]

    def rules_for(self, theme: str) -> list[Rule]:
        return [r for r in self.rules if r.theme == theme]

    @classmethod
    def load(cls, path: str | Path = DEFAULT_RULES) -> "RuleSet":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise RuleConfigError(f"{path}: cannot read the rule file ({err})") from err
        return cls.from_text(text, source=str(path))

    @classmethod
    def from_text(cls, text: str, *, source: str = "<text>") -> "RuleSet":
        """A rule file's YAML text (as a model folder or a dataset keeps it)."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise RuleConfigError(f"{source}: cannot read the rule file ({err})") from err
        return cls.from_dict(data, source=source, raw=text)

    @classmethod
    def from_dict(cls, data: dict, *, source: str = "<dict>", raw: str = "") -> "RuleSet":
        def fail(message: str):
            raise RuleConfigError(f"{source}: {message}")

        if not isinstance(data, dict) or "themes" not in data or "rules" not in data:
            fail("expected a mapping with `themes` and `rules` lists")
        themes = []
        for i, t in enumerate(data["themes"] or []):
            missing = {"id", "name", "description"} - set(t or {})
            if missing:
                fail(f"theme #{i + 1} lacks {sorted(missing)}")
            themes.append(Theme(str(t["id"]), str(t["name"]), str(t["description"])))
        ids = [t.id for t in themes]
        if dupes := [k for k, n in Counter(ids).items() if n > 1]:
            fail(f"duplicate theme id(s) {dupes}")
        if not themes:
            fail("no themes defined")
        rules, names = [], Counter(str((r or {}).get("name")) for r in data["rules"] or [])
        if dupes := [k for k, n in names.items() if n > 1]:
            fail(f"duplicate rule name(s) {dupes}; every rule needs its own name")
        for i, r in enumerate(data["rules"] or []):
            r = r or {}
            name = r.get("name") or fail(f"rule #{i + 1} has no name")
            if "theme" not in r:
                fail(f"rule {name!r} has no theme; give it one of {ids}")
            if r["theme"] not in ids:
                fail(f"rule {name!r} names unknown theme {r['theme']!r}; known themes: {ids}")
            if "pattern" not in r:
                fail(f"rule {name!r} has no pattern")
            vote = {"positive": POSITIVE, "negative": NEGATIVE}.get(r.get("vote", "positive"))
            if vote is None:
                fail(f"rule {name!r}: vote must be 'positive' or 'negative', not {r['vote']!r}")
            if r.get("field", "text") not in FIELDS:
                fail(f"rule {name!r}: field must be one of {FIELDS}, not {r['field']!r}")
            weight = float(r.get("weight", 0.9))
            if not 0 < weight < 1:
                fail(f"rule {name!r}: weight is a prior accuracy and must lie in (0, 1), not {weight}")
            unknown = set(r) - {"name", "theme", "pattern", "vote", "field", "weight", "unless", "outside_titles"}
            if unknown:
                fail(f"rule {name!r}: unknown key(s) {sorted(unknown)}")
            rules.append(Rule(
                name=name, theme=r["theme"], pattern=_compile(r["pattern"], name, "pattern", fail), vote=vote,
                field=r.get("field", "text"), weight=weight,
                unless=_compile(r["unless"], name, "unless", fail) if r.get("unless") else None,
                outside_titles=bool(r.get("outside_titles", False)),
            ))
        for t in ids:
            if not any(r.theme == t and r.vote == POSITIVE for r in rules):
                fail(f"theme {t!r} has no positive rule; it could never be labelled")
        return cls(tuple(themes), tuple(rules), tuple(data.get("no_theme_kinds", ["meta"])), source, raw)


def _compile(pattern: str, rule: str, key: str, fail) -> re.Pattern:
    try:
        return re.compile(str(pattern))
    except re.error as err:
        fail(f"rule {rule!r}: {key} {pattern!r} does not compile ({err})")


@dataclass
class VoteMatrix:
    """Votes of every rule on every paragraph: shape (n_paragraphs, n_rules), values -1/0/+1."""

    votes: np.ndarray
    rules: tuple[Rule, ...]
    faults: dict[str, int]

    def theme_columns(self, theme: str) -> list[int]:
        return [j for j, r in enumerate(self.rules) if r.theme == theme]

    def fired(self, i: int) -> list[str]:
        return [self.rules[j].name for j in np.flatnonzero(self.votes[i])]

    @classmethod
    def from_fired(cls, rule_set: "RuleSet", fired: Sequence[Sequence[str]]) -> "VoteMatrix":
        """The votes again from each paragraph's fired rule names (a dataset row's `rules`); unknown names are ignored."""
        column = {r.name: j for j, r in enumerate(rule_set.rules)}
        votes = np.zeros((len(fired), len(rule_set.rules)), dtype=np.int8)
        for i, names in enumerate(fired):
            for name in names:
                if name in column:
                    votes[i, column[name]] = rule_set.rules[column[name]].vote
        return cls(votes, rule_set.rules, {})


def apply_rules(rule_set: RuleSet, paragraphs: Sequence[Paragraph], *, progress: bool = False) -> VoteMatrix:
    votes = np.zeros((len(paragraphs), len(rule_set.rules)), dtype=np.int8)
    faults: Counter = Counter()
    for i, p in enumerate(tqdm(paragraphs, desc="labelling", unit="para", disable=not progress)):
        for j, rule in enumerate(rule_set.rules):
            try:
                votes[i, j] = rule(p)
            except Exception:  # noqa: BLE001 - a faulty rule must not stop the run (snorkel's faults)
                faults[rule.name] += 1
    return VoteMatrix(votes, rule_set.rules, dict(faults))


def paragraphs_of(documents: Iterable) -> list[Paragraph]:
    return [p for d in documents for p in d.paragraphs]
