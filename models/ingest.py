"""Read reports from disk: .txt/.md (any common Chinese encoding), .docx, .html and .pdf (its text layer), files or folders.

A `.jsonl` file is a corpus: one report per line, with its text in `content` (or `text`) and its
id in `id` or `title` (the layout of training/corpora/government_work_reports.jsonl).

A folder with a `manifest.jsonl` (one `{"id", "split", ...}` per document, documents in `docs/<id>.txt`) is a
split corpus (training/corpora/civil_affairs_reports/): `FOLDER` reads every document, `FOLDER:SPLIT` (e.g.
`training/corpora/civil_affairs_reports:train`) only that split's, so held-out documents stay out of training.

Bad input never passes silently and never stops a folder run: each problem is an `IngestError`
naming the file and what is wrong, and `read_reports` collects them as skipped files.
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from charset_normalizer import from_bytes

SUPPORTED = (".txt", ".md", ".docx", ".html", ".htm", ".pdf", ".jsonl")
DEFAULT_MAX_BYTES = 20 * 1024 * 1024  # far above any real report; protects memory from a mistaken dump file
# Encodings reports arrive in; detection is restricted to them so that a GBK file is never read as, say, cp1252.
CANDIDATES = ["utf_8", "gb18030", "big5", "utf_16", "utf_16_le", "utf_16_be"]
BOMS = [(codecs.BOM_UTF8, "utf_8_sig"), (codecs.BOM_UTF16_LE, "utf_16"), (codecs.BOM_UTF16_BE, "utf_16")]


class IngestError(ValueError):
    """A file that cannot be read as a report, and why."""

    def __init__(self, path: Path, problem: str):
        self.path, self.problem = Path(path), problem
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class RawReport:
    doc_id: str   # the file name without extension: stable across folders and machines
    path: Path
    text: str
    encoding: str


@dataclass
class IngestResult:
    reports: list[RawReport] = field(default_factory=list)
    skipped: list[IngestError] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"read {len(self.reports)} report(s), skipped {len(self.skipped)}"]
        lines += [f"  skipped {e.path}: {e.problem}" for e in self.skipped]
        return "\n".join(lines)


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """Decode report bytes, detecting the encoding; returns (text, encoding)."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as err:
                raise IngestError(path, f"starts with a {encoding} byte-order mark but does not decode as it ({err.reason})")
    try:
        return data.decode("utf_8"), "utf_8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data, cp_isolation=CANDIDATES).best()
    if best is None:
        if b"\x00" in data:
            raise IngestError(path, "looks like a binary file (NUL bytes, no known text encoding); expected a text report")
        raise IngestError(path, f"cannot decode the text as any of {', '.join(CANDIDATES)}; re-save it as UTF-8")
    text = str(best)
    if "\x00" in text or _control_ratio(text) > 0.01:
        raise IngestError(path, "looks like a binary file (control characters after decoding); expected a text report")
    return text, best.encoding


def _control_ratio(text: str) -> float:
    bad = sum(1 for c in text if ord(c) < 32 and c not in "\n\r\t\f")
    return bad / max(len(text), 1)


def _docx_text(path: Path) -> str:
    import docx

    try:
        document = docx.Document(str(path))
    except Exception as err:  # python-docx raises several unrelated types for a broken package
        raise IngestError(path, f"not a readable .docx file ({type(err).__name__}: {err})") from err
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append("\t".join(cell.text for cell in row.cells))
    return "\n".join(lines)


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "lxml")
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    # Block elements become line breaks, because a paragraph is a line of the normalised text.
    return soup.get_text("\n")


