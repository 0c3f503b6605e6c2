"""Forged button presses, private-only lists and phone masking that hold (breaker2 regression guards).

Driven through the fake adapter → Dispatcher → OrderService, as a hostile resident would.
"""

from __future__ import annotations

from adapters.base import Capabilities
from bot import messages as m
from bot.buttons import split
from tests.pipeline import LEADER, make_pipeline

BUTTONS = Capabilities(buttons=True, edits=True, reactions=True, direct=True, files=True)
PHONE = "13500001111"


async def test_forged_button_data_changes_nothing() -> None:
    """bot/buttons.py: data nobody signed (no MAC, another item's MAC, another deal) acts on nothing."""
    p = await make_pipeline(BUTTONS)
    await p.chat.push("/deal", sender=LEADER)
    card = p.chat.pop()
    add1 = next(b for row in card.card.rows for b in row if (b.action, b.item_code) == ("add", "1"))
    parts = split(add1.token)
    assert parts is not None
    deal_id, _, _, mac = parts
    forged = [("add", "1", deal_id, ""), ("add", "4", deal_id, mac), ("sub", "1", deal_id, mac),
              ("add", "1", "veg", mac), ("mine", None, deal_id, mac)]
    for action, item, deal, signature in forged:
        said = await p.chat.press(action, item, sender="坏人", chat_id="g1", deal_id=deal,
                                  signature=signature, card_message_id=card.message_id)
        assert said == m.PRESS_UNKNOWN, (action, item, deal)
    assert p.stored() == {}
    await p.close()


async def test_button_adds_stop_at_the_household_limit() -> None:
    """Spec §3.5 max_qty (the sample deal's 每户限购10) holds for presses as for text."""
    p = await make_pipeline(BUTTONS)
    await p.chat.push("/deal", sender=LEADER)
    card = p.chat.pop()
    answers = [await p.chat.press_on(card, "add", "1", sender="王姐") for _ in range(12)]
    assert answers[-1] != answers[0] and p.stored() == {"王姐": {"1": 10}}
    await p.chat.press_on(card, "sub", "2", sender="王姐")  # 脐橙 she does not have
    assert p.stored() == {"王姐": {"1": 10}}
    await p.close()


async def test_private_lists_for_a_resident_and_for_the_leader() -> None:
    """docs/security.md: /export and /pickup go to the leader privately; a resident privately gets nothing."""
    p = await make_pipeline(BUTTONS)
    await p.chat.push(f"3栋402 王姐 {PHONE} 葡萄2", sender="王姐")
    p.chat.pop_all()
    for name in ("export", "pickup", "list", "tally"):
        await p.chat.push(f"/{name}", sender="王姐", chat_id="dm-wang", is_private=True)
        assert [s.text for s in p.chat.pop_all()] == [m.PRIVATE_NO_GROUP]
    await p.chat.push("/pickup", sender=LEADER, chat_id="dm-leader", is_private=True)
    [said] = p.chat.pop_all()
    assert said.chat_id == "dm-leader"
    await p.chat.push("/export", sender=LEADER, chat_id="dm-leader", is_private=True)
    [file] = p.chat.pop_all()
    assert file.chat_id == "dm-leader" and file.kind == "file"
    await p.close()


async def test_questions_and_my_order_in_the_group_do_not_show_a_phone() -> None:
    """docs/security.md: everything posted in a group shows phone numbers masked."""
    p = await make_pipeline(BUTTONS)
    for who, text in [("钱", f"{PHONE} 葡萄半斤"), ("李", f"同上 {PHONE}"), ("孙", f"{PHONE} 改成3"),
                      ("张", f"{PHONE} 橙1"), ("赵", f"榴莲{PHONE} 2"), ("王姐", f"3栋402 王姐 {PHONE} 葡萄2"),
                      ("王姐", "查单"), ("王姐", "我的订单")]:
        await p.chat.push(text, sender=who)
    group = [s.text for s in p.chat.pop_all() if s.chat_id == "g1"]
    assert group and all(PHONE not in t for t in group)
    await p.close()
