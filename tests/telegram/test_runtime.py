"""`tuan run` with Telegram enabled: bot.runtime.serve loads this adapter through its factory."""

from __future__ import annotations

import asyncio

from bot.config import config_from_dict
from bot.runtime import serve
from storage.sql import open_repository
from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.stack import CHAT_ID, config_dict, stored
from tests.telegram.updates import Chat, Person


async def test_serve_runs_the_telegram_adapter(api: FakeBotApi, sqlite_url: str) -> None:
    data = config_dict(api.base_url, "", poll_timeout=2)
    data["store"] = {"url": sqlite_url}
    config = config_from_dict(data, "tuan.toml", env={"TUAN_TELEGRAM_TOKEN": api.token})
    stop = asyncio.Event()
    running = asyncio.create_task(serve(config, stop=stop))
    try:
        group = Chat(api, CHAT_ID)
        said = group.say(Person(7, "王姐"), "葡萄2")
        await api.wait_for(lambda: bool(api.calls_to("setMessageReaction")))
        assert api.calls_to("setMessageReaction")[0].params["message_id"] == str(said)
    finally:
        stop.set()
        await asyncio.wait_for(running, 20)
    repo = open_repository(sqlite_url)
    try:
        assert stored(repo) == {"7": {"1": 2}}
    finally:
        repo.close()
