"""A short delivery is shared out first come first served by unit: each unit ordered waits its turn by
the time of the entry that ordered it, not by its household's first entry (a late top-up waits behind
a neighbour's earlier order; a lowered or re-set order keeps the place of the units it keeps). And it
is recorded after the cutoff only: while the round takes orders it is refused with a reply.

葡萄 29.90/盒 (the sample deal, tests/pipeline.py)."""

from __future__ import annotations

from decimal import Decimal

from adapters.base import Capabilities
from adapters.fake import sender_id_of
from bot import messages as m
from bot.usecases.leaderday import LeaderDay
from tests.pipeline import LEADER, Pipeline, make_pipeline

CAPS = Capabilities(reactions=True, direct=True)


async def short_refunds(lines: list[tuple[str, str]], delivered: int) -> dict[str, Decimal]:
    """Type ``lines`` ((who, text)), close the round, /short 葡萄 ``delivered``: each orderer's refund."""
    p = await make_pipeline(CAPS)
    for who, text in lines:
        await p.chat.push(text, sender=who)
    await p.chat.push("/close", sender=LEADER)
    await p.chat.push(f"/short 葡萄 {delivered}", sender=LEADER)
    marks = LeaderDay(p.repo).marks_for_deal(p.deal_id)
    await p.close()
    names = {sender_id_of(who): who for who, _text in lines}
    return {names[key[1]]: mk.refund_amount for key, mk in marks.items()}


async def test_a_raised_order_keeps_the_place_of_its_first_unit() -> None:
    # 王姐 1 (first), 李哥 2, then 王姐 改成4: her first box is still the first; the one delivered is hers
    got = await short_refunds([("王姐", "3栋402 王姐 葡萄1"), ("李哥", "5栋101 李哥 葡萄2"), ("王姐", "葡萄改成4")], 1)
    assert got == {"王姐": Decimal("89.70"), "李哥": Decimal("59.80")}


async def test_a_lowered_order_gives_up_its_latest_units() -> None:
    # 王姐 1, 李哥 1, 王姐 再加1 then 减1: the box she keeps is her first, before 李哥's
    got = await short_refunds([("王姐", "3栋402 王姐 葡萄1"), ("李哥", "5栋101 李哥 葡萄1"),
                               ("王姐", "葡萄再加1"), ("王姐", "葡萄减1")], 1)
    assert got == {"王姐": Decimal("0.00"), "李哥": Decimal("29.90")}


async def test_top_ups_of_several_households_interleave_by_time() -> None:
    # 王姐 1, 李哥 1, 王姐 +1, 李哥 +1: the 2 delivered are 王姐's and 李哥's first boxes
    got = await short_refunds([("王姐", "3栋402 王姐 葡萄1"), ("李哥", "5栋101 李哥 葡萄1"),
                               ("王姐", "葡萄再加1"), ("李哥", "葡萄再加1")], 2)
    assert got == {"王姐": Decimal("29.90"), "李哥": Decimal("29.90")}


async def say(p: Pipeline, text: str) -> list[str]:
    p.chat.pop_all()
    await p.chat.push(text, sender=LEADER)
    return [s.text for s in p.chat.pop_all()]


async def test_a_short_delivery_on_an_open_round_is_refused_with_a_reply_then_taken_after_the_cutoff() -> None:
    p = await make_pipeline(CAPS)
    await p.chat.push("3栋402 王姐 葡萄2", sender="王姐")
    assert await say(p, "/short 葡萄 1") == [m.SHORT_OPEN]
    day = LeaderDay(p.repo)
    assert [r["action"] for r in day.audit(p.deal_id)] == []
    assert [mk.refund_amount for mk in day.marks_for_deal(p.deal_id).values()] == [Decimal("0.00")]
    await p.chat.push("/close", sender=LEADER)
    (posted,) = await say(p, "/short 葡萄 1")
    assert posted.startswith(m.SHORT_TITLE.format(item="葡萄", ordered=2, delivered=1))
    assert [mk.refund_amount for mk in day.marks_for_deal(p.deal_id).values()] == [Decimal("29.90")]
    await p.close()


async def test_a_round_past_its_own_cutoff_takes_a_short_delivery_though_nobody_closed_it() -> None:
    from datetime import UTC, datetime, timedelta

    from bot.config import config_from_dict
    from bot.usecases.leaderday import Actor, Result, ShortResult
    from tests.pipeline import config_dict

    cutoff = datetime.now(UTC) + timedelta(hours=1)
    raw = config_dict()
    raw["deals"][0]["cutoff"] = cutoff.isoformat()
    p = await make_pipeline(CAPS, config=config_from_dict(raw, "test.toml", env={}))
    await p.chat.push("3栋402 王姐 葡萄2", sender="王姐")
    day, actor = LeaderDay(p.repo), Actor("fake:g1", sender_id_of(LEADER), LEADER)
    assert day.short(p.deal_id, actor, cutoff - timedelta(minutes=1), "葡萄", 1) == Result("open")
    done = day.short(p.deal_id, actor, cutoff + timedelta(minutes=1), "葡萄", 1)  # still "open" in the store
    assert isinstance(done, ShortResult), done
    assert [mk.refund_amount for mk in day.marks_for_deal(p.deal_id).values()] == [Decimal("29.90")]
    await p.close()
