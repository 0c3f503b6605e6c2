"""Webhook mode: secret token checked, 200 only after the sink returned, 500 to get a redelivery."""

from __future__ import annotations

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
