"""§3.5: the numbers of a building/room label are not quantities, also when the name after the room
starts with a character that follows a number in a span of time (周, 天, 年, 岁: 6栋101周奶奶 is room
101 and 周奶奶, not "101 weeks"); a real span of time (3天后取) is still no quantity."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.catalog import Catalog, Item
from bot.engine.reader import reader_for

CATALOG = Catalog(items=(Item(code="1", name="葡萄", unit="份", price=Decimal("10")),
                         Item(code="2", name="鸡蛋", unit="盒", price=Decimal("28"))))

ROWS = [
    ("6栋101周奶奶 葡萄1", "6栋101周奶奶", {"1": 1}),
    ("帮邻居7栋301周奶奶 葡萄1", "帮邻居7栋301周奶奶", {"1": 1}),
    ("3栋402年年 鸡蛋2", "3栋402年年", {"2": 2}),
    ("5栋201天天妈妈 葡萄2", "5栋201天天妈妈", {"1": 2}),
    ("3栋 402周姐 葡萄3", "3栋 402周姐", {"1": 3}),
    ("9-1-302周阿姨 鸡蛋1", "9-1-302周阿姨", {"2": 1}),
    ("3#402周姐 葡萄2", "3#402周姐", {"1": 2}),
    ("5号楼2单元301周叔 葡萄1", "5号楼2单元301周叔", {"1": 1}),
    ("6栋101 周奶奶 葡萄1", "6栋101 周奶奶", {"1": 1}),
    # a span of time is still no quantity
    ("葡萄2 3天后取", None, {"1": 2}),
    ("鸡蛋1 放2周没问题", None, {"2": 1}),
    ("3栋402 王姐 葡萄2 孩子3岁", "3栋402 王姐", {"1": 2}),
]


@pytest.mark.parametrize(("text", "label", "want"), ROWS, ids=[r[0] for r in ROWS])
def test_room_numbers_are_the_label_whatever_the_name_starts_with(text: str, label: str | None,
                                                                  want: dict[str, int]) -> None:
    entry = reader_for(CATALOG).read(text, in_list=False)
    got: dict[str, int] = {}
    for a in entry.actions:
        assert a.kind == "entry", entry
        got[a.item] = got.get(a.item, 0) + a.qty
    assert got == want, entry
    assert not entry.problems, entry
    if label is not None:
        assert entry.label == label, entry
