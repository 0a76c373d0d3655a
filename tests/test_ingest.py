import pytest

from models.ingest import IngestError, read_report, read_reports

TRAD = "湖北省民政廳黨組把落實脫貧攻堅工作置於突出位置，成立了領導小組。\n（一）高度重視。"
SIMP = "湖北省民政厅党组把落实脱贫攻坚工作置于突出位置，成立了领导小组。\n（一）高度重视。"


@pytest.mark.parametrize("encoding, text", [
    ("utf-8", SIMP),
    ("utf-8-sig", SIMP),
    ("gb18030", SIMP),
    ("gbk", SIMP),
    ("big5", TRAD),
    ("utf-16", TRAD),       # with its byte-order mark
    ("utf-16-le", SIMP),    # without one
])
def test_text_encodings_are_detected(tmp_path, encoding, text):
    path = tmp_path / "report.txt"
    path.write_bytes(text.encode(encoding))
    assert read_report(path).text.replace("\ufeff", "") == text


def test_markdown_docx_and_html(tmp_path):
    import docx

    (tmp_path / "a.md").write_text("# 标题\n\n正文。", encoding="utf-8")
    d = docx.Document()
    d.add_paragraph("一、加强组织领导")
    d.add_paragraph("成立领导小组。")
    d.save(tmp_path / "b.docx")
    (tmp_path / "c.html").write_text(
        "<html><head><title>t</title><style>p{}</style></head><body><h1>殡葬改革</h1><p>推进<b>殡葬</b>惠民。</p>"
        "<script>alert(1)</script></body></html>", encoding="utf-8")
    assert "正文。" in read_report(tmp_path / "a.md").text
    assert read_report(tmp_path / "b.docx").text.split("\n")[:2] == ["一、加强组织领导", "成立领导小组。"]
    html = read_report(tmp_path / "c.html").text
    assert "殡葬改革" in html and "推进" in html and "alert" not in html and "p{}" not in html


@pytest.mark.parametrize("name, content, problem", [
    ("empty.txt", b"", "empty file"),
    ("blank.txt", b"  \n\n ", "contains no text"),
    ("image.txt", bytes(range(256)) * 20, "binary"),
    ("report.pdf", b"%PDF-1.4", "not a readable PDF"),
    ("report.odt", b"PK\x03\x04", "unsupported file type .odt"),
    ("broken.docx", b"not a zip", "not a readable .docx"),
])
def test_bad_input_is_a_clear_error(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=problem) as info:
        read_report(path)
    assert str(path) in str(info.value)


def test_size_limit(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_text("民政" * 1000, encoding="utf-8")
    with pytest.raises(IngestError, match="above the limit of 100"):
        read_report(path, max_bytes=100)


def test_missing_file(tmp_path):
    with pytest.raises(IngestError, match="no such file"):
        read_report(tmp_path / "nope.txt")


def test_folder_run_continues_past_bad_files(tmp_path):
    (tmp_path / "a.txt").write_text(SIMP, encoding="utf-8")
    (tmp_path / "b.txt").write_bytes(b"")
    (tmp_path / "c.bin").write_bytes(b"\x00\x01")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.txt").write_bytes(TRAD.encode("big5"))
    (tmp_path / "README.md").write_text("about these reports", encoding="utf-8")
    result = read_reports([tmp_path])
    assert [r.doc_id for r in result.reports] == ["a", "d"]
    assert sorted(e.path.name for e in result.skipped) == ["b.txt", "c.bin"]
    assert "read 2 report(s), skipped 2" in result.summary()


def test_duplicate_document_ids_are_reported(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "r.txt").write_text(SIMP, encoding="utf-8")
    (tmp_path / "r.md").write_text(SIMP, encoding="utf-8")
    result = read_reports([tmp_path / "r.md", tmp_path / "x"])
    assert len(result.reports) == 1
    assert "already read" in result.skipped[0].problem


def test_a_split_corpus_folder_reads_one_split_by_name(tmp_path):
    import json

    from models.ingest import read_reports

    (tmp_path / "docs").mkdir()
    for i, split in (("a1", "train"), ("a2", "dev"), ("a3", "train")):
        (tmp_path / "docs" / f"{i}.txt").write_text(f"推进殡葬惠民{i}。", encoding="utf-8")
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps({"id": i, "split": s}) + "\n" for i, s in
                                                      (("a1", "train"), ("a2", "dev"), ("a3", "train"))), encoding="utf-8")
    assert [r.doc_id for r in read_reports([f"{tmp_path}:train"]).reports] == ["a1", "a3"]
    assert [r.doc_id for r in read_reports([tmp_path]).reports] == ["a1", "a2", "a3"]   # the manifest is not a report
    missing = read_reports([f"{tmp_path}:test"])
    assert not missing.reports and "no split 'test'" in missing.skipped[0].problem
