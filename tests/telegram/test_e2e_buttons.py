"""Buttons belong to their deal, lists with phone numbers go to the leader privately, /my: through the
fake Bot API over HTTP ⇄ PTB ⇄ TelegramAdapter ⇄ Dispatcher ⇄ OrderService ⇄ SQLite."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

import bot.dispatch
from bot import messages as m
from storage.sql import SqlRepository, open_repository
from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.stack import CHAT_ID, Stack, build, button_data, stored
from tests.telegram.updates import Chat, Person

LEADER = Person(1, "团长小美", username="xiaomei")
WANG, LI = Person(1001, "王姐"), Person(1002, "李哥")
VEG_POST = "#接龙 周五蔬菜团\n1. 白菜 3元/颗\n2. 萝卜 2元/根\n3. 土豆 4元/斤"


@pytest.fixture
async def repo(sqlite_url: str) -> AsyncIterator[SqlRepository]:
    store = open_repository(sqlite_url)
    yield store
    store.close()


@pytest.fixture
async def stack(api: FakeBotApi, repo: SqlRepository, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Stack]:
    monkeypatch.setattr(bot.dispatch, "CARD_EDIT_SECONDS", 0.1)
    api.set_admins(CHAT_ID, [LEADER.json()])
    running = await build(repo, api.base_url, api.token).start()
    yield running
    await running.stop()


def answers(api: FakeBotApi) -> dict[str, str | None]:
    return {c.params["callback_query_id"]: c.params.get("text") for c in api.calls_to("answerCallbackQuery")}


def edits_of(api: FakeBotApi, message_id: int) -> list[dict]:
    return [c.params for c in api.calls_to("editMessageText") if int(c.params["message_id"]) == message_id]


async def post_card(api: FakeBotApi, group: Chat) -> tuple[int, dict[str, str]]:
    before = len(api.calls_to("sendMessage"))
    group.say(LEADER, "/deal")
    await api.wait_for(lambda: any(c.params["text"].startswith("🛒") for c in api.calls_to("sendMessage")[before:]))
    call = next(c for c in api.calls_to("sendMessage")[before:] if c.params["text"].startswith("🛒"))
    card_id = max(mid for (chat, mid) in api.bot_messages if chat == CHAT_ID and "reply_markup" in
                  api.bot_messages[(chat, mid)])
    return card_id, button_data(call)


async def test_a_press_on_yesterdays_card_never_orders_from_todays_deal(api: FakeBotApi, stack: Stack,
                                                                        repo: SqlRepository) -> None:
    group = Chat(api, CHAT_ID)
    card_id, data = await post_card(api, group)
    old_deal = stack.deal_id
    first = group.press(WANG, card_id, data["血橙 +1"])
    await api.wait_for(lambda: first in answers(api))
    assert answers(api)[first] == m.PRESS_TOTAL.format(item="血橙", qty=1, unit="箱")

    group.say(LEADER, "/close")
    await api.wait_for(lambda: any(t.startswith(m.CLOSED) for t in api.sent_texts(CHAT_ID)))
    group.say(LEADER, VEG_POST)  # a new deal: its item 3 is 土豆
    await api.wait_for(lambda: any(t.startswith("已按团长的接龙帖开团") for t in api.sent_texts(CHAT_ID)))
    new_deal = stack.deal_id
    assert new_deal != old_deal

    late = [group.press(LI, card_id, data["血橙 +1"]), group.press(WANG, card_id, data["我的订单"]),
            group.press(LI, card_id, data["血橙 +1"])]
    await api.wait_for(lambda: all(q in answers(api) for q in late))
    assert [answers(api)[q] for q in late] == [m.DEAL_ENDED] * 3
    assert stack.core.service.tally(new_deal).rows == ()  # nobody was given 土豆
    assert {k: v for k, v in stored_in(repo, old_deal).items()} == {str(WANG.id): {"3": 1}}

    # The old card is edited once to say it ended, without buttons, and never shows the new deal.
    await api.wait_for(lambda: bool(edits_of(api, card_id)))
    [edit] = edits_of(api, card_id)
    assert m.CARD_ENDED in edit["text"] and "血橙" in edit["text"] and "土豆" not in edit["text"]
    assert "reply_markup" not in api.bot_messages[(CHAT_ID, card_id)]


def stored_in(repo: SqlRepository, deal_id: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for e in repo.deal_entries(deal_id):
        if e.removed or e.superseded_seq is not None:
            continue
        out.setdefault(e.sender_id, {})
        out[e.sender_id][e.item_code] = out[e.sender_id].get(e.item_code, 0) + e.qty
    return out


async def test_forged_or_unknown_data_gets_a_neutral_answer_and_changes_nothing(api: FakeBotApi, stack: Stack,
                                                                                repo: SqlRepository) -> None:
    group = Chat(api, CHAT_ID)
    card_id, data = await post_card(api, group)
    deal = stack.deal_id
    digits = "1" * 80
    forged = ["t:add:7", f"t:add:{digits}", "t:sub:1", "t:mine", f"t:{deal}:add:1:AAAAAAAAAAAAAAAA",
              data["葡萄 +1"].replace(":add:1:", ":add:3:"), data["葡萄 +1"].replace(deal, "d000000000000000")]
    queries = [group.press(WANG, card_id, f) for f in forged]
    nothing = group.press(LI, card_id, next(v for k, v in data.items() if k.startswith("−1")))  # 葡萄 −1
    await api.wait_for(lambda: all(q in answers(api) for q in [*queries, nothing]))
    said = answers(api)
    assert [said[q] for q in queries] == [m.PRESS_UNKNOWN] * len(forged)
    assert said[nothing] == m.PRESS_NOTHING_TO_CANCEL.format(item="葡萄")
    assert not any(digits in (t or "") or "已取消" in (t or "") for t in said.values())
    assert stored(repo) == {}
    assert not edits_of(api, card_id)


async def test_export_and_pickup_are_sent_to_the_leader_privately(api: FakeBotApi, stack: Stack) -> None:
    group = Chat(api, CHAT_ID)
    group.say(WANG, "3栋402 王姐 138-0013-8000 葡萄2")  # (the engine drops space-split digits from labels)
    group.say(LI, "5栋101 李哥 0755-8888-6666 鸡蛋1")
    await api.wait_for(lambda: len(api.calls_to("setMessageReaction")) == 2)
    group.say(LEADER, "/list")
    await api.wait_for(lambda: any(t.startswith("#接龙") for t in api.sent_texts(CHAT_ID)))
    listing = next(t for t in api.sent_texts(CHAT_ID) if t.startswith("#接龙"))
    assert "138****8000" in listing and "0755-****6666" in listing and "0013" not in listing

    group.say(LEADER, "/export")
    await api.wait_for(lambda: bool(api.calls_to("sendDocument")))
    [doc] = api.calls_to("sendDocument")
    assert int(doc.params["chat_id"]) == LEADER.id  # the leader's private chat, never the group
    await api.wait_for(lambda: m.SENT_PRIVATELY in " ".join(api.sent_texts(CHAT_ID)))

    group.say(LEADER, "/pickup")
    await api.wait_for(lambda: any("📦" in t for t in api.sent_texts(LEADER.id)))
    pickup = next(t for t in api.sent_texts(LEADER.id) if "📦" in t)
    assert "138-0013-8000" in pickup and "0755-8888-6666" in pickup
    assert not any("📦" in t or "0013" in t for t in api.sent_texts(CHAT_ID))
    await api.wait_for(lambda: sum(t.endswith(m.SENT_PRIVATELY) for t in api.sent_texts(CHAT_ID)) == 2)

    # The leader never started a private chat with the bot: Telegram refuses, the group is told how.
    api.fail("sendMessage", 403, "Forbidden: bot can't initiate conversation with a user")
    group.say(LEADER, "/pickup")
    how = m.PRIVATE_HOW["telegram"].format(name="pickup")
    await api.wait_for(lambda: any(t.endswith(how) for t in api.sent_texts(CHAT_ID)))


async def test_residents_see_their_own_order_in_the_group_and_privately(api: FakeBotApi, stack: Stack) -> None:
    group = Chat(api, CHAT_ID)
    group.say(WANG, "葡萄2 鸡蛋1")
    await api.wait_for(lambda: len(api.calls_to("setMessageReaction")) == 1)
    asked = [group.say(WANG, "/my"), group.say(WANG, "我的订单"), group.say(LI, "查单")]
    mine = m.MY_ORDER.format(title="水果鸡蛋团", state="", goods="葡萄2盒 鸡蛋1盒", amount="91.80")
    mine += m.MY_NUMBER.format(numbers=m.MY_NUMBER_ONE.format(number=1))  # 王姐's 跟团号
    await api.wait_for(lambda: len([c for c in api.calls_to("sendMessage") if "reply_parameters" in c.params]) == 3)
    replies = [c.params for c in api.calls_to("sendMessage") if "reply_parameters" in c.params]
    assert [r["reply_parameters"]["message_id"] for r in replies] == asked
    # each answer: the order, then 王姐's point and paid mark (tests/test_leaderday.py), and that her
    # pickup code went to her private chat: never a code in the group
    marks = m.MY_MARKS_GROUP.format(point="-", paid=m.MY_UNPAID, picked="")
    assert [r["text"].splitlines() for r in replies] == [[f"@王姐 {mine}", marks, m.MY_CODE_SENT]] * 2 + [
        [f"@李哥 {m.MY_NONE}"]]
    await api.wait_for(lambda: len(api.sent_texts(WANG.id)) == 2)
    heading = m.GROUP_HEADING.format(group="阳光花园团购群")
    code = re.search(r"取货码(\d{4})", api.sent_texts(WANG.id)[0])
    assert code is not None and all(t.startswith(heading + mine) for t in api.sent_texts(WANG.id))
    assert not any(code.group(1) in t for t in api.sent_texts(CHAT_ID))

    dm = Chat(api, WANG.id, title="王姐")
    dm.say(WANG, "/my")
    await api.wait_for(lambda: len(api.sent_texts(WANG.id)) == 3)
    private = api.sent_texts(WANG.id)[-1]
    assert private.splitlines() == [heading + mine, m.MY_MARKS.format(code=code.group(1), point="-",
                                                                     paid=m.MY_UNPAID, picked="")]

    # 王姐 blocked the bot: the group answer gives the link that opens her private chat with /start my
    api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")  # the next one: to her privately
    n = len(api.sent_texts(CHAT_ID))
    group.say(WANG, "/my")
    await api.wait_for(lambda: len(api.sent_texts(CHAT_ID)) > n)
    link = m.MY_CODE_LINK.format(link="https://t.me/TuanBot?start=my")
    assert api.sent_texts(CHAT_ID)[n].splitlines() == [f"@王姐 {mine}", marks, link]
    assert len(api.sent_texts(WANG.id)) == 4  # the 4th: the refused attempt
    dm.say(WANG, "/start my")  # what the link sends
    await api.wait_for(lambda: len(api.sent_texts(WANG.id)) == 5)
    assert api.sent_texts(WANG.id)[-1] == private


async def test_after_the_cutoff_each_resident_hears_it_once(api: FakeBotApi, stack: Stack) -> None:
    group = Chat(api, CHAT_ID)
    group.say(LEADER, "/close")
    await api.wait_for(lambda: any(t.startswith(m.CLOSED) for t in api.sent_texts(CHAT_ID)))
    late = [group.say(WANG, "葡萄1"), group.say(WANG, "鸡蛋1"), group.say(LI, "葡萄2")]
    await api.wait_for(lambda: sum(t.endswith(m.REFUSED_AFTER_CUTOFF) for t in api.sent_texts(CHAT_ID)) == 2)
    group.say(LEADER, "/help")  # a marker: everything before it was handled
    await api.wait_for(lambda: any("团长命令" in t for t in api.sent_texts(CHAT_ID)))
    refusals = [c.params for c in api.calls_to("sendMessage") if c.params["text"].endswith(m.REFUSED_AFTER_CUTOFF)]
    assert [r["reply_parameters"]["message_id"] for r in refusals] == [late[0], late[2]]
    assert [r["text"] for r in refusals] == [f"@王姐 {m.REFUSED_AFTER_CUTOFF}", f"@李哥 {m.REFUSED_AFTER_CUTOFF}"]
