"""The leader's day after the cutoff, through the fake adapter and the real pipeline: two groups,
two pickup points in one, 30 households (and a proxy order), pickup verification by code, by name
and label and by reply, payments, a refund, a replacement, a short delivery, permissions, audit.

Figures are computed by hand in the comments (prices: 葡萄 29.9, 脐橙 25.8, 鸡蛋 32).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.base import Capabilities
from adapters.fake import sender_id_of
from bot import messages as m
from bot.config import config_from_dict
from bot.demo_script import NAMES, sample_deal
from bot.leaderday_commands import leaderday_of
from bot.usecases.leaderday import LeaderDay, Marks, households_of
from tests.pipeline import LEADER, Pipeline, make_pipeline

PARK_LEADER = "团长阿华"
G1, G2 = "fake:g1", "fake:g2"
PHONE = "13912345678"


def two_groups() -> dict:  # type: ignore[type-arg]
    home = sample_deal(egg_stock=60)
    park = copy.deepcopy(home)
    park["id"], park["groups"] = "park", ["park"]
    return {
        "bot": {"digest_minutes": 0, "leaders": [sender_id_of(LEADER)]},
        "groups": [
            {"id": "home", "platform": "fake", "chat": "g1", "title": "幸福里团购群", "pickup_points": ["东门", "西门"]},
            {"id": "park", "platform": "fake", "chat": "g2", "title": "公园里团购群", "pickup_points": ["北门"],
             "leaders": [sender_id_of(PARK_LEADER)]},
        ],
        "deals": [home, park],
    }


def g1_line(i: int) -> str:
    """Resident i (1..20) of g1: building 1..4, 葡萄2 when i is odd else 1, 鸡蛋1 when i % 5 == 0."""
    b, room = (i - 1) % 4 + 1, 100 * ((i - 1) // 4 + 1) + 1
    phone = f" {PHONE}" if i == 19 else ""
    eggs = " 鸡蛋1" if i % 5 == 0 else ""
    return f"{b}栋{room} {NAMES[i - 1]}{phone} 葡萄{2 if i % 2 else 1}{eggs}"


async def evening(p: Pipeline) -> dict[int, str]:
    """Orders in both groups; returns g1 resident number → the id of their order message."""
    ids = {}
    for i in range(1, 21):
        ids[i] = (await p.chat.push(g1_line(i), sender=NAMES[i - 1], chat_id="g1")).message_id
    for j in range(1, 11):  # g2: 10 households, 脐橙1 each, the first three 葡萄1 too
        name = NAMES[19 + j]
        extra = " 葡萄1" if j <= 3 else ""
        await p.chat.push(f"{j}号楼1单元{j}01 {name} 脐橙1{extra}", sender=name, chat_id="g2")
    return ids


def deal_of(p: Pipeline, chat_key: str) -> str:
    row = p.core.service.deal_of(chat_key)
    assert row is not None
    return row.id


async def said(p: Pipeline, text: str, *, sender: str = LEADER, chat_id: str = "g1", **kw: object) -> list[str]:
    p.chat.pop_all()
    await p.chat.push(text, sender=sender, chat_id=chat_id, **kw)  # type: ignore[arg-type]
    return [s.text for s in p.chat.pop_all() if s.kind == "text"]


def marks(p: Pipeline, chat_key: str) -> dict[tuple[str, str], Marks]:
    day = leaderday_of(p.core)
    assert day is not None
    return day.marks_for_deal(deal_of(p, chat_key))


def key1(i: int) -> tuple[str, str]:
    return (G1, sender_id_of(NAMES[i - 1]))


async def test_the_morning_after_in_two_groups() -> None:
    config = config_from_dict(two_groups(), "test.toml", env={})
    p = await make_pipeline(Capabilities(reactions=True), config=config)
    now = [datetime(2026, 11, 30, 8, 0, tzinfo=UTC)]
    p.core.clock = lambda: now[0]
    order_ids = await evening(p)

    # a proxy order for a neighbour who phoned: its own household, not the leader's
    [reply] = await said(p, "/add 7栋301 张奶奶 葡萄2")
    assert reply == m.ADD_DONE.format(who="7栋301 张奶奶", goods="葡萄2盒")
    # residents 11..15 pick the west gate; the others keep the default (the first point, 东门)
    for i in range(11, 16):
        [ok] = await said(p, "自提 西门", sender=NAMES[i - 1])
        assert ok == m.POINT_CHOSEN.format(point="西门")
    [bad] = await said(p, "自提 南门", sender=NAMES[0])
    assert bad == m.UNKNOWN_POINT.format(point="南门", points="东门、西门")
    assert (await said(p, "/close"))[0].startswith(m.CLOSED)

    # after the cutoff the leader cannot add any more (the order engine refuses it)
    [late] = await said(p, "/add 8栋101 刘爷爷 葡萄1")
    assert late == m.ADD_NOTHING.format(why=m.REFUSED_AFTER_CUTOFF)

    mk = marks(p, G1)
    assert len(mk) == 21 and len(marks(p, G2)) == 10
    codes = [x.pickup_code for x in mk.values()]
    assert len(set(codes)) == 21 and all(len(c) == 4 and c.isdigit() for c in codes)
    proxy = (G1, "proxy:7栋301 张奶奶")
    assert proxy in mk and sender_id_of(LEADER) not in {k[1] for k in mk}
    assert mk[proxy].pickup_point == "东门" and mk[key1(12)].pickup_point == "西门"
    assert marks(p, G1)[key1(4)].pickup_code == mk[key1(4)].pickup_code  # stored, not drawn anew

    # a short delivery: 32 grapes ordered in g1 (10×2 + 10×1 + 张奶奶 2), 25 delivered. First come
    # first served: residents 1..16 take 24, resident 17 gets 1 of 2; 18 (1), 19 (2), 20 (1) and
    # 张奶奶 (2) get none: 7 short, 7 × 29.9 = 209.30 refunded
    p.chat.pop_all()
    await p.chat.push("/short 葡萄 25", sender=LEADER, chat_id="g1")
    [sent] = p.chat.pop_all()
    post = sent.text
    assert [x.user_id for x in sent.mentions] == [sender_id_of(NAMES[i - 1]) for i in (17, 18, 19, 20)]
    assert post.startswith(m.SHORT_TITLE.format(item="葡萄", ordered=32, delivered=25))
    rows = post.split("\n")[1:-1]
    assert [r.split(" ")[0] for r in rows] == [f"@{NAMES[i - 1]}" for i in (17, 18, 19, 20)] + ["7栋301"]
    assert f"@{NAMES[16]} 1栋501 {NAMES[16]} 订2得1 缺1 退¥29.90" in rows
    assert rows[-1] == "7栋301 张奶奶 订2得0 缺2 退¥59.80"  # a proxy household: written, not mentioned
    assert post.endswith(m.SHORT_TOTAL.format(amount="209.30"))
    assert PHONE not in post and "139****5678" in post  # resident 19's phone, masked
    # recorded again (a recount: 26 delivered), it replaces the former one: 6 short, 179.40
    await said(p, "/short 葡萄 26")
    assert sum(x.refund_amount for x in marks(p, G1).values()) == Decimal("179.40")
    await said(p, "/short 葡萄 25")
    assert sum(x.refund_amount for x in marks(p, G1).values()) == Decimal("209.30")

    # after-sale: a refund (1 × 29.9) and a replacement (amount 0)
    [r] = await said(p, "/refund 王姐 葡萄 1 坏果")
    assert r == m.REFUND_DONE.format(who="1栋101 王姐", item="葡萄", qty=1, amount="29.90", reason="坏果")
    [r] = await said(p, f"/refund {NAMES[1]} 葡萄 1 补发")
    assert r == m.REPLACE_DONE.format(who=f"2栋101 {NAMES[1]}", item="葡萄", qty=1, reason="补发")
    [r] = await said(p, "/refund 王姐 葡萄 5 坏果")
    assert r == m.REFUND_TOO_MANY.format(who="1栋101 王姐", item="葡萄", left=1)
    [r] = await said(p, f"/refund {NAMES[2]} 脐橙 1 坏果")  # 张叔 ordered no orange: nothing left to refund
    assert r == m.REFUND_TOO_MANY.format(who=f"3栋101 {NAMES[2]}", item="脐橙", left=0)

    # payments: 王姐 owes 59.8 − 29.9 = 29.90 and pays it; 张叔 pays 20 of 59.80
    [r] = await said(p, "/paid 王姐")
    assert r == m.PAID_DONE.format(who="1栋101 王姐", amount="29.90", state="")
    [r] = await said(p, f"/paid {NAMES[2]} 20")
    assert r == m.PAID_DONE.format(who=f"3栋101 {NAMES[2]}", amount="20.00",
                                   state=m.PAID_STATE_SHORT.format(due="39.80"))
    # /unpaid: orders 30×29.9 + 4×32 + 59.8 = 1084.80, less refunds 29.90 + 209.30 = 845.60 owed,
    # less 49.90 paid = 795.70; 17 households (王姐 paid up; 张奶奶, residents 18 and 19 owe nothing)
    [r] = await said(p, "/unpaid")
    lines = r.split("\n")
    assert lines[0] == m.UNPAID_TITLE.format(n=17, total="795.70")
    assert m.UNPAID_ROW.format(who=f"3栋101 {NAMES[2]}", owed="59.80", paid="20.00", due="39.80") in lines
    assert m.UNPAID_ROW.format(who=f"4栋501 {NAMES[19]}", owed="32.00", paid="0.00", due="32.00") in lines

    # verification by code, twice (refused with when and by whom), by label, by reply
    mk = marks(p, G1)
    code4 = mk[key1(4)].pickup_code
    assert await said(p, f"/verify {code4}") == [m.VERIFIED.format(who=f"4栋101 {NAMES[3]}", number=4)]
    now[0] += timedelta(minutes=1)
    assert await said(p, f"/verify {code4}") == [m.ALREADY_VERIFIED.format(when="今天 16:00", by=LEADER)]
    assert await said(p, "/verify 0000") == [m.NO_CODE.format(code="0000")]
    assert await said(p, "/picked 2栋101") == [m.VERIFIED.format(who=f"2栋101 {NAMES[1]}", number=2)]
    [amb] = await said(p, "/picked 4栋")
    # said in the group: each candidate by label and 跟团号, never with a pickup code
    assert amb.split("\n") == [m.AMBIGUOUS_HOUSEHOLD.format(query="4栋", example=4, candidates="").rstrip()] + [
        m.CANDIDATE_LINE.format(who=g1_line(i).rsplit(" 葡萄", 1)[0].replace(f" {PHONE}", " 139****5678"), number=i)
        for i in (4, 8, 12, 16, 20)]
    assert not any(c.pickup_code in amb for c in mk.values())
    assert await said(p, "/picked 9栋") == [m.NO_HOUSEHOLD.format(query="9栋")]
    now[0] += timedelta(minutes=1)
    [by_reply] = await said(p, "已取", reply_to=order_ids[6])
    assert by_reply == m.VERIFIED.format(who=f"2栋201 {NAMES[5]}", number=6)
    chatter = await p.chat.push("几点到货?", sender="路人甲", chat_id="g1")  # no order in this round
    assert await said(p, "已取", reply_to=chatter.message_id) == [m.NO_HOUSEHOLD_REPLY]
    # a resident's 已取 as a reply is chatter: nothing verified, nothing said
    assert await said(p, "已取", sender=NAMES[7], reply_to=order_ids[8]) == []
    assert not marks(p, G1)[key1(8)].picked
    # /unverify within 10 minutes undoes the caller's latest verification (resident 6's)
    assert await said(p, "/unverify") == [m.UNVERIFIED.format(who=f"2栋201 {NAMES[5]}")]
    await said(p, f"/picked {NAMES[4]}")
    now[0] += timedelta(minutes=11)
    assert await said(p, f"/unverify {NAMES[4]}") == [
        m.UNVERIFY_LATE.format(who=f"1栋201 {NAMES[4]}", when="今天 16:02")]
    mk = marks(p, G1)
    assert {k for k, x in mk.items() if x.picked} == {key1(2), key1(4), key1(5)}
    assert mk[key1(4)].picked_by == sender_id_of(LEADER) and mk[key1(4)].picked_by_name == LEADER

    # /unpicked: 21 − 3 = 18 households, by building, each mentioned
    p.chat.pop_all()
    await p.chat.push("/unpicked", sender=LEADER, chat_id="g1")
    [rollcall] = p.chat.pop_all()
    roll = rollcall.text
    assert len(rollcall.mentions) == 17 and sender_id_of(NAMES[7]) in {x.user_id for x in rollcall.mentions}
    lines = roll.split("\n")
    assert lines[0] == m.UNPICKED_TITLE.format(n=18)
    heads = [ln for ln in lines if ln.startswith("【")]
    assert heads == ["【1栋】", "【2栋】", "【3栋】", "【4栋】", "【7栋】"]
    assert sum(ln.startswith("@") for ln in lines) == 17 and lines[-1] == "7栋301 张奶奶 跟团号#21"  # a proxy
    assert "取货码" not in roll and not any(c.pickup_code in roll for c in mk.values())
    assert f"@{NAMES[3]}" not in roll and f"@{NAMES[7]} 4栋201 {NAMES[7]}" in roll and PHONE not in roll

    # /arrived per point: 西门 has residents 11..15; 东门 the 15 others and 张奶奶
    [west] = await said(p, "/arrived 西门")
    assert west.split("\n")[0] == m.ARRIVED_TITLE.format(point="西门", n=5)
    assert [ln.split(" ")[0] for ln in west.split("\n")[1:]] == [f"@{NAMES[i - 1]}" for i in range(11, 16)]
    [east] = await said(p, "/arrived 东门")
    assert east.split("\n")[0] == m.ARRIVED_TITLE.format(point="东门", n=16)
    assert await said(p, "/arrived 南门") == [m.UNKNOWN_POINT.format(point="南门", points="东门、西门")]

    # /my in the group: the resident's amount, point and marks, no code (this platform cannot write
    # privately: how to ask for it); privately: her own code
    [mine] = await said(p, "/my", sender="王姐")
    assert mine.endswith(m.MY_MARKS_GROUP.format(point="东门", paid=m.MY_PAID,
                                                 picked=m.MY_REFUNDED.format(amount="29.90"))
                         + "\n" + m.MY_CODE_HOW_DEFAULT)
    assert "共¥59.80" in mine and not any(c.pickup_code in mine for c in mk.values())
    [mine] = await said(p, "/my", sender="王姐", chat_id="dm-wang", is_private=True)
    assert mine.endswith(m.MY_MARKS.format(code=mk[key1(1)].pickup_code, point="东门", paid=m.MY_PAID,
                                           picked=m.MY_REFUNDED.format(amount="29.90")))
    assert [c.pickup_code for c in mk.values() if c.pickup_code in mine] == [mk[key1(1)].pickup_code]
    [mine] = await said(p, "/my", sender=NAMES[3])  # picked up: the code is used, nothing to ask for
    assert mine.endswith(m.MY_MARKS_GROUP.format(point="东门", paid=m.MY_UNPAID, picked=m.MY_PICKED))

    # the other group: its own leader, its own point, its own codes
    [r] = await said(p, f"/paid {NAMES[20]}", sender=PARK_LEADER, chat_id="g2")
    assert r == m.PAID_DONE.format(who=f"1号楼1单元101 {NAMES[20]}", amount="55.70", state="")  # 25.8 + 29.9
    [r] = await said(p, "/unpaid", sender=PARK_LEADER, chat_id="g2")
    # 10 × 25.8 + 3 × 29.9 = 347.70, less 55.70 paid: 292.00 from 9 households
    assert r.split("\n")[0] == m.UNPAID_TITLE.format(n=9, total="292.00")
    g2_code = marks(p, G2)[(G2, sender_id_of(NAMES[21]))].pickup_code
    [r] = await said(p, f"/verify {g2_code}", sender=PARK_LEADER, chat_id="g2")
    assert r == m.VERIFIED.format(who=f"2号楼1单元201 {NAMES[21]}", number=2)
    [mine] = await said(p, "/my", sender=NAMES[20], chat_id="g2")
    assert m.MY_MARKS_GROUP.format(point="北门", paid=m.MY_PAID, picked="") + "\n" + m.MY_CODE_HOW_DEFAULT in mine
    [mine] = await said(p, "/my", sender=NAMES[20], chat_id="dm", is_private=True)
    assert m.MY_MARKS.format(code=marks(p, G2)[(G2, sender_id_of(NAMES[20]))].pickup_code, point="北门",
                             paid=m.MY_PAID, picked="") in mine

    # permissions: a resident, and the other group's leader, are refused politely; nothing recorded
    day = leaderday_of(p.core)
    assert day is not None
    before = len(day.audit())
    for who, cmd in [("王姐", f"/paid {NAMES[2]}"), ("王姐", f"/verify {code4}"), ("王姐", "/short 葡萄 1"),
                     (PARK_LEADER, f"/paid {NAMES[2]}"), (PARK_LEADER, "/add 8栋101 刘爷爷 葡萄1"),
                     (PARK_LEADER, f"/refund {NAMES[2]} 葡萄 1 坏果")]:
        assert await said(p, cmd, sender=who) == [m.NOT_LEADER], cmd
    # privately, /picked acts on no group (its argument is its own, not a group's name); /verify asks
    # a leader of two groups which one (the code is said privately, never in the group)
    assert await said(p, "/picked 王姐", chat_id="dm", is_private=True) == [m.GROUP_ONLY.format(name="picked")]
    [ask] = await said(p, f"/verify {code4}", chat_id="dm", is_private=True)
    assert ask.startswith(m.PICK_GROUP.split("{")[0]) and f"/verify {code4} " in ask
    assert len(day.audit()) == before
    assert marks(p, G1)[key1(3)].paid_amount == Decimal("20.00")

    # the audit: every leader action, who and what, on its deal and household
    rows = day.audit(deal_of(p, G1))
    actions = [r["action"] for r in rows]
    assert actions == ["add", "close", "short", "short", "short", "refund", "replace", "paid", "paid", "verify",
                       "verify", "verify", "unverify", "verify", "arrived", "arrived"]
    assert {r["actor_name"] for r in rows} == {LEADER}
    assert rows[0]["household_sender"] == "proxy:7栋301 张奶奶"
    assert rows[7]["household_sender"] == sender_id_of("王姐") and rows[7]["detail"] == "amount=29.90"
    assert [r["action"] for r in day.audit(deal_of(p, G2))] == ["paid", "verify"]
    assert day.audit(deal_of(p, G2))[0]["actor_name"] == PARK_LEADER
    await p.close()


async def test_marks_for_deal_interface() -> None:
    """marks_for_deal: per (chat_key, sender_id), the figures lists and exports show."""
    config = config_from_dict(two_groups(), "test.toml", env={})
    p = await make_pipeline(Capabilities(reactions=True), config=config)
    await p.chat.push("3栋402 王姐 葡萄2 鸡蛋1", sender="王姐")
    await p.chat.push("李阿姨 葡萄1", sender="李阿姨")
    await p.chat.push("鸡蛋1", sender="李阿姨")  # one household, however many lines
    await said(p, "/refund 王姐 鸡蛋 1 破损 ¥10")
    await said(p, "/paid 李阿姨 61.9")
    day = leaderday_of(p.core)
    assert isinstance(day, LeaderDay)
    mk = day.marks_for_deal(deal_of(p, G1))
    wang, li = mk[(G1, sender_id_of("王姐"))], mk[(G1, sender_id_of("李阿姨"))]
    assert len(mk) == 2
    assert wang.refund_amount == Decimal("10.00") and wang.owed == Decimal("81.80")  # 59.8 + 32 − 10
    assert not wang.paid and wang.paid_amount is None and not wang.picked and wang.pickup_point == "东门"
    [refund] = wang.refunds
    assert (refund.item_code, refund.qty, refund.kind, refund.reason, refund.by_name) == ("4", 1, "refund", "破损",
                                                                                          LEADER)
    assert li.paid and li.paid_amount == Decimal("61.90") and li.owed == Decimal("61.90")  # 29.9 + 32
    assert li.paid_by == LEADER and li.paid_at is not None
    from bot.usecases.leaderday import marks_for_deal

    assert marks_for_deal(p.repo, deal_of(p, G1), lambda _k: ("东门", "西门")) == mk  # codes kept: drawn once
    hs = day.households(deal_of(p, G1))
    assert [h.name for h in hs] == ["王姐", "李阿姨"] and hs[1].items == {"1": 1, "4": 1}
    await p.close()


def test_households_are_the_lists_households() -> None:
    """households_of gives the tally's households (bot/services/households.py): a resident's lines
    under several labels are one, a proxy line its own (marks under ``sender/neighbour``), 跟团号
    counted over every entry ever made."""
    from bot.catalog import catalog_from_dict
    from bot.ports import EntryRow
    from bot.usecases.leaderday import mark_id

    catalog = catalog_from_dict(sample_deal(egg_stock=5))

    def e(i: int, sid: str, item: str, qty: int, *, label: str = "", superseded: bool = False) -> EntryRow:
        return EntryRow(id=i, deal_id="d", chat_key="c", sender_id=sid, sender_name=sid, label=label or f"{sid}楼",
                        item_code=item, qty=qty, kind="entry", message_id=f"m{i}", seq=i,
                        superseded_seq=9 if superseded else None)

    hs = households_of(catalog, [e(5, "b", "1", 1), e(2, "a", "1", 2, superseded=True), e(3, "a", "2", 1),
                                 e(7, "c", "1", 1), e(8, "c", "1", -1), e(10, "a", "1", 2, label="帮邻居6栋101刘奶奶"),
                                 e(11, "a", "4", 1, label="")])
    assert [(h.sender_id, h.proxy, h.items, h.amount, h.number) for h in hs] == [
        ("a", "", {"2": 1, "4": 1}, Decimal("57.8"), 1), ("b", "", {"1": 1}, Decimal("29.9"), 2),
        ("a", "6栋101刘奶奶", {"1": 2}, Decimal("59.8"), 4)]  # c (#3) cancelled: not listed, number kept
    granny = hs[2]
    assert granny.key == ("c", mark_id("a", "6栋101刘奶奶")) == ("c", "a/6栋101刘奶奶")
    assert granny.house == ("c", "a", "6栋101刘奶奶") and granny.label == "6栋101刘奶奶"


URL_FIXTURES = {"sqlite": "sqlite_url", "postgresql": "pg_url"}


@pytest.mark.parametrize("url_fixture", ["sqlite", "postgresql"])
def test_the_cli_records_and_shows_the_leaders_day(url_fixture: str, request: pytest.FixtureRequest,
                                                   tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """On the rounds of tests/test_history.py: yesterday (g1 and g2 share it), by hand: 王姐 (g1)
    葡萄3 鸡蛋1 = 121.70; EVIL (g1) 脐橙1 = 25.80; 老张 (g2) 鸡蛋2 = 64.00."""
    from tests.test_history import EVIL, build, tuan

    s = build(request.getfixturevalue(URL_FIXTURES[url_fixture]), tmp_path)
    cfg = ("--config", str(s.config))

    def marks_json() -> dict[str, dict[str, Any]]:
        status, out, err = tuan(capsys, "marks", "--deal", s.yesterday, "--json", *cfg)
        assert status == 0, err
        return {r["name"]: r for r in json.loads(out)}

    before = marks_json()
    assert [before[n]["no"] for n in ("王姐", EVIL, "老张")] == [1, 2, 4]  # 跟团号: 小李 (#3) cancelled
    assert before["王姐"]["amount"] == "121.70" and before["老张"]["chat_key"] == "fake:g2"
    assert len({r["pickup_code"] for r in before.values()}) == 3
    code = before["王姐"]["pickup_code"]
    status, _out, err = tuan(capsys, "verify", "--deal", s.yesterday, "--by", "小美", code, *cfg)
    assert status == 2 and "--group" in err  # two groups ordered in this round: which one?
    act = ("--deal", s.yesterday, "--group", "home", "--by", "小美")
    assert tuan(capsys, "verify", *act, code, *cfg)[0] == 0
    status, _out, err = tuan(capsys, "verify", *act, code, *cfg)
    assert status == 1 and "already" in err
    assert tuan(capsys, "paid", *act, "王姐", "100", *cfg)[0] == 0
    assert tuan(capsys, "refund", *act, "王姐", "葡萄", "1", "坏果", *cfg)[0] == 0
    # 1 egg delivered of 3: 王姐 ordered first and gets it; 老张 (g2) is short 2 = 64.00
    status, out, err = tuan(capsys, "short", *act, "鸡蛋", "1", *cfg)
    assert status == 0, err
    assert out.splitlines()[-1].endswith("ordered 3, delivered 1, refunded 64.00")
    after = marks_json()
    wang, zhang = after["王姐"], after["老张"]
    assert (wang["refund"], wang["owed"], wang["paid_amount"], wang["paid"]) == ("29.90", "91.80", "100.00", True)
    assert wang["picked_by"] == "小美" and wang["pickup_code"] == code
    assert (zhang["refund"], zhang["owed"], zhang["paid"]) == ("64.00", "0.00", False)
    status, out, _err = tuan(capsys, "audit", "--deal", s.yesterday, "--json", *cfg)
    rows = json.loads(out)
    assert [r["action"] for r in rows] == ["verify", "paid", "refund", "short"]
    assert {r["actor_id"] for r in rows} == {"cli:小美"} and rows[1]["household_sender"] == sender_id_of("王姐")
    assert tuan(capsys, "marks", "--deal", "nope", *cfg)[0] == 2


async def test_a_short_delivery_of_a_shared_round_is_for_a_leader_of_every_group() -> None:
    data = two_groups()
    data["deals"] = [{**data["deals"][0], "groups": ["home", "park"]}]  # one round for both groups
    p = await make_pipeline(Capabilities(reactions=True), config=config_from_dict(data, "test.toml", env={}))
    await p.chat.push("1栋101 王姐 葡萄2", sender="王姐", chat_id="g1")
    await p.chat.push("2号楼101 宋姐 葡萄1", sender="宋姐", chat_id="g2")
    async with p.core.lock:  # the cutoff (by the schedule: no leader's audit row)
        p.core.service.close_deal(p.deal_id)
    assert await said(p, "/short 葡萄 1", sender=PARK_LEADER, chat_id="g2") == [
        m.SHORT_SHARED_NOT_YOURS.format(groups="幸福里团购群")]
    day = leaderday_of(p.core)
    assert day is not None and day.audit() == []
    p.chat.pop_all()
    await p.chat.push("/short 葡萄 1", sender=LEADER, chat_id="g1")  # leads both (a [bot] leader)
    posts = {s.chat_id: s.text for s in p.chat.pop_all()}
    assert "缺1 退¥29.90" in posts["g1"] and "缺1 退¥29.90" in posts["g2"]  # each group hears of its own
    assert "宋姐" not in posts["g1"] and "王姐" not in posts["g2"]
    await p.close()


async def test_pickup_point_words_in_a_group_without_points() -> None:
    p = await make_pipeline(Capabilities(reactions=True))  # tests/pipeline.py: one group, no pickup points
    await p.chat.push("3栋402 王姐 葡萄2", sender="王姐")
    assert await said(p, "自提 明天下午去拿", sender="王姐") == []  # chatter: nothing said
    assert await said(p, "/自提 东门", sender="王姐") == [m.NO_POINTS]
    mk = marks(p, G1)[(G1, sender_id_of("王姐"))]
    assert mk.pickup_point == "" and mk.pickup_code
    await p.close()


def test_a_roll_call_mentions_each_member_on_telegram_and_wechat() -> None:
    from adapters.telegram.outbound import mention_entities
    from adapters.wechat.convert import AT_SEPARATOR, mark_mentions
    from bot.model import Mention

    text = "📦 还有3户没取货:\n【1栋】\n@王姐 1栋101 王姐 取货码1234\n7栋301 张奶奶 取货码2345\n@🌸Lily 4栋201"
    people = [Mention("111", "王姐"), Mention("wxid_x", "🌸Lily")]
    found, left = mention_entities(text, people)
    assert left == [] and len(found) == 1  # a member without a numeric id is written, not linked
    [wang] = found
    assert wang.type == "text_mention" and wang.user is not None and wang.user.id == 111
    utf16 = text.encode("utf-16-le")
    assert utf16[2 * wang.offset:2 * (wang.offset + wang.length)].decode("utf-16-le") == "@王姐"
    # a long roll-call split in pieces: what one piece lacks is looked for in the next
    found, left = mention_entities("@王姐 1栋101", people)
    assert len(found) == 1 and left == [people[1]]
    assert mark_mentions(text, ["王姐", "🌸Lily"]) == text.replace("@王姐 ", f"@王姐{AT_SEPARATOR}").replace(
        "@🌸Lily ", f"@🌸Lily{AT_SEPARATOR}")


async def test_the_day_after_arrival_the_unpicked_are_reminded_once() -> None:
    from bot.pickup_commands import unpicked_reminder

    data = two_groups()
    data["schedules"] = [{"group": "home", "kind": "unpicked", "time": "10:00"}]
    config = config_from_dict(data, "test.toml", env={})
    p = await make_pipeline(Capabilities(reactions=True), config=config)
    now = [datetime(2026, 11, 30, 8, 0, tzinfo=UTC)]  # 16:00 in Shanghai
    p.core.clock = lambda: now[0]
    for who in ("王姐", "李阿姨"):
        await p.chat.push(f"1栋101 {who} 葡萄1", sender=who)
    assert not await unpicked_reminder(p.core, G1)  # no arrival yet
    await said(p, "/arrived")
    assert not await unpicked_reminder(p.core, G1)  # the same day: not yet
    await said(p, "/picked 王姐")
    now[0] += timedelta(days=1)
    p.chat.pop_all()
    assert await unpicked_reminder(p.core, G1)
    [sent] = p.chat.pop_all()
    assert sent.text.startswith(m.UNPICKED_REMINDER + "\n" + m.UNPICKED_TITLE.format(n=1))
    assert [x.name for x in sent.mentions] == ["李阿姨"]
    assert not await unpicked_reminder(p.core, G1)  # once per round
    assert p.chat.pop_all() == []
    await p.close()


async def test_a_neighbours_household_has_its_own_code_marks_and_place() -> None:
    """王姐 orders for herself and, on a proxy line, for 刘奶奶: two households in the lists, so two
    in the leader's marks (codes, verification, refunds, roll-call), as the sorting list shows them."""
    from bot.usecases.lists import deal_lists

    config = config_from_dict(two_groups(), "test.toml", env={})
    p = await make_pipeline(Capabilities(reactions=True), config=config)
    own = await p.chat.push("3栋402 王姐 葡萄1", sender="王姐")
    proxy = await p.chat.push("帮邻居6栋101刘奶奶 葡萄2", sender="王姐")
    await p.chat.push("5栋101 阿强 葡萄1", sender="阿强")
    await said(p, "/close")
    mk = marks(p, G1)
    wang, granny = (G1, sender_id_of("王姐")), (G1, f"{sender_id_of('王姐')}/6栋101刘奶奶")
    assert set(mk) == {wang, granny, (G1, sender_id_of("阿强"))}
    assert (mk[wang].owed, mk[granny].owed) == (Decimal("29.9"), Decimal("59.8"))
    assert mk[granny].pickup_code != mk[wang].pickup_code and mk[granny].household == (G1, sender_id_of("王姐"),
                                                                                         "6栋101刘奶奶")
    # a reply 已取 to the proxy line verifies the neighbour, not the resident who wrote it
    assert await said(p, "已取", reply_to=proxy.message_id) == [m.VERIFIED.format(who="6栋101刘奶奶(王姐代订)", number=2)]
    assert not marks(p, G1)[wang].picked
    assert await said(p, "已取", reply_to=own.message_id) == [m.VERIFIED.format(who="3栋402 王姐", number=1)]
    await said(p, "/unverify")
    await said(p, "/unverify 刘奶奶")
    # by name: 王姐 is her own household; 刘奶奶 the neighbour's
    assert await said(p, "/picked 刘奶奶") == [m.VERIFIED.format(who="6栋101刘奶奶(王姐代订)", number=2)]
    # a short delivery, first come first served per household: 王姐 1, 刘奶奶 got 1 of 2, 阿强 none
    p.chat.pop_all()
    await p.chat.push("/short 葡萄 2", sender=LEADER)
    [post] = p.chat.pop_all()
    assert "6栋101刘奶奶(王姐代订) 订2得1 缺1 退¥29.90" in post.text and "订1得0 缺1" in post.text
    assert [x.name for x in post.mentions] == ["阿强"]  # the neighbour is written, not mentioned
    p.chat.pop_all()
    await p.chat.push("/unpicked", sender=LEADER)
    [roll] = p.chat.pop_all()
    assert roll.text.split("\n")[1:] == ["【3栋】", "@王姐 3栋402 王姐 跟团号#1", "【5栋】", "@阿强 5栋101 阿强 跟团号#3"]
    # /unverify gave both a new code: the old one may have been said where others heard it
    old = mk
    mk = marks(p, G1)
    assert mk[wang].pickup_code != old[wang].pickup_code and mk[granny].pickup_code != old[granny].pickup_code
    # privately, 王姐 sees her own code and the code of the neighbour she ordered for, nobody else's
    [mine] = await said(p, "/my", sender="王姐", chat_id="dm-wang", is_private=True)
    assert mk[wang].pickup_code in mine and m.MY_NEIGHBOUR_CODE.format(
        who="6栋101刘奶奶(王姐代订)", code=mk[granny].pickup_code) not in mine  # 刘奶奶's is picked up (used)
    assert marks(p, G1)[(G1, sender_id_of("阿强"))].pickup_code not in mine
    # the leader's private /unpicked: the same households, with their codes, for the leader alone
    [pick] = await said(p, "/unpicked", chat_id="dm", is_private=True)  # the leader leads two groups: which?
    assert pick.startswith(m.PICK_GROUP.format(n=2, name="unpicked", example="幸福里团购群", groups="")[:8])
    [private] = await said(p, "/unpicked 幸福里团购群", chat_id="dm", is_private=True)
    assert private.split("\n") == [
        m.GROUP_HEADING.format(group="幸福里团购群"), m.UNPICKED_TITLE.format(n=2), "【3栋】",
        m.UNPICKED_ROW_CODE.format(who="3栋402 王姐", number=1, code=mk[wang].pickup_code), "【5栋】",
        m.UNPICKED_ROW_CODE.format(who="5栋101 阿强", number=3, code=marks(p, G1)[(G1, sender_id_of("阿强"))].pickup_code)]
    # the lists carry each household's own marks
    lists = deal_lists(p.core.service, p.core.config, deal_of(p, G1))
    views = {v.label: v for v in lists.views}
    assert views["6栋101刘奶奶"].marks.picked and views["6栋101刘奶奶"].marks.refund == Decimal("29.9")
    assert not views["3栋402 王姐"].marks.picked and views["3栋402 王姐"].marks.refund == 0
    assert views["6栋101刘奶奶"].note() == f"王姐代订;取货码{mk[granny].pickup_code}"
    await p.close()


