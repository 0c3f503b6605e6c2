"""The leader's day: its records (households, marks, refunds, results) and the pure readings they
are made from (households of a deal's entries, an item named in a command, a household named).

Money is yuan as :class:`~decimal.Decimal`, quantities ints, times aware datetimes.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.catalog import Catalog, Item
from bot.engine.matcher import matcher_for
from bot.engine.normalize import normalize
from bot.ports import EntryRow
from bot.services.households import proxy_label

ZERO = Decimal(0)


class DealUnknown(LookupError):
    """No deal of that id in the store."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does a leader action, and in which group chat (``chat_key``)."""

    chat_key: str
    user_id: str
    name: str


PROXY_SEP = "/"
"""Between a resident's sender id and the neighbour they ordered for, in a proxy household's
:attr:`Household.key` (the key its marks and refunds are stored under)."""


def mark_id(sender_id: str, proxy: str = "") -> str:
    """The id a household's marks are stored under: the resident's sender id, or for a neighbour
    they ordered for (``proxy``, :func:`bot.services.households.proxy_of`) ``sender/proxy``."""
    return f"{sender_id}{PROXY_SEP}{proxy}" if proxy else sender_id


@dataclass(frozen=True, slots=True)
class Household:
    """One household of a deal with its current order (:mod:`bot.services.households`): a resident,
    or a neighbour a resident ordered for (``proxy``, normalised, "" for the resident's own).

    ``name``: the ordering resident's name; ``labels``: the non-empty labels of its lines, first
    seen first; ``items``: item code → qty (> 0); ``amount`` in yuan; ``number``: its 跟团号.
    """

    chat_key: str
    sender_id: str
    name: str
    labels: tuple[str, ...]
    items: dict[str, int]
    amount: Decimal
    number: int
    proxy: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """(chat_key, :func:`mark_id`): how its marks, refunds and audit rows name it."""
        return (self.chat_key, mark_id(self.sender_id, self.proxy))

    @property
    def house(self) -> tuple[str, str, str]:
        """The :data:`bot.services.households.HouseKey` of the lists."""
        return (self.chat_key, self.sender_id, self.proxy)

    @property
    def label(self) -> str:
        """The household's main label (its first one; a proxy's without the proxy words), else its name."""
        first = next((lab for lab in self.labels if lab), "")
        if self.proxy:
            return proxy_label(first) if first else self.proxy
        return first or self.name


@dataclass(frozen=True, slots=True)
class Refund:
    """An after-sale record: ``kind`` "refund", "replace" (amount 0) or "short" (a short delivery);
    ``sender_id`` is the household's :func:`mark_id`."""

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
    """What the leader marked on one household, for lists and exports (:func:`marks_for_deal`);
    ``sender_id`` is its :func:`mark_id`.

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
    household: tuple[str, str, str] = ("", "", "")  # its HouseKey (chat_key, resident's sender id, proxy)

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
    """A household's part of a short delivery: ``ordered``, ``got`` and the ``short`` refunded
    (``amount``); ``got`` is ``ordered`` less ``short`` (units refunded before count as had)."""

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


def households_of(catalog: Catalog, entries: list[EntryRow], deal_id: str = "") -> list[Household]:
    """The deal's households with a current order, in 跟团号 order: the tally's
    (:func:`bot.services.orders.build_tally`, :func:`bot.render.households`), so the leader's marks
    name the same households, numbers and amounts as the lists and exports."""
    from bot.render import households
    from bot.services.orders import build_tally

    tally = build_tally(deal_id, catalog, entries)
    return [Household(h.chat_key, h.sender_id, h.sender_name, tuple(lab for lab in h.labels if lab), dict(h.items),
                      h.amount(catalog), h.number, h.proxy) for h in households(tally, catalog)]


def find_item(catalog: Catalog, word: str) -> Item | None:
    """The one item ``word`` names: its code, its name or alias, or a part the matcher knows."""
    w = word.strip()
    for it in catalog.items:
        if w == it.code or fold(w) in (fold(it.name), *map(fold, it.aliases)):
            return it
    refs = matcher_for(catalog).find_full(normalize(w))
    codes = {c for r in refs for c in r.codes}
    return catalog.by_code(next(iter(codes))) if len(codes) == 1 else None


def match(households: list[Household], query: str) -> list[Household]:
    """The households ``query`` names: exact name or label first, else those whose label or name
    holds it (a proxy household: its labels only)."""
    q = fold(query)
    if not q:
        return []

    def words(h: Household) -> list[str]:  # a neighbour's household is named by its labels, not the resident's name
        return [fold(lab) for lab in (*h.labels, h.label)] + ([] if h.proxy else [fold(h.name)])

    exact = [h for h in households if q in words(h)]
    if exact:
        return exact
    return [h for h in households if any(q in w for w in words(h))]
