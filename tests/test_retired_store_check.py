"""A retired group takes no new round, decided by the store in the opening's own transaction
(bot/services/orders.py ``Unit.bind``, ``Transaction.retired_group``), not by a process's
directory read a moment before `tuan group remove`: a leader's deal post is refused and said so,
the orders after it are told there is no round (never ✅), and the service's own opening
(`tuan deal open|copy`, the web, configured deals) raises :class:`bot.ports.ChatRetired`."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.base import Capabilities
from adapters.fake import FakeAdapter, sender_id_of
from bot import messages as m
from bot.catalog import Catalog, Item
from bot.context import Core
from bot.dispatch import Dispatcher
from bot.ports import ChatRetired
from bot.runtime import read_config
from bot.services.orders import OrderService
from bot.usecases.platform_data import StoreDirectory
from storage.platform import SqlPlatformStore
from storage.sql import open_repository
from tests.test_retirement import CONFIG, ok


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


async def test_a_deal_post_after_retirement_is_refused_and_orders_are_told(capsys: Any, tmp_path: Path,
                                                                           store_url: str) -> None:
    config = str(tmp_path / "tuan.toml")
    Path(config).write_text(CONFIG.format(url=store_url), encoding="utf-8")
    ok(capsys, config, "leader", "add", "wang", "--name", "王姐", "--account", f"fake:{sender_id_of('王姐')}")
    ok(capsys, config, "group", "add", "park", "--platform", "fake", "--chat", "park", "--leaders", "wang")
    repo = open_repository(store_url)
    try:
        core = Core(service=OrderService(repo), config=read_config(config), clock=lambda: datetime.now(UTC),
                    directory=StoreDirectory(SqlPlatformStore(repo.engine)))
        chat = FakeAdapter("fake", Capabilities(reactions=True))
        core.adapters["fake"] = chat
        dispatcher = Dispatcher(core)
        await chat.start(dispatcher)
        await chat.push("/帮助", sender="王姐", chat_id="park")  # the directory is read: park is served
        chat.pop_all()
        ok(capsys, config, "group", "remove", "park")
        await chat.push("#接龙 周五团\n1. 阳光玫瑰葡萄 29.9元/盒", sender="王姐", chat_id="park")
        await chat.push("3栋402 葡萄2", sender="刘奶奶", chat_id="park")
        await dispatcher.drain()
        sent = chat.pop_all()
        assert core.service.deal_of("fake:park") is None
        assert any(s.text == m.DEAL_GROUP_RETIRED for s in sent), sent
        assert not any(s.kind == "react" and "✅" in s.emoji for s in sent), sent
        catalog = Catalog(items=(Item("1", "葡萄", "盒", Decimal("10")),))
        with pytest.raises(ChatRetired, match="group park is retired"):
            core.service.open_deal(catalog, ["fake:park"], title="t", source="cli")
        assert core.service.deal_of("fake:park") is None
    finally:
        repo.close()
