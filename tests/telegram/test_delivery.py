"""Every reply arrives: Bot API calls retried through 429s, 5xx and network errors, in order per chat.

Against the fake Bot API over real HTTP, its faults switched on for a while (``FakeBotApi.outage``)
or its answers held back past the client's read timeout (``FakeBotApi.stall``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram.outbound import Outbox
from storage.sql import SqlRepository, open_repository
from tests.telegram.conftest import RecordingSink, config_for
from tests.telegram.fake_bot_api import Call, FakeBotApi
from tests.telegram.stack import build
from tests.telegram.updates import Chat, residents
from tests.waiting import eventually

CHATS = (-1001000000001, -1001000000002, -1001000000003)
GROUP, OTHER = CHATS[0], CHATS[1]
SENDS = ("sendMessage", "setMessageReaction")
OUTBOUND = "adapters.telegram.calls"


@pytest.fixture
async def repo(sqlite_url: str) -> AsyncIterator[SqlRepository]:
    store = open_repository(sqlite_url)
    yield store
    store.close()


def replies(api: FakeBotApi, chat_id: int) -> list[tuple[str, int]]:
    """What reached ``chat_id``, in arrival order: ("ack", message id) or ("question", replied message id)."""
    done: list[Call] = sorted((c for m in SENDS for c in api.delivered_calls(m)
                               if int(c.params["chat_id"]) == chat_id), key=lambda c: c.at)
    return [("ack", int(c.params["message_id"])) if c.method == "setMessageReaction"
            else ("question", int(c.params["reply_parameters"]["message_id"])) for c in done]


async def test_every_ack_and_question_arrives_once_and_in_order_after_429s_and_500s(
        api: FakeBotApi, repo: SqlRepository) -> None:
    stack = build(repo, api.base_url, api.token, chats=CHATS)
    # Telegram's flood limit for a second (retry after 1 s), then its 500s for another second.
    api.outage(1.0, 429, "Too Many Requests: retry after 1", retry_after=1, methods=SENDS)
    api.outage(2.0, 500, "Internal Server Error", methods=SENDS)
    await stack.start()
    try:
        groups = [Chat(api, chat) for chat in CHATS]
        people = iter(residents(40))
        expected: dict[int, list[tuple[str, int]]] = {chat: [] for chat in CHATS}
        for n in range(8):
            for group in groups:
                unclear = n % 4 == 3  # "橙2": 脐橙 or 血橙? the bot asks
                mid = group.say(next(people), "橙2" if unclear else f"葡萄{n % 3 + 1}")
                expected[group.id].append(("question" if unclear else "ack", mid))
        total = sum(len(e) for e in expected.values())
        await api.wait_for(lambda: sum(len(replies(api, c)) for c in CHATS) >= total, timeout=30)
        await asyncio.sleep(0.3)  # nothing more arrives: no doubles
        for chat in CHATS:
            assert replies(api, chat) == expected[chat]  # each exactly once, in the chat's order
        assert {c.status for m in SENDS for c in api.calls_to(m)} == {429, 500, 200}  # both faults were met
        assert not [c for c in api.delivered_calls("sendMessage") if "reply_parameters" not in c.params]
    finally:
        await stack.stop()


@pytest.mark.usefixtures("no_gc_pauses")
async def test_a_send_older_than_its_expiry_is_dropped_and_logged(api: FakeBotApi, sink: RecordingSink,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=OUTBOUND)
    tg = TelegramAdapter(config_for(api, send_expiry=0.4))
    await tg.start(sink)
    try:
        assert await tg.react(str(GROUP), "41", "✅")  # the chat allows reactions: later ones are queued
        api.outage(1.0, 500, "Internal Server Error", methods=SENDS)
        started = time.perf_counter()
        assert await tg.react(str(GROUP), "42", "✅")
        assert await tg.send_text(str(GROUP), "截单了，明天下午取货") is None
        assert time.perf_counter() - started < 0.95  # within its expiry (from when it was made), not the outage

        def lost() -> list[str]:
            return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]

        assert any(str(GROUP) in r and "截单了" in r for r in lost()), lost()
        # the reaction has a lane of its own (reactions need no order), and expires on its own too
        await eventually(lambda: any(str(GROUP) in r and "message 42" in r for r in lost()), timeout=0.5)
        assert not api.delivered_calls("sendMessage")
        await asyncio.sleep(max(0.0, 1.05 - (time.perf_counter() - started)))
        assert await tg.send_text(str(GROUP), "到货了") is not None  # the chat's lane goes on
        assert [c.params["text"] for c in api.delivered_calls("sendMessage")] == ["到货了"]
        assert [c.params["message_id"] for c in api.delivered_calls("setMessageReaction")] == ["41"]
    finally:
        await tg.stop()


@pytest.mark.usefixtures("no_gc_pauses")
async def test_one_chats_flood_limit_does_not_hold_up_another(api: FakeBotApi, adapter: TelegramAdapter) -> None:
    api.outage(0.5, 429, "Too Many Requests: retry after 1", retry_after=1, methods=("sendMessage",),
               chats=(GROUP,))
    started = time.perf_counter()
    first = asyncio.create_task(adapter.send_text(str(GROUP), "一"))
    await asyncio.sleep(0.05)
    assert await adapter.send_text(str(OTHER), "别的群") is not None
    assert time.perf_counter() - started < 0.5  # not behind the other chat's wait
    await asyncio.sleep(0.6 - (time.perf_counter() - started))
    second = asyncio.create_task(adapter.send_text(str(GROUP), "二"))  # the limit is over; "一" still waits
    assert await first is not None and await second is not None
    assert time.perf_counter() - started >= 1.0  # waited as Telegram said
    texts = [c.params["text"] for c in sorted(api.delivered_calls("sendMessage"), key=lambda c: c.at)
             if int(c.params["chat_id"]) == GROUP]
    assert texts == ["一", "二"]  # the retried one was not overtaken


async def test_a_send_whose_answer_timed_out_is_not_repeated_but_a_reaction_is(api: FakeBotApi) -> None:
    bot = Bot(api.token, base_url=api.base_url, request=HTTPXRequest(read_timeout=0.3))
    async with bot:
        outbox = Outbox(bot, backoff=0.01, expiry=10.0)
        api.stall("sendMessage", 1.0)  # Telegram posts it, the answer comes after our read timeout
        assert await outbox.send_text(str(GROUP), "截单") is None
        await asyncio.sleep(0.3)
        assert len(api.calls_to("sendMessage")) == 1  # not doubled
        api.stall("setMessageReaction", 1.0)
        reacting = asyncio.create_task(outbox.react(str(GROUP), "5", "✅"))
        await api.wait_for(lambda: bool(api.calls_to("setMessageReaction")))
        api.stall("setMessageReaction", 0)
        assert await reacting  # idempotent: repeated until it was answered
        assert len(api.calls_to("setMessageReaction")) >= 2
        await outbox.drain()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_send_that_could_not_connect_is_retried_once_the_api_is_back() -> None:
    port = _free_port()
    first = FakeBotApi()
    first.port = port
    await first.start()
    bot = Bot(first.token, base_url=first.base_url)
    async with bot:
        await first.stop()  # the Bot API is unreachable: connections are refused
        outbox = Outbox(bot, backoff=0.05, expiry=10.0)
        sending = asyncio.create_task(outbox.send_text(str(GROUP), "截单了"))
        await asyncio.sleep(0.5)
        assert not sending.done()
        back = FakeBotApi()
        back.port = port
        await back.start()
        try:
            assert await asyncio.wait_for(sending, 10) is not None
            assert [c.params["text"] for c in back.calls_to("sendMessage")] == ["截单了"]  # once
        finally:
            await back.stop()


async def test_a_button_answer_is_retried_through_an_outage(api: FakeBotApi, adapter: TelegramAdapter) -> None:
    card = await adapter.send_text(str(GROUP), "今日团购")
    assert card is not None
    api.outage(0.5, 502, "Bad Gateway", methods=("answerCallbackQuery",))
    query_id = Chat(api, GROUP).press(residents(1)[0], int(card), "t:add:1")
    await api.wait_for(lambda: bool(api.delivered_calls("answerCallbackQuery")), timeout=5)
    assert [c.params["callback_query_id"] for c in api.delivered_calls("answerCallbackQuery")] == [query_id]
    assert len(api.calls_to("answerCallbackQuery")) > 1


async def test_a_call_that_expired_while_waiting_its_turn_is_not_sent(api: FakeBotApi, sink: RecordingSink,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=OUTBOUND)
    tg = TelegramAdapter(config_for(api, send_expiry=0.3))
    await tg.start(sink)
    try:
        api.stall("sendMessage", 0.6)  # delivered, but the answer takes longer than the next one may wait
        first = asyncio.create_task(tg.send_text(str(GROUP), "一"))
        await api.wait_for(lambda: bool(api.calls_to("sendMessage")))
        assert await tg.send_text(str(GROUP), "二") is None
        assert await first is not None
        assert [c.params["text"] for c in api.calls_to("sendMessage")] == ["一"]
        assert any("expired" in r.getMessage() and "'二'" in r.getMessage() for r in caplog.records)
    finally:
        await tg.stop()


async def test_a_call_after_the_bot_stopped_is_given_up_at_once() -> None:
    """PTB raises NetworkError from RuntimeError once its HTTP client is shut down: that is no
    network trouble to wait out (retrying it kept a stopping bot busy until the send expiry)."""
    import time

    from telegram.error import NetworkError

    from adapters.telegram.calls import call

    tries = 0

    async def stopped() -> None:
        nonlocal tries
        tries += 1
        try:
            raise RuntimeError("This HTTPXRequest is not initialized!")
        except RuntimeError as exc:
            raise NetworkError(f"Unknown error in HTTP implementation: {exc!r}") from exc

    started = time.monotonic()
    assert await call("editMessageText", stopped, idempotent=True, deadline=time.monotonic() + 600) is None
    assert tries == 1 and time.monotonic() - started < 1
