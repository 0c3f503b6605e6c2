"""Breaker round 4: the leader's day after the cutoff (refunds, short deliveries), as strict xfails."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.usecases.leaderday import Actor
from tests.web_support import GA, World, world


@pytest.fixture
def w(tmp_path) -> Iterator[World]:  # type: ignore[no-untyped-def]
    w = world(tmp_path)  # group A: 王姐 ordered 葡萄 2 (29.90 each), 李哥 鸡蛋 1
    yield w
    w.repo.close()


def leader(w: World) -> Actor:
    return Actor(GA, "la", "阿华")


# User sees: 王姐 (2 盒 葡萄, ¥59.80) gets a 坏果 refund of 1 (¥29.90); then the supplier delivers no
# grapes at all and /short 葡萄 0 refunds her 2 more (¥59.80): ¥89.70 refunded on a ¥59.80 order.
# /refund after /short is capped (ordered − refunded − short), /short after /refund is not.
def test_a_short_delivery_after_a_refund_never_refunds_more_than_was_ordered(w: World) -> None:
    day, deal, now = w.ctx.leader_day(), w.deals[GA], datetime.now(UTC)
    assert day.refund(deal, leader(w), now, "王姐", "葡萄", 1, "坏果").status == "ok"
    day.short(deal, leader(w), now, "葡萄", 0)
    marks = day.marks_for_deal(deal)[(GA, "u-王姐")]
    assert marks.refund_amount <= Decimal("59.80"), f"refunded {marks.refund_amount} of a 59.80 order"


# User sees: `/refund 王姐 葡萄 1 坏果 ¥5980` (a typo for 59.80) is recorded: 王姐 is owed ¥5980 back
# on a ¥59.80 order, and the leader's net sales (and commission) go negative in `tuan settle`.
def test_a_refund_amount_above_the_items_value_is_refused(w: World) -> None:
    day, deal, now = w.ctx.leader_day(), w.deals[GA], datetime.now(UTC)
    res = day.refund(deal, leader(w), now, "王姐", "葡萄", 1, "坏果", Decimal("5980"))
    assert res.status != "ok", "a refund of 5980 for one 29.90 box was recorded"
