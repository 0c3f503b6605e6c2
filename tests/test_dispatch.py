"""The whole pipeline: fake chat → dispatcher → OrderService → store, and what the bot says back."""

from __future__ import annotations

import pytest

from adapters.base import Capabilities
from adapters.fake import sender_id_of
from bot import messages as m
from bot.commands import parse_command
from bot.config import config_from_dict
from bot.model import Mention
from bot.registry import help_text
from storage.sql import open_repository
from tests.pipeline import LEADER, config_dict, make_pipeline
from tests.sheets import xlsx_rows
from tests.waiting import eventually

REACTIONS = Capabilities(reactions=True, direct=True)
BUTTONS = Capabilities(buttons=True, edits=True)


async def test_accepted_order_gets_a_reaction_and_is_stored() -> None:
    p = await make_pipeline(REACTIONS)
    msg = await p.chat.push("葡萄2", sender="王姐")
    sent = p.chat.pop_all()
    assert [(s.kind, s.message_id, s.emoji) for s in sent] == [("react", msg.message_id, m.ACK_EMOJI)]
    assert p.stored() == {"王姐": {"1": 2}}
    await p.close()


async def test_pipeline_on_sqlite_store(tmp_path) -> None:
    repo = open_repository(f"sqlite:///{tmp_path / 't.db'}")
    p = await make_pipeline(REACTIONS, repo=repo)
    await p.chat.push("1号2份 4号1份", sender="阿强")
    await p.chat.push("葡萄改成3", sender="阿强")
    assert p.stored() == {"阿强": {"1": 3, "4": 1}}
    await p.close()
    repo.close()


async def test_without_reactions_a_digest_at_most_every_interval() -> None:
    p = await make_pipeline(digest_minutes=0.005)  # 0.3 s
    await p.chat.push("葡萄2", sender="王姐")
    first = p.chat.pop_all()
    assert len(first) == 1 and first[0].text.startswith("#接龙 水果鸡蛋团") and "王姐 葡萄2" in first[0].text
    for n, name in enumerate(["阿强", "李阿姨", "小陈"], 1):
        await p.chat.push(f"鸡蛋{n}" if n < 3 else "脐橙1", sender=name)
    assert p.chat.pop_all() == []  # a burst: nothing yet
    await eventually(lambda: p.chat.sent, 5, what="the digest at the interval's end")
    later = p.chat.pop_all()
    assert len(later) == 1 and "(共4户)" in later[0].text and "小陈 脐橙1" in later[0].text
    await p.close()


async def test_unclear_gets_a_question_mentioning_the_resident() -> None:
    p = await make_pipeline(REACTIONS)
    msg = await p.chat.push("橙1", sender="王姐")
    [ask] = p.chat.pop_all()
    assert ask.text == m.ASK_AMBIGUOUS.format(word="橙", options="脐橙还是血橙")
    assert ask.mention == Mention(sender_id_of("王姐"), "王姐") and ask.reply_to == msg.message_id
    assert p.stored() == {}
    await p.close()


async def test_more_than_is_left_is_refused_saying_how_many_are_left() -> None:
    p = await make_pipeline(REACTIONS)  # 鸡蛋: 5 in stock
    await p.chat.push("鸡蛋6", sender="王姐")
    assert p.chat.pop_all()[-1].text == "鸡蛋 只剩5盒了,这单没能记上,最多还能订5盒"
    await p.chat.push("鸡蛋2", sender="王姐")
    await p.chat.push("鸡蛋改成6", sender="王姐")  # she has 2: 3 more are left, her total can be 5 at most
    assert p.chat.pop_all()[-1].text == m.REFUSED_SOLD_OUT_SET.format(item="鸡蛋", left=3, most=5, unit="盒")
    assert m.REFUSED_SOLD_OUT_SET.format(item="鸡蛋", left=3, most=5, unit="盒") == \
        "鸡蛋 只剩3盒了,这次没能改:您的鸡蛋最多能改成5盒"
    await p.chat.push("鸡蛋4", sender="阿强")
    assert p.chat.pop_all()[-1].text == m.REFUSED_SOLD_OUT_LEFT.format(item="鸡蛋", left=3, unit="盒")
    await p.chat.push("鸡蛋3", sender="阿强")
    await p.chat.push("鸡蛋1", sender="小李")
    assert p.chat.pop_all()[-1].text == m.REFUSED_SOLD_OUT.format(item="鸡蛋")  # none left
    assert p.stored() == {"王姐": {"4": 2}, "阿强": {"4": 3}}
    await p.close()


async def test_clear_and_unclear_in_one_message() -> None:
    p = await make_pipeline(REACTIONS)
    await p.chat.push("橙1 葡萄2", sender="王姐")
    kinds = sorted(s.kind for s in p.chat.pop_all())
    assert kinds == ["react", "text"]
    assert p.stored() == {"王姐": {"1": 2}}
    await p.close()


