"""Breaker 7: a group retired (`tuan group remove`) while the running bot still has it in its
directory (re-read every 5 s): the check of "no open round" and the opening of a round are not one
step, so a round opens in the retired group and its orders are acknowledged."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.fake import sender_id_of
from bot.runtime import read_config
from bot.services.orders import OrderService
from bot.usecases.platform_data import StoreDirectory
from storage.platform import SqlPlatformStore
from storage.sql import open_repository
from tests.test_retirement import CONFIG, ok


async def test_a_group_retired_a_moment_ago_takes_no_new_round(capsys: Any, tmp_path: Path, sqlite_url: str) -> None:
    from adapters.base import Capabilities
    from adapters.fake import FakeAdapter
    from bot.context import Core
    from bot.dispatch import Dispatcher

    config = str(tmp_path / "tuan.toml")
    Path(config).write_text(CONFIG.format(url=sqlite_url), encoding="utf-8")
    ok(capsys, config, "leader", "add", "wang", "--name", "王姐", "--account", f"fake:{sender_id_of('王姐')}")
    ok(capsys, config, "group", "add", "park", "--platform", "fake", "--chat", "park", "--leaders", "wang")
    repo = open_repository(sqlite_url)
    try:
        core = Core(service=OrderService(repo), config=read_config(config), clock=lambda: datetime.now(UTC),
                    directory=StoreDirectory(SqlPlatformStore(repo.engine)))
        chat = FakeAdapter("fake", Capabilities(reactions=True))
        core.adapters["fake"] = chat
        dispatcher = Dispatcher(core)
        await chat.start(dispatcher)
        await chat.push("/帮助", sender="王姐", chat_id="park")  # the bot has read its directory
        chat.pop_all()
        ok(capsys, config, "group", "remove", "park")  # no round: nothing owed, retired now
        await chat.push("#接龙 周五团\n1. 阳光玫瑰葡萄 29.9元/盒\n2、赣南脐橙 ¥25.8", sender="王姐", chat_id="park")
        chat.pop_all()
        await dispatcher.drain()
        assert core.service.deal_of("fake:park") is None, "a round opened in a retired group"
    finally:
        repo.close()
