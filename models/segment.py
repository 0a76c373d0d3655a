"""Split normalised report text into paragraphs and sentences, and mark the structure a reader sees.

A paragraph is one non-empty line (taxonomy.md, "Units").  Each is classified as a heading, a
list item, a body paragraph or a non-content line (byline, source, date, signature, addressee),
knows the heading it sits under, and carries its sentences with offsets, so that evidence can be
pointed at inside a 2,000-character paragraph.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

CN_NUM = "一二三四五六七八九十百零〇"
# Enumerators, outermost first: the level decides which heading a later paragraph sits under.
ENUMERATORS = [
    (1, re.compile(rf"^第[{CN_NUM}]+[部分章节篇]")),
    (2, re.compile(rf"^[{CN_NUM}]+[、．.]")),
    (3, re.compile(rf"^（[{CN_NUM}]+）")),
    (4, re.compile(r"^\d{1,2}[、．.](?!\d)")),
    (5, re.compile(r"^（\d{1,2}）")),
    (6, re.compile(r"^[①-⑳]")),
]
SHORT_TITLE_LEVEL = 2      # an unnumbered title line ranks with `一、`
MAX_HEADING_CHARS = 40
MAX_INLINE_TITLE_CHARS = 20
INLINE_TITLE_LEVELS = 4    # `（一）高度重视。…` titles what follows; `①…。` is just a first sentence
META = [
    re.compile(r"^[◎●○■□▲△★☆]\s*\S{1,12}$"),                 # byline: ◎柳望春
    re.compile(r"^（[^（）]*(来源|来自|作者|记者|通讯员|提供|供稿|责任编辑|编辑)[^（）]*）$"),
    re.compile(r"^(来源|作者|记者|通讯员|责任编辑|编辑)[：:]"),
    re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日$"),                 # date line
    # who answers for a task, in a work plan: `（2）责任领导：罗琼华`, `（4）市民政局责任科室：社会救助科`
    re.compile(r"^(（\d{1,2}）)?[^：。；]{0,8}(责任领导|责任科室|责任处室|责任单位|牵头单位|配合单位|联系人)[：:][^。；]{1,60}$"),
]
ADDRESSEE = re.compile(r"^[^。；：！？]{2,60}：$")             # 各县（区）民政局，……：  (first lines only)
FIELD = re.compile(r"^.{1,12}：.+")                            # 责任领导：罗琼华 — a field, not a title
SIGNATURE = re.compile(r"^[^，。；：！？\d]{2,20}(局|厅|部|委员会|委|办公室|政府|中心|协会)$")
SENTENCE_END = re.compile(r"[^。！？；]*[。！？；]+[”’」』）]*|[^。！？；]+$")


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int   # offsets into the paragraph text
    end: int


@dataclass(frozen=True)
class Paragraph:
    doc_id: str
    index: int            # position among the document's non-empty lines
    text: str
    start: int            # offsets into the normalised document text
    end: int
    kind: str             # "heading" | "list_item" | "body" | "meta"
    level: int | None     # heading level for headings and numbered items
    heading: str | None   # the innermost heading this paragraph sits under (itself excluded)
    heading_path: tuple[str, ...] = ()
    sentences: tuple[Sentence, ...] = field(default=(), repr=False)


def split_sentences(text: str) -> tuple[Sentence, ...]:
    """Sentences end at 。！？； (with closing quotes/brackets kept) or at the end of the text."""
    out = []
    for m in SENTENCE_END.finditer(text):
        if m.group().strip():
            out.append(Sentence(m.group(), m.start(), m.end()))
    return tuple(out)


def _enumerator_level(line: str) -> int | None:
    for level, pattern in ENUMERATORS:
        if pattern.match(line):
            return level
    return None


def classify(line: str, *, first_lines: bool = False, last_lines: bool = False) -> tuple[str, int | None]:
    """(kind, level) of one normalised line; `first_lines`/`last_lines` say where it sits in the report."""
    if any(p.match(line) for p in META):
        return "meta", None
    level = _enumerator_level(line)
    if level is None and ((first_lines and ADDRESSEE.match(line)) or (last_lines and SIGNATURE.match(line))):
        return "meta", None
    # A title has no sentence inside it; a closing 。 is tolerated only on a very short one: `（一）牵头工作（共六项）。`
    titled = len(line) <= MAX_HEADING_CHARS and not re.search("[。！？；]", line.rstrip("。")) and not FIELD.match(_strip_enumerator(line))
    if line.endswith("。") and len(line) > 15:
        titled = False
    if level is not None:
        return ("heading" if titled else "list_item"), level
    if titled and not line.endswith(("。", "；", "！", "？")):
        return "heading", SHORT_TITLE_LEVEL
    return "body", None


def _strip_enumerator(line: str) -> str:
    for _, pattern in ENUMERATORS:
        if m := pattern.match(line):
            return line[m.end():]
    return line


def inline_title(paragraph: Paragraph) -> str | None:
    """The title that opens a numbered item: `（一）高度重视。湖北省…` -> `（一）高度重视`."""
    if paragraph.kind != "list_item" or paragraph.level > INLINE_TITLE_LEVELS:
        return None
    first = paragraph.sentences[0].text.rstrip("。！？；")
    if len(first) > MAX_INLINE_TITLE_CHARS or FIELD.match(_strip_enumerator(first)):
        return None
    return first


def segment(doc_id: str, text: str) -> list[Paragraph]:
    """Paragraphs of a normalised document, each with its sentences and the heading above it."""
    lines = [(m.start(), m.end(), m.group()) for m in re.finditer(r"[^\n]+", text) if m.group().strip()]
    paragraphs: list[Paragraph] = []
    stack: list[tuple[int, str]] = []   # open headings, outermost first
    for index, (start, end, line) in enumerate(lines):
        kind, level = classify(line, first_lines=index < 2, last_lines=index >= len(lines) - 3)
        if level is not None:
            # A heading or numbered item closes every open heading at its level or below.
            stack = [(lv, h) for lv, h in stack if lv < level]
        path = tuple(h for _, h in stack)
        para = Paragraph(doc_id, index, line, start, end, kind, level, path[-1] if path else None, path, split_sentences(line))
        paragraphs.append(para)
        if kind == "heading":
            stack.append((level, line))
        elif title := inline_title(para):
            stack.append((level, title))
    return paragraphs
