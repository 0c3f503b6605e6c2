"""A group plays a deal end to end: fake Bot API ⇄ PTB ⇄ TelegramAdapter ⇄ Dispatcher ⇄ OrderService ⇄ SQLite."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

import bot.dispatch
from bot import messages as m
from storage.sql import SqlRepository, open_repository
from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.stack import CHAT_ID, Stack, build, stored
from tests.telegram.updates import Chat, Person, residents

LEADER = Person(1, "团长小美", username="xiaomei")


@pytest.fixture
async def repo(sqlite_url: str) -> AsyncIterator[SqlRepository]:
    store = open_repository(sqlite_url)
    yield store
    store.close()


@pytest.fixture
async def stack(api: FakeBotApi, repo: SqlRepository, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Stack]:
    monkeypatch.setattr(bot.dispatch, "CARD_EDIT_SECONDS", 0.3)  # the card-edit debounce, shortened
    api.set_admins(CHAT_ID, [LEADER.json()])
    running = await build(repo, api.base_url, api.token).start()
    yield running
    await running.stop()


def reactions(api: FakeBotApi) -> list[int]:
    return [int(c.params["message_id"]) for c in api.calls_to("setMessageReaction")]


async def test_a_group_orders_by_text_and_buttons(api: FakeBotApi, stack: Stack, repo: SqlRepository,
                                                   sqlite_url: str) -> None:
    group = Chat(api, CHAT_ID)
    people = residents(20)
    texters, pressers = people[:12], people[12:]

    group.say(LEADER, "/deal@TuanBot")
    await api.wait_for(lambda: bool(api.calls_to("sendMessage")))
    card_call = api.calls_to("sendMessage")[0]
    assert card_call.params["text"].startswith("🛒 水果鸡蛋团")
    buttons = [b["callback_data"] for row in card_call.params["reply_markup"]["inline_keyboard"] for b in row]
    deal = stack.deal_id
    assert [b.rsplit(":", 1)[0] for b in buttons] == [
        f"t:{deal}:add:1", f"t:{deal}:sub:1", f"t:{deal}:add:2", f"t:{deal}:sub:2", f"t:{deal}:add:3",
        f"t:{deal}:sub:3", f"t:{deal}:add:4", f"t:{deal}:sub:4", f"t:{deal}:mine"]
    add1, sub1, add4, mine = buttons[0], buttons[1], buttons[6], buttons[8]
    card_id = max(mid for (chat, mid) in api.bot_messages if chat == CHAT_ID)

    orders = ["葡萄2", "脐橙1", "1号1份 4号2份", "血橙一箱"]
    said = {who.id: group.say(who, orders[n % 4]) for n, who in enumerate(texters)}
    await api.wait_for(lambda: len(reactions(api)) == 12)
    assert sorted(reactions(api)) == sorted(said.values())
    assert {c.params["reaction"][0]["emoji"] for c in api.calls_to("setMessageReaction")} == {"👌"}

    for n, who in enumerate(pressers):
        group.press(who, card_id, add1)
        if n % 2:
            group.press(who, card_id, add4)
    last = [group.press(pressers[0], card_id, data) for data in (add1, sub1, mine)]
    presses = len(pressers) + len(pressers) // 2 + 3
    await api.wait_for(lambda: len(api.calls_to("answerCallbackQuery")) == presses)
    answers = {c.params["callback_query_id"]: c.params.get("text") for c in api.calls_to("answerCallbackQuery")}
    assert set(answers.values()) >= {m.PRESS_TOTAL.format(item="葡萄", qty=1, unit="盒"),
                                     m.PRESS_TOTAL.format(item="鸡蛋", qty=1, unit="盒")}
    assert [answers[q] for q in last] == [m.PRESS_TOTAL.format(item="葡萄", qty=2, unit="盒"),
                                          m.PRESS_TOTAL.format(item="葡萄", qty=1, unit="盒"), "您已订:葡萄1盒"]
    await api.wait_for(lambda: bool(api.calls_to("editMessageText")))  # debounced: few edits for 15 presses
    await api.wait_for(lambda: "已订" in api.bot_messages[(CHAT_ID, card_id)]["text"])
    edits = [c.at for c in api.calls_to("editMessageText")]
    # debounced, whatever the machine's load: edits of the card at least about a debounce window (0.3 s) apart, not one per press
    assert len(edits) < presses and all(b - a >= 0.15 for a, b in zip(edits, edits[1:], strict=False)), edits
    assert "reply_markup" in api.bot_messages[(CHAT_ID, card_id)]  # the buttons stay

    group.edit(said[texters[0].id], "葡萄3")  # 葡萄2 → 葡萄3
    await api.wait_for(lambda: len(reactions(api)) == 13)
    assert reactions(api)[-1] == said[texters[0].id]

    asked = group.say(texters[1], "橙子1")
    await api.wait_for(lambda: any("橙子" in t for t in api.sent_texts(CHAT_ID)))
    question = api.calls_to("sendMessage")[-1].params
    assert question["reply_parameters"]["message_id"] == asked
    assert question["text"].startswith(f"@{texters[1].first_name} ")
    assert question["entities"][0]["user"]["id"] == texters[1].id

    refused = group.say(texters[2], "/close")
    await api.wait_for(lambda: m.NOT_LEADER in api.sent_texts(CHAT_ID))
    assert api.calls_to("sendMessage")[-1].params["reply_parameters"]["message_id"] == refused
    assert stack.core.service.deal_of(f"telegram:{CHAT_ID}").status == "open"  # type: ignore[union-attr]

    group.say(LEADER, "/close@TuanBot")
    await api.wait_for(lambda: any(t.startswith(m.CLOSED) for t in api.sent_texts(CHAT_ID)))
    group.say(LEADER, "/tally")
    await api.wait_for(lambda: any(t.startswith("📊") for t in api.sent_texts(CHAT_ID)))
    group.say(texters[3], "葡萄1")  # too late
    await api.wait_for(lambda: any(m.REFUSED_AFTER_CUTOFF in t for t in api.sent_texts(CHAT_ID)))

    expected: dict[str, dict[str, int]] = {}
    lines = {"葡萄2": {"1": 2}, "脐橙1": {"2": 1}, "1号1份 4号2份": {"1": 1, "4": 2}, "血橙一箱": {"3": 1}}
    for n, who in enumerate(texters):
        expected[str(who.id)] = dict(lines[orders[n % 4]])
    expected[str(texters[0].id)] = {"1": 3}
    for n, who in enumerate(pressers):
        expected[str(who.id)] = {"1": 1, "4": 1} if n % 2 else {"1": 1}
    assert stored(open_repository(sqlite_url)) == expected
    assert stored(repo) == expected
    deal = repo.get_deal(stack.deal_id)
    assert deal is not None and deal.status == "closed"
    tally = next(t for t in api.sent_texts(CHAT_ID) if t.startswith("📊"))
    assert m.TALLY_STATE_CLOSED in tally
    # the tally's columns line up: a monospace (pre) entity over the whole table, residents' words as text
    call = next(c for c in api.calls_to("sendMessage") if str(c.params.get("text", "")).startswith("📊"))
    entities = call.params["entities"]
    entities = json.loads(entities) if isinstance(entities, str) else entities
    assert [(e["type"], e["offset"], e["length"]) for e in entities] == [
        ("pre", 0, len(tally.rstrip().encode("utf-16-le")) // 2)]
    assert "parse_mode" not in call.params
    assert not api.calls_to("sendDocument")
