"""Totals, stock and max_qty on every path that changes a resident's quantity (§3.3, §3.6, §3.8).

A resident's quantity of an item is never below 0, a deal's total never exceeds the stock, an
increase never takes a resident above max_qty, and what an edit or a withdrawal gives back is
checked like a new entry (refused whole when it does not fit, the message listed in refused).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot import messages
from bot.catalog import Catalog, Item
from bot.model import ButtonPress
from bot.ports import Repository
from bot.services.orders import OrderService
from tests.stores import deal_state, memory_store
from tests.test_order_service import Chat

T0 = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
CHAT = "t:g1"


def catalog(*, eggs: int | None = 10, oranges: int | None = None, max_qty: int | None = None) -> Catalog:
    return Catalog(items=(
        Item("1", "阳光玫瑰葡萄 2斤装", "盒", aliases=("葡萄",)),
        Item("2", "赣南脐橙 5斤", "箱", aliases=("橙子",), stock=oranges),
        Item("3", "土鸡蛋 30枚", "盒", aliases=("鸡蛋",), stock=eggs),
    ), max_qty=max_qty)


def chat(**kw: int | None) -> Chat:
    return Chat(OrderService(memory_store(), catalog=catalog(**kw)))


def raw_total(c: Chat, sender: str, item: str) -> int:
    """The resident's signed total as the live state holds it (sender_totals hides totals <= 0)."""
    svc = c.svc
    deal = deal_state(svc, svc.deal_of(CHAT).id)  # type: ignore[union-attr]
    return deal.sender_total(CHAT, sender, item)


def raw_deal_total(c: Chat, item: str) -> int:
    """The deal's signed total of the item as the live state holds it."""
    svc = c.svc
    return deal_state(svc, svc.deal_of(CHAT).id).totals[item]  # type: ignore[union-attr]


def deal_total(c: Chat, item: str) -> int:
    return c.svc.tally(c.svc.deal_of(CHAT).id).totals[item]  # type: ignore[union-attr]


def press(c: Chat, sender: str, action: str, item: str) -> object:
    c.n += 1
    return c.svc.press(ButtonPress("t", "g1", sender, sender, T0 + timedelta(minutes=c.n), action, item,
                                   press_id=f"p{c.n}"))


def codes(out: object) -> list[str]:
    return [p.code for p in out.refused]  # type: ignore[attr-defined]


# -- a withdrawal or edit takes away at most what the resident still has ------------------------


def test_a_withdrawal_never_takes_a_resident_below_zero() -> None:
    c = chat()
    c.say("u1", "鸡蛋10")
    c.say("u1", "鸡蛋减10")
    assert c.say("u1", "", recall_of="m1").refused == ()
    assert raw_total(c, "u1", "3") == 0
    assert not c.say("u2", "鸡蛋5").refused
    assert not c.say("u1", "鸡蛋2").refused
    assert codes(c.say("u3", "鸡蛋4")) == ["sold_out"]
    assert c.totals("u1") == {"3": 2} and c.totals("u2") == {"3": 5} and deal_total(c, "3") == 7


def test_an_edit_never_takes_a_resident_below_zero() -> None:
    c = chat()
    c.say("u1", "鸡蛋5")
    c.say("u1", "鸡蛋减5")
    c.say("u1", "葡萄1", edit_of="m1")
    assert raw_total(c, "u1", "3") == 0 and c.totals("u1") == {"1": 1}
    assert not c.say("u2", "鸡蛋10").refused
    assert codes(c.say("u2", "鸡蛋再加1")) == ["sold_out"]
    assert deal_total(c, "3") == 10


def test_max_qty_counts_from_zero_after_a_withdrawal_stopped_there() -> None:
    c = chat(max_qty=5)
    c.say("u1", "葡萄5")
    c.say("u1", "葡萄减5")
    c.say("u1", "", recall_of="m1")
    assert not c.say("u1", "葡萄5").refused
    assert codes(c.say("u1", "葡萄1")) == ["over_max"]
    assert c.totals("u1") == {"1": 5}


def test_an_addition_after_a_withdrawal_stopped_at_zero_counts_in_full() -> None:
    c = chat()
    c.say("u1", "鸡蛋3")
    c.say("u1", "鸡蛋减3")
    c.say("u1", "", recall_of="m1")
    c.say("u1", "鸡蛋再加2")
    assert c.totals("u1") == {"3": 2}


def test_a_button_press_after_a_withdrawal_stopped_at_zero_counts() -> None:
    c = chat()
    c.say("u1", "鸡蛋3")
    c.say("u1", "鸡蛋减3")
    c.say("u1", "", recall_of="m1")
    press(c, "u1", "add", "3")
    assert c.totals("u1") == {"3": 1}
    press(c, "u1", "sub", "3")
    press(c, "u1", "sub", "3")
    assert raw_total(c, "u1", "3") == 0


