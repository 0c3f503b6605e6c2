"""The morning after on Telegram: fake Bot API ⇄ PTB ⇄ TelegramAdapter ⇄ Dispatcher ⇄ SQLite.

A leader verifies by replying 已取 to a resident's order message, a resident's /my shows the mark,
and /unpicked mentions each resident still to come (a text_mention entity per @name); then a whole
evening and the next morning (orders, cutoff, stocking list, the scheduled pickup list, arrival,
verification by code (sent to the resident privately), by reply and by 跟团号, a short delivery, a
refund, the roll-call, the XLSX export and the PDF sheet as files, the next day's reminder), every
group message scanned: no household's pickup code is ever posted in the group."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot import messages as m
from bot.leaderday_commands import leaderday_of
from bot.scheduler import JOBS
from storage.sql import SqlRepository, open_repository
from tests.telegram.fake_bot_api import FakeBotApi
from tests.telegram.stack import CHAT_ID, Stack, build
from tests.telegram.updates import Chat, Person, residents

LEADER = Person(1, "团长小美", username="xiaomei")
GROUP = f"telegram:{CHAT_ID}"


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
    assert verified.startswith("✅ 已核销:2栋101 ") and verified.endswith("(跟团号#2)") and "取货码" not in verified
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


# --- a whole evening and the next morning ----------------------------------------------------------------


@pytest.fixture
async def evening(api: FakeBotApi, repo: SqlRepository) -> AsyncIterator[tuple[Stack, list[datetime]]]:
    """The stack with the group's pickup points 东门 and 西门 and a clock the test moves."""
    from adapters.telegram import create
    from bot.config import config_from_dict
    from bot.context import Core
    from bot.dispatch import Dispatcher
    from bot.services.orders import OrderService
    from tests.telegram.stack import config_dict

    api.set_admins(CHAT_ID, [LEADER.json()])
    data = config_dict(api.base_url, api.token)
    data["groups"][0]["pickup_points"] = ["东门", "西门"]
    config = config_from_dict(data, "test.toml", env={})
    now = [datetime.now(UTC)]
    core = Core(service=OrderService(repo), config=config, clock=lambda: now[0])
    adapter = create(config.telegram, config)
    core.adapters[adapter.name] = adapter
    core.open_configured_deals()
    running = await Stack(core, Dispatcher(core), adapter, repo).start()
    yield running, now
    await running.stop()


def said_after(api: FakeBotApi, chat_id: int, start: int) -> list[str]:
    return api.sent_texts(chat_id)[start:]


