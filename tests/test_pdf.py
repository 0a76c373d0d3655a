"""PDF reports: real PDFs written in the test (reportlab, its built-in CJK font), read back as paragraphs."""
import pytest

pytest.importorskip("reportlab")

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from models import load_documents
from models.ingest import IngestError, read_report
from models.pdf import join_lines

FONT = "STSong-Light"   # Adobe's CJK font that every PDF reader knows: nothing to embed
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _pdf(path, pages, *, header=None):
    c = canvas.Canvas(str(path))
    for n, lines in enumerate(pages, 1):
        c.setFont(FONT, 11)
        if header:
            c.drawString(72, 800, header)
        for k, line in enumerate(lines):
            c.drawString(72, 760 - 16 * k, line)
        c.drawString(290, 40, f"- {n} -")
        c.showPage()
    c.save()
    return path


def test_a_pdf_reads_as_paragraphs_with_broken_lines_joined_and_page_furniture_dropped(tmp_path):
    pdf = _pdf(tmp_path / "report.pdf", [
        ["某县民政局2023年工作总结", "一、兜底保障", "全年发放城乡低保金1200万元，临时救助困难", "群众356人次，做到应保尽保。",
         "二、养老服务"],
        ["新建农村幸福院5个，为高龄老人发放津贴，惠及", "老年人2100人。", "（一）推进殡葬改革", "新建公益性公墓3处。"],
        ["三、下一步打算", "继续做好困难群众基本生活保障工作。"],
    ], header="某县民政局文件")
    docs, skipped = load_documents([pdf])
    assert not skipped
    texts = [p.text for p in docs[0].paragraphs]
    assert texts == ["某县民政局2023年工作总结", "一、兜底保障", "全年发放城乡低保金1200万元，临时救助困难群众356人次，做到应保尽保。",
                     "二、养老服务", "新建农村幸福院5个，为高龄老人发放津贴，惠及老年人2100人。", "（一）推进殡葬改革", "新建公益性公墓3处。",
                     "三、下一步打算", "继续做好困难群众基本生活保障工作。"]
    # Offsets point into the text the PDF gave: the paragraph's original span reads the same words.
    doc, p = docs[0], docs[0].paragraphs[4]
    start, end = doc.original_span(p)
    assert doc.normalised.original[start:end] == p.text


def test_a_pdf_without_a_text_layer_asks_for_ocr(tmp_path):
    c = canvas.Canvas(str(tmp_path / "scan.pdf"))
    c.rect(72, 72, 400, 600, fill=1)   # a page that is only a picture
    c.showPage()
    c.save()
    with pytest.raises(IngestError, match="no text layer.*OCR"):
        read_report(tmp_path / "scan.pdf")


def test_a_damaged_pdf_is_a_clear_error_and_the_folder_goes_on(tmp_path):
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\n this is not really a pdf")
    _pdf(tmp_path / "good.pdf", [["一、兜底保障", "全年发放低保金1200万元。"]])
    docs, skipped = load_documents([tmp_path])
    assert [d.doc_id for d in docs] == ["good"]
    assert len(skipped) == 1 and "not a readable PDF" in skipped[0].problem


def test_lines_join_unless_a_sentence_ends_or_an_item_starts():
    lines = ["全年发放城乡低保金和特困供养", "资金1200万元。", "1.新建公益性公墓和骨灰堂", "3处", "（二）养老服务体系建设稳步推", "进", "一、兜底保障", "全年临时救助困难群众356人"]
    assert join_lines(lines) == ["全年发放城乡低保金和特困供养资金1200万元。", "1.新建公益性公墓和骨灰堂3处", "（二）养老服务体系建设稳步推进",
                                 "一、兜底保障", "全年临时救助困难群众356人"]
