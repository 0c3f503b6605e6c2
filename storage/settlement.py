"""Reads for settlement and statistics: the deals opened in a period, with their chats."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Connection, select, union

from storage.models import CHATS, DEAL_CHATS, DEALS, ENTRIES


def deals_opened(conn: Connection, until: datetime, since: datetime | None = None) -> list[tuple[str, datetime]]:
    """(deal id, opened at) of the deals opened in [``since``, ``until``) (aware; ``since`` None: from
    the first), oldest first."""
    q = select(DEALS.c.id, DEALS.c.created_at).where(DEALS.c.created_at < until)
    if since is not None:
        q = q.where(DEALS.c.created_at >= since)
    return [(r[0], r[1]) for r in conn.execute(q.order_by(DEALS.c.created_at, DEALS.c.id))]


def chats_of_deals(conn: Connection, deal_ids: list[str]) -> dict[str, set[str]]:
    """deal id → the chat keys of its groups (opened for, bound to, or ordered in from)."""
    out: dict[str, set[str]] = defaultdict(set)
    if not deal_ids:
        return out
    rows = conn.execute(union(
        select(DEAL_CHATS.c.deal_id, DEAL_CHATS.c.chat_key).where(DEAL_CHATS.c.deal_id.in_(deal_ids)),
        select(CHATS.c.deal_id, CHATS.c.chat_key).where(CHATS.c.deal_id.in_(deal_ids)),
        select(ENTRIES.c.deal_id, ENTRIES.c.chat_key).where(ENTRIES.c.deal_id.in_(deal_ids)).distinct(),
    ))
    for deal_id, chat_key in rows:
        out[deal_id].add(chat_key)
    return out
