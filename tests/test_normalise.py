import re

import pytest

from models.normalise import NormaliseConfig, normalise
from tests.conftest import SEEDS

SEED_TEXTS = {p.stem: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}


def test_traditional_becomes_simplified():
    assert normalise("黨的十八大以來，湖北省民政廳").text == "党的十八大以来，湖北省民政厅"


@pytest.mark.parametrize("raw, expected", [
    ("堅決維護(hù)", "坚决维护"),
    ("國(guó)家", "国家"),
    ("領(lǐng)導(dǎo)小組", "领导小组"),
    ("社會（huì）救助", "社会救助"),
])
def test_pinyin_readings_are_removed(raw, expected):
    assert normalise(raw).text == expected


@pytest.mark.parametrize("raw, expected", [
    ("(一)高度重视", "（一）高度重视"),
    ("规划(2018-2020年)", "规划（2018-2020年）"),
    ("(社会救助科)", "（社会救助科）"),
    ("各县(市)", "各县（市）"),
    ("AI(Ai)技术", "AI（Ai）技术"),   # latin without a tone mark is not a pinyin reading
])
def test_real_parentheses_are_kept(raw, expected):
    assert normalise(raw).text == expected


@pytest.mark.parametrize("raw, expected", [
    ("活动,,深入", "活动，深入"),
    ("对象,、1.7万名", "对象、1.7万名"),
    ("需求,。", "需求。"),
    ("保障。。", "保障。"),
])
def test_stacked_punctuation_collapses(raw, expected):
    assert normalise(raw).text == expected


def test_spam_tokens_are_removed_and_configurable():
    assert normalise("学习贯彻体球网总书记体球网重要指示").text == "学习贯彻总书记重要指示"
    config = NormaliseConfig(spam_tokens=("广告",))
    assert normalise("这是广告内容体球网", config).text == "这是内容体球网"


@pytest.mark.parametrize("raw, expected", [
    ("补贴,提高;标准:3300元", "补贴，提高；标准：3300元"),
    ("共1,000人,时间10:30", "共1,000人，时间10:30"),
    ("２０１７年", "2017年"),
    ("民政  工作\u3000要求", "民政工作要求"),
    ("  前后空格  ", "前后空格"),
    ("Windows 10 系统", "Windows 10系统"),
])
def test_punctuation_and_whitespace_are_consistent(raw, expected):
    assert normalise(raw).text == expected


def test_steps_can_be_switched_off():
    config = NormaliseConfig(to_simplified=False, strip_pinyin=False)
    assert normalise("維護(hù)", config).text == "維護（hù）"


def test_unknown_setting_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown normalisation setting.*strip_pinyn"):
        NormaliseConfig.from_dict({"strip_pinyn": True})


def test_offsets_point_back_at_the_original_characters():
    raw = "踐行“兩個堅決維護(hù)”,,聚力脫貧攻堅"
    n = normalise(raw)
    i = n.text.index("聚力")
    start, end = n.to_original(i, i + 4)
    assert raw[start:end] == "聚力脫貧"
    start, end = n.to_original(0, len(n.text))
    assert (start, end) == (0, len(raw))


@pytest.mark.parametrize("doc_id", sorted(SEED_TEXTS))
def test_seeds_come_out_clean(doc_id):
    text = normalise(SEED_TEXTS[doc_id]).text
    assert not re.search(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+\)|（[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+）", text)
    assert not re.search(r"[，、](?=[，、。；])", text)
    assert "体球网" not in text
    assert not re.search("[黨廳貧堅維護國導會實務]", text), "traditional characters left"
    # Line structure is preserved: a paragraph is a line, before and after.
    assert len([l for l in text.split("\n") if l.strip()]) == len([l for l in SEED_TEXTS[doc_id].split("\n") if l.strip()])


def test_offset_map_is_exact_on_every_seed_line():
    for raw in SEED_TEXTS.values():
        n = normalise(raw)
        for m in re.finditer(r"[^\n]+", n.text):
            start, end = n.to_original(m.start(), m.end())
            assert "\n" not in raw[start:end]
