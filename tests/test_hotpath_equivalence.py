"""The engine's hot path (issue 11) reads exactly as it did before: the scanner and the entry
reader are compared with their reference copies (tests/engine_v1) on generated clauses."""

from __future__ import annotations

import dataclasses
import re
import sys
import tomllib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.catalog import Catalog, Item, catalog_from_dict
from bot.engine import tokens
from bot.engine.entry import EntryReader
from bot.engine.matcher import matcher_for
from tests.engine_v1 import entry as entry_v1
from tests.engine_v1 import tokens as tokens_v1

CATALOGS = (
    Catalog(items=(
        Item("1", "阳光玫瑰葡萄 2斤装", "盒", aliases=("葡萄", "阳光玫瑰")),
        Item("2", "赣南脐橙 5斤", "箱", aliases=("脐橙", "橙子")),
        Item("3", "土鸡蛋 30枚", "盒", aliases=("鸡蛋",)),
        Item("4", "塔罗科血橙", "箱"),
    )),
    Catalog(items=(Item("1", "百香果 5斤", "箱"),)),
    Catalog(items=(
        Item("1", "红富士苹果 10斤装", "箱", aliases=("苹果",)),
        Item("2", "苹果 5斤装", "箱"),
        Item("3", "矿泉水 550ml*24瓶", "箱", aliases=("水",)),
        Item("4", "牛肉", "kg"),
        Item("5", "鸡蛋 6个装", "盒"),
        Item("6", "阿克苏冰糖心", "箱", aliases=("冰糖心",)),
    )),
    Catalog(items=(  # item names that start with a numeral, next to numeral names (王五 2斤五花肉)
        Item("1", "挪威三文鱼 500g", "份", aliases=("三文鱼",)),
        Item("2", "黑猪五花肉", "斤", aliases=("五花肉",)),
        Item("3", "三黄鸡", "只"),
    )),
)

# every character or word some pattern of the scanner turns on, and some that none does
PIECES = [
    "葡萄", "阳光玫瑰", "脐橙", "橙子", "鸡蛋", "血橙", "苹果", "红富士", "矿泉水", "牛肉", "百香果", "冰糖心", "阿克苏",
    "土", "橙", "桔", "水", "果", "草莓", "香蕉", "西瓜",
    "0", "1", "2", "3", "12", "30", "402", "1203", "2432", "999999999", "13812345678", "1234567", "١٢", "1.5", "2.0",
    "一", "两", "二", "三", "十", "十二", "一百零五", "万", "半", "俩", "壹", "零",
    "盒", "箱", "斤", "个", "只", "份", "瓶", "kg", "KG", "g", "ml", "l", "克", "毫升", "枚", "装", "斤装", "500g", "5斤装",
    "x", "X", "×", "*", "+", "-", "/", "#", ":", "：", ".", " ", "  ", "\t",
    "号", "号楼", "栋", "幢", "座", "单元", "楼", "室", "房", "户", "层", "区", "门", "A", "B", "b", "z", "x12",
    "年", "月", "日", "月份", "点", "点半", "时", "分", "分钟", "小时", "天", "周", "周三", "星期", "礼拜", "初八", "岁",
    "¥", "$", "元", "块钱", "rmb", "RMB", "前", "后", "左右", "取", "到", "下午", "截单",
    "改成", "改", "加", "再加", "减", "减少", "不要了", "不要", "取消", "各", "都", "每样", "我要", "要", "来", "买",
    "、", "和", "跟", "及", "与", "还有", "&", "一下", "一起", "第一", "统一", "万一",
    "①", "③", "⑳", "王姐", "刘阿姨", "阿强", "Tom", "小陈", "张叔", "谢谢", "已取", "吗", "?", "同上",
    "张三", "李四", "老五", "小六", "三姐", "二哥", "十三姨", "桔子", "的", "给我", "共",
    "王五", "老王", "我家", "家里", "一号", "三号", "三文鱼", "五花肉", "三黄鸡",
    "\u212a", "\u017f", "K", "k", "M", "ſ",
]
CLAUSES = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=14).map("".join),
    st.text(alphabet="".join(sorted({c for p in PIECES for c in p})), max_size=40),
)


def _tok(t: object) -> tuple[object, ...]:
    return tuple(getattr(t, f.name) for f in dataclasses.fields(t))  # type: ignore[arg-type]


def _parse(p: object) -> object:
    return dataclasses.asdict(p)  # type: ignore[call-overload]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CLAUSES, st.sampled_from(range(len(CATALOGS))))
def test_scan_is_the_reference_scan(text: str, which: int) -> None:
    m = matcher_for(CATALOGS[which])
    new = [_tok(t) for t in tokens.Scanner(m).scan(text)]
    old = [_tok(t) for t in tokens_v1.Scanner(m).scan(text)]
    assert new == old


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(CLAUSES, min_size=1, max_size=3).map(lambda cs: "，".join(cs)), st.sampled_from(range(len(CATALOGS))),
       st.booleans())
def test_entry_read_is_the_reference_read(text: str, which: int, in_list: bool) -> None:
    m = matcher_for(CATALOGS[which])
    assert _parse(EntryReader(m).read(text, in_list=in_list)) == _parse(entry_v1.EntryReader(m).read(text, in_list=in_list))


def test_the_bench_lines_read_as_before() -> None:
    sys.path.insert(0, "bench")
    try:
        import engine_bench
    finally:
        sys.path.remove("bench")
    cat = catalog_from_dict(tomllib.loads(engine_bench.CATALOG_TOML))
    m = matcher_for(cat)
    lines = engine_bench.copy_chain(300)[-1]["text"].split("\n")
    for line in lines:
        body = re.sub(r"^\d+\.\s*", "", line)
        assert _parse(EntryReader(m).read(body, in_list=True)) == _parse(entry_v1.EntryReader(m).read(body, in_list=True))


