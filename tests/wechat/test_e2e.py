"""End to end: the Node gateway → the WeChat adapter → the real dispatcher and OrderService → the store."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.wechat import WechatAdapter
from bot import messages as m
from bot.config import config_from_dict
from bot.context import Core
from bot.dispatch import Dispatcher
from bot.model import ButtonPress, InboundMessage
from bot.ports import Repository
from bot.services.orders import OrderService
from storage.sql import open_repository
from tests.stores import memory_store
from tests.wechat.conftest import RecordingSink
from tests.wechat.gateway_proc import ROOM, ROOM_TOPIC, Gateway
from tests.wechat.samples import sample, solitaire_xml

CHAT_KEY = f"wechat:{ROOM}"


def config() -> Any:
    return config_from_dict({
        "bot": {"digest_minutes": 0},
        "groups": [{"id": "home", "platform": "wechat", "chat": ROOM, "title": ROOM_TOPIC}],
        "deals": [{
            "id": "fruit", "title": "周五水果团", "groups": ["home"],
            "items": [
                {"code": "1", "name": "阳光玫瑰葡萄", "unit": "盒", "price": "39.9", "aliases": ["葡萄"]},
                {"code": "2", "name": "赣南脐橙", "unit": "箱", "price": "29.9", "aliases": ["脐橙", "橙子"]},
                {"code": "3", "name": "血橙", "unit": "箱", "price": "22", "aliases": ["血橙"]},
            ],
        }],
    }, "test.toml", env={})


class Tap(RecordingSink):
    """Hands each message to the dispatcher, then records it (so a wait means: handled)."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        super().__init__()
        self.dispatcher = dispatcher

    async def on_message(self, msg: InboundMessage) -> None:
        await self.dispatcher.on_message(msg)
        await super().on_message(msg)

    async def on_press(self, press: ButtonPress) -> str:
        return await self.dispatcher.on_press(press)


@dataclass
class Bot:
    core: Core
    tap: Tap
    repo: Repository

    def stored(self) -> dict[str, dict[str, int]]:
        """sender name → item code → qty, as a service rebuilt from the store sees it."""
        service = OrderService(self.repo)
        deal = service.deal_of(CHAT_KEY)
        assert deal is not None
        out: dict[str, dict[str, int]] = {}
        for row in service.tally(deal.id).rows:
            out.setdefault(row.sender_name, {})[row.item_code] = row.qty
        return out


async def start_bot(make_adapter: Any, gateway: Gateway, repo: Repository) -> Bot:
    core = Core(service=OrderService(repo), config=config(), clock=lambda: datetime.now(UTC))
    async with core.lock:
        core.open_configured_deals()
    tap = Tap(Dispatcher(core))
    adapter: WechatAdapter = await make_adapter(gateway.endpoint, tap)
    core.adapters["wechat"] = adapter
    return Bot(core, tap, repo)


