"""Read side of past and present rounds (deals): listings and one round's totals, as SQL aggregates.

Every function takes the caller's connection and only reads. A resident's quantity of an item is
the sum of their counting entries (not ``removed``, not superseded) in one chat; it counts when
positive, exactly as :func:`bot.services.orders.build_tally` counts it. Quantities are summed in the
database per resident, item and label (one pass over the round's entries, through the index on
``entries.deal_id``), and folded here into item totals and households; amounts are computed here,
from those integer totals and the items' prices, in :class:`~decimal.Decimal` (SQLite has no
exact decimal arithmetic).

A household is counted as the order service counts it (:mod:`bot.services.households`): a resident,
however many labels their lines carry, and each neighbour they ordered for with a proxy line.

A round's groups are the chats it was opened for (``deal_chats``), the chats bound to it now
(``chats.deal_id``) and the chats whose residents ordered in it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    and_,
    exists,
    false,
    func,
    or_,
    select,
    union,
)

from bot.services.households import proxy_of
from storage.models import CHATS, DEAL_CHATS, DEALS, ENTRIES, GROUPS, ITEMS

OPEN = "open"


@dataclass(frozen=True, slots=True)
class ItemTotal:
    """One item of a round: its catalog fields, the quantity ordered (int) and its amount (yuan)."""

    code: str
    name: str
    unit: str
    price: Decimal
    stock: int | None
    qty: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class RoundGroup:
    """A chat of a round: its key, the title the store knows (may be ""), its households there."""

    chat_key: str
    title: str
    households: int


@dataclass(frozen=True, slots=True)
class RoundRow:
    """A round with its totals. ``opened``/``closed`` are aware UTC datetimes (``closed`` is None
    while open, or when the store does not know: rounds closed before it was recorded)."""

    id: str
    title: str
    status: str  # "open" | "closed"
    source: str
    opened: datetime
    closed: datetime | None
    groups: tuple[RoundGroup, ...]
    households: int
    items: tuple[ItemTotal, ...]
    amount: Decimal


def rounds(conn: Connection, *, chat_keys: Sequence[str] | None = None, since: datetime | None = None,
           limit: int | None = None) -> list[RoundRow]:
    """Rounds newest first (by opening time), with their totals.

    ``chat_keys``: only rounds of one of these chats (opened for it, bound to it, or ordered in from
    it). ``since`` (aware): only rounds still open, or opened or closed at or after it. ``limit``:
    at most that many (the newest).
    """
    query = select(DEALS.c.id)
    if chat_keys is not None:
        query = query.where(_of_chats(list(chat_keys)))
    if since is not None:
        query = query.where(or_(DEALS.c.status == OPEN, DEALS.c.created_at >= since, DEALS.c.closed_at >= since))
    query = query.order_by(DEALS.c.created_at.desc(), DEALS.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    ids = [row[0] for row in conn.execute(query)]
    return _rounds(conn, ids)


def closed_rounds(conn: Connection, chat_key: str, since: datetime, limit: int) -> list[str]:
    """Ids of the chat's closed rounds (see :func:`rounds` for a chat's rounds) closed at or after
    ``since`` (aware), the latest closed first, at most ``limit``."""
    query = (select(DEALS.c.id).where(_of_chats([chat_key]), DEALS.c.status != OPEN, DEALS.c.closed_at >= since)
             .order_by(DEALS.c.closed_at.desc(), DEALS.c.id.desc()).limit(limit))
    return [row[0] for row in conn.execute(query)]


def reading(engine: Engine) -> Connection:
    """A connection whose several SELECTs see one snapshot (REPEATABLE READ on PostgreSQL; a SQLite
    read transaction is one already): a listing's totals and its rounds agree. Use it as a context
    manager."""
    conn = engine.connect()
    if conn.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


def round_of(conn: Connection, deal_id: str) -> RoundRow | None:
    """One round with its totals, or None when the store has no such deal."""
    found = _rounds(conn, [deal_id])
    return found[0] if found else None


def chats_of(conn: Connection, deal_id: str) -> list[str]:
    """The chat keys of a round's groups (see the module docstring), sorted."""
    keys = set(conn.scalars(union(
        select(DEAL_CHATS.c.chat_key).where(DEAL_CHATS.c.deal_id == deal_id),
        select(CHATS.c.chat_key).where(CHATS.c.deal_id == deal_id),
        select(ENTRIES.c.chat_key).where(ENTRIES.c.deal_id == deal_id).distinct(),
    )))
    return sorted(keys)


def group_chat(conn: Connection, name: str) -> str | None:
    """The chat key of the store's group (``tuan group add``) whose id is ``name``, else whose chat
    key is; None when none is."""
    by_id = conn.scalar(select(GROUPS.c.chat_key).where(GROUPS.c.id == name))
    if by_id is not None:
        return str(by_id)
    return name if conn.scalar(select(exists().where(GROUPS.c.chat_key == name))) else None


def known_chat(conn: Connection, chat_key: str) -> bool:
    """Whether the store knows the chat (it had a deal, or a round was opened for it)."""
    return bool(conn.scalar(select(or_(exists().where(CHATS.c.chat_key == chat_key),
                                       exists().where(DEAL_CHATS.c.chat_key == chat_key)))))


