"""The leader's lists after the cutoff: stocking list (备货单), sorting list (分拣单), household views.

Pure functions over tallies (:func:`bot.services.orders.build_tally`) and catalogs. Money is yuan
as :class:`~decimal.Decimal`, quantities ints, times aware datetimes.

What the leader records after the cutoff (payments, pickups, refunds, a resident's pickup point)
is not computed here: callers pass it in, so the tables that hold it plug in without changing the
lists.

- ``marks``: a mapping from a household to its :class:`Marks`. A key is ``(chat_key, sender_id)``
  for the resident's own household, or ``(chat_key, sender_id, proxy)`` (a
  :data:`bot.services.households.HouseKey`) for any household, proxy ones included; the 3-tuple
  wins when both are given. Households with no entry have empty marks.
- ``points``: the resident's chosen pickup point, keyed the same way; else the group's first
  configured pickup point (``group_points[chat_key]``), else "".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal

from bot import messages as m
from bot.catalog import Catalog
from bot.render import Household, households, money, table
from bot.rooms import Room, parse_room
from bot.services.households import HouseKey
from bot.services.outcome import Tally

MarkKey = tuple[str, str] | tuple[str, str, str]
"""``(chat_key, sender_id)`` (the resident's own household) or ``(chat_key, sender_id, proxy)``."""


@dataclass(frozen=True, slots=True)
class Marks:
    """What the leader recorded for one household. Every field defaults to "nothing recorded".

    ``paid``: marked paid; ``paid_amount``: the amount recorded with it (yuan), if any;
    ``picked``/``picked_at``: verified as picked up (aware time); ``refunds``: refunded yuan per
    item code ("" for a refund not tied to an item); ``note``: free text for the 备注 column.
    """

    paid: bool = False
    paid_amount: Decimal | None = None
    picked: bool = False
    picked_at: datetime | None = None
    refunds: Mapping[str, Decimal] = field(default_factory=dict)
    note: str = ""

    @property
    def refund(self) -> Decimal:
        """Every refund of the household, yuan."""
        return sum(self.refunds.values(), Decimal(0))


NO_MARKS = Marks()


def lookup(table_: Mapping[MarkKey, object], key: HouseKey) -> object | None:
    """``table_[key]``, else (for a resident's own household) ``table_[(chat_key, sender_id)]``."""
    found = table_.get(key)
    if found is None and not key[2]:
        found = table_.get((key[0], key[1]))
    return found


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One item of a household's order: its quantity and amount (qty × price)."""

    item_code: str
    name: str  # the catalog's full name (阳光玫瑰葡萄 2斤装)
    short: str  # what residents call it (葡萄): the chat lists' word
    spec: str  # the item's unit (盒, 箱, 斤)
    qty: int
    price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class HouseholdView:
    """A household as the lists and exports show it.

    ``number``: 跟团号; ``who``: the ordering resident's name (下单人); ``label``: its label (a proxy
    household's neighbour, without the proxy words); ``room``: read from its labels, or None;
    ``ordered_at``: its first order (aware), when known.
    """

    deal_id: str
    number: int
    chat_key: str
    group: str
    sender_id: str
    who: str
    label: str
    proxy: str
    room: Room | None
    room_label: str
    pickup_point: str
    lines: tuple[OrderLine, ...]
    amount: Decimal
    ordered_at: datetime | None
    marks: Marks = NO_MARKS

    @property
    def key(self) -> HouseKey:
        return self.chat_key, self.sender_id, self.proxy

    def goods(self) -> str:
        """``葡萄2盒 鸡蛋1盒``: short item names with quantities and units."""
        return " ".join(f"{line.short}{line.qty}{line.spec}" for line in self.lines)

    def note(self) -> str:
        """The 备注: who ordered for a proxy household, then the leader's note."""
        parts = [m.LIST_PROXY_NOTE.format(who=self.who)] if self.proxy else []
        if self.marks.note:
            parts.append(self.marks.note)
        return ";".join(parts)


def household_views(tally: Tally, catalog: Catalog, *, group_titles: Mapping[str, str] | None = None,
                    group_points: Mapping[str, Sequence[str]] | None = None,
                    points: Mapping[MarkKey, str] | None = None, marks: Mapping[MarkKey, Marks] | None = None,
                    times: Mapping[HouseKey, datetime] | None = None) -> list[HouseholdView]:
    """Every household of ``tally`` with its lines, amount, pickup point and marks, by 跟团号.

    ``group_titles``: chat key → group name (default: the chat key); ``group_points``: chat key →
    the group's pickup points (the first is the default); ``points``, ``marks``: see the module
    docstring; ``times``: household → first order time (:meth:`OrderService.order_times`).
    """
    titles, configured = group_titles or {}, group_points or {}
    chosen, recorded, when = points or {}, marks or {}, times or {}
    out = []
    for h in households(tally, catalog):
        lines = tuple(_line(catalog, code, qty) for code, qty in h.items.items())
        point = lookup(chosen, h.key)
        default = configured.get(h.chat_key) or ("",)
        mark = lookup(recorded, h.key)
        out.append(HouseholdView(
            deal_id=tally.deal_id, number=h.number, chat_key=h.chat_key, group=titles.get(h.chat_key, h.chat_key),
            sender_id=h.sender_id, who=h.sender_name, label=h.label, proxy=h.proxy, room=parse_room(h.room_label),
            room_label=h.room_label if h.labels and any(h.labels) else "", pickup_point=str(point or default[0]),
            lines=lines, amount=sum((line.amount for line in lines), Decimal(0)), ordered_at=when.get(h.key),
            marks=mark if isinstance(mark, Marks) else NO_MARKS,
        ))
    return out


def _line(catalog: Catalog, code: str, qty: int) -> OrderLine:
    item = catalog.by_code(code)
    if item is None:
        return OrderLine(code, code, code, "", qty, Decimal(0), Decimal(0))
    return OrderLine(code, item.name, m.item_short(item), item.unit, qty, item.price, item.price * qty)


# --- 备货单 -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StockLine:
    """One product to buy: its name (the catalog's full name), spec (unit), total quantity and
    amount; ``price`` is None when the deals summed sell it at different prices."""

    name: str
    spec: str
    price: Decimal | None
    qty: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class StockList:
    """The stocking list of one deal or of several (a leader's day): lines in catalog order (the
    first deal's first), households and the amount over every deal."""

    lines: tuple[StockLine, ...]
    households: int
    amount: Decimal

    @property
    def qty(self) -> int:
        return sum(line.qty for line in self.lines)


@dataclass(slots=True)
class _Sum:
    price: Decimal | None
    qty: int = 0
    amount: Decimal = Decimal(0)


def stocking_list(parts: Iterable[tuple[Tally, Catalog]]) -> StockList:
    """Per product, the quantity to buy and its amount, over every (tally, catalog) given.

    Items of different deals are one product when their full name and unit are the same; items
    with nothing ordered are left out.
    """
    found: dict[tuple[str, str], _Sum] = {}
    homes = 0
    for tally, catalog in parts:
        homes += len(households(tally, catalog))
        for item in catalog.items:
            qty = tally.totals.get(item.code, 0)
            if qty <= 0:
                continue
            line = found.setdefault((item.name, item.unit), _Sum(item.price))
            if line.price != item.price:
                line.price = None
            line.qty += qty
            line.amount += item.price * qty
    lines = tuple(StockLine(name, unit, s.price, s.qty, s.amount) for (name, unit), s in found.items())
    amount = sum((line.amount for line in lines), Decimal(0))
    return StockList(lines, homes, amount)


def stocking_text(stock: StockList, *, title: str) -> str:
    """The stocking list as a chat message (a table: product, spec, quantity, amount)."""
    rows: list[tuple[str, ...]] = [m.STOCK_HEADER]
    rows += [(line.name, line.spec, str(line.qty), f"¥{money(line.amount)}") for line in stock.lines]
    head = m.STOCK_TITLE.format(title=title)
    if not stock.lines:
        return f"{head}\n{m.STOCK_EMPTY}"
    total = m.STOCK_TOTAL.format(qty=stock.qty, households=stock.households, amount=money(stock.amount))
    return f"{head}\n{table(rows)}\n{total}"


# --- 分拣单 -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PointList:
    """The households of one pickup point ("" when the group has none), in walking order."""

    point: str
    households: tuple[HouseholdView, ...]

    @property
    def amount(self) -> Decimal:
        return sum((h.amount for h in self.households), Decimal(0))


def sorting_order(h: HouseholdView) -> tuple[bool, Room, int]:
    """Building, unit, room (natural numbers: 3栋402 before 12栋101, no unit before unit 1), then
    跟团号; households whose labels name no room last, by 跟团号."""
    return h.room is None, h.room or Room(0, 0, 0), h.number


def sorting_list(views: Iterable[HouseholdView], *, point_order: Sequence[str] = ()) -> list[PointList]:
    """The households split by pickup point, each sorted by :func:`sorting_order`.

    Points come in ``point_order`` (the groups' configured points), then any other by name, then
    "" (no point) last.
    """
    by_point: dict[str, list[HouseholdView]] = {}
    for h in views:
        by_point.setdefault(h.pickup_point, []).append(h)
    rank = {p: n for n, p in enumerate(dict.fromkeys(point_order))}
    order = sorted(by_point, key=lambda p: (p == "", rank.get(p, len(rank)), p))
    return [PointList(p, tuple(sorted(by_point[p], key=sorting_order))) for p in order]


def mark_text(marks: Marks) -> str:
    """`` [已付] [已取] [退¥5.00]`` for the marks recorded, "" for none."""
    parts = []
    if marks.paid:
        parts.append(m.MARK_PAID)
    if marks.picked:
        parts.append(m.MARK_PICKED)
    if marks.refund:
        parts.append(m.MARK_REFUND.format(amount=money(marks.refund)))
    return "".join(f" [{p}]" for p in parts)


def sorting_text(points: Sequence[PointList], *, title: str) -> str:
    """The sorting list as a chat message: per pickup point, one line per household with its
    跟团号, label, goods, amount and marks."""
    count = sum(len(p.households) for p in points)
    lines = [m.SORT_TITLE.format(title=title, households=count)]
    for p in points:
        lines.append(m.SORT_POINT.format(point=p.point or m.SORT_NO_POINT, households=len(p.households),
                                         amount=money(p.amount)))
        for h in p.households:
            who = h.label or h.who
            if h.proxy:
                who += m.SORT_PROXY.format(who=h.who)
            lines.append(m.SORT_ROW.format(number=h.number, who=who, goods=h.goods(), amount=money(h.amount))
                         + mark_text(h.marks))
    return "\n".join(lines)


def local_time(when: datetime | None, tz: tzinfo) -> str:
    """``2026-11-25 19:02`` in ``tz``; "" for None."""
    return f"{when.astimezone(tz):%Y-%m-%d %H:%M}" if when is not None else ""


def own_numbers(tally: Tally, catalog: Catalog, chat_key: str, sender_id: str) -> list[Household]:
    """The resident's households in ``tally`` (their own first, then those they ordered for)."""
    mine = [h for h in households(tally, catalog) if h.chat_key == chat_key and h.sender_id == sender_id]
    return sorted(mine, key=lambda h: (bool(h.proxy), h.number))
