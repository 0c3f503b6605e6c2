"""The store fails in the middle of a burst: nothing uncommitted is seen, counted or acknowledged.

Real failures, through the real pipeline (the fake Bot API over HTTP → TelegramAdapter →
Dispatcher → OrderService → store): a private PostgreSQL cluster killed with
``pg_ctl stop -m immediate`` and started again, and a SQLite file another connection holds
locked (``BEGIN EXCLUSIVE``). Updates the store could not take stay unconfirmed and are taken
once it is back, each exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.model import InboundMessage
from bot.ports import StoreUnavailable
from storage.sql import SqlRepository, open_repository
from tests.pgcluster import PgCluster
from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.stack import CHAT_ID, Stack, build, egg_card, stored
from tests.telegram.updates import Chat, Person, residents

TEXTERS, PRESSERS = 60, 20
ADAPTER = "adapters.telegram.adapter"


def failures(caplog: pytest.LogCaptureFixture) -> int:
    """How often the adapter logged that an update failed (it logs each attempt)."""
    return sum(r.name == ADAPTER and r.levelno >= logging.INFO and "update" in r.getMessage()
               and "attempt" in r.getMessage() for r in caplog.records)


def unmarked(caplog: pytest.LogCaptureFixture) -> int:
    """How many delivered effects the dispatcher could not mark before it stopped (it logs them)."""
    found = [re.match(r"(\d+) delivered effects could not be marked", r.getMessage()) for r in caplog.records
             if r.name == "bot.dispatch"]
    return sum(int(m.group(1)) for m in found if m)


async def until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Poll ``condition`` every 10 ms; TimeoutError after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def reacted(api: FakeBotApi) -> list[int]:
    return [int(c.params["message_id"]) for c in api.calls_to("setMessageReaction")]


def answered(api: FakeBotApi) -> list[str]:
    return [c.params["callback_query_id"] for c in api.calls_to("answerCallbackQuery")]


@pytest.fixture
async def stack_on(api: FakeBotApi) -> AsyncIterator[Callable[..., Stack]]:
    """The bot on a store (``[telegram]`` overrides as keywords); stopped, and the store closed, after the test."""
    made: list[Stack] = []

    def make(repo: SqlRepository, **telegram: Any) -> Stack:
        made.append(build(repo, api.base_url, api.token, poll_timeout=1, **telegram))
        return made[-1]

    yield make
    for s in made:
        await s.stop()
        s.repo.close()


async def test_postgres_killed_mid_burst_then_restarted(api: FakeBotApi, pg_cluster: PgCluster,
                                                       stack_on: Callable[..., Stack],
                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=ADAPTER)
    repo = open_repository(pg_cluster.url)
    stack = await stack_on(repo).start()
    group = Chat(api, CHAT_ID)
    card = egg_card(api, repo)
    data = api.bot_messages[(CHAT_ID, card)]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    people = residents(TEXTERS + PRESSERS)
    expected: dict[str, dict[str, int]] = {}
    said: dict[int, str] = {}  # message id -> sender id
    pressed: dict[str, str] = {}  # callback query id -> sender id
    for n, who in enumerate(people[:TEXTERS]):
        said[group.say(who, f"葡萄{n % 3 + 1}")] = str(who.id)
        expected[str(who.id)] = {"1": n % 3 + 1}
    for who in people[TEXTERS:]:
        pressed[group.press(who, card, data)] = str(who.id)
        expected[str(who.id)] = {"4": 1}
    first, last = api.updates[0]["update_id"], api.updates[-1]["update_id"]

    await api.wait_for(lambda: len(reacted(api)) >= 20, timeout=30)
    pg_cluster.kill()
    await until(lambda: failures(caplog) > 0)  # an update met the dead store

    # The outage: nothing more is acknowledged or confirmed, and nothing uncommitted is visible.
    acked = len(reacted(api)) + len(answered(api))
    with pytest.raises(StoreUnavailable):
        async with stack.core.lock:
            stack.core.service.tally(stack.deal_id)  # the state was dropped; it cannot be read back yet
    leader = InboundMessage("telegram", str(CHAT_ID), "tally-1", "1", "团长", "/tally", datetime.now(UTC),
                            is_admin=True)
    sent_before = len(api.calls_to("sendMessage"))
    await stack.dispatcher.on_message(leader)  # a /tally during the outage: no tally at all, not a wrong one
    await asyncio.sleep(0.5)  # the poller keeps retrying meanwhile
    # polls go on meanwhile, but their offset stays at the update the store could not take
    assert len(reacted(api)) + len(answered(api)) == acked and api.confirmed <= first + acked
    assert len(api.calls_to("sendMessage")) == sent_before
    assert api.confirmed <= last  # the rest of the burst is still Telegram's

    pg_cluster.start()
    await until(lambda: api.confirmed > last, timeout=30)
    await until(lambda: len(answered(api)) == PRESSERS)
    check = open_repository(pg_cluster.url)
    try:
        assert stored(check) == expected  # everything once: nothing lost, nothing twice
    finally:
        check.close()
    assert sorted(reacted(api)) == sorted(said)  # each order acknowledged once, all of them
    assert sorted(answered(api)) == sorted(pressed)
    async with stack.core.lock:
        tally = stack.core.service.tally(stack.deal_id)
    assert {r.sender_id for r in tally.rows} == set(expected)


async def test_the_bot_restarts_during_the_outage(api: FakeBotApi, pg_cluster: PgCluster,
                                                  stack_on: Callable[..., Stack],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """Stopped while the store is down, the bot leaves the update in hand to Telegram, which delivers it again."""
    caplog.set_level(logging.INFO, logger=ADAPTER)
    repo = open_repository(pg_cluster.url)
    first = build(repo, api.base_url, api.token, poll_timeout=1)
    await first.start()
    group = Chat(api, CHAT_ID)
    people = residents(TEXTERS)
    said = {group.say(who, f"葡萄{n % 3 + 1}"): str(who.id) for n, who in enumerate(people)}
    expected = {str(who.id): {"1": n % 3 + 1} for n, who in enumerate(people)}
    last = api.updates[-1]["update_id"]
    await api.wait_for(lambda: len(reacted(api)) >= 10, timeout=30)
    pg_cluster.kill()
    await until(lambda: failures(caplog) > 0)
    await first.stop()
    repo.close()
    stuck = api.confirmed  # the update in hand when the store went down: still Telegram's
    assert stuck <= last and said.keys() - set(reacted(api))
    before = api.delivered[stuck]

    pg_cluster.start()
    await stack_on(open_repository(pg_cluster.url)).start()
    await until(lambda: api.confirmed > last, timeout=30)
    assert api.delivered[stuck] > before  # delivered again to the new process, and taken
    check = open_repository(pg_cluster.url)
    try:
        assert stored(check) == expected
    finally:
        check.close()
    await until(lambda: set(reacted(api)) == set(said))  # each acknowledged
    # again only where the outage kept the mark of a delivered ✅ from the store: the first process
    # stopped before it could mark them, so the next one set the same reaction again (nothing shows)
    again = len(reacted(api)) - len(said)
    assert again <= unmarked(caplog), (again, unmarked(caplog))


async def test_sqlite_locked_by_another_connection(api: FakeBotApi, tmp_path: Path,
                                                   stack_on: Callable[..., Stack],
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=ADAPTER)
    path = tmp_path / "tuan.db"
    repo = open_repository(f"sqlite:///{path}", connect_args={"timeout": 0.05})
    stack = await stack_on(repo, max_attempts=3, retry_base=0.005).start()
    group = Chat(api, CHAT_ID)
    wang, qiang = residents(2)
    first = group.say(wang, "葡萄2")
    await api.wait_for(lambda: reacted(api) == [first])

    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        second = group.say(qiang, "鸡蛋3")
        update = api.updates[-1]["update_id"]
        await until(lambda: failures(caplog) > 0)
        started = time.perf_counter()
        await until(lambda: failures(caplog) >= 6)  # tried again and again, beyond max_attempts
        assert time.perf_counter() - started < 5
        assert reacted(api) == [first] and api.confirmed <= update  # not acknowledged, not confirmed
        async with stack.core.lock:
            assert stack.core.service.sender_totals(f"telegram:{CHAT_ID}", str(qiang.id)) == {}  # not counted
    finally:
        other.execute("ROLLBACK")
        other.close()

    await api.wait_for(lambda: reacted(api) == [first, second])
    await until(lambda: api.confirmed > update)
    assert stored(repo) == {str(wang.id): {"1": 2}, str(qiang.id): {"4": 3}}


async def test_unencodable_text_cannot_block_the_store(api: FakeBotApi, pg_url: str,
                                                       stack_on: Callable[..., Stack]) -> None:
    """A lone surrogate (an unpaired JSON escape) or a NUL would fail every commit of the message."""
    repo = open_repository(pg_url)
    await stack_on(repo).start()
    group = Chat(api, CHAT_ID)
    wang, qiang = Person(1001, "王\udc00姐"), Person(1002, "阿强")
    said = [group.say(wang, "葡萄2 \ud800"), group.say(qiang, "鸡蛋1\u0000"), group.say(qiang, "脐橙1")]
    await api.wait_for(lambda: reacted(api) == said)
    assert stored(repo) == {str(wang.id): {"1": 2}, str(qiang.id): {"4": 1, "2": 1}}
