"""The engine's cost is linear in the text and bounded per message (security issue items 8 and 9).

Bounds are on CPU time (``time.process_time``), generous so that a loaded machine passes, yet far
below what the old quadratic scanner took (about 10 s for 4,000 digits, minutes for 16,000).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.catalog import Catalog, Item
from bot.engine.dealpost import parse_deal_post
from bot.engine.numerals import HUGE, cn_to_int
from bot.engine.reader import MAX_REPLY_CHARS, read_message
from bot.model import InboundMessage
from bot.services.orders import OrderService
from bot.services.outcome import LARGE_QTY, TOO_LONG
from tests.stores import memory_store

CATALOG = Catalog(items=(
    Item("1", "阳光玫瑰葡萄 2斤装", "盒", aliases=("葡萄", "阳光玫瑰")),
    Item("2", "赣南脐橙 5斤", "箱", aliases=("脐橙", "橙子")),
    Item("3", "土鸡蛋 30枚", "盒", aliases=("鸡蛋",)),
))
ONE = Catalog(items=(Item("1", "散养土鸡蛋", "斤", aliases=("鸡蛋",)),))


def _cpu(fn) -> float:  # type: ignore[no-untyped-def]
    t = time.process_time()
    fn()
    return time.process_time() - t


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    read_message("葡萄1 刘阿姨", CATALOG, set())  # jieba's dictionary loads once, not per test


ADVERSARIAL = {
    "digits": "1" * 16_000,
    "chinese digits": "一" * 16_000,
    "digits and spaces": "1 " * 8_000,
    "digits and dashes": "1-" * 8_000,
    "item and digits": "葡萄" + "9" * 16_000,
    "rooms": "3栋402" * 3_000,
    "prices": "1.5元" * 4_000,
    "signs": "x" * 8_000 + "1" * 8_000,
    "each": "葡萄各" * 5_000,
    "clauses": "葡萄2，" * 5_000,
    "letters and digits": "B1" * 8_000,
    "one long line in a list": "1. " + "葡萄1" * 5_000,
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_a_long_text_parses_in_well_under_a_second(name: str) -> None:
    text = ADVERSARIAL[name]
    for cat in (CATALOG, ONE):
        assert _cpu(lambda: read_message(text, cat, set())) < 1.0, name  # noqa: B023
    assert _cpu(lambda: parse_deal_post(text, datetime(2026, 11, 25, tzinfo=UTC))) < 1.0


def test_cost_grows_linearly() -> None:
    """Four times the text costs about four times the work, not sixteen."""
    small, big = "3栋402 王姐 葡萄1，" * 50, "3栋402 王姐 葡萄1，" * 200
    cat = CATALOG
    t_small = min(_cpu(lambda: read_message("1. " + small, cat, set())) for _ in range(3))
    t_big = min(_cpu(lambda: read_message("1. " + big, cat, set())) for _ in range(3))
    assert t_big < 10 * max(t_small, 1e-3)


def test_a_real_list_of_2000_lines_still_works() -> None:
    lines = "\n".join(f"{k}. {k % 30 + 1}栋{100 + k} 邻居{k} 葡萄{k % 3 + 1}" for k in range(1, 2001))
    text = "#接龙 今日水果\n例:3栋402 王姐 葡萄1\n" + lines
    t = time.process_time()
    r = read_message(text, CATALOG, set())
    assert time.process_time() - t < 5.0
    assert r.is_list and len(r.units) == 2000
    assert all(u.entry is not None and [a.item for a in u.entry.actions] == ["1"] for u in r.units)


def test_an_overlong_reply_is_one_polite_problem() -> None:
    r = read_message("葡萄2 " + "好" * MAX_REPLY_CHARS, CATALOG, set())
    assert r.entry is not None and not r.entry.actions
    assert [p.code for p in r.entry.problems] == [TOO_LONG]


def test_an_overlong_clause_is_no_order() -> None:
    r = read_message("葡萄2，" + "鸡蛋" * 150 + "3", CATALOG, set())
    assert r.entry is not None and [(a.item, a.qty) for a in r.entry.actions] == [("1", 2)]


@pytest.mark.parametrize("text", ["葡萄一万", "葡萄 x 3000", "葡萄999999999", "葡萄" + "9" * 150, "鸡蛋一亿盒"],
                         ids=["一万", "x 3000", "nine digits", "150 digits", "一亿"])
def test_numbers_are_read_whole_then_judged(text: str) -> None:
    r = read_message(text, CATALOG, set())
    assert r.entry is not None and not r.entry.actions
    assert [p.code for p in r.entry.problems] == [LARGE_QTY]


def test_max_line_qty_is_per_deal() -> None:
    big = Catalog(items=CATALOG.items, max_line_qty=500)
    r = read_message("鸡蛋300盒", big, set())
    assert r.entry is not None and [(a.item, a.qty) for a in r.entry.actions] == [("3", 300)]
    r = read_message("鸡蛋300盒", CATALOG, set())
    assert r.entry is not None and [p.code for p in r.entry.problems] == [LARGE_QTY]


def test_a_number_above_max_qty_is_left_to_be_refused() -> None:
    capped = Catalog(items=CATALOG.items, max_qty=50)
    r = read_message("葡萄200", capped, set())
    assert r.entry is not None and [(a.item, a.qty) for a in r.entry.actions] == [("1", 200)]


@pytest.mark.parametrize("text, value", [
    ("一万", 10_000), ("三千", 3_000), ("一百零五", 105), ("十二", 12), ("两万五千", 25_000),
    ("一亿", 100_000_000), ("九" * 40, HUGE), ("一万亿", HUGE),
])
def test_chinese_numerals_are_read_whole(text: str, value: int) -> None:
    assert cn_to_int(text) == value


def test_lone_surrogates_never_raise() -> None:
    for text in ("葡萄\ud8002", "\udfff", "1. 王姐 葡萄\ud800\n2. 阿强 鸡蛋1", "\ud800" * 1000):
        for cat in (CATALOG, ONE, None):
            read_message(text, cat, set())
        parse_deal_post(text, datetime(2026, 11, 25, tzinfo=UTC))
        svc = OrderService(memory_store(), catalog=CATALOG)
        svc.handle(InboundMessage("t", "g1", "m1", "u1", "王姐", text, datetime(2026, 11, 25, tzinfo=UTC)))


texts = st.one_of(
    st.text(max_size=400),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF) | st.sampled_from("葡萄2 x万@「」-\n"),
            max_size=200),
    st.lists(st.sampled_from(["葡萄", "2", "一万", "x", " ", "@团长", "\u2005", "「王姐：葡萄2」", "\n- - - -\n", "同上",
                              "拍了拍", "[红包]", "改成", "3栋402", "1贡", "3桔", "今晚8点截单", "1. ", "(2)", "一包23元",
                              "9" * 30, "\ud800"]), max_size=40).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_no_text_raises(text: str) -> None:
    for cat in (CATALOG, ONE, None):
        read_message(text, cat, set())
    parse_deal_post(text, datetime(2026, 11, 25, 19, tzinfo=UTC))
