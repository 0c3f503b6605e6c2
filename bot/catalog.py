"""Deal catalogs: the items residents can order, with cutoff and limits."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.money import MoneyError, parse_price

MAX_LINE_QTY = 99
"""Default sanity limit of one order line's quantity (``max_line_qty``): above it the bot asks."""


class CatalogError(ValueError):
    """A catalog file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class Item:
    code: str
    name: str
    unit: str = ""
    price: Decimal = Decimal("0")
    aliases: tuple[str, ...] = ()
    stock: int | None = None


@dataclass(frozen=True, slots=True)
class Catalog:
    items: tuple[Item, ...]
    cutoff: datetime | None = None
    max_qty: int | None = None
    title: str = ""
    max_line_qty: int = MAX_LINE_QTY  # a larger quantity in one line is unclear, not guessed (§3.5)
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def by_code(self, code: str) -> Item | None:
        for item in self.items:
            if item.code == code:
                return item
        return None


def _fail(where: str, key: str, why: str) -> CatalogError:
    return CatalogError(f"{where}: `{key}` {why}")


MAX_COUNT = 1_000_000_000
"""The most a stock or a limit may be: the store keeps them as 32-bit integers (PostgreSQL INTEGER)."""


def catalog_from_dict(data: dict[str, Any], where: str = "catalog") -> Catalog:
    """Build a catalog from parsed TOML/JSON, failing with the offending key's name."""
    cutoff = data.get("cutoff")
    if cutoff is not None:
        if isinstance(cutoff, datetime):
            cutoff_dt = cutoff
        else:
            try:
                cutoff_dt = datetime.fromisoformat(str(cutoff))
            except ValueError:
                raise _fail(where, "cutoff", f"is not an ISO 8601 time: {cutoff!r}") from None
        if cutoff_dt.tzinfo is None:
            raise _fail(where, "cutoff", "needs a UTC offset, e.g. 2026-11-25T21:00:00+08:00")
    else:
        cutoff_dt = None
    max_qty = data.get("max_qty")
    if max_qty is not None and (not isinstance(max_qty, int) or isinstance(max_qty, bool)
                                or not 1 <= max_qty <= MAX_COUNT):
        raise _fail(where, "max_qty", f"must be a whole number from 1 to {MAX_COUNT:,}")
    max_line = data.get("max_line_qty", MAX_LINE_QTY)
    if not isinstance(max_line, int) or isinstance(max_line, bool) or not 1 <= max_line <= MAX_COUNT:
        raise _fail(where, "max_line_qty", f"must be a whole number from 1 to {MAX_COUNT:,}")
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise _fail(where, "items", "must list at least one [[items]] table")
    items: list[Item] = []
    seen: set[str] = set()
    for n, raw in enumerate(raw_items, 1):
        at = f"items[{n}]"
        if not isinstance(raw, dict):
            raise _fail(where, at, "must be a table")
        for key in ("code", "name"):
            if not str(raw.get(key, "")).strip():
                raise _fail(where, f"{at}.{key}", "is missing")
        code = str(raw["code"]).strip()
        if code in seen:
            raise _fail(where, f"{at}.code", f"repeats code {code!r}")
        seen.add(code)
        if "price" not in raw:
            raise _fail(where, f"{at}.price", "is missing")
        try:
            price = parse_price(raw["price"])
        except MoneyError as e:
            raise _fail(where, f"{at}.price", str(e)) from None
        aliases = raw.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise _fail(where, f"{at}.aliases", "must be a list of strings")
        stock = raw.get("stock")
        if stock is not None and (not isinstance(stock, int) or isinstance(stock, bool)
                                  or not 0 <= stock <= MAX_COUNT):
            raise _fail(where, f"{at}.stock", f"must be a whole number from 0 to {MAX_COUNT:,}")
        items.append(
            Item(
                code=code,
                name=str(raw["name"]).strip(),
                unit=str(raw.get("unit", "")).strip(),
                price=price,
                aliases=tuple(a.strip() for a in aliases if a.strip()),
                stock=stock,
            )
        )
    catalog = Catalog(items=tuple(items), cutoff=cutoff_dt, max_qty=max_qty, title=str(data.get("title", "")),
                      max_line_qty=max_line)
    from bot.catalog_check import DUPLICATE_ALIAS, catalog_problems

    for problem in catalog_problems(catalog):  # prices were checked above: only repeated aliases are left
        if problem.reason == DUPLICATE_ALIAS:
            raise _fail(where, f"items[{problem.position}].aliases",
                        f"repeats {problem.word!r}, an alias of items[{problem.other}]")
    return catalog


def load_catalog(path: str | Path) -> Catalog:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"{p}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise CatalogError(f"{p}: not valid TOML: {e}") from None
    return catalog_from_dict(data, str(p))
