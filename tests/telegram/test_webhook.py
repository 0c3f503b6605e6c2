"""Webhook mode: secret token checked, 200 only after the sink returned, 500 to get a redelivery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram.config import WebhookConfig
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
