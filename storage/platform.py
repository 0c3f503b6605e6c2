"""Groups, leaders and products in the store (:class:`bot.usecases.platform_data.PlatformStore`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, delete, insert, select, text, update

from bot.usecases.platform_data import (
    NO_CHAT,
    GroupRow,
    LeaderRow,
    PlatformChanges,
    PlatformDataError,
    PlatformRows,
    ProductRow,
)
from storage import group_chats, leadership
from storage.models import (
    CHATS,
    DEAL_CHATS,
    DEALS,
    ENTRIES,
    GROUP_LEADERS,
    GROUPS,
    LEADER_ACCOUNTS,
    LEADERS,
    PRODUCTS,
)
from storage.sql import unavailable_as_such

log = logging.getLogger(__name__)

_PG_LOCK_KEY = 0x7475616F  # serialises updates of the platform data ("tuao"; migrations use "tuan")


def load(conn: Connection) -> PlatformRows:
    """Every group, leader (with accounts and groups) and product, through ``conn``."""
    rows = PlatformRows()
    for r in conn.execute(select(GROUPS)).mappings():
        rows.groups[r["id"]] = GroupRow(r["id"], r["platform"], r["chat_key"], r["title"], r["timezone"],
                                        tuple(r["pickup_points"] or ()), r["retired_at"])
    accounts: dict[str, set[tuple[str, str]]] = {}
    for lid, platform, account in conn.execute(select(LEADER_ACCOUNTS.c.leader_id, LEADER_ACCOUNTS.c.platform,
                                                      LEADER_ACCOUNTS.c.account_id)):
        accounts.setdefault(lid, set()).add((platform, account))
    groups: dict[str, set[str]] = {}
    for gid, lid in conn.execute(select(GROUP_LEADERS.c.group_id, GROUP_LEADERS.c.leader_id)):
        groups.setdefault(lid, set()).add(gid)
    for r in conn.execute(select(LEADERS)).mappings():
        rows.leaders[r["id"]] = LeaderRow(r["id"], r["name"], r["role"], r["source"], r["created_at"],
                                          frozenset(accounts.get(r["id"], ())), frozenset(groups.get(r["id"], ())),
                                          r["retired_at"])
    for r in conn.execute(select(PRODUCTS)).mappings():
        rows.products[r["id"]] = ProductRow(
            id=r["id"], name=r["name"], price=r["price"], unit=r["unit"], aliases=tuple(r["aliases"] or ()),
            spec=r["spec"], supplier=r["supplier"], active=r["active"], updated_at=r["updated_at"],
            source=r["source"])
    return rows


def open_rounds_left_behind(conn: Connection, before: dict[str, str], groups: list[GroupRow]) -> dict[str, str]:
    """Group id → the id of the open round in its chat, for each of ``groups`` whose chat key changes
    from ``before`` (group id → chat key now) while its chat has an open round, through ``conn``.
    Left there, such a round would stay in the old chat: the group's new chat would have none."""
    moved = {before[g.id]: g.id for g in groups if g.id in before and before[g.id] != g.chat_key}
    return dict(_open_rounds(conn, moved))


def _open_rounds(conn: Connection, groups: dict[str, str]) -> list[tuple[str, str]]:
    """(group id, open round id) for each chat of ``groups`` (chat key → group id) with an open round."""
    if not groups:
        return []
    rows = conn.execute(select(CHATS.c.chat_key, CHATS.c.deal_id).join(DEALS, DEALS.c.id == CHATS.c.deal_id)
                        .where(CHATS.c.chat_key.in_(sorted(groups)), DEALS.c.status == "open"))
    return [(groups[key], deal_id) for key, deal_id in rows]


