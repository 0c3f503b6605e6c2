"""Overlapping rounds (docs/running.md, "Overlapping rounds"): tonight's round opens while yesterday's
closed round is still picked up and paid. Every leader-day command works both; a household found in
both is acted on where the action still applies (the earlier round first), and the answer names the
round. Also /verify in the leader's private chat and by 跟团号/room, and /unverify's new code.

Through the fake adapter and the real pipeline (prices: 葡萄 29.9, 脐橙 25.8, 鸡蛋 32)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from adapters.base import Capabilities
from adapters.fake import sender_id_of
from bot import messages as m
from bot.leaderday_commands import leaderday_of, worked
from bot.usecases.leaderday import PICKUP_DAYS, Marks
from tests.pipeline import LEADER, Pipeline, make_pipeline

G1 = "fake:g1"


async def said(p: Pipeline, text: str, *, sender: str = LEADER, chat_id: str = "g1", **kw: object) -> list[str]:
    p.chat.pop_all()
    await p.chat.push(text, sender=sender, chat_id=chat_id, **kw)  # type: ignore[arg-type]
    return [s.text for s in p.chat.pop_all() if s.kind == "text"]


def deal_id(p: Pipeline) -> str:
    row = p.core.service.deal_of(G1)
    assert row is not None
    return row.id


def marks(p: Pipeline, deal: str, who: str) -> Marks:
    day = leaderday_of(p.core)
    assert day is not None
    return day.marks_for_deal(deal)[(G1, sender_id_of(who))]


async def two_rounds(p: Pipeline) -> tuple[str, str]:
    """Yesterday: 王姐 葡萄2 (#1), 李阿姨 脐橙1 (#2), closed and arrived. Tonight: a new round, 王姐 葡萄1."""
    await p.chat.push("3栋402 王姐 葡萄2", sender="王姐")
    await p.chat.push("5-1-302 李阿姨 脐橙1", sender="李阿姨")
    await said(p, "/close")
    old = deal_id(p)
    await said(p, "/arrived")
    await said(p, "/deal")
    new = deal_id(p)
    assert new != old
    await p.chat.push("3栋402 王姐 葡萄1", sender="王姐")
    return old, new


async def name_of(p: Pipeline, deal: str, current: str) -> str:
    day = leaderday_of(p.core)
    assert day is not None
    async with p.core.lock:
        rounds = worked(p.core, day, G1, current)
    assert len({r.name for r in rounds}) == len(rounds)  # told apart even with one title on one day
    return next(r.name for r in rounds if r.deal_id == deal)


async def test_both_rounds_are_worked_and_the_answer_names_the_round() -> None:
    p = await make_pipeline(Capabilities(direct=True))
    old, new = await two_rounds(p)
    old_name = await name_of(p, old, new)
    # the roll-call and the unpaid list cover both rounds, each under its name
    [roll] = await said(p, "/unpicked")
    assert roll.startswith(m.UNPICKED_TITLE.format(n=3)) and m.ROUND_HEADING.format(round=old_name) in roll
    [unpaid] = await said(p, "/unpaid")
    assert unpaid.startswith(m.UNPAID_TITLE.format(n=3, total="115.50"))  # 59.80 + 25.80 + 29.90
    # 王姐 is in both: her waiting goods (the earlier round) are verified, and the round is named
    assert await said(p, "/picked 王姐") == [m.VERIFIED.format(who="3栋402 王姐", number=1)
                                            + m.IN_ROUND.format(round=old_name)]
    assert marks(p, old, "王姐").picked and not marks(p, new, "王姐").picked
    # 李阿姨 is only in the earlier round: no round named
    assert await said(p, "/verify #2") == [m.VERIFIED.format(who="5-1-302 李阿姨", number=2)]
    assert marks(p, old, "李阿姨").picked
    # undo: the leader's latest verification, in whichever round it was
    assert await said(p, "/unverify") == [m.UNVERIFIED.format(who="5-1-302 李阿姨")]
    assert not marks(p, old, "李阿姨").picked
    # payments: the earlier round's debt first, then tonight's
    await said(p, "/paid 王姐")
    assert marks(p, old, "王姐").paid and not marks(p, new, "王姐").paid
    await said(p, "/paid 王姐")
    assert marks(p, new, "王姐").paid
    # a refund of the earlier round's item lands there
    [ref] = await said(p, "/refund 李阿姨 脐橙 1 坏果")
    assert ref == m.REFUND_DONE.format(who="5-1-302 李阿姨", item="脐橙", qty="1", amount="25.80", reason="坏果")
    assert marks(p, old, "李阿姨").refund_amount == Decimal("25.80")
    await p.close()


async def test_my_shows_the_waiting_round_and_its_code_only_privately() -> None:
    p = await make_pipeline(Capabilities(direct=True))
    old, new = await two_rounds(p)
    old_name = await name_of(p, old, new)
    code = marks(p, old, "王姐").pickup_code
    group, private = await said(p, "/my", sender="王姐"), []
    p.chat.pop_all()
    await p.chat.push("/my", sender="王姐")
    sent = p.chat.pop_all()
    private = [s.text for s in sent if s.chat_id != "g1"]
    group = [s.text for s in sent if s.chat_id == "g1"]
    assert len(group) == 1 and code not in group[0] and old_name in group[0] and m.MY_CODE_SENT in group[0]
    assert len(private) == 1 and f"取货码{code}" in private[0] and old_name in private[0]
    # 李阿姨 ordered only in the earlier round: she is not told she ordered nothing
    [hers] = [t for t in await said(p, "/my", sender="李阿姨") if not t.startswith("【")]
    assert m.MY_NONE not in hers and m.MY_EARLIER.split("{")[0] in hers
    # picked up and paid: the earlier round is done and no longer worked
    await said(p, "/picked 王姐")
    await said(p, "/picked 李阿姨")
    await said(p, "/paid 李阿姨")
    await said(p, "/paid 王姐")
    [hers] = await said(p, "/my", sender="李阿姨")
    assert hers.startswith(m.MY_NONE)
    day = leaderday_of(p.core)
    assert day is not None
    assert day.worked_rounds(G1, new, p.core.now()) == [new]
    await p.close()


async def test_a_round_closed_long_ago_is_no_longer_worked() -> None:
    p = await make_pipeline(Capabilities(direct=True))
    old, new = await two_rounds(p)
    day = leaderday_of(p.core)
    assert day is not None
    assert day.worked_rounds(G1, new, p.core.now()) == [new, old]
    later = p.core.now() + PICKUP_DAYS + timedelta(hours=1)
    p.core.clock = lambda: later
    assert day.worked_rounds(G1, new, later) == [new]
    assert await said(p, "/picked 李阿姨") == [m.NO_HOUSEHOLD.format(query="李阿姨")]
    await p.close()


async def test_arrived_and_short_act_on_the_closed_round() -> None:
    p = await make_pipeline(Capabilities(direct=True))
    old, _new = await two_rounds(p)
    await said(p, "/short 脐橙 0")
    assert marks(p, old, "李阿姨").refund_amount == Decimal("25.80")
    p.chat.pop_all()
    await p.chat.push("/arrived", sender=LEADER)
    [notice] = [s for s in p.chat.pop_all() if s.kind == "text"]
    assert "李阿姨" in notice.text  # the earlier round's households, not tonight's alone
    await p.close()


async def test_the_scheduled_reminder_covers_the_earlier_round() -> None:
    from bot.pickup_commands import unpicked_reminder

    p = await make_pipeline(Capabilities(direct=True))
    now = [datetime.now(UTC)]
    p.core.clock = lambda: now[0]
    old, _new = await two_rounds(p)
    now[0] += timedelta(days=1)
    p.chat.pop_all()
    assert await unpicked_reminder(p.core, G1)
    [sent] = [s for s in p.chat.pop_all() if s.kind == "text"]
    assert "李阿姨" in sent.text and "王姐" in sent.text
    assert not await unpicked_reminder(p.core, G1)  # once per round
    await p.close()


# --- /verify privately, by 跟团号 and room; /unverify's new code -------------------------------------------


async def orders(p: Pipeline) -> None:
    await p.chat.push("3栋402 王姐 葡萄2", sender="王姐")
    await p.chat.push("5-1-302 李阿姨 脐橙1", sender="李阿姨")
    await p.chat.push("12栋101 阿强 葡萄1", sender="阿强")
    await said(p, "/close")


async def test_verify_in_the_leaders_private_chat_never_touches_the_group() -> None:
    p = await make_pipeline(Capabilities(direct=True))
    await orders(p)
    deal = deal_id(p)
    code = marks(p, deal, "李阿姨").pickup_code
    p.chat.pop_all()
    await p.chat.push(f"/verify {code}", sender=LEADER, chat_id="dm", is_private=True)
    sent = [s for s in p.chat.pop_all() if s.kind == "text"]
    assert [(s.chat_id, s.text) for s in sent] == [("dm", m.VERIFIED.format(who="5-1-302 李阿姨", number=2))]
    assert marks(p, deal, "李阿姨").picked
    # naming the group as the last word works too; /unverify likewise, by the code
    assert await said(p, f"/unverify {code} 幸福里团购群", chat_id="dm", is_private=True) == [
        m.UNVERIFIED.format(who="5-1-302 李阿姨")]
    assert not marks(p, deal, "李阿姨").picked
    # /picked stays a group command
    assert await said(p, "/picked 王姐", chat_id="dm", is_private=True) == [m.GROUP_ONLY.format(name="picked")]
    await p.close()


@pytest.mark.parametrize("typed", ["/verify #3", "/verify ＃3", "/核销 3号", "/verify 跟团号3", "/verify 跟团号 #3",
                                   "/verify 12栋101", "/verify 阿强"])
async def test_verify_takes_what_picked_takes(typed: str) -> None:
    p = await make_pipeline(Capabilities(direct=True))
    await orders(p)
    assert await said(p, typed) == [m.VERIFIED.format(who="12栋101 阿强", number=3)]
    assert await said(p, typed.replace("/verify", "/unverify").replace("/核销", "/unverify")) == [
        m.UNVERIFIED.format(who="12栋101 阿强")]
    await p.close()


async def test_a_pickup_code_wins_over_a_room_of_the_same_digits() -> None:
    p = await make_pipeline(Capabilities(direct=True))
    await p.chat.push("3栋402 王姐 葡萄2", sender="王姐")
    deal = deal_id(p)
    code = marks(p, deal, "王姐").pickup_code  # given when first read
    await p.chat.push(f"8栋{code} 刘奶奶 葡萄1", sender="刘奶奶")  # her room has 王姐's code's digits
    room = next(str(n) for n in range(1101, 10000) if str(n) not in {code, marks(p, deal, "刘奶奶").pickup_code})
    await p.chat.push(f"9栋{room} 老周 葡萄1", sender="老周")
    await said(p, "/close")
    assert await said(p, f"/verify {code}") == [m.VERIFIED.format(who="3栋402 王姐", number=1)]
    assert not marks(p, deal, "刘奶奶").picked
    # a 4-digit word that is no code is a room
    assert await said(p, f"/verify {room}") == [m.VERIFIED.format(who=f"9栋{room} 老周", number=3)]
    # to name the room whose digits are a code, write more of it (as /picked takes it)
    assert await said(p, f"/verify 8栋{code}") == [m.VERIFIED.format(who=f"8栋{code} 刘奶奶", number=2)]
    await p.close()


async def test_unverify_replaces_the_code_that_was_used() -> None:
    p = await make_pipeline(Capabilities(direct=True))
    await orders(p)
    deal = deal_id(p)
    old = marks(p, deal, "王姐").pickup_code
    await said(p, f"/verify {old}")
    await said(p, "/unverify 王姐")
    new = marks(p, deal, "王姐").pickup_code
    assert new != old and not marks(p, deal, "王姐").picked
    assert await said(p, f"/verify {old}") == [m.NO_CODE.format(code=old)]  # the heard code is dead
    [mine] = await said(p, "/my", sender="王姐", chat_id="dm-wang", is_private=True)
    assert f"取货码{new}" in mine and old not in mine
    await p.close()
