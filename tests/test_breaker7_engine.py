"""Breaker 7: realistic lines that the numeral-name rule (spec §3.2–3.5) made worse.

Each line here was read correctly before commit 8714bd0 (a Chinese numeral that ends a name) and is
was then read as a different order, silently: the resident got an acknowledgement for goods they did
not ask for (or none at all). Fixed on branch fixnum (a name is a surname or 老/小/阿 with the numeral).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.catalog import Catalog, Item
from bot.engine.reader import read_message
from tests.test_numeral_names import CITRUS, FRUIT, ONE


def _one_entry(catalog, text):  # type: ignore[no-untyped-def]
    reading = read_message(text, catalog, set(), set())
    entries = [u.entry for u in reading.units if u.entry is not None] if reading.is_list else [reading.entry]
    assert len(entries) == 1, entries
    return entries[0]


def _ordered(entry) -> dict[str, int]:  # type: ignore[no-untyped-def]
    got: dict[str, int] = {}
    for a in entry.actions:
        got[a.item] = got.get(a.item, 0) + a.qty
    return got


def test_a_name_before_one_gong_three_ju_keeps_both_quantities() -> None:
    entry = _one_entry(CITRUS, "老王一贡三桔")
    assert _ordered(entry) == {"1": 1, "2": 3} or entry.problems, entry


def test_wo_jia_three_grapes_is_three_or_asked() -> None:
    entry = _one_entry(FRUIT, "我家三葡萄")
    assert _ordered(entry) == {"1": 3} or entry.problems, entry


def test_wo_jia_three_ju_is_three_or_asked() -> None:
    entry = _one_entry(CITRUS, "我家三桔")
    assert _ordered(entry) == {"2": 3} or entry.problems, entry


@pytest.mark.parametrize("text", ["我家三", "老王三"])
def test_one_item_deal_household_and_numeral_is_not_dropped(text: str) -> None:
    entry = _one_entry(ONE, text)
    assert entry.actions or entry.problems, entry


def test_zhang_san_ten_boxes_is_not_silently_thirty() -> None:
    entry = _one_entry(FRUIT, "张三十盒葡萄")
    assert _ordered(entry) != {"1": 30} or entry.problems, entry


@pytest.mark.parametrize("text", ["张三一号两份", "王五三号一份"])
def test_a_numeral_name_before_a_chinese_item_code(text: str) -> None:
    entry = _one_entry(FRUIT, text)
    want = {"张三一号两份": {"1": 2}, "王五三号一份": {"3": 1}}[text]
    assert _ordered(entry) == want and not entry.problems, entry


# a deal whose item names start with a numeral (real groceries): the numeral of a name is read as the item
MEAT = Catalog(items=(
    Item("1", "挪威三文鱼 500g", "份", Decimal("89"), aliases=("三文鱼",)),
    Item("2", "黑猪五花肉", "斤", Decimal("30"), aliases=("五花肉",)),
    Item("3", "四季豆", "斤", Decimal("8")),
    Item("4", "三黄鸡", "只", Decimal("59")),
))


@pytest.mark.parametrize("text", ["王五 2斤五花肉", "王五两斤五花肉", "王五 两斤五花肉"])
def test_wang_wu_two_jin_of_pork_belly_is_two(text: str) -> None:
    entry = _one_entry(MEAT, text)
    assert _ordered(entry) == {"2": 2} and not entry.problems, entry


@pytest.mark.parametrize("text", ["张三 两份三文鱼", "张三两份三黄鸡"])
def test_zhang_san_two_portions_of_salmon_is_two(text: str) -> None:
    entry = _one_entry(MEAT, text)
    want = {"张三 两份三文鱼": {"1": 2}, "张三两份三黄鸡": {"4": 2}}[text]
    assert _ordered(entry) == want and not entry.problems, entry