# The element of each pattern that every match passes through (read off the pattern), as a
# character class with the pattern's flags: its characters are the pattern's ``needs``.
_ALL_CHARS = "".join(chr(c) for c in range(0x110000))
_REQUIRED = [
    (r"[*x×]", re.I),  # spec: the multiplication sign
    (r"[¥$元块r]", re.I),  # price: a currency sign, or 元 / 块钱 / rmb
    None,  # phone: digits only
    (r"月", 0),  # date: every alternative holds 月
    (r"[:：点时]", 0),
    (r"[日号]", 0),
    (r"[分小天周月年岁]", 0),  # 分钟 个?小时 天 周 个月 年 岁
    (r"[点小分天月号岁]", 0),
    (r"[周星礼初]", 0),
    (r"[栋幢座号楼单区期苑弄巷门层]", 0),  # the building / room word
    (r"[-#/]", 0),
    (r"[A-WYZa-wyz]", 0),
    (r"[室房户]", 0),
]


def test_every_mask_needs_exactly_the_characters_of_its_required_element() -> None:
    masks = tokens._masks()
    assert len(masks) == len(_REQUIRED)
    for (kind, rx, needs), req in zip(masks, _REQUIRED, strict=True):
        if req is None:
            assert needs is None, kind
            continue
        assert needs == frozenset(re.findall(req[0], _ALL_CHARS, req[1])), (kind, rx.pattern)
        assert req[1] == rx.flags & re.I, kind


def test_the_other_passes_need_exactly_their_characters() -> None:
    from bot.engine.numerals import CN_CHARS

    for needs, req, flags in ((tokens._CODE_NEEDS, "[#号\u2460-\u2473]", 0), (tokens._SPEC_NEEDS, "[装kg克m毫公千]", re.I),
                              (tokens._CN_NEEDS, f"[{CN_CHARS}]", 0), (tokens._JOIN_NEEDS, "[、和跟及与还&/]", 0),
                              (tokens._KIN_NEEDS, "[姐哥叔婶姨姑舅嫂弟妹爷伯婆嬢]", 0)):
        assert needs == frozenset(re.findall(req, _ALL_CHARS, flags)), req
    assert "\u212a" in tokens._SPEC_NEEDS  # the Kelvin sign is a k under re.I


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CLAUSES)
def test_a_pattern_finds_nothing_in_a_clause_without_its_needs(text: str) -> None:
    chars = set(text)
    for _kind, rx, needs in tokens._masks():
        if needs is not None and needs.isdisjoint(chars):
            assert rx.search(text) is None, (rx.pattern, text)
    for rx, needs in ((tokens._CODE, tokens._CODE_NEEDS), (tokens._SPEC_LIKE, tokens._SPEC_NEEDS),
                      (tokens._QTY_CN, tokens._CN_NEEDS), (tokens._JOIN_RE, tokens._JOIN_NEEDS),
                      (tokens._KIN_NAME, tokens._KIN_NEEDS)):
        if needs.isdisjoint(chars):
            assert rx.search(text) is None, (rx.pattern, text)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CLAUSES, st.sampled_from(range(len(CATALOGS))), st.data())
def test_the_matchers_searches_are_the_reference_searches(text: str, which: int, data: st.DataObject) -> None:
    m = matcher_for(CATALOGS[which])
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    assert m.find_parts(text, start, end) == tokens_v1._find_parts(m, text, start, end)
    assert m.find_full(text) == tokens_v1._find_full(m, text)
    for ref in m.find_full(text):
        assert m.widen(text, ref) == tokens_v1._widen(m, text, ref)


def test_a_regex_space_is_exactly_a_str_space() -> None:
    """matcher.widen looks for a space with the pattern \\s instead of str.isspace()."""
    spaces = set(re.findall(r"\s", _ALL_CHARS))
    assert spaces == {c for c in _ALL_CHARS if c.isspace()}


def test_a_cjk_range_check_is_the_cjk_class() -> None:
    """ItemMatcher finds the single CJK characters of names by a range check, not [\\u4e00-\\u9fff]."""
    assert {c for c in _ALL_CHARS if "\u4e00" <= c <= "\u9fff"} == set(re.findall(r"[\u4e00-\u9fff]", _ALL_CHARS))


def test_the_cjk_class_matches_the_same_characters_with_and_without_ignorecase() -> None:
    """The spec mask (re.I) holds its CJK class as (?-i:[\u4e00-\u9fff]): the same characters, cheaper to compile."""
    cjk = re.findall(r"[\u4e00-\u9fff]", _ALL_CHARS, re.I)
    assert cjk == re.findall(r"(?-i:[\u4e00-\u9fff])", _ALL_CHARS, re.I) == re.findall(r"[\u4e00-\u9fff]", _ALL_CHARS)
    assert r"(?-i:[\u4e00-\u9fff])" in tokens._masks()[0][1].pattern


@given(st.text(alphabet="[]葡萄aZ强 \n", max_size=20))
def test_a_lazy_pattern_is_its_compiled_pattern(text: str) -> None:
    from bot.engine.lazy import LazyPattern

    src = r"\[[\u4e00-\u9fffA-Za-z]{1,5}\]"
    lazy, rx = LazyPattern(src), re.compile(src)
    assert lazy.sub(" ", text) == rx.sub(" ", text)
    assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in rx.finditer(text)]
    assert bool(lazy.search(text)) == bool(rx.search(text)) and lazy.pattern == src and lazy.flags == 0
