"""The product library's variants (规格) and suppliers, and deals opened from chosen variants.

A product (``products`` row, :class:`~bot.usecases.platform_data.ProductRow`) has variants, e.g.
葡萄 5斤装 and 葡萄 10斤装, each with its own price, unit, cost price and supplier
(:class:`VariantRow`). A product with no variant rows has one variant: its own row (spec, unit,
price and supplier; no cost price), so products from tuan.toml or ``tuan product add`` work
unchanged.

A deal offers chosen variants (:func:`parse_picks`, :func:`deal_catalog`); each becomes one item of
the deal's catalog, the engine's unit of ordering. Its name is the product's name and the spec
(``葡萄 5斤装``), so a resident names it by its spec (``葡萄 5斤装 2``, ``5斤装葡萄2``, ``5斤装2``
when no other item has that spec); the plain product name is shared by the product's variants, so
``葡萄2`` fits two items and the bot asks which (spec §3.4, bot/services/questions.py).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from bot import inputs
from bot.catalog import MAX_COUNT, Catalog, Item
from bot.usecases.platform_data import PlatformDataError, ProductRow

if TYPE_CHECKING:
    from sqlalchemy import Engine

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class VariantRow:
    """A variant of product ``product_id``, keyed by its ``spec`` (e.g. "5斤装"; "" for a product's
    only, unnamed variant). ``price`` and ``cost`` are yuan (Decimal, 2 places; cost None: unknown);
    ``supplier`` a supplier id. ``explicit`` is False for the variant a product without variant rows
    has (its own row), which is not stored as a variant."""

    product_id: str
    spec: str
    unit: str
    price: Decimal
    cost: Decimal | None = None
    supplier: str | None = None
    aliases: tuple[str, ...] = ()
    active: bool = True
    position: int = 0
    updated_at: datetime = EPOCH
    explicit: bool = True
    commission: Decimal | None = None

    def same(self, other: VariantRow) -> bool:
        """Equal but for ``updated_at``."""
        return replace(self, updated_at=other.updated_at) == other

    @property
    def key(self) -> str:
        """``CODE/SPEC`` (``CODE`` for an unnamed variant): how commands name it."""
        return f"{self.product_id}/{self.spec}" if self.spec else self.product_id


@dataclass(frozen=True, slots=True)
class SupplierRow:
    """A supplier (供应商): ``id`` is how products and variants name it."""

    id: str
    name: str
    contact: str = ""
    updated_at: datetime = EPOCH

    def same(self, other: SupplierRow) -> bool:
        return replace(self, updated_at=other.updated_at) == other


@dataclass(slots=True)
class LibraryRows:
    """The product library: products by code, their stored variants (in ``position`` order) and suppliers."""

    products: dict[str, ProductRow] = field(default_factory=dict)
    variants: dict[str, list[VariantRow]] = field(default_factory=dict)
    suppliers: dict[str, SupplierRow] = field(default_factory=dict)

    def variants_of(self, product_id: str) -> list[VariantRow]:
        """The product's variants: its stored ones, else the one its own row is. Raises KeyError for
        an unknown product."""
        product = self.products[product_id]
        stored = self.variants.get(product_id)
        if stored:
            return list(stored)
        return [VariantRow(product.id, product.spec, product.unit, product.price, None, product.supplier,
                           active=product.active, updated_at=product.updated_at, explicit=False)]


@dataclass(slots=True)
class LibraryChanges:
    """What to write in one transaction: rows put (inserted or replaced whole), and ``said``: one line per change."""

    products: list[ProductRow] = field(default_factory=list)
    variants: list[VariantRow] = field(default_factory=list)
    suppliers: list[SupplierRow] = field(default_factory=list)
    said: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.products or self.variants or self.suppliers)


class LibraryStore(Protocol):
    """Products, variants and suppliers in the store (``storage.products.SqlLibraryStore``).

    Both methods raise :class:`bot.ports.StoreUnavailable` when the store cannot serve.
    """

    def load(self) -> LibraryRows:
        """Every row, read in one transaction."""
        ...

    def update(self, change: Callable[[LibraryRows], LibraryChanges]) -> LibraryChanges:
        """Read, decide (``change``), write: one transaction, serialised with other updates of the
        platform data; what ``change`` raises rolls everything back."""
        ...


def norm(word: str) -> str:
    """A spec or code as compared: NFKC, spaces removed, case-folded (``5斤装`` = ``５斤装``)."""
    return "".join(unicodedata.normalize("NFKC", word).split()).casefold()


# --- suppliers ---------------------------------------------------------------------------------------

def new_supplier(current: LibraryRows, supplier: SupplierRow) -> LibraryChanges:
    """Add ``supplier``, or change its name and contact when its id exists. Raises
    :class:`PlatformDataError` for an empty id or name."""
    if not supplier.id.strip() or not supplier.name.strip():
        raise PlatformDataError("a supplier needs an id and a name")
    old = current.suppliers.get(supplier.id)
    if old is None:
        return LibraryChanges(suppliers=[supplier], said=[f"supplier {supplier.id}: added ({supplier.name})"])
    if old.same(supplier):
        return LibraryChanges(said=[f"supplier {supplier.id}: nothing changed"])
    return LibraryChanges(suppliers=[supplier], said=[f"supplier {supplier.id}: changed ({supplier.name})"])


def commission_problem(commission: Decimal | None, price: Decimal) -> str | None:
    """Why a per-unit ``commission`` (yuan; None: the leader's rate) cannot go with a variant sold at
    ``price`` yuan (one line, English), or None: a commission above the price would pay the leader
    more than the resident pays (``--commission 50`` typed for 5.0)."""
    if commission is not None and commission > price:
        return f"commission {_money(commission)} per unit is above the price {_money(price)}"
    return None


def set_variant(current: LibraryRows, variant: VariantRow) -> LibraryChanges:
    """Add or replace one variant of a library product (``tuan product variant``). A new variant goes
    after the product's others; for a product that had none stored, its own row is stored first as
    its first variant (adding 2斤 to a product sold as 1斤 gives it both). Raises :class:`PlatformDataError` for an unknown product or supplier,
    or an unnamed variant next to named ones, or a commission above the price (:func:`commission_problem`)."""
    if (why := commission_problem(variant.commission, variant.price)) is not None:
        raise PlatformDataError(f"variant {variant.key}: {why}")
    if variant.product_id not in current.products:
        raise PlatformDataError(f"no product {variant.product_id} (see `tuan product list`)")
    if variant.supplier is not None and variant.supplier not in current.suppliers:
        raise PlatformDataError(f"no supplier {variant.supplier!r} (tuan supplier add {variant.supplier} --name ...)")
    stored = current.variants.get(variant.product_id, [])
    kept: list[VariantRow] = []
    if not stored:  # the product's own row was its one variant: it stays one, stored now
        own = current.variants_of(variant.product_id)[0]
        if norm(own.spec) != norm(variant.spec):
            kept = [replace(own, explicit=True, position=1, updated_at=variant.updated_at)]
            stored = kept
    old = next((v for v in stored if norm(v.spec) == norm(variant.spec)), None)
    others = [v for v in stored if v is not old]
    if others and (not variant.spec or any(not v.spec for v in others)):
        raise PlatformDataError(f"product {variant.product_id}: every variant of a product with several needs a spec")
    if old is None:
        variant = replace(variant, position=max((v.position for v in stored), default=0) + 1)
        return LibraryChanges(variants=[*kept, variant], said=[
            *(f"variant {v.key}: stored (the product's own row)" for v in kept),
            f"variant {variant.key}: added ({variant_text(variant)})"])
    variant = replace(variant, spec=old.spec, position=old.position)
    if variant.same(old):
        return LibraryChanges()
    return LibraryChanges(variants=[variant], said=[f"variant {variant.key}: {_variant_diff(old, variant)}"])


def _money(value: Decimal | None) -> str:
    return "-" if value is None else str(value.quantize(Decimal("0.01")))


def variant_text(v: VariantRow) -> str:
    """``50.00元/箱, cost 38.00, supplier 鲜果园``: a variant for people."""
    return (f"{_money(v.price)}元/{v.unit or '-'}, cost {_money(v.cost)}, supplier {v.supplier or '-'}"
            + ("" if v.commission is None else f", commission {_money(v.commission)}")
            + ("" if v.active else ", inactive"))


def _variant_diff(old: VariantRow, new: VariantRow) -> str:
    parts = []
    for name in ("unit", "price", "cost", "commission", "supplier", "aliases", "active"):
        a, b = getattr(old, name), getattr(new, name)
        if a != b:
            shown = [_money(x) if isinstance(x, Decimal) or x is None and name in ("price", "cost", "commission")
                     else ",".join(x) if isinstance(x, tuple) else str(x) for x in (a, b)]
            parts.append(f"{name} {shown[0]!r} → {shown[1]!r}")
    return "; ".join(parts)


# --- a deal from chosen variants -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Pick:
    """One ``--products`` entry: a product code, maybe one of its specs, maybe a stock (None: unlimited)."""

    code: str
    spec: str | None = None
    stock: int | None = None


def parse_picks(text: str) -> list[Pick]:
    """``"1:40,G1/5斤装:10,G1/10斤装,G2"`` → picks, in order: ``CODE[/SPEC][:STOCK]``.

    Raises :class:`PlatformDataError` for an empty list, a variant named twice, or a stock that is
    no whole number from 0 to MAX_COUNT.
    """
    picks: list[Pick] = []
    for part in (p.strip() for p in text.replace("，", ",").split(",")):
        if not part:
            continue
        named, sep, stock = part.rpartition(":") if ":" in part else (part, "", "")
        code, slash, spec = named.partition("/")
        code, spec = code.strip(), spec.strip()
        if not code:
            raise PlatformDataError(f"{part!r}: a product code is missing")
        if slash and not spec:
            raise PlatformDataError(f"{part!r}: a spec is missing after '/'")
        try:
            count = inputs.whole(stock, 0, MAX_COUNT) if sep else None
        except inputs.BadInput:
            raise PlatformDataError(f"{part!r}: the stock after ':' must be a whole number from 0 to {MAX_COUNT:,}") from None
        pick = Pick(code, spec if slash else None, count)
        if any(p.code == pick.code and (p.spec is None or pick.spec is None or norm(p.spec) == norm(pick.spec))
               for p in picks):
            raise PlatformDataError(f"{named.strip()!r} is named twice")
        picks.append(pick)
    if not picks:
        raise PlatformDataError("no products named (--products CODE[/SPEC][:STOCK],...)")
    return picks


@dataclass(frozen=True, slots=True)
class ItemSource:
    """Which library variant deal item ``item_code`` is, with its unit, cost price (yuan, None:
    unknown), supplier and per-unit commission (yuan, None: the leader's rate) as they were when the
    deal was opened."""

    item_code: str
    product_id: str
    spec: str
    unit: str
    cost: Decimal | None
    supplier: str | None
    commission: Decimal | None = None


def chosen_variants(current: LibraryRows, picks: list[Pick]) -> list[tuple[VariantRow, int | None]]:
    """(variant, stock) of each pick: ``CODE/SPEC`` that variant; ``CODE`` every active variant of the
    product (a stock then needs the product to have one). Raises :class:`PlatformDataError` for an
    unknown or inactive product or variant."""
    out: list[tuple[VariantRow, int | None]] = []
    for pick in picks:
        product = current.products.get(pick.code)
        if product is None:
            raise PlatformDataError(f"no product {pick.code} (see `tuan product list`)")
        if not product.active:
            raise PlatformDataError(f"product {pick.code} is inactive (`tuan product edit {pick.code} --active`)")
        variants = current.variants_of(pick.code)
        specs = ", ".join(v.key for v in variants)
        if pick.spec is not None:
            found = [v for v in variants if norm(v.spec) == norm(pick.spec)]
            if not found:
                raise PlatformDataError(f"product {pick.code} has no variant {pick.spec!r} (variants: {specs})")
            if not found[0].active:
                raise PlatformDataError(f"variant {found[0].key} is inactive")
            out.append((found[0], pick.stock))
            continue
        live = [v for v in variants if v.active]
        if not live:
            raise PlatformDataError(f"product {pick.code} has no active variant")
        if pick.stock is not None and len(live) > 1:
            raise PlatformDataError(f"product {pick.code} has {len(live)} variants ({specs}): give each its stock "
                                    f"({live[0].key}:{pick.stock},...) or none")
        out.extend((v, pick.stock) for v in live)
    return out


def deal_catalog(current: LibraryRows, picks: list[Pick], *, title: str,
                 cutoff: datetime | None) -> tuple[Catalog, list[ItemSource]]:
    """A deal's catalog from chosen variants, and where each item comes from.

    Items are numbered 1, 2, … in the order picked (``1号``). A product offered with one variant
    alone keeps its name and aliases (the variant's spec, if any, is added to the name); a product
    offered with several gives each the name "<name> <spec>" and aliases "<spec><name>" and
    "<alias><spec>"/"<spec><alias>" for each of the product's aliases; the plain name and aliases
    are then shared, and a resident who writes only them is asked which. A spec that no other item
    of the deal has is an alias too (``5斤装2``).

    Raises :class:`PlatformDataError` for an unknown or inactive product or variant, or items whose
    aliases clash (a resident's word must name one item).
    """
    from bot.catalog_check import DUPLICATE_ALIAS, catalog_problems

    chosen = chosen_variants(current, picks)
    per_product: dict[str, int] = {}
    for v, _stock in chosen:
        per_product[v.product_id] = per_product.get(v.product_id, 0) + 1
    spec_count: dict[str, int] = {}
    for v, _stock in chosen:
        if v.spec:
            spec_count[norm(v.spec)] = spec_count.get(norm(v.spec), 0) + 1
    items: list[Item] = []
    sources: list[ItemSource] = []
    for n, (v, stock) in enumerate(chosen, 1):
        product = current.products[v.product_id]
        alone = per_product[v.product_id] == 1
        if not v.explicit:
            name, aliases = product.name, list(product.aliases)  # exactly as before variants
        else:
            spec = v.spec
            name = f"{product.name} {spec}" if spec and norm(spec) not in norm(product.name) else product.name
            aliases = list(v.aliases)
            if alone:
                aliases += product.aliases
            if spec and not alone:
                aliases.append(f"{spec}{product.name}")
                for a in product.aliases:
                    aliases += [f"{a}{spec}", f"{spec}{a}"]
            if spec and spec_count.get(norm(spec)) == 1 and not spec.strip().isdigit():
                aliases.append(spec)
        items.append(Item(code=str(n), name=name, unit=v.unit, price=v.price,
                          aliases=tuple(dict.fromkeys(a for a in aliases if a.strip())), stock=stock))
        sources.append(ItemSource(str(n), v.product_id, v.spec, v.unit, v.cost, v.supplier, v.commission))
    catalog = Catalog(items=tuple(items), cutoff=cutoff, title=title)
    for problem in catalog_problems(catalog):
        if problem.reason == DUPLICATE_ALIAS:
            first, second = chosen[problem.other - 1][0], chosen[problem.position - 1][0]
            raise PlatformDataError(f"{first.key} and {second.key} share the alias {problem.word!r}")
        raise PlatformDataError(f"{chosen[problem.position - 1][0].key}: unusable price ({problem.reason})")
    return catalog, sources


def delivery_date(chosen: date | None, cutoff: datetime | None, now: datetime, timezone: str) -> date:
    """The delivery day of a deal opened at ``now`` (aware) with ``cutoff`` (aware, or None): ``chosen``,
    else the day after the cutoff (or after now) in ``timezone``. Raises :class:`PlatformDataError`
    (one line) for a ``chosen`` day before today or before the cutoff's day there: its goods would
    be on no purchase order to come."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(timezone)
    if chosen is None:
        return (cutoff or now).astimezone(tz).date() + timedelta(days=1)
    today = now.astimezone(tz).date()
    if chosen < today:
        raise PlatformDataError(f"--delivery {chosen.isoformat()} is in the past (today is {today.isoformat()})")
    if cutoff is not None and chosen < (closing := cutoff.astimezone(tz).date()):
        raise PlatformDataError(f"--delivery {chosen.isoformat()} is before the cutoff's day ({closing.isoformat()})")
    return chosen


def copy_deal_sources(engine: Engine, from_deal: str, to_deal: str, tz: tzinfo) -> date | None:
    """After `tuan deal copy`: the copy's items are the original's variants; record that, delivered
    the day after today in ``tz``. Returns that date, or None when the original was not opened from
    the library."""
    from storage.products import copy_sources

    delivery = datetime.now(tz).date() + timedelta(days=1)
    return delivery if copy_sources(engine, from_deal, to_deal, delivery) else None
