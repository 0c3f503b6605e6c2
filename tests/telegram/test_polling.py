"""The adapter over real HTTP against the fake Bot API: receiving, offsets, acknowledgements."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from adapters.telegram import adapter as adapter_module
from adapters.telegram.adapter import TelegramAdapter
from bot.model import InboundMessage
from bot.ports import StoreUnavailable
from tests.telegram.conftest import RecordingSink, config_for
from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.updates import Chat, Person, residents

LEADER = Person(1, "团长", username="leader")


async def test_start_checks_the_token_clears_the_webhook_and_polls(api: FakeBotApi, adapter: TelegramAdapter) -> None:
    await api.wait_for(lambda: bool(api.calls_to("getUpdates")))
    assert [c.method for c in api.calls[:2]] == ["getMe", "deleteWebhook"]
    assert api.calls_to("deleteWebhook")[0].params.get("drop_pending_updates") in (None, "False", "false")
    assert adapter.me.username == "TuanBot"
    poll = api.calls_to("getUpdates")[0].params
    assert poll["allowed_updates"] == ["message", "edited_message", "callback_query"]
    assert int(poll["timeout"]) == 5


async def test_a_message_reaches_the_sink_with_its_delivery(api: FakeBotApi, adapter: TelegramAdapter,
                                                            sink: RecordingSink) -> None:
    group = Chat(api)
    mid = group.say(residents(1)[0], "葡萄+1")
    await sink.wait(lambda: len(sink.messages) == 1)
    msg = sink.messages[0]
    assert (msg.chat_id, msg.message_id, msg.text) == (str(group.id), str(mid), "葡萄+1")
    assert msg.delivery == ("telegram:123456", "1000")


async def test_the_offset_passes_an_update_only_after_the_sink_returned(api: FakeBotApi, adapter: TelegramAdapter,
                                                                        sink: RecordingSink) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(msg: InboundMessage) -> None:
        if msg.text == "slow":
            started.set()
            await release.wait()

    sink.on_msg = slow
    group = Chat(api)
    first = api.inject({"message": group.message(LEADER, "slow")})
    api.inject({"message": group.message(LEADER, "next")})
    await asyncio.wait_for(started.wait(), 10)
    # Nothing is to happen while the sink works: watch for a while that the offset stays put.
    with pytest.raises(TimeoutError):
        await api.wait_for(lambda: api.confirmed > first, timeout=0.3)
    assert api.confirmed <= first  # not confirmed while the sink still works on it
    release.set()
    await sink.wait(lambda: len(sink.messages) == 2)
    await api.wait_for(lambda: api.confirmed == first + 2)


async def test_a_failing_update_is_retried_then_skipped(api: FakeBotApi, sink: RecordingSink) -> None:
    tries: dict[str, int] = {}

    def flaky(msg: InboundMessage) -> None:
        tries[msg.text] = tries.get(msg.text, 0) + 1
        if msg.text == "poison" or (msg.text == "flaky" and tries["flaky"] < 3):
            raise RuntimeError("store is down")

    sink.on_msg = flaky
    tg = TelegramAdapter(config_for(api, max_attempts=4))
    await tg.start(sink)
    try:
        group = Chat(api)
        for text in ("flaky", "poison", "after"):
            group.say(LEADER, text)
        await sink.wait(lambda: "after" in sink.texts())
        assert sink.texts() == ["flaky", "after"]
        assert tries == {"flaky": 3, "poison": 4, "after": 1}
    finally:
        await tg.stop()


async def test_an_update_the_store_cannot_take_stays_unconfirmed_until_it_can(api: FakeBotApi,
                                                                                sink: RecordingSink) -> None:
    outage = asyncio.Event()
    tries = 0

    def store(msg: InboundMessage) -> None:
        nonlocal tries
        if msg.text == "葡萄+1" and not outage.is_set():
            tries += 1
            raise StoreUnavailable("database is locked")

    sink.on_msg = store
    tg = TelegramAdapter(config_for(api, max_attempts=2, retry_base=0.005))
    await tg.start(sink)
    try:
        group = Chat(api)
        first = api.inject({"message": group.message(LEADER, "葡萄+1")})
        api.inject({"message": group.message(LEADER, "next")})
        async with asyncio.timeout(10):
            while tries < 6:  # far beyond max_attempts: a store outage is never given up
                await asyncio.sleep(0.01)
        assert api.confirmed <= first and sink.texts() == []
        outage.set()
        await sink.wait(lambda: len(sink.messages) == 2)
        assert sink.texts() == ["葡萄+1", "next"]  # in order
        await api.wait_for(lambda: api.confirmed == first + 2)
    finally:
        await tg.stop()


async def test_an_update_that_cannot_be_converted_is_skipped_at_once(api: FakeBotApi, sink: RecordingSink,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    convert = adapter_module.to_inbound
    tries = 0

    def picky(update: Any, me: Any) -> Any:
        nonlocal tries
        if update.message is not None and update.message.text == "malformed":
            tries += 1
            raise ValueError("a shape this version cannot read")  # stands for a Bot API change
        return convert(update, me)

    monkeypatch.setattr(adapter_module, "to_inbound", picky)
    tg = TelegramAdapter(config_for(api, max_attempts=4))
    await tg.start(sink)
    try:
        group = Chat(api)
        group.say(LEADER, "malformed")
        group.say(LEADER, "after")
        await sink.wait(lambda: "after" in sink.texts())
        assert sink.texts() == ["after"] and tries == 1  # no retries: it could never be handled
    finally:
        await tg.stop()


async def test_updates_of_every_shape_are_ignored_without_harm(api: FakeBotApi, adapter: TelegramAdapter,
                                                                sink: RecordingSink) -> None:
    group = Chat(api)
    channel = {"id": -100777, "type": "channel", "title": "频道"}
    api.inject({"channel_post": {"message_id": 1, "date": 0, "chat": channel, "text": "频道消息"}})
    api.inject({"edited_channel_post": {"message_id": 1, "date": 0, "chat": channel, "text": "x", "edit_date": 1}})
    group.say(LEADER, None, sticker={"file_id": "s", "file_unique_id": "u", "width": 1, "height": 1,
                                     "is_animated": False, "is_video": False, "type": "regular"})
    group.say(None, "no sender")
    group.say(LEADER, None, new_chat_members=[Person(5, "新人").json()])
    api.inject({"poll": {"id": "p", "question": "?", "options": []}})  # PTB 22.8 cannot parse this one
    api.inject({"something_new": {"from": "a future Bot API"}})
    group.press(LEADER, 12345, "garbage")
    api.inject({"callback_query": {"id": "q-nomsg", "from": LEADER.json(), "chat_instance": "c", "data": "t:add:x"}})
    group.say(LEADER, "/tally@SomeOtherBot")
    group.say(LEADER, "葡萄+1")
    await sink.wait(lambda: len(sink.messages) == 1)
    assert sink.texts() == ["葡萄+1"] and sink.presses == []
    await api.wait_for(lambda: len(api.calls_to("answerCallbackQuery")) == 2)  # the spinners stop
    assert all("text" not in c.params for c in api.calls_to("answerCallbackQuery"))


async def test_leaders_are_admins_or_configured(api: FakeBotApi, sink: RecordingSink) -> None:
    group = Chat(api)
    people = residents(3)
    api.set_admins(group.id, [LEADER.json(), people[0].json()])
    tg = TelegramAdapter(config_for(api, leaders=frozenset({"@carol", "1003"})))
    await tg.start(sink)
    try:
        carol = Person(77, "Carol", username="Carol")
        for who in (LEADER, *people, carol):
            group.say(who, "hi")
        anonymous: dict[str, Any] = {"from": {"id": 1087968824, "is_bot": True, "first_name": "Group",
                                              "username": "GroupAnonymousBot"}}
        group.say(None, "匿名管理员", sender_chat=group.json, **anonymous)
        Chat(api, LEADER.id, "团长").say(LEADER, "/export")
        Chat(api, people[1].id, "邻居").say(people[1], "/export")
        await sink.wait(lambda: len(sink.messages) == 8)
        # admin status is per chat: a private message never carries it (bot/permissions.py decides per group)
        # chats are handled concurrently: the group's messages in order, the private ones beside them
        in_group = [m for m in sink.messages if m.chat_id == str(group.id)]
        private = [m for m in sink.messages if m.is_private]
        assert [m.is_admin for m in in_group] == [True, True, False, True, True, True]
        assert len(private) == 2 and not any(m.is_admin for m in private)
        assert len(api.calls_to("getChatAdministrators")) == 1  # cached
    finally:
        await tg.stop()


async def test_a_press_is_answered_after_the_sink_returned(api: FakeBotApi, adapter: TelegramAdapter,
                                                           sink: RecordingSink) -> None:
    group = Chat(api)
    card = await adapter.send_text(str(group.id), "今日团购")
    assert card is not None
    sink.answer = "葡萄：你现在共 2 盒"
    query_id = group.press(LEADER, int(card), "t:add:grape")
    await api.wait_for(lambda: bool(api.calls_to("answerCallbackQuery")))
    press = sink.presses[0]
    assert (press.action, press.item_code, press.card_message_id, press.press_id) == ("add", "grape", card, "123456:1000")
    answer = api.calls_to("answerCallbackQuery")[0]
    assert answer.params == {"callback_query_id": query_id, "text": "葡萄：你现在共 2 盒"}
    assert answer.at > sink.returned["123456:1000"]


async def test_get_updates_errors_are_retried(api: FakeBotApi, sink: RecordingSink) -> None:
    api.fail("getupdates", 502, "Bad Gateway", times=2)
    api.fail("getupdates", 429, "Too Many Requests: retry after 1", retry_after=1)
    api.fail("getupdates", 409, "Conflict: terminated by other getUpdates request")
    tg = TelegramAdapter(config_for(api))
    await tg.start(sink)
    try:
        Chat(api).say(LEADER, "葡萄+1")
        await sink.wait(lambda: len(sink.messages) == 1, timeout=15)
    finally:
        await tg.stop()


async def test_stop_interrupts_the_long_poll_and_confirms_what_was_handled(api: FakeBotApi,
                                                                           sink: RecordingSink) -> None:
    tg = TelegramAdapter(config_for(api, poll_timeout=30))
    await tg.start(sink)
    update_id = api.inject({"message": Chat(api).message(LEADER, "葡萄+1")})
    await sink.wait(lambda: len(sink.messages) == 1)
    await api.wait_for(lambda: len(api.calls_to("getUpdates")) >= 2)  # now waiting in a long poll
    started = time.perf_counter()
    await tg.stop()
    assert time.perf_counter() - started < 2
    assert api.confirmed == update_id + 1
    assert api.updates == []
