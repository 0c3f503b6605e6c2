"""Variants, suppliers and deals' sources in the store (:class:`bot.usecases.products.LibraryStore`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, insert, select, update

from bot.usecases.products import ItemSource, LibraryChanges, LibraryRows, SupplierRow, VariantRow
from storage import platform
from storage.models import DEAL_ITEM_SOURCES, DEAL_SUPPLIES, DEALS, SUPPLIERS, VARIANTS
from storage.sql import unavailable_as_such


def load(conn: Connection) -> LibraryRows:
    """Every product, stored variant (by product, in position order) and supplier, through ``conn``."""
    rows = LibraryRows(products=platform.load(conn).products)
    for r in conn.execute(select(VARIANTS).order_by(VARIANTS.c.product_id, VARIANTS.c.position)).mappings():
        rows.variants.setdefault(r["product_id"], []).append(VariantRow(
            product_id=r["product_id"], spec=r["spec"], unit=r["unit"], price=r["price"], cost=r["cost"],
            supplier=r["supplier"], aliases=tuple(r["aliases"] or ()), active=r["active"], position=r["position"],
            updated_at=r["updated_at"], commission=r["commission"]))
    for r in conn.execute(select(SUPPLIERS)).mappings():
        rows.suppliers[r["id"]] = SupplierRow(r["id"], r["name"], r["contact"], r["updated_at"])
    return rows


def write(conn: Connection, ch: LibraryChanges) -> None:
    """Write ``ch`` through ``conn`` (the caller owns the transaction): suppliers, products, then variants."""
    for s in ch.suppliers:
        fields = {"name": s.name, "contact": s.contact, "updated_at": s.updated_at}
        if conn.execute(update(SUPPLIERS).where(SUPPLIERS.c.id == s.id).values(**fields)).rowcount == 0:
            conn.execute(insert(SUPPLIERS).values(id=s.id, **fields))
    if ch.products:
        from bot.usecases.platform_data import PlatformChanges

        platform.write(conn, PlatformChanges(products=list(ch.products)))
    if not ch.variants:
        return
    pids = sorted({v.product_id for v in ch.variants})
    existing = {(pid, spec) for pid, spec in conn.execute(select(VARIANTS.c.product_id, VARIANTS.c.spec)
                                                          .where(VARIANTS.c.product_id.in_(pids)))}
    new: list[dict[str, Any]] = []
    for v in ch.variants:
        values: dict[str, Any] = {"unit": v.unit, "price": v.price, "cost": v.cost, "supplier": v.supplier,
                                  "aliases": list(v.aliases), "active": v.active, "position": v.position,
                                  "updated_at": v.updated_at, "commission": v.commission}
        if (v.product_id, v.spec) in existing:
            key = and_(VARIANTS.c.product_id == v.product_id, VARIANTS.c.spec == v.spec)
            conn.execute(update(VARIANTS).where(key).values(**values))
        else:
            new.append({"product_id": v.product_id, "spec": v.spec, **values})
    if new:
        conn.execute(insert(VARIANTS), new)  # one executemany: a supplier's list of thousands of rows


class SqlLibraryStore:
    """Products, variants and suppliers on the repository's engine (SQLite or PostgreSQL); updates are
    serialised with those of :class:`storage.platform.SqlPlatformStore` (one lock).

    Every method raises :class:`bot.ports.StoreUnavailable` when the database cannot serve.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self) -> LibraryRows:
        with unavailable_as_such(), self.engine.begin() as conn:
            return load(conn)

    def update(self, change: Callable[[LibraryRows], LibraryChanges], *, actor: tuple[str, str] | None = None,
               action: str = "library.change") -> LibraryChanges:
        """Read, decide (``change``), write: one transaction. With ``actor`` (id, name), each line of
        ``said`` of a change is also an audit row ``action`` (chat "cli", no deal; same transaction),
        as :meth:`storage.platform.SqlPlatformStore.update` does."""
        from datetime import UTC, datetime

        from storage.leaderday import add_audit

        with unavailable_as_such(), self.engine.begin() as conn:
            platform._lock(conn)
            done = change(load(conn))
            if not done.is_empty():
                write(conn, done)
                if actor is not None:
                    for line in done.said:
                        add_audit(conn, at=datetime.now(UTC), actor_id=actor[0], actor_name=actor[1], action=action,
                                  chat_key="cli", deal_id=None, household=None, detail=line)
            return done


