"""Private /export over real HTTP: fake Bot API ⇄ PTB ⇄ TelegramAdapter ⇄ Dispatcher ⇄ SQLite.

Two groups with their own admins, and an outsider who made a group of their own, added the bot and
said hello there: a private /export gives each leader their group's workbook only, and the outsider none.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from adapters.telegram import create
from bot import messages as m
from bot.config import config_from_dict
from bot.context import Core
from bot.demo_script import sample_deal
from bot.dispatch import Dispatcher
from bot.services.orders import OrderService
from storage.sql import SqlRepository, open_repository
from tests.sheets import file_text
from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.stack import CHAT_ID, Stack, config_dict
from tests.telegram.updates import Chat, Person

OTHER_ID, OWN_ID = -1009999999999, -1005555555555
LEADER_A, LEADER_B = Person(1, "团长小美", username="xiaomei"), Person(2, "团长阿花")
OUTSIDER = Person(666, "路人甲", username="stranger")
WANG, QIANG = Person(1001, "王姐"), Person(1002, "阿强")


@pytest.fixture
async def stack(api: FakeBotApi, sqlite_url: str) -> AsyncIterator[Stack]:
    data = config_dict(api.base_url, api.token)
    data["groups"].append({"id": "park", "platform": "telegram", "chat": str(OTHER_ID), "title": "阳光花园二群"})
    veg = copy.deepcopy(sample_deal(egg_stock=50))
    veg.update(id="veg", title="蔬菜团", groups=["park"])
    data["deals"].append(veg)
    config = config_from_dict(data, "test.toml", env={})
    repo: SqlRepository = open_repository(sqlite_url)
    core = Core(service=OrderService(repo), config=config, clock=lambda: datetime.now(UTC))
    adapter = create(config.telegram, config)
    core.adapters[adapter.name] = adapter
    core.open_configured_deals()
    api.set_admins(CHAT_ID, [LEADER_A.json()])
    api.set_admins(OTHER_ID, [LEADER_B.json()])
    api.set_admins(OWN_ID, [OUTSIDER.json()])
    running = await Stack(core, Dispatcher(core), adapter, repo).start()
    yield running
    await running.stop()
    repo.close()


def documents(api: FakeBotApi, chat_id: int) -> list[str]:
    """The text of each workbook sent to the chat (every cell, one row a line)."""
    return [file_text(c.files["document"][1]) for c in api.calls_to("sendDocument")
            if int(c.params["chat_id"]) == chat_id]


async def test_private_export_reaches_only_the_callers_group(api: FakeBotApi, stack: Stack) -> None:
    home, park, own = Chat(api, CHAT_ID), Chat(api, OTHER_ID, "阳光花园二群"), Chat(api, OWN_ID, "我的小群")
    home.say(WANG, "3栋402 王姐 葡萄2")
    park.say(QIANG, "5栋101 阿强 葡萄1")
    own.say(OUTSIDER, "大家好")
    await api.wait_for(lambda: len(api.calls_to("setMessageReaction")) == 2)
    await api.wait_for(lambda: bool(api.calls_to("getChatAdministrators")))

    Chat(api, OUTSIDER.id, "路人甲").say(OUTSIDER, "/export")
    await api.wait_for(lambda: bool(api.sent_texts(OUTSIDER.id)))
    assert api.sent_texts(OUTSIDER.id) == [m.PRIVATE_NO_GROUP] and documents(api, OUTSIDER.id) == []

    Chat(api, LEADER_A.id, "小美").say(LEADER_A, "/export")
    await api.wait_for(lambda: bool(documents(api, LEADER_A.id)))
    [csv_a] = documents(api, LEADER_A.id)
    assert "王姐" in csv_a and "阿强" not in csv_a and csv_a.splitlines()[1].endswith("\t阳光花园团购群")

    Chat(api, LEADER_B.id, "阿花").say(LEADER_B, "/导出")
    await api.wait_for(lambda: bool(documents(api, LEADER_B.id)))
    [csv_b] = documents(api, LEADER_B.id)
    assert "阿强" in csv_b and "王姐" not in csv_b

    Chat(api, LEADER_A.id, "小美").say(LEADER_A, "/tally")  # a private view, still only their group
    await api.wait_for(lambda: len(api.sent_texts(LEADER_A.id)) == 1)
    assert "阳光花园团购群" in api.sent_texts(LEADER_A.id)[0] and "二群" not in api.sent_texts(LEADER_A.id)[0]


async def test_a_group_admin_leads_only_that_group(api: FakeBotApi, stack: Stack) -> None:
    park = Chat(api, OTHER_ID, "阳光花园二群")
    home = Chat(api, CHAT_ID)
    park.say(LEADER_B, "/tally")
    await api.wait_for(lambda: bool(api.sent_texts(OTHER_ID)))
    assert api.sent_texts(OTHER_ID)[0].startswith("📊")
    home.say(LEADER_B, "/tally")
    await api.wait_for(lambda: bool(api.sent_texts(CHAT_ID)))
    assert api.sent_texts(CHAT_ID) == [m.NOT_LEADER]