async def test_refused_gets_the_reason() -> None:
    p = await make_pipeline(REACTIONS)
    await p.chat.push("鸡蛋5", sender="王姐")
    await p.chat.push("鸡蛋1", sender="阿强")
    assert p.chat.pop_all()[-1].text == m.REFUSED_SOLD_OUT.format(item="鸡蛋")
    await p.chat.push("葡萄11", sender="阿强")
    assert p.chat.pop().text == m.REFUSED_OVER_MAX.format(item="葡萄", max_qty=10, unit="盒")
    await p.chat.push("/close", sender=LEADER)
    p.chat.pop_all()
    late = await p.chat.push("葡萄1", sender="小陈")
    [refusal] = p.chat.pop_all()
    assert refusal.text == m.REFUSED_AFTER_CUTOFF and refusal.reply_to == late.message_id
    assert p.stored() == {"王姐": {"4": 5}}
    await p.close()


async def test_chatter_gets_silence() -> None:
    p = await make_pipeline()
    for text in ["葡萄甜吗?", "谢谢团长👍", "几点到?"]:
        await p.chat.push(text, sender="王姐")
    assert p.chat.pop_all() == []
    await p.close()


@pytest.mark.parametrize("text, expected", [
    ("/tally", ("tally", "")), ("/tally@TuanBot", ("tally", "")), ("/List@TuanBot  3", ("list", "3")),
    ("／统计", ("tally", "")), ("葡萄2", None), ("/", None),
])
def test_parse_command(text: str, expected: tuple[str, str] | None) -> None:
    assert parse_command(text) == expected


async def test_resident_gets_a_polite_refusal_for_leader_commands() -> None:
    p = await make_pipeline()
    for cmd in ["/tally", "/list", "/close", "/deal", "/pickup"]:
        await p.chat.push(cmd, sender="王姐")
        assert p.chat.pop().text == m.NOT_LEADER
    await p.chat.push("/help", sender="王姐")
    assert p.chat.pop().text == help_text(leader=False)
    await p.chat.push("/weather", sender="王姐")
    assert p.chat.pop_all() == []
    await p.close()


async def test_leader_commands() -> None:
    p = await make_pipeline(REACTIONS)
    await p.chat.push("3栋402 王姐 葡萄2 鸡蛋1", sender="王姐")
    await p.chat.push("脐橙1", sender="阿强")
    p.chat.pop_all()
    await p.chat.push("/help", sender=LEADER)
    assert p.chat.pop().text == help_text(leader=True)
    await p.chat.push("/deal", sender=LEADER)
    card = p.chat.pop()
    assert card.kind == "card" and "1号 阳光玫瑰葡萄 2斤装 29.9元/盒" in card.text and "剩4" in card.text
    await p.chat.push("/list", sender="admin", is_admin=True)
    listing = p.chat.pop().text
    assert "1. 3栋402 王姐 葡萄2 鸡蛋1" in listing and "2. 阿强 脐橙1" in listing
    await p.chat.push("/tally@TuanBot", sender=LEADER)
    tally = p.chat.pop().text
    assert "合计 ¥117.60,共2户" in tally
    await p.chat.push("/pickup", sender=LEADER)  # rooms of every household: privately only
    private, said = p.chat.pop(), p.chat.pop()
    assert private.chat_id == sender_id_of(LEADER) and "3栋402 王姐:葡萄2盒 鸡蛋1盒 ¥91.80" in private.text
    assert said.chat_id == "g1" and said.text == m.SENT_PRIVATELY
    await p.chat.push("/close", sender=LEADER)
    closed = p.chat.pop().text
    assert closed.startswith(m.CLOSED) and "(已截单)" in closed
    await p.chat.push("/close", sender=LEADER)
    assert p.chat.pop().text == m.ALREADY_CLOSED
    await p.chat.push("/nope", sender=LEADER)
    assert p.chat.pop().text == m.UNKNOWN_COMMAND.format(name="nope")
    await p.close()


async def test_leader_talk_is_never_an_order() -> None:
    p = await make_pipeline(REACTIONS)
    await p.chat.push("葡萄2", sender=LEADER)
    assert p.chat.pop_all() == [] and p.stored() == {}
    await p.close()


async def test_copy_of_the_bots_list_adds_only_the_new_line() -> None:
    p = await make_pipeline()
    await p.chat.push("葡萄2", sender="王姐")
    await p.chat.push("脐橙1", sender="阿强")
    listing = p.chat.pop_all()[-1].text
    await p.chat.push(listing + "\n3. 5栋101 李阿姨 鸡蛋2", sender="李阿姨")
    assert p.stored() == {"王姐": {"1": 2}, "阿强": {"2": 1}, "李阿姨": {"4": 2}}
    await p.close()


