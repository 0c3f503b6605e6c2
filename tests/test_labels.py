"""The label is what stands before the first item or quantity (spec §3.3): pickup lists show it."""

from __future__ import annotations

import pytest

from bot.catalog import Catalog, Item
from bot.engine.reader import read_message

BY_JIN = Catalog(items=(Item("1", "丑橘", "斤", aliases=("丑橘",)),))
CITRUS = Catalog(items=(Item("1", "阳光玫瑰葡萄", "盒", aliases=("葡萄",)), Item("2", "砂糖桔", "箱", aliases=("桔",))))


@pytest.mark.parametrize("catalog, text, label, qty", [
    (BY_JIN, "刘小西3斤", "刘小西", 3),  # a weight the deal sells by is the quantity, not part of the name
    (BY_JIN, "3栋402 王姐 5斤", "3栋402 王姐", 5),
    (CITRUS, "5栋101 李 桔5", "5栋101 李", 5),  # a one-character alias with its number against it
    (CITRUS, "3栋402 王姐 葡萄2", "3栋402 王姐", 2),
    (CITRUS, "9-1-302 赵磊 两箱砂糖桔", "9-1-302 赵磊", 2),
])
def test_the_label_stops_at_the_first_item_or_quantity(catalog: Catalog, text: str, label: str, qty: int) -> None:
    entry = read_message(text, catalog, set(), set()).entry
    assert entry is not None and entry.label == label
    assert [a.qty for a in entry.actions] == [qty]
