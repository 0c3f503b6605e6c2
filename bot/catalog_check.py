"""What makes a deal's catalog usable, wherever it comes from (config, ``--catalog``, a leader's
deal post): every price passes :mod:`bot.money`, and no two items share a code or an alias (a
resident's "葡萄" must name one item). Pure functions; callers turn the problems into a config
error (file and key) or a reply to the leader (bot/messages.py).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from bot.catalog import Catalog, Item
from bot.money import price_problem

DUPLICATE_CODE = "duplicate_code"
DUPLICATE_ALIAS = "duplicate_alias"


@dataclass(frozen=True, slots=True)
class ItemProblem:
    """One item that makes the catalog unusable: ``position`` is 1-based in the catalog's items.

    ``reason`` is a :mod:`bot.money` code, DUPLICATE_CODE or DUPLICATE_ALIAS; ``word`` is the
    repeated code or alias; ``other`` the position of the earlier item it repeats.
    """

    position: int
    item: Item
    reason: str
    word: str = ""
    other: int = 0


def _key(word: str) -> str:
    return unicodedata.normalize("NFKC", word).strip().casefold()


def catalog_problems(catalog: Catalog, extra_items: tuple[Item, ...] = ()) -> list[ItemProblem]:
    """Every problem of the catalog's items (then of ``extra_items``: items a parser left out, e.g.
    a deal post's second item numbered like an earlier one), in item order.
    """
    out: list[ItemProblem] = []
    codes: dict[str, int] = {}
    words: dict[str, int] = {}
    for n, item in enumerate((*catalog.items, *extra_items), 1):
        reason = price_problem(item.price) if isinstance(item.price, Decimal) else "not_a_number"
        if reason is not None:
            out.append(ItemProblem(n, item, reason))
        code = _key(item.code)
        if code in codes:
            out.append(ItemProblem(n, item, DUPLICATE_CODE, item.code, codes[code]))
        codes.setdefault(code, n)
        for alias in dict.fromkeys(_key(a) for a in item.aliases):
            if alias in words and words[alias] != n:
                out.append(ItemProblem(n, item, DUPLICATE_ALIAS, alias, words[alias]))
            words.setdefault(alias, n)
    return out
