"""The morning after on Telegram: fake Bot API ⇄ PTB ⇄ TelegramAdapter ⇄ Dispatcher ⇄ SQLite.

A leader verifies by replying 已取 to a resident's order message, a resident's /my shows the mark,
and /unpicked mentions each resident still to come (a text_mention entity per @name)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from bot import messages as m
from storage.sql import SqlRepository, open_repository
from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.stack import CHAT_ID, Stack, build
from tests.telegram.updates import Chat, Person, residents

LEADER = Person(1, "团长小美", username="xiaomei")


@pytest.fixture
async def repo(sqlite_url: str) -> AsyncIterator[SqlRepository]:
    store = open_repository(sqlite_url)
    yield store
    store.close()


@pytest.fixture
async def stack(api: FakeBotApi, repo: SqlRepository) -> AsyncIterator[Stack]:
    api.set_admins(CHAT_ID, [LEADER.json()])
    running = await build(repo, api.base_url, api.token).start()
    yield running
    await running.stop()


def texts(api: FakeBotApi) -> list[str]:
    return [c.params["text"] for c in api.calls_to("sendMessage")]


async def test_verification_by_reply_and_an_unpicked_roll_call(api: FakeBotApi, stack: Stack) -> None:
    group = Chat(api, CHAT_ID)
    people = residents(4)
    said = {who.id: group.say(who, f"{n + 1}栋101 {who.first_name} 葡萄1") for n, who in enumerate(people)}
    await api.wait_for(lambda: len(api.calls_to("setMessageReaction")) == 4)

    group.say(LEADER, "已取", reply_to=said[people[1].id])
    await api.wait_for(lambda: any(t.startswith("✅ 已核销") for t in texts(api)))
    [verified] = [t for t in texts(api) if t.startswith("✅ 已核销")]
    assert verified.startswith("✅ 已核销:2栋101 ") and "取货码" in verified
    group.say(people[0], "已取", reply_to=said[people[2].id])  # a resident's 已取 verifies nothing

    group.say(LEADER, "/unpicked")
    await api.wait_for(lambda: any(t.startswith("📦 还有") for t in texts(api)))
    call = next(c for c in api.calls_to("sendMessage") if c.params["text"].startswith("📦 还有"))
    assert call.params["text"].startswith(m.UNPICKED_TITLE.format(n=3))
    entities = call.params["entities"]
    entities = json.loads(entities) if isinstance(entities, str) else entities
    assert [e["type"] for e in entities] == ["text_mention"] * 3
    assert [e["user"]["id"] for e in entities] == [people[0].id, people[2].id, people[3].id]
    text16 = call.params["text"].encode("utf-16-le")
    assert [text16[2 * e["offset"]:2 * (e["offset"] + e["length"])].decode("utf-16-le") for e in entities] == [
        f"@{full(p)}" for p in (people[0], people[2], people[3])]


def full(p: Person) -> str:
    return " ".join(x for x in (p.first_name, p.last_name) if x)
