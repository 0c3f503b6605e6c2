"""Queries behind the repository's read methods, each taking the caller's connection."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, case, exists, literal_column, select

from bot.ports import (
    ASK_KIND,
    ChatRow,
    DealRow,
    DealSnapshot,
    EntryRow,
    ItemRow,
    LineRow,
    MessageRow,
    NoticeRow,
    OutboxRow,
    SeenMessage,
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


def load_deal(conn: Connection, deal_id: str) -> DealSnapshot | None:
    """One deal with its entries, lines and messages (text only where a question was left open, §3.6)."""
    found = _deals(conn, select(*columns(DEALS, DEAL_FIELDS)).where(DEALS.c.id == deal_id))
    if not found:
        return None
    entries = build(EntryRow, conn.execute(
        select(*columns(ENTRIES, ENTRY_FIELDS)).where(ENTRIES.c.deal_id == deal_id).order_by(ENTRIES.c.id)
    ))
    lines = build(LineRow, conn.execute(
        select(*columns(LINES, LINE_FIELDS)).where(LINES.c.deal_id == deal_id).order_by(LINES.c.id)
    ))
    text = case((MESSAGES.c.kind == ASK_KIND, MESSAGES.c.text), else_=literal_column("''"))
    textless = columns(MESSAGES, MESSAGE_FIELDS, text=text.label("text"))
    messages = build(MessageRow, conn.execute(
        select(*textless).where(MESSAGES.c.deal_id == deal_id).order_by(MESSAGES.c.seq)
    ))
    return DealSnapshot(found[0], entries, lines, messages)


def undealt_lines(conn: Connection, chat_key: str) -> list[LineRow]:
    query = (select(*columns(LINES, LINE_FIELDS)).where(LINES.c.chat_key == chat_key, LINES.c.deal_id.is_(None))
             .order_by(LINES.c.id))
    return build(LineRow, conn.execute(query))


def seen_message(conn: Connection, chat_key: str, message_id: str) -> SeenMessage | None:
    row = conn.execute(
        select(MESSAGES.c.seq, MESSAGES.c.sender_id, MESSAGES.c.edit_of, MESSAGES.c.deal_id)
        .where(MESSAGES.c.chat_key == chat_key, MESSAGES.c.message_id == message_id)
        .order_by(MESSAGES.c.seq.desc()).limit(1)
    ).first()
    return SeenMessage(*row) if row is not None else None


def get_chat(conn: Connection, chat_key: str, *, lock: bool = False) -> ChatRow | None:
    query = select(*columns(CHATS, CHAT_FIELDS)).where(CHATS.c.chat_key == chat_key)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return ChatRow(*row) if row is not None else None


def chats_with_deal(conn: Connection) -> list[ChatRow]:
    query = select(*columns(CHATS, CHAT_FIELDS)).where(CHATS.c.deal_id.is_not(None)).order_by(CHATS.c.chat_key)
    return build(ChatRow, conn.execute(query))


def lock_deal(conn: Connection, deal_id: str) -> int | None:
    """The deal's version, its row locked until the transaction ends (PostgreSQL; SQLite ignores
    FOR UPDATE, its transaction already holds the write lock)."""
    return conn.scalar(select(DEALS.c.version).where(DEALS.c.id == deal_id).with_for_update())


def get_deal(conn: Connection, deal_id: str) -> DealRow | None:
    found = _deals(conn, select(*columns(DEALS, DEAL_FIELDS)).where(DEALS.c.id == deal_id))
    return found[0] if found else None


def deal_entries(conn: Connection, deal_id: str) -> list[EntryRow]:
    query = select(*columns(ENTRIES, ENTRY_FIELDS)).where(ENTRIES.c.deal_id == deal_id).order_by(ENTRIES.c.id)
    return build(EntryRow, conn.execute(query))


def message_times(conn: Connection, seqs: Sequence[int]) -> dict[int, datetime]:
    """seq -> ts of the handled messages of ``seqs`` (in chunks, far below SQLite's parameter limit)."""
    out: dict[int, datetime] = {}
    wanted = list(seqs)
    for start in range(0, len(wanted), 500):
        query = select(MESSAGES.c.seq, MESSAGES.c.ts).where(MESSAGES.c.seq.in_(wanted[start:start + 500]))
        out.update({int(seq): ts for seq, ts in conn.execute(query)})
    return out


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
