"""Webhook mode: secret token checked, 200 only after the sink returned, 500 to get a redelivery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram.config import WebhookConfig
from bot.ports import StoreUnavailable
from tests.telegram.conftest import RecordingSink, config_for
from tests.telegram.fake_bot_api import FakeBotApi

SECRET = "s3cret-token_1"


@pytest.fixture
async def hooked(api: FakeBotApi, sink: RecordingSink) -> AsyncIterator[TelegramAdapter]:
    hook = WebhookConfig(url="https://tuan.example.org/tg", secret_token=SECRET, listen="127.0.0.1", port=0,
                         path="/tg")
    tg = TelegramAdapter(config_for(api, mode="webhook", webhook=hook))
    await tg.start(sink)
    yield tg
    await tg.stop()


def update(update_id: int, text: str) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1_790_000_000, "text": text,
        "chat": {"id": -100, "type": "group", "title": "G"}, "from": {"id": 7, "is_bot": False, "first_name": "A"}}}


async def post(tg: TelegramAdapter, body: Any, secret: str | None = SECRET) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{tg.webhook_port}/tg", json=body, headers=headers) as resp:
            return resp.status


async def test_webhook_is_registered(api: FakeBotApi, hooked: TelegramAdapter) -> None:
    assert api.webhook["url"] == "https://tuan.example.org/tg"
    assert api.webhook["secret_token"] == SECRET
    assert api.webhook["max_connections"] == "1"
    assert api.webhook["allowed_updates"] == ["message", "edited_message", "callback_query"]
    assert not api.calls_to("getUpdates")


async def test_updates_need_the_secret(hooked: TelegramAdapter, sink: RecordingSink) -> None:
    assert await post(hooked, update(1, "葡萄+1"), secret=None) == 403
    assert await post(hooked, update(1, "葡萄+1"), secret="wrong") == 403
    assert sink.messages == []
    assert await post(hooked, update(1, "葡萄+1")) == 200
    assert sink.texts() == ["葡萄+1"]  # handled before the answer
    assert await post(hooked, update(1, "葡萄+1")) == 200  # Telegram's retry: not handled twice
    assert sink.texts() == ["葡萄+1"]


async def test_failures_ask_telegram_to_retry(hooked: TelegramAdapter, sink: RecordingSink) -> None:
    calls = 0

    def once(msg: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("store is down")

    sink.on_msg = once
    assert await post(hooked, update(2, "苹果+1")) == 500
    assert await post(hooked, update(2, "苹果+1")) == 200
    assert sink.texts() == ["苹果+1"]
    assert await post(hooked, "not an update") == 400


async def test_the_store_being_down_asks_for_a_redelivery_however_often(hooked: TelegramAdapter,
                                                                        sink: RecordingSink) -> None:
    outage = 8  # more than max_attempts (5): store outages are never given up

    def down(msg: object) -> None:
        nonlocal outage
        if outage:
            outage -= 1
            raise StoreUnavailable("database is locked")

    sink.on_msg = down
    for _ in range(8):
        assert await post(hooked, update(3, "苹果+1")) == 500
    assert sink.texts() == []
    assert await post(hooked, update(3, "苹果+1")) == 200
    assert sink.texts() == ["苹果+1"]


async def test_an_update_that_cannot_be_read_is_skipped_at_once(hooked: TelegramAdapter, sink: RecordingSink) -> None:
    poll = {"update_id": 4, "poll": {"id": "p", "question": "?", "options": []}}  # PTB 22.8 cannot parse it
    assert await post(hooked, poll) == 200  # a 2xx: Telegram would otherwise offer it again and again
    assert await post(hooked, update(5, "苹果+1")) == 200
    assert sink.texts() == ["苹果+1"]


async def test_an_edit_before_its_message_reaches_the_core_and_so_does_the_message(
        hooked: TelegramAdapter, sink: RecordingSink) -> None:
    edited = update(7, "葡萄3")
    edited["edited_message"] = {**edited.pop("message"), "message_id": 6, "edit_date": 1_790_000_060}
    assert await post(hooked, edited) == 200
    original = update(6, "葡萄2")
    assert await post(hooked, original) == 200
    assert [(m.message_id, m.edit_of, m.text) for m in sink.messages] == [("6:e7", "6", "葡萄3"), ("6", None, "葡萄2")]


async def test_stopping_answers_the_updates_in_hand_and_turns_new_ones_away(
        hooked: TelegramAdapter, sink: RecordingSink) -> None:
    async def slow(msg: object) -> None:
        await asyncio.sleep(0.3)

    sink.on_msg = slow
    in_hand = asyncio.create_task(post(hooked, update(8, "苹果+1")))
    await asyncio.sleep(0.1)
    port = hooked.webhook_port
    stopping = asyncio.create_task(hooked.stop())
    assert await in_hand == 200  # committed before the worker went away: Telegram need not resend it
    assert sink.texts() == ["苹果+1"]
    await stopping
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as session:
            await session.post(f"http://127.0.0.1:{port}/tg", json=update(9, "葡萄1"),
                               headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})


async def test_a_closing_worker_turns_requests_on_open_connections_away(hooked: TelegramAdapter,
                                                                        sink: RecordingSink) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    url = f"http://127.0.0.1:{hooked.webhook_port}/tg"
    async with aiohttp.ClientSession() as session:  # one kept-alive connection, as Telegram's
        async with session.post(url, json=update(10, "苹果+1"), headers=headers) as resp:
            assert resp.status == 200
        assert hooked._webhook is not None
        hooked._webhook.close()
        async with session.post(url, json=update(11, "葡萄1"), headers=headers) as resp:
            assert resp.status == 503  # Telegram offers it again, to a worker that stays
    assert sink.texts() == ["苹果+1"]
