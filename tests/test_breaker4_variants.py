"""Breaker round 4: residents naming variants (docs/products.md), bugs kept as strict xfails."""

from __future__ import annotations

import pytest

from bot.services.orders import OrderService
from bot.usecases.products import deal_catalog, parse_picks
from tests.stores import memory_store
from tests.test_variants import Chat, library


def chat_of(picks: str) -> Chat:
    catalog, _sources = deal_catalog(library(), parse_picks(picks), title="t", cutoff=None)
    return Chat(OrderService(memory_store(), catalog=catalog))


# User sees: the round offers only 葡萄 10斤装; a resident writes "葡萄 5斤装 2" (a spec that is not
# offered) and gets a ✅ for 3 boxes of 葡萄 10斤装: the wrong spec, and a quantity nobody wrote
# (the spec's digits are read as numbers). Also "葡萄 10斤装 1" on a 5斤装-only round orders 2 of
# 5斤装, "10斤装葡萄1" orders 1 of 5斤装. Expected: no order of another spec (asked or refused).
@pytest.mark.parametrize("picks, text", [
    ("G1/10斤装", "葡萄 5斤装 2"), ("G1/5斤装", "葡萄 10斤装 1"), ("G1/5斤装", "10斤装葡萄1"),
    ("G1/5斤装,O1", "巨峰 10斤装 2"),
])
def test_a_spec_not_offered_never_orders_another_spec(picks: str, text: str) -> None:
    chat = chat_of(picks)
    chat.say("u1", text)
    assert chat.totals("u1") == {}, "a spec the round does not offer was ordered as another spec"


# The whole kind: a spec beside an item word is part of the name, never a quantity; one that is not
# that item's spec (another product's, or none offered) is unclear; the item's own spec still orders.
@pytest.mark.parametrize("picks, text, totals", [
    ("G1/10斤装", "葡萄 500g 2", {}), ("G1,A1", "苹果 10斤装 1", {}), ("G1/5斤装,O1", "橙子 5斤装 1", {}),
    ("G1/10斤装", "葡萄 10斤装 2", {"1": 2}), ("G1,A1", "苹果 5斤装 1", {"3": 1}),
    ("G1,O1", "葡萄 5斤装 2 橙子1", {"1": 2, "3": 1}),
])
def test_a_spec_beside_an_item_word_narrows_it_or_is_unclear(picks: str, text: str, totals: dict[str, int]) -> None:
    chat = chat_of(picks)
    out = chat.say("u1", text)
    assert chat.totals("u1") == totals
    assert bool(out.unclear) == (not totals)
