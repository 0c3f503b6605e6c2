"""Breaker round 6: residents in the group chat (fake adapter → Dispatcher → OrderService), bugs kept
as strict xfails (the mark goes once the fix lands). Sample deal: 葡萄 (1), 脐橙 (2), 血橙 (3), 鸡蛋 (4)."""

from __future__ import annotations

import pytest

from adapters.base import Capabilities
from tests.pipeline import make_pipeline

CAPS = Capabilities(reactions=True, direct=True)


# HIGH. User sees: 张三 types her usual 接龙 line without a space, 「张三鸡蛋1」, and gets a ✅; the list
# then says 「张 鸡蛋3」 and she is charged for 3 boxes (¥96 instead of ¥32). The numeral ending her
# name is read as a quantity written before the item (spec §3.5 `2桔`), and the quantity she did write
# after it is dropped without a question. Names and nicknames ending in a numeral are common in
# group chats (张三, 李四, 老五, 小六, 钱七); two quantities for one item should be unclear, not
# silently the one inside the name. (With a space, 「张三 鸡蛋1」, she gets 1.)
@pytest.mark.parametrize(("who", "text", "code", "meant"), [
    ("张三", "张三鸡蛋1", "4", 1),
    ("李四", "3栋402李四葡萄2", "1", 2),
    ("老五", "老五葡萄1盒", "1", 1),
    ("赵六", "赵六 两盒葡萄", "1", 2),  # with a space: label 「赵六 两盒」, 1 box (of 2)
])
async def test_a_name_ending_in_a_numeral_is_not_the_quantity(who: str, text: str, code: str, meant: int) -> None:
    p = await make_pipeline(CAPS)
    await p.chat.push(text, sender=who)
    got = p.stored().get(who, {}).get(code)
    await p.close()
    assert got in (None, meant), f"{text!r} ordered {got} (meant {meant})"


# HIGH (privacy). User sees: 李四 orders for his neighbour with her phone number on the line
# (「帮邻居 6栋101 刘奶奶 电话13900001111 葡萄1」); every list the bot posts in the group masks it
# (139****1111), but when 李四 asks 「/my」 in the group the bot's answer there names her household
# with the whole number: 「跟团号 #2、#1(6栋101 刘奶奶 电话13900001111)」, for the whole group to read.
async def test_my_in_the_group_masks_a_neighbour_s_phone() -> None:
    p = await make_pipeline(CAPS)
    await p.chat.push("帮邻居 6栋101 刘奶奶 电话13900001111 葡萄1", sender="李四")
    await p.chat.push("5栋101 李四 鸡蛋1", sender="李四")
    p.chat.pop_all()
    await p.chat.push("/my", sender="李四")
    in_group = [s.text for s in p.chat.pop_all() if s.chat_id == p.chat.chat_id]
    await p.close()
    assert in_group, "no answer in the group"
    assert not [t for t in in_group if "13900001111" in t], in_group


# LOW. User sees: 王五 writes 「王五 葡萄」 (one box: no quantity means 1, spec §3.5) and the bot asks what
# she wants instead of taking it (the 五 of her name is read as a quantity without an item: "no item
# named: 五"); 「3栋402 王五 葡萄」 and 「张三 葡萄 鸡蛋」 likewise. 「王姐 葡萄」 orders 1.
async def test_a_name_ending_in_a_numeral_orders_one_without_a_quantity() -> None:
    p = await make_pipeline(CAPS)
    await p.chat.push("3栋402 王五 葡萄", sender="王五")
    got = p.stored().get("王五", {})
    await p.close()
    assert got == {"1": 1}, got