@pytest.mark.parametrize("query, number", [
    ("#12", 12), ("＃12", 12), ("# 12", 12), ("12号", 12), ("12 号", 12), ("跟团号12", 12), ("跟团号 #7", 7),
    ("12", None), ("4821", None), ("3栋402", None), ("#", None), ("12号楼", None), ("王姐", None), ("", None),
])
def test_a_query_names_a_number_only_with_its_mark(query: str, number: int | None) -> None:
    from bot.usecases.leaderday import number_of

    assert number_of(query) == number


@given(st.integers(min_value=1, max_value=99999), st.sampled_from(["#{n}", "＃{n}", "{n}号", "跟团号{n}", " # {n} "]))
def test_every_number_mark_names_its_number_and_a_bare_number_never_does(n: int, form: str) -> None:
    from bot.usecases.leaderday import number_of

    assert number_of(form.format(n=n)) == n
    assert number_of(str(n)) is None and number_of(f"{n}栋") is None


async def test_the_leader_verifies_by_number_and_a_resident_gets_her_neighbours_code_privately() -> None:
    """A group's ambiguous name lists 跟团号s, and ``/picked #N`` (or ``N号``) then names one
    household; 王姐, who also ordered for 刘奶奶, gets both codes in her private chat only."""
    config = config_from_dict(two_groups(), "test.toml", env={})
    p = await make_pipeline(Capabilities(reactions=True, direct=True), config=config)
    p.core.clock = lambda: datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    await p.chat.push("3栋402 王姐 葡萄1", sender="王姐")
    await p.chat.push("帮邻居6栋101刘奶奶 葡萄2", sender="王姐")
    await p.chat.push("5栋101 阿强 葡萄1", sender="阿强")
    await p.chat.push("5栋102 阿强妈妈 葡萄1", sender="阿强妈妈")
    await said(p, "/close")
    mk = marks(p, G1)
    day = leaderday_of(p.core)
    assert day is not None
    number = {h.label: h.number for h in day.households(deal_of(p, G1))}
    assert number == {"3栋402 王姐": 1, "6栋101刘奶奶": 2, "5栋101 阿强": 3, "5栋102 阿强妈妈": 4}

    [amb] = await said(p, "/picked 5栋")  # 阿强 and 阿强妈妈
    assert amb.split("\n")[1:] == [m.CANDIDATE_LINE.format(who="5栋101 阿强", number=3),
                                   m.CANDIDATE_LINE.format(who="5栋102 阿强妈妈", number=4)]
    assert await said(p, "/picked #4") == [m.VERIFIED.format(who="5栋102 阿强妈妈", number=4)]
    assert await said(p, "/picked 4号") == [m.ALREADY_VERIFIED.format(when="今天 16:00", by=LEADER)]
    assert await said(p, "/picked #9") == [m.NO_HOUSEHOLD.format(query="#9")]
    assert await said(p, "/unverify #4") == [m.UNVERIFIED.format(who="5栋102 阿强妈妈")]
    assert await said(p, "/paid 1号") == [m.PAID_DONE.format(who="3栋402 王姐", amount="29.90", state="")]
    assert {k for k, x in marks(p, G1).items() if x.picked} == set()

    # 王姐 asks in the group: the group sees no code; her private chat gets hers and 刘奶奶's
    p.chat.pop_all()
    await p.chat.push("/my", sender="王姐")
    private, group = p.chat.pop_all()
    wang, granny = mk[(G1, sender_id_of("王姐"))].pickup_code, mk[(G1, f"{sender_id_of('王姐')}/6栋101刘奶奶")].pickup_code
    assert group.chat_id == "g1" and group.text.endswith("\n" + m.MY_CODE_SENT)
    assert not any(c.pickup_code in group.text for c in mk.values()) and "取货码" not in group.text.replace(
        m.MY_CODE_SENT, "")
    assert private.chat_id == sender_id_of("王姐") and private.text.startswith(m.GROUP_HEADING.format(group="幸福里团购群"))
    assert m.MY_MARKS.format(code=wang, point="东门", paid=m.MY_PAID, picked="") in private.text
    assert private.text.endswith("\n" + m.MY_NEIGHBOUR_CODE.format(who="6栋101刘奶奶(王姐代订)", code=granny))
    assert {c.pickup_code for c in mk.values() if c.pickup_code in private.text} == {wang, granny}
    await p.close()
