"""Through the fake adapter: phone numbers masked in group posts, lists with them only sent privately,
/my everywhere, "no deal" said once per resident per hour, and cards that end with their deal."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime

import pytest

from adapters.base import Capabilities
from adapters.fake import FakeAdapter, sender_id_of
from bot import commands, render
from bot import messages as m
from bot.config import config_from_dict
from bot.context import Core
from bot.demo_script import sample_deal
from bot.dispatch import NO_DEAL_REPEAT_SECONDS, Dispatcher
from bot.phones import mask_phones
from bot.services.orders import OrderService
from tests.pipeline import LEADER, config_dict, make_pipeline
from tests.stores import memory_store
from tests.waiting import eventually

BUTTONS = Capabilities(buttons=True, edits=True, reactions=True)


@pytest.mark.parametrize("text, shown", [
    ("3栋402 王姐 13800138000", "3栋402 王姐 138****8000"),
    ("王姐 138-1234-5678 葡萄2", "王姐 138****5678 葡萄2"),
    ("王姐 138 1234 5678", "王姐 138****5678"),
    ("+86 13912345678", "139****5678"),
    ("电话0755-8888-6666", "电话0755-****6666"),
    ("座机 010 1234 5678", "座机 010-****5678"),
    ("固话8888-6666", "固话****6666"),
    ("自提 138.5729.4613", "自提 138****4613"), ("王姐 138·1234·5678", "王姐 138****5678"),
    ("电话0755.8888.6666", "电话0755-****6666"), ("+86.139.1234.5678", "139****5678"),
    # never a phone: rooms, quantities, prices, dates, two room numbers
    ("3-1-502 葡萄2", "3-1-502 葡萄2"), ("12栋1801 鸡蛋10", "12栋1801 鸡蛋10"), ("合计 ¥1234.50", "合计 ¥1234.50"),
    ("2026年11月29日 14:05", "2026年11月29日 14:05"), ("2801 2802各一份", "2801 2802各一份"),
    ("葡萄12.5 鸡蛋32.00", "葡萄12.5 鸡蛋32.00"), ("截单 2026.11.30", "截单 2026.11.30"),
    ("2026.11.30 19:00 截单, 12.5元/斤", "2026.11.30 19:00 截单, 12.5元/斤"), ("单价 158.50", "单价 158.50"),
])
def test_mask_phones(text: str, shown: str) -> None:
    assert mask_phones(text) == shown


async def test_group_posts_mask_phone_numbers_and_private_copies_keep_them() -> None:
    p = await make_pipeline(Capabilities(reactions=False, direct=True))
    for who, line in [("王姐", "3栋402 王姐 13800138000 葡萄2"), ("阿强", "5栋101 阿强 0755-8888-6666 鸡蛋1")]:
        await p.chat.push(line, sender=who)
    digests = [s.text for s in p.chat.pop_all() if s.chat_id == "g1"]
    assert digests and all("0013" not in d and "8888-6666" not in d for d in digests)
    assert "138****8000" in digests[-1] and "0755-****6666" in digests[-1]
    await commands.post_pickup(p.core, "fake:g1", header=m.PICKUP_DEFAULT)  # the scheduled pickup post
    [posted] = p.chat.pop_all()
    assert posted.chat_id == "g1" and "138****8000" in posted.text and "13800138000" not in posted.text
    async with p.core.lock:
        tally = p.core.service.tally(p.deal_id, "fake:g1")
        catalog = p.core.service.catalog_of(p.deal_id)
    assert "13800138000" in render.pickup_list(tally, catalog, title="t", mask=False)
    await p.chat.push("/list", sender=LEADER, chat_id="dm", is_private=True)
    assert "13800138000" in p.chat.pop_all()[-1].text  # the leader's own private copy
    await p.close()


async def test_where_the_platform_cannot_write_privately_the_group_is_told_how() -> None:
    p = await make_pipeline(Capabilities(reactions=True, files=True))  # no direct messages
    await p.chat.push("3栋402 王姐 13800138000 葡萄2", sender="王姐")
    p.chat.pop_all()
    for name in ("export", "pickup"):
        await p.chat.push(f"/{name}", sender=LEADER)
        [said] = p.chat.pop_all()
        assert said.kind == "text" and said.chat_id == "g1"
        assert said.text == m.PRIVATE_HOW_DEFAULT.format(name=name) and said.mention is not None
    await p.close()


async def test_no_deal_is_said_once_per_resident_per_hour() -> None:
    data = config_dict()
    data["deals"] = []
    config = config_from_dict(data, "test.toml", env={})
    now = [1000.0]
    core = Core(service=OrderService(memory_store()), config=config, clock=lambda: datetime.now(UTC))
    chat = FakeAdapter("fake", Capabilities(reactions=True))
    core.adapters["fake"] = chat
    await chat.start(Dispatcher(core, clock=lambda: now[0]))
    copy_of_list = "#接龙\n1. 3栋402 王姐 葡萄2"
    await chat.push(copy_of_list, sender="王姐")
    await chat.push(copy_of_list + "\n2. 阿强 葡萄1", sender="阿强")
    await chat.push(copy_of_list + "\n2. 王姐 鸡蛋1", sender="王姐")
    said = chat.pop_all()
    assert [(s.mention.name if s.mention else "", s.text) for s in said] == [
        ("王姐", m.REFUSED_NO_DEAL), ("阿强", m.REFUSED_NO_DEAL)]  # 王姐 is not told twice
    now[0] += NO_DEAL_REPEAT_SECONDS - 1
    await chat.push(copy_of_list + "\n2. 王姐 鸡蛋2", sender="王姐")
    assert chat.pop_all() == []
    now[0] += 2
    await chat.push(copy_of_list + "\n2. 王姐 鸡蛋3", sender="王姐")
    assert [s.text for s in chat.pop_all()] == [m.REFUSED_NO_DEAL]


async def test_after_the_cutoff_each_resident_is_told_once() -> None:
    p = await make_pipeline(Capabilities(reactions=True))
    await p.chat.push("/close", sender=LEADER)
    p.chat.pop_all()
    for who in ("王姐", "王姐", "阿强"):
        await p.chat.push("葡萄1", sender=who)
    assert [(s.mention.name if s.mention else "", s.text) for s in p.chat.pop_all()] == [
        ("王姐", m.REFUSED_AFTER_CUTOFF), ("阿强", m.REFUSED_AFTER_CUTOFF)]
    await p.close()


async def test_text_orders_never_rewrite_an_old_card_into_the_new_deal(monkeypatch) -> None:
    monkeypatch.setattr("bot.dispatch.CARD_EDIT_SECONDS", 0.05)
    p = await make_pipeline(BUTTONS)
    await p.chat.push("/deal", sender=LEADER)
    card = p.chat.pop()
    await p.chat.push("/close", sender=LEADER)
    await p.chat.push("#接龙 周五蔬菜团\n1. 白菜 3元/颗\n2. 萝卜 2元/根\n3. 土豆 4元/斤", sender=LEADER)
    p.chat.pop_all()
    for who in ("王姐", "阿强"):
        await p.chat.push("土豆2", sender=who)
    # the edit comes on a 0.05 s timer, late on a loaded machine: wait for it, then for any second one
    await eventually(lambda: any(s.kind == "edit" for s in p.chat.sent), 10, what="the old card's edit")
    await asyncio.sleep(0.2)
    edits = [s for s in p.chat.pop_all() if s.kind == "edit"]
    assert len(edits) == 1 and edits[0].message_id == card.message_id
    assert m.CARD_ENDED in edits[0].text and "土豆" not in edits[0].text and edits[0].card is not None
    assert edits[0].card.rows == ()
    assert await p.chat.press_on(card, "add", "3", sender="李阿姨") == m.DEAL_ENDED
    assert [s for s in p.chat.pop_all() if s.kind == "edit"] == []  # edited once only
    await p.close()


async def test_my_order_in_a_group_and_privately_across_groups() -> None:
    data = config_dict()
    veg = copy.deepcopy(sample_deal(egg_stock=50))
    veg.update(id="veg", title="蔬菜团", groups=["park"])
    data["groups"].append({"id": "park", "platform": "fake", "chat": "g2", "title": "阳光花园"})
    data["deals"].append(veg)
    p = await make_pipeline(Capabilities(reactions=True), config=config_from_dict(data, "test.toml", env={}))
    await p.chat.push("葡萄2", sender="王姐")
    await p.chat.push("鸡蛋1", sender="王姐", chat_id="g2")
    await p.chat.push("脐橙1", sender="阿强", chat_id="g2")
    p.chat.pop_all()
    await p.chat.push("查单", sender="王姐", chat_id="g2")
    [said] = p.chat.pop_all()
    assert said.chat_id == "g2" and said.mention is not None and said.mention.user_id == sender_id_of("王姐")
    number = m.MY_NUMBER.format(numbers=m.MY_NUMBER_ONE.format(number=1))  # 王姐 ordered first in g2's deal
    # then point and paid mark (tests/test_leaderday.py), no pickup code: it is never said in a group,
    # and this platform cannot write privately, so how to ask for it there
    first, marks, how = said.text.splitlines()
    assert first == m.MY_ORDER.format(title="蔬菜团", state="", goods="鸡蛋1盒", amount="32.00") + number
    assert marks == m.MY_MARKS_GROUP.format(point="-", paid=m.MY_UNPAID, picked="") and how == m.MY_CODE_HOW_DEFAULT
    await p.chat.push("/my", sender="王姐", chat_id="dm-wang", is_private=True)
    [private] = p.chat.pop_all()
    assert private.chat_id == "dm-wang" and private.text.splitlines()[::2] == [
        m.GROUP_HEADING.format(group="幸福里团购群") + m.MY_ORDER.format(title="水果鸡蛋团", state="",
                                                                   goods="葡萄2盒", amount="59.80") + number,
        m.GROUP_HEADING.format(group="阳光花园") + m.MY_ORDER.format(title="蔬菜团", state="",
                                                               goods="鸡蛋1盒", amount="32.00") + number]
    assert all(line.startswith("取货码") for line in private.text.splitlines()[1::2])  # her codes, privately
    await p.chat.push("我的订单", sender="李阿姨", chat_id="dm-li", is_private=True)
    assert p.chat.pop().text == m.MY_NONE_ANYWHERE
    await p.close()


def test_cards_and_tallies_mask_phone_numbers_too() -> None:
    from bot.engine.dealpost import parse_deal_post
    from bot.services.outcome import Tally

    catalog = parse_deal_post("#接龙 周五团 团长电话13900001111\n1. 白菜 3元/颗\n2. 土豆 4元/斤")
    assert catalog is not None
    card = render.deal_card(catalog, title=catalog.title)
    tally = render.tally_table(Tally("d", (), {}, __import__("decimal").Decimal(0)), catalog, title=catalog.title)
    for text in (card.text, tally):
        assert "139****1111" in text and "13900001111" not in text


async def test_an_old_cards_data_sent_against_the_live_card_changes_nothing() -> None:
    """A hostile client replays yesterday's signed data on today's card: no order, and today's card
    is not rewritten as ended (its buttons stay)."""
    from bot.buttons import split

    LEAD = LEADER
    p = await make_pipeline(Capabilities(buttons=True, edits=True, reactions=True, direct=True))
    await p.chat.push("/deal", sender=LEAD)
    old = p.chat.pop()
    await p.chat.push("/close", sender=LEAD)
    await p.chat.push("#接龙 周五蔬菜团\n1. 白菜 3元/颗\n2. 萝卜 2元/根", sender=LEAD)
    await p.chat.push("/deal", sender=LEAD)
    new = [s for s in p.chat.pop_all() if s.kind == "card"][-1]
    deal_id, action, item, mac = split(old.card.rows[0][0].token)
    said = await p.chat.press(action, item, sender="坏人", chat_id=new.chat_id, deal_id=deal_id, signature=mac,
                              card_message_id=new.message_id)
    assert said == m.PRESS_UNKNOWN
    assert not [s for s in p.chat.pop_all() if s.kind == "edit" and s.message_id == new.message_id]
    assert p.core.service.deal_of(f"fake:{new.chat_id}").status == "open" and p.stored() == {}
    assert await p.chat.press_on(new, "add", "1", sender="王姐") != m.PRESS_UNKNOWN  # the live card still works
    await p.close()


async def test_a_cards_data_pressed_in_another_group_is_not_ours_there() -> None:
    """Card data is signed for the chat it was posted in: replayed in another group it does nothing."""
    from bot.buttons import split
    from tests.test_permissions import LEADER_A, two_groups

    p = await make_pipeline(Capabilities(buttons=True, edits=True, reactions=True, direct=True),
                            config=config_from_dict(two_groups(), "test.toml", env={}))
    await p.chat.push("/deal", sender=LEADER_A, chat_id="g1")
    card = [s for s in p.chat.pop_all() if s.kind == "card"][-1]
    deal_id, action, item, mac = split(card.card.rows[0][0].token)
    said = await p.chat.press(action, item, sender="坏人", chat_id="g2", deal_id=deal_id, signature=mac,
                              card_message_id="x1")
    assert said == m.PRESS_UNKNOWN and p.stored() == {}
    assert not [s for s in p.chat.pop_all() if s.kind == "edit"]
    await p.close()
