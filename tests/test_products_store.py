"""Variants, suppliers and deals' sources in the store (SQLite and PostgreSQL), and migration 0011
from a store at 0009 whose products name suppliers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text

from bot.usecases.platform_data import ProductRow
from bot.usecases.products import ItemSource, LibraryChanges, SupplierRow, VariantRow, set_variant
from storage.engine import make_engine
from storage.migrate import SCHEMA_HEAD, current_revision, upgrade
from storage.products import SqlLibraryStore, deals_delivered, delivery_of, record_sources
from storage.sql import open_repository

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite_url", "pg_url"])
def url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(request.param))


def test_variants_and_suppliers_round_trip_and_a_product_without_rows_has_its_own(url: str) -> None:
    repo = open_repository(url)
    store = SqlLibraryStore(repo.engine)
    store.update(lambda rows: LibraryChanges(
        suppliers=[SupplierRow("S1", "鲜果园", "138", NOW)],
        products=[ProductRow("G1", "葡萄", Decimal("50"), "箱", spec="5斤装", updated_at=NOW),
                  ProductRow("O1", "脐橙", Decimal("30"), "箱", spec="5斤", supplier="S1", updated_at=NOW)]))
    done = store.update(lambda rows: set_variant(rows, VariantRow("G1", "10斤装", "箱", Decimal("95"),
                                                                  Decimal("72.50"), "S1", ("大箱",), updated_at=NOW)))
    assert done.said == ["variant G1/5斤装: stored (the product's own row)",
                         "variant G1/10斤装: added (95.00元/箱, cost 72.50, supplier S1)"]
    done = store.update(lambda rows: set_variant(rows, VariantRow("G1", "5斤装", "箱", Decimal("48"), Decimal("36"),
                                                                  None, updated_at=NOW)))
    assert done.said == ["variant G1/5斤装: price '50.00' → '48.00'; cost '-' → '36.00'"]
    rows = store.load()
    assert rows.suppliers == {"S1": SupplierRow("S1", "鲜果园", "138", NOW)}
    assert [(v.spec, v.price, v.cost, v.supplier, v.aliases, v.position) for v in rows.variants_of("G1")] == [
        ("5斤装", Decimal("48.00"), Decimal("36.00"), None, (), 1),
        ("10斤装", Decimal("95.00"), Decimal("72.50"), "S1", ("大箱",), 2)]
    own = rows.variants_of("O1")
    assert [(v.spec, v.price, v.supplier, v.explicit) for v in own] == [("5斤", Decimal("30.00"), "S1", False)]
    again = store.update(lambda rows: set_variant(rows, VariantRow("G1", "１０斤装", "箱", Decimal("95"),
                                                                   Decimal("72.5"), "S1", ("大箱",), updated_at=NOW)))
    assert again.is_empty()  # the same variant (NFKC), nothing changed
    repo.close()


def test_a_deals_sources_are_recorded_by_delivery_date(url: str) -> None:
    from bot.catalog import Catalog, Item
    from bot.services.orders import OrderService

    repo = open_repository(url)
    svc = OrderService(repo)
    did = svc.open_deal(Catalog(items=(Item("1", "葡萄 5斤装", "箱", Decimal("50")),)), ["t:g1"], title="t")
    src = ItemSource("1", "G1", "5斤装", "箱", Decimal("38"), "S1")
    record_sources(repo.engine, did, date(2026, 12, 1), [src])
    record_sources(repo.engine, did, date(2026, 12, 2), [src])  # recorded again: replaced
    assert delivery_of(repo.engine, did) == date(2026, 12, 2)
    assert deals_delivered(repo.engine, date(2026, 12, 1)) == {}
    assert deals_delivered(repo.engine, date(2026, 12, 2)) == {did: {"1": src}}
    repo.close()


def test_migration_0011_makes_suppliers_of_the_products_suppliers(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine, "0009")
    with engine.begin() as conn:
        when = "2026-11-29 10:00:00" if conn.dialect.name == "sqlite" else "2026-11-29 10:00:00+00"
        for pid, supplier in (("1", "鲜果园"), ("2", "鲜果园"), ("3", None), ("4", "橙园")):
            conn.execute(text("INSERT INTO products (id, name, aliases, unit, spec, price, supplier, active, "
                              "updated_at) VALUES (:id, :name, '[]', '箱', '', 10, :s, :a, :w)"),
                         {"id": pid, "name": f"p{pid}", "s": supplier, "a": True, "w": when})
    upgrade(engine)
    assert current_revision(engine) == SCHEMA_HEAD
    rows = SqlLibraryStore(engine).load()
    assert sorted((s.id, s.name) for s in rows.suppliers.values()) == [("橙园", "橙园"), ("鲜果园", "鲜果园")]
    assert rows.variants == {} and [v.price for v in rows.variants_of("1")] == [Decimal("10.00")]
    engine.dispose()


def test_a_second_variant_keeps_the_products_own_as_the_first(url: str) -> None:
    repo = open_repository(url)
    store = SqlLibraryStore(repo.engine)
    store.update(lambda rows: LibraryChanges(products=[
        ProductRow("P1", "巨峰葡萄", Decimal("15.5"), "串", spec="1斤", supplier=None, updated_at=NOW),
        ProductRow("P2", "土豆", Decimal("3"), "斤", updated_at=NOW)]))
    done = store.update(lambda rows: set_variant(rows, VariantRow("P1", "2斤", "串", Decimal("29"), updated_at=NOW)))
    assert done.said == ["variant P1/1斤: stored (the product's own row)",
                         "variant P1/2斤: added (29.00元/串, cost -, supplier -)"]
    assert [(v.spec, v.price, v.explicit) for v in store.load().variants_of("P1")] == [
        ("1斤", Decimal("15.50"), True), ("2斤", Decimal("29.00"), True)]
    from bot.usecases.platform_data import PlatformDataError

    with pytest.raises(PlatformDataError, match="needs a spec"):  # P2 has no spec: which is which?
        store.update(lambda rows: set_variant(rows, VariantRow("P2", "5斤", "袋", Decimal("12"), updated_at=NOW)))
    repo.close()