def _of_chats(keys: list[str]) -> Any:
    """Deals of these chats: ``deal_chats``, the chats' current deals, and (for a deal that has no
    ``deal_chats`` rows, as written before they were kept) the chats its entries came from. The last
    test costs a lookup of ``deal_chats``'s primary key per deal wherever ``deal_chats`` is kept."""
    unlisted = ~exists().where(DEAL_CHATS.c.deal_id == DEALS.c.id)
    ordered_from = exists().where(ENTRIES.c.deal_id == DEALS.c.id, ENTRIES.c.chat_key.in_(keys))
    return or_(
        DEALS.c.id.in_(select(DEAL_CHATS.c.deal_id).where(DEAL_CHATS.c.chat_key.in_(keys))),
        DEALS.c.id.in_(select(CHATS.c.deal_id).where(CHATS.c.chat_key.in_(keys), CHATS.c.deal_id.is_not(None))),
        and_(unlisted, ordered_from),
    )


def _totals(ids: list[str]) -> Select[Any]:
    """One pass over the rounds' counting entries: per (deal, chat, resident, item, label) the
    quantity and the first entry's id, from which :func:`_fold` makes item totals and households."""
    e = ENTRIES.c
    return (
        select(e.deal_id, e.chat_key, e.sender_id, e.item_code, e.label, func.sum(e.qty).label("qty"),
               func.min(e.id).label("first"))
        .where(e.deal_id.in_(ids), e.removed == false(), e.superseded_seq.is_(None))
        .group_by(e.deal_id, e.chat_key, e.sender_id, e.item_code, e.label)
    )


def _fold(rows: Any) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Item quantities per deal, and households per (deal, chat), from :func:`_totals`' rows, as
    :func:`bot.services.orders.build_tally` counts them: a resident's item counts when its sum is
    positive; a decrease written under another label comes off the first labels; each label left
    with a positive quantity gives its household (:mod:`bot.services.households`: the resident's
    own, or a proxy line's neighbour)."""
    per: dict[tuple[str, str, str, str], list[tuple[int, str, int]]] = defaultdict(list)
    for deal_id, chat_key, sender_id, item_code, label, n, first in rows:
        per[(deal_id, chat_key, sender_id, item_code)].append((int(first), label, int(n)))
    qty: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    homes: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for (deal_id, chat_key, sender_id, item_code), labels in per.items():
        total = sum(q for _, _, q in labels)
        if total <= 0:
            continue
        qty[deal_id][item_code] += total
        negative = sum(q for _, _, q in labels if q < 0)
        for _, label, q in sorted(labels):
            if q <= 0:
                continue
            take = min(q, -negative)
            negative += take
            if q - take > 0:
                homes[(deal_id, chat_key)].add((sender_id, proxy_of(label)))
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for (deal_id, chat_key), found in homes.items():
        counts[deal_id][chat_key] = len(found)
    return qty, counts


CHUNK = 500  # rounds per set of queries: bound parameters stay far below SQLite's limit


def _rounds(conn: Connection, ids: list[str]) -> list[RoundRow]:
    """The rounds of ``ids``, in that order (unknown ids left out)."""
    out: list[RoundRow] = []
    for start in range(0, len(ids), CHUNK):
        out += _some_rounds(conn, ids[start:start + CHUNK])
    return out


def _some_rounds(conn: Connection, ids: list[str]) -> list[RoundRow]:
    deals = {row.id: row for row in conn.execute(
        select(DEALS.c.id, DEALS.c.title, DEALS.c.status, DEALS.c.source, DEALS.c.created_at, DEALS.c.closed_at)
        .where(DEALS.c.id.in_(ids))
    )}
    qty, homes = _fold(conn.execute(_totals(ids)))
    chats: dict[str, set[str]] = defaultdict(set)
    for deal_id, chat_key in conn.execute(union(
        select(DEAL_CHATS.c.deal_id, DEAL_CHATS.c.chat_key).where(DEAL_CHATS.c.deal_id.in_(ids)),
        select(CHATS.c.deal_id, CHATS.c.chat_key).where(CHATS.c.deal_id.in_(ids)),
    )):
        chats[deal_id].add(chat_key)
    for deal_id, per_chat in homes.items():
        chats[deal_id].update(per_chat)
    every_chat = sorted({k for keys in chats.values() for k in keys})
    titles: dict[str, str] = {}
    if every_chat:
        for key, title in conn.execute(select(CHATS.c.chat_key, CHATS.c.title).where(CHATS.c.chat_key.in_(every_chat))):
            titles[key] = title
    items: dict[str, list[ItemTotal]] = defaultdict(list)
    for row in conn.execute(select(ITEMS).where(ITEMS.c.deal_id.in_(ids)).order_by(ITEMS.c.deal_id, ITEMS.c.position)):
        n = qty[row.deal_id].get(row.code, 0)
        items[row.deal_id].append(ItemTotal(row.code, row.name, row.unit, row.price, row.stock, n, row.price * n))
    out = []
    for deal_id in ids:
        d = deals.get(deal_id)
        if d is None:
            continue
        groups = tuple(RoundGroup(k, titles.get(k) or "", homes[deal_id].get(k, 0)) for k in sorted(chats[deal_id]))
        its = tuple(items[deal_id])
        out.append(RoundRow(
            id=d.id, title=d.title, status=d.status, source=d.source, opened=d.created_at, closed=d.closed_at,
            groups=groups, households=sum(g.households for g in groups), items=its,
            amount=sum((i.amount for i in its), Decimal("0.00")),
        ))
    return out
