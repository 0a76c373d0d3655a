"""Text of a PDF report: its text layer, page by page, with the lines the layout broke joined back into paragraphs.

A PDF stores lines, not paragraphs.  Chinese reports break a paragraph wherever the line is full, so a full line
joins the next unless it ends a sentence or clause (。！？；：” and their kin) or the next line starts a heading or a
numbered item; a line well short of full (a heading, a title, a paragraph's last line) ends its paragraph.  Page headers and footers (a line repeated at the top or bottom of most pages) and page numbers
("- 3 -", "第3页", "第3页 共8页", "3") are dropped.  A PDF with no text layer (a scan) is an error, not an empty report.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from .segment import ENUMERATORS

LINE_ENDS = tuple("。！？；：”’」』）)!?;:")
PAGE_NUMBER = re.compile(r"^[-—–\s]*(第?\s*\d{1,4}\s*页?(\s*[/／]\s*\d{1,4})?(\s*共\s*\d{1,4}\s*页)?|\d{1,4}\s*/\s*\d{1,4})[-—–\s]*$")


class PdfTextError(ValueError):
    """A PDF whose text cannot be read (encrypted, damaged, or without a text layer)."""


def pdf_text(path: str | Path) -> str:
    """The report text of a PDF, one paragraph per line."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise PdfTextError("the PDF is encrypted; save an unencrypted copy to read it")
        pages = [(page.extract_text() or "") for page in reader.pages]
    except PdfTextError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as err:
        raise PdfTextError(f"not a readable PDF ({type(err).__name__}: {err})") from err
    if not pages:
        raise PdfTextError("the PDF has no pages")
    lines = _drop_running_lines([[l.strip() for l in p.splitlines() if l.strip()] for p in pages])
    if not any(lines):
        raise PdfTextError("no text layer: the PDF holds only images (a scan?); it needs OCR before it can be tagged")
    return "\n".join(join_lines([l for page in lines for l in page]))


def _drop_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Without page numbers, and without header/footer lines that recur at the top or bottom of most pages."""
    pages = [[l for l in p if not PAGE_NUMBER.match(l)] for p in pages]
    if len(pages) >= 3:
        edges = Counter(l for p in pages for l in set(p[:1] + p[-1:]))
        running = {l for l, n in edges.items() if n >= max(3, len(pages) // 2 + 1)}
        pages = [[l for i, l in enumerate(p) if not (l in running and (i == 0 or i == len(p) - 1))] for p in pages]
    return pages


def starts_item(line: str) -> bool:
    return any(pattern.match(line) for _, pattern in ENUMERATORS)


def width(line: str) -> float:
    """Printed width in ideographs: Latin letters and digits take about half of one."""
    return sum(0.5 if ord(c) < 0x2E80 else 1.0 for c in line)


FULL_LINE = 0.85   # a line at least this share of the document's full width was broken by the layout


def join_lines(lines: list[str]) -> list[str]:
    """Paragraphs from layout lines: a full line continues into the next unless it ended a sentence or the next
    opens a heading or numbered item."""
    if not lines:
        return []
    widths = sorted(width(l) for l in lines)
    full = widths[int(0.9 * (len(widths) - 1))]   # the width of a full line, robust to one overlong one
    out: list[str] = []
    previous_full = False
    for line in lines:
        if out and previous_full and not out[-1].endswith(LINE_ENDS) and not starts_item(line):
            out[-1] += line
        else:
            out.append(line)
        previous_full = width(line) >= FULL_LINE * full
    return out
