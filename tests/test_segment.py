import pytest

from models.segment import classify, segment, split_sentences


@pytest.mark.parametrize("line, kind", [
    ("一、工作思路", "heading"),
    ("（一）牵头工作（共六项）。", "heading"),
    ("1.农村最低生活保障制度兜底脱贫（社会保障扶贫2017年实施方案）", "heading"),
    ("①2017年度提高全市农村最低生活保障标准达到3300元/年。", "list_item"),
    ("（二）系统谋划。对照中央打赢脱贫攻坚战的决定，将脱贫攻坚工作纳入规划。分解任务。", "list_item"),
    ("（2）责任领导：罗琼华", "meta"),
    ("黑龙江省", "heading"),
    ("先谋后动、顶层设计，确保兜底脱贫工作统筹布局", "heading"),
    ("◎柳望春", "meta"),
    ("（来源：中国社会报2020.12.23）", "meta"),
    ("（本版文图由黑龙江省民政厅提供）", "meta"),
    ("2017年4月18日", "meta"),
    ("谋政策完善。制发了《六盘水市特困人员救助供养实施办法》。", "body"),
])
def test_classify(line, kind):
    assert classify(line)[0] == kind


def test_signature_and_addressee_only_at_the_edges():
    assert classify("遂宁市民政局", last_lines=True)[0] == "meta"
    assert classify("遂宁市民政局")[0] == "heading"
    assert classify("各县（区）民政局，局属事业单位：", first_lines=True)[0] == "meta"


def test_sentences_with_offsets():
    text = "一是提标。二是扩围；三是“救急难”！最后"
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == ["一是提标。", "二是扩围；", "三是“救急难”！", "最后"]
    assert all(text[s.start:s.end] == s.text for s in sentences)


def test_headings_nest_and_close():
    text = "一、工作重点\n（一）牵头工作\n1.低保\n内容甲。\n2.特困\n内容乙。\n（二）参与工作\n内容丙。\n二、工作要求\n内容丁。"
    paras = segment("d", text)
    by_text = {p.text: p for p in paras}
    assert by_text["内容甲。"].heading_path == ("一、工作重点", "（一）牵头工作", "1.低保")
    assert by_text["内容乙。"].heading == "2.特困"
    assert by_text["内容丙。"].heading_path == ("一、工作重点", "（二）参与工作")
    assert by_text["内容丁。"].heading_path == ("二、工作要求",)
    assert [p.index for p in paras] == list(range(len(paras)))
    assert all(text[p.start:p.end] == p.text for p in paras)


def test_numbered_item_titles_what_follows_but_not_its_sibling():
    paras = segment("d", "（一）高度重视。成立领导小组。\n（二）系统谋划。印发方案。\n补充说明。")
    assert paras[1].heading is None
    assert paras[2].heading == "（二）系统谋划"


def test_every_seed_segments_with_headings_and_meta(seed_documents):
    counts = {d.doc_id: len(d.paragraphs) for d in seed_documents}
    assert counts == {"000_91c9a2ab24414203": 12, "001_7a0ec1da0d65b888": 12, "002_b4e316aa905612b4": 114,
                      "003_1bef0b7c992fd81d": 26, "004_b078bcc2181311d4": 56}
    kinds = {(d.doc_id[:3], p.index): p.kind for d in seed_documents for p in d.paragraphs}
    assert kinds[("000", 0)] == "meta"          # ◎柳望春
    assert kinds[("003", 25)] == "meta"         # （来源：中国社会报2020.12.23）
    assert kinds[("002", 113)] == "meta"        # 2017年4月18日
    assert kinds[("004", 1)] == "heading"       # 黑龙江省
    for doc in seed_documents:
        for p in doc.paragraphs:
            assert p.sentences and all(p.text[s.start:s.end] == s.text for s in p.sentences)
            start, end = doc.original_span(p)
            assert end > start