def _move_round(conn: Connection, deal_id: str, old: str, group: GroupRow, now: datetime) -> str | None:
    """Move the open round ``deal_id`` from chat ``old`` to ``group``'s new chat, through ``conn``:
    the new chat's row is bound to it (created when the store has none), the old one unbound, the
    round lists the new chat (``deal_chats``; the old one stays listed: its orders were taken there),
    a new chat that was none of the round's is recorded as the group's for this round at ``now``
    (:func:`storage.group_chats.record_move`: whoever had it when the round opened; a chat that
    already was one of the round's keeps the group it had then, its earlier orders with it), and
    the deal's version moves so that every process's cached copy is reloaded (a chat moves only
    under its deal's version). Returns why it cannot (the new chat has an open round of its own), or None."""
    new = conn.execute(select(CHATS.c.deal_id, DEALS.c.status).select_from(CHATS.outerjoin(DEALS, DEALS.c.id == CHATS.c.deal_id))
                       .where(CHATS.c.chat_key == group.chat_key)).first()
    if new is not None and new.deal_id is not None and new.deal_id != deal_id and new.status == "open":
        return f"its new chat {group.chat_key} has an open round {new.deal_id} of its own"
    conn.execute(update(DEALS).where(DEALS.c.id == deal_id).values(version=DEALS.c.version + 1))
    if new is None:
        title = conn.scalar(select(CHATS.c.title).where(CHATS.c.chat_key == old)) or group.title
        conn.execute(insert(CHATS).values(chat_key=group.chat_key, platform=group.platform,
                                          external_id=group.chat_key.partition(":")[2], title=title, deal_id=deal_id))
    else:
        conn.execute(update(CHATS).where(CHATS.c.chat_key == group.chat_key).values(deal_id=deal_id))
    conn.execute(update(CHATS).where(CHATS.c.chat_key == old).values(deal_id=None))
    if conn.execute(select(DEAL_CHATS.c.deal_id).where(DEAL_CHATS.c.deal_id == deal_id,
                                                       DEAL_CHATS.c.chat_key == group.chat_key)).first() is None:
        if conn.execute(select(ENTRIES.c.id).where(ENTRIES.c.deal_id == deal_id, ENTRIES.c.chat_key == group.chat_key)
                        .limit(1)).first() is None:  # a chat new to the round: its orders are the group's
            group_chats.record_move(conn, deal_id, old, group.chat_key, group.id, now)
        conn.execute(insert(DEAL_CHATS).values(deal_id=deal_id, chat_key=group.chat_key))
    return None


def write(conn: Connection, ch: PlatformChanges, now: datetime | None = None, *,
          open_round_moves: Literal["refuse", "warn"] = "refuse") -> None:
    """Write ``ch`` through ``conn`` (the caller owns the transaction): deletions first, then the rows
    put, each replaced whole (a leader's accounts and groups with it). A group's chat key that
    changes is recorded as its former chat until ``now`` (aware; None: the current time;
    :mod:`storage.group_chats`). A change of a group's leaders, or of a leader's role or retirement,
    is recorded from ``now`` (:mod:`storage.leadership`).

    A group whose chat key changes while its chat has an open round (:func:`open_rounds_left_behind`)
    takes the round to its new chat (:func:`_move_round`): orders and /close work there. When the
    new chat has an open round of its own, ``open_round_moves`` "refuse" raises
    :class:`PlatformDataError` (one line; nothing is written); "warn" (tuan.toml's import: the bot
    must still start) logs a WARNING naming the group and both rounds and leaves the round where it is."""
    now = now or datetime.now(UTC)
    leader_ids = [ld.id for ld in ch.leaders]
    known_groups = set(conn.scalars(select(GROUPS.c.id).where(GROUPS.c.id.in_([g.id for g in ch.groups])))) \
        if ch.groups else set()
    created = [g.id for g in ch.groups if g.id not in known_groups]  # its leaders' history starts with it
    relinked = bool(ch.leaders or ch.leaders_deleted or ch.groups_deleted or created)
    members = leadership.group_members(conn) if relinked else {}
    states = leadership.leader_states(conn, leader_ids)
    if ch.groups_deleted:
        conn.execute(delete(GROUPS).where(GROUPS.c.id.in_(ch.groups_deleted)))
    if ch.leaders_deleted:
        conn.execute(delete(LEADERS).where(LEADERS.c.id.in_(ch.leaders_deleted)))
    if ch.groups:
        ids = [g.id for g in ch.groups]
        before = {gid: key for gid, key in conn.execute(select(GROUPS.c.id, GROUPS.c.chat_key).where(GROUPS.c.id.in_(ids)))}
        rows = {g.id: g for g in ch.groups}
        retiring = [g for g in ch.groups if g.retired_at is not None and g.id in before]
        if retiring:  # groups retired now: re-checked below, in the retirement's own transaction
            serving = set(conn.scalars(select(GROUPS.c.id).where(GROUPS.c.id.in_([g.id for g in retiring]),
                                                                 GROUPS.c.retired_at.is_(None))))
            retiring = [g for g in retiring if g.id in serving]
        # a group left without a chat (NO_CHAT: another group took it) leaves its open round there
        movers = [g for g in ch.groups if not g.chat_key.startswith(NO_CHAT)]
        for gid, deal_id in sorted(open_rounds_left_behind(conn, before, movers).items()):
            why = _move_round(conn, deal_id, before[gid], rows[gid], now)
            if why is None:
                log.info("group %s: its open round %s moved from chat %s to %s", gid, deal_id, before[gid],
                         rows[gid].chat_key)
            elif open_round_moves == "refuse":
                raise PlatformDataError(f"group {gid} cannot move with its open round {deal_id}: {why}; close one "
                                        f"(/close in its group) first")
            else:
                log.warning("group %s: its open round %s stays in its old chat %s (%s): /close one of them",
                            gid, deal_id, before[gid], why)
        group_chats.record(conn, before, {g.id: g.chat_key for g in ch.groups}, now)
        # a chat moving between two groups: free every chat key first (chat_key is unique)
        conn.execute(update(GROUPS).where(GROUPS.c.id.in_(ids)).values(chat_key="#" + GROUPS.c.id))
        existing = set(conn.scalars(select(GROUPS.c.id).where(GROUPS.c.id.in_(ids))))
        for g in ch.groups:
            values = {"platform": g.platform, "chat_key": g.chat_key, "title": g.title, "timezone": g.timezone,
                      "pickup_points": list(g.pickup_points), "retired_at": g.retired_at}
            if g.id in existing:
                conn.execute(update(GROUPS).where(GROUPS.c.id == g.id).values(**values))
            else:
                conn.execute(insert(GROUPS).values(id=g.id, **values))
        # after the rows are written (and locked): a round opening holds its group's row FOR SHARE
        # (storage/reader.py retired_group), so one that opened first has committed by now and is seen
        for gid, deal_id in sorted(_open_rounds(conn, {g.chat_key: g.id for g in retiring})):
            raise PlatformDataError(f"group {gid} has an open round {deal_id}: close it (/close in the group) "
                                    f"before retiring the group")
    if ch.leaders:
        ids = leader_ids
        conn.execute(delete(LEADER_ACCOUNTS).where(LEADER_ACCOUNTS.c.leader_id.in_(ids)))
        conn.execute(delete(GROUP_LEADERS).where(GROUP_LEADERS.c.leader_id.in_(ids)))
        _upsert(conn, LEADERS, [{"id": ld.id, "name": ld.name, "role": ld.role, "source": ld.source,
                                 "created_at": ld.created_at, "retired_at": ld.retired_at} for ld in ch.leaders])
        accounts = [{"leader_id": ld.id, "platform": p, "account_id": a} for ld in ch.leaders for p, a in ld.accounts]
        if accounts:
            conn.execute(insert(LEADER_ACCOUNTS), accounts)
        known = set(conn.scalars(select(GROUPS.c.id)))
        links = [{"group_id": g, "leader_id": ld.id} for ld in ch.leaders for g in sorted(ld.groups) if g in known]
        if links:
            conn.execute(insert(GROUP_LEADERS), links)
        leadership.record_leaders(conn, states, now)
    if relinked:
        leadership.record_members(conn, members, now, created)
    if ch.products:
        _upsert(conn, PRODUCTS, [
            {"id": p.id, "name": p.name, "aliases": list(p.aliases), "unit": p.unit, "spec": p.spec,
             "price": p.price, "supplier": p.supplier, "active": p.active, "updated_at": p.updated_at,
             "source": p.source}
            for p in ch.products])


