"""Names that end (or start) in a Chinese numeral are labels, not quantities (spec §3.2, §3.5).

§3.2: an entry is an optional label (a name, a building/room), then (item, quantity) pairs.
§3.5: a quantity stands after its item (葡萄2) or before it (2桔, 两箱砂糖桔, 要一盒葡萄); numbers that
are part of a label are not quantities. So the 三 of 张三 (李四, 王五, 老五, 小二, 王二麻子) and the
三 of 三姐 (二哥, 四叔) belong to the name: 「张三鸡蛋1」 is 1 鸡蛋, 「王五 葡萄」 is 1 葡萄 (no quantity
means 1). A numeral after an ordering word (要三盒葡萄), after an item (葡萄三) or at the start of the
clause (三盒葡萄, 一贡三桔) is still a quantity. An item with a quantity before it and another after it
(两盒葡萄2) has two quantities, which the spec does not reconcile: it is unclear, never silently one.
A name is a surname or 老/小/阿 with the numeral (bot/engine/names.py): after 我家, 家里 or a whole
name (老王一贡三桔) the numeral is a quantity. A positional numeral after a surname (张三十盒) reads
both as 张三 + 十盒 and as 张 + 三十盒: it is unclear. The name's numeral is no item code or item word
either: 张三一号两份 is 2 of item 1, 王五 2斤五花肉 is 2 斤. A day of the month followed by a pickup
or delivery word (张三三号自提, 二号下午拿, 3号到货) is a date, no item code (§3.5 times are no
quantities). A surname that is also one character of an item (李四 with 李子 on sale) is the name when
another item follows it: 李四 葡萄2 is 2 葡萄 only (§3.4: one character counts only standing alone).

Each row is ``(catalog, text, want, label)``: ``want`` is what the message orders (item code ->
quantity, with nothing unclear), or ``U`` (nothing ordered, a problem for the resident to answer);
``label`` is the entry's label when given (§3.3: what stands before the first item or quantity).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.catalog import Catalog, Item
from bot.engine.reader import read_message
from bot.services.outcome import AMBIGUOUS_ITEM, BAD_QTY, UNKNOWN_ITEM

U = "unclear"

# the sample deal of the breaker tests: 葡萄 (1), 脐橙 (2), 血橙 (3), 鸡蛋 (4)
FRUIT = Catalog(items=(
    Item("1", "阳光玫瑰葡萄 2斤装", "盒", Decimal("29.9"), aliases=("葡萄", "阳光玫瑰")),
    Item("2", "赣南脐橙 5斤", "箱", Decimal("25.8"), aliases=("脐橙",)),
    Item("3", "塔罗科血橙", "箱", Decimal("36"), aliases=("血橙",)),
    Item("4", "土鸡蛋 30枚", "盒", Decimal("32"), aliases=("鸡蛋",)),
))
ONE = Catalog(items=(Item("1", "百香果 5斤", "箱", Decimal("39.9")),))  # a one-item deal (§3.4)
CITRUS = Catalog(items=(  # the 1贡3桔 deal of §3.5
    Item("1", "赣南贡柑", "箱", Decimal("30"), aliases=("贡柑", "贡")),
    Item("2", "砂糖桔", "箱", Decimal("30"), aliases=("桔",)),
))

# item names that start with a numeral (三文鱼, 五花肉, 三黄鸡), next to names that end in one
FISH = Catalog(items=(
    Item("1", "挪威三文鱼 500g", "份", Decimal("89"), aliases=("三文鱼",)),
    Item("2", "黑猪五花肉", "斤", Decimal("30"), aliases=("五花肉",)),
    Item("3", "三黄鸡", "只", Decimal("59")),
))
# items whose first character is a common surname (李, 金, 石): 李四, 金三, 石三 are names
ORCHARD = Catalog(items=(
    Item("1", "阳光玫瑰葡萄", "盒", Decimal("29.9"), aliases=("葡萄",)),
    Item("2", "李子", "斤", Decimal("10")),
    Item("3", "金桔", "盒", Decimal("36")),
    Item("4", "石榴", "个", Decimal("5")),
))

ROWS = [
    # a name ending in a numeral, glued to the item: the number after the item is the quantity
    (FRUIT, "张三鸡蛋1", {"4": 1}, "张三"),
    (FRUIT, "3栋402李四葡萄2", {"1": 2}, "3栋402李四"),
    (FRUIT, "老五葡萄1盒", {"1": 1}, "老五"),
    (FRUIT, "小二葡萄x2", {"1": 2}, "小二"),
    (FRUIT, "老八鸡蛋2盒", {"4": 2}, "老八"),
    (FRUIT, "3-402张三鸡蛋1", {"4": 1}, "3-402张三"),
    (FRUIT, "王二麻子葡萄2", {"1": 2}, "王二麻子"),
    (FRUIT, "张三鸡蛋1盒 葡萄2", {"4": 1, "1": 2}, "张三"),
    # ... and with no quantity written, 1 (§3.5 'No quantity means 1')
    (FRUIT, "张三鸡蛋", {"4": 1}, "张三"),
    (FRUIT, "王五 葡萄", {"1": 1}, "王五"),
    (FRUIT, "3栋402 王五 葡萄", {"1": 1}, "3栋402 王五"),
    (FRUIT, "张三 葡萄 鸡蛋", {"1": 1, "4": 1}, "张三"),
    # a quantity before the item, after the name
    (FRUIT, "赵六 两盒葡萄", {"1": 2}, "赵六"),
    (FRUIT, "小六两盒葡萄", {"1": 2}, "小六"),
    (FRUIT, "李四给我两盒葡萄", {"1": 2}, None),
    (FRUIT, "张三要两盒鸡蛋", {"4": 2}, "张三"),
    # a quantity after the item, the name with a space
    (FRUIT, "钱七 鸡蛋两盒", {"4": 2}, "钱七"),
    (FRUIT, "李四 葡萄三盒", {"1": 3}, "李四"),
    (FRUIT, "王五 血橙二", {"3": 2}, "王五"),
    (FRUIT, "阿三 葡萄2 血橙1", {"1": 2, "3": 1}, "阿三"),
    (FRUIT, "老九 葡萄两盒,鸡蛋一盒", {"1": 2, "4": 1}, "老九"),
    (FRUIT, "张三 葡萄改成2", None, "张三"),  # a change (set), checked below
    # a name that starts with a numeral (三姐, 二哥): the label
    (FRUIT, "三姐 葡萄2", {"1": 2}, "三姐"),
    (FRUIT, "三姐 葡萄", {"1": 1}, "三姐"),
    (FRUIT, "二哥葡萄1", {"1": 1}, "二哥"),
    (FRUIT, "3栋402 四叔 鸡蛋1", {"4": 1}, "3栋402 四叔"),
    (FRUIT, "十三姨 鸡蛋2", {"4": 2}, "十三姨"),
    # numerals that are quantities: after an ordering word, after the item, at the start of a clause
    (FRUIT, "要三盒葡萄", {"1": 3}, ""),
    (FRUIT, "三盒葡萄", {"1": 3}, ""),
    (FRUIT, "要三葡萄", {"1": 3}, ""),
    (FRUIT, "来二鸡蛋", {"4": 2}, ""),
    (FRUIT, "买两盒鸡蛋", {"4": 2}, ""),
    (FRUIT, "一共三盒葡萄", {"1": 3}, None),
    (FRUIT, "葡萄三", {"1": 3}, ""),
    (FRUIT, "葡萄的二", {"1": 2}, ""),
    (FRUIT, "葡萄就三盒", {"1": 3}, ""),
    (FRUIT, "葡萄、鸡蛋各两盒", {"1": 2, "4": 2}, ""),
    (FRUIT, "王姐 两盒葡萄", {"1": 2}, "王姐"),
    (FRUIT, "3栋402 张三 葡萄2 明天下午三点取", {"1": 2}, "3栋402 张三"),
    (CITRUS, "桔子三", {"2": 3}, ""),  # the word's tail against the item, the number against it
    (CITRUS, "1贡3桔", {"1": 1, "2": 3}, ""),
    (CITRUS, "一贡三桔", {"1": 1, "2": 3}, ""),
    (CITRUS, "王五 一贡三桔", {"1": 1, "2": 3}, "王五"),
    (CITRUS, "张三一贡三桔", {"1": 1, "2": 3}, "张三"),
    # two quantities for one item: unclear, never silently the one before (or inside the name)
    (FRUIT, "两盒葡萄2", U, ""),
    (FRUIT, "王姐 2盒葡萄3", U, "王姐"),
    (FRUIT, "张三两盒葡萄1", U, "张三"),
    (FRUIT, "老五 三盒鸡蛋2", U, "老五"),
    # a numeral against a word that is no name is still read as before: these stay unclear
    (FRUIT, "橙三", U, ""),  # 橙 fits 脐橙 and 血橙
    (FRUIT, "苹果三", U, ""),  # no 苹果 in this deal
    (FRUIT, "鸡蛋 留两", U, ""),  # after the item: no label (§3.2), so 两 is a number the bot asks about
    # a name is a surname or 老/小/阿 with the numeral: after another word (我家, 老王) it is a quantity
    (CITRUS, "老王一贡三桔", {"1": 1, "2": 3}, "老王"),  # 老王 is a whole name; 一贡三桔 as in §3.5
    (CITRUS, "老张三贡", {"1": 3}, "老张"),
    (FRUIT, "我家三葡萄", {"1": 3}, "我家"),
    (CITRUS, "我家三桔", {"2": 3}, "我家"),
    (FRUIT, "我们家三盒葡萄", {"1": 3}, "我们家"),
    (FRUIT, "家里两盒鸡蛋", {"4": 2}, "家里"),
    (FRUIT, "俺家两盒葡萄", {"1": 2}, "俺家"),
    (FRUIT, "小王三葡萄", {"1": 3}, "小王"),
    (FRUIT, "王小二 葡萄2", {"1": 2}, "王小二"),
    # a positional numeral after a surname reads two ways (张三 十盒, or 张 三十盒): asked, never one
    (FRUIT, "张三十盒葡萄", U, None),
    (FRUIT, "李四十盒鸡蛋", U, None),
    (FRUIT, "张三十 葡萄", U, None),
    (FRUIT, "张三 十盒葡萄", {"1": 10}, "张三"),  # a space: the name is 张三
    # a Chinese item code right after the name's numeral (§3.4 一号)
    (FRUIT, "张三一号两份", {"1": 2}, "张三"),
    (FRUIT, "王五三号一份", {"3": 1}, "王五"),
    (FRUIT, "王五二号一份", {"2": 1}, "王五"),
    # ... but a day of the month with a pickup or delivery word after it is a date, no item code
    (ORCHARD, "张三三号自提 葡萄2", {"1": 2}, "张三三号自提"),
    (ORCHARD, "张三二号下午拿 葡萄2", {"1": 2}, "张三二号下午"),
    (ORCHARD, "王五四号到货 葡萄2", {"1": 2}, "王五四号到货"),
    (ORCHARD, "张三 三号下午拿 葡萄2", {"1": 2}, "张三 三号下午"),
    (ORCHARD, "三号自提 葡萄2", {"1": 2}, "三号自提"),
    (ORCHARD, "二号 送 葡萄2", {"1": 2}, "二号 送"),
    (ORCHARD, "3号自提 葡萄2", {"1": 2}, "3号自提"),
    (ORCHARD, "葡萄2 三号自取", {"1": 2}, ""),
    (ORCHARD, "张三三号一份", {"3": 1}, "张三"),  # no pickup word: the code of §3.4
    # a surname that is one character of an item: the name, when another item follows it
    (ORCHARD, "李四 葡萄2", {"1": 2}, "李四"),
    (ORCHARD, "李四 李子2", {"2": 2}, "李四"),
    (ORCHARD, "金三 金桔1", {"3": 1}, "金三"),
    (ORCHARD, "石三 石榴2", {"4": 2}, "石三"),
    (ORCHARD, "石三石榴2", {"4": 2}, "石三"),
    (ORCHARD, "3栋402李四 葡萄2", {"1": 2}, "3栋402李四"),
    (ORCHARD, "李四 葡萄两盒", {"1": 2}, "李四"),
    (ORCHARD, "李四 葡萄", {"1": 1}, "李四"),
    (ORCHARD, "5. 3栋402 金三 葡萄1", {"1": 1}, "3栋402 金三"),
    # the name's numeral is no item word either, when an item name starts with a numeral
    (FISH, "王五 2斤五花肉", {"2": 2}, "王五"),
    (FISH, "王五两斤五花肉", {"2": 2}, "王五"),
    (FISH, "王五 五花肉2", {"2": 2}, "王五"),
    (FISH, "张三 两份三文鱼", {"1": 2}, "张三"),
    (FISH, "张三两份三黄鸡", {"3": 2}, "张三"),
    (FISH, "三文鱼2", {"1": 2}, ""),
    # a one-item deal: a label-only line is 1, a quantity without an item is that many (§3.4)
    (ONE, "我家三", {"1": 3}, "我家"),  # no name: 三 is a quantity, never dropped silently
    (ONE, "老王三", {"1": 3}, "老王"),
    (ONE, "6. 3栋402 王五", {"1": 1}, "3栋402 王五"),
    (ONE, "6. 3栋402 三姐", {"1": 1}, "3栋402 三姐"),
    (ONE, "6. 王五", {"1": 1}, "王五"),
    (ONE, "3栋402 王五", {"1": 1}, "3栋402 王五"),
    (ONE, "王五 2箱", {"1": 2}, "王五"),
    (ONE, "赵六三箱", {"1": 3}, "赵六"),
    # copy style: the new numbered line of a 接龙 copy
    (FRUIT, "5. 3栋402 张三 鸡蛋1", {"4": 1}, "3栋402 张三"),
    (FRUIT, "5. 张三鸡蛋1", {"4": 1}, "张三"),
    (FRUIT, "5. 3栋402李四葡萄2", {"1": 2}, "3栋402李四"),
    (FRUIT, "5. 张三\n鸡蛋1", {"4": 1}, "张三"),  # the name on one line, the goods on the next
    (FRUIT, "5. 3栋402 二姐 葡萄2", {"1": 2}, "3栋402 二姐"),
]


def _entries(catalog: Catalog, text: str) -> list:  # type: ignore[type-arg]
    reading = read_message(text, catalog, set(), set())
    if reading.is_list:
        return [u.entry for u in reading.units if u.entry is not None]
    assert reading.entry is not None
    return [reading.entry]


@pytest.mark.parametrize(("catalog", "text", "want", "label"), ROWS, ids=[r[1] for r in ROWS])
def test_a_numeral_of_a_name_is_no_quantity(catalog: Catalog, text: str, want: dict[str, int] | str | None,
                                            label: str | None) -> None:
    entries = _entries(catalog, text)
    assert len(entries) == 1, entries
    entry = entries[0]
    if label is not None:
        assert entry.label == label, entry
    if want is None:
        return
    if want == U:
        assert not entry.actions, entry
        assert entry.problems, entry
        return
    got: dict[str, int] = {}
    for a in entry.actions:
        assert a.kind == "entry", entry
        got[a.item] = got.get(a.item, 0) + a.qty
    assert got == want, entry
    assert not entry.problems, entry


def test_a_change_after_a_numeral_name_sets_the_written_number() -> None:
    (entry,) = _entries(FRUIT, "张三 葡萄改成2")
    assert [(a.kind, a.item, a.qty) for a in entry.actions] == [("set", "1", 2)]
    assert not entry.problems


@pytest.mark.parametrize(("text", "code", "words"), [
    ("两盒葡萄2", "1", "两盒葡萄2"),
    ("张三两盒葡萄1", "1", "两盒葡萄1"),
    ("老五 三盒鸡蛋2", "4", "三盒鸡蛋2"),
])
def test_two_quantities_for_one_item_ask_about_that_item(text: str, code: str, words: str) -> None:
    (entry,) = _entries(FRUIT, text)
    assert [(p.code, p.item_code, p.detail) for p in entry.problems] == [(BAD_QTY, code, words)]


def test_the_words_that_are_no_name_keep_their_problem() -> None:
    (orange,) = _entries(FRUIT, "橙三")
    assert [(p.code, p.qty) for p in orange.problems] == [(AMBIGUOUS_ITEM, 3)]  # asked with its 3
    (apple,) = _entries(FRUIT, "苹果三")
    assert [p.code for p in apple.problems] == [UNKNOWN_ITEM]


def test_a_copy_reads_only_the_new_numeral_name_line() -> None:
    seen_text = "#接龙 葡萄\n1. 3栋101 王姐 葡萄1"
    seen = {u.unit.key for u in read_message(seen_text, FRUIT, set(), set()).units}
    copy = seen_text + "\n2. 5栋302 张三鸡蛋1\n3. 6栋101 三姐 葡萄"
    units = [u for u in read_message(copy, FRUIT, seen, set()).units if u.entry is not None]
    got = [(u.unit.number, u.entry.label, [(a.item, a.qty) for a in u.entry.actions]) for u in units]
    assert got == [("2", "5栋302 张三", [("4", 1)]), ("3", "6栋101 三姐", [("1", 1)])]


@pytest.mark.parametrize(("text", "code"), [("1号取消", "1"), ("一号取消", "1"), ("3号 取消", "3")])
def test_a_code_before_a_cancel_is_no_pickup_day(text: str, code: str) -> None:
    """取消 after a code cancels that item (§3.6 葡萄取消): the 取 of a pickup day (3号取) is not 取消."""
    (entry,) = _entries(ORCHARD, text)
    assert [(a.kind, a.item) for a in entry.actions] == [("cancel_item", code)]