def test_a_set_after_a_withdrawal_stopped_at_zero_is_checked_from_zero() -> None:
    c = chat(eggs=6)
    c.say("u1", "鸡蛋6")
    c.say("u1", "鸡蛋减6")
    c.say("u1", "", recall_of="m1")
    c.say("u2", "鸡蛋3")
    assert raw_deal_total(c, "3") == 3
    assert codes(c.say("u1", "鸡蛋改成4")) == ["sold_out"]  # 3 left
    assert not c.say("u1", "鸡蛋改成3").refused
    assert deal_total(c, "3") == 6


# -- what an edit or withdrawal gives back must fit -----------------------------------------------


def test_a_withdrawn_set_gives_back_only_what_the_stock_holds() -> None:
    c = chat()
    c.say("u1", "鸡蛋8")
    c.say("u1", "鸡蛋改成1")
    c.say("u2", "鸡蛋9")
    out = c.say("u1", "", recall_of="m2")
    assert codes(out) == ["sold_out"] and not out.accepted
    assert c.totals("u1") == {"3": 1} and deal_total(c, "3") == 10
    assert codes(c.say("u3", "鸡蛋1")) == ["sold_out"]


def test_a_refused_give_back_is_told_as_such() -> None:
    c = chat()
    c.say("u1", "鸡蛋8")
    c.say("u1", "鸡蛋改成1")
    c.say("u2", "鸡蛋9")
    problem = c.say("u1", "", recall_of="m2").refused[0]
    assert problem.give_back
    assert messages.problem_text(problem, c.svc.catalog_of(c.svc.deal_of(CHAT).id)) == (  # type: ignore[union-attr]
        "鸡蛋 已售罄,原来的数量加不回去了,仍按现在的数量算")
    assert not c.say("u3", "鸡蛋1").refused[0].give_back


def test_a_withdrawn_set_that_fits_gives_back_in_full() -> None:
    c = chat()
    c.say("u1", "鸡蛋8")
    c.say("u1", "鸡蛋改成1")
    c.say("u2", "鸡蛋2")
    out = c.say("u1", "", recall_of="m2")
    assert not out.refused and [(a.delta, a.total) for a in out.accepted] == [(7, 8)]
    assert c.totals("u1") == {"3": 8} and deal_total(c, "3") == 10


def test_a_withdrawn_decrease_gives_back_only_what_the_stock_holds() -> None:
    c = chat(eggs=6)
    c.say("u1", "鸡蛋5")
    c.say("u1", "鸡蛋减4")
    c.say("u2", "鸡蛋5")
    assert codes(c.say("u1", "", recall_of="m2")) == ["sold_out"]
    assert c.totals("u1") == {"3": 1} and deal_total(c, "3") == 6


def test_a_withdrawn_cancel_gives_back_each_item_that_fits() -> None:
    c = chat(eggs=6, oranges=6)
    c.say("u1", "鸡蛋4 橙子4")
    c.say("u1", "取消")
    c.say("u2", "鸡蛋5")
    out = c.say("u1", "", recall_of="m2")
    assert codes(out) == ["sold_out"] and [p.item_code for p in out.refused] == ["3"]
    assert c.totals("u1") == {"2": 4}
    assert deal_total(c, "3") == 5 and deal_total(c, "2") == 4


def test_a_withdrawn_item_cancel_is_refused_when_sold_out_meanwhile() -> None:
    c = chat(eggs=5)
    c.say("u1", "鸡蛋3")
    c.say("u1", "鸡蛋不要了")
    c.say("u2", "鸡蛋5")
    assert codes(c.say("u1", "", recall_of="m2")) == ["sold_out"]
    assert c.totals("u1") == {} and deal_total(c, "3") == 5


def test_an_edited_set_gives_back_only_what_fits_then_applies_the_new_text() -> None:
    c = chat()
    c.say("u1", "鸡蛋8")
    c.say("u1", "鸡蛋改成1")
    c.say("u2", "鸡蛋9")
    out = c.say("u1", "鸡蛋改成2", edit_of="m2")
    assert codes(out) == ["sold_out", "sold_out"]  # the give-back of 7, then the new 改成2 (one more)
    assert c.totals("u1") == {"3": 1} and deal_total(c, "3") == 10
    out = c.say("u1", "鸡蛋改成1", edit_of="m4")
    assert not out.refused and c.totals("u1") == {"3": 1}


# -- copies: the author's own line, replaced ------------------------------------------------------


def test_own_line_replaced_after_a_decrease_is_what_the_line_says() -> None:
    c = chat()
    c.say("u1", "#接龙\n1. 王姐 鸡蛋3")
    c.say("u1", "鸡蛋减2")
    c.say("u1", "#接龙\n1. 王姐 鸡蛋2")
    assert raw_total(c, "u1", "3") == 2


def test_a_withdrawn_line_replacement_gives_back_only_what_fits() -> None:
    c = chat(eggs=6)
    c.say("u1", "#接龙\n1. 王姐 鸡蛋5")
    c.say("u1", "#接龙\n1. 王姐 鸡蛋1")
    c.say("u2", "#接龙\n1. 王姐 鸡蛋1\n2. 阿强 鸡蛋5")
    assert codes(c.say("u1", "", recall_of="m2")) == ["sold_out"]
    assert c.totals("u1") == {"3": 1} and deal_total(c, "3") == 6


