"""One bad update never holds up the rest; chats are handled concurrently, each in order."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from adapters.telegram.adapter import TelegramAdapter
from bot.model import InboundMessage
from storage.sql import open_repository
from tests.telegram.conftest import RecordingSink, config_for
from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.stack import build
from tests.telegram.updates import Chat, Person, residents

A, B = -1001000000001, -1001000000002
LEADER = Person(1, "团长", username="leader")


def texts_in(sink: RecordingSink, chat: int) -> list[str]:
    return [m.text for m in sink.messages if m.chat_id == str(chat)]


async def test_a_slow_chat_does_not_hold_up_another_and_each_keeps_its_order(
        api: FakeBotApi, adapter: TelegramAdapter, sink: RecordingSink) -> None:
    release = asyncio.Event()

    async def slow(msg: InboundMessage) -> None:
        if msg.text == "A1":
            await release.wait()

    sink.on_msg = slow
    a, b = Chat(api, A), Chat(api, B)
    first = api.inject({"message": a.message(LEADER, "A1")})
    a.say(LEADER, "A2")
    b.say(LEADER, "B1")
    b.say(LEADER, "B2")
    await sink.wait(lambda: texts_in(sink, B) == ["B1", "B2"])
    a.say(LEADER, "A3")
    b.say(LEADER, "B3")  # news while A1 is still in hand reach chat B too
    await sink.wait(lambda: texts_in(sink, B) == ["B1", "B2", "B3"])
    assert texts_in(sink, A) == [] and api.confirmed <= first  # A1 is not confirmed before it is handled
    release.set()
    await sink.wait(lambda: len(sink.messages) == 6)
    assert texts_in(sink, A) == ["A1", "A2", "A3"]
    await api.wait_for(lambda: api.confirmed == first + 6)


async def test_updates_in_hand_are_bounded(api: FakeBotApi, sink: RecordingSink) -> None:
    release = asyncio.Event()

    async def slow(msg: InboundMessage) -> None:
        if msg.text == "A1":
            await release.wait()

    sink.on_msg = slow
    tg = TelegramAdapter(config_for(api, max_in_flight=2))
    await tg.start(sink)
    try:
        a, b = Chat(api, A), Chat(api, B)
        a.say(LEADER, "A1")
        a.say(LEADER, "A2")
        b.say(LEADER, "B1")  # a third update in hand would exceed the bound: it waits to be taken
        await asyncio.sleep(0.5)
        assert sink.texts() == []
        release.set()
        await sink.wait(lambda: len(sink.messages) == 3)
        assert texts_in(sink, A) == ["A1", "A2"]
    finally:
        await tg.stop()


UNUSABLE: list[dict[str, Any]] = [  # PTB accepts each; Telegram never sends them
    {"message_id": 901, "date": 0, "chat": {"id": A, "type": "supergroup", "title": "g"},
     "from": LEADER.json(), "text": 12345},  # text as a number
    {"message_id": 902, "date": 0, "chat": {"id": "A", "type": "supergroup", "title": "g"},
     "from": LEADER.json(), "text": "葡萄1"},  # chat id as a string
    {"message_id": "x", "date": 0, "chat": {"id": A, "type": "supergroup", "title": "g"},
     "from": LEADER.json(), "text": "葡萄1"},  # message id as a string
    {"message_id": 903, "date": 0, "chat": {"id": A, "type": "supergroup", "title": "g"},
     "from": {**LEADER.json(), "id": "1"}, "text": "葡萄1"},  # sender id as a string
    {"message_id": 904, "date": 0, "chat": {"id": A, "type": "supergroup", "title": "g"},
     "from": LEADER.json(), "caption": ["葡萄1"]},  # caption as a list
    {"message_id": 905, "date": 0, "chat": {"id": A, "type": "supergroup", "title": "g"},
     "from": LEADER.json(), "text": "葡萄1\n" * 2000},  # beyond Telegram's 4096 characters
]


@pytest.mark.parametrize("fields", [
    *({"message": m} for m in UNUSABLE),
    {"edited_message": {**UNUSABLE[0], "edit_date": 1}},
    {"message": {"message_id": 906, "date": 0, "from": LEADER.json(), "text": "葡萄1"}},  # no chat
    {"message": {"message_id": 907, "chat": {"id": A, "type": "supergroup"}, "text": "葡萄1"}},  # no date
    {"callback_query": {"id": "q1", "from": LEADER.json(), "chat_instance": "c", "data": 7,
                        "message": {"message_id": 1, "date": 0, "chat": {"id": A, "type": "supergroup"}}}},
    {"callback_query": {"id": "q2", "from": {**LEADER.json(), "id": "1"}, "chat_instance": "c", "data": "t:mine",
                        "message": {"message_id": 1, "date": 0, "chat": {"id": A, "type": "supergroup"}}}},
], ids=["text-number", "chat-id-string", "message-id-string", "sender-id-string", "caption-list", "too-long",
        "edit-text-number", "no-chat", "no-date", "callback-data-number", "callback-sender-string"])
async def test_an_update_of_a_shape_telegram_never_sends_is_skipped_at_once(
        api: FakeBotApi, sink: RecordingSink, fields: dict[str, Any]) -> None:
    tg = TelegramAdapter(config_for(api, max_attempts=10, retry_base=5.0))  # a retry would take 5 s
    await tg.start(sink)
    try:
        bad = api.inject(fields)
        Chat(api, A).say(LEADER, "after")  # same chat: would wait behind a retried update
        await sink.wait(lambda: "after" in sink.texts(), timeout=3)
        assert sink.texts() == ["after"] and sink.presses == []
        await api.wait_for(lambda: api.confirmed > bad + 1, timeout=3)
    finally:
        await tg.stop()


def _huge_list(lines: int) -> str:
    return "#接龙\n水果鸡蛋团\n" + "".join(f"{n}. 邻居{n} 葡萄{n % 3 + 1}\n" for n in range(1, lines + 1))


@pytest.mark.parametrize("lines", [40_000, 240])  # 240 lines: about Telegram's limit of 4096 characters
async def test_a_huge_list_in_one_chat_does_not_hold_up_an_order_in_another(
        api: FakeBotApi, sqlite_url: str, lines: int) -> None:
    repo = open_repository(sqlite_url)
    stack = await build(repo, api.base_url, api.token, chats=(A, B)).start()
    try:
        a, b = Chat(api, A), Chat(api, B)
        people = residents(3)
        a.say(people[0], _huge_list(lines))
        after_list = a.say(people[1], "脐橙1")
        posted = time.perf_counter()
        order = b.say(people[2], "葡萄2")
        await api.wait_for(lambda: any(int(c.params["message_id"]) == order
                                       for c in api.delivered_calls("setMessageReaction")), timeout=10)
        waited = time.perf_counter() - posted
        print(f"\n{lines} lines in chat A: chat B's ✅ after {waited * 1000:.0f} ms")
        assert waited < 1.5
        await api.wait_for(lambda: any(int(c.params["message_id"]) == after_list
                                       for c in api.delivered_calls("setMessageReaction")), timeout=10)
    finally:
        await stack.stop()
        repo.close()