async def test_a_whole_evening_and_the_next_morning(api: FakeBotApi, evening: tuple[Stack, list[datetime]]) -> None:
    """By hand (葡萄 29.90, 脐橙 25.80, 鸡蛋 32): 王姐 3栋402 葡萄2 59.80; 李阿姨 5-1-302 脐橙1 鸡蛋1
    57.80; 阿强 12栋101 葡萄1 29.90; 张叔 2栋101 葡萄2 59.80; 小赵 1栋301 葡萄1 鸡蛋1 61.90; 刘奶奶
    7栋202 鸡蛋2 64.00 (西门). 6 households, 333.20. /short 葡萄 5 of 6: 小赵 (the last) short 1,
    29.90; /refund 张叔 葡萄 1 坏果: 29.90."""
    from openpyxl import load_workbook

    from tests.test_sheet_pdf import numbers_in, pages

    stack, now = evening
    group = Chat(api, CHAT_ID)
    names = ["王姐", "李阿姨", "阿强", "张叔", "小赵", "刘奶奶"]
    people = [Person(1000 + n, name) for n, name in enumerate(names, 1)]
    lines = ["3栋402 王姐 葡萄2", "5-1-302 李阿姨 脐橙1 鸡蛋1", "12栋101 阿强 葡萄1", "2栋101 张叔 葡萄2",
             "1栋301 小赵 葡萄1 鸡蛋1", "7栋202 刘奶奶 鸡蛋2"]
    orders = {}
    for who, text in zip(people, lines, strict=True):
        orders[who.first_name] = group.say(who, text)
    await api.wait_for(lambda: len(api.calls_to("setMessageReaction")) == 6)
    group.say(people[5], "自提 西门")
    await api.wait_for(lambda: any(t.endswith(m.POINT_CHOSEN.format(point="西门")) for t in api.sent_texts(CHAT_ID)))

    # the cutoff, then the stocking list
    group.say(LEADER, "/close")
    await api.wait_for(lambda: any(t.startswith(m.CLOSED) for t in api.sent_texts(CHAT_ID)))
    closed = next(t for t in api.sent_texts(CHAT_ID) if t.startswith(m.CLOSED))
    assert "合计 ¥333.20,共6户" in closed
    group.say(people[0], "4栋101 王姐 葡萄1")  # too late: refused, nothing stored
    group.say(LEADER, "/stock")
    await api.wait_for(lambda: any(m.STOCK_TOTAL.format(qty=11, households=6, amount="333.20") in t
                                   for t in api.sent_texts(CHAT_ID)))
    assert await JOBS["pickup"](stack.core, GROUP, "")  # the scheduled pickup list, in the group

    # the next morning: arrival at 东门 (five households mentioned; 刘奶奶 is at 西门)
    now[0] += timedelta(hours=20)
    group.say(LEADER, "/arrived 东门")
    arrival = m.ARRIVED_TITLE.split("「")[0]  # not the pickup list's header (also 🚚)
    await api.wait_for(lambda: any(t.startswith(arrival) for t in api.sent_texts(CHAT_ID)))
    call = next(c for c in api.calls_to("sendMessage") if c.params["text"].startswith(arrival))
    assert call.params["text"].startswith(m.ARRIVED_TITLE.format(point="东门", n=5))
    assert [e["user"]["id"] for e in entities_of(call)] == [p.id for p in people[:5]]

    group.say(LEADER, "/short 葡萄 5")
    await api.wait_for(lambda: any(t.startswith("⚠️") or "缺1" in t for t in api.sent_texts(CHAT_ID)))
    short = next(c for c in api.calls_to("sendMessage") if "缺1" in c.params["text"])
    assert short.params["text"].startswith(m.SHORT_TITLE.format(item="葡萄", ordered=6, delivered=5))
    assert "1栋301 小赵 订1得0 缺1 退¥29.90" in short.params["text"]
    assert [e["user"]["id"] for e in entities_of(short)] == [people[4].id]

    # verification by the code the resident shows: her /my in the group sends it to her privately
    mark = len(api.sent_texts(CHAT_ID))
    group.say(people[0], "/my")
    await api.wait_for(lambda: any(m.MY_CODE_SENT in t for t in said_after(api, CHAT_ID, mark)))
    code = re.search(r"取货码(\d{4})", api.sent_texts(people[0].id)[-1])
    assert code is not None
    # 阿强 asks too; 刘奶奶 never started the bot: her answer gives the link to her private chat
    group.say(people[2], "查单")
    await api.wait_for(lambda: sum(t.endswith(m.MY_CODE_SENT) for t in api.sent_texts(CHAT_ID)) == 2)
    assert len(api.sent_texts(people[2].id)) == 1
    api.fail("sendMessage", 403, "Forbidden: bot can't initiate conversation with a user")
    mark = len(api.sent_texts(CHAT_ID))
    group.say(people[5], "/my")
    link = m.MY_CODE_LINK.format(link="https://t.me/TuanBot?start=my")
    await api.wait_for(lambda: any(t.endswith(link) for t in said_after(api, CHAT_ID, mark)))
    group.say(LEADER, f"/verify {code.group(1)}")
    await api.wait_for(lambda: m.VERIFIED.format(who="3栋402 王姐", number=1) in api.sent_texts(CHAT_ID))
    group.say(LEADER, f"/verify {code.group(1)}")  # twice: refused with when and by whom
    await api.wait_for(lambda: any(t.startswith("这一户已经核销过了") for t in api.sent_texts(CHAT_ID)))
    assert any(t.endswith(f"由{LEADER.first_name}核销") for t in api.sent_texts(CHAT_ID))
    group.say(LEADER, "已取", reply_to=orders["李阿姨"])
    await api.wait_for(lambda: any(t.startswith("✅ 已核销:5-1-302 李阿姨") for t in api.sent_texts(CHAT_ID)))

    # a refund, then the roll-call: 阿强..6 still to come, each a text_mention
    group.say(LEADER, "/refund 张叔 葡萄 1 坏果")
    await api.wait_for(lambda: m.REFUND_DONE.format(who="2栋101 张叔", item="葡萄", qty=1, amount="29.90",
                                                    reason="坏果") in api.sent_texts(CHAT_ID))
    group.say(LEADER, "/unpicked")
    await api.wait_for(lambda: any(t.startswith("📦 还有") for t in api.sent_texts(CHAT_ID)))
    roll = next(c for c in api.calls_to("sendMessage") if c.params["text"].startswith("📦 还有"))
    assert roll.params["text"].startswith(m.UNPICKED_TITLE.format(n=4))
    assert [e["user"]["id"] for e in entities_of(roll)] == [people[4].id, people[3].id, people[5].id, people[2].id]
    # an ambiguous name lists label and 跟团号 (no code), then the leader names one by its number
    group.say(LEADER, "/picked 101")
    await api.wait_for(lambda: any(t.startswith("「101」对应多户") for t in api.sent_texts(CHAT_ID)))
    amb = next(t for t in api.sent_texts(CHAT_ID) if t.startswith("「101」对应多户"))
    assert amb.splitlines()[1:] == [m.CANDIDATE_LINE.format(who="12栋101 阿强", number=3),
                                    m.CANDIDATE_LINE.format(who="2栋101 张叔", number=4)]
    group.say(LEADER, "/picked #4")
    await api.wait_for(lambda: m.VERIFIED.format(who="2栋101 张叔", number=4) in api.sent_texts(CHAT_ID))

    # the export and the PDF sheet, as files in the leader's private chat
    group.say(LEADER, "/export")
    await api.wait_for(lambda: len(api.calls_to("sendDocument")) == 1)
    group.say(LEADER, "/pickup pdf")
    await api.wait_for(lambda: len(api.calls_to("sendDocument")) == 2)
    xlsx, pdf = api.calls_to("sendDocument")
    assert {int(xlsx.params["chat_id"]), int(pdf.params["chat_id"])} == {LEADER.id}
    name, data = xlsx.files["document"]
    assert name.endswith(".xlsx")
    ws = load_workbook(io.BytesIO(data))[m.SHEET_ORDERS]
    body = {(r[1], r[4]): r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] != m.EXPORT_TOTAL}
    assert body[("小赵", "阳光玫瑰葡萄 2斤装")][11] == 29.9 and body[("张叔", "阳光玫瑰葡萄 2斤装")][11] == 29.9
    assert body[("王姐", "阳光玫瑰葡萄 2斤装")][10].startswith("已取") and body[("刘奶奶", "土鸡蛋 30枚")][3] == "西门"
    total = [r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == m.EXPORT_TOTAL][0]
    assert (total[6], total[8], total[11]) == (11, 333.2, 59.8)
    name, data = pdf.files["document"]
    east, west = pages(data)
    assert name.endswith(".pdf") and numbers_in(east) == [5, 4, 1, 2, 3] and numbers_in(west) == [6]
    await api.wait_for(lambda: sum(t.endswith(m.SENT_PRIVATELY) for t in api.sent_texts(CHAT_ID)) == 2)

    # what residents see, and what the store holds
    mark = len(api.sent_texts(CHAT_ID))
    group.say(people[0], "/my")
    picked = m.MY_MARKS_GROUP.format(point="东门", paid=m.MY_UNPAID, picked=m.MY_PICKED)
    await api.wait_for(lambda: any(t.endswith(picked) for t in said_after(api, CHAT_ID, mark)))
    # the next day: the reminder names the three still to come
    now[0] += timedelta(days=1)
    assert await JOBS["unpicked"](stack.core, GROUP, "")
    assert api.sent_texts(CHAT_ID)[-1].startswith(m.UNPICKED_REMINDER + "\n" + m.UNPICKED_TITLE.format(n=3))
    assert not any("4栋101" in t for t in api.sent_texts(CHAT_ID))  # the late order was never listed
    day = leaderday_of(stack.core)
    assert day is not None
    marks = day.marks_for_deal(stack.deal_id)
    assert {k[1] for k, mk in marks.items() if mk.picked} == {str(p.id) for p in people[:2] + people[3:4]}
    assert sum((mk.refund_amount for mk in marks.values()), Decimal(0)) == Decimal("59.80")
    assert [r["action"] for r in day.audit(stack.deal_id)] == ["close", "arrived", "short", "verify", "verify", "refund",
                                                               "verify"]
    assert {r["actor_id"] for r in day.audit(stack.deal_id)} == {str(LEADER.id)}

    # no household's pickup code was ever posted in the group; each went only to its own private chat
    codes = {p.id: marks[(GROUP, str(p.id))].pickup_code for p in people}
    in_group = api.sent_texts(CHAT_ID)
    assert len(in_group) > 20 and not [t for t in in_group if re.search(r"取货码\s*\d", t)]
    for p in people:
        assert not [t for t in in_group if re.search(rf"(?<!\d){codes[p.id]}(?!\d)", t)], p.first_name
        for other in people:
            told = [c for c in api.delivered_calls("sendMessage")
                    if int(c.params["chat_id"]) == other.id and codes[p.id] in c.params["text"]]
            assert bool(told) == (other is p and p.first_name in ("王姐", "阿强")), (p.first_name, other)


def entities_of(call: Any) -> list[dict[str, Any]]:
    found = call.params.get("entities") or []
    return json.loads(found) if isinstance(found, str) else list(found)