async def test_button_press_answers_and_edits_the_card_once(monkeypatch) -> None:
    # the presses must all land within the debounce: 0.05 s was less than one press takes on a loaded machine
    monkeypatch.setattr("bot.dispatch.CARD_EDIT_SECONDS", 0.5)
    p = await make_pipeline(BUTTONS)
    await p.chat.push("/deal", sender=LEADER)
    card = p.chat.pop()
    assert card.card is not None and card.card.rows[0][0].action == "add"
    assert await p.chat.press_on(card, "add", "1", sender="王姐") == "葡萄 已订1盒"
    assert await p.chat.press_on(card, "add", "1", sender="王姐") == "葡萄 已订2盒"
    assert await p.chat.press_on(card, "mine", sender="王姐") == m.PRESS_MINE.format(items="葡萄2盒")
    assert await p.chat.press_on(card, "sub", "4", sender="阿强") == m.PRESS_NOTHING_TO_CANCEL.format(item="鸡蛋")
    await eventually(lambda: any(s.kind == "edit" for s in p.chat.sent), 5, what="the card's edit")
    edits = [s for s in p.chat.pop_all() if s.kind == "edit"]
    assert len(edits) == 1 and edits[0].message_id == card.message_id and "已订2" in edits[0].text
    assert p.stored() == {"王姐": {"1": 2}}
    await p.close()


async def test_without_a_deal_until_a_leader_posts_one() -> None:
    data = config_dict()
    data["deals"] = []
    p = await make_pipeline(REACTIONS, config=config_from_dict(data, "test.toml", env={}))
    await p.chat.push("葡萄2", sender="王姐")  # no catalog: not readable as an order, so silence
    assert p.chat.pop_all() == []
    assert await p.chat.press("add", "1", sender="王姐") == m.PRESS_UNKNOWN  # no card was ever sent
    await p.chat.push("/deal", sender=LEADER)
    assert p.chat.pop().text == m.NO_DEAL_CONFIGURED
    await p.chat.push("#接龙 周五团\n1. 阳光玫瑰葡萄 29.9元/盒\n2、赣南脐橙 ¥25.8", sender=LEADER)
    assert p.chat.pop().text == m.DEAL_RECOGNISED.format(n=2, items="1号阳光玫瑰葡萄、2号赣南脐橙")
    await p.chat.push("葡萄2", sender="王姐")
    assert p.chat.pop().kind == "react"
    assert p.stored() == {"王姐": {"1": 2}}
    await p.close()


async def test_text_orders_also_move_the_cards_counts_once_per_burst(monkeypatch) -> None:
    # the burst must land within the debounce: 0.05 s was less than one order takes on a loaded machine
    monkeypatch.setattr("bot.dispatch.CARD_EDIT_SECONDS", 0.5)
    p = await make_pipeline(BUTTONS)
    await p.chat.push("/deal", sender=LEADER)
    card = p.chat.pop()
    await p.chat.push("葡萄2", sender="王姐")
    await p.chat.push("葡萄1", sender="阿强")
    await p.chat.push("葡萄几点到?", sender="李阿姨")
    await eventually(lambda: any(s.kind == "edit" for s in p.chat.sent), 5, what="the card's edit")
    edits = [s for s in p.chat.pop_all() if s.kind == "edit"]
    assert len(edits) == 1 and edits[0].message_id == card.message_id and "已订3" in edits[0].text
    await p.close()


async def test_export_sends_an_xlsx_workbook_in_a_private_chat() -> None:
    p = await make_pipeline(Capabilities(reactions=True, files=True))
    await p.chat.push("3栋402 王姐 葡萄2", sender="王姐")
    await p.chat.push("鸡蛋1", sender="阿强")
    p.chat.pop_all()
    await p.chat.push("/export", sender="阿强", chat_id="dm-1", is_private=True)
    assert p.chat.pop().text == m.PRIVATE_NO_GROUP
    await p.chat.push("/export", sender=LEADER, chat_id="dm-2", is_private=True, is_admin=True)
    doc = p.chat.pop()
    assert doc.kind == "file" and doc.chat_id == "dm-2" and doc.message_id.endswith(".xlsx")
    rows = xlsx_rows(doc.data)
    assert tuple(rows[0]) == m.EXPORT_COLUMNS
    assert [r[:7] for r in rows[1:3]] == [[1, "王姐", "3栋402 王姐", None, "阳光玫瑰葡萄 2斤装", "盒", 2],
                                          [2, "阿强", None, None, "土鸡蛋 30枚", "盒", 1]]
    assert rows[-1][0] == m.EXPORT_TOTAL and rows[-1][8] == 91.8  # 2 x 29.9 + 1 x 32
    await p.close()


async def test_export_without_files_sends_the_tally_as_text() -> None:
    p = await make_pipeline(REACTIONS)
    await p.chat.push("葡萄2", sender="王姐")
    p.chat.pop_all()
    await p.chat.push("/export", sender=LEADER, is_admin=True)
    sent, said = p.chat.pop(), p.chat.pop()
    assert sent.kind == "text" and "阳光玫瑰葡萄" in sent.text and "59.80" in sent.text
    assert sent.chat_id == sender_id_of(LEADER) and said.text == m.SENT_PRIVATELY
    await p.close()
