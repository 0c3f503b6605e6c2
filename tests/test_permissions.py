"""Who may see what: two groups, two leaders and an outsider, through the real pipeline (fake adapter).

Group 幸福里 (g1) is led by LEADER_A (configured for that group); group 阳光花园 (g2) by LEADER_B (its
platform admin, as the adapter answers ``is_chat_admin``). OUTSIDER administers a group of their own
(g3) where they said hello. Every leader command, in a group and in a private chat, must act only on
the groups the caller leads.
"""

from __future__ import annotations

import copy

import pytest

from adapters.base import Capabilities
from adapters.fake import FakeAdapter, Sent, sender_id_of
from bot import messages as m
from bot.config import config_from_dict
from bot.demo_script import sample_deal
from bot.leaderday_commands import leaderday_of
from bot.permissions import Caller, Permissions
from bot.registry import REGISTRY, help_text, names, parse_command
from tests.pipeline import Pipeline, make_pipeline
from tests.sheets import file_text, xlsx_rows

LEADER_A, LEADER_B, OUTSIDER, BOTH = "团长小美", "团长阿花", "路人甲", "双群团长"
A, B = "幸福里", "阳光花园"
LEADER_COMMANDS = ["deal", "list", "tally", "pickup", "close", "export", "history", "stock", "verify", "picked",
                   "unverify", "unpicked", "arrived", "paid", "unpaid", "refund", "short", "add", "earnings", "settlement"]
CAPS = Capabilities(reactions=True, files=True)


def two_groups() -> dict:
    veg = copy.deepcopy(sample_deal(egg_stock=50))
    veg.update(id="veg", title="蔬菜团", groups=["park"])
    return {
        "bot": {"digest_minutes": 0},
        "groups": [{"id": "home", "platform": "fake", "chat": "g1", "title": A, "leaders": [sender_id_of(LEADER_A)]},
                   {"id": "park", "platform": "fake", "chat": "g2", "title": B}],
        "deals": [sample_deal(egg_stock=50), veg],
    }


async def setup() -> Pipeline:
    p = await make_pipeline(CAPS, config=config_from_dict(two_groups(), "test.toml", env={}))
    p.chat.admins = {"g2": {sender_id_of(LEADER_B), sender_id_of(BOTH)}, "g1": {sender_id_of(BOTH)},
                     "g3": {sender_id_of(OUTSIDER)}}
    await p.chat.push("3栋402 王姐 葡萄2 电话13800000001", sender="王姐", chat_id="g1")
    await p.chat.push("5栋101 阿强 葡萄1 电话13900000002", sender="阿强", chat_id="g2")
    await p.chat.push("大家好", sender=OUTSIDER, chat_id="g3", is_admin=True)  # admin of their own group
    p.chat.pop_all()
    return p


def said(sent: list[Sent]) -> str:
    return "\n".join(s.text + file_text(s.data) for s in sent)


@pytest.mark.parametrize("name", LEADER_COMMANDS)
async def test_in_a_group_only_that_groups_leaders_may(name: str) -> None:
    p = await setup()
    for who, admin in [(OUTSIDER, False), (OUTSIDER, True), (LEADER_B, False), ("王姐", False)]:
        if admin:  # an admin elsewhere, even claiming admin here through another chat's status, is no leader
            await p.chat.push("hi", sender=who, chat_id="g3", is_admin=True)
            p.chat.pop_all()
        await p.chat.push(f"/{name}", sender=who, chat_id="g1")
        assert [s.text for s in p.chat.pop_all()] == [m.NOT_LEADER], who
    assert p.core.service.deal_of("fake:g1").status == "open"
    await p.chat.push(f"/{name}", sender=LEADER_A, chat_id="g1")
    out = p.chat.pop_all()
    assert out and all(s.chat_id == "g1" for s in out) and m.NOT_LEADER not in said(out)
    assert "阿强" not in said(out) and "13900000002" not in said(out)  # nothing of the other group
    await p.chat.push(f"/{name}", sender=LEADER_B, chat_id="g2")  # a platform admin of g2, asked per chat
    out = p.chat.pop_all()
    assert out and all(s.chat_id == "g2" for s in out) and m.NOT_LEADER not in said(out)
    assert "王姐" not in said(out) and "13800000001" not in said(out)
    await p.close()


@pytest.mark.parametrize("name", LEADER_COMMANDS)
async def test_in_private_an_outsider_gets_nothing(name: str) -> None:
    p = await setup()
    for alias in [name, *REGISTRY[name].aliases]:
        await p.chat.push(f"/{alias}", sender=OUTSIDER, chat_id="dm-out", is_private=True, is_admin=True)
        assert [s.text for s in p.chat.pop_all()] == [m.PRIVATE_NO_GROUP]
    assert p.core.service.deal_of("fake:g1").status == "open" and p.core.service.deal_of("fake:g2").status == "open"
    await p.close()


