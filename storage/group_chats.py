"""The chats groups had before their chat key changed (``group_former_chats``, migration 0018;
:mod:`bot.usecases.group_chats`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection, insert, select

from bot.usecases.group_chats import GroupChats
from storage.models import DEAL_MOVES, GROUP_FORMER_CHATS, GROUPS


def record(conn: Connection, before: Mapping[str, str], after: Mapping[str, str], now: datetime) -> None:
    """Record, through ``conn``, each group's chat key that changed: ``before`` and ``after`` map
    group id → chat key (a group in both with another key had its former key until ``now``)."""
    rows = [{"chat_key": old, "until": now, "group_id": gid} for gid, old in sorted(before.items())
            if gid in after and after[gid] != old]
    for r in rows:
        if conn.execute(select(GROUP_FORMER_CHATS.c.chat_key).where(
                GROUP_FORMER_CHATS.c.chat_key == r["chat_key"], GROUP_FORMER_CHATS.c.until == now,
                GROUP_FORMER_CHATS.c.group_id == r["group_id"])).first() is None:
            conn.execute(insert(GROUP_FORMER_CHATS).values(**r))


def group_chats(conn: Connection, current: Mapping[str, str] | None = None) -> GroupChats:
    """The groups' chat keys now (``current``, chat key → group id, when the caller read the groups
    already; else read here) and before, and the moves of open rounds with them, through ``conn``."""
    if current is None:
        current = {key: gid for gid, key in conn.execute(select(GROUPS.c.id, GROUPS.c.chat_key))}
    return GroupChats.of(current, ((r.chat_key, r.until, r.group_id) for r in conn.execute(select(GROUP_FORMER_CHATS))),
                         ((r.deal_id, r.at, r.from_key, r.chat_key, r.group_id) for r in conn.execute(select(DEAL_MOVES))))


def record_move(conn: Connection, deal_id: str, old: str, new: str, group_id: str, now: datetime) -> None:
    """Record, through ``conn``, that the open round ``deal_id`` moved from chat ``old`` to ``new``
    (none of its chats before) with the group ``group_id`` at ``now`` (aware): its orders in ``new``
    are that group's."""
    if conn.execute(select(DEAL_MOVES.c.deal_id).where(DEAL_MOVES.c.deal_id == deal_id, DEAL_MOVES.c.chat_key == new,
                                                       DEAL_MOVES.c.at == now)).first() is None:
        conn.execute(insert(DEAL_MOVES).values(deal_id=deal_id, chat_key=new, at=now, from_key=old, group_id=group_id))


def former_keys(conn: Connection, group_id: str) -> list[str]:
    """The chat keys the group ``group_id`` had before its current one, through ``conn``, sorted
    (empty for a group whose key never changed, or no store group)."""
    rows = conn.execute(select(GROUP_FORMER_CHATS.c.chat_key).where(GROUP_FORMER_CHATS.c.group_id == group_id)
                        .distinct().order_by(GROUP_FORMER_CHATS.c.chat_key))
    return [str(r[0]) for r in rows]
