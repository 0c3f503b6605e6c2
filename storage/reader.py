"""Queries behind the repository's read methods, each taking the caller's connection."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, ScalarSelect, Select, case, exists, func, literal_column, select

from bot.ports import (
    ASK_KIND,
    ChatRow,
    DealRow,
    EntryRow,
    ItemRow,
    LineRow,
    MessageRow,
    NoticeRow,
    OutboxRow,
    Snapshot,
)
from storage.models import CHATS, DEALS, ENTRIES, ITEMS, LINES, MESSAGES, NOTICES, OUTBOX, PROCESSED
from storage.rows import (
    CHAT_FIELDS,
    DEAL_FIELDS,
    ENTRY_FIELDS,
    LINE_FIELDS,
    MESSAGE_FIELDS,
    NOTICE_FIELDS,
    OUTBOX_FIELDS,
    build,
    columns,
    item_row,
)

OPEN = "open"


def load_open(conn: Connection) -> Snapshot:
    """Open deals, every chat, and the entries, lines and messages that go with them.

    Messages come without their text, except those that left a question open (kind ``ask``,
    §3.6): the service reads the question again from that text.
    """
    open_ids = select(DEALS.c.id).where(DEALS.c.status == OPEN)
    open_chats = select(CHATS.c.chat_key).where(CHATS.c.deal_id.in_(open_ids))
    deals = _deals(conn, select(*columns(DEALS, DEAL_FIELDS)).where(DEALS.c.status == OPEN))
    chats = build(ChatRow, conn.execute(select(*columns(CHATS, CHAT_FIELDS)).order_by(CHATS.c.chat_key)))
    entries = build(EntryRow, conn.execute(
        select(*columns(ENTRIES, ENTRY_FIELDS)).where(ENTRIES.c.deal_id.in_(open_ids)).order_by(ENTRIES.c.id)
    ))
    lines = build(LineRow, conn.execute(
        select(*columns(LINES, LINE_FIELDS)).where(LINES.c.deal_id.in_(open_ids)).order_by(LINES.c.id)
    ))
    text = case((MESSAGES.c.kind == ASK_KIND, MESSAGES.c.text), else_=literal_column("''"))
    textless = columns(MESSAGES, MESSAGE_FIELDS, text=text.label("text"))
    messages = build(MessageRow, conn.execute(
        select(*textless).where(MESSAGES.c.chat_key.in_(open_chats)).order_by(MESSAGES.c.seq)
    ))
    next_seq, next_entry, next_line = conn.execute(
        select(_next(MESSAGES.c.seq), _next(ENTRIES.c.id), _next(LINES.c.id))
    ).one()
    return Snapshot(deals, chats, entries, lines, messages, next_seq, next_entry, next_line)


def get_deal(conn: Connection, deal_id: str) -> DealRow | None:
    found = _deals(conn, select(*columns(DEALS, DEAL_FIELDS)).where(DEALS.c.id == deal_id))
    return found[0] if found else None


def deal_entries(conn: Connection, deal_id: str) -> list[EntryRow]:
    query = select(*columns(ENTRIES, ENTRY_FIELDS)).where(ENTRIES.c.deal_id == deal_id).order_by(ENTRIES.c.id)
    return build(EntryRow, conn.execute(query))


def notices(conn: Connection, chat_keys: Sequence[str] | None) -> list[NoticeRow]:
    query = select(*columns(NOTICES, NOTICE_FIELDS)).order_by(NOTICES.c.id)
    if chat_keys is not None:
        query = query.where(NOTICES.c.chat_key.in_(list(chat_keys)))
    return build(NoticeRow, conn.execute(query))


def pending_effects(conn: Connection, created_before: datetime) -> list[OutboxRow]:
    query = (select(*columns(OUTBOX, OUTBOX_FIELDS)).where(OUTBOX.c.created_at < created_before)
             .order_by(OUTBOX.c.seq, OUTBOX.c.n))
    return build(OutboxRow, conn.execute(query))


def is_processed(conn: Connection, source: str, update_id: str) -> bool:
    mark = exists().where(PROCESSED.c.source == source, PROCESSED.c.update_id == update_id)
    return bool(conn.scalar(select(mark)))


def _next(column: Any) -> ScalarSelect[Any]:
    return select(func.coalesce(func.max(column), 0) + 1).scalar_subquery()


def _deals(conn: Connection, query: Select[Any]) -> list[DealRow]:
    """Deals of ``query`` (oldest first) with their items in catalog order."""
    rows = conn.execute(query.order_by(DEALS.c.created_at, DEALS.c.id))
    deals = [DealRow(**row._mapping) for row in rows]
    if not deals:
        return deals
    by_id: dict[str, list[ItemRow]] = defaultdict(list)
    items = select(ITEMS).where(ITEMS.c.deal_id.in_([d.id for d in deals]))
    for row in conn.execute(items.order_by(ITEMS.c.deal_id, ITEMS.c.position, ITEMS.c.code)):
        by_id[row.deal_id].append(item_row(row))
    for deal in deals:
        deal.items = by_id[deal.id]
    return deals
