"""The web dashboard's reads and writes in the SQL store (Core statements, each one indexed query).

Users (web accounts), the groups a user may see, the audit read newest first, the deals shown on
the "today" page and their versions (what the live page polls). Callers own the connection's
transaction (:func:`storage.history.reading` or ``engine.begin()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from storage.models import AUDIT, CHATS, DEAL_CHATS, DEALS, GROUP_LEADERS, GROUPS, LEADERS, USERS


@dataclass(frozen=True, slots=True)
class UserRow:
    """A web account: ``role`` "operator" or "leader"; ``leader_id`` the LEADERS row whose groups a
    leader sees (None: none)."""

    id: int
    name: str
    role: str
    leader_id: str | None
    password_hash: str
    created_at: datetime
    session_epoch: int = 0


def _user(r: Any) -> UserRow:
    return UserRow(r["id"], r["name"], r["role"], r["leader_id"], r["password_hash"], r["created_at"],
                   r["session_epoch"])


def user_named(conn: Connection, name: str) -> UserRow | None:
    """The account called ``name`` (exact), or None."""
    r = conn.execute(select(USERS).where(USERS.c.name == name)).mappings().first()
    return _user(r) if r is not None else None


def user_by_id(conn: Connection, user_id: int) -> UserRow | None:
    r = conn.execute(select(USERS).where(USERS.c.id == user_id)).mappings().first()
    return _user(r) if r is not None else None


def users(conn: Connection) -> list[UserRow]:
    return [_user(r) for r in conn.execute(select(USERS).order_by(USERS.c.name)).mappings()]


def add_user(conn: Connection, *, name: str, role: str, leader_id: str | None, password_hash: str,
             at: datetime) -> int:
    """Insert an account; returns its id (a taken name raises the store's IntegrityError)."""
    res = conn.execute(insert(USERS).values(name=name, role=role, leader_id=leader_id, password_hash=password_hash,
                                            created_at=at))
    return int(res.inserted_primary_key[0])  # type: ignore[index]


def set_password(conn: Connection, user_id: int, password_hash: str) -> None:
    conn.execute(update(USERS).where(USERS.c.id == user_id).values(password_hash=password_hash))


def end_sessions(conn: Connection, user_id: int) -> None:
    """Move the account's ``session_epoch``: every session cookie signed in before is refused."""
    conn.execute(update(USERS).where(USERS.c.id == user_id).values(session_epoch=USERS.c.session_epoch + 1))


def remove_user(conn: Connection, user_id: int) -> None:
    """Delete the account (its sessions die with it: :func:`user_by_id` no longer finds it)."""
    conn.execute(delete(USERS).where(USERS.c.id == user_id))


def leader_exists(conn: Connection, leader_id: str) -> bool:
    return conn.execute(select(LEADERS.c.id).where(LEADERS.c.id == leader_id)).first() is not None


def leader_groups(conn: Connection, leader_id: str) -> list[tuple[str, str]]:
    """(group id, chat key) of each group the leader leads (``group_leaders``): none for a retired
    leader, and never a retired group (nobody leads those; operators still see them)."""
    q = select(GROUPS.c.id, GROUPS.c.chat_key).join(GROUP_LEADERS, GROUP_LEADERS.c.group_id == GROUPS.c.id) \
        .join(LEADERS, LEADERS.c.id == GROUP_LEADERS.c.leader_id) \
        .where(GROUP_LEADERS.c.leader_id == leader_id, LEADERS.c.retired_at.is_(None), GROUPS.c.retired_at.is_(None))
    return [(r[0], r[1]) for r in conn.execute(q)]


def groups(conn: Connection) -> list[dict[str, Any]]:
    """Every group: id, platform, chat_key, title, timezone, pickup_points (few rows)."""
    return [dict(r) for r in conn.execute(select(GROUPS).order_by(GROUPS.c.id)).mappings()]


def current_deals(conn: Connection, chat_keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """chat key → its current deal's row (id, title, status, cutoff, created_at, version), for the
    chats bound to one (by primary keys: the chats', then the deals')."""
    if not chat_keys:
        return {}
    q = select(CHATS.c.chat_key, DEALS.c.id, DEALS.c.title, DEALS.c.status, DEALS.c.cutoff, DEALS.c.created_at,
               DEALS.c.version).join(DEALS, DEALS.c.id == CHATS.c.deal_id).where(CHATS.c.chat_key.in_(list(chat_keys)))
    return {r["chat_key"]: dict(r) for r in conn.execute(q).mappings()}


def versions(conn: Connection, deal_ids: Sequence[str]) -> dict[str, int]:
    """deal id → its version (moved by every committed change of its orders)."""
    if not deal_ids:
        return {}
    q = select(DEALS.c.id, DEALS.c.version).where(DEALS.c.id.in_(list(deal_ids)))
    return {r[0]: r[1] for r in conn.execute(q)}


def deal_chat_keys(conn: Connection, deal_id: str) -> set[str]:
    """The chats a deal was opened for, or ordered in from (``deal_chats``, and ``chats`` bound to it)."""
    keys = {r[0] for r in conn.execute(select(DEAL_CHATS.c.chat_key).where(DEAL_CHATS.c.deal_id == deal_id))}
    keys |= {r[0] for r in conn.execute(select(CHATS.c.chat_key).where(CHATS.c.deal_id == deal_id))}
    return keys


def audit_page(conn: Connection, *, chat_keys: Sequence[str] | None, limit: int = 200,
               before: int | None = None) -> list[dict[str, Any]]:
    """Audit rows newest first, at most ``limit``, with ids below ``before`` (paging); of ``chat_keys``
    only when given (index ``audit (chat_key, id)``; None: every group, by the primary key)."""
    q = select(AUDIT).order_by(AUDIT.c.id.desc()).limit(limit)
    if chat_keys is not None:
        q = q.where(AUDIT.c.chat_key.in_(list(chat_keys)))
    if before is not None:
        q = q.where(AUDIT.c.id < before)
    return [dict(r) for r in conn.execute(q).mappings()]


def add_audit(conn: Connection, *, at: datetime, actor_id: str, actor_name: str, action: str, chat_key: str,
              deal_id: str | None, detail: str) -> None:
    """One audit row of a web action that no leader's-day use case records itself."""
    conn.execute(insert(AUDIT).values(at=at, actor_id=actor_id, actor_name=actor_name, action=action,
                                      chat_key=chat_key, deal_id=deal_id, detail=detail))
