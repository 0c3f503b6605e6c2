"""Text of what the bot posts: the deal card, the 接龙 list, the tally and the pickup list. Pure functions."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from bot import messages as m
from bot.catalog import Catalog, Item
from bot.model import Card, CardButton
from bot.phones import mask_phones
from bot.rooms import Room, parse_room, room_sort_key
from bot.services.households import HouseKey, house_key, proxy_label
from bot.services.outcome import Tally

CENT = Decimal("0.01")


def money(amount: Decimal) -> str:
    return str(amount.quantize(CENT))


def price_text(item: Item) -> str:
    unit = f"/{item.unit}" if item.unit else ""
    return f"{item.price.normalize():f}元{unit}"


def width(text: str) -> int:
    """Display width in a terminal: CJK and full-width characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, cols: int) -> str:
    return text + " " * max(0, cols - width(text))


def table(rows: list[tuple[str, ...]]) -> str:
    cols = [max(width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(pad(c, cols[i]) for i, c in enumerate(r)).rstrip() for r in rows)


def room_key(label: str) -> tuple[bool, Room, str]:
    """Sort by building, unit and room read from the label (:mod:`bot.rooms`); labels without come last."""
    return room_sort_key(label)


@dataclass(slots=True)
class Household:
    """One household's current orders in a deal (:mod:`bot.services.households`): a resident of a
    chat, or a neighbour a resident ordered for (``proxy``). ``who`` is how lists name it: its
    first label (a proxy's without the proxy words), else the resident's name; ``number`` its
    跟团号 (0 when unknown); ``labels`` every label its lines carry, in order."""

    chat_key: str
    sender_id: str
    who: str
    items: dict[str, int] = field(default_factory=dict)
    number: int = 0
    sender_name: str = ""
    proxy: str = ""
    labels: list[str] = field(default_factory=list)

    @property
    def key(self) -> HouseKey:
        return self.chat_key, self.sender_id, self.proxy

    @property
    def label(self) -> str:
        """The label lists show: the first one (a proxy's without its proxy words), else ""."""
        first = next((lab for lab in self.labels if lab), "")
        return proxy_label(first) if self.proxy else first

    @property
    def room_label(self) -> str:
        """The first label naming a room (:func:`bot.rooms.parse_room`), else :attr:`who`."""
        return next((lab for lab in self.labels if parse_room(lab) is not None), self.who)

    def amount(self, catalog: Catalog) -> Decimal:
        return sum((self._price(catalog, c) * q for c, q in self.items.items()), Decimal(0))

    @staticmethod
    def _price(catalog: Catalog, code: str) -> Decimal:
        item = catalog.by_code(code)
        return item.price if item else Decimal(0)


def households(tally: Tally, catalog: Catalog, *, by_room: bool = False) -> list[Household]:
    """The tally's households (a resident's lines under several labels are one; a proxy line its
    own), items in catalog order; by 跟团号, or by building and room (``by_room``)."""
    order = {i.code: n for n, i in enumerate(catalog.items)}
    found: dict[HouseKey, Household] = {}
    for row in tally.rows:
        key = house_key(row.chat_key, row.sender_id, row.label)
        h = found.get(key)
        if h is None:
            h = found[key] = Household(row.chat_key, row.sender_id, "", number=tally.numbers.get(key, 0),
                                       sender_name=row.sender_name, proxy=key[2])
        if row.label not in h.labels:
            h.labels.append(row.label)
        h.items[row.item_code] = h.items.get(row.item_code, 0) + row.qty
    for h in found.values():
        h.items = dict(sorted(h.items.items(), key=lambda kv: order.get(kv[0], len(order))))
        h.who = h.label or h.sender_name
    homes = sorted(found.values(), key=lambda h: h.number or len(tally.numbers) + 1)
    return sorted(homes, key=lambda h: room_key(h.room_label)) if by_room else homes


class Numbered(Protocol):
    """A household as /my names it: its 跟团号, its label, and its neighbour when a proxy's."""

    @property
    def number(self) -> int: ...

    @property
    def label(self) -> str: ...

    @property
    def proxy(self) -> str: ...


def shown_label(label: str, *, private: bool) -> str:
    """A household label as a chat shows it: whole in a private chat, phones masked
    (:func:`bot.phones.mask_phones`, as every list does) in a group, where every neighbour reads it."""
    return label if private else mask_phones(label)


def my_numbers(homes: Iterable[Numbered], *, private: bool) -> str:
    """The 跟团号 of a resident's households, joined by 、 (``#3、#2(6栋101 刘奶奶 139****7025)``): a
    proxy household with its neighbour's label, phones masked unless ``private``. Empty when none has
    a number."""
    return "、".join(m.MY_NUMBER_PROXY.format(number=h.number, who=shown_label(h.label, private=private))
                    if h.proxy else m.MY_NUMBER_ONE.format(number=h.number) for h in homes if h.number)


def goods(items: dict[str, int], catalog: Catalog, *, units: bool) -> str:
    parts = []
    for code, qty in items.items():
        item = catalog.by_code(code)
        name = m.item_short(item) if item else code
        parts.append(f"{name}{qty}{item.unit if units and item else ''}")
    return " ".join(parts)


Signer = Callable[[str, str | None], str | None]  # (action, item code) -> button token (bot/buttons.py)


def deal_card(catalog: Catalog, *, title: str, ordered: dict[str, int] | None = None,
              left: dict[str, int] | None = None, cutoff: str = "", deal_id: str | None = None,
              sign: Signer | None = None, ended: bool = False) -> Card:
    """The deal card: items with prices (and what is ordered / left when given), with buttons.

    ``sign`` gives each button its token (bot/buttons.py) for deal ``deal_id``; ``ended``: the
    card of a deal that is over (closed or replaced) says so and has no buttons.
    """
    lines = [m.CARD_TITLE.format(title=title or catalog.title)]
    for item in catalog.items:
        line = f"{item.code}号 {item.name} {price_text(item)}"
        if item.stock is not None and left is None:
            line += m.CARD_STOCK.format(stock=item.stock)
        notes = []
        if ordered is not None:
            notes.append(m.CARD_ORDERED.format(qty=ordered.get(item.code, 0)))
        if left is not None and item.code in left:
            notes.append(m.CARD_LEFT.format(left=left[item.code]))
        lines.append(line + (f"  {' '.join(notes)}" if notes else ""))
    if ended:
        lines.append(m.CARD_ENDED)
        return Card(text=mask_phones("\n".join(lines)), rows=(), deal_id=deal_id)
    if cutoff:
        lines.append(m.CARD_CUTOFF.format(when=cutoff))
    if catalog.items:
        lines.append(m.CARD_HOW.format(example=f"{m.item_short(catalog.items[0])}2"))

    def button(label: str, action: str, code: str | None) -> CardButton:
        return CardButton(label, action, code, (sign(action, code) or "") if sign is not None else "")

    rows = tuple(
        (button(m.BUTTON_ADD.format(item=m.item_short(i)), "add", i.code), button(m.BUTTON_SUB, "sub", i.code))
        for i in catalog.items
    ) + ((button(m.BUTTON_MINE, "mine", None),),)
    return Card(text=mask_phones("\n".join(lines)), rows=rows, deal_id=deal_id)


def jielong_list(tally: Tally, catalog: Catalog, *, title: str, mask: bool = True) -> str:
    """The current 接龙 list: one numbered line per household, in the words residents order with.

    ``mask``: phone numbers masked (:func:`bot.phones.mask_phones`), as in every group post.
    """
    homes = households(tally, catalog)
    if not homes:
        return f"{m.LIST_TITLE.format(title=title, n=0)}\n{m.LIST_EMPTY}"
    lines = [m.LIST_TITLE.format(title=title, n=len(homes))]
    lines += [f"{n}. {h.who} {goods(h.items, catalog, units=False)}" for n, h in enumerate(homes, 1)]
    return _masked("\n".join(lines), mask)


def _masked(text: str, mask: bool) -> str:
    return mask_phones(text) if mask else text


def tally_table(tally: Tally, catalog: Catalog, *, title: str, closed: bool = False, mask: bool = True) -> str:
    """The deal's totals per item and the amount (no names); phone numbers in titles masked when ``mask``."""
    rows: list[tuple[str, ...]] = [m.TALLY_HEADER]
    for item in catalog.items:
        qty = tally.totals.get(item.code, 0)
        rows.append((f"{item.code}号", item.name, f"{qty}{item.unit}", f"¥{money(item.price * qty)}"))
    head = m.TALLY_TITLE.format(title=title, state=m.TALLY_STATE_CLOSED if closed else "")
    total = m.TALLY_TOTAL.format(amount=money(tally.amount), households=len(households(tally, catalog)))
    return _masked(f"{head}\n{table(rows)}\n{total}", mask)


def pickup_list(tally: Tally, catalog: Catalog, *, title: str, mask: bool = True) -> str:
    """Every household's goods and amount, by building and room; phone numbers masked when ``mask``
    (the full list, with them, goes to leaders privately)."""
    homes = households(tally, catalog, by_room=True)
    lines = [m.PICKUP_TITLE.format(title=title, households=len(homes))]
    lines += [
        m.PICKUP_ROW.format(number=h.number, who=h.who, goods=goods(h.items, catalog, units=True), amount=money(h.amount(catalog)))
        for h in homes
    ]
    return _masked("\n".join(lines), mask)