@pytest.mark.parametrize("name", ["list", "tally", "pickup", "export", "unpicked"])
async def test_in_private_a_leader_sees_only_their_group(name: str) -> None:
    p = await setup()
    # whole phone numbers: a 4-digit piece ("1390") matched a random 4-digit pickup code of the leader's own lists
    for leader, mine, theirs in [(LEADER_A, ("王姐", "13800000001"), ("阿强", "13900000002")),
                                 (LEADER_B, ("阿强", "13900000002"), ("王姐", "13800000001"))]:
        await p.chat.push(f"/{name}", sender=leader, chat_id=f"dm-{leader}", is_private=True)
        out = p.chat.pop_all()
        text = said(out)
        assert out and all(s.chat_id == f"dm-{leader}" for s in out)
        assert theirs[0] not in text and theirs[1] not in text
        if name != "tally":  # the tally counts items; it names nobody
            assert mine[0] in text
    await p.close()


async def test_private_export_csv_is_the_leaders_group_with_its_title() -> None:
    p = await setup()
    await p.chat.push("/导出", sender=LEADER_A, chat_id="dm-a", is_private=True)
    [doc] = p.chat.pop_all()
    rows = xlsx_rows(doc.data)
    assert doc.kind == "file" and doc.chat_id == "dm-a" and doc.message_id.endswith(".xlsx")
    group = m.EXPORT_COLUMNS.index("群")
    assert [r[group] for r in rows[1:] if r[0] != m.EXPORT_TOTAL] == [A]
    assert "王姐" in file_text(doc.data) and "阿强" not in file_text(doc.data)
    await p.close()


async def test_in_private_deal_and_close_act_on_the_one_group_led() -> None:
    p = await setup()
    await p.chat.push("/close", sender=LEADER_B, chat_id="dm-b", is_private=True)
    out = p.chat.pop_all()
    assert [s.chat_id for s in out] == ["g2", "dm-b"] and out[0].text.startswith(m.CLOSED)
    assert out[1].text == m.DONE_IN_GROUP.format(group=B, name="close")
    closed = p.core.service.deal_of("fake:g2")
    assert closed.status == "closed"
    assert p.core.service.deal_of("fake:g1").status == "open"
    day = leaderday_of(p.core)
    assert day is not None
    assert [(r["action"], r["actor_name"], r["chat_key"]) for r in day.audit(closed.id)] == [
        ("close", LEADER_B, "fake:g2")]  # who closed which group's round
    await p.chat.push("/deal", sender=LEADER_B, chat_id="dm-b", is_private=True)
    out = p.chat.pop_all()
    assert [(s.kind, s.chat_id) for s in out] == [("card", "g2"), ("text", "dm-b")]
    assert p.core.service.deal_of("fake:g2").status == "open"
    await p.close()


async def test_a_leader_of_two_groups_names_the_group() -> None:
    p = await setup()
    await p.chat.push("/close", sender=BOTH, chat_id="dm-both", is_private=True)
    [ask] = p.chat.pop_all()
    assert ask.text == m.PICK_GROUP.format(n=2, name="close", example=A, groups=f"{A}、{B}")
    await p.chat.push(f"/截单 {B}", sender=BOTH, chat_id="dm-both", is_private=True)
    p.chat.pop_all()
    assert p.core.service.deal_of("fake:g2").status == "closed"
    assert p.core.service.deal_of("fake:g1").status == "open"
    await p.chat.push("/export", sender=BOTH, chat_id="dm-both", is_private=True)
    assert [s.kind for s in p.chat.pop_all()] == ["file", "file"]
    await p.chat.push(f"/export {B}", sender=LEADER_A, chat_id="dm-a", is_private=True)  # not theirs
    assert [s.text for s in p.chat.pop_all()] == [m.UNKNOWN_GROUP.format(arg=B, groups=A)]
    await p.close()


async def test_admin_status_is_never_carried_across_chats() -> None:
    p = await setup()
    await p.chat.push("/tally", sender="临时管理", chat_id="g1", is_admin=True)  # admin of g1 by the platform
    assert m.NOT_LEADER not in said(p.chat.pop_all())
    await p.chat.push("/tally", sender="临时管理", chat_id="g2")
    assert [s.text for s in p.chat.pop_all()] == [m.NOT_LEADER]
    await p.chat.push("/export", sender="临时管理", chat_id="dm-t", is_private=True, is_admin=True)
    assert [s.text for s in p.chat.pop_all()] == [m.PRIVATE_NO_GROUP]
    await p.close()


