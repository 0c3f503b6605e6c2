"""`tuan run` with Telegram and no console, its stdout and stderr closed (a service whose log reader
died): log lines are lost, the group is still served and the bot stops normally (docs/running.md)."""

from __future__ import annotations

import asyncio
import io
import logging
import sys

import pytest

from bot.config import config_from_dict
from bot.runtime import serve
from storage.sql import open_repository
from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.stack import CHAT_ID, config_dict, stored
from tests.telegram.updates import Chat, Person


class ClosedPipe(io.TextIOBase):
    """A stream whose reader went away: every write raises BrokenPipeError (counted)."""

    def __init__(self) -> None:
        self.refused = 0

    def write(self, s: str) -> int:
        self.refused += 1
        raise BrokenPipeError(32, "Broken pipe")


async def test_telegram_is_served_with_stdout_and_stderr_closed(api: FakeBotApi, sqlite_url: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = ClosedPipe(), ClosedPipe()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)  # where logging.Handler.handleError reports a failed record
    handler = logging.StreamHandler(err)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)  # the start-up lines: store, platforms, groups
    try:
        data = config_dict(api.base_url, "", poll_timeout=2)
        data["store"] = {"url": sqlite_url}
        config = config_from_dict(data, "tuan.toml", env={"TUAN_TELEGRAM_TOKEN": api.token})
        stop = asyncio.Event()
        running = asyncio.create_task(serve(config, stop=stop))
        try:
            Chat(api, CHAT_ID).say(Person(7, "王姐"), "葡萄2")
            await api.wait_for(lambda: bool(api.calls_to("setMessageReaction")))
        finally:
            stop.set()
            await asyncio.wait_for(running, 20)  # returns: no BrokenPipeError without the console
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert err.refused > 0  # the log lines were tried, and lost
    repo = open_repository(sqlite_url)
    try:
        assert stored(repo) == {"7": {"1": 2}}
    finally:
        repo.close()