def _upsert(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    ids = [r["id"] for r in rows]
    existing = set(conn.scalars(select(table.c.id).where(table.c.id.in_(ids))))
    new = [r for r in rows if r["id"] not in existing]
    if new:
        conn.execute(insert(table), new)
    for r in rows:
        if r["id"] in existing:
            conn.execute(update(table).where(table.c.id == r["id"]).values(**{k: v for k, v in r.items() if k != "id"}))


def _lock(conn: Connection) -> None:
    """Take the platform data's write lock now: PostgreSQL an advisory lock for the transaction,
    SQLite its write lock (a write statement), so the rows read are the rows written over."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    else:
        conn.execute(update(GROUPS).where(text("1 = 0")).values(title=GROUPS.c.title))


class SqlPlatformStore:
    """Groups, leaders and products on the repository's engine (SQLite or PostgreSQL).

    Every method raises :class:`bot.ports.StoreUnavailable` when the database cannot serve.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self) -> PlatformRows:
        """Every row, in one transaction."""
        with unavailable_as_such(), self.engine.begin() as conn:
            return load(conn)

    def update(self, change: Callable[[PlatformRows], PlatformChanges], *, actor: tuple[str, str] | None = None,
               action: str = "platform.change") -> PlatformChanges:
        """Read, decide (``change``), write: one transaction, serialised with other updates. With
        ``actor`` (id, name), each line of ``said`` is also an audit row ``action`` (same transaction)."""
        from storage.leaderday import add_audit

        with unavailable_as_such(), self.engine.begin() as conn:
            _lock(conn)
            done = change(load(conn))
            if not done.is_empty():
                write(conn, done, open_round_moves="warn")
            if actor is not None and not done.is_empty():
                for line in done.said:
                    add_audit(conn, at=datetime.now(UTC), actor_id=actor[0], actor_name=actor[1], action=action,
                              chat_key="cli", deal_id=None, household=None, detail=line)
            return done
