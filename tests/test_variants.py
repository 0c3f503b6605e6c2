"""Product variants (规格) as deal items: named by spec, asked when ambiguous, the answer completing it
(spec §3.4; bot/usecases/products.py, bot/services/questions.py), through the real order service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot import messages as m
from bot.catalog import Catalog
from bot.model import InboundMessage
from bot.ports import Repository
from bot.services.orders import OrderService
from bot.usecases.platform_data import PlatformDataError, ProductRow
from bot.usecases.products import LibraryRows, Pick, VariantRow, deal_catalog, parse_picks
from tests.stores import memory_store

T0 = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)


def library() -> LibraryRows:
    rows = LibraryRows(products={
        "G1": ProductRow("G1", "葡萄", Decimal("50"), "箱", aliases=("巨峰",)),
        "O1": ProductRow("O1", "赣南脐橙", Decimal("30"), "箱", aliases=("橙子",), supplier="橙园"),
        "A1": ProductRow("A1", "阿克苏苹果", Decimal("40"), "箱"),
    })
    rows.variants["G1"] = [
        VariantRow("G1", "5斤装", "箱", Decimal("50"), Decimal("38"), "鲜果园", position=1),
        VariantRow("G1", "10斤装", "箱", Decimal("95"), Decimal("72.5"), "鲜果园", position=2),
    ]
    rows.variants["A1"] = [VariantRow("A1", "5斤装", "箱", Decimal("40"), Decimal("30"), "鲜果园", position=1)]
    return rows


def grape_catalog() -> Catalog:
    catalog, _sources = deal_catalog(library(), parse_picks("G1,O1"), title="t", cutoff=None)
    return catalog


class Chat:
    def __init__(self, svc: OrderService) -> None:
        self.svc, self.n = svc, 0

    def say(self, sender: str, text: str, *, minutes: float | None = None):  # type: ignore[no-untyped-def]
        self.n += 1
        at = T0 + timedelta(minutes=self.n if minutes is None else minutes)
        return self.svc.handle(InboundMessage("t", "g1", f"m{self.n}", sender, sender, text, at))

    def totals(self, sender: str) -> dict[str, int]:
        return self.svc.sender_totals("t:g1", sender)


@pytest.fixture
def chat() -> Chat:
    return Chat(OrderService(memory_store(), catalog=grape_catalog()))


def test_the_catalog_has_one_item_per_variant_named_by_spec() -> None:
    catalog, sources = deal_catalog(library(), parse_picks("G1/10斤装:5,G1/5斤装,O1"), title="t", cutoff=None)
    assert [(i.code, i.name, i.price, i.stock) for i in catalog.items] == [
        ("1", "葡萄 10斤装", Decimal("95"), 5), ("2", "葡萄 5斤装", Decimal("50"), None),
        ("3", "赣南脐橙", Decimal("30"), None)]
    assert catalog.items[2].aliases == ("橙子",)  # a product without variants: exactly as before
    assert [(s.item_code, s.product_id, s.spec, s.cost, s.supplier) for s in sources] == [
        ("1", "G1", "10斤装", Decimal("72.5"), "鲜果园"), ("2", "G1", "5斤装", Decimal("38"), "鲜果园"),
        ("3", "O1", "", None, "橙园")]


@pytest.mark.parametrize("text, code, qty", [
    ("葡萄 5斤装 2", "1", 2), ("5斤装葡萄2", "1", 2), ("葡萄10斤装 1", "2", 1), ("5斤装2", "1", 2),
    ("要两箱10斤装葡萄", "2", 2), ("巨峰5斤装x3", "1", 3), ("3栋402 王姐 葡萄 10斤装 3", "2", 3),
])
def test_a_resident_names_a_variant_by_its_spec(chat: Chat, text: str, code: str, qty: int) -> None:
    out = chat.say("u1", text)
    assert not out.unclear
    assert chat.totals("u1") == {code: qty}


def test_the_plain_name_of_two_variants_is_asked_and_the_answer_completes_it(chat: Chat) -> None:
    out = chat.say("u1", "葡萄2")
    assert [p.candidates for p in out.unclear] == [("1", "2")]
    asked = m.problem_text(out.unclear[0], chat.svc.catalog_of(out.deal_id))  # type: ignore[arg-type]
    assert asked == m.ASK_AMBIGUOUS.format(word="葡萄", options="5斤装葡萄还是10斤装葡萄")
    assert chat.totals("u1") == {}
    out = chat.say("u1", "10斤装")
    assert not out.unclear
    assert chat.totals("u1") == {"2": 2}  # the question's 2, not 1


def test_an_answer_with_its_own_number_takes_that_number(chat: Chat) -> None:
    chat.say("u1", "巨峰3")
    chat.say("u1", "5斤装葡萄1")
    assert chat.totals("u1") == {"1": 1}


def test_an_ambiguous_change_is_completed_by_the_answer(chat: Chat) -> None:
    chat.say("u1", "葡萄 5斤装 4")
    chat.say("u1", "葡萄改成1")
    assert chat.totals("u1") == {"1": 4}
    chat.say("u1", "5斤装")
    assert chat.totals("u1") == {"1": 1}


def test_only_a_candidate_answers_and_only_in_time(chat: Chat) -> None:
    chat.say("u1", "葡萄2")
    chat.say("u1", "橙子")  # not one of the two grapes: an order of its own
    assert chat.totals("u1") == {"3": 1}
    chat.say("u2", "葡萄2", minutes=10)
    chat.say("u2", "5斤装", minutes=25)  # too late: a new entry of 1
    assert chat.totals("u2") == {"1": 1}


def test_the_clear_part_of_a_message_counts_and_the_question_stays(chat: Chat) -> None:
    out = chat.say("u1", "葡萄2 橙子1")
    assert len(out.unclear) == 1 and chat.totals("u1") == {"3": 1}
    chat.say("u1", "10斤装")
    assert chat.totals("u1") == {"3": 1, "2": 2}


@pytest.fixture(params=["sqlite_url", "pg_url"])
def store_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(request.param))


def test_the_question_survives_a_restart(store_url: str) -> None:
    from storage.sql import open_repository

    repo: Repository = open_repository(store_url)
    c = Chat(OrderService(repo, catalog=grape_catalog()))
    assert c.say("u1", "葡萄3").unclear
    repo.close()
    repo2 = open_repository(store_url)
    c2 = Chat(OrderService(repo2, catalog=grape_catalog()))
    c2.n = c.n
    c2.say("u1", "5斤装")
    assert c2.totals("u1") == {"1": 3}
    repo2.close()


def test_a_spec_shared_by_two_products_is_no_alias_of_either() -> None:
    catalog, _ = deal_catalog(library(), parse_picks("G1,A1"), title="t", cutoff=None)
    assert [i.name for i in catalog.items] == ["葡萄 5斤装", "葡萄 10斤装", "阿克苏苹果 5斤装"]
    assert all("5斤装" not in i.aliases for i in catalog.items)
    svc = OrderService(memory_store(), catalog=catalog)
    out = Chat(svc).say("u1", "5斤装2")
    assert out.unclear  # 葡萄 or 苹果: asked


@pytest.mark.parametrize("text, why", [
    ("G1:5", "has 2 variants"), ("G1/3斤装", "no variant '3斤装'"), ("X9", "no product X9"),
    ("G1/5斤装,G1", "named twice"), ("G1/", "spec is missing"), ("G1/5斤装:x", "whole number"),
])
def test_bad_picks_are_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(PlatformDataError, match=why):
        deal_catalog(library(), parse_picks(text), title="t", cutoff=None)


def test_picks_are_parsed() -> None:
    assert parse_picks("G1/5斤装:10, O1 ,A1:0") == [Pick("G1", "5斤装", 10), Pick("O1"), Pick("A1", None, 0)]


def test_an_ambiguous_cancel_is_completed_by_the_answer(chat: Chat) -> None:
    chat.say("u1", "葡萄 5斤装 2")
    chat.say("u1", "葡萄10斤装 1")
    assert chat.say("u1", "葡萄不要了").unclear
    assert chat.totals("u1") == {"1": 2, "2": 1}
    chat.say("u1", "10斤装")
    assert chat.totals("u1") == {"1": 2}


async def test_in_a_group_chat_the_bot_asks_and_the_answer_orders() -> None:
    from tests.pipeline import make_pipeline

    p = await make_pipeline()
    p.core.service.open_deal(grape_catalog(), ["fake:g1"], title="葡萄团", source="cli")
    p.chat.pop_all()
    await p.chat.push("葡萄2", sender="王姐")
    asked = m.ASK_AMBIGUOUS.format(word="葡萄", options="5斤装葡萄还是10斤装葡萄")
    assert any(asked in t for t in p.chat.texts())
    assert p.stored() == {}
    p.chat.pop_all()
    await p.chat.push("10斤装", sender="王姐")
    assert p.stored() == {"王姐": {"2": 2}}
    await p.close()
