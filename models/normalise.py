"""Raw report text -> canonical simplified text, with a map back to the original characters.

Scraped reports mix traditional and simplified script, carry pinyin readings after characters
(`維護(hù)`), stacked punctuation left by bad conversions (`,,` `,、` `,。`), injected spam tokens
and half-width punctuation.  Every step below is an edit on an `AlignedText`, which remembers for
each output character the span of the original text it came from, so that evidence found in the
normalised text can be shown on the characters the user actually has.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Callable

import yaml

HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
# A pinyin reading: latin letters with at least one tone mark, in half- or full-width brackets.
# The tone mark is what separates `(hù)` from `(一)`, `(市)`, `(2018-2020年)`; no Han character is
# required before it because the seeds also garble the character itself (`殚L(zhǎng)`).
PINYIN = re.compile(rf"[(（][a-zü]*[{TONED}][a-zü{TONED}]*[)）]")
# A comma (or enumeration comma) directly before another mark is a conversion artifact: `,、` `,。` `,,`.
STACKED = re.compile(r"[，、](?=[，、。；：！？])|([。；：！？])\1+")
ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
INLINE_SPACE = re.compile(r"[ \t\u00a0\u3000]+")
SPACE_NEAR_CJK = re.compile(rf"(?<=[{HAN}，。、；：！？（）“”‘’《》])[ ]|[ ](?=[{HAN}，。、；：！？（）“”‘’《》])")
FULLWIDTH_ALNUM = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
# Half-width marks used as Chinese punctuation; digits on both sides mean a number (1,000 / 10:30).
HALF_TO_FULL = re.compile(r"(?<!\d),|,(?!\d)|;|(?<!\d):|:(?!\d)|\?|!|\(|\)")
FULL_OF = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}


@dataclass(frozen=True)
class NormaliseConfig:
    """Which normalisation steps run, and with what data.  Every field has a default."""

    to_simplified: bool = True
    opencc_config: str = "t2s"          # OpenCC profile: t2s handles mixed traditional/simplified input
    strip_pinyin: bool = True
    spam_tokens: tuple[str, ...] = ("体球网",)  # matched after conversion to simplified
    unify_punctuation: bool = True      # half-width Chinese punctuation -> full-width, full-width digits -> ASCII
    collapse_punctuation: bool = True
    unify_whitespace: bool = True

    @classmethod
    def from_dict(cls, data: dict) -> "NormaliseConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown normalisation setting(s) {sorted(unknown)}; expected some of {sorted(known)}")
        data = dict(data)
        if "spam_tokens" in data:
            data["spam_tokens"] = tuple(data["spam_tokens"])
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | Path) -> "NormaliseConfig":
        return cls.from_dict(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})

    def to_dict(self) -> dict:
        data = asdict(self)
        data["spam_tokens"] = list(self.spam_tokens)
        return data


@dataclass
class AlignedText:
    """Text plus, per character, the [start, end) span of the original it was made from."""

    text: str
    starts: list[int] = field(repr=False)
    ends: list[int] = field(repr=False)

    @classmethod
    def of(cls, original: str) -> "AlignedText":
        return cls(original, list(range(len(original))), list(range(1, len(original) + 1)))

    def sub(self, pattern: re.Pattern, repl: str | Callable[[re.Match], str]) -> "AlignedText":
        text, starts, ends, last = [], [], [], 0
        for m in pattern.finditer(self.text):
            text.append(self.text[last:m.start()])
            starts += self.starts[last:m.start()]
            ends += self.ends[last:m.start()]
            new = repl if isinstance(repl, str) else repl(m)
            if len(new) == m.end() - m.start():
                starts += self.starts[m.start():m.end()]
                ends += self.ends[m.start():m.end()]
            elif new:
                # A rewrite of different length: every new character stands for the whole match.
                starts += [self.starts[m.start()]] * len(new)
                ends += [self.ends[m.end() - 1]] * len(new)
            text.append(new)
            last = m.end()
        text.append(self.text[last:])
        starts += self.starts[last:]
        ends += self.ends[last:]
        return AlignedText("".join(text), starts, ends)

    def convert(self, func: Callable[[str], str]) -> "AlignedText":
        """Apply a whole-text conversion (OpenCC), aligning its output back by diffing."""
        new = func(self.text)
        if len(new) == len(self.text):
            return AlignedText(new, list(self.starts), list(self.ends))
        starts, ends = [], []
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, self.text, new, autojunk=False).get_opcodes():
            if tag == "equal" or (i2 - i1) == (j2 - j1):
                starts += self.starts[i1:i2]
                ends += self.ends[i1:i2]
            elif j2 > j1:
                lo = self.starts[i1] if i2 > i1 else (self.ends[i1 - 1] if i1 else 0)
                hi = self.ends[i2 - 1] if i2 > i1 else lo
                starts += [lo] * (j2 - j1)
                ends += [hi] * (j2 - j1)
        return AlignedText(new, starts, ends)


@dataclass(frozen=True)
class NormalisedText:
    """The canonical text of a report and the way back to its original characters."""

    text: str
    original: str = field(repr=False)
    starts: tuple[int, ...] = field(repr=False)
    ends: tuple[int, ...] = field(repr=False)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalised text to the span of the original it covers."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span [{start}, {end}) is outside the normalised text of length {len(self.text)}")
        if start == end:
            pos = self.starts[start] if start < len(self.text) else len(self.original)
            return pos, pos
        return self.starts[start], self.ends[end - 1]


@lru_cache(maxsize=4)
def _opencc(profile: str):
    import opencc

    return opencc.OpenCC(profile)


def normalise(raw: str, config: NormaliseConfig | None = None) -> NormalisedText:
    """Canonical simplified text of a raw report, with its offset map.

    >>> normalise("堅決維護(hù),,民政(一)").text
    '坚决维护，民政（一）'
    """
    config = config or NormaliseConfig()
    t = AlignedText.of(raw)
    t = t.sub(re.compile(r"\r\n?"), "\n")
    t = t.sub(ZERO_WIDTH, "")
    if config.to_simplified:
        t = t.convert(_opencc(config.opencc_config).convert)
    if config.strip_pinyin:
        t = t.sub(PINYIN, "")
    if config.spam_tokens:
        t = t.sub(re.compile("|".join(map(re.escape, config.spam_tokens))), "")
    if config.unify_punctuation:
        t = t.sub(FULLWIDTH_ALNUM, lambda m: chr(ord(m.group()) - 0xFEE0))
        t = t.sub(HALF_TO_FULL, lambda m: FULL_OF[m.group()])
    if config.collapse_punctuation:
        t = t.sub(STACKED, lambda m: m.group(1) or "")
    if config.unify_whitespace:
        t = t.sub(INLINE_SPACE, " ")
        t = t.sub(SPACE_NEAR_CJK, "")
        t = t.sub(re.compile(r"^ +| +$", re.M), "")
    return NormalisedText(t.text, raw, tuple(t.starts), tuple(t.ends))
