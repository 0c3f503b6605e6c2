"""`tuan run` with Telegram enabled: bot.runtime.serve loads this adapter through its factory."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot import messages as m
from bot.config import config_from_dict
from bot.ports import Changeset, OutboxRow
from bot.runtime import serve
from storage.sql import open_repository
from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.stack import CHAT_ID, CHAT_KEY, config_dict, stored
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


async def test_serve_delivers_what_a_former_run_left_in_the_outbox(api: FakeBotApi, sqlite_url: str) -> None:
    """Effects committed but never delivered (the process died) go out once the adapter is up; an
    expired one is dropped; both leave the outbox."""
    now = datetime.now(UTC)
    repo = open_repository(sqlite_url)
    try:
        left = [OutboxRow(seq=1, n=0, chat_key=CHAT_KEY, kind="react", target="55", text=m.ACK_EMOJI, mention_id=None,
                          mention_name=None, created_at=now - timedelta(seconds=5)),
                OutboxRow(seq=2, n=0, chat_key=CHAT_KEY, kind="react", target="56", text=m.ACK_EMOJI, mention_id=None,
                          mention_name=None, created_at=now - timedelta(seconds=601))]
        repo.commit(Changeset(outbox=left))
    finally:
        repo.close()
    data = config_dict(api.base_url, "", poll_timeout=2)
    data["store"] = {"url": sqlite_url}
    config = config_from_dict(data, "tuan.toml", env={"TUAN_TELEGRAM_TOKEN": api.token})
    stop = asyncio.Event()
    running = asyncio.create_task(serve(config, stop=stop))
    try:
        await api.wait_for(lambda: bool(api.calls_to("setMessageReaction")))
    finally:
        stop.set()
        await asyncio.wait_for(running, 20)
    assert [c.params["message_id"] for c in api.calls_to("setMessageReaction")] == ["55"]
    repo = open_repository(sqlite_url)
    try:
        assert repo.pending_effects(now + timedelta(days=1)) == []
    finally:
        repo.close()
