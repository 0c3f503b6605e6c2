from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest

from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram.config import TelegramConfig
from bot.model import ButtonPress, InboundMessage
from tests.telegram.fake_bot_api import FakeBotApi


def config_for(api: FakeBotApi, **overrides: Any) -> TelegramConfig:
    """Test settings: the fake server, no flood limiter (it would only add waiting), fast retries."""
    base = TelegramConfig(token=api.token, base_url=api.base_url,
                          base_file_url=api.base_url.replace("/bot", "/file/bot"),
                          poll_timeout=5, rate_limit=False, retry_base=0.02)
    return replace(base, **overrides)


class RecordingSink:
    """Stands in for the core: records what arrives, and when the sink returned."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []
        self.presses: list[ButtonPress] = []
        self.returned: dict[str, float] = {}  # message id / press id -> perf_counter at return
        self.answer = "已加入"
        self.on_msg: Callable[[InboundMessage], Any] | None = None  # may be async; may raise
        self._arrived = asyncio.Event()

    async def on_message(self, msg: InboundMessage) -> None:
        if self.on_msg is not None:
            result = self.on_msg(msg)
            if asyncio.iscoroutine(result):
                await result
        self.messages.append(msg)
        self.returned[msg.message_id] = time.perf_counter()
        self._arrived.set()

    async def on_press(self, press: ButtonPress) -> str:
        self.presses.append(press)
        self.returned[press.press_id] = time.perf_counter()
        self._arrived.set()
        return self.answer

    async def wait(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        async def waiting() -> None:
            while not condition():
                self._arrived.clear()
                await self._arrived.wait()
        await asyncio.wait_for(waiting(), timeout)

    def texts(self) -> list[str]:
        return [m.text for m in self.messages]


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = await FakeBotApi().start()
    yield server
    await server.stop()


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
async def adapter(api: FakeBotApi, sink: RecordingSink) -> AsyncIterator[TelegramAdapter]:
    tg = TelegramAdapter(config_for(api))
    await tg.start(sink)
    yield tg
    await tg.stop()
