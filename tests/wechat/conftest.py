"""Fixtures for the WeChat adapter tests: the wechaty SDK and the Node gateway with the mock puppet.

Tests that need wechaty skip when it is not installed, unless CI is set (then they fail).
The pure tests (solitaire, convert, config, supervisor) always run.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator, Iterator
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


@pytest.fixture(scope="session")
def _gateways() -> Iterator[list[Gateway]]:
    """The gateway tests share (at most one at a time), killed at the end of the session."""
    held: list[Gateway] = []
    yield held
    for gw in held:
        gw.kill()


@pytest.fixture
def gateway(wechaty_sdk: ModuleType, _gateways: list[Gateway],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A running gateway with an empty :meth:`Gateway.said`, shared between tests (a start costs seconds).

    A test may kill, restart or freeze it: one left killed or frozen is replaced for the next test.
    """
    ensure_node_modules()
    if not _gateways:
        gw = Gateway(free_port(), tmp_path_factory.mktemp("gateway"))
        gw.start()
        _gateways.append(gw)
    gw = _gateways[0]
    gw.reset()
    try:
        yield gw
    finally:
        if not gw.running:
            if gw.frozen:
                gw.thaw()
            gw.kill()
            _gateways.clear()


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