def test_a_refused_line_replacement_is_replaced_next_time() -> None:
    c = chat(eggs=5)
    c.say("u1", "#接龙\n1. 王姐 鸡蛋2")
    c.say("u2", "鸡蛋3")
    assert codes(c.say("u1", "#接龙\n1. 王姐 鸡蛋4")) == ["sold_out"]
    assert c.totals("u1") == {"3": 2}
    c.say("u1", "#接龙\n1. 王姐 鸡蛋1")
    assert c.totals("u1") == {"3": 1}


def test_own_line_replaced_without_an_item_reports_it_and_gives_its_stock_back() -> None:
    c = chat(eggs=3)
    c.say("u1", "#接龙\n1. 王姐 鸡蛋3 葡萄1")
    out = c.say("u1", "#接龙\n1. 王姐 葡萄1")
    assert [(a.item_code, a.delta, a.total) for a in out.accepted] == [("1", 0, 1), ("3", -3, 0)]
    assert not c.say("u2", "鸡蛋3").refused
    assert c.totals("u1") == {"1": 1}


# -- a withdrawn later change no longer counts as one ---------------------------------------------


def test_a_withdrawn_cancel_no_longer_blocks_reverting_the_set_before_it() -> None:
    c = chat()
    c.say("u1", "葡萄4")
    c.say("u1", "葡萄改成1")
    c.say("u1", "葡萄不要了")
    c.say("u1", "", recall_of="m3")
    assert c.totals("u1") == {"1": 1}
    c.say("u1", "", recall_of="m2")
    assert c.totals("u1") == {"1": 4}


# -- the same after a restart ---------------------------------------------------------------------


@pytest.fixture(params=["sqlite_url", "pg_url"])
def store_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(request.param))


def _open(url: str) -> Repository:
    from storage.sql import open_repository

    return open_repository(url)


def _restart(c: Chat, repo: Repository, url: str, cat: Catalog) -> tuple[Chat, Repository]:
    repo.close()  # type: ignore[attr-defined]
    repo2 = _open(url)
    c2 = Chat(OrderService(repo2, catalog=cat))
    c2.n = c.n
    return c2, repo2


def test_limits_hold_across_a_restart(store_url: str) -> None:
    cat = catalog()
    repo = _open(store_url)
    c = Chat(OrderService(repo, catalog=cat))
    c.say("u1", "鸡蛋8")
    c.say("u1", "鸡蛋改成1")
    c.say("u2", "鸡蛋9")
    c.say("u1", "", recall_of="m2")  # refused: u1 keeps 1
    c.say("u3", "葡萄3")
    c.say("u3", "葡萄减3")
    c.say("u3", "", recall_of="m5")  # stops at 0
    live = c.svc.tally(c.svc.deal_of(CHAT).id)  # type: ignore[union-attr]
    c, repo = _restart(c, repo, store_url, cat)
    assert c.svc.tally(live.deal_id) == live
    assert raw_total(c, "u1", "3") == 1 and raw_total(c, "u3", "1") == 0
    assert codes(c.say("u3", "鸡蛋1")) == ["sold_out"]
    assert not c.say("u3", "葡萄2").refused
    assert c.totals("u3") == {"1": 2}
    repo.close()  # type: ignore[attr-defined]


def test_a_withdrawn_line_replacement_then_a_restart_keeps_the_line_current(store_url: str) -> None:
    cat = catalog()
    repo = _open(store_url)
    c = Chat(OrderService(repo, catalog=cat))
    c.say("u1", "#接龙\n1. 王姐 葡萄1")
    c.say("u1", "#接龙\n1. 王姐 葡萄3")
    c.say("u1", "", recall_of="m2")
    assert c.totals("u1") == {"1": 1}
    c, repo = _restart(c, repo, store_url, cat)
    c.say("u1", "#接龙\n1. 王姐 葡萄2")  # replaces line 1 again: 2, not 1 + 2
    assert c.totals("u1") == {"1": 2}
    repo.close()  # type: ignore[attr-defined]


def test_a_withdrawn_cancel_counts_the_same_after_a_restart(store_url: str) -> None:
    cat = catalog()
    repo = _open(store_url)
    c = Chat(OrderService(repo, catalog=cat))
    c.say("u1", "葡萄4")
    c.say("u1", "葡萄改成1")
    c.say("u1", "葡萄不要了")
    c.say("u1", "", recall_of="m3")
    c.say("u1", "", recall_of="m2")
    assert c.totals("u1") == {"1": 4}
    c, repo = _restart(c, repo, store_url, cat)
    assert c.totals("u1") == {"1": 4}
    c.say("u1", "葡萄改成2")
    c.say("u1", "", recall_of="m6")
    assert c.totals("u1") == {"1": 4}
    repo.close()  # type: ignore[attr-defined]
