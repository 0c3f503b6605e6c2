"""The leader's day: its records (households, marks, refunds, results) and the pure readings they
are made from (households of a deal's entries, an item named in a command, a label's building).

Money is yuan as :class:`~decimal.Decimal`, quantities ints, times aware datetimes.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.catalog import Catalog, Item
from bot.engine.matcher import matcher_for
from bot.engine.normalize import normalize
from bot.services.state import active

ZERO = Decimal(0)


class DealUnknown(LookupError):
    """No deal of that id in the store."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does a leader action, and in which group chat (``chat_key``)."""

    chat_key: str
    user_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Household:
    """One resident of a deal with their current order: items code → qty (> 0), amount in yuan.

    ``labels``: the labels of their lines, first seen first; ``first_entry``: the id of their first
    entry in the deal (the 跟团号 order).
    """

    chat_key: str
    sender_id: str
    name: str
    labels: tuple[str, ...]
    items: dict[str, int]
    amount: Decimal
    first_entry: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.chat_key, self.sender_id)

    @property
    def label(self) -> str:
        """The household's main label (its first non-empty one), else its name."""
        return next((lab for lab in self.labels if lab), self.name)


@dataclass(frozen=True, slots=True)
class Refund:
    """An after-sale record: ``kind`` "refund", "replace" (amount 0) or "short" (a short delivery)."""

    chat_key: str
    sender_id: str
    item_code: str
    qty: int
    amount: Decimal
    kind: str
    reason: str
    at: datetime
    by_id: str
    by_name: str


@dataclass(frozen=True, slots=True)
class Marks:
    """What the leader marked on one household, for lists and exports (:func:`marks_for_deal`).

    ``paid``: marked paid with at least what they owe (``paid_amount`` is what was recorded, None
    when not marked); ``picked_at``/``picked_by``/``picked_by_name``: the verification (None: not
    picked up); ``refund_amount``: the sum of refunds and short-delivery refunds (replacements
    count 0); ``pickup_point``: the household's choice, else the group's first point ("" when the
    group has none); ``pickup_code``: unique in the deal.
    """

    chat_key: str
    sender_id: str
    pickup_code: str
    pickup_point: str
    paid: bool
    paid_amount: Decimal | None
    paid_at: datetime | None
    paid_by: str | None
    picked_at: datetime | None
    picked_by: str | None
    picked_by_name: str | None
    refund_amount: Decimal
    owed: Decimal
    refunds: tuple[Refund, ...] = ()

    @property
    def picked(self) -> bool:
        return self.picked_at is not None


@dataclass(slots=True)
class Result:
    """What a leader action did. ``status``: "ok", or why nothing changed ("none": no household
    matched, "ambiguous": ``candidates`` did, "already": verified before, "late": too late to
    undo, "not_picked", "bad_item", "too_many", "bad_qty")."""

    status: str
    household: Household | None = None
    candidates: tuple[Household, ...] = ()
    marks: Marks | None = None
    amount: Decimal = ZERO
    item: Item | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ShortLine:
    """A household's part of a short delivery: ``ordered``, ``got`` and the ``short`` refunded (``amount``)."""

    household: Household
    ordered: int
    got: int
    short: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class ShortResult:
    item: Item
    ordered: int
    delivered: int
    lines: tuple[ShortLine, ...]  # the households short, first come first served order

    @property
    def refunded(self) -> Decimal:
        return sum((ln.amount for ln in self.lines), ZERO)


def fold(text: str) -> str:
    """Text compared as people mean it: NFKC, no spaces, case-folded."""
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def households_of(catalog: Catalog, entries: list[Any]) -> list[Household]:
    """The deal's households with a current order (qty > 0 of some item), in 跟团号 order."""
    prices = {i.code: i.price for i in catalog.items}
    qty: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    labels: dict[tuple[str, str], dict[str, None]] = defaultdict(dict)
    names: dict[tuple[str, str], str] = {}
    first: dict[tuple[str, str], int] = {}
    for e in sorted(entries, key=lambda e: e.id):
        if not active(e):
            continue
        key = (e.chat_key, e.sender_id)
        qty[key][e.item_code] += e.qty
        labels[key].setdefault(e.label, None)
        names[key] = e.sender_name
        first.setdefault(key, e.id)
    out = []
    for key, per in qty.items():
        items = {c: q for c, q in per.items() if q > 0}
        if not items:
            continue
        amount = sum((prices.get(c, ZERO) * q for c, q in items.items()), ZERO)
        out.append(Household(key[0], key[1], names[key], tuple(lab for lab in labels[key] if lab), items, amount,
                             first[key]))
    return sorted(out, key=lambda h: h.first_entry)


def find_item(catalog: Catalog, word: str) -> Item | None:
    """The one item ``word`` names: its code, its name or alias, or a part the matcher knows."""
    w = word.strip()
    for it in catalog.items:
        if w == it.code or fold(w) in (fold(it.name), *map(fold, it.aliases)):
            return it
    refs = matcher_for(catalog).find_full(normalize(w))
    codes = {c for r in refs for c in r.codes}
    return catalog.by_code(next(iter(codes))) if len(codes) == 1 else None


_BUILDING = re.compile(r"(\d+)\s*(?:栋|幢|号楼|座|-)")


def building_of(label: str) -> str:
    """The building a label names (``3栋402`` → "3栋", ``9-1-302`` → "9栋"); "" when none."""
    m = _BUILDING.search(unicodedata.normalize("NFKC", label))
    return f"{m.group(1)}栋" if m else ""


def match(households: list[Household], query: str) -> list[Household]:
    """The households ``query`` names: exact name or label first, else those whose label or name holds it."""
    q = fold(query)
    if not q:
        return []
    exact = [h for h in households if q == fold(h.name) or any(q == fold(lab) for lab in h.labels)]
    if exact:
        return exact
    return [h for h in households if q in fold(h.name) or any(q in fold(lab) for lab in h.labels)]
