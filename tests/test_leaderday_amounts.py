"""Refund and payment amounts: what a household gets back never passes what it ordered, and an
amount that is no sum of money (negative, NaN, too large for the store) is refused with a reply."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.money import MoneyError, parse_amount
from bot.usecases.commission import ItemSale, exact_commission
from bot.usecases.leaderday import Actor
from tests.test_console_leaderday import run
from tests.web_support import GA, World, world

BOT = "🤖 Tuan: "
WANG = (GA, "u-王姐")  # 葡萄 2 × 29.90 = 59.80


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    w = world(tmp_path)
    yield w
    w.repo.close()


def leader() -> Actor:
    return Actor(GA, "la", "阿华")


def grape_back(w: World) -> tuple[int, Decimal]:
    """王姐's refunded grapes: (qty, yuan), every kind but replacements."""
    mk = w.ctx.leader_day().marks_for_deal(w.deals[GA])[WANG]
    rs = [r for r in mk.refunds if r.item_code == "1" and r.kind != "replace"]
    return sum(r.qty for r in rs), sum((r.amount for r in rs), Decimal(0))


@pytest.mark.parametrize("delivered", [0, 1, 2])
def test_a_short_after_a_refund_fills_only_what_is_still_wanted(w: World, delivered: int) -> None:
    day, deal, now = w.ctx.leader_day(), w.deals[GA], datetime.now(UTC)
    w.service.close_deal(deal)  # a short delivery is recorded after the cutoff
    assert day.refund(deal, leader(), now, "王姐", "葡萄", 1, "坏果").status == "ok"
    day.short(deal, leader(), now, "葡萄", delivered)
    day.short(deal, leader(), now, "葡萄", delivered)  # recorded again: replaces, not adds
    qty, amount = grape_back(w)
    assert qty <= 2 and amount <= Decimal("59.80")
    assert qty == (2 if delivered == 0 else 1)  # one wanted still: short unless a box came


def test_a_short_after_a_large_refund_is_capped_by_the_value_left(w: World) -> None:
    day, deal, now = w.ctx.leader_day(), w.deals[GA], datetime.now(UTC)
    w.service.close_deal(deal)
    assert day.refund(deal, leader(), now, "王姐", "葡萄", 1, "坏果", Decimal("50")).status == "ok"
    day.short(deal, leader(), now, "葡萄", 0)
    assert grape_back(w) == (2, Decimal("59.80"))  # the short refunds 9.80, not 29.90


def test_a_default_refund_after_a_large_one_is_capped_by_the_value_left(w: World) -> None:
    day, deal, now = w.ctx.leader_day(), w.deals[GA], datetime.now(UTC)
    assert day.refund(deal, leader(), now, "王姐", "葡萄", 1, "坏果", Decimal("50")).status == "ok"
    res = day.refund(deal, leader(), now, "王姐", "葡萄", 1, "坏果")
    assert res.status == "ok" and res.amount == Decimal("9.80")
    assert grape_back(w) == (2, Decimal("59.80"))


def test_a_refund_after_a_short_keeps_within_the_order(w: World) -> None:
    day, deal, now = w.ctx.leader_day(), w.deals[GA], datetime.now(UTC)
    w.service.close_deal(deal)
    day.short(deal, leader(), now, "葡萄", 1)  # 王姐 gets 1 of 2: 1 refunded
    assert day.refund(deal, leader(), now, "王姐", "葡萄", 1, "坏果", Decimal("30")).status == "too_much"
    assert day.refund(deal, leader(), now, "王姐", "葡萄", 1, "坏果").status == "ok"
    assert day.refund(deal, leader(), now, "王姐", "葡萄", 1, "坏果").status == "too_many"
    assert grape_back(w) == (2, Decimal("59.80"))


def test_a_refund_amount_up_to_the_value_left_is_recorded(w: World) -> None:
    day, deal, now = w.ctx.leader_day(), w.deals[GA], datetime.now(UTC)
    res = day.refund(deal, leader(), now, "王姐", "葡萄", 1, "坏果", Decimal("59.80"))
    assert res.status == "ok" and res.amount == Decimal("59.80")
    res = day.refund(deal, leader(), now, "王姐", "葡萄", 1, "坏果", Decimal("0.01"))
    assert res.status == "too_much" and res.detail["left"] == Decimal(0)


@pytest.mark.parametrize("amount", [Decimal("-5"), Decimal("NaN"), Decimal("0"), Decimal("1.005"),
                                    Decimal("99999999999")])
def test_the_use_cases_refuse_an_amount_that_is_no_sum_of_money(w: World, amount: Decimal) -> None:
    day, deal, now = w.ctx.leader_day(), w.deals[GA], datetime.now(UTC)
    assert day.refund(deal, leader(), now, "王姐", "葡萄", 1, "坏果", amount).status == "bad_amount"
    paid = day.mark_paid(deal, leader(), now, "王姐", amount)
    assert paid.status == ("ok" if amount == 0 else "bad_amount")  # paying nothing may be recorded
    assert grape_back(w) == (0, Decimal(0))


def test_parse_amount_reads_typed_sums_and_refuses_the_rest() -> None:
    assert parse_amount("¥59.8") == Decimal("59.80")
    assert parse_amount("￥６０元") == Decimal("60.00")
    assert parse_amount("0", zero_ok=True) == Decimal("0.00")
    for word, why in [("¥-5", "not_positive"), ("¥NaN", "not_finite"), ("abc", "not_a_number"),
                      ("0", "not_positive"), ("1.005", "too_precise"), ("10000000000", "too_large")]:
        with pytest.raises(MoneyError) as e:
            parse_amount(word)
        assert e.value.reason == why, word


def test_the_kept_quantity_of_a_per_item_commission_never_goes_below_zero() -> None:
    over = ItemSale("d", "grape", qty=2, sales=Decimal("59.80"), refunded_qty=3, refunds=Decimal("59.80"))
    assert exact_commission(Decimal(0), Decimal("0.1"), [over], lambda _d, _c: Decimal(5)) == Decimal(0)


@pytest.mark.parametrize(("command", "said"), [
    ("/refund 王姐 葡萄 1 坏果 ¥-5", "金额「¥-5」要大于0"),
    ("/refund 王姐 葡萄 1 坏果 ¥NaN", "金额「¥NaN」不是有效的数字"),
    ("/refund 王姐 葡萄 1 坏果 ¥5980", "最多还能退¥59.80"),
    ("/paid 王姐 -5", "金额「-5」要大于0"),
    ("/paid 王姐 99999999999", "金额「99999999999」太大了"),
])
async def test_a_bad_amount_in_the_chat_is_refused_and_nothing_recorded(tmp_path: Path, command: str,
                                                                        said: str) -> None:
    out, core = await run(["王姐: 3栋402 王姐 葡萄2", "团长: /close", "-- morning", f"团长: {command}",
                           "团长: /unpaid"], tmp_path)
    answer = out[out.index(f"团长: {command}") + 1:]
    assert any(line.startswith(BOT) and said in line for line in answer), answer
    assert any("还差¥59.80" in line for line in answer), answer  # no refund, no payment recorded
