"""The leader's day in the SQL store: household marks, after-sale records, the audit (Core statements).

Every function works through a connection whose transaction the caller owns (the use cases of
:mod:`bot.usecases.leaderday` run them after locking the deal).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from storage.models import AUDIT, GROUPS, HOUSEHOLD_MARKS, REFUNDS

MARK_FIELDS = ("pickup_code", "pickup_point", "paid_amount", "paid_at", "paid_by", "picked_at", "picked_by",
               "picked_by_name")


def marks(conn: Connection, deal_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every household mark row of a deal, by (chat_key, sender_id): a dict of :data:`MARK_FIELDS`."""
    out = {}
    for r in conn.execute(select(HOUSEHOLD_MARKS).where(HOUSEHOLD_MARKS.c.deal_id == deal_id)).mappings():
        out[(r["chat_key"], r["sender_id"])] = {f: r[f] for f in MARK_FIELDS}
    return out


def put_mark(conn: Connection, deal_id: str, chat_key: str, sender_id: str, **values: Any) -> None:
    """Set these fields of the household's mark row (inserted when missing)."""
    key = (HOUSEHOLD_MARKS.c.deal_id == deal_id) & (HOUSEHOLD_MARKS.c.chat_key == chat_key) \
        & (HOUSEHOLD_MARKS.c.sender_id == sender_id)
    if conn.execute(select(HOUSEHOLD_MARKS.c.deal_id).where(key)).first() is None:
        conn.execute(insert(HOUSEHOLD_MARKS).values(deal_id=deal_id, chat_key=chat_key, sender_id=sender_id, **values))
    elif values:
        conn.execute(update(HOUSEHOLD_MARKS).where(key).values(**values))


def refunds(conn: Connection, deal_id: str) -> list[dict[str, Any]]:
    """The deal's after-sale rows in the order they were recorded."""
    rows = conn.execute(select(REFUNDS).where(REFUNDS.c.deal_id == deal_id).order_by(REFUNDS.c.id)).mappings()
    return [dict(r) for r in rows]


def add_refund(conn: Connection, *, deal_id: str, chat_key: str, sender_id: str, item_code: str, qty: int,
               amount: Decimal, kind: str, reason: str, at: datetime, by_id: str, by_name: str) -> None:
    conn.execute(insert(REFUNDS).values(deal_id=deal_id, chat_key=chat_key, sender_id=sender_id,
                                        item_code=item_code, qty=qty, amount=amount, kind=kind, reason=reason,
                                        at=at, by_id=by_id, by_name=by_name))


def drop_refunds(conn: Connection, deal_id: str, item_code: str, kind: str) -> int:
    """Delete the deal's after-sale rows of one item and kind (a short delivery recorded anew)."""
    res = conn.execute(delete(REFUNDS).where((REFUNDS.c.deal_id == deal_id) & (REFUNDS.c.item_code == item_code)
                                             & (REFUNDS.c.kind == kind)))
    return res.rowcount or 0


def add_audit(conn: Connection, *, at: datetime, actor_id: str, actor_name: str, action: str, chat_key: str,
              deal_id: str | None, household: tuple[str, str] | None, detail: str) -> None:
    conn.execute(insert(AUDIT).values(
        at=at, actor_id=actor_id, actor_name=actor_name, action=action, chat_key=chat_key, deal_id=deal_id,
        household_chat=household[0] if household else None, household_sender=household[1] if household else None,
        detail=detail))


def audit(conn: Connection, deal_id: str | None = None) -> list[dict[str, Any]]:
    """The audit rows (of one deal, or all), oldest first."""
    q = select(AUDIT).order_by(AUDIT.c.id)
    if deal_id is not None:
        q = q.where(AUDIT.c.deal_id == deal_id)
    return [dict(r) for r in conn.execute(q).mappings()]


def pickup_points(conn: Connection, chat_key: str) -> tuple[str, ...] | None:
    """The group's pickup points as the store holds them; None when the store has no such group."""
    row = conn.execute(select(GROUPS.c.pickup_points).where(GROUPS.c.chat_key == chat_key)).first()
    return None if row is None else tuple(row[0] or ())
