"""End to end through the Node gateway (mock puppet): a resident's own order (我的订单 / 查单 / /my;
the pickup code privately),
lists with phone numbers sent to the leader privately (a FileBox for the XLSX export), masked in the room."""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import UTC, datetime
from typing import Any

from adapters.wechat import WechatAdapter
from bot import messages as m
from bot.config import config_from_dict
from bot.context import Core
from bot.dispatch import Dispatcher
from bot.services.orders import OrderService
from tests.sheets import file_text
from tests.stores import memory_store
from tests.wechat.gateway_proc import ROOM, ROOM_TOPIC, Gateway
from tests.wechat.test_e2e import Tap

LEADER = "wxid_carol"  # 7栋小陈 leads the group (configured)


def config() -> Any:
    return config_from_dict({
        "bot": {"digest_minutes": 0},
        "groups": [{"id": "home", "platform": "wechat", "chat": ROOM, "title": ROOM_TOPIC, "leaders": [LEADER]}],
        "deals": [{
            "id": "fruit", "title": "周五水果团", "groups": ["home"],
            "items": [
                {"code": "1", "name": "阳光玫瑰葡萄", "unit": "盒", "price": "39.9", "aliases": ["葡萄"]},
                {"code": "2", "name": "赣南脐橙", "unit": "箱", "price": "29.9", "aliases": ["脐橙", "橙子"]},
            ],
        }],
    }, "test.toml", env={})


async def start(make_adapter: Any, gateway: Gateway) -> Tap:
    core = Core(service=OrderService(memory_store()), config=config(), clock=lambda: datetime.now(UTC))
    async with core.lock:
        core.open_configured_deals()
    tap = Tap(Dispatcher(core))
    adapter: WechatAdapter = await make_adapter(gateway.endpoint, tap)
    core.adapters["wechat"] = adapter
    return tap


async def until(gateway: Gateway, check: Any, timeout: float = 8.0) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check(said := await gateway.said()):
        assert loop.time() < deadline, f"the bot said {said}"
        await asyncio.sleep(0.05)
    return said


async def test_residents_ask_for_their_own_order_in_the_room(gateway: Gateway, make_adapter: Any) -> None:
    tap = await start(make_adapter, gateway)
    await gateway.say("wxid_alice", "葡萄2 橙子1")
    await tap.wait_for(1)
    for n, (who, text) in enumerate([("wxid_alice", "我的订单"), ("wxid_alice", "查单"), ("wxid_alice", "/my"),
                                     ("wxid_alice", "@团购小助手\u2005我的订单"), ("wxid_bob", "查单")], 2):
        await gateway.say(who, text, mentions=["wxid_tuanbot"] if text.startswith("@") else None)
        await tap.wait_for(n)
    said = await until(gateway, lambda s: len([x for x in s if x["mentions"]]) >= 5)
    answers = [x for x in said if x["mentions"]]
    mine = m.MY_ORDER.format(title="周五水果团", state="", goods="葡萄2盒 脐橙1箱", amount="109.70")
    mine += m.MY_NUMBER.format(numbers=m.MY_NUMBER_ONE.format(number=1))  # the first to order: 跟团号 1
    # each answer: the order, point and paid mark (tests/test_leaderday.py), and that the pickup code
    # went to her privately: never a code in the room
    marks = m.MY_MARKS_GROUP.format(point="-", paid=m.MY_UNPAID, picked="")
    assert [a["text"].splitlines() for a in answers[:4]] == [["@3栋王姐\u2005" + mine, marks, m.MY_CODE_SENT]] * 4
    assert all(a["mentions"] == ["wxid_alice"] and a["room"] == ROOM for a in answers[:4])
    assert answers[4] == {"room": ROOM, "mentions": ["wxid_bob"], "text": "@5栋李哥\u2005" + m.MY_NONE}
    private = [x["text"] for x in said if x["room"] == "wxid_alice"]
    codes = {c for t in private for c in re.findall(r"取货码(\d{4})", t)}
    assert len(private) == 4 and len(codes) == 1 and all(t.startswith(m.GROUP_HEADING.format(group=ROOM_TOPIC) + mine)
                                                         for t in private)
    [code] = codes
    assert not any(code in x["text"] for x in said if x["room"] == ROOM)
    await tap.dispatcher.drain()


async def test_export_and_pickup_go_to_the_leader_privately_as_a_file(gateway: Gateway,
                                                                         make_adapter: Any) -> None:
    tap = await start(make_adapter, gateway)
    await gateway.say("wxid_alice", "3栋402 王姐 138-0013-8000 葡萄2")
    await tap.wait_for(1)
    listing = (await until(gateway, lambda s: len(s) >= 1))[0]
    assert listing["room"] == ROOM and "138****8000" in listing["text"] and "0013" not in listing["text"]

    await gateway.say(LEADER, "/export")
    await tap.wait_for(2)
    said = await until(gateway, lambda s: any(x["text"].endswith(m.SENT_PRIVATELY) for x in s))
    [doc] = await gateway.files()
    assert doc["to"] == LEADER and doc["name"].endswith(".xlsx")  # to the leader, never the room
    sheet = file_text(base64.b64decode(doc["base64"]))
    assert "138-0013-8000" in sheet and "阳光玫瑰葡萄" in sheet
    assert said[-1] == {"room": ROOM, "mentions": [LEADER], "text": "@7栋小陈\u2005" + m.SENT_PRIVATELY}

    await gateway.say(LEADER, "/pickup")
    await tap.wait_for(3)
    said = await until(gateway, lambda s: sum(x["text"].endswith(m.SENT_PRIVATELY) for x in s) == 2)
    [pickup] = [x for x in said if x["text"].startswith(m.GROUP_HEADING.format(group=ROOM_TOPIC) + "\n📦")]
    assert pickup["room"] == LEADER and "138-0013-8000" in pickup["text"]
    assert not any("0013" in x["text"] for x in said if x["room"] == ROOM)
    await tap.dispatcher.drain()
