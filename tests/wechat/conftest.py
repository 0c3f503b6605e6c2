"""Fixtures for the WeChat adapter tests: the wechaty SDK and the Node gateway with the mock puppet.

Tests that need wechaty skip when it is not installed, unless CI is set (then they fail).
The pure tests (solitaire, convert, config, supervisor) always run.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from adapters.wechat import WechatAdapter, from_section
from bot.model import ButtonPress, InboundMessage
from tests.wechat.gateway_proc import TOKEN, Gateway, ensure_node_modules, free_port, unavailable


@pytest.fixture(scope="session")
def wechaty_sdk() -> ModuleType:
    """The ``wechaty`` module, loaded through the compatibility shim."""
    if importlib.util.find_spec("wechaty") is None:
        unavailable("the wechaty package is not installed (pip install -e '.[wechat]')")
    from adapters.wechat import compat

    return compat.load()


@pytest.fixture
def gateway(wechaty_sdk: ModuleType, tmp_path: Path) -> Iterator[Gateway]:
    ensure_node_modules()
    gw = Gateway(free_port(), tmp_path)
    gw.start()
    try:
        yield gw
    finally:
        gw.kill()


class RecordingSink:
    """A :class:`adapters.base.Sink` that keeps what it is given."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []
        self._arrived = asyncio.Condition()

    async def on_message(self, msg: InboundMessage) -> None:
        async with self._arrived:
            self.messages.append(msg)
            self._arrived.notify_all()

    async def on_press(self, press: ButtonPress) -> str:
        return ""

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[InboundMessage]:
        """Wait until ``count`` messages have arrived in all; return them."""
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: len(self.messages) >= count), timeout)
        return list(self.messages)


def fast_settings(endpoint: str, **extra: Any) -> dict[str, Any]:
    """A ``[wechat]`` section with short timings, for tests."""
    return {"endpoint": endpoint, "token": TOKEN, "reconnect_initial": 0.2, "reconnect_max": 1.0,
            "ping_interval": 0.5, "ping_timeout": 2.0, "start_wait": 10.0, "send_wait": 10.0, **extra}


@pytest.fixture
async def make_adapter(wechaty_sdk: ModuleType) -> AsyncIterator[Any]:
    adapters: list[WechatAdapter] = []

    async def make(endpoint: str, sink: Any, **extra: Any) -> WechatAdapter:
        adapter = WechatAdapter(from_section(fast_settings(endpoint, **extra), env={}), wechaty=wechaty_sdk)
        adapters.append(adapter)
        await adapter.start(sink)
        return adapter

    yield make
    for adapter in adapters:
        await adapter.stop()
