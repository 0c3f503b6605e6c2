"""Breaker 8: the engine's numeral-name rule (bot/engine/names.py, tokens.py ``_name_tail``, the
Chinese item code after a name's numeral of 8a4e3f7). A resident's order must never silently gain
an item they did not write."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.catalog import Catalog, Item
from bot.engine.reader import read_message

# a fruit deal whose items 2..4 may be ordered by code (二号, 三号)
FRUIT = Catalog(items=(
    Item("1", "阳光玫瑰葡萄", "盒", Decimal("29.9"), aliases=("葡萄",)),
    Item("2", "李子", "斤", Decimal("10")),
    Item("3", "金桔", "盒", Decimal("36")),
    Item("4", "石榴", "个", Decimal("5")),
))


def _ordered(text: str) -> dict[str, int]:
    reading = read_message(text, FRUIT, set(), set())
    assert reading.entry is not None
    got: dict[str, int] = {}
    for a in reading.entry.actions:
        got[a.item] = got.get(a.item, 0) + a.qty
    return got


@pytest.mark.parametrize("text", ["张三三号自提 葡萄2", "张三二号下午拿 葡萄2"])
def test_a_pickup_day_after_a_numeral_name_orders_no_item(text: str) -> None:
    assert _ordered(text) == {"1": 2}


@pytest.mark.parametrize(("text", "want"), [("李四 葡萄2", {"1": 2}), ("李四 李子2", {"2": 2}),
                                            ("金三 金桔1", {"3": 1}), ("石三 石榴2", {"4": 2})])
def test_a_surname_that_starts_an_item_name_orders_nothing_extra(text: str, want: dict[str, int]) -> None:
    assert _ordered(text) == want
