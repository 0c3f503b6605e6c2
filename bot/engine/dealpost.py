"""A leader's deal post defines the catalog (§3.1)."""

from __future__ import annotations

import re
from decimal import Decimal

from bot.catalog import Catalog, Item
from bot.engine.listing import split_units
from bot.engine.normalize import normalize

_PRICE = re.compile(
    r"(?:[¥$]\s*(?P<p1>\d+(?:\.\d+)?)|(?P<p2>\d+(?:\.\d+)?)\s*(?:元|块))(?:\s*/\s*(?P<unit>[^\s,，。;；/()（）]{1,3}))?",
)


# 19.9/箱 at the end of a line (no 元 or ¥): still a price with its unit
_BARE_PRICE = re.compile(r"(?<![\d.])(?P<p2>\d+(?:\.\d{1,2})?)\s*/\s*(?P<unit>[\u4e00-\u9fff]{1,2})\s*$")

REPEATED = "repeated_items"  # Catalog.extra key: priced lines whose number an earlier line had


def parse_deal_post(text: str) -> Catalog | None:
    """The catalog a leader's post defines: numbered item lines, each with a name and a price.

    Prices are read as written; whether they are usable (and whether numbers repeat, see
    ``extra[REPEATED]``) is for :func:`bot.catalog_check.catalog_problems` to say.
    """
    norm = normalize(text)
    items: list[Item] = []
    repeated: list[Item] = []
    seen: set[str] = set()
    for unit in split_units(norm):
        first = unit.body.split("\n")[0]
        m = _PRICE.search(first) or _BARE_PRICE.search(first)
        if m is None:
            continue
        name = first[: m.start()].strip(" :：-—,，.。|")
        name = re.sub(r"[\s]*(?:单价|价格|售价|团购价|只要|仅)$", "", name).strip()
        if not name:
            continue
        price = Decimal(m.groupdict().get("p1") or m.group("p2"))
        item = Item(code=unit.number, name=name, unit=(m.group("unit") or "").strip(), price=price)
        if unit.number in seen:
            repeated.append(item)  # checked with the prices by bot/catalog_check.py
            continue
        seen.add(unit.number)
        items.append(item)
    if not items:
        return None
    title = norm.strip().split("\n")[0][:60]
    return Catalog(items=tuple(items), title=title, extra={REPEATED: tuple(repeated)} if repeated else {})
