"""Tagged documents as JSONL, CSV, Markdown or a standalone HTML page a person can read."""
from __future__ import annotations

import csv
import html
import io
import json
from dataclasses import asdict
from typing import Sequence

from .tagger import TaggedDocument

FORMATS = ("jsonl", "csv", "md", "html")
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#ff7f0e",
           "#7f7f7f", "#393b79", "#637939", "#843c39", "#5254a3", "#8ca252"]


def to_jsonl(docs: Sequence[TaggedDocument]) -> str:
    """One JSON object per paragraph; a document's summary rides on its first paragraph's row as `document_summary`."""
    lines = []
    for d in docs:
        for i, p in enumerate(d.paragraphs):
            row = asdict(p)
            row["themes"] = [asdict(h) for h in p.themes]
            if i == 0:
                row["document_summary"] = [asdict(s) for s in d.summary]
            lines.append(json.dumps(row, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def to_csv(docs: Sequence[TaggedDocument]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["doc_id", "index", "kind", "heading", "themes", "scores", "evidence", "original_start", "original_end", "text"])
    for d in docs:
        for p in d.paragraphs:
            w.writerow([d.doc_id, p.index, p.kind, p.heading or "", ";".join(h.theme for h in p.themes),
                        ";".join(f"{h.score:.3f}" for h in p.themes),
                        " | ".join(f"{h.theme}:{e.original_start}-{e.original_end}" for h in p.themes for e in h.evidence),
                        p.original_start, p.original_end, p.text])
    return buf.getvalue()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(docs: Sequence[TaggedDocument]) -> str:
    out = []
    for d in docs:
        out += [f"## {d.doc_id}", "", "| theme | 名称 | paragraphs | share of text |", "|---|---|---|---|"]
        out += [f"| {s.theme} | {s.name} | {s.paragraphs} | {s.share_of_text:.0%} |" for s in d.summary] or ["| (none) | | 0 | 0% |"]
        out += ["", "| # | kind | themes (score) | text |", "|---|---|---|---|"]
        for p in d.paragraphs:
            themes = ", ".join(f"{h.name} ({h.score:.2f})" for h in p.themes)
            text = p.text if len(p.text) <= 80 else p.text[:79] + "…"
            out.append(f"| {p.index} | {p.kind} | {_cell(themes)} | {_cell(text)} |")
        out.append("")
    return "\n".join(out)


def _highlighted(p, colors) -> str:
    """The paragraph's text, escaped, with each evidence sentence wrapped in <mark> (first theme wins on overlap)."""
    marks = {}
    for h in p.themes:
        for e in h.evidence:
            for k in range(e.start, e.end):
                marks.setdefault(k, (h.theme, f"{h.theme} · rule {e.rule}" if e.rule else f"{h.theme} · sentence score {e.score:.2f}"))
    out, k = [], 0
    while k < len(p.text):
        mark = marks.get(k)
        j = k
        while j < len(p.text) and marks.get(j) == mark:
            j += 1
        chunk = html.escape(p.text[k:j])
        out.append(f'<mark style="--c:{colors[mark[0]]}" title="{html.escape(mark[1])}">{chunk}</mark>' if mark else chunk)
        k = j
    return "".join(out)


def to_html(docs: Sequence[TaggedDocument], theme_names: dict[str, str], *, title: str = "policy-tagger") -> str:
    themes = list(theme_names)
    colors = {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(themes)}
    filters = "".join(f'<label class="chip" style="--c:{colors[t]}"><input type="checkbox" value="{html.escape(t)}" checked> '
                      f'{html.escape(theme_names[t])}</label>' for t in themes)
    body = []
    for d in docs:
        rows = "".join(f'<tr><td><span class="chip" style="--c:{colors[s.theme]}">{html.escape(s.name)}</span></td>'
                       f"<td>{s.paragraphs}</td><td>{s.share_of_text:.0%}</td></tr>" for s in d.summary)
        paras = []
        for p in d.paragraphs:
            chips = "".join(f'<span class="chip" style="--c:{colors[h.theme]}">{html.escape(h.name)} {h.score:.2f}</span>' for h in p.themes)
            data = html.escape(" ".join(h.theme for h in p.themes))
            paras.append(f'<div class="p {p.kind}" data-themes="{data}"><span class="idx">{p.index}</span>'
                         f'<div class="chips">{chips}</div><div class="t">{_highlighted(p, colors)}</div></div>')
        body.append(f'<section><h2>{html.escape(d.doc_id)}</h2><table class="sum"><tr><th>theme</th><th>paragraphs</th><th>share of text</th></tr>'
                    f'{rows or "<tr><td colspan=3>no theme found</td></tr>"}</table>{"".join(paras)}</section>')
    return f"""<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<style>
body{{font:15px/1.7 system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;max-width:980px;margin:0 auto;padding:1em 1.5em;color:#222}}
header{{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ddd;z-index:1}}
.chip{{display:inline-block;border:1px solid var(--c);color:var(--c);border-radius:1em;padding:0 .6em;margin:.1em .2em;font-size:.85em;white-space:nowrap}}
mark{{background:color-mix(in srgb,var(--c) 18%,white);border-bottom:2px solid var(--c)}}
.p{{display:grid;grid-template-columns:2.5em 1fr;gap:0 .5em;padding:.4em 0;border-bottom:1px dotted #eee}}
.p .chips{{grid-column:2}} .p .t{{grid-column:2}} .idx{{color:#999;font-size:.8em;grid-row:span 2}}
.p.heading .t{{font-weight:600}} .p.meta .t{{color:#999;font-style:italic}} .hidden{{display:none}}
table.sum{{border-collapse:collapse;margin:.5em 0 1em}} table.sum td,table.sum th{{padding:.1em .8em;border-bottom:1px solid #eee;text-align:left}}
</style></head><body>
<header><strong>{html.escape(title)}</strong> — show paragraphs tagged with: {filters}
<label><input type="checkbox" id="untagged" checked> untagged</label></header>
{"".join(body)}
<script>
function apply(){{
  const on=new Set([...document.querySelectorAll('header input[value]')].filter(x=>x.checked).map(x=>x.value));
  const untagged=document.getElementById('untagged').checked;
  document.querySelectorAll('.p').forEach(p=>{{
    const t=p.dataset.themes?p.dataset.themes.split(' '):[];
    p.classList.toggle('hidden', t.length?!t.some(x=>on.has(x)):!untagged);
  }});
}}
document.querySelectorAll('header input').forEach(x=>x.addEventListener('change',apply));
</script></body></html>
"""


def render(docs: Sequence[TaggedDocument], fmt: str, theme_names: dict[str, str]) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "jsonl":
        return to_jsonl(docs)
    if fmt == "csv":
        return to_csv(docs)
    if fmt == "md":
        return to_markdown(docs)
    return to_html(docs, theme_names)
