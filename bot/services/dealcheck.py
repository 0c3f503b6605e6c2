"""A leader's deal post whose items cannot be used opens no deal; the leader is told which item."""

from __future__ import annotations

from bot.catalog import Catalog, Item
from bot.catalog_check import DUPLICATE_ALIAS, DUPLICATE_CODE, catalog_problems
from bot.engine.dealpost import REPEATED
from bot.services.apply import Work
from bot.services.outcome import BAD_PRICE, REPEATED_ITEM, Problem


def item_line(item: Item) -> str:
    """How an item reads back to the leader: ``3号 车厘子 19.999元``; an unreadable price: the line as written."""
    if not item.price.is_finite():
        return f"{item.code}号 {item.name}"
    return f"{item.code}号 {item.name} {item.price}元"


def deal_post_refused(w: Work, catalog: Catalog) -> bool:
    """Add a refused problem per unusable item of a deal post's ``catalog`` to ``w``; True if any."""
    problems = catalog_problems(catalog, tuple(catalog.extra.get(REPEATED, ())))
    for p in problems:
        if p.reason in (DUPLICATE_CODE, DUPLICATE_ALIAS):
            w.refused.append(Problem(REPEATED_ITEM, item_line(p.item), p.item.code, why=p.word))
        else:
            w.refused.append(Problem(BAD_PRICE, item_line(p.item), p.item.code, why=p.reason))
    return bool(problems)