async def test_permissions_decide_per_group() -> None:
    config = config_from_dict({**two_groups(), "bot": {"leaders": ["@Boss"]}}, "test.toml", env={})
    chat = FakeAdapter("fake")
    chat.admins = {"g2": {"b"}}
    perms = Permissions(config, {"fake": chat}, lambda: ["fake:g9", "other:g1"])
    a = Caller("fake", sender_id_of(LEADER_A), "fake:dm", private=True)
    b = Caller("fake", "b", "fake:dm", private=True)
    boss = Caller("fake", "x", "fake:dm", username="boss", private=True)
    assert await perms.groups_led(a) == ["fake:g1"]
    assert await perms.groups_led(b) == ["fake:g2"]
    assert await perms.groups_led(boss) == ["fake:g1", "fake:g2", "fake:g9"]
    assert not await perms.leads(Caller("fake", "o", "fake:g3", admin_here=True), "fake:g1")
    assert await perms.leads(Caller("fake", "o", "fake:g3", admin_here=True), "fake:g3")
    assert not await perms.leads(Caller("other", sender_id_of(LEADER_A), "other:dm"), "fake:g1")


def test_the_registry_is_the_one_list_of_commands() -> None:
    assert set(REGISTRY) == {*LEADER_COMMANDS, "help", "my", "point"}
    assert all(REGISTRY[n].role == "leader" for n in LEADER_COMMANDS)
    assert REGISTRY["help"].role == REGISTRY["my"].role == REGISTRY["point"].role == "anyone"
    assert parse_command("／统计") == ("tally", "") and parse_command("/导出 阳光") == ("export", "阳光")
    assert names()["start"] == "help"
    text = help_text(leader=True)
    for c in REGISTRY.values():
        assert f"/{c.name}" in text and c.help in text
        assert all(f"/{alias}" in text for alias in c.aliases)
    assert "/start" not in text and "/deal" not in help_text(leader=False)


async def test_help_depends_on_leading_this_group() -> None:
    p = await setup()
    await p.chat.push("/帮助", sender=LEADER_B, chat_id="g1")
    assert p.chat.pop().text == help_text(leader=False)
    await p.chat.push("/help", sender=LEADER_B, chat_id="g2")
    assert p.chat.pop().text == help_text(leader=True)
    await p.chat.push("/help", sender=LEADER_B, chat_id="dm-b", is_private=True)
    assert p.chat.pop().text == help_text(leader=True, private=True)
    await p.close()


async def test_a_leader_configured_by_username_is_recognised_privately() -> None:
    data = two_groups()
    data["groups"][1]["leaders"] = ["@AHua"]
    p = await make_pipeline(CAPS, config=config_from_dict(data, "test.toml", env={}))
    await p.chat.push("5栋101 阿强 葡萄1", sender="阿强", chat_id="g2")
    p.chat.pop_all()
    await p.chat.push("/export", sender="阿花", chat_id="dm-h", is_private=True, username="ahua")
    [doc] = p.chat.pop_all()
    assert doc.kind == "file" and "阿强" in file_text(doc.data)
    await p.chat.push("/export", sender="冒名", chat_id="dm-x", is_private=True, username="ahua2")
    assert [s.text for s in p.chat.pop_all()] == [m.PRIVATE_NO_GROUP]
    await p.close()


def shared_deal() -> dict:
    data = two_groups()
    data["deals"] = [dict(sample_deal(egg_stock=50), groups=["home", "park"])]  # one deal, both groups
    return data


async def test_one_groups_leader_cannot_close_a_deal_shared_with_another_group() -> None:
    p = await make_pipeline(CAPS, config=config_from_dict(shared_deal(), "test.toml", env={}))
    p.chat.admins = {"g2": {sender_id_of(LEADER_B), sender_id_of(BOTH)}, "g1": {sender_id_of(BOTH)}}
    await p.chat.push("葡萄1", sender="王姐", chat_id="g1")
    await p.chat.push("葡萄1", sender="阿强", chat_id="g2")
    p.chat.pop_all()
    await p.chat.push("/close", sender=LEADER_A, chat_id="g1")
    assert [s.text for s in p.chat.pop_all()] == [m.CLOSE_SHARED_NOT_YOURS.format(groups=B)]
    assert p.core.service.deal_of("fake:g2").status == "open"
    await p.chat.push("葡萄1", sender="阿强", chat_id="g2")  # 阿强 in the other group still orders
    assert p.stored().get("阿强") == {"1": 2}
    await p.chat.push("/close", sender=BOTH, chat_id="g1")  # a leader of both groups may
    assert p.core.service.deal_of("fake:g2").status != "open"
    await p.close()