async def said_until(gateway: Gateway, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(said := await gateway.said()) < count:
        assert loop.time() < deadline, f"the bot said {said}"
        await asyncio.sleep(0.05)
    return said


async def test_orders_questions_and_withdrawals(gateway: Gateway, make_adapter) -> None:
    bot = await start_bot(make_adapter, gateway, memory_store())
    order = await gateway.say("wxid_alice", "葡萄2")
    await bot.tap.wait_for(1)
    assert bot.stored() == {"3栋王姐": {"1": 2}}
    [listing] = await said_until(gateway, 1)
    assert listing["text"].startswith("#接龙 周五水果团") and "3栋王姐 葡萄2" in listing["text"]

    await gateway.say("wxid_bob", "橙1")  # 脐橙 or 血橙?
    await bot.tap.wait_for(2)
    ask = (await said_until(gateway, 2))[1]
    assert ask == {"room": ROOM, "mentions": ["wxid_bob"],
                   "text": "@5栋李哥\u2005" + m.ASK_AMBIGUOUS.format(word="橙", options="脐橙还是血橙")}

    await gateway.recall("wxid_alice", order)
    await bot.tap.wait_for(3)
    assert bot.stored() == {}
    await bot.tap.dispatcher.drain()


APP_UNKNOWN, APP_URL = 0, 14  # wechaty MessageType numbers an app message (msg type 49) may arrive as
ALICE, BOB, CAROL = ("wxid_alice", "3栋王姐 葡萄1 橙子2"), ("wxid_bob", "5栋李哥 葡萄2"), ("wxid_carol", "7栋小陈 橙子1")
EXPECTED = {"3栋王姐": {"1": 1, "2": 2}, "5栋李哥": {"1": 2}, "7栋小陈": {"2": 1}}


async def test_native_solitaire_orders_each_author(gateway: Gateway, make_adapter) -> None:
    bot = await start_bot(make_adapter, gateway, memory_store())
    await gateway.raw("wxid_carol", APP_UNKNOWN, sample("tuan_attributed.xml"))  # carol adds line 3
    await bot.tap.wait_for(1)
    assert bot.stored() == {"7栋小陈": {"2": 1}}  # lines 1 and 2 were alice's and bob's to send
    assert [(m.sender_id, m.text) for m in bot.tap.messages] == [("wxid_carol", "3. 7栋小陈 橙子1 <加急> & 谢谢😊")]
    await bot.tap.dispatcher.drain()


async def test_each_resident_adds_their_line_and_nobody_elses(gateway: Gateway, make_adapter) -> None:
    bot = await start_bot(make_adapter, gateway, memory_store())
    await gateway.raw("wxid_alice", APP_UNKNOWN, solitaire_xml("wxid_alice", [ALICE]))
    await gateway.raw("wxid_bob", APP_URL, solitaire_xml("wxid_bob", [ALICE, BOB]))
    await gateway.raw("wxid_carol", APP_UNKNOWN, solitaire_xml("wxid_carol", [ALICE, BOB, CAROL]))
    await bot.tap.wait_for(3)
    assert bot.stored() == EXPECTED
    # carol's client sends a 群接龙 that cancels alice's line, raises bob's and adds one for an absent dave
    forged = [("wxid_alice", "3栋王姐 不要了"), ("wxid_bob", "5栋李哥 葡萄9"), CAROL, ("wxid_dave", "8栋 葡萄3")]
    await gateway.raw("wxid_carol", APP_UNKNOWN, solitaire_xml("wxid_carol", forged))
    await bot.tap.wait_for(4)
    assert bot.stored() == EXPECTED
    assert [m.sender_id for m in bot.tap.messages] == ["wxid_alice", "wxid_bob", "wxid_carol", "wxid_carol"]
    await bot.tap.dispatcher.drain()


async def test_solitaire_xml_typed_as_text_is_never_a_native_solitaire(gateway: Gateway, make_adapter) -> None:
    bot = await start_bot(make_adapter, gateway, memory_store())
    await gateway.raw("wxid_alice", APP_UNKNOWN, solitaire_xml("wxid_alice", [ALICE]))
    await bot.tap.wait_for(1)
    spoof = solitaire_xml("wxid_carol", [("wxid_alice", "3栋王姐 不要了"), ("wxid_bob", "5栋李哥 葡萄9")])
    await gateway.say("wxid_carol", spoof)  # a text message whose text is 群接龙 XML
    await bot.tap.wait_for(2)
    assert [(m.sender_id, m.message_id == m.delivery[1]) for m in bot.tap.messages][1] == ("wxid_carol", True)
    stored = bot.stored()
    assert stored["3栋王姐"] == {"1": 1, "2": 2} and "5栋李哥" not in stored
    await bot.tap.dispatcher.drain()


async def test_orders_after_a_gateway_restart_are_taken(gateway: Gateway, make_adapter, tmp_path) -> None:
    repo = open_repository(f"sqlite:///{tmp_path / 'tuan.db'}")
    try:
        bot = await start_bot(make_adapter, gateway, repo)
        adapter = bot.core.adapters["wechat"]
        await gateway.say("wxid_alice", "葡萄2")
        await bot.tap.wait_for(1)

        gateway.kill()
        loop = asyncio.get_running_loop()
        while adapter.connected:  # type: ignore[attr-defined]
            await asyncio.sleep(0.05)
        gateway.start()
        t0 = loop.time()
        while not adapter.connected:  # type: ignore[attr-defined]
            assert loop.time() - t0 < 15, "did not reconnect"
            await asyncio.sleep(0.1)

        await gateway.say("wxid_bob", "脐橙3")
        await bot.tap.wait_for(2)
        assert bot.stored() == {"3栋王姐": {"1": 2}, "5栋李哥": {"2": 3}}
        [listing] = await said_until(gateway, 1)  # said by the restarted gateway's bot account
        assert "5栋李哥 脐橙3" in listing["text"]
        await bot.tap.dispatcher.drain()
    finally:
        repo.close()


async def test_messages_wait_in_order_while_the_store_is_locked(gateway: Gateway, make_adapter, tmp_path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="adapters.wechat.adapter")
    path = tmp_path / "tuan.db"
    repo = open_repository(f"sqlite:///{path}", connect_args={"timeout": 0.05})
    other = sqlite3.connect(path, isolation_level=None)
    try:
        bot = await start_bot(make_adapter, gateway, repo)
        other.execute("BEGIN EXCLUSIVE")  # another program holds the database
        await gateway.say("wxid_alice", "葡萄2")
        await gateway.say("wxid_alice", "葡萄改成3")  # only right when taken after the first
        await gateway.say("wxid_bob", "脐橙1")
        async with asyncio.timeout(10):  # offered again and again (0.2 s backoff in tests), still locked
            while sum("kept for when the store is back" in r.getMessage() for r in caplog.records) < 3:
                await asyncio.sleep(0.02)
        assert bot.tap.messages == [] and await gateway.said() == []  # nothing handled, nothing said
        async with bot.core.lock:
            assert bot.core.service.sender_totals(CHAT_KEY, "wxid_alice") == {}
        other.execute("ROLLBACK")
        await bot.tap.wait_for(3)
        assert [msg.text for msg in bot.tap.messages] == ["葡萄2", "葡萄改成3", "脐橙1"]
        assert bot.stored() == {"3栋王姐": {"1": 3}, "5栋李哥": {"2": 1}}
        await bot.tap.dispatcher.drain()
    finally:
        other.close()
        repo.close()