def read_report(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> RawReport:
    """Read one report file; raises `IngestError` with the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(path, "no such file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise IngestError(path, f"unsupported file type {suffix or '(none)'}; expected one of {', '.join(SUPPORTED)}")
    size = path.stat().st_size
    if size == 0:
        raise IngestError(path, "empty file")
    if size > max_bytes:
        raise IngestError(path, f"file is {size:,} bytes, above the limit of {max_bytes:,}; raise --max-bytes to read it")
    if suffix == ".docx":
        text, encoding = _docx_text(path), "docx"
    elif suffix == ".pdf":
        from .pdf import PdfTextError, pdf_text

        try:
            text, encoding = pdf_text(path), "pdf"
        except PdfTextError as err:
            raise IngestError(path, str(err)) from err
    else:
        text, encoding = decode(path.read_bytes(), path)
        if suffix in (".html", ".htm"):
            text = _html_text(text)
    if not text.strip():
        raise IngestError(path, "contains no text")
    return RawReport(path.stem, path, text, encoding)


def _is_report_in_folder(folder: Path, f: Path) -> bool:
    # A folder of reports often carries a README describing them (seeds/ does): documentation, not a report.
    hidden = any(part.startswith(".") for part in f.relative_to(folder).parts)
    return f.is_file() and not hidden and not f.name.upper().startswith("README")


def read_corpus(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[RawReport]:
    """Reports of a JSONL corpus file; raises `IngestError` naming the line that is wrong."""
    import json

    path = Path(path)
    if not path.is_file():
        raise IngestError(path, "no such file")
    if path.stat().st_size > max_bytes:
        raise IngestError(path, f"file is {path.stat().st_size:,} bytes, above the limit of {max_bytes:,}; raise --max-bytes to read it")
    reports = []
    text, _ = decode(path.read_bytes(), path)
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            content = record.get("content") or record.get("text")
            doc_id = str(record.get("id") or record.get("title") or f"{path.stem}-{n}")
        except (json.JSONDecodeError, AttributeError) as err:
            raise IngestError(path, f"line {n} is not a JSON object ({err})") from err
        if not isinstance(content, str) or not content.strip():
            raise IngestError(path, f"line {n} has no `content` or `text` string")
        reports.append(RawReport(doc_id, path, content, "utf_8"))
    if not reports:
        raise IngestError(path, "empty corpus file")
    return reports


MANIFEST = "manifest.jsonl"


def read_manifest(folder: str | Path) -> list[dict]:
    """The records of a split corpus folder's manifest, one dict per document (`id`, `split`, and whatever else it says)."""
    import json

    return [json.loads(line) for line in (Path(folder) / MANIFEST).read_text(encoding="utf-8").splitlines() if line.strip()]


def split_corpus_files(folder: str | Path, split: str | None = None) -> list[Path]:
    """The documents of a split corpus folder (all, or one split's), in manifest order."""
    folder = Path(folder)
    records = read_manifest(folder)
    splits = sorted({str(r.get("split")) for r in records})
    if split is not None and split not in splits:
        raise IngestError(folder, f"no split {split!r} in {MANIFEST}; its splits are {splits}")
    return [folder / "docs" / f"{r['id']}.txt" for r in records if split is None or r.get("split") == split]


def _split_spec(p: Path) -> tuple[Path, str] | None:
    """`FOLDER:SPLIT` where FOLDER is a split corpus, else None."""
    folder, sep, split = str(p).rpartition(":")
    if sep and split and not p.exists() and (Path(folder) / MANIFEST).is_file():
        return Path(folder), split
    return None


def iter_report_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files as given, and every file under a folder (sorted; hidden files and READMEs skipped); a split corpus
    folder (or `FOLDER:SPLIT`) gives its documents in manifest order."""
    for p in map(Path, paths):
        if (spec := _split_spec(p)) is not None:
            yield from split_corpus_files(*spec)
        elif p.is_dir() and (p / MANIFEST).is_file():
            yield from split_corpus_files(p)
        elif p.is_dir():
            yield from sorted(f for f in p.rglob("*") if _is_report_in_folder(p, f))
        else:
            yield p


def read_reports(paths: Iterable[str | Path], *, max_bytes: int = DEFAULT_MAX_BYTES) -> IngestResult:
    """Read many files and folders; a bad file is recorded in `skipped` and the rest go on."""
    result = IngestResult()
    seen: dict[str, Path] = {}
    try:
        files = list(iter_report_paths(paths))
    except IngestError as err:
        result.skipped.append(err)
        return result
    for path in files:
        try:
            reports = read_corpus(path, max_bytes=max_bytes) if path.suffix.lower() == ".jsonl" else [read_report(path, max_bytes=max_bytes)]
        except IngestError as err:
            result.skipped.append(err)
            continue
        for report in reports:
            if report.doc_id in seen:
                result.skipped.append(IngestError(path, f"document id {report.doc_id!r} already read from {seen[report.doc_id]}; rename one of them"))
                continue
            seen[report.doc_id] = path
            result.reports.append(report)
    return result