# --- what deals were made of ----------------------------------------------------------------------------

def record_sources(engine: Engine, deal_id: str, delivery: date, sources: Iterable[ItemSource]) -> None:
    """Record deal ``deal_id``'s delivery date and which variant each of its items is (replacing what
    was recorded for it). Raises :class:`bot.ports.StoreUnavailable` when the store cannot serve."""
    rows = [{"deal_id": deal_id, "item_code": s.item_code, "product_id": s.product_id, "spec": s.spec,
             "unit": s.unit, "cost": s.cost, "supplier": s.supplier, "commission": s.commission} for s in sources]
    with unavailable_as_such(), engine.begin() as conn:
        conn.execute(delete(DEAL_ITEM_SOURCES).where(DEAL_ITEM_SOURCES.c.deal_id == deal_id))
        conn.execute(delete(DEAL_SUPPLIES).where(DEAL_SUPPLIES.c.deal_id == deal_id))
        conn.execute(insert(DEAL_SUPPLIES).values(deal_id=deal_id, delivery_date=delivery))
        if rows:
            conn.execute(insert(DEAL_ITEM_SOURCES), rows)


def deals_delivered(engine: Engine, delivery: date) -> dict[str, dict[str, ItemSource]]:
    """The deals delivered on ``delivery``: deal id → item code → its source."""
    out: dict[str, dict[str, ItemSource]] = {}
    with unavailable_as_such(), engine.connect() as conn:
        for did in conn.scalars(select(DEAL_SUPPLIES.c.deal_id).where(DEAL_SUPPLIES.c.delivery_date == delivery)
                                .order_by(DEAL_SUPPLIES.c.deal_id)):
            out[did] = {}
        if out:
            q = select(DEAL_ITEM_SOURCES).where(DEAL_ITEM_SOURCES.c.deal_id.in_(list(out)))
            for r in conn.execute(q).mappings():
                out[r["deal_id"]][r["item_code"]] = ItemSource(r["item_code"], r["product_id"], r["spec"], r["unit"],
                                                               r["cost"], r["supplier"], r["commission"])
    return out


def delivery_of(engine: Engine, deal_id: str) -> date | None:
    """The delivery date recorded for a deal, or None."""
    with unavailable_as_such(), engine.connect() as conn:
        return conn.scalar(select(DEAL_SUPPLIES.c.delivery_date).where(DEAL_SUPPLIES.c.deal_id == deal_id))


def copy_sources(engine: Engine, from_deal: str, to_deal: str, delivery: date) -> bool:
    """Give ``to_deal`` (a copy of ``from_deal``: the same items) the sources of ``from_deal`` and
    the delivery date ``delivery``; False (nothing written) when ``from_deal`` has none."""
    with unavailable_as_such(), engine.connect() as conn:
        if conn.scalar(select(DEAL_SUPPLIES.c.deal_id).where(DEAL_SUPPLIES.c.deal_id == from_deal)) is None:
            return False
        rows = [ItemSource(r["item_code"], r["product_id"], r["spec"], r["unit"], r["cost"], r["supplier"],
                           r["commission"])
                for r in conn.execute(select(DEAL_ITEM_SOURCES).where(DEAL_ITEM_SOURCES.c.deal_id == from_deal))
                .mappings()]
    record_sources(engine, to_deal, delivery, rows)
    return True


def item_commissions(engine: Engine, since: datetime, until: datetime) -> dict[tuple[str, str], Decimal]:
    """(deal id, item code) → the per-unit commission (yuan) recorded when the deal opened, for the
    deals opened in [``since``, ``until``) whose items carry one (the settlement's per-item amounts)."""
    q = (select(DEAL_ITEM_SOURCES.c.deal_id, DEAL_ITEM_SOURCES.c.item_code, DEAL_ITEM_SOURCES.c.commission)
         .join(DEALS, DEALS.c.id == DEAL_ITEM_SOURCES.c.deal_id)
         .where(DEAL_ITEM_SOURCES.c.commission.is_not(None), DEALS.c.created_at >= since, DEALS.c.created_at < until))
    with unavailable_as_such(), engine.connect() as conn:
        return {(d, code): amount for d, code, amount in conn.execute(q)}
